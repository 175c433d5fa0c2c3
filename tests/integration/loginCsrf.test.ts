/**
 * Login CSRF (issue 12, finding 7): a foreign page that auto-submits a form with the
 * attacker's credentials must not get a session (cookie or grant) in the victim's
 * browser. POST logins follow the same origin policy as the Socket.IO handshake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
const PORTAL = 'https://portal.example';

beforeAll(async () => {
  gw = await startGateway({ ALLOWED_ORIGINS: PORTAL });
});

afterAll(async () => {
  await gw?.close();
});

const attackerForm = new URLSearchParams({ host: '127.0.0.1', port: '22', username: 'attacker', password: 'attacker-pw' });

function post(path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', body: attackerForm, headers, redirect: 'manual' });
}

/** How many sessions (each would hold a grant) the store has. */
function storedSessions(): Promise<number> {
  return new Promise((resolve) => gw.store.length((_err: unknown, n?: number) => resolve(n ?? 0))); // MemoryStore never fails
}
const sessionCookie = (res: Response) => res.headers.getSetCookie().some((c) => c.startsWith('webssh_sid='));

describe('POST logins from another site', () => {
  for (const path of ['/ssh', '/ssh/host/box']) {
    it(`${path}: a foreign Origin gets ORIGIN_REJECTED, no cookie and no grant`, async () => {
      const before = await storedSessions();
      const res = await post(path, { origin: 'https://evil.example' });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'ORIGIN_REJECTED', retryable: false });
      expect(sessionCookie(res)).toBe(false);
      expect(await storedSessions()).toBe(before); // no grant stored
    });
  }

  it('without Origin, a foreign Referer is refused the same way', async () => {
    const res = await post('/ssh', { referer: 'https://evil.example/login.html' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ORIGIN_REJECTED' });
    expect(sessionCookie(res)).toBe(false);
  });

  it('the sandboxed-frame origin "null" is refused', async () => {
    const res = await post('/ssh', { origin: 'null' });
    expect(res.status).toBe(403);
  });

  it('the same origin, an ALLOWED_ORIGINS portal and origin-less clients still log in', async () => {
    for (const headers of [{ origin: gw.url }, { origin: PORTAL }, { referer: `${gw.url}/ssh` }, {}]) {
      const res = await post('/ssh', headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(sessionCookie(res)).toBe(true);
    }
  });
});
