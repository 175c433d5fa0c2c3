/**
 * Issue 13 in the production shape: NGINX, two PM2 workers, Redis, OpenSSH. A page
 * keeps its terminal whichever worker its new socket reaches: a replaced route cookie
 * lands it on the other worker, which relays to the owner; a polling-only page keeps
 * streaming through `pm2 reload` (its next request reaches the new worker, which relays
 * to the draining owner); and when the owner is killed, the page is told so.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionSummary } from '../../src/shared/admin.js';
import { startStack, type Stack } from '../../src/tools/stack.js';
import { waitForHttp } from '../../src/tools/waitForHttp.js';
import { listSessions, routeCookie } from '../harness/cluster.js';
import { newBrowserCookie, ResumingPage } from '../harness/resumingPage.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';
import { numbers } from '../harness/shellProbes.js';

let stack: Stack;
let sshd: TestSshd;
const open: { close(): void }[] = [];
const track = <T extends { close(): void }>(c: T) => (open.push(c), c);

beforeAll(async () => {
  sshd = await startSshd();
  stack = await startStack({ instances: 2, env: { SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'info', DRAIN_TIMEOUT_SECONDS: '60' } });
}, 120_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  await stack?.stop();
  await sshd?.close();
}, 120_000);

const creds = () => ({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });

async function owner(session: string): Promise<SessionSummary | undefined> {
  return (await listSessions(stack.url, stack.adminToken)).sessions.find((s) => s.id === session);
}

/** Whether a worker other than `owner` logged that it is draining with a relayed request under way. */
function drainingWhileRelaying(owner: number): boolean {
  const dir = join(stack.pm2.home, 'logs');
  return readdirSync(dir)
    .filter((f) => f.endsWith('-out.log'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .some((line) => {
      if (!line.includes('"msg":"draining"')) return false;
      try {
        const l = JSON.parse(line) as { pid?: number; relayedRequests?: number };
        return l.pid !== owner && (l.relayedRequests ?? 0) > 0;
      } catch {
        return false; // a line still being written
      }
    });
}

/** A route cookie NGINX sends to a worker other than `pid`'s, found by logging in with candidates. */
async function routeAwayFrom(pid: number): Promise<string> {
  for (let i = 0; i < 16; i++) {
    const route = `webssh_route=${randomBytes(12).toString('base64url')}`;
    // No browser cookie: not resumable, so closing it ends it (a detached one would hold a drain).
    const probe = track(new TerminalClient(stack.url, { cookie: route }));
    const before = new Set((await listSessions(stack.url, stack.adminToken)).sessions.map((s) => s.id));
    probe.start(creds());
    await probe.waitForState('connected');
    const where = (await listSessions(stack.url, stack.adminToken)).sessions.find((s) => !before.has(s.id));
    probe.close();
    if (where && where.node.pid !== pid) return route;
  }
  throw new Error('no route cookie reached the other worker in 16 tries');
}

describe('resume through NGINX and PM2', () => {
  it('a page whose route cookie is replaced lands on the other worker and is relayed: output complete, echo works, the owner unchanged', async () => {
    const browser = newBrowserCookie();
    const first = track(new TerminalClient(stack.url, { cookie: `${await routeCookie(stack.url)}; ${browser}` }));
    first.start(creds());
    const { session } = await first.waitForAttached();
    const home = (await owner(session))!;
    const away = await routeAwayFrom(home.node.pid);

    first.send('for i in $(seq 1 100); do echo S:$i; sleep 0.02; done\r');
    await first.waitForText(/S:20\r?\n/);
    first.close();
    const relayed = track(new TerminalClient(stack.url, { cookie: `${away}; ${browser}` }));
    relayed.resume(session, first.attached.at(-1)!.secret, first.streamOffset);
    await relayed.waitForAttached();
    await relayed.waitForText(/S:100\r?\n/);
    expect(numbers(first.text + relayed.text, 'S')).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    relayed.send('echo relayed-$((6*7))\r');
    await relayed.waitForText('relayed-42');
    expect(await owner(session)).toMatchObject({ node: { pid: home.node.pid }, attached: true });

    // The owner dies (kill -9) under the relayed page: the page is told the session is gone.
    process.kill(home.node.pid, 'SIGKILL');
    const end = await relayed.waitForEnd(20_000);
    expect(end).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(end.message).toMatch(/process that held it stopped/);
  });

  it('a polling-only page streaming numbered lines through `pm2 reload` loses nothing: its new worker relays to the draining owner', async () => {
    // Both workers up again after the kill above.
    await expect.poll(async () => (await stack.pm2.list()).filter((p) => p.status === 'online').length, { timeout: 30_000, interval: 200 }).toBe(2);
    const page = track(new ResumingPage(stack.url, { transport: 'polling', cookie: `${await routeCookie(stack.url)}; ${newBrowserCookie()}` }));
    await page.start(creds());
    const session = page.current.attached[0]!.session;
    const home = (await owner(session))!;
    page.send('for i in $(seq 1 300); do echo P:$i; sleep 0.05; done; echo done-$((6*7))\r');
    await page.waitForText(/P:20\r?\n/);
    const reload = stack.pm2.exec(['reload', stack.name]);
    await page.waitForText(/done-42/, 90_000);
    expect(numbers(page.text, 'P')).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(page.resumes).toBeGreaterThan(0); // the page really lost its socket to the reload
    // Typing still reaches the same shell, on the draining process that started it.
    page.send('echo after-reload-$((6*7))\r');
    await page.waitForText(/after-reload-42/);
    expect(await owner(session)).toMatchObject({ node: { pid: home.node.pid } });
    page.send('exit\r'); // its drain has nothing left to wait for
    await reload;
  }, 180_000);

  it('kill -9 of the owner during a detach: the page that comes back is told the session is gone, with its code', async () => {
    await expect.poll(async () => (await stack.pm2.list()).filter((p) => p.status === 'online').length, { timeout: 30_000, interval: 200 }).toBe(2);
    const browser = newBrowserCookie();
    const route = await routeCookie(stack.url);
    const first = track(new TerminalClient(stack.url, { cookie: `${route}; ${browser}` }));
    first.start(creds());
    const { session } = await first.waitForAttached();
    first.close();
    await expect.poll(async () => (await owner(session))?.attached, { timeout: 10_000, interval: 100 }).toBe(false);
    const killed = (await owner(session))!.node.pid;
    process.kill(killed, 'SIGKILL');
    // The page comes back once its worker answers again (the browser retries until then).
    await expect.poll(async () => (await stack.pm2.list()).filter((p) => p.status === 'online' && p.pid !== killed).length, { timeout: 30_000, interval: 200 }).toBe(2);
    await Promise.all(stack.workerPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`, 20_000)));
    const back = track(new TerminalClient(stack.url, { cookie: `${route}; ${browser}` }));
    back.resume(session, first.attached.at(-1)!.secret, first.streamOffset);
    expect(await back.waitForEnd(30_000)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  }, 90_000);
});

describe('files through NGINX and PM2', () => {
  it('upload and download keep their checksums; a download under way finishes across `pm2 reload`, and new transfers after it reach the draining owner', async () => {
    await expect.poll(async () => (await stack.pm2.list()).filter((p) => p.status === 'online').length, { timeout: 30_000, interval: 200 }).toBe(2);
    const dir = `/tmp/webssh-stack-files-${randomBytes(4).toString('hex')}`;
    mkdirSync(dir);
    const uid = Number(execFileSync('id', ['-u', sshd.users.password.username]).toString());
    chownSync(dir, uid, uid);
    try {
      const cookie = `${await routeCookie(stack.url)}; ${newBrowserCookie()}`;
      const c = track(new TerminalClient(stack.url, { cookie }));
      c.start(creds());
      const { session, secret } = await c.waitForAttached();
      const headers = { cookie, 'x-webssh-secret': secret, origin: stack.url };
      const files = `${stack.url}/ssh/files/${session}`;
      const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

      const data = randomBytes(20_000_000);
      const up = await fetch(`${files}/upload?path=${encodeURIComponent(`${dir}/up.bin`)}&size=${data.length}`, { method: 'PUT', headers, body: data });
      expect(up.status).toBe(201);
      expect(sha(readFileSync(`${dir}/up.bin`)), 'the file the upload wrote').toBe(sha(data));
      const link = async (path: string) => {
        const r = await fetch(`${files}/download`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
        const answer = (await r.json()) as { url: string };
        expect(r.status, JSON.stringify(answer)).toBe(200);
        return answer.url;
      };
      const down = await fetch(`${stack.url}/ssh/${await link(`${dir}/up.bin`)}`, { headers: { cookie } });
      // An error's JSON body would otherwise show up as a checksum mismatch.
      expect(down.status, 'the download before the reload').toBe(200);
      expect(sha(new Uint8Array(await down.arrayBuffer())), 'the download before the reload').toBe(sha(data));

      // 300 MB: the reload starts while it streams; the draining worker finishes it.
      execFileSync('sh', ['-c', `head -c 300000000 /dev/urandom > ${dir}/big.bin`]);
      const expected = execFileSync('sha256sum', [`${dir}/big.bin`]).toString().split(' ')[0];
      const ownerPid = (await owner(session))!.node.pid;
      const res = await fetch(`${stack.url}/ssh/${await link(`${dir}/big.bin`)}`, { headers: { cookie } });
      expect(res.status, 'the download across the reload').toBe(200);
      const hash = createHash('sha256');
      let bytes = 0;
      let reload: Promise<string> | undefined;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (reload) continue;
        reload = stack.pm2.exec(['reload', stack.name]);
        // Read no more until the process streaming it drains: the rest comes from a draining
        // process. That is the owner (its page gets the drain notice), or, when NGINX sent the
        // download to the other worker (it routes around a worker that failed within 5 s, and
        // the kills above make that happen), the worker relaying it, whose drain waits for it
        // (and PM2 reloads the owner only after that one has exited).
        await expect.poll(() => c.notices.length > 0 || drainingWhileRelaying(ownerPid), { timeout: 60_000, interval: 200 }).toBe(true);
      }
      expect(bytes).toBe(300_000_000);
      expect(hash.digest('hex'), 'the download across the reload').toBe(expected);

      // After the reload the page's requests reach the new worker, which relays them to
      // the draining owner of the SSH connection: a new upload and download still work.
      expect(await owner(session)).toMatchObject({ node: { pid: ownerPid } });
      const after = randomBytes(10_000_000);
      const again = await fetch(`${files}/upload?path=${encodeURIComponent(`${dir}/after.bin`)}&size=${after.length}`, { method: 'PUT', headers, body: after });
      expect(again.status).toBe(201);
      const back = await fetch(`${stack.url}/ssh/${await link(`${dir}/after.bin`)}`, { headers: { cookie } });
      expect(back.status, 'the download after the reload').toBe(200);
      expect(sha(new Uint8Array(await back.arrayBuffer())), 'the download after the reload (relayed to the draining owner)').toBe(sha(after));
      c.send('exit\r'); // the drain has nothing left to wait for
      await reload;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
