/** setup, throughput and echo latency: the same measurement on every path. */
import { PROMPT, type Auth, type BenchPath, type BenchTerminal } from '../terminals.js';
import { cpuSeconds, nowMs, percentile, round } from '../stats.js';

/**
 * Connect to prompt, `n` times per path, the paths interleaved (order reversed each
 * round): run one after the other, minutes apart, the host's drift moved a path's p50 by
 * more than the target's 20 ms margin. The clock starts where the user's wait starts,
 * at the connect; a gateway page's load before it is reported beside it.
 */
export async function setup(paths: readonly BenchPath[], auth: Auth, n: number) {
  const connect = new Map(paths.map((p) => [p.name, [] as number[]]));
  const page = new Map(paths.map((p) => [p.name, [] as number[]]));
  for (let i = 0; i < n; i++) {
    for (const p of i % 2 ? [...paths].reverse() : paths) {
      const t0 = nowMs();
      const t = await p.open(auth);
      connect.get(p.name)!.push(t.opened?.connectMs ?? nowMs() - t0);
      if (t.opened?.pageMs !== undefined) page.get(p.name)!.push(t.opened.pageMs);
      t.close();
    }
  }
  return new Map(
    paths.map((p) => {
      const times = connect.get(p.name)!;
      const pages = page.get(p.name)!;
      const figures = { p50_ms: round(percentile(times, 50), 1), p95_ms: round(percentile(times, 95), 1), n, ...(pages.length > 0 && { page_load_p50_ms: round(percentile(pages, 50), 1) }) };
      return [p.name, figures];
    }),
  );
}

/**
 * MB/s until the marker, and the CPU each named process group spent per MB meanwhile
 * (a cost figure that the shared cores' noise moves far less than MB/s).
 */
export async function throughput(path: BenchPath, megabytes: number, cpuGroups: Record<string, number[]> = {}) {
  const t = await path.open('publickey');
  try {
    const cpu = () => Object.values(cpuGroups).map((pids) => pids.reduce((a, pid) => a + cpuSeconds(pid), 0));
    const start = t.received;
    const cpu0 = cpu();
    const t0 = nowMs();
    // The marker is computed by the shell, so the echoed command line never matches it.
    t.send(`head -c ${megabytes * 1_000_000} /dev/zero | base64; echo THRU-$((40+2))-END\r`);
    await t.waitFor(/THRU-42-END/, 600_000);
    const seconds = (nowMs() - t0) / 1000;
    const bytes = t.received - start;
    const cpu1 = cpu();
    const cpuMsPerMb = Object.fromEntries(Object.keys(cpuGroups).map((name, i) => [name, ((cpu1[i]! - cpu0[i]!) * 1000) / (bytes / 1e6)]));
    return { mb_per_s: round(bytes / 1e6 / seconds, 1), bytes, seconds: round(seconds, 2), cpuMsPerMb };
  } finally {
    t.close();
  }
}

let cats = 0;

/**
 * Puts the terminal into a raw-mode `cat`. The shell computes the marker, so the echoed
 * command line never matches it, and each call's marker is new: a terminal's kept output
 * may still hold the one an earlier `cat` printed. `isig` keeps Ctrl-C a signal in raw
 * mode, so endCat can stop it (plain `stty raw` passed Ctrl-C to `cat`, which echoed it
 * and the next command line too).
 */
async function startCat(t: BenchTerminal): Promise<void> {
  const n = ++cats;
  t.send(`stty raw -echo isig; echo CAT-$((2+${n})); cat\r`);
  await t.waitFor(new RegExp(`CAT-${2 + n}\\b`));
}

/**
 * Stops the `cat` and waits for the shell's prompt: a command sent before it could be
 * read by the dying `cat`, or flushed with the interrupt, and never run.
 */
async function endCat(t: BenchTerminal): Promise<void> {
  t.send('\x03');
  await t.waitFor(PROMPT, 10_000);
}

/** One keystroke at a time to a raw-mode `cat`; the round trip until it comes back. */
export async function echoLatency(t: BenchTerminal, samples: number) {
  await startCat(t);
  const times: number[] = [];
  for (let i = 0; i < samples + 5; i++) {
    const ms = await oneEcho(t, i);
    if (i >= 5) times.push(ms); // the first few warm up the path
  }
  await endCat(t);
  return { p50_ms: round(percentile(times, 50), 3), p99_ms: round(percentile(times, 99), 3), n: times.length };
}

