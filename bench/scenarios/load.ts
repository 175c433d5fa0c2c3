/**
 * concurrency: N live sessions (publickey, a line of output per second each) on one
 * gateway path; gateway RSS per session, CPU, and echo p99 of a probe under that load.
 * flood: `cat /dev/urandom | base64` read by a slowly acking client; RSS growth and the
 * time from Ctrl-C to the prompt.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { cpuSeconds, cpuStallMicros, nowMs, round, rss } from '../stats.js';
import type { BenchPath, BenchTerminal } from '../terminals.js';
import { sumLiveMemory } from '../liveMemory.js';
import { echoLatency } from './basic.js';

const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => a + f(p), 0);

/** RSS per session is the slope between rounds (see main.ts): a single round's delta is GC noise. */
export async function concurrency(path: BenchPath, pids: () => number[], n: number, proxyPids: () => number[] = () => []) {
  const open: BenchTerminal[] = [];
  let failedOpens = 0;
  const t0 = nowMs();
  try {
    // 20 at a time: a browser crowd arriving, without a thundering herd on sshd's MaxStartups.
    for (let i = 0; i < n; i += 20) {
      const settled = await Promise.allSettled(Array.from({ length: Math.min(20, n - i) }, () => path.open('publickey')));
      const batch = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      failedOpens += settled.length - batch.length;
      // `read -t 1` waits without forking a `sleep` per tick per session.
      batch.forEach((t) => t.send('while :; do echo tick; read -rt 1 _; done\r'));
      open.push(...batch);
    }
    const openSeconds = (nowMs() - t0) / 1000;
    await delay(3000); // let every trickle start before sampling (a measurement window, not a wait for an event)
    const receivedAtStart = open.map((t) => t.received);
    const loaded = sum(pids(), rss);
    const cpu0 = sum(pids(), cpuSeconds);
    const w0 = nowMs();
    const probe = await path.open('publickey');
    // The load's clients share this process: its own event-loop delay bounds what the
    // probe can see, so it is reported beside the probe's p99.
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const [stall0, e0] = [cpuStallMicros(), nowMs()];
    const echo = await echoLatency(probe, 200);
    // Share of the probe's time in which some task on the machine waited for a CPU.
    const cpuStall = (cpuStallMicros() - stall0) / 1000 / (nowMs() - e0);
    loop.disable();
    probe.close();
    const cpu = (sum(pids(), cpuSeconds) - cpu0) / ((nowMs() - w0) / 1000);
    // Working: its trickle arrives (one line a second); look for up to 5 s.
    const ticked = () => open.filter((t, i) => t.received > receivedAtStart[i]!).length;
    for (const until = nowMs() + 5000; ticked() < open.length && nowMs() < until; ) await delay(100);
    const alive = ticked();
    // Last, so the forced GC cannot land inside the echo measurement.
    const live = await sumLiveMemory(pids());
    const proxy = proxyPids();
    return {
      sessions: n,
      failed_opens: failedOpens,
      working: alive,
      open_s: round(openSeconds, 1),
      rss_mb: round(loaded / 1e6, 1),
      rss_after_gc_mb: round(live.rss / 1e6, 1),
      heap_after_gc_mb: round(live.heapUsed / 1e6, 1),
      ...(proxy.length > 0 && { nginx_rss_mb: round(sum(proxy, rss) / 1e6, 1) }),
      cpu_pct: round(cpu * 100, 1),
      echo_p99_ms: echo.p99_ms,
      echo_p50_ms: echo.p50_ms,
      client_loop_delay_p99_ms: round(loop.percentile(99) / 1e6, 1),
      cpu_stall_pct: round(cpuStall * 100, 0),
    };
  } finally {
    open.forEach((t) => t.close());
    await delay(1000); // sessions wind down before the next round's baseline
  }
}

export async function flood(path: BenchPath, pids: () => number[], seconds: number, ackBytesPerSecond: number) {
  const t = await path.open('publickey', { ackBytesPerSecond });
  try {
    const before = sum(pids(), rss);
    let peak = before;
    t.send('cat /dev/urandom | base64\r');
    const end = nowMs() + seconds * 1000;
    while (nowMs() < end) {
      await delay(250); // RSS sampling period
      peak = Math.max(peak, sum(pids(), rss));
    }
    const received = t.received;
    const c0 = nowMs();
    t.send('\x03');
    await t.waitFor(/\^C\r\n[^\n]*\$ $/, 60_000);
    return {
      seconds,
      client_mb_per_s: round(ackBytesPerSecond / 1e6, 2),
      received_mb: round(received / 1e6, 1),
      rss_growth_mb: round((peak - before) / 1e6, 1),
      ctrl_c_to_prompt_ms: round(nowMs() - c0, 0),
    };
  } finally {
    t.close();
  }
}
