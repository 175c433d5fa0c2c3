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

type Session = ReturnType<TestGateway['gateway']['registry']['list']>[number];

/**
 * Resolves (with the bytes received so far) once the gateway holds the flood, judged by
 * its own counters: the SSH window is used up, every ack the client sent has been
 * credited, and every byte the gateway passed on has arrived. From then on the remote
 * cannot send a byte until the client acks. The gateway has no event for this state (an
 * ack it credits without granting window changes it with no output to follow), so its
 * counters are read every 20 ms; load only makes this later, never wrong.
 */
function held(client: TerminalClient, session: Session, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      const unacked = client.received - client.acked;
      if (session.flow.window === 0 && session.flow.inFlight === unacked) {
        clearInterval(poll);
        resolve(client.received);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`the gateway never held the flood within ${timeoutMs} ms: window=${session.flow.window} gateway in flight=${session.flow.inFlight} client unacked=${unacked}`));
      }
    };
    const poll = setInterval(check, 20);
  });
}

/** Quiet period after the hold: long enough for an unheld remote to send megabytes. */
const HOLD_CHECK_MS = 1_000;

/**
 * Asserts that nothing moves for HOLD_CHECK_MS while the client does not ack: no byte
 * leaves the gateway, none arrives. A timed window is the behaviour here (a negative
 * claim); a busy machine can only make it quieter, so it cannot flake, and the gateway's
 * counters above already decided when the hold began.
 */
async function expectStillHeld(client: TerminalClient, session: Session): Promise<void> {
  const before = { received: client.received, acked: client.acked, sent: session.flow.totals.sent };
  await new Promise((r) => setTimeout(r, HOLD_CHECK_MS));
  expect({ received: client.received, acked: client.acked, sent: session.flow.totals.sent }).toEqual(before);
  expect(session.flow.window).toBe(0);
}

describe('flow control', () => {
  it('holds a flood within the output budget, keeps nothing queued in the gateway, and shows the prompt right after Ctrl-C', async () => {
    c = new TerminalClient(gw.url, { record: false });
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await c.waitForState('connected');
    await c.waitForText('$'); // the prompt
    const session = gw.gateway.registry.list()[0];
    if (!session) throw new Error('no session in the registry');
    c.autoAck = false;
    c.ackPending();
    const base = c.received;
    c.send('cat /dev/urandom | base64\r');

    // With no acks the remote may send only the window already granted: <= the budget.
    const stalled = await held(c, session);
    const inFlight = stalled - base;
    expect(inFlight).toBeGreaterThan(FLOW.outputBudget - 2 * FLOW.minWindowGrant);
    expect(inFlight).toBeLessThanOrEqual(FLOW.outputBudget);
    expect(session.flow.inFlight + session.flow.window).toBeLessThanOrEqual(FLOW.outputBudget);
    // ssh2 alone would have opened a 2 MiB window and buffered it in the gateway.
    expect(session.bufferedBytes).toBe(0);
    await expectStillHeld(c, session);

    // Acks bring it back, and it keeps flowing within the budget while they continue.
    c.autoAck = true;
    c.ackPending();
    await c.waitFor('resumed output', () => c!.received > stalled + 4 * FLOW.outputBudget || undefined);
    expect(session.flow.inFlight).toBeLessThanOrEqual(FLOW.outputBudget);

    // A stalled client presses Ctrl-C, then renders what it has: the prompt follows
    // within one budget of output, because nothing else was queued anywhere.
    c.autoAck = false;
    c.ackPending();
    const stalledAgain = await held(c, session);
    await expectStillHeld(c, session);
    c.send('\x03');
    c.ackPending();
    c.autoAck = true;
    await c.waitForText(/\^C\r\n[^\n]*\$ $/, 10_000);
    expect(c.received - stalledAgain).toBeLessThanOrEqual(FLOW.outputBudget);
    c.send('echo FLOOD-$((2*21))-DONE\r');
    await c.waitForText('FLOOD-42-DONE', 10_000);
  });
});
