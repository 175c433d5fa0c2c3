/**
 * `npm run bench` end to end at toy sizes: every path and every scenario runs against the
 * real sshd, gateway, NGINX/PM2/Redis stack and Chromium, and reports figures that make
 * sense. How good the figures are is not judged here (docs/benchmarks.md); that the
 * command works on a fresh clone is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { guard, guardDir } from '../../src/tools/reaper.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'webssh-bench-smoke-'));
guardDir(dir); // removed by the reaper if this run is killed before afterAll
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Figures = Record<string, number | string>;

/** `onStderr` sees the bench's progress lines (and may signal it); otherwise they go to ours. */
function runBench(env: Record<string, string>, timeoutMs: number, onStderr?: (text: string, child: ChildProcess) => void): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO, 'node_modules/.bin/tsx'), ['bench/main.ts'], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', onStderr ? 'pipe' : 'inherit'] });
    // If this worker dies, the reaper stops the bench and, through its own reaper, all it started.
    const release = guard(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => onStderr?.((stderr += d.toString()), child));
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`bench did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      release();
      resolve({ code, stdout });
    });
  });
}

describe('npm run bench', () => {
  it('runs every scenario on direct, single and stack and writes the table and the JSON', { timeout: 620_000 }, async () => {
    const out = join(dir, 'results.json');
    const { code, stdout } = await runBench(
      // Not the container path: it needs a Docker engine, which `npm run test:container` owns.
      { BENCH_PATHS: 'direct,single,stack', BENCH_SESSIONS: '5,10', BENCH_FLOOD_SECONDS: '2', BENCH_THROUGHPUT_MB: '2', BENCH_ECHO_WARMUP: '100', BENCH_ECHO_CLIENT_WARMUP: '50', BENCH_SETUPS: '5', BENCH_DETACHED_SESSIONS: '10', BENCH_FILE_MB: '5', BENCH_FILE_ECHOES: '25', BENCH_TRANSPORT_MB: '5', BENCH_OUT: out },
      600_000,
    );
    expect(code).toBe(0);
    expect(stdout).toContain('% of direct');
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      commit: string;
      versions: Record<string, string>;
      install: { commit: string };
      paths: Record<string, { install: string; ssh2: string; nativeBinding: unknown; noDelay: unknown }>;
      results: Record<string, Record<string, Figures>>;
    };
    expect(json.commit).toMatch(/^[0-9a-f]{7,}/);
    expect(json.install.commit).toMatch(/^[0-9a-f]{40}$/);
    // How each path ran: the gateways from the fresh install, their /healthz's crypto path.
    for (const path of ['direct', 'single', 'stack']) {
      expect(json.paths[path]).toMatchObject({ ssh2: expect.stringMatching(/^\d+\.\d+\.\d+$/) as unknown, noDelay: true });
      expect(typeof json.paths[path]!.nativeBinding).toBe('boolean');
    }
    expect(json.paths.single!.install).toMatch(/npm ci/);
    // npm ci of the committed tree builds ssh2's native crypto (scripts/ssh2-binding.mjs).
    expect(json.paths.single!.nativeBinding).toBe(true);
    expect(json.paths.stack!.nativeBinding).toBe(true);
    expect(json.versions.openssh).toMatch(/OpenSSH/);
    const r = json.results;
    for (const scenario of ['setup (password)', 'setup (publickey)', 'throughput', 'echo latency', 'echo latency, warm']) {
      expect(Object.keys(r[scenario] ?? {}).sort()).toEqual(['direct', 'single', 'stack']);
    }
    // Setup is timed from the connect; a gateway's page load is reported beside it.
    expect(r['setup (publickey)']!.direct).not.toHaveProperty('page_load_p50_ms');
    for (const path of ['single', 'stack']) expect(r['setup (publickey)']![path]).toMatchObject({ n: 5, page_load_p50_ms: expect.any(Number) as unknown });
    for (const path of ['direct', 'single', 'stack']) {
      expect(r.throughput![path]!.mb_per_s_median).toBeGreaterThan(0);
      expect(r['echo latency']![path]!.p50_ms).toBeGreaterThan(0);
      expect(r['echo latency, warm']![path]).toMatchObject({ n: 300 });
    }
    expect(r.throughput!.stack!.nginx_cpu_ms_per_mb).toBeGreaterThanOrEqual(0);
    for (const path of ['single', 'stack']) {
      expect(r['concurrency 10']![path]).toMatchObject({ sessions: 10, failed_opens: 0, working: 10 });
      expect(r['concurrency 10']![path]!.heap_after_gc_mb).toBeGreaterThan(0);
      expect(r['memory per session (KB)']![path]).toHaveProperty('heap_after_gc');
      // The flood ended with the prompt after Ctrl-C.
      expect(r['flood (client acks 1 MB/s)']![path]!.ctrl_c_to_prompt_ms).toBeGreaterThan(0);
      expect(r.browser![path]!.seq_200000_s).toBeGreaterThan(0);
    }
    // Issue 13: a terminal resumed through the other worker, beside the same on its owner.
    for (const path of ['stack worker (owner)', 'stack relayed']) {
      expect(r['relay echo latency']![path]!.p50_ms).toBeGreaterThan(0);
      expect(r['relay echo latency, warm']![path]).toMatchObject({ n: 300 });
      expect(r['relay throughput']![path]!.mb_per_s_median).toBeGreaterThan(0);
    }
    expect(r['detached session memory']!['stack worker (owner)']).toMatchObject({ sessions: 10 });
    // Issue 14: file transfer beside OpenSSH's sftp, and typing during a download.
    for (const path of ['direct', 'single', 'stack']) expect(r['files (sftp)']![path]!.download_mb_per_s).toBeGreaterThan(0);
    for (const path of ['single', 'stack']) expect(r['files (sftp)']![path]!.echo_during_download_p50_ms).toBeGreaterThan(0);
    for (const path of ['http response', 'socket.io websocket', 'socket.io polling']) expect(r['file transport']![path]!.mb_per_s).toBeGreaterThan(0);
    expect(r['reload under load']!.stack).toMatchObject({ connects_failed: 0, complete_streams: 6 });
    // Issue 15: recording on and off, beside direct; every bench session of the recording gateway left a file.
    for (const path of ['direct', 'single', 'single + recording']) {
      expect(r['recording throughput']![path]!.mb_per_s_median).toBeGreaterThan(0);
      expect(r['recording echo latency']![path]!.p50_ms).toBeGreaterThan(0);
    }
    expect(r['recording writer']!['single + recording']).toMatchObject({ files: 6 });
    expect(r['recording writer']!['single + recording']!.peak_buffered_bytes).toBeGreaterThan(0);
  });

  it('writes what it measured when it is stopped halfway (Ctrl-C)', { timeout: 120_000 }, async () => {
    const out = join(dir, 'interrupted.json');
    let signalled = false;
    const { code, stdout } = await runBench({ BENCH_PATHS: 'direct', BENCH_SCENARIOS: 'setup,echo', BENCH_SETUPS: '3', BENCH_OUT: out }, 110_000, (text, child) => {
      // The first scenario is recorded: stop the run in the middle of the second.
      if (!signalled && text.includes('setup (publickey) direct:')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    expect(signalled).toBe(true);
    expect(code).toBe(130);
    expect(stdout).toContain('setup (password)');
    const json = JSON.parse(readFileSync(out, 'utf8')) as { stopped_by?: string; results: Record<string, Record<string, Figures>> };
    expect(json.stopped_by).toBe('SIGINT');
    expect(json.results['setup (password)']!.direct).toMatchObject({ n: 3 });
    expect(json.results['echo latency']).toBeUndefined();
  });

  it('runs the capacity scenario on the stack against the one-process SSH target', { timeout: 300_000 }, async () => {
    const out = join(dir, 'capacity.json');
    const { code } = await runBench({ BENCH_PATHS: 'stack', BENCH_SCENARIOS: 'capacity', BENCH_CAPACITY_SESSIONS: '20', BENCH_CAPACITY_BATCH: '10', BENCH_OUT: out }, 280_000);
    expect(code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { results: Record<string, Record<string, Figures>> };
    const r = json.results['capacity 20']!.stack!;
    expect(r).toMatchObject({ sessions: 20, failed_opens: 0, working: 20 });
    expect(r.echo_p50_ms).toBeGreaterThan(0);
    expect(r.clients_cpu_pct).toBeGreaterThan(0); // the load clients' share of the machine
    // A Prometheus scrape at that load: both URLs answered, with a body and a time.
    expect(r.scrape_error).toBeUndefined();
    for (const scope of ['cluster', 'worker']) {
      expect(r[`${scope}_scrape_p50_ms`]).toBeGreaterThan(0);
      expect(r[`${scope}_scrape_kb`]).toBeGreaterThan(1);
    }
    expect(r.cluster_scrape_kb).toBeGreaterThan(Number(r.worker_scrape_kb)); // both workers' series
  });
});
