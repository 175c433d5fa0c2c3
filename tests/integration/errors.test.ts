/**
 * Every failure a user can meet reaches the client as a stable code, and none of them
 * hurts the process or other sessions.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKnownHosts } from '../../src/server/core/hostKeyPolicy.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { freePort } from '../../src/tools/ports.js';
import { startScriptedServer, type ScriptedServer } from '../harness/scriptedSshServer.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
let witness: TerminalClient;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway({ SSH_READY_TIMEOUT_MS: '1500', SSH_ALLOWED_TARGETS: '127.0.0.1:*,localhost:*' });
  // A live session that must survive every failure below.
  witness = new TerminalClient(gw.url);
  witness.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
  await witness.waitForState('connected');
});

afterAll(async () => {
  witness?.close();
  for (const c of closers.reverse()) await c();
  await gw?.close();
  await sshd?.close();
});

async function endOf(url: string, creds: Parameters<TerminalClient['start']>[0]): Promise<ErrorInfo> {
  const c = new TerminalClient(url);
  closers.push(() => c.close());
  c.start(creds);
  return c.waitForEnd();
}

describe('errors reach the page with a stable code', () => {
  it('connection refused', async () => {
    const port = await freePort();
    expect(await endOf(gw.url, { host: '127.0.0.1', port, username: 'u', password: 'p' })).toMatchObject({ code: 'CONNECTION_REFUSED', retryable: true });
  });

  it('DNS failure', async () => {
    const g = await startGateway({}, { lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) });
    closers.push(() => g.close());
    expect(await endOf(g.url, { host: 'no-such-host.invalid', port: 22, username: 'u', password: 'p' })).toMatchObject({ code: 'DNS_FAILED', retryable: false });
  });

  it('a target outside the policy is refused before any connection', async () => {
    const g = await startGateway({ SSH_ALLOWED_TARGETS: '10.0.0.0/8' });
    closers.push(() => g.close());
    const end = await endOf(g.url, { host: sshd.host, port: sshd.port, username: 'u', password: 'p' });
    expect(end).toMatchObject({ code: 'TARGET_NOT_ALLOWED', retryable: false });
  });

  it('a hostname is resolved once and the connection goes to the checked address', async () => {
    const looked: string[] = [];
    const g = await startGateway({ SSH_ALLOWED_TARGETS: '127.0.0.1:*' }, { lookup: (h) => (looked.push(h), Promise.resolve('127.0.0.1')) });
    closers.push(() => g.close());
    const c = new TerminalClient(g.url);
    closers.push(() => c.close());
    c.start({ host: 'ssh.test.invalid', port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await c.waitForState('connected');
    expect(looked).toEqual(['ssh.test.invalid']);
  });

  it('handshake timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s)); // accepts, never speaks
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), silent.close(r))));
    const port = (silent.address() as { port: number }).port;
    expect(await endOf(gw.url, { host: '127.0.0.1', port, username: 'u', password: 'p' })).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });

  it('host key mismatch against a pin', async () => {
    const g = await startGateway({ SSH_HOST_KEYS: `127.0.0.1:${sshd.port}=SHA256:${'A'.repeat(43)}` });
    closers.push(() => g.close());
    const end = await endOf(g.url, { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    expect(end).toMatchObject({ code: 'HOST_KEY_REJECTED', retryable: false });
    expect(end.message).toContain(sshd.hostKeyFingerprint);
  });

  it('a changed host key is refused (trust on first use), and strict mode refuses unpinned hosts', async () => {
    const knownHosts = new MemoryKnownHosts();
    // The record says this host:port had another key: what a man-in-the-middle looks like.
    await knownHosts.remember(`127.0.0.1:${sshd.port}`, `SHA256:${'B'.repeat(43)}`);
    const g = await startGateway({}, { knownHosts });
    closers.push(() => g.close());
    const creds = { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password };
    const changed = await endOf(g.url, creds);
    expect(changed).toMatchObject({ code: 'HOST_KEY_REJECTED', message: expect.stringContaining('changed') as unknown });
    const strict = await startGateway({ SSH_HOST_KEY_POLICY: 'strict' });
    closers.push(() => strict.close());
    expect(await endOf(strict.url, creds)).toMatchObject({ code: 'HOST_KEY_REJECTED' });
    const pinned = await startGateway({ SSH_HOST_KEY_POLICY: 'strict', SSH_HOST_KEYS: `127.0.0.1:${sshd.port}=${sshd.hostKeyFingerprint}` });
    closers.push(() => pinned.close());
    const c = new TerminalClient(pinned.url);
    closers.push(() => c.close());
    c.start(creds);
    await c.waitForState('connected');
  });

  it('algorithm mismatch', async () => {
    const legacy: ScriptedServer = await startScriptedServer({ algorithms: { kex: ['diffie-hellman-group1-sha1'] } });
    closers.push(() => legacy.close());
    expect(await endOf(gw.url, { host: '127.0.0.1', port: legacy.port, username: 'u', password: 'pw' })).toMatchObject({ code: 'ALGORITHM_MISMATCH', retryable: false });
  });

  it('a channel dropped mid-stream ends the session as REMOTE_CLOSED', async () => {
    const dropper = await startScriptedServer({
      banner: 'Authorized use only\n',
      onShell: (stream) => {
        stream.write('partial output then the channel dies\r\n');
        setImmediate(() => stream.destroy());
      },
    });
    closers.push(() => dropper.close());
    const c = new TerminalClient(gw.url);
    closers.push(() => c.close());
    c.start({ host: '127.0.0.1', port: dropper.port, username: 'u', password: 'pw' });
    const end = await c.waitForEnd();
    expect(end.code).toBe('REMOTE_CLOSED');
    expect(c.text).toContain('Authorized use only'); // the pre-auth banner reached the terminal
  });

  it('the witness session survived all of the above', async () => {
    witness.send('echo WITNESS-$((20+22))\r');
    await witness.waitForText('WITNESS-42');
    expect(witness.ended).toBeUndefined();
  });
});
