/**
 * What a Prometheus scrape costs a loaded deployment (issue 15): the cluster view through
 * NGINX (every worker answers over Redis and one merges) and one worker's own /metrics.
 * Each is fetched `rounds` times in a row by curl (its own process: the bench's event
 * loop, busy with the load clients, stays out of the timing); reported are the median
 * and worst time, the response size, and the gateway CPU per scrape: the workers' CPU
 * during the scrapes minus what they burn anyway at that load (measured just before over
 * an equal time without scrapes).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { cpuSeconds, nowMs, percentile, round } from '../stats.js';

const run = promisify(execFile);

export interface ScrapeTarget {
  /** Prefix of the figures: `cluster`, `worker`. */
  name: string;
  url: string;
  token: string;
}

async function curl(t: ScrapeTarget): Promise<{ ms: number; bytes: number }> {
  const { stdout } = await run('curl', ['-sS', '--fail', '--max-time', '20', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', '-H', `Authorization: Bearer ${t.token}`, t.url]);
  const [seconds, bytes] = stdout.trim().split(' ').map(Number) as [number, number];
  return { ms: seconds * 1000, bytes };
}

const cpuOf = (pids: number[]) => pids.reduce((a, p) => a + cpuSeconds(p), 0);

export async function scrapeCost(targets: ScrapeTarget[], gatewayPids: number[], rounds = 20): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of targets) {
    await curl(t); // warm: first-time code paths and connections
    const times: number[] = [];
    let bytes = 0;
    const [c0, w0] = [cpuOf(gatewayPids), nowMs()];
    for (let i = 0; i < rounds; i++) {
      const r = await curl(t);
      times.push(r.ms);
      bytes = r.bytes;
    }
    const [c1, w1] = [cpuOf(gatewayPids), nowMs()];
    await delay(w1 - w0); // the same time without scrapes: the load's own CPU (a window, not a wait)
    const c2 = cpuOf(gatewayPids);
    const busyMs = (c1 - c0 - (c2 - c1)) * 1000;
    out[`${t.name}_scrape_p50_ms`] = round(percentile(times, 50), 1);
    out[`${t.name}_scrape_max_ms`] = round(Math.max(...times), 1);
    out[`${t.name}_scrape_cpu_ms`] = round(Math.max(0, busyMs) / rounds, 1);
    out[`${t.name}_scrape_kb`] = round(bytes / 1000, 1);
  }
  return out;
}
