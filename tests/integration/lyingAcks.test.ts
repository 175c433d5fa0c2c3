/**
 * Issue 12 finding 3: a client that acks without reading. It acks a huge count every
 * 10 ms while `yes` runs on real sshd and never reads its connection. The gateway
 * must grant SSH window only for output its transport has handed to the kernel, so
 * what it holds stays within the output budget, as for an honest slow client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW } from '../../src/shared/limits.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { RawSocketIo } from '../harness/rawSocketIo.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';
import { queuedInTransport } from '../harness/transportQueue.js';

let sshd: TestSshd;
let gw: TestGateway;

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.close();
});

/** Long enough for an unbounded gateway to queue tens of MB of `yes` (it did 7 MB/s). */
const LYING_MS = 8_000;
/** The budget, plus room for one coalesced batch and the frames' own headers. */
const BOUND = FLOW.outputBudget + 1024 * 1024;
const HUGE_ACK = 1 << 30;

/** Acks `HUGE_ACK` every 10 ms for LYING_MS, then reports the most the gateway held. */
async function lieFor(ack: () => void): Promise<number> {
  let most = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      ack();
      most = Math.max(most, queuedInTransport(gw.gateway.io));
      if (Date.now() - started >= LYING_MS) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  return most;
}

function login(): { host: string; port: number; username: string; password: string } {
  return { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password };
}

describe.each([
  ['one process', false],
  ['the Redis adapter', true],
])('a client that acks without reading (%s)', (_name, withRedis) => {
  let redis: TestRedis | undefined;

  beforeAll(async () => {
    redis = withRedis ? await startRedis() : undefined;
    gw = await startGateway({ LOG_LEVEL: 'info', ...(redis && { REDIS_URL: redis.url }) });
    await gw.gateway.ready();
  });

  afterAll(async () => {
    await gw?.close();
    await redis?.close();
  });

  it('over WebSocket, with its TCP socket no longer read, gets at most the budget queued', async () => {
    const c = new TerminalClient(gw.url, { transport: 'websocket', record: false });
    try {
      c.start(login());
      await c.waitForState('connected');
      await c.waitForText('$');
      c.autoAck = false;
      c.send('yes\r');
      await c.waitFor('yes output', () => c.text.includes('y\r\ny\r\n') || undefined);
      // Stop reading: the kernel buffers fill, then only the gateway could hold more.
      const ws = (c.socket.io.engine.transport as unknown as { ws: { pause(): void } }).ws;
      ws.pause();
      const most = await lieFor(() => c.socket.emit('ack', HUGE_ACK));
      console.log(`websocket: most queued in the gateway's transport ${(most / 2 ** 20).toFixed(2)} MiB (bound ${(BOUND / 2 ** 20).toFixed(2)} MiB)`);
      expect(most).toBeLessThanOrEqual(BOUND);
    } finally {
      c.close();
    }
  });

  it('over long-polling, sending acks but never polling for output, gets at most the budget queued', async () => {
    const raw = await RawSocketIo.connect(gw.url);
    try {
      await raw.send(RawSocketIo.event('start', { auth: { kind: 'credentials', credentials: login() }, size: { cols: 80, rows: 24 } }));
      await raw.waitForEvent('status', (m) => (m as { state?: string }).state === 'connected');
      await raw.send(RawSocketIo.event('input', 'yes\r'));
      // From here on no GET: every output packet stays with the gateway.
      const most = await lieFor(() => void raw.send(RawSocketIo.event('ack', HUGE_ACK)).catch(() => undefined));
      console.log(`polling: most queued in the gateway's transport ${(most / 2 ** 20).toFixed(2)} MiB (bound ${(BOUND / 2 ** 20).toFixed(2)} MiB)`);
      expect(most).toBeLessThanOrEqual(BOUND);
    } finally {
      await raw.close();
    }
  });
});
