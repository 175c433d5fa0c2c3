// Starts a real OpenSSH sshd (Debian's /usr/sbin/sshd) on a loopback port for integration tests.
// Each call gets its own temp dir, host key, user keys, config and port; the test accounts and
// the PAM service are machine-wide and set up idempotently (see ./sshd/system.ts).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/tools/ports.js';
import { killTree, startWatchdog, waitForExit } from '../../src/tools/procs.js';
import { ensureSystemSetup, PAM_SERVICE, TEST_ACCOUNTS } from './sshd/system.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const READY_TIMEOUT_MS = 10_000;
const ECDSA_PASSPHRASE = 'webssh-test-passphrase';

export interface TestSshd {
  host: string;
  port: number;
  /** The listening sshd's PID; each connection is served by its descendants (see src/tools/procs.ts `descendants`). */
  pid: number;
  /** Raw SSH wire-format public host key: what ssh2's `hostVerifier` receives without `hostHash`. */
  hostKey: Buffer;
  /** `ssh-ed25519 AAAA…` (a known_hosts line without the host part). */
  hostKeyLine: string;
  /** `SHA256:…` (base64, no padding), exactly as `ssh-keygen -l` prints it. */
  hostKeyFingerprint: string;
  /** Hex SHA-256 of the host key: what ssh2's `hostVerifier` receives with `hostHash: 'sha256'`. */
  hostKeySha256Hex: string;
  users: {
    password: { username: string; password: string };
    /** Private keys (OpenSSH format) whose public halves are in this user's authorized_keys. */
    keys: { username: string; ed25519: string; ecdsaEncrypted: { key: string; passphrase: string }; rsa: string };
    /** Keyboard-interactive only: round 1 'Password: ' (echo off), round 2 'Verification code: ' (echo on). */
    kbd: { username: string; password: string; otp: string };
  };
  /** The run's temp dir (sshd_config, keys, log); removed by close(). */
  dir: string;
  /** sshd's log (LogLevel VERBOSE), appended as it arrives; removed by close() with `dir`. */
  logFile: string;
  /** Everything sshd has logged so far (from memory, so it is current). */
  log(): string;
  /** SIGTERM sshd and its per-connection children by PID, wait for exit, remove the temp dir. */
  close(): Promise<void>;
}

export interface StartSshdOptions {
  /**
   * Extra sshd_config lines. sshd keeps the FIRST value of a keyword, so lines before any `Match`
   * are placed ahead of the defaults (and override them); a `Match` line and the rest go at the end.
   */
  extraConfig?: string[];
  /**
   * Addresses to listen on besides 127.0.0.1, same port: the bench's container path needs
   * sshd on the host's address on the compose network (containers cannot reach 127.0.0.1).
   */
  listenAddresses?: string[];
}

/**
 * PIDs of running sshds, killed (with their per-connection children) on process 'exit' so a
 * test that forgot close() leaves none behind. Deaths that skip 'exit' are the watchdog's job.
 */
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killTree(pid, 'SIGTERM');
  });
}

function sshdConfig(dir: string, port: number, addresses: string[], extra: string[]): string {
  const matchAt = extra.findIndex((l) => /^\s*Match\s/i.test(l));
  const head = matchAt === -1 ? extra : extra.slice(0, matchAt);
  const tail = matchAt === -1 ? [] : extra.slice(matchAt);
  const { password, kbd } = TEST_ACCOUNTS;
  return [
    ...head,
    `Port ${port}`,
    ...addresses.map((a) => `ListenAddress ${a}`),
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys', '%u')}`,
    'StrictModes no',
    'UsePAM yes',
    'KbdInteractiveAuthentication yes',
    'PasswordAuthentication yes',
    'PubkeyAuthentication yes',
    'PermitRootLogin no',
    `AllowUsers ${password.username} ${kbd.username}`,
    // Tests open many connections/sessions at once; the defaults (10:30:100, 10) would drop them.
    'MaxStartups 200',
    'MaxSessions 200',
    'MaxAuthTries 20',
    'LogLevel VERBOSE',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    // Unless the test's own lines name the sftp subsystem (sshd refuses a second one).
    ...(head.some((l) => /^\s*Subsystem\s+sftp\b/i.test(l)) ? [] : ['Subsystem sftp internal-sftp']),
    ...tail,
    '',
  ].join('\n');
}

async function keygen(file: string, type: string, passphrase = '', bits?: number): Promise<string> {
  const args = ['-q', '-t', type, '-N', passphrase, '-C', `webssh-test-${type}`, '-f', file];
  if (bits !== undefined) args.push('-b', String(bits));
  // ssh2 derives the key of an encrypted key file with a pure-JS bcrypt_pbkdf: the default 16
  // rounds cost ~0.4 s per login. 4 rounds keeps the real format but makes tests ~4x faster.
  if (passphrase !== '') args.push('-a', '4');
  await run('ssh-keygen', args, { timeout: 60_000 });
  return readFile(file, 'utf8');
}

