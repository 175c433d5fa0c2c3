/**
 * `npm run bench`: what the gateway costs on top of plain SSH, measured in one run against
 * the same sshd: direct (ssh2), single (one gateway process), stack (NGINX + PM2 + Redis).
 * Prints a table and writes bench-results.json (machine, versions, commit, figures).
 * Environment: BENCH_SCENARIOS (comma list, default all), BENCH_SESSIONS (100,500,1000),
 * BENCH_WORKERS (2), BENCH_FLOOD_SECONDS (20), BENCH_THROUGHPUT_MB (50), BENCH_OUT.
 * `capacity` (not in the default set) runs the stack against bench/capacityTarget.ts at
 * BENCH_CAPACITY_SESSIONS (1000,2000,5000), BENCH_CAPACITY_BATCH opens at a time (50).
 */
import { writeFileSync } from 'node:fs';
import { startSshd } from '../tests/harness/sshd.js';
import { probeInChild } from './capacityProbe.js';
import { startCapacityTarget } from './capacityTargetProcess.js';
import { environment } from './environment.js';
import { startBenchStack, startSingle } from './gateways.js';
import { echoLatency, setup, throughput } from './scenarios/basic.js';
import { browserScenario } from './scenarios/browser.js';
import { capacity } from './scenarios/capacity.js';
import { concurrency, flood } from './scenarios/load.js';
import { reloadUnderLoad } from './scenarios/reload.js';
import { directPath, gatewayPath, type BenchPath } from './terminals.js';
import { printTable, type Row } from './report.js';
import { percentile, withChildren } from './stats.js';
import { removeHeapDir } from './liveMemory.js';

const env = process.env;
const wanted = new Set((env.BENCH_SCENARIOS ?? 'setup,throughput,echo,concurrency,flood,reload,browser').split(','));
const workers = Number(env.BENCH_WORKERS ?? 2);
const rows: Row[] = [];
const results: Record<string, Record<string, unknown>> = {};
const record = (scenario: string, path: string, figures: Record<string, number | string>, ratio?: string) => {
  rows.push({ scenario, path, figures, ...(ratio !== undefined && { ratio }) });
  (results[scenario] ??= {})[path] = figures;
  process.stderr.write(`  ${scenario} ${path}: ${JSON.stringify(figures)}\n`);
};

const sshd = await startSshd({ extraConfig: ['MaxStartups 2000', 'MaxSessions 2000'] });
// Each start is undone if a later one fails, so a broken setup leaves no process behind.
const single = await startSingle().catch(async (err: unknown) => {
  await sshd.close();
  throw err;
});
const stack = await startBenchStack(workers).catch(async (err: unknown) => {
  await single.close();
  await sshd.close();
  throw err;
});
const target = wanted.has('capacity')
  ? await startCapacityTarget().catch(async (err: unknown) => {
      await stack.stop();
      await single.close();
      await sshd.close();
      throw err;
    })
  : undefined;
let stopped: Promise<void> | undefined;
const stopAll = () =>
  (stopped ??= (async () => {
    await target?.close();
    await stack.stop();
    await single.close();
    await sshd.close();
    removeHeapDir();
  })());
// Ctrl-C (or a caller's timeout) still stops everything this run started.
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
const paths: BenchPath[] = [directPath(sshd), gatewayPath('single', single.url, sshd), gatewayPath('stack', stack.url, sshd)];
const workerPids = async () => (await stack.pm2.list()).map((p) => p.pid);
const gatewayPaths = [
  { path: paths[1]!, pids: () => Promise.resolve([single.pid]) },
  { path: paths[2]!, pids: workerPids, proxyPids: () => withChildren(stack.nginx.pid) },
];
const ratio = (value: number, direct: number | undefined, higherIsBetter: boolean) =>
  direct === undefined ? undefined : higherIsBetter ? `${Math.round((value / direct) * 100)} % of direct` : `+${(value - direct).toFixed(3)} ms`;