/**
 * Warms this process's own clients before a `cold` measurement: ssh2 (direct) and
 * socket.io-client (every gateway path), each on a terminal of its own through `paths`,
 * which must not be the paths measured. In a fresh bench process the clients' code is
 * as unoptimised as a fresh gateway's: measured on one gateway, its first 600 keystrokes
 * echoed 0.88 ms above direct, and a second fresh gateway's, with the client already warm,
 * 0.58 ms. A browser does not share this process's JIT, so without this the client's
 * warm-up was counted as the gateway's.
 */
export async function warmMeasuringClients(paths: readonly BenchPath[], keystrokes: number): Promise<void> {
  for (const p of paths) {
    const t = await p.open('publickey');
    try {
      await echoLatency(t, keystrokes);
    } finally {
      t.close();
    }
  }
}

/** One keystroke to a raw `cat` and the time until its echo arrives. */
async function oneEcho(t: BenchTerminal, i: number): Promise<number> {
  const ch = String.fromCharCode(97 + (i % 26));
  const arrived = new Promise<void>((resolve) => {
    const off = t.onData((chunk) => {
      if (chunk.includes(ch)) {
        off();
        resolve();
      }
    });
  });
  const t0 = nowMs();
  t.send(ch);
  await withTimeout(arrived, 10_000, 'echo');
  return nowMs() - t0;
}

export interface EchoFigures {
  p50_ms: number;
  p99_ms: number;
  n: number;
}

/**
 * Echo on several paths at once, in rounds of `perRound` keystrokes, path after path (the
 * order reversed every round), so every path meets the same host: on these shared cores a
 * path's p50 moved 0.37–1.18 ms between back-to-back runs while the others waited their
 * turn. `cold`: the first `samples` keystrokes of a fresh terminal (after 5 that open the
 * path). `warm`: `samples` more after `warmup` unmeasured ones per path, when every
 * process on the path has run the keystroke code often enough for V8 to optimise it,
 * as in a gateway that has served for a while.
 */
export async function interleavedEcho(terminals: ReadonlyMap<string, BenchTerminal>, samples: number, warmup: number, perRound = 50) {
  const names = [...terminals.keys()];
  for (const t of terminals.values()) {
    await startCat(t);
  }
  let sent = 0;
  const phase = async (count: number, keep: boolean) => {
    const times = new Map(names.map((n) => [n, [] as number[]]));
    for (let done = 0, round = 0; done < count; done += perRound, round++) {
      for (const name of round % 2 ? [...names].reverse() : names) {
        for (let i = 0; i < Math.min(perRound, count - done); i++) {
          const ms = await oneEcho(terminals.get(name)!, sent + i);
          if (keep) times.get(name)!.push(ms);
        }
      }
      sent += perRound;
    }
    return times;
  };
  const figures = (times: Map<string, number[]>) =>
    new Map([...times].map(([name, ts]) => [name, { p50_ms: round(percentile(ts, 50), 3), p99_ms: round(percentile(ts, 99), 3), n: ts.length } satisfies EchoFigures]));
  await phase(5, false);
  const cold = figures(await phase(samples, true));
  await phase(warmup, false);
  const warm = figures(await phase(samples, true));
  await Promise.all([...terminals.values()].map(endCat));
  return { cold, warm };
}

/** Times `samples` keystrokes to a raw-mode `cat`, each sent after a pause of `gap()` ms. */
async function spacedEchoTimes(t: BenchTerminal, samples: number, gap: () => number): Promise<number[]> {
  await startCat(t);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    await new Promise((resolve) => setTimeout(resolve, gap()));
    times.push(await oneEcho(t, i));
  }
  await endCat(t);
  return times;
}

/**
 * Keystrokes with pauses between them (`gapMs`), as a person types now and then while a
 * transfer runs: each one meets the transfer at full speed, not one already yielding.
 */
export async function sparseEchoLatency(t: BenchTerminal, samples: number, gapMs: number) {
  const times = await spacedEchoTimes(t, samples, () => gapMs);
  return { p50_ms: round(percentile(times, 50), 3), p90_ms: round(percentile(times, 90), 3), max_ms: round(Math.max(...times), 3), n: times.length };
}

/**
 * Keystrokes as a person types them while other terminals print: one every `gapMs` on
 * average, the pause drawn from ±50 % of it, so they land at every phase of output that
 * comes in periodic bursts, over `samples × gapMs` of the load rather than the fraction of
 * a second that back-to-back keystrokes cover.
 */
export async function typedEchoLatency(t: BenchTerminal, samples: number, gapMs: number) {
  const times = await spacedEchoTimes(t, samples, () => gapMs * (0.5 + Math.random()));
  return { p50_ms: round(percentile(times, 50), 3), p99_ms: round(percentile(times, 99), 3), n: times.length };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

