/**
 * The capacity scenario's echo probe in a process of its own. With 5,000 load clients in
 * the bench process its event loop lagged 60 ms at p99, and a probe sharing that loop
 * measured the bench client, not the gateway. Run as
 * `BENCH_PROBE='{"name","url","target","samples","typed"}' tsx bench/capacityProbe.ts`;
 * prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitForExit } from '../src/tools/procs.js';
import { guard } from '../src/tools/reaper.js';
import { echoLatency, typedEchoLatency } from './scenarios/basic.js';
import { directPath, gatewayPath, type BenchTerminal, type SshTarget } from './terminals.js';

interface ProbeSpec {
  name: string;
  url: string;
  target: SshTarget;
  /** Back-to-back keystrokes (each sent when the last came back): a fraction of a second of the load. */
  samples: number;
  /** Then keystrokes spaced as typed (bench/scenarios/basic.ts `typedEchoLatency`). */
  typed: { samples: number; gapMs: number };
  /** Straight to the target with ssh2, no gateway: the same load's floor, measured beside it. */
  direct?: boolean;
}

interface EchoP {
  p50_ms: number;
  p99_ms: number;
}

/** The typed keystrokes' figures, and the back-to-back ones beside them. */
export type ProbeResult = EchoP & { back_to_back: EchoP };

/** The probe's measurement on an open terminal: back to back, then as typed. */
export async function probeEcho(t: BenchTerminal, samples: number, typed: ProbeSpec['typed']): Promise<ProbeResult> {
  const backToBack = await echoLatency(t, samples);
  return { ...(await typedEchoLatency(t, typed.samples, typed.gapMs)), back_to_back: backToBack };
}

const SELF = fileURLToPath(import.meta.url);
const PROBE_TIMEOUT_MS = 120_000;

/** Runs the probe in a child process against a gateway URL; rejects with its stderr. */
export async function probeInChild(spec: ProbeSpec): Promise<ProbeResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, BENCH_PROBE: JSON.stringify({ ...spec, target: { host: spec.target.host, port: spec.target.port, users: spec.target.users } }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const release = guard(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    if (!(await waitForExit(child, PROBE_TIMEOUT_MS))) throw new Error(`probe: no result within ${PROBE_TIMEOUT_MS} ms`);
    if (child.exitCode !== 0) throw new Error(`probe: ${err.trim().split('\n').at(-1) ?? `exit ${child.exitCode}`}`);
    return JSON.parse(out) as ProbeResult;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    release();
  }
}

if (process.env.BENCH_PROBE && process.argv[1] === SELF) {
  const spec = JSON.parse(process.env.BENCH_PROBE) as ProbeSpec;
  const path = spec.direct ? directPath(spec.target) : gatewayPath(spec.name, spec.url, spec.target);
  const t = await path.open('publickey', { timeoutMs: 30_000 });
  try {
    process.stdout.write(JSON.stringify(await probeEcho(t, spec.samples, spec.typed)) + '\n');
  } finally {
    t.close();
  }
  process.exit(0);
}
