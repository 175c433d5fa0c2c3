/**
 * `npm run bench`: what the gateway costs on top of plain SSH, measured in one run against
 * the same sshd: direct (ssh2), single (one gateway process), stack (NGINX + PM2 + Redis)
 * and container (`docker compose up`; setup, throughput and echo also as `container
 * (bridge)`, without docker-proxy, unless BENCH_CONTAINER_BRIDGE=0), the gateway paths
 * from a fresh install of the committed tree (bench/paths.ts). Prints a table and writes
 * bench-results.json (machine, versions, commit, how each path was installed and runs,
 * figures).
 * Environment: BENCH_PATHS (comma list, default all), BENCH_SCENARIOS (comma list, default
 * all), BENCH_SESSIONS (100,500,1000), BENCH_WORKERS (2), BENCH_FLOOD_SECONDS (20),
 * BENCH_THROUGHPUT_MB (50), BENCH_ECHO_WARMUP (1000), BENCH_ECHO_CLIENT_WARMUP (3000), BENCH_SETUPS (25 per path and auth), BENCH_DETACHED_SESSIONS (200), BENCH_FILE_MB (200), BENCH_OUT, BENCH_FRESH_INSTALL=1
 * (reinstall even if cached). `relay` (stack path) compares a terminal on its owning worker
 * with one resumed through the other worker, and measures detached sessions' memory.
 * `capacity` (not in the default set) runs the stack and container paths against
 * bench/capacityTarget.ts at BENCH_CAPACITY_SESSIONS (1000,2000,5000), BENCH_CAPACITY_BATCH
 * opens at a time (50). On the stack path it also measures a Prometheus scrape at that load
 * (cluster URL through NGINX, one worker's own /metrics: time, gateway CPU, size).
 * `recording` compares the single path with a second single gateway recording every
 * session (RECORDINGS_DIR), BENCH_RECORDING_ROUNDS (5) of throughput.
 * BENCH_WEBSSH2=<dir> adds billchurch/webssh2 from a checkout built there as the path
 * `webssh2` in setup, throughput, echo and concurrency (bench/webssh2.ts).
 */
import { writeFileSync } from 'node:fs';
import { probeInChild } from './capacityProbe.js';
import { startCapacityTarget } from './capacityTargetProcess.js';
import { environment } from './environment.js';
import { interleavedEcho, setup, throughput, warmMeasuringClients } from './scenarios/basic.js';
import { browserScenario } from './scenarios/browser.js';
import { capacity, PROBE } from './scenarios/capacity.js';
import { scrapeCost } from './scenarios/scrape.js';
import { BENCH_METRICS_TOKEN, startSingle } from './gateways.js';
import { concurrency, flood } from './scenarios/load.js';
import { reloadUnderLoad } from './scenarios/reload.js';
import { detachedMemory, relayPath } from './scenarios/relay.js';
import { fileTransport } from './scenarios/fileTransport.js';
import { recordingOverhead } from './scenarios/recording.js';
import { directEchoDuringDownload, directSftp, gatewayFiles, prepareFiles } from './scenarios/files.js';
import { printTable, type Row } from './report.js';
import { percentile } from './stats.js';
import { removeHeapDir } from './liveMemory.js';
import { startPaths } from './paths.js';
import { gatewayPath, type BenchTerminal } from './terminals.js';

const env = process.env;
const wanted = new Set((env.BENCH_SCENARIOS ?? 'setup,throughput,echo,concurrency,flood,relay,files,transport,reload,browser,recording').split(','));
const workers = Number(env.BENCH_WORKERS ?? 2);
const rows: Row[] = [];
const results: Record<string, Record<string, unknown>> = {};
const record = (scenario: string, path: string, figures: Record<string, number | string>, ratio?: string) => {
  rows.push({ scenario, path, figures, ...(ratio !== undefined && { ratio }) });
  (results[scenario] ??= {})[path] = figures;
  process.stderr.write(`  ${scenario} ${path}: ${JSON.stringify(figures)}\n`);
};

