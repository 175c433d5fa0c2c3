/**
 * Issue 12, findings 5 and 6 through the production shape: NGINX in front of two PM2
 * workers on one Redis. Route cookies pick the worker (read back from /healthz through
 * NGINX), so each case proves that failed-login counts, the queue of logins under way and
 * the session leases are the cluster's, not a worker's. Every client here reaches NGINX
 * from 127.0.0.1, so they all share one client address.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/tools/stack.js';
import { listSessions } from '../harness/cluster.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { sshdSettled } from '../harness/sshdAttempts.js';
import { TerminalClient } from '../harness/terminalClient.js';

const ACCOUNT_LIMIT = 3;
const SESSIONS_PER_CLIENT = 12;
let stack: Stack;
let sshd: TestSshd;
/** A route cookie for each worker, by PM2 instance. */
let routes: [string, string];
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  stack = await startStack({
    instances: 2,
    env: { SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOGIN_FAILURES_PER_ADDRESS: '0', LOGIN_FAILURES_PER_ACCOUNT: String(ACCOUNT_LIMIT), SESSIONS_PER_CLIENT: String(SESSIONS_PER_CLIENT) },
  });
  routes = [await routeTo('0'), await routeTo('1')];
}, 120_000);

// Each case counts sshd's connections from a quiet start: the last case's shells end here.
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
});

afterAll(async () => {
  await stack?.stop();
  await sshd?.close();
}, 120_000);

/** A route cookie NGINX sends to worker `instance` (/healthz through NGINX names it). */
async function routeTo(instance: string): Promise<string> {
  for (let i = 0; i < 64; i++) {
    const cookie = `webssh_route=${randomBytes(12).toString('base64url')}`;
    const res = await fetch(`${stack.url}/healthz`, { headers: { cookie } });
    const body = (await res.json()) as { node: { instance: string | null } };
    if (String(body.node.instance) === instance) return cookie;
  }
  throw new Error(`no route cookie reached worker ${instance} in 64 tries`);
}

/** One login through NGINX on the worker `worker`; how it ended ('connected' if it did). */
async function login(worker: 0 | 1, username: string, password: string): Promise<string> {
  const c = new TerminalClient(stack.url, { cookie: routes[worker] });
  clients.push(c);
  c.start({ host: '127.0.0.1', port: sshd.port, username, password });
  const first = await c.waitFor('connected or ended', () => c.statuses.find((s) => s.state === 'connected') ?? c.ended);
  return 'code' in first ? first.code : 'connected';
}

describe('limits across NGINX and PM2 workers', () => {
  it(`10 concurrent right passwords to one account over both workers, limit ${ACCOUNT_LIMIT}: all log in`, async () => {
    const { username, password } = sshd.users.password;
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => login((i % 2) as 0 | 1, username, password)));
    expect(ends).toEqual(Array<string>(10).fill('connected'));
  });

  it(`${SESSIONS_PER_CLIENT} sessions from one address over both workers: the next is SESSION_LIMIT on either worker; one closed frees a slot`, async () => {
    // The earlier cases' shells have been closed: wait until the cluster lists none.
    const quietBy = Date.now() + 10_000;
    while ((await listSessions(stack.url, stack.adminToken)).sessions.length > 0) {
      if (Date.now() > quietBy) throw new Error('the earlier shells are still listed after 10 s');
      await new Promise((r) => setTimeout(r, 100)); // polling interval: the listing decides
    }
    const { username, password } = sshd.users.password;
    for (let i = 0; i < SESSIONS_PER_CLIENT; i++) expect(await login((i % 2) as 0 | 1, username, password)).toBe('connected');
    const listing = await listSessions(stack.url, stack.adminToken);
    expect(new Set(listing.sessions.map((s) => String(s.node.instance)))).toEqual(new Set(['0', '1']));
    expect(await login(0, username, password)).toBe('SESSION_LIMIT');
    expect(await login(1, username, password)).toBe('SESSION_LIMIT');

    const first = clients.find((c) => c.statuses.some((s) => s.state === 'connected'))!;
    first.send('exit\r');
    await first.waitForEnd();
    // The lease's release is a Redis round trip after the end: a few attempts, well inside a lease time.
    let again = await login(1, username, password);
    for (let i = 0; i < 5 && again === 'SESSION_LIMIT'; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the attempt rate, not synchronisation
      again = await login(1, username, password);
    }
    expect(again).toBe('connected');
  });

  it('a limit reached through worker 0 holds on worker 1, for the right password too, and nothing reaches sshd', async () => {
    const { username, password } = sshd.users.password;
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect(await login(0, username, 'not-the-password')).toBe('AUTH_FAILED');
    const before = await sshdSettled(sshd);
    expect(await login(1, username, 'not-the-password')).toBe('RATE_LIMITED');
    expect(await login(1, username, password)).toBe('RATE_LIMITED');
    expect(await login(0, username, password)).toBe('RATE_LIMITED');
    expect((await sshdSettled(sshd)).connections).toBe(before.connections);
  });
  it(`10 concurrent wrong passwords over both workers: exactly ${ACCOUNT_LIMIT} reach sshd, the rest are RATE_LIMITED`, async () => {
    const { username } = sshd.users.kbd;
    const before = await sshdSettled(sshd);
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => login((i % 2) as 0 | 1, username, 'not-the-password')));
    expect(ends.sort()).toEqual([...Array<string>(ACCOUNT_LIMIT).fill('AUTH_FAILED'), ...Array<string>(10 - ACCOUNT_LIMIT).fill('RATE_LIMITED')]);
    expect((await sshdSettled(sshd)).connections - before.connections).toBe(ACCOUNT_LIMIT);
  });
});
