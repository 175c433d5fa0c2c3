/**
 * Issue 14 across processes: two gateways on one real Redis, real OpenSSH. A page's file
 * requests that reach the process not owning its terminal (NGINX routed around a failed
 * worker, a changed route cookie, `pm2 reload`) are proxied to the owner's internal
 * listener, byte for byte, with the owner checking everything; nothing is ever served by
 * a process it was not meant for, a draining owner still serves its sessions' files, and
 * a draining process lets the downloads it relays finish.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;
let dir: string;
let clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  a = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60' });
  b = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60' });
  await Promise.all([a.gateway.ready(), b.gateway.ready()]);
  dir = `/tmp/webssh-file-relay-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir);
  const uid = Number(execFileSync('id', ['-u', sshd.users.password.username]).toString());
  chownSync(dir, uid, uid);
}, 60_000);

afterEach(async () => {
  // Ended, not left detached: the drain test below waits for every session of a.
  await Promise.all(
    clients.map(async (c) => {
      c.socket.emit('end');
      await c.waitForEnd().catch(() => undefined);
      c.close();
    }),
  );
  clients = [];
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.close();
  await sshd?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A terminal on `owner`; file requests are then made to whichever process a test picks. */
async function terminalOn(owner: TestGateway) {
  const cookie = `webssh_browser=${randomBytes(32).toString('base64url')}`;
  const client = new TerminalClient(owner.url, { cookie });
  clients.push(client);
  client.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  const { session, secret } = await client.waitForAttached();
  /** A file request through `via`, as the page would make it there (its Origin is that address). */
  const files = (via: TestGateway, path: string, init: RequestInit & { secret?: string } = {}) =>
    fetch(`${via.url}/ssh/files/${session}/${path}`, {
      ...init,
      headers: { cookie, 'x-webssh-secret': init.secret ?? secret, origin: via.url, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });
  const link = async (via: TestGateway, path: string) => {
    const r = await files(via, 'download', { method: 'POST', body: JSON.stringify({ path }) });
    const answer = (await r.json()) as { url: string };
    expect(r.status, JSON.stringify(answer)).toBe(200);
    return `${via.url}/ssh/${answer.url}`;
  };
  return { client, cookie, session, files, link };
}

/** The internal address a process logged for relayed file requests. */
function internalUrl(g: TestGateway): { url: string; node: string } {
  const line = g.logs.map((l) => JSON.parse(l) as { msg: string; url?: string; node?: string }).find((l) => l.msg === 'file relay listening');
  expect(line).toBeDefined();
  return { url: line!.url!, node: line!.node! };
}

describe('file requests that reach the process not owning the terminal', () => {
  it('are served by the owner through the relay: list, upload and download with the same bytes, links from either process', async () => {
    const t = await terminalOn(a);
    const data = randomBytes(30_000_000);
    const up = await t.files(b, `upload?path=${encodeURIComponent(`${dir}/relayed.bin`)}&size=${data.length}`, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status).toBe(201);
    expect(sha(readFileSync(`${dir}/relayed.bin`))).toBe(sha(data));
    expect(b.gateway.registry.terminal(t.session)).toBeUndefined(); // b only relayed
    expect(a.logs.some((l) => l.includes('"event":"file.transfer"') && l.includes('"action":"upload"') && l.includes('relayed.bin'))).toBe(true);

    const listing = (await (await t.files(b, `list?path=${encodeURIComponent(dir)}`)).json()) as { entries: { name: string; size: number }[] };
    expect(listing.entries).toContainEqual(expect.objectContaining({ name: 'relayed.bin', size: data.length }));

    // A link made through b, fetched from a; and one made on a, fetched through b (with Range).
    const viaB = await fetch(await t.link(b, `${dir}/relayed.bin`), { headers: { cookie: t.cookie } });
    expect(viaB.status).toBe(200);
    expect(sha(new Uint8Array(await viaB.arrayBuffer()))).toBe(sha(data));
    const tail = await fetch((await t.link(a, `${dir}/relayed.bin`)).replace(a.url, b.url), { headers: { cookie: t.cookie, range: 'bytes=29000000-' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes 29000000-29999999/${data.length}`);
    expect(sha(new Uint8Array(await tail.arrayBuffer()))).toBe(sha(data.subarray(29_000_000)));
  });

  it('the owner decides: a wrong secret or another browser is refused there, a session held nowhere is told at once', async () => {
    const t = await terminalOn(a);
    const wrong = await t.files(b, `list?path=${encodeURIComponent(dir)}`, { secret: 'not-the-secret' });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
    const url = await t.link(a, `${dir}/relayed.bin`);
    const otherBrowser = await fetch(url.replace(a.url, b.url), { headers: { cookie: `webssh_browser=${randomBytes(32).toString('base64url')}` } });
    expect(otherBrowser.status).toBe(404);
    expect(await otherBrowser.json()).toMatchObject({ code: 'FILE_NOT_FOUND' });
    // Every process answers "not here": no timeout is waited for.
    const started = Date.now();
    const nowhere = await fetch(`${b.url}/ssh/files/${crypto.randomUUID()}/list`, { headers: { cookie: t.cookie, 'x-webssh-secret': 'x' } });
    expect(await nowhere.json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(Date.now() - started).toBeLessThan(1500); // the find timeout is 2 s
  });

  it('is never served by a process it was not meant for: the internal listener refuses another node key', async () => {
    const t = await terminalOn(a);
    const inner = internalUrl(a);
    const path = `/ssh/files/${t.session}/list?path=${encodeURIComponent(dir)}`;
    const headers = { cookie: t.cookie, 'x-webssh-secret': t.client.attached.at(-1)!.secret };
    const misrouted = await fetch(`${inner.url}${path}`, { headers: { ...headers, 'x-webssh-relay-node': internalUrl(b).node } });
    expect(misrouted.status).toBe(421);
    const bare = await fetch(`${inner.url}${path}`, { headers });
    expect(bare.status).toBe(421);
    const meant = await fetch(`${inner.url}${path}`, { headers: { ...headers, 'x-webssh-relay-node': inner.node } });
    expect(meant.status).toBe(200);
  });

  it('the owner gone mid-download: the relayed download is cut short, never completed with bytes missing', async () => {
    const c = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60' });
    try {
      await c.gateway.ready();
      const t = await terminalOn(c);
      execFileSync('sh', ['-c', `head -c 60000000 /dev/zero > ${dir}/cut.bin`]);
      const res = await fetch(await t.link(b, `${dir}/cut.bin`), { headers: { cookie: t.cookie } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let bytes = (await reader.read()).value!.length;
      await c.close(); // the owner's process ends (its SSH connection and listeners with it)
      const rest = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return bytes;
          bytes += value.length;
        }
      })();
      await expect(rest).rejects.toThrow();
      expect(bytes).toBeLessThan(60_000_000);
    } finally {
      await c.close();
    }
  });

  it('a process relaying a download drains (pm2 reload of a worker without sessions): the download still finishes, then it closes', async () => {
    const relayer = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60' });
    try {
      await relayer.gateway.ready();
      const t = await terminalOn(a);
      execFileSync('sh', ['-c', `head -c 60000000 /dev/urandom > ${dir}/through.bin`]);
      const expected = sha(readFileSync(`${dir}/through.bin`));
      const res = await fetch(await t.link(relayer, `${dir}/through.bin`), { headers: { cookie: t.cookie } });
      expect(res.status).toBe(200);
      const hash = createHash('sha256');
      let bytes = 0;
      let drained: Promise<void> | undefined;
      let drainedAt: number | undefined;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (drained) continue;
        // The relaying process holds no session: a drain that waited for sessions only ended
        // at once, and its close cut the download ("terminated: other side closed").
        drained = relayer.gateway.drain(60_000).then(() => void (drainedAt = bytes));
      }
      expect(bytes).toBe(60_000_000);
      expect(hash.digest('hex')).toBe(expected);
      await drained;
      // It waited for the download (its answer finished once the page had read all but what
      // the socket buffers hold), and then it closed.
      expect(drainedAt).toBeGreaterThan(30_000_000);
    } finally {
      await relayer.close();
    }
  });

  it('a draining owner, its public port closed, still serves its terminal files through the other process', async () => {
    const t = await terminalOn(a);
    const data = randomBytes(5_000_000);
    const drained = a.gateway.drain(60_000);
    await expect(fetch(`${a.url}/readyz`)).rejects.toThrow(); // a's public listener is gone
    const up = await t.files(b, `upload?path=${encodeURIComponent(`${dir}/drain.bin`)}&size=${data.length}`, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status).toBe(201);
    const down = await fetch(await t.link(b, `${dir}/drain.bin`), { headers: { cookie: t.cookie } });
    expect(sha(new Uint8Array(await down.arrayBuffer()))).toBe(sha(data));
    t.client.send('exit\r'); // the drain has nothing left to wait for
    await drained;
  });
});
