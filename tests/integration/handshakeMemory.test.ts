/**
 * Issue 11, heap per terminal: a live terminal does not keep the HTTP request its socket
 * was opened with. Socket.IO keeps that request for the connection's life, and engine.io's
 * WebSocket upgrade keeps it again through its stand-in response; with express-session on
 * it that was ~3.5 KB of heap per terminal (socket/handshakeFacts.ts). What the gateway
 * needs from it (grant session, browser cookie, client address) still works after.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let sshd: TestSshd;
let gateway: TestGateway;
let clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gateway = await startGateway();
});

afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

afterAll(async () => {
  await gateway?.close();
  await sshd?.close();
});

/** Every request to the Socket.IO path, held weakly. */
function watchSocketRequests(): WeakRef<IncomingMessage>[] {
  const refs: WeakRef<IncomingMessage>[] = [];
  const hold = (req: IncomingMessage) => void (req.url?.startsWith('/ssh/socket.io/') && refs.push(new WeakRef(req)));
  gateway.gateway.httpServer.prependListener('upgrade', hold);
  gateway.gateway.httpServer.prependListener('request', hold);
  return refs;
}

/** Requests still reachable after full collections (a WeakRef's target lives until its job ends). */
async function survivors(refs: WeakRef<IncomingMessage>[]): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

/** Until the socket runs over WebSocket (after a polling handshake, once the upgrade is done). */
function upgraded(c: TerminalClient): Promise<void> {
  const engine = c.socket.io.engine;
  return new Promise((resolve) => (engine.transport.name === 'websocket' ? resolve() : engine.once('upgrade', () => resolve())));
}

async function grantCookie(): Promise<string> {
  const login = { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password };
  const res = await fetch(`${gateway.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(login) });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

describe('a live terminal holds no handshake request', () => {
  it.each([
    ['WebSocket', 'websocket'],
    ['long-polling', 'polling'],
    ['polling, then upgraded to WebSocket', 'default'],
  ] as const)('%s: the requests are collected while the grant-started terminal works', async (_name, transport) => {
    const refs = watchSocketRequests();
    const c = new TerminalClient(gateway.url, { cookie: await grantCookie(), transport });
    clients.push(c);
    c.start('grant'); // the grant is found by the session id the handshake's cookie proved
    await c.waitForState('connected');
    if (transport === 'default') await upgraded(c); // the upgrade's own request is the one engine.io held
    expect(refs.length).toBeGreaterThan(0);
    expect(await survivors(refs)).toBe(0);
    c.send('echo handshake-$((6*7))\r');
    await c.waitForText(/handshake-42/);
  });
});
