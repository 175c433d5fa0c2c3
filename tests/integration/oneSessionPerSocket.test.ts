/**
 * Issue 12, finding 1: one socket runs at most one SSH session, and a disconnect leaves
 * none behind. The attacks arrive as raw Socket.IO packets in one polling body, so the
 * gateway handles them back to back, as it would from one TCP write.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendants } from '../../src/tools/procs.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { RawSocketIo } from '../harness/rawSocketIo.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let redis: TestRedis;
let memory: TestGateway;
let clustered: TestGateway;
const raws: RawSocketIo[] = [];

beforeAll(async () => {
  [sshd, redis] = await Promise.all([startSshd(), startRedis()]);
  // These attacks are about sessions nobody owns: no detach window, so a disconnect must
  // end every session (a resumable one is owned and ends on its own: resume.test.ts).
  memory = await startGateway({ SESSION_DETACH_SECONDS: '0' });
  clustered = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '0' });
});

afterAll(async () => {
  await Promise.all(raws.map((r) => r.close()));
  await memory?.close();
  await clustered?.close();
  await redis?.close();
  await sshd?.close();
});

const SIZE = { cols: 80, rows: 24 };
const login = () => ({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });

/** A POST /ssh login: the cookie of a session that holds a one-time grant. */
async function grantCookie(g: TestGateway): Promise<string> {
  const res = await fetch(`${g.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(login()) });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function rawSocket(g: TestGateway, cookie: string): Promise<RawSocketIo> {
  const raw = await RawSocketIo.connect(g.url, { cookie });
  raws.push(raw);
  return raw;
}

/** sshd's processes for connections opened since `before` (each SSH connection has some). */
const sshdProcessesSince = (before: Set<number>) => descendants(sshd.pid).filter((p) => !before.has(p));

/** Polls `check` every 100 ms until it holds or `ms` pass; says whether it held (state under test, no event to wait on). */
async function settles(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** After the socket is gone: what is still running on the gateway and in sshd. */
async function leftovers(g: TestGateway, before: Set<number>) {
  await settles(() => g.gateway.registry.size === 0 && sshdProcessesSince(before).length === 0, 5_000);
  return { gatewaySessions: g.gateway.registry.size, sshdProcesses: sshdProcessesSince(before).length };
}

const connectedCount = (raw: RawSocketIo) => raw.events.filter((e) => e[0] === 'status' && (e[1] as { state?: string }).state === 'connected').length;
const problemCodes = (raw: RawSocketIo) => raw.events.filter((e) => e[0] === 'problem').map((e) => (e[1] as { code: string }).code);

describe('one SSH session per socket', () => {
  it('two starts in one frame (grant, then credentials): the second is refused, and a disconnect leaves no session', async () => {
    const before = new Set(descendants(sshd.pid));
    const raw = await rawSocket(memory, await grantCookie(memory));
    await raw.send(
      RawSocketIo.event('start', { auth: { kind: 'grant' }, size: SIZE }),
      RawSocketIo.event('start', { auth: { kind: 'credentials', credentials: login() }, size: SIZE }),
    );
    // Settled: one shell is up, and the other start was either refused or got its own shell.
    await raw.waitFor('one shell and an answer to the other start', () => connectedCount(raw) >= 1 && (problemCodes(raw).length > 0 || connectedCount(raw) >= 2));
    const outcome = { connected: connectedCount(raw), problems: problemCodes(raw) };
    await raw.close();
    expect(await leftovers(memory, before)).toEqual({ gatewaySessions: 0, sshdProcesses: 0 });
    expect(outcome).toEqual({ connected: 1, problems: ['SESSION_ACTIVE'] });
  });

  it('a disconnect while the grant is being taken (Redis held) leaves no session', async () => {
    const before = new Set(descendants(sshd.pid));
    const raw = await rawSocket(clustered, await grantCookie(clustered));
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      // Writes wait until UNPAUSE (the take writes: GETDEL, or the session save before the
      // fix), so the start is held inside its await. WRITE, not ALL: ALL holds UNPAUSE too.
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
      await raw.send(RawSocketIo.event('start', { auth: { kind: 'grant' }, size: SIZE })); // answered once the handler awaits the store
      await raw.close();
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
      // The take completes after the disconnect; nothing may be started for the gone socket.
      const grantGone = async () => {
        const keys = await admin.keys('webssh:*');
        const values = await Promise.all(keys.filter((k) => !k.includes('socket.io')).map(async (k) => ((await admin.type(k)) === 'string' ? admin.get(k) : '')));
        return !keys.some((k) => k.startsWith('webssh:grant:')) && !values.some((v) => v?.includes('"grant"'));
      };
      expect(await settles(grantGone, 5_000)).toBe(true);
    } finally {
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
      await admin.close();
    }
    expect(await leftovers(clustered, before)).toEqual({ gatewaySessions: 0, sshdProcesses: 0 });
  });
});
