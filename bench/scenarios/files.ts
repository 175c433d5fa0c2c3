/**
 * files (issue 14): upload and download MB/s through a gateway path, beside OpenSSH's
 * `sftp` client straight to the same sshd, and the terminal's echo latency while a
 * download runs on the same session. One file of `mb` MB from /dev/urandom, kept on the
 * bench's disk and in a directory of the SSH user's.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routeCookie } from '../../tests/harness/cluster.js';
import { TerminalClient } from '../../tests/harness/terminalClient.js';
import { nowMs, percentile, round } from '../stats.js';
import { benchTerminal, credentials, PROMPT, type BenchPath, type SshTarget } from '../terminals.js';
import { echoLatency, sparseEchoLatency } from './basic.js';

/** Downloads the link again and again, writing the bytes received so far to stdout every 100 ms. */
const DOWNLOADER = `
const [url, cookie] = process.argv.slice(1);
let n = 0;
setInterval(() => process.stdout.write(n + '\\n'), 100);
(async () => {
  for (;;) {
    const res = await fetch(url, { headers: { cookie } });
    for await (const chunk of res.body) n += chunk.length;
  }
})();
`;

export interface FileBench {
  local: string;
  remote: string;
  bytes: number;
  close(): void;
}

export function prepareFiles(sshd: SshTarget, mb: number): FileBench {
  const local = mkdtempSync(join(tmpdir(), 'webssh-bench-files-'));
  const remote = `/tmp/webssh-bench-remote-${randomBytes(4).toString('hex')}`;
  mkdirSync(remote);
  const uid = Number(execFileSync('id', ['-u', sshd.users.keys.username]).toString());
  chownSync(remote, uid, uid);
  execFileSync('sh', ['-c', `head -c ${mb * 1_000_000} /dev/urandom > ${join(local, 'file.bin')}`]);
  execFileSync('cp', [join(local, 'file.bin'), join(remote, 'down.bin')]);
  chownSync(join(remote, 'down.bin'), uid, uid);
  return { local, remote, bytes: statSync(join(local, 'file.bin')).size, close: () => (rmSync(local, { recursive: true, force: true }), rmSync(remote, { recursive: true, force: true })) };
}

/** Keystrokes measured while a download runs: p99 is the 10th slowest of 1,000. */
const ECHO_SAMPLES = Number(process.env.BENCH_FILE_ECHOES ?? 1000);
/** And one every 400 ms (past the 300 ms a transfer yields after a keystroke)... */
const SPARSE_SAMPLES = Math.max(1, Math.round(ECHO_SAMPLES / 25));
const SPARSE_GAP_MS = 400;
/** ...and after 6 s without typing. */
const QUIET_SAMPLES = Math.max(1, Math.round(ECHO_SAMPLES / 200));
const QUIET_GAP_MS = 6000;

/** Transfers per figure, each path alike: the median of 3 (the first of a process is cold). */
const RUNS = 3;
const median = (seconds: () => number) => percentile(Array.from({ length: RUNS }, seconds), 50);

