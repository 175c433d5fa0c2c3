/**
 * Logging in through the gateway to a real OpenSSH sshd with every supported method.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  await sshd?.close();
});

function client(): TerminalClient {
  const c = new TerminalClient(gw.url);
  clients.push(c);
  return c;
}

async function runsCommand(c: TerminalClient): Promise<void> {
  await c.waitForState('connected');
  c.send('echo "sum=$((6*7))" && whoami\r');
  await c.waitForText(/sum=42/);
}

describe('authentication against real OpenSSH', () => {
  it('password', async () => {
    const c = client();
    const { username, password } = sshd.users.password;
    c.start({ host: sshd.host, port: sshd.port, username, password });
    await runsCommand(c);
    const connected = c.statuses.find((s) => s.state === 'connected');
    expect(connected?.target).toEqual({ username, host: sshd.host, port: sshd.port });
    expect(connected?.hostKey).toBe(sshd.hostKeyFingerprint);
  });

  it.each(['ed25519', 'rsa'] as const)('publickey %s without passphrase', async (kind) => {
    const c = client();
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.keys.username, privateKey: sshd.users.keys[kind] });
    await runsCommand(c);
  });

  it('publickey ecdsa with passphrase', async () => {
    const c = client();
    const { key, passphrase } = sshd.users.keys.ecdsaEncrypted;
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.keys.username, privateKey: key, passphrase });
    await runsCommand(c);
  });

  it('an encrypted key with a wrong passphrase is KEY_INVALID, not a crash', async () => {
    const c = client();
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.keys.username, privateKey: sshd.users.keys.ecdsaEncrypted.key, passphrase: 'wrong' });
    expect(await c.waitForEnd()).toMatchObject({ code: 'KEY_INVALID', retryable: false });
  });

  it('keyboard-interactive with two rounds of prompts (password, then an echoed code)', async () => {
    const c = client();
    const { username, password, otp } = sshd.users.kbd;
    c.start({ host: sshd.host, port: sshd.port, username });
    await c.waitFor('first prompt', () => c.kbdPrompts[0]);
    expect(c.kbdPrompts[0]?.prompts).toEqual([{ prompt: expect.stringMatching(/password/i) as unknown, echo: false }]);
    c.socket.emit('kbdAnswers', [password]);
    await c.waitFor('second prompt', () => c.kbdPrompts[1]);
    expect(c.kbdPrompts[1]?.prompts).toEqual([{ prompt: expect.stringMatching(/code/i) as unknown, echo: true }]);
    c.socket.emit('kbdAnswers', [otp]);
    await runsCommand(c);
  });

  it('keyboard-interactive answers the password round from the form password', async () => {
    const c = client();
    const { username, password, otp } = sshd.users.kbd;
    c.start({ host: sshd.host, port: sshd.port, username, password });
    await c.waitFor('code prompt', () => c.kbdPrompts.find((p) => p.prompts.some((q) => q.echo)));
    expect(c.kbdPrompts).toHaveLength(1);
    c.socket.emit('kbdAnswers', [otp]);
    await runsCommand(c);
  });

  it('a wrong password ends with AUTH_FAILED and leaks nothing into the logs', async () => {
    const c = client();
    const secret = 'definitely-wrong-password-7781';
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: secret });
    const end = await c.waitForEnd();
    expect(end).toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    expect(gw.logs.join('\n')).not.toContain(secret);
    expect(gw.logs.join('\n')).not.toContain(sshd.users.password.password);
  });
});
