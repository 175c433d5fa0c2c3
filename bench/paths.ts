/**
 * Starts what BENCH_PATHS asks for (default: direct,single,stack) against one
 * sshd, from one fresh install of the committed tree (bench/install.ts), and records how
 * each path runs: install method, ssh2 version, crypto path and TCP_NODELAY.
 * Every start is undone by stop(), also when a later start fails.
 */
import { createRequire } from 'node:module';
import type { Stack } from '../src/tools/stack.js';
import { sshCryptoPath } from '../src/server/ssh/cryptoPath.js';
import { startSshd, type TestSshd } from '../tests/harness/sshd.js';
import { startBenchStack, startSingle, transportOf } from './gateways.js';
import { freshInstall, type Install } from './install.js';
import { withChildren } from './stats.js';
import { directPath, gatewayPath, type BenchPath, type PathName } from './terminals.js';

export interface GatewayUnderTest {
  path: BenchPath;
  url: string;
  /** Where this gateway reaches the sshd. */
  sshHost: string;
  /** The gateway processes (CPU, RSS, memory after GC). */
  pids(): Promise<number[]>;
  /** Processes in front of it, by name (CPU per MB); `nginx` also counts for RSS. */
  front?(): Promise<Record<string, number[]>>;
}

export interface Bench {
  sshd: TestSshd;
  direct?: BenchPath;
  gateways: GatewayUnderTest[];
  stack?: Stack;
  install?: Install;
  /** bench-results.json: how each path was installed and runs, and skipped paths with the reason. */
  info: Record<string, Record<string, unknown>>;
  stop(): Promise<void>;
}

const ssh2Version = (createRequire(import.meta.url)('ssh2/package.json') as { version: string }).version;
const ALL: PathName[] = ['direct', 'single', 'stack'];

export async function startPaths(workers: number): Promise<Bench> {
  const wanted = new Set((process.env.BENCH_PATHS ?? ALL.join(',')).split(',').map((s) => s.trim()));
  for (const w of wanted) if (!ALL.includes(w as PathName)) throw new Error(`BENCH_PATHS: unknown path ${w} (known: ${ALL.join(', ')})`);
  const info: Bench['info'] = {};
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of undo.splice(0).reverse()) await fn().catch((err: unknown) => process.stderr.write(`bench: stop: ${(err as Error).message}\n`));
  };
  try {
    const gateways: GatewayUnderTest[] = [];
    const install = ['single', 'stack'].some((p) => wanted.has(p)) ? freshInstall() : undefined;
    const installed = install && { install: install.method, commit: install.commit, ssh2: install.ssh2 };
    const sshd = await startSshd({ extraConfig: ['MaxStartups 2000', 'MaxSessions 2000'] });
    undo.push(() => sshd.close());
    if (wanted.has('direct')) info.direct = { install: "the bench's own node_modules", ssh2: ssh2Version, nativeBinding: sshCryptoPath().nativeBinding, noDelay: true };
    if (install && wanted.has('single')) {
      const single = await startSingle(install.dir);
      undo.push(() => single.close());
      gateways.push({ path: gatewayPath('single', single.url, sshd), url: single.url, sshHost: '127.0.0.1', pids: () => Promise.resolve([single.pid]) });
    }
    let stack: Stack | undefined;
    if (install && wanted.has('stack')) {
      const s = (stack = await startBenchStack(install.dir, workers));
      undo.push(() => s.stop());
      const pids = async () => (await s.pm2.list()).map((p) => p.pid);
      gateways.push({ path: gatewayPath('stack', s.url, sshd), url: s.url, sshHost: '127.0.0.1', pids, front: () => Promise.resolve({ nginx: withChildren(s.nginx.pid) }) });
    }
    for (const g of gateways) info[g.path.name] = { ...installed, ...(await transportOf(g.url)) };
    // In path order.
    const ordered = Object.fromEntries(ALL.filter((p) => info[p]).map((p) => [p, info[p]!]));
    return { sshd, ...(wanted.has('direct') && { direct: directPath(sshd) }), gateways, ...(stack && { stack }), ...(install && { install }), info: ordered, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
