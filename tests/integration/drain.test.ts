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
  it('keeps live sessions to the deadline, refuses new ones, then ends them with a reason', async () => {
    const g = await gateway();
    const a = await live(g);
    const idle = new TerminalClient(g.url); // connected before the drain, no session yet
    clients.push(idle);
    await idle.waitFor('socket connect', () => idle.socket.connected || undefined);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

    const started = Date.now();
    const drained = g.gateway.drain(2500);
    await a.waitFor('notice', () => a.notices[0]);
    expect(a.notices[0]?.deadline).toBeGreaterThanOrEqual(started + 2500);
    expect(a.notices[0]?.deadline).toBeLessThan(started + 4000);

    await expect(fetch(`${g.url}/readyz`)).rejects.toThrow(); // the listener is gone
    a.send('echo "still-$((2*3))"\r');
    await a.waitForText('still-6'); // the live terminal keeps working
    idle.start({ host: sshd.host, port: sshd.port, username: 'x', password: 'y' });
    expect(await idle.waitForEnd()).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });

    expect(await a.waitForEnd(10_000)).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
    await drained;
  });

  it('finishes as soon as the last session ends on its own', async () => {
    const g = await gateway();
    const a = await live(g);
    const started = Date.now();
    const drained = g.gateway.drain(60_000);
    await a.waitFor('notice', () => a.notices[0]);
    a.send('exit\r');
    await drained;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(a.ended?.code).toBe('REMOTE_CLOSED');
  });
});
