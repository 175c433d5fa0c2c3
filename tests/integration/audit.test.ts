/**
 * The audit trail as `npm start` writes it (issue 15): the built entry point with
 * AUDIT_LOG_FILE, real OpenSSH, and a scripted scenario: a good login, a wrong password,
 * a pinned host key that does not match, an operator listing and terminating. Each event
 * appears once with its fields, in its own file; no password or token anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guard } from '../../src/tools/reaper.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
const ADMIN_TOKEN = 'audit-admin-token-0123456789abcdef-XYZ';
const WRONG_PASSWORD = 'not-the-password-Q7v9';

let sshd: TestSshd;
let dir: string;
let proc: ChildProcess;
let stdout = '';
let base: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'webssh-audit-'));
  proc = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      LISTEN_HOST: '127.0.0.1',
      SSH_ALLOWED_TARGETS: '127.0.0.1:*,localhost:*',
      // Reached as "localhost", the target must show a key it does not have.
      SSH_HOST_KEYS: `localhost:${sshd.port}=SHA256:${'A'.repeat(43)}`,
      ADMIN_TOKEN,
      LOGIN_FAILURES_PER_ACCOUNT: '1',
      AUDIT_LOG_FILE: join(dir, 'audit.jsonl'),
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.once('exit', guard(proc.pid!));
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stdout += d.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${stdout}`)), 15_000);
    proc.stdout?.on('data', () => {
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)\/ssh"/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  base = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  if (proc.exitCode === null) proc.kill('SIGKILL');
  await sshd?.close();
  await rm(dir, { recursive: true, force: true });
});

const admin = (path: string, method = 'GET') => fetch(`${base}/ssh/admin/${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

describe('audit trail', () => {
  it('records each event once with who, where, how and why, in AUDIT_LOG_FILE, and never a secret', async () => {
    const { username, password } = sshd.users.password;
    const good = new TerminalClient(base);
    good.start({ host: '127.0.0.1', port: sshd.port, username, password });
    await good.waitForState('connected');
    good.send('echo audited-$((6*7))\r');
    await good.waitForText('audited-42');

    const { key, passphrase } = sshd.users.keys.ecdsaEncrypted;
    const keyed = new TerminalClient(base);
    keyed.start({ host: '127.0.0.1', port: sshd.port, username: sshd.users.keys.username, privateKey: key, passphrase });
    await keyed.waitForState('connected');
    keyed.send('exit\r');
    expect((await keyed.waitForEnd()).code).toBe('REMOTE_CLOSED');

    const bad = new TerminalClient(base);
    bad.start({ host: '127.0.0.1', port: sshd.port, username, password: WRONG_PASSWORD });
    expect((await bad.waitForEnd(20_000)).code).toBe('AUTH_FAILED');

    const pinned = new TerminalClient(base);
    pinned.start({ host: 'localhost', port: sshd.port, username, password });
    expect((await pinned.waitForEnd()).code).toBe('HOST_KEY_REJECTED');

    const limited = new TerminalClient(base);
    limited.start({ host: '127.0.0.1', port: sshd.port, username, password: WRONG_PASSWORD });
    expect((await limited.waitForEnd()).code).toBe('RATE_LIMITED');
    expect((await fetch(`${base}/ssh/admin/sessions`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);

    const listing = (await (await admin('sessions')).json()) as { sessions: { id: string }[] };
    expect(listing.sessions).toHaveLength(1);
    const id = listing.sessions[0]!.id;
    expect((await admin(`sessions/${id}`, 'DELETE')).status).toBe(204);
    expect((await good.waitForEnd()).code).toBe('ADMIN_TERMINATED');
    [good, keyed, bad, pinned, limited].forEach((c) => c.close());

    // The file is flushed at exit.
    proc.kill('SIGTERM');
    await once(proc, 'exit');
    const file = join(dir, 'audit.jsonl');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const of = (event: string) => lines.filter((l) => l.event === event);
    const target = `127.0.0.1:${sshd.port}`;
    const who = { user: username, client: '127.0.0.1' };

    expect(lines.every((l) => typeof l.event === 'string' && typeof l.time === 'string' && typeof l.msg === 'string')).toBe(true);
    const succeeded = of('login.succeeded');
    expect(succeeded).toHaveLength(2);
    expect(succeeded[0]).toMatchObject({ ...who, target, session: id });
    expect(['password', 'keyboard-interactive']).toContain(succeeded[0]!.method);
    expect(succeeded[1]).toMatchObject({ user: sshd.users.keys.username, target, method: 'publickey' });
    expect(succeeded[1]!.connectMs).toBeGreaterThanOrEqual(0);
    expect(succeeded[1]!.authMs).toBeGreaterThanOrEqual(0);
    const failed = of('login.failed');
    expect(failed).toHaveLength(2);
    expect(failed).toContainEqual(expect.objectContaining({ ...who, target, reason: 'AUTH_FAILED', level: 'warn' }));
    expect(failed).toContainEqual(expect.objectContaining({ ...who, target: `localhost:${sshd.port}`, reason: 'HOST_KEY_REJECTED' }));
    expect(of('hostkey.mismatch')).toEqual([expect.objectContaining({ ...who, target: `localhost:${sshd.port}`, fingerprint: sshd.hostKeyFingerprint })]);
    // One verdict per connection that reached key exchange: the two logins and the wrong password.
    expect(of('hostkey.trusted')).toHaveLength(3);
    expect(of('hostkey.trusted')).toContainEqual(expect.objectContaining({ session: id, fingerprint: sshd.hostKeyFingerprint }));
    expect(of('session.started')).toEqual([expect.objectContaining({ ...who, target, session: id }), expect.objectContaining({ user: sshd.users.keys.username })]);
    expect(typeof of('session.started')[0]!.shellMs).toBe('number');
    expect(of('session.ended')).toHaveLength(2);
    expect(of('session.ended')[0]).toMatchObject({ user: sshd.users.keys.username, code: 'REMOTE_CLOSED' });
    const ended = of('session.ended')[1];
    expect(ended).toMatchObject({ ...who, target, session: id, code: 'ADMIN_TERMINATED' });
    expect(ended!.bytesIn).toBeGreaterThan(10);
    expect(ended!.bytesOut).toBeGreaterThan(10);
    expect(ended!.durationMs).toBeGreaterThanOrEqual(0);
    expect(of('admin.action')).toEqual([
      expect.objectContaining({ action: 'list', client: '127.0.0.1' }),
      expect.objectContaining({ action: 'terminate', client: '127.0.0.1', session: id, found: true }),
    ]);
    expect(of('login.limited')).toEqual([expect.objectContaining({ ...who, target, retryAfterSeconds: expect.any(Number) as number })]);
    expect(of('admin.denied')).toEqual([expect.objectContaining({ client: '127.0.0.1', via: 'http' })]);
    expect(of('config.warning').map((l) => l.setting)).toEqual(['SESSION_SECRET']);
    // The audit file has the audit lines; stdout has the log without them.
    expect(stdout).not.toContain('"event":"login.succeeded"');
    expect(stdout).toContain('ssh session ended');
    const keyBody = key.split('\n').find((l) => l.length > 40 && !l.startsWith('-----'))!;
    for (const secret of [password, WRONG_PASSWORD, ADMIN_TOKEN, passphrase, keyBody]) {
      expect(text).not.toContain(secret);
      expect(stdout).not.toContain(secret);
    }
  }, 60_000);
});
