/**
 * Issue 12, finding 5: failed logins are limited per client address and per target
 * account, across the cluster. A refused attempt gets RATE_LIMITED with the wait, and
 * never reaches sshd. Addresses are simulated with TRUST_PROXY + X-Forwarded-For (the
 * address the gateway logs and registers, as NGINX sets it).
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { sshdSettled } from '../harness/sshdAttempts.js';
import { TerminalClient } from '../harness/terminalClient.js';
import type { ErrorInfo } from '../../src/shared/errors.js';

const WINDOW_SECONDS = 600;
let sshd: TestSshd;
let redis: TestRedis;
let clients: TerminalClient[] = [];
const gateways: TestGateway[] = [];

beforeAll(async () => {
  [sshd, redis] = await Promise.all([startSshd(), startRedis()]);
});

afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await redis?.close();
  await sshd?.close();
});

async function gateway(perAddress: number, perAccount: number, env: Record<string, string> = {}): Promise<TestGateway> {
  const g = await startGateway({
    TRUST_PROXY: 'loopback',
    LOGIN_FAILURES_PER_ADDRESS: String(perAddress),
    LOGIN_FAILURES_PER_ACCOUNT: String(perAccount),
    LOGIN_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS),
    ...env,
  });
  gateways.push(g);
  return g;
}

/** One login from `address`; how it ended. */
async function login(g: TestGateway, address: string, username: string, password: string): Promise<{ end: ErrorInfo | undefined; c: TerminalClient }> {
  const c = new TerminalClient(g.url, { headers: { 'x-forwarded-for': address } });
  clients.push(c);
  c.start({ host: sshd.host, port: sshd.port, username, password });
  await c.waitFor('connected or ended', () => c.ended ?? c.statuses.find((s) => s.state === 'connected'));
  return { end: c.ended, c };
}

const user = () => sshd.users.password;
const wrong = (g: TestGateway, address: string) => login(g, address, user().username, 'not-the-password');

function expectRateLimited(end: ErrorInfo | undefined): void {
  expect(end).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
  expect(end?.retryAfterSeconds).toBeGreaterThan(0);
  expect(end?.retryAfterSeconds).toBeLessThanOrEqual(WINDOW_SECONDS);
}

