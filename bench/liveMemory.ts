/**
 * Memory after a full GC, from gateways started with bench/heapProbe.cjs: the figure
 * RSS per session is meant to be, without V8's heap-sizing noise.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { guardDir } from '../src/tools/reaper.js';

export interface LiveMemory {
  rss: number;
  heapUsed: number;
  external: number;
}

export const HEAP_DIR = mkdtempSync(join(tmpdir(), 'webssh-bench-heap-'));
// Removed by the reaper if the run dies without removeHeapDir().
const releaseHeapDir = guardDir(HEAP_DIR);
const PROBE = fileURLToPath(new URL('./heapProbe.cjs', import.meta.url));
/** Node arguments that load the probe; its environment is `{ BENCH_HEAP_DIR: HEAP_DIR }`. */
export const PROBE_NODE_ARGS = ['--expose-gc', '-r', PROBE];

/**
 * The pid the process sees itself as: the probe names its report by that, and in a
 * container (bench/container.ts) it differs from ours (the last NSpid of /proc/<pid>/status).
 */
function ownPid(pid: number): number {
  const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]?.trim().split(/\s+/).at(-1) ?? pid);
}

export async function liveMemory(pid: number, timeoutMs = 10_000): Promise<LiveMemory> {
  const file = join(HEAP_DIR, `${ownPid(pid)}.json`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  // The probe renames its file into place, so existence means complete.
  for (const until = Date.now() + timeoutMs; !existsSync(file); await delay(20)) {
    if (Date.now() > until) throw new Error(`no memory report from pid ${pid} (started without bench/heapProbe.cjs?)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LiveMemory;
}

export async function sumLiveMemory(pids: number[]): Promise<LiveMemory> {
  const all = await Promise.all(pids.map((p) => liveMemory(p)));
  return all.reduce((a, m) => ({ rss: a.rss + m.rss, heapUsed: a.heapUsed + m.heapUsed, external: a.external + m.external }), { rss: 0, heapUsed: 0, external: 0 });
}

export function removeHeapDir(): void {
  rmSync(HEAP_DIR, { recursive: true, force: true });
  releaseHeapDir();
}