const bench = await startPaths(workers).catch((err: unknown) => {
  removeHeapDir();
  throw err;
});
let stopped: Promise<void> | undefined;
const stopAll = () => (stopped ??= bench.stop().finally(removeHeapDir));
// Ctrl-C (or a caller's timeout) still stops everything this run started. `on`, not
// `once`: a Ctrl-C reaches npm, tsx and this process alike, and tsx relays it once more;
// a second default-handled SIGINT would end the run halfway through its cleanup.
// What was measured before the signal is still printed and written.
let reported = false;
const report = (stoppedBy?: string) => {
  if (reported) return;
  reported = true;
  printTable(rows);
  for (const [name, i] of Object.entries(bench.info)) process.stdout.write(`${name}: ${JSON.stringify(i)}\n`);
  const install = bench.install && { dir: bench.install.dir, commit: bench.install.commit, reused: bench.install.reused, uncommitted_changes_not_measured: bench.install.uncommitted };
  for (const [name, i] of Object.entries(bench.info)) if (typeof i.skipped === 'string') process.stderr.write(`WARNING: the ${name} path was SKIPPED: ${i.skipped}\n`);
  if (install && install.uncommitted_changes_not_measured.length > 0) process.stderr.write(`WARNING: uncommitted changes were not measured (see "install" in the results)\n`);
  if (stoppedBy) process.stderr.write(`WARNING: stopped by ${stoppedBy}: the scenarios after the last one printed did not run\n`);
  const out = env.BENCH_OUT ?? 'bench-results.json';
  writeFileSync(out, JSON.stringify({ ...environment(workers), ...(install && { install }), ...(stoppedBy && { stopped_by: stoppedBy }), paths: bench.info, results }, null, 2) + '\n');
  process.stdout.write(`\nwritten: ${out}\n`);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    report(signal);
    void stopAll().finally(() => process.exit(130));
  });
}
const { sshd } = bench;
// Setup, throughput and echo run on every path; the other scenarios once per deployment.
const paths = [...(bench.direct ? [bench.direct] : []), ...bench.gateways.map((g) => g.path)];
// Our own deployments; a peer product (webssh2) is compared in setup, throughput, echo and concurrency.
const gateways = bench.gateways.filter((g) => !g.basicOnly && !g.peer);
const concurrent = bench.gateways.filter((g) => !g.basicOnly);
const ratio = (value: number, direct: number | undefined, higherIsBetter: boolean) =>
  direct === undefined ? undefined : higherIsBetter ? `${Math.round((value / direct) * 100)} % of direct` : `${value >= direct ? '+' : ''}${(value - direct).toFixed(3)} ms`;
const isDirect = (name: string) => name === 'direct';

