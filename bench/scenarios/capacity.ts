/**
 * capacity: N live sessions on one gateway deployment against bench/capacityTarget.ts
 * (one process for all sessions, so the target is not what runs out). Reports what
 * failed to open and why, how many sessions stay working (their one-line-a-second
 * trickle arrives), a probe's echo under that load, memory per session after a GC, CPU
 * (gateway, NGINX, the target, and this process, which runs the load clients),
 * the open file descriptors of the gateway workers and NGINX, and the bench client's
 * own event-loop delay (so a saturated client is not mistaken for a slow gateway).
 * Generic over the deployment: a BenchPath plus functions that list its processes.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { sumLiveMemory } from '../liveMemory.js';
import { cpuSeconds, cpuStallMicros, nowMs, round, rss } from '../stats.js';
import type { BenchPath, BenchTerminal } from '../terminals.js';
import { probeEcho, type ProbeResult } from '../capacityProbe.js';

export interface CapacityDeployment {
  path: BenchPath;
  /** Gateway worker PIDs (started with bench/heapProbe.cjs, for memory after GC). */
  gatewayPids(): Promise<number[]>;
  /** NGINX master and workers; empty when there is no proxy. */
  nginxPids(): number[];
  /** NGINX's error log so far, to name what it ran out of. */
  nginxErrorLog?(): string;
  /**
   * The echo on a fresh session (PROBE below); by default in this process, where the load
   * clients' event loop adds its own delay (see bench/capacityProbe.ts for a separate one).
   */
  probe?(): Promise<ProbeResult>;
  /**
   * The same probe straight to the target with ssh2, run at the same time as the gateway's:
   * the delay the load puts on a keystroke with no gateway on its path (the target's own
   * event loop, and the shared cores), so the gateway's share of the tail can be told apart.
   */
  directProbe?(): Promise<ProbeResult>;
  /** More processes whose CPU is reported (the SSH target). */
  otherPids?: Record<string, number[]>;
  /** The cost of Prometheus scrapes at this load (bench/scenarios/scrape.ts); where metrics are reachable. */
  scrapeCost?(): Promise<Record<string, number>>;
}

export interface CapacityOptions {
  /** Opens in flight at once: a crowd arriving, not one all-at-once herd. */
  batch?: number;
  /** Per open: socket connect + SSH setup + prompt. */
  openTimeoutMs?: number;
  /** Opening stops after this long; what is open by then is measured. */
  openBudgetMs?: number;
}

const TRICKLE = 'while :; do echo tick; read -rt 1 _; done\r';

/**
 * What the probe types: 200 keystrokes back to back, as every capacity figure before
 * 2026-12-03 was measured, then 500 spaced as typed, ~20 ms apart. Back to back, the 200
 * took 0.1–0.2 s, so their p99 (the second-slowest) was the luck of which two bursts of
 * output they met: 4–61 ms at 5,000 terminals in six runs of one morning. The typed
 * ones span ~10 s of the load, and are the figure reported as the probe's echo.
 */
export const PROBE = { backToBack: 200, typed: { samples: 500, gapMs: 20 } };
const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => a + f(p), 0);

