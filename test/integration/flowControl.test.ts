/**
 * Render-ack flow control end to end against real OpenSSH: a client that stops acking
 * makes the gateway pause the SSH channel within the high watermark; acks resume it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW } from '../../src/shared/limits.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
let c: TerminalClient | undefined;

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
});

afterAll(async () => {
  c?.close();
  await gw?.close();
  await sshd?.close();
});

/** Resolves once no output has arrived for `quietMs` (the producer is paused). */
function quiet(client: TerminalClient, quietMs: number, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let last = client.received;
    const deadline = Date.now() + timeoutMs;
    const tick = setInterval(() => {
      if (client.received === last) {
        clearInterval(tick);
        resolve(last);
      } else if (Date.now() > deadline) {
        clearInterval(tick);
        reject(new Error('output never stopped'));
      }
      last = client.received;
    }, quietMs);
  });
}

describe('flow control', () => {
  it('pauses a flood within the high watermark and resumes on acks', async () => {
    c = new TerminalClient(gw.url, { record: false });
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await c.waitForState('connected');
    await c.waitForText('$'); // the prompt
    c.autoAck = false;
    c.ackPending();
    const base = c.received;
    c.send('cat /dev/urandom | base64\r');

    const stalled = await quiet(c, 500);
    const inFlight = stalled - base;
    const session = gw.gateway.registry.list()[0];
    // The server stops within one SSH packet (<= 32 KiB) past the high watermark.
    expect(inFlight).toBeGreaterThan(FLOW.highWatermark);
    expect(inFlight).toBeLessThanOrEqual(FLOW.highWatermark + 64 * 1024);
    expect(session?.flow.paused).toBe(true);
    expect(session?.flow.inFlight).toBe(inFlight);
    // What the gateway holds for a paused session: at most the SSH window ssh2 grants
    // (2 MiB, fixed) plus one read buffer; without the read-buffer cap it was 4 MiB.
    expect(session?.bufferedBytes).toBeLessThanOrEqual(2 * 1024 * 1024 + 96 * 1024);

    // Acks bring it back, and it keeps flowing while the client keeps acking.
    c.autoAck = true;
    c.ackPending();
    await c.waitFor('resumed output', () => c!.received > stalled + 4 * FLOW.highWatermark || undefined);
    expect(session?.flow.inFlight).toBeLessThanOrEqual(FLOW.highWatermark + 64 * 1024);

    c.send('\x03');
    c.send('echo FLOOD-$((2*21))-DONE\r');
    await c.waitForText('FLOOD-42-DONE', 10_000);
  });
});