/** Resolves once sshd accepts a connection and sends its `SSH-2.0-` banner. */
function readBanner(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(buf.trim());
    };
    const timer = setTimeout(() => done(new Error(`no SSH banner within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (!buf.includes('\n')) return;
      done(buf.startsWith('SSH-2.0-') ? null : new Error(`unexpected banner: ${JSON.stringify(buf)}`));
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error(`connection closed before banner (got ${JSON.stringify(buf)})`)));
  });
}

/** Start sshd on a fresh port; resolves when it logs "Server listening" and answers with a banner. */
async function launch(dir: string, addresses: string[], extra: string[]): Promise<{ port: number; pid: number; log: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const configFile = join(dir, 'sshd_config');
  await writeFile(configFile, sshdConfig(dir, port, addresses, extra));
  const logFile = join(dir, 'sshd.log');
  // -D: stay in the foreground (our child, killable by PID). -e: log to stderr, which we tee
  // into memory and logFile. The symlink path sets both __progname (PAM service) and the
  // absolute path sshd needs to re-exec itself for each connection.
  const child = spawn(join(dir, PAM_SERVICE), ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to spawn sshd: ${(await new Promise<Error>((r) => child.once('error', r))).message}`);
  live.add(pid);
  const watchdog = startWatchdog(pid, dir);
  let log = '';
  const logStream = createWriteStream(logFile, { flags: 'a' });
  logStream.on('error', () => undefined); // the log file is a convenience; memory has it all
  const stop = async (): Promise<void> => {
    killTree(pid, 'SIGTERM');
    if (!(await waitForExit(child, 5_000))) {
      killTree(pid, 'SIGKILL');
      await waitForExit(child, 5_000);
    }
    live.delete(pid);
    watchdog.disarm();
    await new Promise((resolve) => logStream.end(resolve));
  };
  child.stderr.setEncoding('utf8');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`sshd did not start listening within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onExit = (code: number | null, signal: string | null): void =>
        finish(new Error(`sshd exited during startup (code ${code}, signal ${signal})`));
      const finish = (err: Error | null): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      child.on('exit', onExit);
      child.stderr.on('data', (chunk: string) => {
        log += chunk;
        logStream.write(chunk);
        if (addresses.every((a) => log.includes(`Server listening on ${a} port ${port}.`))) finish(null);
      });
    });
    await readBanner(port, READY_TIMEOUT_MS);
  } catch (err) {
    await stop();
    const message = `${(err as Error).message} (config: ${configFile})\n--- sshd log ---\n${log}`;
    throw Object.assign(new Error(message), { addressInUse: /Address already in use/.test(log) });
  }
  return { port, pid, log: () => log, stop };
}

/** Start a fresh sshd. Takes ~0.5–1.5 s (mostly the RSA 3072 key generation). Needs root. */
export async function startSshd(opts: StartSshdOptions = {}): Promise<TestSshd> {
  await ensureSystemSetup();
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'webssh-sshd-'));
  try {
    // sshd reads authorized_keys with the user's uid, so the dir must be traversable by them.
    await chmod(dir, 0o711);
    const keysDir = join(dir, 'keys');
    const authDir = join(dir, 'authorized_keys');
    await mkdir(keysDir, { mode: 0o700 });
    await mkdir(authDir, { mode: 0o755 });
    await symlink(SSHD, join(dir, PAM_SERVICE));

    const [, ed25519, ecdsa, rsa] = await Promise.all([
      keygen(join(dir, 'ssh_host_ed25519_key'), 'ed25519'),
      keygen(join(keysDir, 'id_ed25519'), 'ed25519'),
      keygen(join(keysDir, 'id_ecdsa'), 'ecdsa', ECDSA_PASSPHRASE, 256),
      keygen(join(keysDir, 'id_rsa'), 'rsa', '', 3072),
    ]);
    const pubs = await Promise.all(['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => readFile(join(keysDir, `${k}.pub`), 'utf8')));
    const { password, kbd } = TEST_ACCOUNTS;
    await writeFile(join(authDir, password.username), pubs.join(''), { mode: 0o644 });

    const hostKeyLine = (await readFile(join(dir, 'ssh_host_ed25519_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    const hostKey = Buffer.from(hostKeyLine.split(' ')[1] ?? '', 'base64');
    const digest = createHash('sha256').update(hostKey).digest();

    let sshd: Awaited<ReturnType<typeof launch>> | undefined;
    for (let attempt = 1; !sshd; attempt++) {
      try {
        sshd = await launch(dir, ['127.0.0.1', ...(opts.listenAddresses ?? [])], opts.extraConfig ?? []);
      } catch (err) {
        // freePort() is racy by nature: another process may bind the port first. Retry that case.
        if (attempt >= 3 || !(err as { addressInUse?: boolean }).addressInUse) throw err;
      }
    }
    const { port, pid, log, stop } = sshd;
    let closing: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      pid,
      hostKey,
      hostKeyLine,
      hostKeyFingerprint: `SHA256:${digest.toString('base64').replace(/=+$/, '')}`,
      hostKeySha256Hex: digest.toString('hex'),
      users: {
        password: { ...password },
        keys: { username: password.username, ed25519, ecdsaEncrypted: { key: ecdsa, passphrase: ECDSA_PASSPHRASE }, rsa },
        kbd: { ...kbd },
      },
      dir,
      logFile: join(dir, 'sshd.log'),
      log,
      close: () => (closing ??= stop().then(() => rm(dir, { recursive: true, force: true }))),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