try {
  if (wanted.has('setup')) {
    for (const auth of ['password', 'publickey'] as const) {
      const figures = await setup(paths, auth, Number(env.BENCH_SETUPS ?? 25));
      const direct = figures.get('direct')?.p50_ms;
      for (const [name, r] of figures) record(`setup (${auth})`, name, r, isDirect(name) ? undefined : ratio(r.p50_ms, direct, false));
    }
  }
  if (wanted.has('throughput')) {
    // 5 rounds, paths interleaved, median per path: one run on 2 busy cores is noisy.
    // The processes each path adds on top of direct SSH (direct adds none).
    const cpuGroups = async (name: string): Promise<Record<string, number[]>> => {
      const g = bench.gateways.find((x) => x.path.name === name);
      return g ? { gateway: await g.pids(), ...(await g.front?.()) } : {};
    };
    const runs = new Map<string, { mbs: number; cpu: Record<string, number> }[]>();
    for (let round = 0; round < 5; round++) {
      for (const p of paths) {
        const r = await throughput(p, Number(env.BENCH_THROUGHPUT_MB ?? 50), await cpuGroups(p.name));
        runs.set(p.name, [...(runs.get(p.name) ?? []), { mbs: r.mb_per_s, cpu: r.cpuMsPerMb }]);
      }
    }
    const directRuns = runs.get('direct');
    const direct = directRuns && percentile(directRuns.map((r) => r.mbs), 50);
    for (const p of paths) {
      const rs = runs.get(p.name)!;
      const median = percentile(rs.map((r) => r.mbs), 50);
      const cpu = Object.fromEntries(Object.keys(rs[0]!.cpu).map((group) => [`${group}_cpu_ms_per_mb`, Math.round(percentile(rs.map((r) => r.cpu[group]!), 50))]));
      record('throughput', p.name, { mb_per_s_median: median, ...cpu, runs: rs.map((r) => r.mbs).join(' / ') }, isDirect(p.name) ? undefined : ratio(median, direct, true));
    }
  }
  if (wanted.has('echo')) {
    const terminals = new Map<string, BenchTerminal>();
    // The clients warm up on a gateway process of their own, started from the same install
    // (BENCH_ECHO_CLIENT_WARMUP=0: not at all).
    const clientWarmup = Number(env.BENCH_ECHO_CLIENT_WARMUP ?? 3000);
    const spare = clientWarmup > 0 && bench.install ? await startSingle(bench.install.dir) : undefined;
    try {
      if (clientWarmup > 0) await warmMeasuringClients([...(bench.direct ? [bench.direct] : []), ...(spare ? [gatewayPath('client warm-up', spare.url, sshd)] : [])], clientWarmup);
    } finally {
      await spare?.close();
    }
    try {
      for (const p of paths) terminals.set(p.name, await p.open('publickey'));
      const { cold, warm } = await interleavedEcho(terminals, 300, Number(env.BENCH_ECHO_WARMUP ?? 1000));
      for (const [label, figures] of [['echo latency', cold], ['echo latency, warm', warm]] as const) {
        const direct = [...figures].find(([name]) => isDirect(name))?.[1].p50_ms;
        for (const [name, r] of figures) record(label, name, r, isDirect(name) ? undefined : ratio(r.p50_ms, direct, false));
      }
    } finally {
      for (const t of terminals.values()) t.close();
    }
  }
  if (wanted.has('concurrency')) {
    const sizes = (env.BENCH_SESSIONS ?? '100,500,1000').split(',').map(Number);
    const memAt = new Map<string, { rss: number; rssGc: number; heapGc: number }[]>();
    for (const n of sizes) {
      for (const g of concurrent) {
        const pids = await g.pids();
        const nginx = (await g.front?.())?.nginx ?? [];
        const r = await concurrency(g.path, () => pids, n, () => nginx);
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
    for (const g of gateways) {
      const pids = await g.pids();
      record('flood (client acks 1 MB/s)', g.path.name, await flood(g.path, () => pids, Number(env.BENCH_FLOOD_SECONDS ?? 20), 1_000_000));
    }
  }
  if (wanted.has('browser')) for (const g of gateways) record('browser', g.path.name, await browserScenario(g.url, sshd, g.sshHost));
  if (wanted.has('capacity')) {
    // Every session goes to the one-process target (bench/capacityTarget.ts), not sshd.
    for (const g of gateways.filter((x) => x.path.name !== 'single')) {
      const target = await startCapacityTarget(g.sshHost);
      try {
        const nginx = (await g.front?.())?.nginx ?? [];
        const stackLog = g.path.name === 'stack' ? bench.stack?.nginx : undefined;
        const deployment = {
          path: gatewayPath(g.path.name, g.url, target),
          gatewayPids: () => g.pids(),
          nginxPids: () => nginx,
          ...(stackLog && { nginxErrorLog: () => stackLog.errorLog() }),
          // Its own process: the 5,000 load clients' event loop must not be in the probe's figure.
          probe: () => probeInChild({ name: g.path.name, url: g.url, target, samples: PROBE.backToBack, typed: PROBE.typed }),
          directProbe: () => probeInChild({ name: 'direct', url: '', target, samples: PROBE.backToBack, typed: PROBE.typed, direct: true }),
          otherPids: { target: [target.pid] },
          // The stack's metrics: its cluster URL through NGINX, and worker 0's own port.
          ...(g.path.name === 'stack' &&
            bench.stack && {
              scrapeCost: async () =>
                scrapeCost(
                  [
                    { name: 'cluster', url: `${g.url}/ssh/metrics`, token: BENCH_METRICS_TOKEN },
                    { name: 'worker', url: `http://127.0.0.1:${bench.stack!.workerPorts[0]}/metrics`, token: BENCH_METRICS_TOKEN },
                  ],
                  await g.pids(),
                ),
            }),
        };
        for (const n of (env.BENCH_CAPACITY_SESSIONS ?? '1000,2000,5000').split(',').map(Number)) {
          record(`capacity ${n}`, g.path.name, await capacity(deployment, n, { batch: Number(env.BENCH_CAPACITY_BATCH ?? 50) }));
        }
      } finally {
        await target.close();
      }
    }
  }
  if (wanted.has('relay') && bench.stack) {
    // Owner: worker 0. Relayed: a page on worker 1 using a terminal worker 0 owns.
    const [w0, w1] = bench.stack.workerPorts.map((p) => `http://127.0.0.1:${p}`) as [string, string];
    const owner = relayPath('stack worker (owner)', w0, sshd);
    const relayed = relayPath('stack relayed', w0, sshd, w1);
    const terminals = new Map<string, BenchTerminal>();
    try {
      for (const p of [owner, relayed]) terminals.set(p.name, await p.open('publickey'));
      const { cold, warm } = await interleavedEcho(terminals, 300, Number(env.BENCH_ECHO_WARMUP ?? 1000));
      for (const [label, figures] of [['relay echo latency', cold], ['relay echo latency, warm', warm]] as const) {
        const ownerEcho = figures.get(owner.name)!.p50_ms;
        for (const [name, r] of figures) record(label, name, r, name === owner.name ? undefined : `${ratio(r.p50_ms, ownerEcho, false) ?? ''} over owner`);
      }
    } finally {
      for (const t of terminals.values()) t.close();
    }
    const mbs = new Map<string, number[]>();
    for (let round = 0; round < 5; round++) {
      for (const p of [owner, relayed]) mbs.set(p.name, [...(mbs.get(p.name) ?? []), (await throughput(p, Number(env.BENCH_THROUGHPUT_MB ?? 50))).mb_per_s]);
    }
    const ownerMbs = percentile(mbs.get(owner.name)!, 50);
    for (const p of [owner, relayed]) {
      const median = percentile(mbs.get(p.name)!, 50);
      record('relay throughput', p.name, { mb_per_s_median: median, runs: mbs.get(p.name)!.join(' / ') }, p === owner ? undefined : `${Math.round((median / ownerMbs) * 100)} % of owner`);
    }
    const pid = (await bench.stack.pm2.list()).find((x) => x.port === bench.stack!.workerPorts[0])!.pid;
    record('detached session memory', 'stack worker (owner)', await detachedMemory(w0, bench.stack.adminToken, pid, sshd, Number(env.BENCH_DETACHED_SESSIONS ?? 200)));
  }
  if (wanted.has('transport')) {
    // Why files go over HTTP: the same bytes as a streamed response and as acknowledged Socket.IO frames.
    const t = await fileTransport(Number(env.BENCH_TRANSPORT_MB ?? 200));
    record('file transport', 'http response', t.http);
    record('file transport', 'socket.io websocket', t.websocket, `${Math.round((t.websocket.mb_per_s / t.http.mb_per_s) * 100)} % of http`);
    record('file transport', 'socket.io polling', t.polling, `${Math.round((t.polling.mb_per_s / t.http.mb_per_s) * 100)} % of http`);
  }
  if (wanted.has('files')) {
    // Upload and download through each gateway beside OpenSSH's sftp client, and echo during a download.
    const f = prepareFiles(sshd, Number(env.BENCH_FILE_MB ?? 200));
    try {
      const direct = bench.direct ? directSftp(sshd, f) : undefined;
      if (direct) record('files (sftp)', 'direct', { ...direct, ...(await directEchoDuringDownload(bench.direct!, sshd, f)), client: 'OpenSSH sftp; echo on ssh2 beside it' });
      for (const g of gateways) {
        const r = await gatewayFiles(g.url, sshd, f, g.sshHost);
        const pct = direct && `upload ${Math.round((r.upload_mb_per_s / direct.upload_mb_per_s) * 100)} %, download ${Math.round((r.download_mb_per_s / direct.download_mb_per_s) * 100)} % of sftp`;
        record('files (sftp)', g.path.name, r, pct);
      }
    } finally {
      f.close();
    }
  }
  if (wanted.has('recording') && bench.install) {
    // Recording on and off, one process each, from the same install (bench/scenarios/recording.ts).
    const plain = [...(bench.direct ? [bench.direct] : []), ...gateways.filter((g) => g.path.name === 'single').map((g) => g.path)];
    const r = await recordingOverhead(bench.install.dir, sshd, plain, Number(env.BENCH_THROUGHPUT_MB ?? 50), Number(env.BENCH_RECORDING_ROUNDS ?? 5));
    const base = r.throughput.single?.mb_per_s_median;
    for (const [name, f] of Object.entries(r.throughput)) record('recording throughput', name, f, name === 'single + recording' && base ? `${Math.round((f.mb_per_s_median / base) * 100)} % of single` : undefined);
    const baseEcho = r.echo.single?.p50_ms;
    for (const [name, f] of Object.entries(r.echo)) record('recording echo latency', name, f, name === 'single + recording' ? ratio(f.p50_ms, baseEcho, false)?.concat(' over single') : undefined);
    record('recording writer', 'single + recording', r.recorder);
  }
  // `pm2 reload` of the local stack; the container's equivalent is a deploy, not measured here.
  if (wanted.has('reload') && bench.stack) record('reload under load', 'stack', await reloadUnderLoad(bench.stack, sshd, 6));
} finally {
  report();
  await stopAll();
}
