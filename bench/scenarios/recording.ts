/**
 * Issue 15: what recording costs. A second `npm start` gateway from the same install with
 * RECORDINGS_DIR set, measured beside the plain one (and direct): throughput (rounds
 * interleaved, median) and echo latency, plus how far the recorder's write stream ever
 * fell behind the disk (the `recording closed` log line's peakBufferedBytes), which is
 * what the 1 MiB cap in src/server/recordings.ts is set against.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestSshd } from '../../tests/harness/sshd.js';
import { startSingle } from '../gateways.js';
import { percentile } from '../stats.js';
import { gatewayPath, type BenchPath } from '../terminals.js';
import { echoLatency, throughput } from './basic.js';

export interface RecordingFigures {
  throughput: Record<string, { mb_per_s_median: number; runs: string }>;
  echo: Record<string, { p50_ms: number; p99_ms: number; n: number }>;
  recorder: { files: number; bytes_on_disk: number; peak_buffered_bytes: number };
}

export async function recordingOverhead(tree: string, sshd: TestSshd, others: BenchPath[], megabytes: number, rounds: number): Promise<RecordingFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'webssh-bench-rec-'));
  let peak = 0;
  const recorded = await startSingle(tree, { RECORDINGS_DIR: dir, LOG_LEVEL: 'info' }, (line) => {
    if (!line.includes('recording closed')) return;
    const p = (JSON.parse(line) as { peakBufferedBytes?: number }).peakBufferedBytes ?? 0;
    if (p > peak) peak = p;
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= recorded.close());
  try {
    const paths = [...others, gatewayPath('single + recording', recorded.url, sshd)];
    const mbs = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const p of paths) mbs.set(p.name, [...(mbs.get(p.name) ?? []), (await throughput(p, megabytes)).mb_per_s]);
    }
    const echo: RecordingFigures['echo'] = {};
    for (const p of paths) {
      const t = await p.open('publickey');
      echo[p.name] = await echoLatency(t, 300);
      t.close();
    }
    // The last session's "recording closed" line comes as it ends, at the latest on close.
    await stop();
    const files = readdirSync(dir);
    return {
      throughput: Object.fromEntries([...mbs].map(([name, runs]) => [name, { mb_per_s_median: percentile(runs, 50), runs: runs.join(' / ') }])),
      echo,
      recorder: { files: files.length, bytes_on_disk: files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0), peak_buffered_bytes: peak },
    };
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
