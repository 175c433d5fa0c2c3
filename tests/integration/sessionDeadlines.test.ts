/**
 * Issue 12 finding 6: the idle timeout (no input and no output) and the maximum
 * lifetime each warn the page with a deadline notice, then end the session with their
 * code; input or output resets the idle clock. Only lower bounds are timed: load can
 * delay an end, never bring it forward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
const clients: TerminalClient[] = [];
const gateways: TestGateway[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const g of gateways) await g.close();
  await sshd?.close();
});

/** 50 ms: Node's timers run on a coarser clock than Date.now() and may fire a hair early. */
const EARLY_MS = 50;

async function live(env: Record<string, string>): Promise<TerminalClient> {
  const g = await startGateway(env);
  gateways.push(g);
  const c = new TerminalClient(g.url);
  clients.push(c);
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  await c.waitForState('connected');
  return c;
}

const deadlineNotice = (c: TerminalClient, after = 0) => c.waitFor(`a notice with a deadline after ${after}`, () => c.notices.find((n) => (n.deadline ?? 0) > after));

describe('session deadlines', () => {
  it('an idle session gets a notice with the deadline, then ends with IDLE_TIMEOUT', async () => {
    const c = await live({ SESSION_IDLE_TIMEOUT_SECONDS: '3' });
    const notice = await deadlineNotice(c);
    expect(notice.message).toContain('No input or output');
    expect(c.ended).toBeUndefined();
    expect(await c.waitForEnd()).toMatchObject({ code: 'IDLE_TIMEOUT', retryable: true });
    expect(Date.now()).toBeGreaterThanOrEqual(notice.deadline! - EARLY_MS);
  });

  it('input after the notice resets the idle clock', async () => {
    const c = await live({ SESSION_IDLE_TIMEOUT_SECONDS: '3' });
    const first = await deadlineNotice(c);
    c.send('echo "back-$((2*3))"\r');
    await c.waitForText('back-6');
    await c.waitFor('the reset notice', () => c.notices.find((n) => n.message.startsWith('Activity resumed')));
    const second = await deadlineNotice(c, first.deadline);
    expect(c.ended).toBeUndefined(); // the first deadline passed without an end
    expect(await c.waitForEnd()).toMatchObject({ code: 'IDLE_TIMEOUT' });
    expect(Date.now()).toBeGreaterThanOrEqual(second.deadline! - EARLY_MS);
  });

  it('output alone keeps a session alive past the idle timeout', async () => {
    const c = await live({ SESSION_IDLE_TIMEOUT_SECONDS: '3' });
    const sent = Date.now();
    // One line a second for 6 s, twice the timeout, with no input after this one.
    c.send('for i in 1 2 3 4 5 6; do sleep 1; echo "tick-$((i*10))"; done\r');
    await c.waitForText('tick-60', 30_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(3000);
    expect(c.ended).toBeUndefined();
    expect(await c.waitForEnd()).toMatchObject({ code: 'IDLE_TIMEOUT' });
  });

  it('SESSION_MAX_SECONDS ends even a busy session with a notice first, then SESSION_EXPIRED', async () => {
    const c = await live({ SESSION_MAX_SECONDS: '3', SESSION_IDLE_TIMEOUT_SECONDS: '0' });
    const notice = await deadlineNotice(c);
    expect(notice.message).toContain('maximum lifetime');
    c.send('echo "busy-$((2*3))"\r'); // activity does not move this deadline
    await c.waitForText('busy-6');
    expect(await c.waitForEnd()).toMatchObject({ code: 'SESSION_EXPIRED', retryable: true });
    expect(Date.now()).toBeGreaterThanOrEqual(notice.deadline! - EARLY_MS);
  });
});
