/**
 * HTTP entry points: the page, webssh2-compatible POST and Basic-auth logins handing
 * credentials over as a one-time sealed grant, the origin check, the base path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCsp } from '../harness/csp.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  await sshd?.close();
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
/** The value of the cookie `name` this response sets, if it sets one. */
const setCookieValue = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .map((c) => /^([^=;]+)=([^;]*)/.exec(c))
    .find((m) => m?.[1] === name)?.[2];
const pageConfig = (html: string) => JSON.parse((/name="webssh-config" content="([^"]*)"/.exec(html)?.[1] ?? '').replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&#60;/g, '<').replace(/&#62;/g, '>').replace(/&#38;/g, '&')) as Record<string, unknown>;

function client(opts: ConstructorParameters<typeof TerminalClient>[1] = {}): TerminalClient {
  const c = new TerminalClient(gw.url, opts);
  clients.push(c);
  return c;
}

describe('the page', () => {
  it('GET /ssh serves the login form with relative URLs and a strict CSP', async () => {
    const res = await fetch(`${gw.url}/ssh`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const name of ['host', 'port', 'username', 'password', 'privateKey', 'passphrase']) expect(html).toContain(`name="${name}"`);
    expect(html).toContain('src="ssh/assets/app.js"');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
    expectCsp(res.headers.get('content-security-policy')); // every directive, exactly
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(pageConfig(html)).toMatchObject({ root: 'ssh/', mode: 'form' });
    const asset = await fetch(`${gw.url}/ssh/assets/app.js`);
    expect(asset.status).toBe(200);
    expectCsp(asset.headers.get('content-security-policy'));
  });

  it('prefills from the query string and escapes what it echoes', async () => {
    const html = await (await fetch(`${gw.url}/ssh/?host=box.example&port=2200&username=%22%3E%3Cb%3E`)).text();
    expect(pageConfig(html)).toMatchObject({ root: './', prefill: { host: 'box.example', port: 2200, username: '"><b>' } });
    expect(html).not.toContain('"><b>');
  });

  it('serves under a custom base path', async () => {
    const g = await startGateway({ BASE_PATH: '/tools/ssh' });
    try {
      const html = await (await fetch(`${g.url}/tools/ssh/host/box`, { headers: { authorization: basic('u', 'p') } })).text();
      expect(pageConfig(html)).toMatchObject({ root: '../', mode: 'grant' });
      expect((await fetch(`${g.url}/ssh`)).status).toBe(404);
      const c = new TerminalClient(g.url, { basePath: '/tools/ssh' });
      clients.push(c);
      await c.waitFor('socket connect', () => c.socket.connected || undefined);
    } finally {
      await g.close();
    }
  });
});

