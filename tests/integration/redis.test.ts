/**
 * Sessions and host keys on a real Redis: shared between gateway processes, sealed at
 * rest, and Redis going away costs new logins a clear 503, never live terminals.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;
const clients: TerminalClient[] = [];

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  // Two "workers": same secret, same Redis, no shared memory (the real session store, not the test's MemoryStore).
  a = await startGateway({ REDIS_URL: redis.url });
  b = await startGateway({ REDIS_URL: redis.url });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await a?.close();
  await b?.close();
  await redis?.close();
  await sshd?.close();
});

/** Asks `url` until it answers `want` (an HTTP endpoint has no event to wait on). */
async function pollStatus(url: string, want: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let status = (await fetch(url)).status;
  while (status !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await fetch(url)).status;
  }
  return status;
}

function client(g: TestGateway, cookie?: string): TerminalClient {
  const c = new TerminalClient(g.url, cookie ? { cookie } : {});
  clients.push(c);
  return c;
}

describe('with REDIS_URL', () => {
  it('a grant issued by one worker is taken on another, and Redis holds no plaintext', async () => {
    const { username, password } = sshd.users.password;
    const res = await fetch(`${a.url}/ssh/host/${sshd.host}?port=${sshd.port}`, { headers: { authorization: basic(username, password) } });
    expect(res.status).toBe(200);
    const r = createClient({ url: redis.url });
    await r.connect();
    const keys = await r.keys('webssh:sess:*');
    expect(keys.length).toBeGreaterThan(0);
    const stored = (await Promise.all(keys.map((k) => r.get(k)))).join('\n');
    await r.close();
    expect(stored).toContain('grant');
    expect(stored).not.toContain(password);

    const c = client(b, cookieOf(res)); // the other worker
    c.start('grant');
    await c.waitForState('connected');
  });

  it('host keys trusted on one worker are on record for every worker', async () => {
    const r = createClient({ url: redis.url });
    await r.connect();
    const recorded = await r.hGet('webssh:known_hosts', `${sshd.host}:${sshd.port}`);
    await r.close();
    expect(recorded).toBe(sshd.hostKeyFingerprint);
  });

  it('Redis down: live terminals go on, logins get a clear 503 at once, all heals when it returns', async () => {
    const live = client(a);
    live.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await live.waitForState('connected');
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);

    await redis.stop();
    try {
      live.send('echo "alive-$((7*6))"\r');
      await live.waitForText('alive-42');

      const t0 = Date.now();
      const login = await fetch(`${a.url}/ssh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ host: sshd.host, port: sshd.port, username: 'u', password: 'p' }),
      });
      expect(login.status).toBe(503);
      expect(await login.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      expect(Date.now() - t0).toBeLessThan(2000); // no queueing behind the outage
      const ready = await fetch(`${a.url}/readyz`);
      expect(ready.status).toBe(503);

      const form = client(b);
      form.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
      expect(await form.waitForEnd()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' }); // host keys need Redis
    } finally {
      await redis.start();
    }
    // node-redis reconnects within its back-off (<= 2 s); readiness is the observable.
    expect(await pollStatus(`${a.url}/readyz`, 200, 10_000)).toBe(200);
    expect(await pollStatus(`${b.url}/readyz`, 200, 10_000)).toBe(200);
    const healed = client(b);
    healed.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await healed.waitForState('connected');
    expect(live.ended).toBeUndefined();
  });
});
