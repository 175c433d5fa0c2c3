// Self-test of the real-sshd harness: every auth method the gateway tests rely on works
// against Debian's OpenSSH through the ssh2 client.
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { Client } from 'ssh2';
import type { ConnectConfig, Prompt } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd } from '../harness/sshd.js';
import type { TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  const t0 = performance.now();
  sshd = await startSshd();
  console.log(`startSshd took ${Math.round(performance.now() - t0)} ms (port ${sshd.port})`);
});

afterAll(async () => {
  await sshd?.close();
});

interface Round {
  prompts: Prompt[];
}

/** Connect and authenticate; `answer` replies to keyboard-interactive rounds, which are recorded. */
function login(cfg: ConnectConfig, answer?: (prompts: Prompt[]) => string[], rounds: Round[] = []): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', (err) => {
      client.end();
      reject(err);
    });
    client.on('ready', () => resolve(client));
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
      rounds.push({ prompts: prompts.map((p) => ({ ...p })) });
      finish(answer ? answer(prompts) : []);
    });
    client.connect({ host: sshd.host, port: sshd.port, readyTimeout: 10_000, ...cfg });
  });
}

function exec(client: Client, command: string): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.resume();
      stream.on('close', (code: number | null) => resolve({ stdout, code }));
    });
  });
}

async function loginAndEcho(cfg: ConnectConfig): Promise<void> {
  const client = await login(cfg);
  try {
    expect(await exec(client, 'echo hello; id -un')).toEqual({ stdout: `hello\n${String(cfg.username)}\n`, code: 0 });
  } finally {
    client.end();
  }
}

describe('real sshd harness', () => {
  it('password login runs a command; the host key fingerprint matches', async () => {
    const { username, password } = sshd.users.password;
    const seen: string[] = [];
    await loginAndEcho({
      username,
      password,
      hostHash: 'sha256',
      hostVerifier: (hash: string) => (seen.push(hash), true),
    });
    expect(seen).toEqual([sshd.hostKeySha256Hex]);
    expect(sshd.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(Buffer.from(sshd.hostKeySha256Hex, 'hex').toString('base64').replace(/=+$/, '')).toBe(
      sshd.hostKeyFingerprint.slice('SHA256:'.length),
    );
  });

  it.each(['ed25519', 'ecdsa', 'rsa'] as const)('publickey login with %s', async (type) => {
    const { keys } = sshd.users;
    const key =
      type === 'ecdsa'
        ? { privateKey: keys.ecdsaEncrypted.key, passphrase: keys.ecdsaEncrypted.passphrase }
        : { privateKey: keys[type] };
    const rawKeys: Buffer[] = [];
    await loginAndEcho({ username: keys.username, ...key, hostVerifier: (k: Buffer) => (rawKeys.push(k), true) });
    expect(rawKeys).toEqual([sshd.hostKey]);
  });

  it('keyboard-interactive gives two rounds: password (echo off), then code (echo on)', async () => {
    const { username, password, otp } = sshd.users.kbd;
    const rounds: Round[] = [];
    const client = await login({ username, tryKeyboard: true }, (p) => [p[0]?.echo ? otp : password], rounds);
    try {
      expect(rounds).toEqual([
        { prompts: [{ prompt: 'Password: ', echo: false }] },
        { prompts: [{ prompt: 'Verification code: ', echo: true }] },
      ]);
      expect((await exec(client, 'id -un')).stdout).toBe(`${username}\n`);
    } finally {
      client.end();
    }
  });

  it('rejects a wrong password, a wrong code, and the 2fa user over plain password auth', async () => {
    const { password, kbd } = sshd.users;
    await expect(login({ username: password.username, password: 'wrong' })).rejects.toMatchObject({
      level: 'client-authentication',
    });
    await expect(
      login({ username: kbd.username, tryKeyboard: true }, (p) => [p[0]?.echo ? '000000' : kbd.password]),
    ).rejects.toMatchObject({ level: 'client-authentication' });
    await expect(login({ username: kbd.username, password: kbd.password })).rejects.toMatchObject({
      level: 'client-authentication',
    });
  });

  it('close() stops sshd with its connections and removes the temp dir', async () => {
    const { username, password } = sshd.users.password;
    const client = await login({ username, password });
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await sshd.close();
    await closed; // the per-connection sshd was killed too
    expect(existsSync(sshd.dir)).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        const sock = tcpConnect({ host: sshd.host, port: sshd.port });
        sock.on('connect', () => (sock.destroy(), resolve('connected')));
        sock.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
