/**
 * Helpers for tests against a running stack (NGINX + PM2 workers + Redis): get the page
 * (and with it the routing cookie) as a browser would, open shells, call the admin API.
 */
import { randomBytes } from 'node:crypto';
import type { SessionListing, SessionSummary } from '../../src/shared/admin.js';
import type { TestSshd } from './sshd.js';
import { TerminalClient, type ClientOptions } from './terminalClient.js';

/** Loads the page like a browser and returns the routing cookie it set (`name=value`). */
export async function routeCookie(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/ssh/`);
  await res.text();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('webssh_route='));
  if (!res.ok || !cookie) throw new Error(`page load gave ${res.status} without a routing cookie`);
  return cookie.split(';')[0]!;
}

export const shellStats = { retriedAfterDrain: 0 };

/**
 * A logged-in shell, reached the way a browser reaches it. Like the page (app.ts), it
 * retries once on a fresh socket when a draining worker refused the start.
 */
export async function openShell(baseUrl: string, sshd: TestSshd, opts: ClientOptions = {}, retryIfDraining = true): Promise<TerminalClient> {
  const cookie = opts.cookie ?? (await routeCookie(baseUrl));
  const c = new TerminalClient(baseUrl, { ...opts, cookie });
  c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
  const first = await c.waitFor('connected or ended', () => c.statuses.find((s) => s.state === 'connected') ?? c.ended);
  if ('code' in first) {
    c.close();
    if (first.code === 'SHUTTING_DOWN' && c.statuses.length === 0 && retryIfDraining) {
      shellStats.retriedAfterDrain++;
      return openShell(baseUrl, sshd, opts, false);
    }
    throw new Error(`session ended before connecting: ${first.code} ${first.message}`);
  }
  return c;
}

/** Round trip through the shell: proves the session is alive end to end. */
export async function echo(c: TerminalClient, word: string): Promise<void> {
  c.send(`echo ${word}-$((6*7))\r`);
  await c.waitForText(`${word}-42`);
}

export async function admin(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl}/ssh/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

export async function listSessions(baseUrl: string, token: string): Promise<SessionListing> {
  const res = await admin(baseUrl, token, 'GET', '/sessions');
  if (!res.ok) throw new Error(`admin list: ${res.status}`);
  return (await res.json()) as SessionListing;
}

/**
 * Opens shells through `url` (NGINX) one at a time until each of `workers` PM2 instances
 * holds `perWorker` of them: placement is read from the cluster's admin listing, not left
 * to the luck of the routing-cookie hash. Shells beyond a worker's quota are closed.
 */
export async function shellsOnEveryWorker(
  url: string,
  sshd: TestSshd,
  token: string,
  { workers = 2, perWorker = 3, maxOpens = 40 } = {},
): Promise<{ client: TerminalClient; session: SessionSummary }[]> {
  const known = new Set((await listSessions(url, token)).sessions.map((s) => s.id));
  const kept: { client: TerminalClient; session: SessionSummary }[] = [];
  const on = (instance: string | null) => kept.filter((k) => k.session.node.instance === instance).length;
  for (let opened = 0; opened < maxOpens && kept.length < workers * perWorker; opened++) {
    const client = await openShell(url, sshd);
    const fresh = (await listSessions(url, token)).sessions.filter((s) => !known.has(s.id));
    fresh.forEach((s) => known.add(s.id));
    if (fresh.length !== 1) throw new Error(`expected the one new session in the listing, found ${fresh.length}`);
    const session = fresh[0]!;
    if (on(session.node.instance) < perWorker) kept.push({ client, session });
    else client.close();
  }
  const counts = Array.from({ length: workers }, (_, i) => on(String(i)));
  if (counts.some((n) => n < perWorker)) throw new Error(`after ${maxOpens} shells the workers hold ${counts.join('/')}, not ${perWorker} each`);
  return kept;
}

/** Logs in with a POST (as webssh2's form integrations do) and returns the session cookie. */
export async function postLogin(baseUrl: string, sshd: TestSshd): Promise<{ status: number; cookie: string | undefined }> {
  const res = await fetch(`${baseUrl}/ssh/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password }),
  });
  await res.text();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('webssh_sid='));
  return { status: res.status, cookie: cookie?.split(';')[0] };
}

/**
 * Waits until NGINX sends requests to every one of `workers` workers again (after a
 * kill, it keeps a failed worker out for fail_timeout): /healthz through NGINX names the
 * worker that answered, and fresh route cookies spread the requests.
 */
export async function untilNginxUsesEveryWorker(baseUrl: string, workers: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = new Set<string>();
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const res = await fetch(`${baseUrl}/healthz`, { headers: { cookie: `webssh_route=${randomBytes(12).toString('base64url')}` } });
        return res.ok ? String(((await res.json()) as { node: { instance: string | null } }).node.instance) : `status ${res.status}`;
      }),
    );
    seen = new Set(answers);
    if (seen.size === workers && !answers.some((a) => a.startsWith('status'))) return;
    await new Promise((r) => setTimeout(r, 200)); // polling interval: the next round decides
  }
  throw new Error(`NGINX did not reach all ${workers} workers within ${timeoutMs} ms (last round: ${[...seen].join(', ')})`);
}

export interface PageLoad {
  /** The answer's status, or why there was none (e.g. "no answer within 30000 ms"). */
  status: number | string;
  ms: number;
  /** Started after `action` ran. */
  after: boolean;
}

/**
 * Loads the page continuously, as a crowd of new browsers would (each load with its own
 * route cookie, so the loads spread over every worker): `loops` loaders, each starting a
 * load every ~`gapMs` after the previous one ends. Once `before` loads have completed it
 * runs `action` (e.g. kill -9 a worker), then goes on until `after` more loads have
 * started. Each load gives up after `timeoutMs`: a hung one is a failure, not a wait.
 */
export async function loadPagesAcross(
  baseUrl: string,
  action: () => unknown,
  { loops = 4, gapMs = 20, before = 30, after = 150, timeoutMs = 30_000 } = {},
): Promise<{ loads: PageLoad[]; afterAction: number }> {
  const loads: PageLoad[] = [];
  let acted = false;
  let startedAfter = 0;
  const loader = async () => {
    // Bounded by count: `before` completed loads, then `after` more started.
    for (let i = 0; i < before + after && startedAfter < after; i++) {
      const isAfter = acted;
      if (isAfter) startedAfter++;
      const t0 = performance.now();
      let status: number | string;
      try {
        const res = await fetch(`${baseUrl}/ssh/`, {
          headers: { cookie: `webssh_route=${randomBytes(12).toString('base64url')}` },
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.text();
        status = res.status;
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      }
      loads.push({ status, ms: Math.round(performance.now() - t0), after: isAfter });
      if (!acted && loads.length >= before) {
        acted = true;
        action();
      }
      await new Promise((r) => setTimeout(r, gapMs)); // the load's pace, not synchronisation
    }
  };
  await Promise.all(Array.from({ length: loops }, loader));
  return { loads, afterAction: loads.filter((l) => l.after).length };
}
