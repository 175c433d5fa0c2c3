/**
 * A real Prometheus (Debian's `prometheus` package, installed by
 * scripts/ensure-system-deps.mjs) on a free loopback port, with a generated config and
 * its TSDB in a temp dir, scraping every second; stopped by PID. Tests read what it
 * scraped through its HTTP API, as an operator's dashboard would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/tools/ports.js';
import { killTree, waitForExit } from '../../src/tools/procs.js';
import { guard } from '../../src/tools/reaper.js';
import { waitForHttp } from '../../src/tools/waitForHttp.js';

export interface ScrapeJob {
  job: string;
  /** `host:port` of each target. */
  targets: string[];
  path: string;
  /** Sent as `Authorization: Bearer …` (Prometheus' `authorization.credentials`). */
  token?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface TestPrometheus {
  url: string;
  /** An instant query: every series of the result with its value. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `promql` until its single value satisfies `want`, up to `timeoutMs`; returns the last value. */
  until(promql: string, want: (v: number | undefined) => boolean, timeoutMs?: number): Promise<number | undefined>;
  /** The scrape targets' health as Prometheus reports it (for failure messages). */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  close(): Promise<void>;
}

/** prometheus.yml for `jobs`: the same shape as README's examples. */
export function prometheusConfig(jobs: ScrapeJob[], intervalSeconds = 1): string {
  const lines = ['global:', `  scrape_interval: ${intervalSeconds}s`, `  scrape_timeout: ${intervalSeconds}s`, 'scrape_configs:'];
  for (const j of jobs) {
    lines.push(
      `  - job_name: ${JSON.stringify(j.job)}`,
      `    metrics_path: ${JSON.stringify(j.path)}`,
      // The gateway's own `instance` label (the PM2 worker) is kept, not renamed exported_instance.
      '    honor_labels: true',
      ...(j.token ? ['    authorization:', `      credentials: ${JSON.stringify(j.token)}`] : []),
      '    static_configs:',
      `      - targets: ${JSON.stringify(j.targets)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(jobs: ScrapeJob[]): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'webssh-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(jobs));
  let child: ChildProcess | undefined;
  let release = (): void => undefined;
  let url = '';
  let output = '';
  // A port picked here may be taken before Prometheus binds it: pick again.
  for (let attempt = 1; !child; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const c = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    c.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const releaseThis = c.pid === undefined ? () => undefined : guard(c.pid, dir);
    try {
      await waitForHttp(`${url}/-/ready`, 30_000, () => c.exitCode === null);
      child = c;
      release = releaseThis;
    } catch (err) {
      if (c.pid !== undefined) killTree(c.pid, 'SIGKILL');
      await waitForExit(c, 5_000);
      releaseThis();
      if (!/address already in use/i.test(output) || attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`prometheus did not start: ${(err as Error).message}\n${output}`, { cause: err });
      }
    }
  }
  const running = child;

  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${promql}: ${body.error ?? res.status}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const targets = async () => {
    const res = await fetch(`${url}/api/v1/targets`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
    return body.data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health, lastError: t.lastError }));
  };
  return {
    url,
    query,
    targets,
    until: async (promql, want, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: number | undefined;
      for (;;) {
        const result = await query(promql);
        if (result.length > 1) throw new Error(`${promql}: expected one series, got ${JSON.stringify(result)}`);
        last = result[0]?.value;
        if (want(last) || Date.now() > deadline) return last;
        await new Promise((r) => setTimeout(r, 250)); // polling interval: the next query decides
      }
    },
    close: async () => {
      if (running.exitCode === null) {
        running.kill('SIGTERM');
        if (!(await waitForExit(running, 10_000)) && running.pid !== undefined) killTree(running.pid, 'SIGKILL');
      }
      release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