describe('routing cookie and admin endpoint', () => {
  it('the page sets the routing cookie NGINX hashes on, once, before any socket exists', async () => {
    const first = await fetch(`${gw.url}/ssh/`);
    const set = first.headers.getSetCookie().find((c) => c.startsWith('webssh_route='));
    expect(set).toMatch(/^webssh_route=[A-Za-z0-9_-]{16}; Path=\/ssh; HttpOnly; SameSite=Lax$/);
    // And the browser cookie a resume must come with (issue 13): random, HttpOnly, once.
    const browser = first.headers.getSetCookie().find((c) => c.startsWith('webssh_browser='));
    expect(browser).toMatch(/^webssh_browser=[A-Za-z0-9_-]{43}; Path=\/ssh; HttpOnly; SameSite=Lax$/);
    const again = await fetch(`${gw.url}/ssh/`, { headers: { cookie: `${set!.split(';')[0]!}; ${browser!.split(';')[0]!}` } });
    expect(again.headers.getSetCookie()).toEqual([]);
  });

  it('has no admin endpoint unless ADMIN_TOKEN is configured', async () => {
    const res = await fetch(`${gw.url}/ssh/admin/sessions`, { headers: { authorization: 'Bearer whatever' } });
    expect(res.status).toBe(404);
  });

  it('with a token: 401 without it, validated input, and lists sessions in single-process mode', async () => {
    const token = 'admin-token-that-is-long-enough-0123456789';
    const g = await startGateway({ ADMIN_TOKEN: token });
    try {
      const call = (method: string, path: string, auth: string | undefined, body?: unknown) =>
        fetch(`${g.url}/ssh/admin${path}`, {
          method,
          headers: { ...(auth && { authorization: auth }), 'content-type': 'application/json' },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      expect((await call('GET', '/sessions', undefined)).status).toBe(401);
      expect((await call('GET', '/sessions', `Bearer ${token}x`)).status).toBe(401);
      expect(await (await call('GET', '/sessions', `Bearer ${token}`)).json()).toEqual({ sessions: [], nodes: 1, incomplete: false });
      expect((await call('POST', '/notice', `Bearer ${token}`, { message: '' })).status).toBe(400);
      expect((await call('POST', '/notice', `Bearer ${token}`, { message: 'x'.repeat(501) })).status).toBe(400);
      expect((await call('DELETE', '/sessions/not-a-uuid', `Bearer ${token}`)).status).toBe(400);
      expect(g.logs.join('\n')).not.toContain(token);
    } finally {
      await g.close();
    }
  });
});

describe('credential handover', () => {
  it('GET /ssh/host/:host without credentials asks for Basic auth', async () => {
    const res = await fetch(`${gw.url}/ssh/host/${sshd.host}?port=${sshd.port}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="WebSSH"/);
    expect(await res.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('Basic credentials become a one-time grant that connects, sealed in the store', async () => {
    const { username, password } = sshd.users.password;
    const res = await fetch(`${gw.url}/ssh/host/${sshd.host}?port=${sshd.port}`, { headers: { authorization: basic(username, password) } });
    expect(res.status).toBe(200);
    expect(pageConfig(await res.text())).toMatchObject({ mode: 'grant', reloadReconnects: true, prefill: { host: sshd.host, port: sshd.port, username } });
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/(^|; )webssh_sid=/);
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    const sessions = JSON.stringify(await new Promise((r) => gw.store.all((_e, all) => r(all))));
    const grants = JSON.stringify(gw.grants.list());
    expect(grants).toContain('"data"'); // sealed: ciphertext only
    expect(sessions + grants).not.toContain(password);

    const c = client({ cookie });
    c.start('grant');
    await c.waitForState('connected');
    c.send('echo GRANT-$((40+2))\r');
    await c.waitForText('GRANT-42');

    const replay = client({ cookie });
    replay.start('grant');
    expect(await replay.waitForEnd()).toMatchObject({ code: 'CREDENTIALS_MISSING' });
    expect(gw.logs.join('\n')).not.toContain(password);
  });

  it('POST /ssh (JSON) and POST /ssh/host/:host (form) open the page already connecting, with a new session id', async () => {
    const { username, password } = sshd.users.password;
    const first = await fetch(`${gw.url}/ssh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ host: sshd.host, port: sshd.port, username, password }),
    });
    expect(first.status).toBe(200);
    const cookie1 = cookieOf(first);
    const sid1 = setCookieValue(first, 'webssh_sid');
    expect(sid1).toBeDefined();
    const second = await fetch(`${gw.url}/ssh/host/${sshd.host}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie1 },
      body: new URLSearchParams({ port: String(sshd.port), username, password }).toString(),
    });
    // Only the session cookie matters here (the first response also set the route cookie).
    // No new Set-Cookie would mean the browser keeps the old id: that counts as "same".
    const sid2 = setCookieValue(second, 'webssh_sid') ?? sid1;
    expect(sid2).not.toBe(sid1); // regenerated on login
    const c = client({ cookie: `webssh_sid=${sid2}` });
    c.start('grant');
    await c.waitForState('connected');
  });

  it('SESSION_COOKIE_NAME names the session cookie, and a login works with it', async () => {
    const g = await startGateway({ SESSION_COOKIE_NAME: 'corp_webssh-1' });
    try {
      const { username, password } = sshd.users.password;
      const res = await fetch(`${g.url}/ssh/host/${sshd.host}?port=${sshd.port}`, { headers: { authorization: basic(username, password) } });
      expect(res.status).toBe(200);
      const names = res.headers.getSetCookie().map((c) => c.split('=')[0]);
      expect(names).toContain('corp_webssh-1');
      expect(names).not.toContain('webssh_sid');
      const sid = setCookieValue(res, 'corp_webssh-1');
      // Only that cookie goes back: the grant must be found through it.
      const c = new TerminalClient(g.url, { cookie: `corp_webssh-1=${sid}` });
      clients.push(c);
      c.start('grant');
      await c.waitForState('connected');
      c.send('echo NAMED-$((40+2))\r');
      await c.waitForText('NAMED-42');
    } finally {
      await g.close();
    }
  });

  it('rejects malformed logins with 400 and a code', async () => {
    const res = await fetch(`${gw.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ host: 'a b', port: 'x' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_REQUEST', retryable: false });
    const broken = await fetch(`${gw.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(broken.status).toBe(400);
  });
});

describe('origin check', () => {
  it('refuses a WebSocket from a foreign origin and accepts the same origin', async () => {
    const evil = client({ origin: 'http://evil.example' });
    await evil.waitFor('connect_error', () => evil.connectError);
    expect(evil.socket.connected).toBe(false);
    const same = client({ origin: gw.url });
    await same.waitFor('connect', () => same.socket.connected || undefined);
    const polling = client({ origin: 'http://evil.example', transport: 'polling' });
    await polling.waitFor('connect_error', () => polling.connectError);
  });
});
