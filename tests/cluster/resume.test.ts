/**
 * Issue 13 in the production shape: NGINX, two PM2 workers, Redis, OpenSSH. A page
 * keeps its terminal whichever worker its new socket reaches: a replaced route cookie
 * lands it on the other worker, which relays to the owner; a polling-only page keeps
 * streaming through `pm2 reload` (its next request reaches the new worker, which relays
 * to the draining owner); and when the owner is killed, the page is told so.
 */
import { randomBytes } from 'node:crypto';
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
