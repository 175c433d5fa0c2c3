/**
 * Issue 12 finding 6 across processes on one Redis: a per-address limit reached on
 * gateway A holds on gateway B, the total spans both, and the sessions of a gateway
 * killed with -9 stop counting once their leases lapse (SESSION_LEASE_SECONDS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guard } from '../../src/tools/reaper.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, TEST_SECRET, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
const LEASE_SECONDS = 2;

let sshd: TestSshd;
let redis: TestRedis;
let child: ChildProcess | undefined;
const clients: TerminalClient[] = [];
const gateways: TestGateway[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
});

afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  for (const c of clients) c.close();
  for (const g of gateways) await g.close();
  await redis?.close();
  await sshd?.close();
});

/** The settings every process of one test shares (a fresh address per test keeps them apart). */
const settings = (extra: Record<string, string>) => ({
  REDIS_URL: redis.url,
  TRUST_PROXY: 'loopback',
  SESSION_LEASE_SECONDS: String(LEASE_SECONDS),
  ...extra,
});

async function gateway(env: Record<string, string>): Promise<TestGateway> {
  const g = await startGateway(settings(env));
  gateways.push(g);
  await g.gateway.ready();
  return g;
}

async function shell(url: string, address: string): Promise<TerminalClient> {
  const c = new TerminalClient(url, { headers: { 'x-forwarded-for': address } });
  clients.push(c);
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  await c.waitFor('connected or ended', () => c.statuses.find((s) => s.state === 'connected') ?? c.ended);
  return c;
}

/** The built gateway as a child process (so it can be killed with -9); resolves with its URL. */
function spawnGateway(env: Record<string, string>): Promise<string> {
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LISTEN_HOST: '127.0.0.1', SSH_ALLOWED_TARGETS: '127.0.0.1:*', SESSION_SECRET: TEST_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  proc.once('exit', guard(proc.pid!));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway gave no URL within 20 s:\n${out}`)), 20_000);
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/ssh"/.exec(out);
      if (m && /redis ready/.test(out)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`gateway exited (${code}):\n${out}`))));
  });
}

describe('session limits across gateways on one Redis', () => {
  it('a per-address limit reached on A holds on B; a session closed on A frees the slot on B', async () => {
    const env = { SESSIONS_PER_CLIENT: '2' };
    const [a, b] = [await gateway(env), await gateway(env)];
    const onA = [await shell(a.url, '203.0.113.20'), await shell(a.url, '203.0.113.20')];
    expect(onA.map((c) => c.ended)).toEqual([undefined, undefined]);
    const refused = await shell(b.url, '203.0.113.20');
    expect(refused.ended).toMatchObject({ code: 'SESSION_LIMIT', retryable: true });
    expect((await shell(b.url, '203.0.113.21')).ended).toBeUndefined(); // another address

    onA[0]!.send('exit\r');
    await onA[0]!.waitForEnd();
    // The release is a Redis round trip after the end, on A's connection: B's next start
    // may race it. Bounded: a few attempts, well inside one lease time (the backstop).
    let again = await shell(b.url, '203.0.113.20');
    for (let i = 0; i < 5 && again.ended?.code === 'SESSION_LIMIT'; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the attempt rate, not synchronisation
      again = await shell(b.url, '203.0.113.20');
    }
    expect(again.ended).toBeUndefined();
  });

  it('SESSIONS_TOTAL counts the sessions of every gateway', async () => {
    const env = { SESSIONS_PER_CLIENT: '0', SESSIONS_TOTAL: '2' };
    // The earlier test's sessions still count: this test ends them first.
    for (const c of clients) c.close();
    for (const g of gateways.splice(0)) await g.close();
    const [a, b] = [await gateway(env), await gateway(env)];
    expect((await shell(a.url, '192.0.2.30')).ended).toBeUndefined();
    expect((await shell(b.url, '192.0.2.31')).ended).toBeUndefined();
    const refused = await shell(a.url, '192.0.2.32');
    expect(refused.ended).toMatchObject({ code: 'SESSION_LIMIT' });
    expect(refused.ended?.message).toContain('at most 2 sessions on this gateway');
  });

  it('the sessions of a gateway killed with -9 stop counting within the lease time', async () => {
    const env = { SESSIONS_PER_CLIENT: '1' };
    const url = await spawnGateway(settings(env));
    const b = await gateway(env);
    expect((await shell(url, '198.51.100.40')).ended).toBeUndefined();
    expect((await shell(b.url, '198.51.100.40')).ended).toMatchObject({ code: 'SESSION_LIMIT' });

    child!.kill('SIGKILL');
    const killed = Date.now();
    // Bounded: one attempt per 250 ms for five lease times.
    let admitted: TerminalClient | undefined;
    for (let i = 0; i < (5 * LEASE_SECONDS * 1000) / 250 && !admitted; i++) {
      const c = await shell(b.url, '198.51.100.40');
      if (c.ended?.code === 'SESSION_LIMIT') await new Promise((r) => setTimeout(r, 250)); // the attempt rate, not synchronisation
      else admitted = c;
    }
    expect(admitted?.ended).toBeUndefined();
    expect(Date.now() - killed).toBeLessThan(5 * LEASE_SECONDS * 1000 + 5000);
  });
});
