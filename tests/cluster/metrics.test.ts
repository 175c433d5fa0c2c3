/**
 * A real Prometheus scraping the production shape (NGINX + 2 PM2 workers + Redis +
 * OpenSSH): one job scrapes the cluster URL through NGINX (the default, README
 * "Metrics"), one scrapes each worker's own port; both must see the same sessions.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/tools/stack.js';
import { openShell, routeCookie, shellsOnEveryWorker } from '../harness/cluster.js';
import { startPrometheus, type TestPrometheus } from '../harness/prometheus.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const METRICS_TOKEN = 'cluster-metrics-token-0123456789abcdefghij';

let sshd: TestSshd;
let stack: Stack;
let prom: TestPrometheus;
const open: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  stack = await startStack({ instances: 2, env: { SSH_ALLOWED_TARGETS: '127.0.0.1:*', METRICS_TOKEN } });
  const nginx = new URL(stack.url).host;
  prom = await startPrometheus([
    { job: 'webssh', targets: [nginx], path: '/ssh/metrics', token: METRICS_TOKEN },
    { job: 'webssh-workers', targets: stack.workerPorts.map((p) => `127.0.0.1:${p}`), path: '/metrics', token: METRICS_TOKEN },
    { job: 'webssh-no-token', targets: [nginx], path: '/ssh/metrics' },
  ]);
}, 120_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  await prom?.close();
  await stack?.stop();
  await sshd?.close();
}, 120_000);

/** Polls Prometheus until `promql` gives `want`; the message names the targets' health when it does not. */
async function expectEventually(promql: string, want: number, timeoutMs = 30_000): Promise<void> {
  const last = await prom.until(promql, (v) => v === want, timeoutMs);
  if (last !== want) expect({ promql, last, targets: await prom.targets() }).toEqual({ promql, last: want, targets: 'all up' });
}

describe('Prometheus through NGINX', () => {
  it('the cluster URL needs the token, and a worker URL is not served through NGINX', async () => {
    expect((await fetch(`${stack.url}/ssh/metrics`)).status).toBe(401);
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(404);
    const res = await fetch(`${stack.url}/ssh/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    await res.text();
    await expectEventually('up{job="webssh-no-token"}', 0);
    await expectEventually('sum(up{job=~"webssh|webssh-workers"})', 3);
    // Both workers answer every cluster scrape once the adapter knows them both.
    await expectEventually('webssh_metrics_cluster_processes{job="webssh"}', 2);
    await expectEventually('webssh_metrics_cluster_complete{job="webssh"}', 1);
  });

  it('5 terminals across both workers: 5 live sessions summed over instances, then 0 once closed', async () => {
    await expectEventually('sum(webssh_sessions_live{job="webssh"})', 0);
    const pinned = await shellsOnEveryWorker(stack.url, sshd, stack.adminToken, { workers: 2, perWorker: 2 });
    const fifth = await openShell(stack.url, sshd);
    const clients = [...pinned.map((p) => p.client), fifth];
    open.push(...clients);

    await expectEventually('sum(webssh_sessions_live{job="webssh"})', 5);
    // Per worker through one URL: each instance keeps its own series.
    const perInstance = await prom.query('sum by (instance) (webssh_sessions_live{job="webssh"})');
    expect(perInstance.map((s) => s.metric.instance).sort()).toEqual(['0', '1']);
    expect(perInstance.every((s) => s.value >= 2)).toBe(true);
    // Scraping each worker directly gives the same total.
    await expectEventually('sum(webssh_sessions_live{job="webssh-workers"})', 5);
    // shellsOnEveryWorker may have opened (and closed) more to place them: at least 5.
    await expectEventually('sum(webssh_sessions_started_total{job="webssh"}) >= bool 5', 1);

    for (const c of clients) c.socket.emit('end');
    await Promise.all(clients.map((c) => c.waitForEnd()));
    await expectEventually('sum(webssh_sessions_live{job="webssh"})', 0);
    await expectEventually('sum(webssh_sessions_ended_total{job="webssh",code="USER_CLOSED"}) >= bool 5', 1);
    await expectEventually('sum(webssh_ssh_received_bytes_total{job="webssh"}) > bool 0', 1);
  }, 120_000);

  it('a failed login shows up in the failures counter with its reason', async () => {
    const failures = 'sum(webssh_login_failures_total{job="webssh",reason="AUTH_FAILED"})';
    await expectEventually(failures, 0); // the series exist from the start, at 0
    const c = new TerminalClient(stack.url, { cookie: await routeCookie(stack.url) });
    open.push(c);
    c.start({ host: '127.0.0.1', port: sshd.port, username: sshd.users.password.username, password: 'not-the-password' });
    expect((await c.waitForEnd()).code).toBe('AUTH_FAILED');
    await expectEventually(failures, 1);
    await expectEventually('sum(webssh_logins_total{job="webssh",result="failure"})', 1);
  }, 60_000);
});

describe('docs/grafana/webssh-dashboard.json', () => {
  it('every panel query is valid PromQL and finds series in what Prometheus scraped', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/webssh-dashboard.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const promql = expr.replaceAll('$job', 'webssh');
        // prom.query throws on invalid PromQL; a wrong metric name gives no series.
        if ((await prom.query(promql)).length === 0) empty.push(`${panel.title}: ${promql}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
