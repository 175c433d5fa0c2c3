/**
 * DNS rebinding (issue 12, finding 8): the attacker's name resolves to the gateway, so
 * the browser sends `Host: rebind.evil.example` and a matching Origin, which the
 * same-origin check alone accepts. With ALLOWED_HOSTS set, every route and both
 * Socket.IO transports refuse that Host; health checks by IP keep working.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
const NAME = 'gw.test';

beforeAll(async () => {
  gw = await startGateway({ ALLOWED_HOSTS: NAME });
});

afterAll(async () => {
  await gw?.close();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** node:http, because fetch() does not let a caller choose the Host header. */
function send(path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // A connection each: a refused request's unread body must not spoil the next one.
    const req = request({ host: '127.0.0.1', port: gw.port, path, method, headers, agent: false });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    // A WebSocket upgrade the server accepts: 101, nothing to read.
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
const POLL = '/ssh/socket.io/?EIO=4&transport=polling';
const WS = '/ssh/socket.io/?EIO=4&transport=websocket';

describe('a Host that is not in ALLOWED_HOSTS', () => {
  const evil = (port: number) => ({ host: `rebind.evil.example:${port}`, origin: `http://rebind.evil.example:${port}` });

  it('is refused on the page, the POST login and the assets with HOST_REJECTED', async () => {
    for (const [path, method] of [['/ssh', 'GET'], ['/ssh', 'POST'], ['/ssh/assets/app.js', 'GET']] as const) {
      const form = method === 'POST' ? 'host=127.0.0.1&username=u&password=p' : undefined;
      const res = await send(path, { ...evil(gw.port), 'content-type': 'application/x-www-form-urlencoded' }, method, form);
      expect(res.status, `${method} ${path}`).toBe(421);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'HOST_REJECTED', retryable: false });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('is refused on the Socket.IO handshake, long-polling and WebSocket', async () => {
    const polling = await send(POLL, evil(gw.port));
    expect(polling.status).toBe(421);
    expect(JSON.parse(polling.body)).toMatchObject({ code: 'HOST_REJECTED' });
    const ws = await send(WS, { ...evil(gw.port), ...upgrade });
    expect(ws.status).toBe(421);
    expect(JSON.parse(ws.body)).toMatchObject({ code: 'HOST_REJECTED' });
  });

  it('the listed name is served on every route and both transports', async () => {
    const good = { host: `${NAME}:${gw.port}`, origin: `http://${NAME}:${gw.port}` };
    expect((await send('/ssh', good)).status).toBe(200);
    expect((await send(POLL, good)).status).toBe(200);
    expect((await send(WS, { ...good, ...upgrade })).status).toBe(101);
  });

  it('health checks by IP keep answering (orchestrators probe the pod address)', async () => {
    expect((await send('/healthz', { host: `10.1.2.3:${gw.port}` })).status).toBe(200);
    expect((await send('/readyz', { host: `10.1.2.3:${gw.port}` })).status).toBe(200);
  });
});
