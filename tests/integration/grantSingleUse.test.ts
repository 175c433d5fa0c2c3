/**
 * Issue 12, findings 2 and 9: a credential grant starts exactly one session, whichever
 * sockets and processes race for it, and a start without a usable grant says
 * CREDENTIALS_MISSING; only a session store that cannot answer says SERVICE_UNAVAILABLE.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const GRANT_TTL_SECONDS = 30;
let sshd: TestSshd;
let redis: TestRedis;
let memory: TestGateway;
/** Two "workers" on one Redis: the same secret, no shared memory. */
let a: TestGateway;
let b: TestGateway;
let clients: TerminalClient[] = [];

beforeAll(async () => {
  [sshd, redis] = await Promise.all([startSshd(), startRedis()]);
  memory = await startGateway();
  a = await startGateway({ REDIS_URL: redis.url, GRANT_TTL_SECONDS: String(GRANT_TTL_SECONDS) });
  b = await startGateway({ REDIS_URL: redis.url, GRANT_TTL_SECONDS: String(GRANT_TTL_SECONDS) });
});

afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

afterAll(async () => {
  await memory?.close();
  await a?.close();
  await b?.close();
  await redis?.close();
  await sshd?.close();
});

const login = () => ({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });

async function grantCookie(g: TestGateway): Promise<string> {
  const res = await fetch(`${g.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(login()) });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

/** The session id inside a signed `webssh_sid=s%3A<id>.<signature>` cookie. */
const sessionIdOf = (cookie: string) => /webssh_sid=s%3A([^.;]+)\./.exec(cookie)?.[1] ?? '';

/** A socket whose handshake (where the gateway reads the HTTP session) has completed. */
async function handshaked(g: TestGateway, cookie?: string): Promise<TerminalClient> {
  const c = new TerminalClient(g.url, cookie === undefined ? {} : { cookie });
  clients.push(c);
  await c.waitFor('connect', () => c.socket.connected || c.connectError);
  expect(c.socket.connected).toBe(true);
  return c;
}

/** 'connected', or the code the session ended with. */
async function outcome(c: TerminalClient): Promise<string> {
  const result = await c.waitFor('a shell or an end', () => c.ended ?? c.statuses.find((s) => s.state === 'connected'));
  return 'code' in result ? result.code : 'connected';
}

describe('a grant starts one session', () => {
  it('a second socket, handshaked before the first used the grant, gets CREDENTIALS_MISSING (two processes, one Redis)', async () => {
    const cookie = await grantCookie(a);
    const first = await handshaked(a, cookie);
    const second = await handshaked(b, cookie);
    first.start('grant');
    expect(await outcome(first)).toBe('connected');
    second.start('grant');
    expect(await outcome(second)).toBe('CREDENTIALS_MISSING');
  });

  it.each([
    ['one process, in memory', () => [memory, memory] as const],
    ['two processes, one Redis', () => [a, b] as const],
  ])('two sockets starting together with one grant: exactly one succeeds (%s)', async (_name, gateways) => {
    const [g1, g2] = gateways();
    const cookie = await grantCookie(g1);
    const racers = [await handshaked(g1, cookie), await handshaked(g2, cookie)];
    for (const c of racers) c.start('grant'); // same tick: both takes are in flight at once
    expect((await Promise.all(racers.map(outcome))).sort()).toEqual(['CREDENTIALS_MISSING', 'connected']);
  });

  it('the grant waits under its own key, sealed, expiring with GRANT_TTL_SECONDS', async () => {
    const cookie = await grantCookie(a);
    const r = createClient({ url: redis.url });
    await r.connect();
    try {
      const key = `webssh:grant:${sessionIdOf(cookie)}`;
      const ttl = await r.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(GRANT_TTL_SECONDS * 1000);
      expect(await r.get(key)).not.toContain(login().password);
      expect(await r.get(`webssh:sess:${sessionIdOf(cookie)}`)).not.toContain('"data"'); // no sealed copy in the session either
    } finally {
      await r.close();
    }
  });
});

describe('a start without a usable grant', () => {
  it.each([
    ['no cookie', undefined],
    ['a garbage cookie', 'webssh_sid=garbage'],
    ['a forged (unsigned) session cookie', `webssh_sid=${encodeURIComponent('s:forged-session-id.bad-signature')}`],
  ])('%s: CREDENTIALS_MISSING (one process and two)', async (_name, cookie) => {
    for (const g of [memory, a]) {
      const c = await handshaked(g, cookie);
      c.start('grant');
      expect(await c.waitForEnd()).toMatchObject({ code: 'CREDENTIALS_MISSING', retryable: false });
    }
  });

  it('a destroyed session: CREDENTIALS_MISSING', async () => {
    const inMemory = await grantCookie(memory);
    await new Promise<void>((resolve) => memory.store.destroy(sessionIdOf(inMemory), () => resolve()));
    const inRedis = await grantCookie(a);
    const r = createClient({ url: redis.url });
    await r.connect();
    await r.del(`webssh:sess:${sessionIdOf(inRedis)}`);
    await r.close();
    for (const [g, cookie] of [[memory, inMemory], [b, inRedis]] as const) {
      const c = await handshaked(g, cookie);
      c.start('grant');
      expect(await c.waitForEnd()).toMatchObject({ code: 'CREDENTIALS_MISSING', retryable: false });
    }
  });

  it('Redis down (a real store failure): SERVICE_UNAVAILABLE', async () => {
    const cookie = await grantCookie(a);
    const c = await handshaked(b, cookie);
    await redis.stop();
    try {
      c.start('grant');
      expect(await c.waitForEnd()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      // A socket whose handshake could not read its session: the same, never CREDENTIALS_MISSING.
      const late = await handshaked(b, cookie);
      late.start('grant');
      expect(await late.waitForEnd()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    } finally {
      await redis.start();
    }
  });
});
