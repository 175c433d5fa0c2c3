/**
 * Issue 12 finding 6, one process: concurrent sessions per client address and per
 * process are capped (SESSION_LIMIT, retryable) while the admitted ones keep working,
 * and a socket that never starts a session is closed (START_TIMEOUT).
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

async function gateway(env: Record<string, string>): Promise<TestGateway> {
  // TRUST_PROXY lets one test machine play several client addresses (X-Forwarded-For).
  const g = await startGateway({ TRUST_PROXY: 'loopback', ...env });
  gateways.push(g);
  return g;
}

function client(g: TestGateway, address?: string): TerminalClient {
  const c = new TerminalClient(g.url, address ? { headers: { 'x-forwarded-for': address } } : {});
  clients.push(c);
  return c;
}

/** Starts a shell; resolves with the connected status or the refusal. */
async function shell(g: TestGateway, address?: string): Promise<TerminalClient> {
  const c = client(g, address);
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  await c.waitFor('connected or ended', () => c.statuses.find((s) => s.state === 'connected') ?? c.ended);
  return c;
}

async function echo(c: TerminalClient, word: string): Promise<void> {
  c.send(`echo ${word}-$((6*7))\r`);
  await c.waitForText(`${word}-42`);
}

describe('session limits', () => {
  it('refuses the N+1th session from one address with SESSION_LIMIT; the others keep working, other addresses are unaffected', async () => {
    const g = await gateway({ SESSIONS_PER_CLIENT: '2' });
    const [a, b] = [await shell(g, '203.0.113.7'), await shell(g, '203.0.113.7')];
    expect([a.ended, b.ended]).toEqual([undefined, undefined]);
    const third = await shell(g, '203.0.113.7');
    expect(third.ended).toMatchObject({ code: 'SESSION_LIMIT', retryable: true });
    expect(third.ended?.message).toContain('at most 2 sessions from your address');
    expect(third.statuses).toEqual([]); // refused before any SSH connection
    await echo(a, 'a');
    await echo(b, 'b');
    expect((await shell(g, '198.51.100.9')).ended).toBeUndefined(); // another address

    // Closing one frees its slot.
    a.send('exit\r');
    await a.waitForEnd();
    expect((await shell(g, '203.0.113.7')).ended).toBeUndefined();
  });

  it('refuses sessions beyond SESSIONS_PER_PROCESS whatever their address', async () => {
    const g = await gateway({ SESSIONS_PER_CLIENT: '0', SESSIONS_PER_PROCESS: '2' });
    const live = [await shell(g, '192.0.2.1'), await shell(g, '192.0.2.2')];
    const refused = await shell(g, '192.0.2.3');
    expect(refused.ended).toMatchObject({ code: 'SESSION_LIMIT', retryable: true });
    expect(refused.ended?.message).toContain('at most 2 sessions on this gateway process');
    for (const [i, c] of live.entries()) await echo(c, `p${i}`);
    expect(g.gateway.registry.size).toBe(2);
  });

  it('refuses sessions beyond SESSIONS_TOTAL (one process: the same count)', async () => {
    const g = await gateway({ SESSIONS_PER_CLIENT: '0', SESSIONS_TOTAL: '1' });
    const first = await shell(g, '192.0.2.10');
    const refused = await shell(g, '192.0.2.11');
    expect(refused.ended).toMatchObject({ code: 'SESSION_LIMIT' });
    expect(refused.ended?.message).toContain('at most 1 sessions on this gateway');
    await echo(first, 't');
  });

  it('closes sockets that start no session within SOCKET_START_TIMEOUT_SECONDS; a started one stays', async () => {
    const g = await gateway({ SOCKET_START_TIMEOUT_SECONDS: '1' });
    const bare = Array.from({ length: 20 }, () => client(g));
    const started = await shell(g);
    for (const c of bare) {
      expect(await c.waitForEnd()).toMatchObject({ code: 'START_TIMEOUT', retryable: true });
      await c.waitFor('disconnect', () => c.disconnectReason);
      expect(c.disconnectReason).toBe('io server disconnect');
    }
    // Every bare socket outlived the timeout; the one with a session is still working.
    await echo(started, 'kept');
    expect(g.gateway.io.of('/').sockets.size).toBe(1);
  });
});
