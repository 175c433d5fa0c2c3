/**
 * Each output event leaves the gateway in one TCP write over WebSocket. Socket.IO's own
 * format sends a binary event as a header frame and an attachment frame; written apart,
 * every echo crossed NGINX (and docker-proxy, and the browser's socket) as two segments
 * and woke each process twice. The gateway sends output as one bare frame instead
 * (shared/outputFrames.ts). Counted on the gateway's own TCP socket to the page: one
 * write per echoed keystroke, against two in Socket.IO's format.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
/** Writes handed to the kernel on the gateway's accepted sockets, while counting. */
let writes = 0;
let counting = false;

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
  gw.gateway.httpServer.on('connection', (socket: Socket) => {
    // Node calls _writev for a corked or queued batch, _write for a lone chunk.
    const s = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    for (const name of ['_write', '_writev'] as const) {
      const original = s[name].bind(s);
      s[name] = (...args: unknown[]) => {
        if (counting) writes++;
        original(...args);
      };
    }
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await sshd?.close();
});

describe('output over WebSocket', () => {
  it('an echoed keystroke reaches the page in one write, not two', async () => {
    const c = new TerminalClient(gw.url);
    try {
      c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
      await c.waitForState('connected');
      c.send("echo RE''ADY; exec cat\r");
      await c.waitForText('READY');
      let outputs = 0;
      c.socket.on('output', () => void outputs++);
      const keystrokes = 30;
      writes = 0;
      counting = true;
      for (let i = 0; i < keystrokes; i++) {
        const before = c.received;
        c.send('x');
        await c.waitFor('the echo of one keystroke', () => c.received > before, 5_000);
      }
      counting = false;
      // Each echo is one output event; the page's acks go the other way and cost no write.
      expect(outputs).toBeGreaterThanOrEqual(keystrokes);
      expect(writes).toBeLessThanOrEqual(outputs + 2);
    } finally {
      c.close();
    }
  });
});
