/**
 * Graceful drain: new connections stop at once, live terminals keep working with a
 * deadline notice, and whatever is open at the deadline ends with SHUTTING_DOWN.
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

async function gateway(): Promise<TestGateway> {
  const g = await startGateway();
  gateways.push(g);
  return g;
}

async function live(g: TestGateway): Promise<TerminalClient> {
  const c = new TerminalClient(g.url);
  clients.push(c);
  c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
  await c.waitForState('connected');
  return c;
}

describe('drain', () => {
  // Deadlines are chosen per test: long where the session must still be alive while the
  // test acts on it (a loaded machine may take seconds for that), short where reaching the
  // deadline is the point. Only lower bounds are timed: load can delay an end, never
  // bring it forward.
  it('keeps live sessions working with a deadline notice, and refuses new ones', async () => {
    const DRAIN_MS = 60_000;
    const g = await gateway();
    const a = await live(g);
    const idle = new TerminalClient(g.url); // connected before the drain, no session yet
    clients.push(idle);
    await idle.waitFor('socket connect', () => idle.socket.connected || undefined);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

    const started = Date.now();
    const drained = g.gateway.drain(DRAIN_MS);
    const deadline = await a.waitFor('notice with a deadline', () => a.notices[0]?.deadline);
    expect(deadline).toBeGreaterThanOrEqual(started + DRAIN_MS);
    expect(deadline).toBeLessThanOrEqual(Date.now() + DRAIN_MS);
    expect(a.notices[0]?.message).toContain(new Date(deadline).toISOString());

    await expect(fetch(`${g.url}/readyz`)).rejects.toThrow(); // the listener is gone
    a.send('echo "still-$((2*3))"\r');
    await a.waitForText('still-6'); // the live terminal keeps working
    idle.start({ host: sshd.host, port: sshd.port, username: 'x', password: 'y' });
    expect(await idle.waitForEnd()).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
    expect(a.ended).toBeUndefined();
    expect(g.gateway.registry.size).toBe(1);

    a.send('exit\r'); // lets the drain finish (the next test times one that does not)
    await drained;
  });

  it('ends what is still open at the deadline with SHUTTING_DOWN, not before', async () => {
    const DRAIN_MS = 1_500;
    const g = await gateway();
    const a = await live(g);
    const started = Date.now();
    const drained = g.gateway.drain(DRAIN_MS);
    const deadline = await a.waitFor('notice with a deadline', () => a.notices[0]?.deadline);
    expect(a.ended).toBeUndefined();
    expect(await a.waitForEnd(15_000)).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
    // 50 ms: Node's timers run on a coarser clock than Date.now() and may fire a hair early.
    const endedAt = Date.now();
    expect(endedAt - started).toBeGreaterThanOrEqual(DRAIN_MS - 50);
    expect(endedAt).toBeGreaterThanOrEqual(deadline - 50); // the deadline the user was told
    await drained;
    expect(g.gateway.registry.size).toBe(0);
  });

  it('finishes as soon as the last session ends on its own', async () => {
    const g = await gateway();
    const a = await live(g);
    const started = Date.now();
    const drained = g.gateway.drain(60_000);
    await a.waitFor('notice', () => a.notices[0]);
    a.send('exit\r');
    await drained;
    expect(Date.now() - started).toBeLessThan(20_000); // a third of the deadline: it did not wait for it
    expect(a.ended?.code).toBe('REMOTE_CLOSED');
  });
});
