/**
 * Issue 12 finding 10: a frozen Redis (SIGSTOP: a hung server or a network partition;
 * the socket stays open and nothing answers) is treated as down. Logins get
 * SERVICE_UNAVAILABLE within seconds instead of hanging until SSH's own timeout blames
 * the target, readiness turns 503, a warn line says why, and all of it heals on SIGCONT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let redis: TestRedis;
let gw: TestGateway;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  gw = await startGateway({ REDIS_URL: redis.url });
  await gw.gateway.ready();
});

afterAll(async () => {
  for (const c of clients) c.close();
  redis?.thaw();
  await gw?.close();
  await redis?.close();
  await sshd?.close();
});

/** "Within a couple of seconds", with room for a loaded 2-core machine. */
const ANSWER_MS = 3_000;

function client(cookie?: string): TerminalClient {
  const c = new TerminalClient(gw.url, cookie ? { cookie } : {});
  clients.push(c);
  return c;
}

function login(): { host: string; port: number; username: string; password: string } {
  return { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password };
}

/** A POST login as the page's own form sends it; bounded, so a hang fails instead of waiting. */
async function postLogin(): Promise<{ status: number; ms: number; cookie: string }> {
  const started = Date.now();
  const { host, port, username, password } = login();
  const res = await fetch(`${gw.url}/ssh`, {
    method: 'POST',
    body: new URLSearchParams({ host, port: String(port), username, password }),
    headers: { origin: gw.url },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await res.text();
  return { status: res.status, ms: Date.now() - started, cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

/** Asks /readyz until it answers `want`; every request is bounded, the loop too. */
async function readyzBecomes(want: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let status = 0;
  while (Date.now() < until) {
    status = await fetch(`${gw.url}/readyz`, { signal: AbortSignal.timeout(ANSWER_MS) }).then(
      (r) => r.status,
      () => 0, // no answer in time counts as not ready
    );
    if (status === want) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

/** How long until the client's session ends, and with what. */
async function timedEnd(c: TerminalClient): Promise<{ code: string; ms: number }> {
  const started = Date.now();
  const info = await c.waitForEnd(25_000);
  return { code: info.code, ms: Date.now() - started };
}

describe('a frozen Redis', () => {
  it('costs logins a quick SERVICE_UNAVAILABLE, turns readiness 503 with a warning, and heals on SIGCONT', async () => {
    expect(await readyzBecomes(200, 5_000)).toBe(200);
    const granted = await postLogin(); // a grant waiting in Redis for the socket below
    expect(granted.status).toBe(200);
    const logsBefore = gw.logs.length;

    redis.freeze();
    try {
      const post = await postLogin();
      console.log(`frozen Redis: POST /ssh answered ${post.status} after ${post.ms} ms`);
      expect(post.status).toBe(503);
      expect(post.ms).toBeLessThan(ANSWER_MS);

      const withGrant = client(granted.cookie);
      withGrant.start('grant');
      const grantEnd = await timedEnd(withGrant);
      console.log(`frozen Redis: grant login ended ${grantEnd.code} after ${grantEnd.ms} ms`);
      expect(grantEnd.code).toBe('SERVICE_UNAVAILABLE');
      expect(grantEnd.ms).toBeLessThan(ANSWER_MS);

      // A form login needs Redis only for the host key (trust on first use).
      const form = client();
      form.start(login());
      const formEnd = await timedEnd(form);
      console.log(`frozen Redis: form login ended ${formEnd.code} after ${formEnd.ms} ms`);
      expect(formEnd.code).toBe('SERVICE_UNAVAILABLE');
      expect(formEnd.ms).toBeLessThan(ANSWER_MS);

      expect(await readyzBecomes(503, ANSWER_MS * 2)).toBe(503);
      const warned = gw.logs.slice(logsBefore).filter((l) => l.includes('"level":"warn"') && /redis/i.test(l));
      expect(warned.length).toBeGreaterThan(0);
    } finally {
      redis.thaw();
    }

    expect(await readyzBecomes(200, 10_000)).toBe(200);
    expect(gw.logs.slice(logsBefore).some((l) => l.includes('"level":"info"') && l.includes('redis answering again'))).toBe(true);
    const after = client();
    after.start(login());
    await after.waitForState('connected');
  });
});
