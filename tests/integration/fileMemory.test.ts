/**
 * Issue 14's memory bound, measured on the gateway as `npm start` runs it (its own
 * process, the same Node flags): a 1 GB upload and a 1 GB download through it, to real
 * OpenSSH, keep its RSS within a small constant of where it was before, and every byte
 * arrives (sha256 on both ends). The figure is printed for docs/benchmarks.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../src/tools/ports.js';
import { guard } from '../../src/tools/reaper.js';
import { waitForHttp } from '../../src/tools/waitForHttp.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;
/** What "a small constant" means here: a few stream buffers per transfer fit many times over. */
const BOUND = 64 * MiB;

let sshd: TestSshd;
let dir: string;
let client: TerminalClient | undefined;
let proc: ReturnType<typeof spawn> | undefined;
let release = () => undefined as void;

beforeAll(async () => {
  sshd = await startSshd();
  dir = `/tmp/webssh-file-memory-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir);
  const uid = Number(execFileSync('id', ['-u', sshd.users.password.username]).toString());
  chownSync(dir, uid, uid);
}, 60_000);

afterAll(async () => {
  client?.close();
  if (proc?.exitCode === null) proc.kill('SIGKILL');
  release();
  await sshd?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Samples `pid`'s RSS every 50 ms while `work` runs; the peak. */
async function peakRss(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = rss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rss(pid));
}

it('a 1 GB upload and a 1 GB download keep the gateway within a small constant of its RSS, every byte intact', { timeout: 300_000 }, async () => {
  const port = await freePort();
  proc = spawn(process.execPath, ['--max-semi-space-size=2', MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LISTEN_HOST: '127.0.0.1', SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  release = guard(proc.pid!);
  const pid = proc.pid!;
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, 15_000, () => proc!.exitCode === null);
  const cookie = `webssh_browser=${randomBytes(32).toString('base64url')}`;
  client = new TerminalClient(url, { cookie });
  client.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  const { session, secret } = await client.waitForAttached();
  const headers = { cookie, 'x-webssh-secret': secret, origin: url };

  const upload = (path: string, size: number, body: Readable) =>
    new Promise<number>((resolve, reject) => {
      const q = new URLSearchParams({ path, size: String(size) });
      const req = request(`${url}/ssh/files/${session}/upload?${q}`, { method: 'PUT', headers: { ...headers, 'content-length': String(size) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      body.pipe(req);
    });
  const download = async (path: string, into: (chunk: Uint8Array) => void) => {
    const r = await fetch(`${url}/ssh/files/${session}/download`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
    const { url: link } = (await r.json()) as { url: string };
    const res = await fetch(`${url}/ssh/${link}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) into(chunk);
  };

  // Warm up every path (SFTP channel, streams, JIT) so the baseline is the steady state.
  const warm = randomBytes(MiB);
  expect(await upload(`${dir}/warm.bin`, warm.length, Readable.from([warm]))).toBe(201);
  await download(`${dir}/warm.bin`, () => undefined);
  const before = rss(pid);

  // 1 GB of 1 MiB blocks, each stamped with its index (so order matters to the hash).
  const block = randomBytes(MiB);
  const sent = createHash('sha256');
  const blocks = Readable.from(
    (function* () {
      for (let i = 0; i < SIZE / MiB; i++) {
        const b = Buffer.from(block);
        b.writeUInt32BE(i, 0);
        sent.update(b);
        yield b;
      }
    })(),
  );
  let status = 0;
  const upPeak = await peakRss(pid, async () => void (status = await upload(`${dir}/big.bin`, SIZE, blocks)));
  expect(status).toBe(201);
  const expected = sent.digest('hex');
  expect(execFileSync('sha256sum', [`${dir}/big.bin`]).toString().split(' ')[0]).toBe(expected);

  const got = createHash('sha256');
  let bytes = 0;
  const downPeak = await peakRss(pid, () =>
    download(`${dir}/big.bin`, (chunk) => {
      got.update(chunk);
      bytes += chunk.length;
    }),
  );
  expect(bytes).toBe(SIZE);
  expect(got.digest('hex')).toBe(expected);

  const mb = (n: number) => (n / MiB).toFixed(1);
  console.log(`gateway RSS: ${mb(before)} MiB before; peak ${mb(upPeak)} MiB during the 1 GB upload (+${mb(upPeak - before)}), ${mb(downPeak)} MiB during the 1 GB download (+${mb(downPeak - before)})`);
  expect(upPeak - before).toBeLessThan(BOUND);
  expect(downPeak - before).toBeLessThan(BOUND);
});
