/**
 * The gateway processes a benchmark measures, both from the fresh install (bench/install.ts):
 * `npm start` mode and the full stack (that tree's own dist/tools/stack.js).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { freePort } from '../src/tools/ports.js';
import { waitForExit } from '../src/tools/procs.js';
import { guard } from '../src/tools/reaper.js';
import type { Stack, startStack } from '../src/tools/stack.js';
import { waitForHttp } from '../src/tools/waitForHttp.js';
import { HEAP_DIR, PROBE_NODE_ARGS } from './liveMemory.js';

// Every gateway loads the heap probe (bench/liveMemory.ts) so memory is measured after a GC.
/**
 * All the bench's terminals come from one address and log into one account: the
 * per-address session limit is off, and so are the login limits (their queue lets at
 * most 5 logins to one account out at once, which would pace the capacity runs' opens).
 */
export const BENCH_LIMITS = { SESSIONS_PER_CLIENT: '0', LOGIN_FAILURES_PER_ADDRESS: '0', LOGIN_FAILURES_PER_ACCOUNT: '0' };

/** The bench scrapes the stack's metrics with it (bench/scenarios/scrape.ts). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789abcdefghijkl';

const GATEWAY_ENV = { METRICS_TOKEN: BENCH_METRICS_TOKEN, SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'warn', BENCH_HEAP_DIR: HEAP_DIR, ...BENCH_LIMITS };

export interface SingleGateway {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** What a gateway's /healthz says about its SSH transport. */
export interface TransportInfo {
  version?: string;
  nativeBinding: boolean | 'unknown';
  noDelay: boolean | 'unknown';
}

/**
 * `npm start` of the installed tree: its package.json's command line, run from that tree.
 * `env` adds settings (the recording scenario's RECORDINGS_DIR); `onLine` gets its log lines.
 */
export async function startSingle(tree: string, env: Record<string, string> = {}, onLine?: (line: string) => void): Promise<SingleGateway> {
  const start = (JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  if (start[0] !== 'node') throw new Error(`npm start is no longer "node …": ${start.join(' ')}`);
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...start.slice(1).filter((a) => a.startsWith('--')), ...PROBE_NODE_ARGS, ...start.slice(1).filter((a) => !a.startsWith('--'))], {
    cwd: tree,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LISTEN_HOST: '127.0.0.1', SESSION_SECRET: randomBytes(32).toString('hex'), ...GATEWAY_ENV, ...env },
    stdio: ['ignore', onLine ? 'pipe' : 'ignore', 'inherit'],
  });
  if (onLine && child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  const release = guard(child.pid!);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, 15_000, () => child.exitCode === null);
  return {
    url,
    pid: child.pid!,
    close: async () => {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) child.kill('SIGKILL');
      release();
    },
  };
}

/**
 * The installed tree's own stack tool, so PM2 runs that tree's ecosystem.config.cjs and dist/.
 * BENCH_NGINX_WORKER_CONNECTIONS reproduces a smaller NGINX (4096 was the old default).
 */
export async function startBenchStack(tree: string, workers: number): Promise<Stack> {
  const mod = (await import(pathToFileURL(join(tree, 'dist/tools/stack.js')).href)) as { startStack: typeof startStack };
  const wc = Number(process.env.BENCH_NGINX_WORKER_CONNECTIONS ?? 0);
  return mod.startStack({ instances: workers, ...(wc > 0 && { workerConnections: wc }), env: { ...GATEWAY_ENV, GATEWAY_NODE_ARGS: PROBE_NODE_ARGS.join(' ') } });
}

export async function transportOf(url: string): Promise<TransportInfo> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { version?: string; ssh?: { crypto?: { nativeBinding?: unknown }; noDelay?: unknown } };
    const bool = (v: unknown) => (typeof v === 'boolean' ? v : 'unknown');
    return { ...(body.version !== undefined && { version: body.version }), nativeBinding: bool(body.ssh?.crypto?.nativeBinding), noDelay: bool(body.ssh?.noDelay) };
  } catch {
    return { nativeBinding: 'unknown', noDelay: 'unknown' };
  }
}
