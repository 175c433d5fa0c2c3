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
    const grantKeys = await r.keys('webssh:grant:*');
    expect(grantKeys.length).toBeGreaterThan(0);
    const keys = [...grantKeys, ...(await r.keys('webssh:sess:*'))];
    const stored = (await Promise.all(keys.map((k) => r.get(k)))).join('\n');
    await r.close();
    expect(stored).toContain('"data"'); // the sealed grant
    expect(stored).not.toContain(password);

    const c = client(b, cookieOf(res)); // the other worker
    c.start('grant');
    await c.waitForState('connected');
  });

  it("a worker that never saw a host refuses its changed key because another worker trusted the old one", async () => {
    const { username, password } = sshd.users.password;
    // Its own sshd, so the host:port is fresh for both workers whatever ran before.
    const first = await startSshd();
    let second: TestSshd | undefined;
    try {
      const target = { host: first.host, port: first.port };
      const onA = client(a);
      onA.start({ ...target, username, password });
      expect(await onA.waitForState('connected')).toMatchObject({ hostKey: first.hostKeyFingerprint }); // trusted on first use
      onA.close();
      const r = createClient({ url: redis.url });
      await r.connect();
      const recorded = await r.hGet('webssh:known_hosts', `${first.host}:${first.port}`);
      await r.close();
      expect(recorded).toBe(first.hostKeyFingerprint);

      // The same host:port now presents another key: a fresh sshd (its own new host key)
      // that also listens on the old port (sshd listens on every `Port` line).
      await first.close();
      second = await startSshd({ extraConfig: [`Port ${target.port}`] });
      expect(second.hostKeyFingerprint).not.toBe(first.hostKeyFingerprint);

      // Worker B has never connected there; only A's record in Redis can make it refuse.
      const onB = client(b);
      onB.start({ ...target, username, password });
      const outcome = await onB.waitFor('B to refuse or to open a shell', () => onB.ended ?? onB.statuses.find((s) => s.state === 'connected'));
      expect(outcome).toMatchObject({ code: 'HOST_KEY_REJECTED', retryable: false });
      expect(onB.ended?.message).toContain(`on record: ${first.hostKeyFingerprint}`);
      expect(onB.ended?.message).toContain(`presented ${second.hostKeyFingerprint}`);

      // The same worker, the same sshd on its own (never trusted) port: accepted, so the
      // refusal above was about the record, not about B or the new server.
      const control = client(b);
      control.start({ host: second.host, port: second.port, username, password });
      expect(await control.waitForState('connected')).toMatchObject({ hostKey: second.hostKeyFingerprint });
    } finally {
      await first.close();
      await second?.close();
    }
  }, 60_000); // two sshd starts (key generation) on a loaded machine

  it('Redis down: live terminals go on, logins get a clear 503 at once, all heals when it returns', async () => {
    const live = client(a);
    live.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await live.waitForState('connected');
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);

    await redis.stop();
    try {
      live.send('echo "alive-$((7*6))"\r');
      await live.waitForText('alive-42');

      // Failing fast is the behaviour here, so it is timed, with a wide margin: a command
      // queued behind the outage would wait for Redis to return, which happens only after
      // these checks (the request would hang until the abort), and the other slow ways to
      // fail are the 3 s connect timeout and the 20 s SSH ready timeout. 5 s separates
      // "at once" from all of them even on a loaded machine.
      const FAIL_FAST_MS = 5_000;
      const t0 = Date.now();
      const login = await fetch(`${a.url}/ssh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ host: sshd.host, port: sshd.port, username: 'u', password: 'p' }),
        signal: AbortSignal.timeout(15_000),
      });
      expect(login.status).toBe(503);
      expect(await login.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
      expect(Date.now() - t0).toBeLessThan(FAIL_FAST_MS); // no queueing behind the outage
      const ready = await fetch(`${a.url}/readyz`);
      expect(ready.status).toBe(503);

      const form = client(b);
      const t1 = Date.now();
      form.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
      expect(await form.waitForEnd()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' }); // host keys need Redis
      expect(Date.now() - t1).toBeLessThan(FAIL_FAST_MS); // refused at the host-key check, not at a timeout
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