describe('failed-login limits', () => {
  it('per address: the N+1th attempt is RATE_LIMITED with its wait and never reaches sshd; another address still logs in', async () => {
    const g = await gateway(3, 100);
    for (let i = 0; i < 3; i++) expect((await wrong(g, '203.0.113.10')).end?.code).toBe('AUTH_FAILED');
    const before = await sshdSettled(sshd);
    expectRateLimited((await wrong(g, '203.0.113.10')).end);
    // The right password from the limited address waits too: the address guessed enough.
    expectRateLimited((await login(g, '203.0.113.10', user().username, user().password)).end);
    // No connection at all: sshd's `Failed` lines can trail their connection's close, so
    // connections, not failures, are what proves nothing reached it.
    expect((await sshdSettled(sshd)).connections).toBe(before.connections);
    const other = await login(g, '203.0.113.11', user().username, user().password);
    expect(other.end).toBeUndefined();
  });

  it('10 concurrent wrong attempts from one address: exactly the limit reaches sshd, the rest wait', async () => {
    const g = await gateway(3, 100);
    const before = await sshdSettled(sshd);
    const ends = await Promise.all(Array.from({ length: 10 }, () => wrong(g, '203.0.113.20')));
    const codes = ends.map((e) => e.end?.code).sort();
    expect(codes).toEqual([...Array<string>(3).fill('AUTH_FAILED'), ...Array<string>(7).fill('RATE_LIMITED')]);
    const after = await sshdSettled(sshd);
    expect(after.connections - before.connections).toBe(3);
    expect(after.failed - before.failed).toBe(3);
  });

  it('10 concurrent right passwords to one account, limit 3: every one logs in (the attempts beyond the limit wait their turn, none is refused)', async () => {
    const g = await gateway(100, 3);
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => login(g, `203.0.113.${100 + i}`, user().username, user().password)));
    expect(ends.map((e) => e.end?.code ?? 'connected')).toEqual(Array<string>(10).fill('connected'));
  });

  it('POST and Basic logins are counted and refused the same way (their grants reach the same socket start)', async () => {
    const g = await gateway(1, 100);
    const address = '203.0.113.30';
    const viaGrant = async (res: Response) => {
      expect(res.status).toBe(200);
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const c = new TerminalClient(g.url, { cookie, headers: { 'x-forwarded-for': address } });
      clients.push(c);
      c.start('grant');
      return c.waitForEnd();
    };
    const body = JSON.stringify({ host: sshd.host, port: sshd.port, username: user().username, password: 'not-the-password' });
    expect((await viaGrant(await fetch(`${g.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }))).code).toBe('AUTH_FAILED');
    const before = await sshdSettled(sshd);
    const basic = `Basic ${Buffer.from(`${user().username}:${user().password}`).toString('base64')}`;
    expectRateLimited(await viaGrant(await fetch(`${g.url}/ssh/host/${sshd.host}?port=${sshd.port}`, { headers: { authorization: basic } })));
    expect((await sshdSettled(sshd)).connections).toBe(before.connections);
  });

  it('per account: guesses from two addresses add up, and the account is refused from a third', async () => {
    const g = await gateway(100, 2);
    expect((await wrong(g, '198.51.100.1')).end?.code).toBe('AUTH_FAILED');
    expect((await wrong(g, '198.51.100.2')).end?.code).toBe('AUTH_FAILED');
    const before = await sshdSettled(sshd);
    expectRateLimited((await wrong(g, '198.51.100.3')).end);
    expect((await sshdSettled(sshd)).connections).toBe(before.connections);
    // Other accounts are not blocked: 2FA from the same address still works.
    const { username, password, otp } = sshd.users.kbd;
    const c = new TerminalClient(g.url, { headers: { 'x-forwarded-for': '198.51.100.3' } });
    clients.push(c);
    c.start({ host: sshd.host, port: sshd.port, username, password });
    await c.waitFor('code prompt', () => c.kbdPrompts[0]);
    c.socket.emit('kbdAnswers', [otp]);
    await c.waitForState('connected');
  });

  it('failures below the limit never block a successful login, which clears the account count', async () => {
    const g = await gateway(100, 2);
    expect((await wrong(g, '192.0.2.50')).end?.code).toBe('AUTH_FAILED');
    expect((await login(g, '192.0.2.50', user().username, user().password)).end).toBeUndefined();
    // The success cleared the account's count: two more typos are still answered by sshd.
    expect((await wrong(g, '192.0.2.50')).end?.code).toBe('AUTH_FAILED');
    expect((await wrong(g, '192.0.2.50')).end?.code).toBe('AUTH_FAILED');
    expectRateLimited((await wrong(g, '192.0.2.50')).end);
  });

  it('across the cluster: 10 concurrent wrong passwords split over gateways A and B, account limit 3: exactly 3 reach sshd', async () => {
    const env = { REDIS_URL: redis.url };
    const [a, b] = [await gateway(100, 3, env), await gateway(100, 3, env)];
    const { username } = sshd.users.kbd; // an account no other test fails against
    const before = await sshdSettled(sshd);
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => login(i % 2 ? a : b, `198.18.0.${i + 1}`, username, 'not-the-password')));
    const codes = ends.map((e) => e.end?.code).sort();
    expect(codes).toEqual([...Array<string>(3).fill('AUTH_FAILED'), ...Array<string>(7).fill('RATE_LIMITED')]);
    expect((await sshdSettled(sshd)).connections - before.connections).toBe(3);
  });

  it('across the cluster: a limit reached on gateway A holds on gateway B (one Redis); keys expire and hold no account name', async () => {
    const env = { REDIS_URL: redis.url };
    const [a, b] = [await gateway(2, 100, env), await gateway(2, 100, env)];
    expect((await wrong(a, '203.0.113.77')).end?.code).toBe('AUTH_FAILED');
    expect((await wrong(a, '203.0.113.77')).end?.code).toBe('AUTH_FAILED');
    const before = await sshdSettled(sshd);
    expectRateLimited((await wrong(b, '203.0.113.77')).end);
    expect((await sshdSettled(sshd)).connections).toBe(before.connections);
    expect((await login(b, '203.0.113.78', user().username, user().password)).end).toBeUndefined();

    const r = createClient({ url: redis.url });
    await r.connect();
    try {
      const keys = await r.keys('webssh:login-failures:*');
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const ttl = await r.ttl(k);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS);
      }
      expect(keys.join('\n')).not.toContain(user().username);
    } finally {
      await r.close();
    }
  });
});
