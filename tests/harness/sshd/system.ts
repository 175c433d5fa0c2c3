// Machine-wide, idempotent setup for the sshd harness: test accounts, the OTP PAM module and
// the PAM service file. Safe to run from several processes at once (atomic renames, and
// useradd/chpasswd races are tolerated). Everything here is test-only and clearly named.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * sshd picks its PAM service name from its own argv[0] basename (`__progname`; Debian's binary
 * has no literal "sshd" service name). Starting sshd through a symlink with this name makes it
 * use /etc/pam.d/webssh-test-sshd, so the harness never touches the machine's real sshd stack.
 */
export const PAM_SERVICE = 'webssh-test-sshd';

/** Fixed credentials: the accounts are shared by every run (and concurrent runs), so they must agree. */
export const TEST_ACCOUNTS = {
  password: { username: 'webssh-test', password: 'webssh-test-Pa55word' },
  kbd: { username: 'webssh-test-2fa', password: 'webssh-2fa-Pa55word', otp: '424242' },
} as const;

const OTP_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'pam_webssh_otp.c');

async function runChecked(cmd: string, args: string[], input?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function userExists(name: string): boolean {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .some((line) => line.startsWith(`${name}:`));
}

async function ensureUser(name: string): Promise<void> {
  if (userExists(name)) return;
  try {
    await runChecked('useradd', ['--create-home', '--shell', '/bin/bash', '--comment', 'webssh test account', name]);
    console.log(`sshd harness: created test user ${name}`);
  } catch (err) {
    if (!userExists(name)) throw err; // else a concurrent run created it first
  }
}

/** Atomically replace `file` with `content` unless it already has exactly that content. */
async function writeIfChanged(file: string, content: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current === content) return;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, file);
}

/**
 * Compile the OTP module once per source version into a cache dir keyed by its hash, and reuse it.
 * gcc writes to a per-process temp name that is renamed into place, so racing builds are harmless.
 */
async function ensureOtpModule(): Promise<string> {
  const source = await readFile(OTP_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `webssh-test-pam-${hash}`);
  const so = join(dir, 'pam_webssh_otp.so');
  if (existsSync(so)) return so;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = `${so}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', tmp, OTP_SOURCE, '-lpam'], { timeout: 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`compiling ${OTP_SOURCE} failed (run scripts/ensure-system-deps.mjs): ${stderr || String(err)}`, { cause: err });
  }
  await rename(tmp, so).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
  return so;
}

/**
 * The harness's PAM stack. Round 1 for everyone: pam_unix "Password: " (echo off; `nodelay` keeps
 * failing tests fast; `requisite` skips round 2 after a wrong password). Everyone except the 2fa
 * user is done after that; the 2fa user gets round 2 from the OTP module ("Verification code: ",
 * echo on). sshd's "password" method answers only echo-off prompts, so the 2fa user cannot
 * bypass the code with plain password auth.
 */
function pamStack(otpModule: string): string {
  const { kbd } = TEST_ACCOUNTS;
  return [
    '# Test-only PAM service for the webssh sshd harness (tests/harness/sshd/system.ts).',
    '# Used only by sshd started as a symlink named webssh-test-sshd. Safe to delete.',
    'auth     requisite  pam_unix.so nodelay',
    `auth     [success=done default=ignore]  pam_succeed_if.so quiet user != ${kbd.username}`,
    `auth     required   ${otpModule} code=${kbd.otp}`,
    'account  required   pam_unix.so',
    'session  required   pam_permit.so',
    'password required   pam_deny.so',
    '',
  ].join('\n');
}

async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the sshd harness must run as root (it creates test users and a PAM service)');
  // sshd 9.x still needs its privilege-separation chroot dir (normally made by systemd's RuntimeDirectory).
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const { password, kbd } = TEST_ACCOUNTS;
  for (const name of [password.username, kbd.username]) await ensureUser(name);
  // Reset the passwords every process: cheap, and repairs accounts changed by hand.
  await runChecked('chpasswd', [], `${password.username}:${password.password}\n${kbd.username}:${kbd.password}\n`);
  const so = await ensureOtpModule();
  await writeIfChanged(join('/etc/pam.d', PAM_SERVICE), pamStack(so));
}

let setupOnce: Promise<void> | undefined;

/** Users, PAM module and PAM service: done once per process. */
export function ensureSystemSetup(): Promise<void> {
  setupOnce ??= setup().catch((err: unknown) => {
    setupOnce = undefined;
    throw err;
  });
  return setupOnce;
}