/** OpenSSH's sftp command line for `batch` (a file), key auth. */
function sftpArgs(sshd: SshTarget, f: FileBench, batch: string): string[] {
  const key = join(f.local, 'key');
  writeFileSync(key, sshd.users.keys.ed25519, { mode: 0o600 });
  return ['-q', '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(sshd.port), '-b', batch, `${sshd.users.keys.username}@127.0.0.1`];
}

/** OpenSSH's sftp client, key auth, one `put` and one `get`: the floor. */
export function directSftp(sshd: SshTarget, f: FileBench) {
  const run = (commands: string) => {
    writeFileSync(join(f.local, 'batch'), commands);
    const t0 = nowMs();
    const r = spawnSync('sftp', sftpArgs(sshd, f, join(f.local, 'batch')), { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`sftp failed: ${r.stderr.toString()}`);
    return (nowMs() - t0) / 1000;
  };
  const up = median(() => run(`put ${join(f.local, 'file.bin')} ${f.remote}/up-direct.bin\n`));
  const down = median(() => run(`get ${f.remote}/down.bin ${join(f.local, 'down-direct.bin')}\n`));
  return { upload_mb_per_s: round(f.bytes / 1e6 / up, 1), download_mb_per_s: round(f.bytes / 1e6 / down, 1) };
}

/**
 * What the machine gives without us: echo on a direct ssh2 terminal while OpenSSH's
 * `sftp` downloads the same file again and again on its own connection to the same sshd.
 */
export async function directEchoDuringDownload(direct: BenchPath, sshd: SshTarget, f: FileBench) {
  const batch = join(f.local, 'batch-loop');
  writeFileSync(batch, `get ${f.remote}/down.bin ${join(f.local, 'down-loop.bin')}\n`);
  const args = sftpArgs(sshd, f, batch).map((a) => `'${a}'`).join(' ');
  const t = await direct.open('publickey');
  const loop = spawn('sh', ['-c', `while :; do sftp ${args} || exit 1; done`], { stdio: 'ignore', detached: true });
  try {
    await new Promise((resolve) => setTimeout(resolve, 500)); // the first get is under way
    if (loop.exitCode !== null) throw new Error('the sftp download loop failed');
    const echo = await echoLatency(t, ECHO_SAMPLES);
    const sparse = await sparseEchoLatency(t, SPARSE_SAMPLES, SPARSE_GAP_MS);
    const quiet = await sparseEchoLatency(t, QUIET_SAMPLES, QUIET_GAP_MS);
    return { echo_during_download_p50_ms: echo.p50_ms, echo_during_download_p99_ms: echo.p99_ms, sparse_echo_p50_ms: sparse.p50_ms, sparse_echo_p90_ms: sparse.p90_ms, sparse_echo_max_ms: sparse.max_ms, quiet_echo_p50_ms: quiet.p50_ms, quiet_echo_max_ms: quiet.max_ms };
  } finally {
    process.kill(-loop.pid!, 'SIGKILL');
    t.close();
  }
}

/**
 * POST …/download for a link. Once more if the keep-alive connection fetch reused was
 * closed under it: the curl runs before it block this event loop (spawnSync) past the
 * server's 5 s keep-alive, so undici's idle timer cannot retire the socket in time, and
 * undici never retries a POST itself (a browser does, on a reused connection).
 */
async function downloadLink(base: string, headers: Record<string, string>, path: string): Promise<{ url: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${base}/download`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
      return (await res.json()) as { url: string };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (attempt >= 2 || cause?.code !== 'UND_ERR_SOCKET') throw err;
    }
  }
}

/** Through a gateway at `url`: the page's own requests, and echo during a download. */
export async function gatewayFiles(url: string, sshd: SshTarget, f: FileBench, sshHost = '127.0.0.1') {
  const cookie = `${await routeCookie(url)}; webssh_browser=${randomBytes(32).toString('base64url')}`;
  const c = new TerminalClient(url, { cookie, autoAck: false, record: false });
  const term = benchTerminal(c);
  try {
    c.start({ host: sshHost, port: sshd.port, ...credentials(sshd, 'publickey') });
    const { session, secret } = await c.waitForAttached(1, 60_000);
    await c.waitForText(PROMPT, 60_000);
    const headers = { cookie, 'x-webssh-secret': secret };
    const base = `${url}/ssh/files/${session}`;

    // curl moves the bytes, as a browser's (native) download manager and upload would.
    const curl = (args: string[]) => {
      const t = nowMs();
      const r = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{size_upload}', '-H', `cookie: ${cookie}`, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
      const [status, down, up] = r.stdout.split(' ').map(Number);
      return { status, down, up, seconds: (nowMs() - t) / 1000 };
    };
    const up = median(() => {
      const put = curl(['-T', join(f.local, 'file.bin'), '-H', `x-webssh-secret: ${secret}`, '-H', 'Expect:', `${base}/upload?path=${encodeURIComponent(`${f.remote}/up.bin`)}&size=${f.bytes}&overwrite=1`]);
      if (put.status !== 201 || put.up !== f.bytes) throw new Error(`upload: ${put.status}, ${put.up} bytes`);
      return put.seconds;
    });
    const link0 = await downloadLink(base, headers, `${f.remote}/down.bin`);
    const down = median(() => {
      const get = curl([`${url}/ssh/${link0.url}`]);
      if (get.status !== 200 || get.down !== f.bytes) throw new Error(`download: ${get.status}, ${get.down} of ${f.bytes} bytes`);
      return get.seconds;
    });

    // Typing while a download runs: downloads back to back in another process (a browser's
    // download manager is not in the page's event loop either) until the echo run is over.
    const link = await downloadLink(base, headers, `${f.remote}/down.bin`);
    const downloader = spawn(process.execPath, ['-e', DOWNLOADER, `${url}/ssh/${link.url}`, cookie], { stdio: ['ignore', 'pipe', 'inherit'] });
    let received = 0;
    downloader.stdout.on('data', (d: Buffer) => (received = Number(d.toString().trim().split('\n').at(-1)) || received));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => received > 0 && (clearInterval(poll), resolve()), 20); // the first bytes are streaming
      downloader.once('exit', (code) => (clearInterval(poll), reject(new Error(`downloader exited (${code})`))));
    });
    const [b0, t2] = [received, nowMs()];
    const echo = await echoLatency(term, ECHO_SAMPLES);
    // What typing costs the transfer: its rate during the echo run (transfers yield to typing).
    const whileTyping = (received - b0) / 1e6 / ((nowMs() - t2) / 1000);
    const sparse = await sparseEchoLatency(term, SPARSE_SAMPLES, SPARSE_GAP_MS);
    const quiet = await sparseEchoLatency(term, QUIET_SAMPLES, QUIET_GAP_MS);
    downloader.kill();
    return {
      upload_mb_per_s: round(f.bytes / 1e6 / up, 1),
      download_mb_per_s: round(f.bytes / 1e6 / down, 1),
      echo_during_download_p50_ms: echo.p50_ms,
      echo_during_download_p99_ms: echo.p99_ms,
      download_mb_per_s_while_typing: round(whileTyping, 1),
      sparse_echo_p50_ms: sparse.p50_ms,
      sparse_echo_p90_ms: sparse.p90_ms,
      sparse_echo_max_ms: sparse.max_ms,
      quiet_echo_p50_ms: quiet.p50_ms,
      quiet_echo_max_ms: quiet.max_ms,
    };
  } finally {
    term.close();
  }
}