try {
  if (wanted.has('setup')) {
    for (const auth of ['password', 'publickey'] as const) {
      let direct: number | undefined;
      for (const p of paths) {
        const r = await setup(p, auth, 15);
        direct ??= r.p50_ms;
        record(`setup (${auth})`, p.name, r, p.name === 'direct' ? undefined : ratio(r.p50_ms, direct, false));
      }
    }
  }
  if (wanted.has('throughput')) {
    // 5 rounds, paths interleaved, median per path: one run on 2 busy cores is noisy.
    // The processes each path adds on top of direct SSH (direct adds none).
    const cpuGroups = async (name: string): Promise<Record<string, number[]>> => {
      const g = gatewayPaths.find((x) => x.path.name === name);
      return g ? { gateway: await g.pids(), ...(g.proxyPids && { nginx: g.proxyPids() }) } : {};
    };
    const runs = new Map<string, { mbs: number; cpu: Record<string, number> }[]>();
    for (let round = 0; round < 5; round++) {
      for (const p of paths) {
        const r = await throughput(p, Number(env.BENCH_THROUGHPUT_MB ?? 50), await cpuGroups(p.name));
        runs.set(p.name, [...(runs.get(p.name) ?? []), { mbs: r.mb_per_s, cpu: r.cpuMsPerMb }]);
      }
    }
    const direct = percentile(runs.get('direct')!.map((r) => r.mbs), 50);
    for (const p of paths) {
      const rs = runs.get(p.name)!;
      const median = percentile(rs.map((r) => r.mbs), 50);
      const cpu = Object.fromEntries(Object.keys(rs[0]!.cpu).map((group) => [`${group}_cpu_ms_per_mb`, Math.round(percentile(rs.map((r) => r.cpu[group]!), 50))]));
      record('throughput', p.name, { mb_per_s_median: median, ...cpu, runs: rs.map((r) => r.mbs).join(' / ') }, p.name === 'direct' ? undefined : ratio(median, direct, true));
    }
  }
  if (wanted.has('echo')) {
    let direct: number | undefined;
    for (const p of paths) {
      const t = await p.open('publickey');
      const r = await echoLatency(t, 300);
      t.close();
      direct ??= r.p50_ms;
      record('echo latency', p.name, r, p.name === 'direct' ? undefined : ratio(r.p50_ms, direct, false));
    }
  }
  if (wanted.has('concurrency')) {
    const sizes = (env.BENCH_SESSIONS ?? '100,500,1000').split(',').map(Number);
    const memAt = new Map<string, { rss: number; rssGc: number; heapGc: number }[]>();
    for (const n of sizes) {
      for (const g of gatewayPaths) {
        const pids = await g.pids();
        const r = await concurrency(g.path, () => pids, n, g.proxyPids);
        memAt.set(g.path.name, [...(memAt.get(g.path.name) ?? []), { rss: r.rss_mb, rssGc: r.rss_after_gc_mb, heapGc: r.heap_after_gc_mb }]);
        record(`concurrency ${n}`, g.path.name, r);
      }
    }
    // Memory per session: the slope from the smallest to the largest round.
    const [lo, hi] = [sizes[0]!, sizes.at(-1)!];
    const perSession = (a: number, b: number) => Math.round(((b - a) * 1000) / (hi - lo));
    for (const [name, m] of memAt) {
      const [first, last] = [m[0]!, m.at(-1)!];
      if (hi > lo) {
        record('memory per session (KB)', name, {
          rss: perSession(first.rss, last.rss),
          rss_after_gc: perSession(first.rssGc, last.rssGc),
          heap_after_gc: perSession(first.heapGc, last.heapGc),
          between: `${lo} and ${hi} sessions`,
        });
      }
    }
  }
  if (wanted.has('flood')) {
    for (const g of gatewayPaths) {
      const pids = await g.pids();
      record('flood (client acks 1 MB/s)', g.path.name, await flood(g.path, () => pids, Number(env.BENCH_FLOOD_SECONDS ?? 20), 1_000_000));
    }
  }
  if (wanted.has('browser')) {
    record('browser', 'single', await browserScenario(single.url, sshd));
    record('browser', 'stack', await browserScenario(stack.url, sshd));
  }
  if (target) {
    // The stack's own sshd stays idle: every session goes to the one-process target.
    const deployment = {
      path: gatewayPath('stack', stack.url, target),
      gatewayPids: workerPids,
      nginxPids: () => withChildren(stack.nginx.pid),
      nginxErrorLog: () => stack.nginx.errorLog(),
      // Its own process: the 5,000 load clients' event loop must not be in the probe's figure.
      probe: () => probeInChild({ name: 'stack', url: stack.url, target, samples: 200 }),
      otherPids: { target: [target.pid] },
    };
    for (const n of (env.BENCH_CAPACITY_SESSIONS ?? '1000,2000,5000').split(',').map(Number)) {
      record(`capacity ${n}`, 'stack', await capacity(deployment, n, { batch: Number(env.BENCH_CAPACITY_BATCH ?? 50) }));
    }
  }
  if (wanted.has('reload')) record('reload under load', 'stack', await reloadUnderLoad(stack, sshd, 6));
} finally {
  printTable(rows);
  const out = env.BENCH_OUT ?? 'bench-results.json';
  writeFileSync(out, JSON.stringify({ ...environment(workers), results }, null, 2) + '\n');
  process.stdout.write(`\nwritten: ${out}\n`);
  await stopAll();
}
