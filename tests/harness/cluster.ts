/**
 * Helpers for tests against a running stack (NGINX + PM2 workers + Redis): get the page
 * (and with it the routing cookie) as a browser would, open shells, call the admin API.
 */
import type { SessionListing } from '../../src/shared/admin.js';
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
