/**
 * Render-ack flow control end to end against real OpenSSH: the SSH window follows the
 * client's acks, so a client that stops acking stops the remote program itself.
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

/** Resolves once no output has arrived for `quietMs` (the remote is out of SSH window). */
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
  it('holds a flood within the output budget, keeps nothing queued in the gateway, and shows the prompt right after Ctrl-C', async () => {
    c = new TerminalClient(gw.url, { record: false });
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await c.waitForState('connected');
    await c.waitForText('$'); // the prompt
    c.autoAck = false;
    c.ackPending();
    const base = c.received;
    c.send('cat /dev/urandom | base64\r');

    // With no acks the remote may send only the window already granted: <= the budget.
    const stalled = await quiet(c, 500);
    const inFlight = stalled - base;
    const session = gw.gateway.registry.list()[0];
    expect(inFlight).toBeGreaterThan(FLOW.outputBudget - 2 * FLOW.minWindowGrant);
    expect(inFlight).toBeLessThanOrEqual(FLOW.outputBudget);
    expect(session?.flow.window).toBe(0);
    expect((session?.flow.inFlight ?? 0) + (session?.flow.window ?? 0)).toBeLessThanOrEqual(FLOW.outputBudget);
    // ssh2 alone would have opened a 2 MiB window and buffered it in the gateway.
    expect(session?.bufferedBytes).toBe(0);

    // Acks bring it back, and it keeps flowing within the budget while they continue.
    c.autoAck = true;
    c.ackPending();
    await c.waitFor('resumed output', () => c!.received > stalled + 4 * FLOW.outputBudget || undefined);
    expect(session?.flow.inFlight).toBeLessThanOrEqual(FLOW.outputBudget);

    // A stalled client presses Ctrl-C, then renders what it has: the prompt follows
    // within one budget of output, because nothing else was queued anywhere.
    c.autoAck = false;
    c.ackPending();
    const stalledAgain = await quiet(c, 500);
    c.send('\x03');
    c.ackPending();
    c.autoAck = true;
    await c.waitForText(/\^C\r\n[^\n]*\$ $/, 10_000);
    expect(c.received - stalledAgain).toBeLessThanOrEqual(FLOW.outputBudget);
    c.send('echo FLOOD-$((2*21))-DONE\r');
    await c.waitForText('FLOOD-42-DONE', 10_000);
  });
});