/** Open descriptors, and how many are sockets (NGINX: two per proxied WebSocket). */
export function fdCount(pid: number): { fds: number; sockets: number } {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`);
    let sockets = 0;
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // closed meanwhile
      }
    }
    return { fds: fds.length, sockets };
  } catch {
    return { fds: 0, sockets: 0 };
  }
}

/** NGINX's resource errors in the log written since `from` (a character offset), counted by kind. */
function nginxLimits(log: string, from: number): string {
  const kinds = ['worker_connections are not enough', 'Too many open files', 'upstream timed out', 'connect() failed'];
  const added = log.slice(from);
  const counts = kinds.map((k) => [k, added.split(k).length - 1] as const).filter(([, c]) => c > 0);
  return counts.map(([k, c]) => `${c}× ${k}`).join(' | ') || 'none';
}

/** Error messages grouped with their numbers (ports, ms, counts) masked, so equal causes add up. */
function tally(errors: Map<string, number>, err: unknown): void {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\d+/g, 'N').slice(0, 120);
  errors.set(msg, (errors.get(msg) ?? 0) + 1);
}

async function openAll(path: BenchPath, n: number, opts: Required<CapacityOptions>, errors: Map<string, number>): Promise<{ open: BenchTerminal[]; attempted: number }> {
  const open: BenchTerminal[] = [];
  const deadline = nowMs() + opts.openBudgetMs;
  let i = 0;
  for (; i < n && nowMs() < deadline; i += opts.batch) {
    const settled = await Promise.allSettled(Array.from({ length: Math.min(opts.batch, n - i) }, () => path.open('publickey', { timeoutMs: opts.openTimeoutMs })));
    for (const r of settled) {
      if (r.status === 'fulfilled') {
        r.value.send(TRICKLE);
        open.push(r.value);
      } else tally(errors, r.reason);
    }
  }
  return { open, attempted: Math.min(i, n) };
}

export async function capacity(d: CapacityDeployment, n: number, options: CapacityOptions = {}) {
  const opts = { batch: 50, openTimeoutMs: 30_000, openBudgetMs: 600_000, ...options };
  const errors = new Map<string, number>();
  const pids = await d.gatewayPids();
  const idle = await sumLiveMemory(pids);
  const logFrom = d.nginxErrorLog?.().length ?? 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let open: BenchTerminal[] = [];
  try {
    const t0 = nowMs();
    const opened = await openAll(d.path, n, opts, errors);
    open = opened.open;
    const openSeconds = (nowMs() - t0) / 1000;
    const openLoopP99 = loop.percentile(99) / 1e6;
    loop.reset();
    await delay(3000); // every trickle running before the measurement window (a window, not a wait for an event)
    const receivedAtStart = open.map((t) => t.received);
    const groups: Record<string, number[]> = { gateway: pids, nginx: d.nginxPids(), ...d.otherPids };
    const cpu0 = Object.fromEntries(Object.entries(groups).map(([k, ps]) => [k, sum(ps, cpuSeconds)]));
    const [w0, stall0] = [nowMs(), cpuStallMicros()];
    const clients0 = process.cpuUsage(); // this process: the load clients
    const none: ProbeResult = { p50_ms: NaN, p99_ms: NaN, back_to_back: { p50_ms: NaN, p99_ms: NaN } };
    const measured = async (name: string, probe: () => Promise<ProbeResult>) => {
      try {
        return await probe();
      } catch (err) {
        tally(errors, new Error(`${name}: ${(err as Error).message}`));
        return none;
      }
    };
    const [echo, direct] = await Promise.all([
      measured('probe', () => (d.probe ? d.probe() : probeHere(d.path, opts.openTimeoutMs))),
      d.directProbe ? measured('direct probe', () => d.directProbe!()) : undefined,
    ]);
    const seconds = (nowMs() - w0) / 1000;
    const cpu = Object.fromEntries(Object.entries(groups).map(([k, ps]) => [`${k}_cpu_pct`, round(((sum(ps, cpuSeconds) - cpu0[k]!) / seconds) * 100, 1)]));
    const cpuStall = (cpuStallMicros() - stall0) / 1000 / (seconds * 1000);
    const clientsCpu = process.cpuUsage(clients0);
    const holdLoopP99 = loop.percentile(99) / 1e6;
    // Working: its trickle arrives (one line a second); look for up to 5 s.
    const ticked = () => open.filter((t, i) => t.received > receivedAtStart[i]!).length;
    for (const until = nowMs() + 5000; ticked() < open.length && nowMs() < until; ) await delay(100);
    const working = ticked();
    let scrape: Record<string, number | string> = {};
    try {
      scrape = (await d.scrapeCost?.()) ?? {};
    } catch (err) {
      scrape = { scrape_error: (err as Error).message.slice(0, 200) };
    }
    const gwFds = pids.map(fdCount);
    const nginx = d.nginxPids().map(fdCount);
    const loaded = sum(pids, rss);
    // Last, so the forced GC cannot land inside the echo measurement.
    const live = await sumLiveMemory(pids);
    const perSession = (bytes: number) => (open.length > 0 ? round(bytes / open.length / 1000, 1) : NaN);
    return {
      sessions: n,
      opened: open.length,
      failed_opens: opened.attempted - open.length,
      // Past openBudgetMs the rest is not tried: a machine too slow to open them in time.
      not_attempted: n - opened.attempted,
      failures: [...errors].map(([msg, count]) => `${count}× ${msg}`).join(' | ') || 'none',
      working,
      open_s: round(openSeconds, 1),
      echo_p50_ms: echo.p50_ms,
      echo_p99_ms: echo.p99_ms,
      back_to_back_echo_p50_ms: echo.back_to_back.p50_ms,
      back_to_back_echo_p99_ms: echo.back_to_back.p99_ms,
      ...(direct && {
        direct_echo_p50_ms: direct.p50_ms,
        direct_echo_p99_ms: direct.p99_ms,
        direct_back_to_back_echo_p99_ms: direct.back_to_back.p99_ms,
      }),
      rss_mb: round(loaded / 1e6, 1),
      rss_kb_per_session: perSession(live.rss - idle.rss),
      heap_kb_per_session: perSession(live.heapUsed - idle.heapUsed),
      ...cpu,
      clients_cpu_pct: round(((clientsCpu.user + clientsCpu.system) / 1e6 / seconds) * 100, 1),
      gateway_fds: gwFds.map((f) => f.fds).join('+'),
      ...(nginx.length > 0 && {
        nginx_fds: nginx.reduce((a, f) => a + f.fds, 0),
        nginx_sockets: nginx.reduce((a, f) => a + f.sockets, 0),
        nginx_rss_mb: round(sum(d.nginxPids(), rss) / 1e6, 1),
      }),
      ...(d.nginxErrorLog && { nginx_errors: nginxLimits(d.nginxErrorLog(), logFrom) }),
      client_loop_p99_ms_opening: round(openLoopP99, 1),
      client_loop_p99_ms_holding: round(holdLoopP99, 1),
      cpu_stall_pct: round(cpuStall * 100, 0),
      ...scrape,
    };
  } finally {
    loop.disable();
    open.forEach((t) => t.close());
    await settle(pids);
  }
}

async function probeHere(path: BenchPath, timeoutMs: number): Promise<ProbeResult> {
  const probe = await path.open('publickey', { timeoutMs });
  try {
    return await probeEcho(probe, PROBE.backToBack, PROBE.typed);
  } finally {
    probe.close();
  }
}

/** After closing: wait (bounded) until the workers' descriptors stop falling, so the next size starts from idle. */
async function settle(pids: number[]): Promise<void> {
  let last = Infinity;
  for (const until = nowMs() + 30_000; nowMs() < until; ) {
    await delay(1000);
    const now = sum(pids, (p) => fdCount(p).fds);
    if (now >= last) return;
    last = now;
  }
}
