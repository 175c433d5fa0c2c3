/**
 * Issue 12 (part): the Socket.IO responses (polling, the WebSocket handshake, refusals)
 * carry the same security headers as the page, and the bundle's source map (the whole
 * client source) is not served.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCsp } from '../harness/csp.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.close();
});

function headersOf(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path, headers, agent: false });
    const done = (res: { statusCode?: number | undefined; headers: IncomingHttpHeaders }, drop: () => void) => {
      drop();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    };
    req.on('response', (res) => done(res, () => res.resume()));
    req.on('upgrade', (res, socket) => done(res, () => socket.destroy()));
    req.on('error', reject);
    req.end();
  });
}

/** What the page gets; the Socket.IO answers must match. */
function expectSecurityHeaders(h: IncomingHttpHeaders, what: string): void {
  expectCsp(String(h['content-security-policy']));
  expect(h['x-content-type-options'], what).toBe('nosniff');
  expect(h['x-frame-options'], what).toBe('DENY');
  expect(h['referrer-policy'], what).toBe('no-referrer');
  expect(h['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(h['strict-transport-security'], what).toBeUndefined(); // NGINX's job, on TLS only
}

describe('security headers', () => {
  it('the page keeps its exact CSP bytes', async () => {
    const page = await headersOf('/ssh');
    expectSecurityHeaders(page.headers, 'page');
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('Socket.IO polling, WebSocket handshake and a refused handshake carry them too', async () => {
    const polling = await headersOf('/ssh/socket.io/?EIO=4&transport=polling');
    expect(polling.status).toBe(200);
    expectSecurityHeaders(polling.headers, 'polling');
    const ws = await headersOf('/ssh/socket.io/?EIO=4&transport=websocket', {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    expect(ws.status).toBe(101);
    expectSecurityHeaders(ws.headers, 'websocket');
    const refused = await headersOf('/ssh/socket.io/?EIO=4&transport=polling', { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expectSecurityHeaders(refused.headers, 'refused');
  });
});

describe('source map', () => {
  it('is neither built nor referenced by default', async () => {
    expect((await fetch(`${gw.url}/ssh/assets/app.js.map`)).status).toBe(404);
    expect(await (await fetch(`${gw.url}/ssh/assets/app.js`)).text()).not.toContain('sourceMappingURL');
  });
});
