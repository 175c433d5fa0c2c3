/**
 * The Prometheus endpoints of real gateways (README "Metrics"): what a session and a
 * failed login leave in a process's metrics, who may read them, and the cluster view
 * over Redis, which still answers (marked incomplete) when Redis is gone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusConfig } from '../harness/prometheus.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const TOKEN = 'metrics-token-for-the-tests-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

let sshd: TestSshd;
const gateways: TestGateway[] = [];
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  for (const g of gateways) await g.close();
  await sshd?.close();
});

async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const g = await startGateway(env);
  gateways.push(g);
  return g;
}

/** Every sample of the text format as `series → value`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include every `labels` pair. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, value] of samples(text)) {
    if (!series.startsWith(`${name}{`) && series !== name) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

function labelValues(text: string): string[] {
  return [...samples(text).keys()].flatMap((s) => [...s.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
}

async function scrape(url: string, headers: Record<string, string> = auth): Promise<string> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return res.text();
}

function connect(g: TestGateway, password = sshd.users.password.password): TerminalClient {
  const c = new TerminalClient(g.url);
  clients.push(c);
  c.start({ host: '127.0.0.1', port: sshd.port, username: sshd.users.password.username, password });
  return c;
}

describe('a single gateway', () => {
  it('counts a session and a failed login: method, phase histograms, bytes, end code, failure reason; no user input in labels', async () => {
    const g = await gateway({ METRICS_TOKEN: TOKEN });
    const c = connect(g);
    await c.waitForState('connected');
    c.send('echo metrics-$((6*7))\r');
    await c.waitForText('metrics-42');
    let text = await scrape(`${g.url}/metrics`);
    expect(total(text, 'webssh_sessions_live')).toBe(1);
    expect(total(text, 'webssh_socketio_connections', { transport: 'websocket' })).toBe(1);
    expect(total(text, 'webssh_ssh_sent_bytes_total')).toBe('echo metrics-$((6*7))\r'.length);
    expect(total(text, 'webssh_ssh_received_bytes_total')).toBeGreaterThan(0);
    c.socket.emit('end');
    await c.waitForEnd();

    const bad = connect(g, 'wrong-password');
    expect((await bad.waitForEnd()).code).toBe('AUTH_FAILED');
    text = await scrape(`${g.url}/metrics`);
    expect(total(text, 'webssh_sessions_live')).toBe(0);
    // The test sshd asks for passwords through PAM: keyboard-interactive.
    const method = 'keyboard-interactive';
    expect(total(text, 'webssh_logins_total', { method, result: 'success' })).toBe(1);
    expect(total(text, 'webssh_logins_total', { method, result: 'failure' })).toBe(1);
    expect(total(text, 'webssh_login_failures_total', { reason: 'AUTH_FAILED', method })).toBe(1);
    expect(total(text, 'webssh_login_failures_total')).toBe(1);
    expect(total(text, 'webssh_logins_total')).toBe(2);
    expect(total(text, 'webssh_sessions_started_total')).toBe(1);
    expect(total(text, 'webssh_sessions_ended_total', { code: 'USER_CLOSED' })).toBe(1);
    for (const h of ['webssh_connect_seconds', 'webssh_auth_seconds', 'webssh_shell_seconds']) expect(total(text, `${h}_count`)).toBe(1);
    expect(total(text, 'webssh_auth_seconds_count', { method })).toBe(1);
    expect(total(text, 'webssh_ssh_received_bytes_total')).toBeGreaterThan(0); // kept after the end
    expect(total(text, 'webssh_draining')).toBe(0);
    expect(total(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThan(0); // Node's defaults
    expect(total(text, 'webssh_sessions_live', { host: g.gateway.node.host, instance: String(process.pid) })).toBe(0);
    // The target the user typed, the user name: in no label.
    const values = labelValues(text);
    expect(values).not.toContain('127.0.0.1');
    expect(values.filter((v) => v.includes(sshd.users.password.username))).toEqual([]);
  });

  it('needs the token when one is set, on both URLs', async () => {
    const g = await gateway({ METRICS_TOKEN: TOKEN });
    for (const path of ['/metrics', '/ssh/metrics']) {
      const res = await fetch(`${g.url}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect((await fetch(`${g.url}${path}`, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
    }
    // Without Redis the cluster is this process: complete.
    const text = await scrape(`${g.url}/ssh/metrics`);
    expect(total(text, 'webssh_metrics_cluster_complete')).toBe(1);
    expect(total(text, 'webssh_metrics_cluster_processes')).toBe(1);
  });

  it('without a token: /metrics answers direct loopback requests only, the cluster URL does not exist', async () => {
    const g = await gateway();
    await scrape(`${g.url}/metrics`, {});
    expect((await fetch(`${g.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.5' } })).status).toBe(404);
    expect((await fetch(`${g.url}/ssh/metrics`)).status).toBe(404);
  });
});

describe('two gateways on one Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('one scrape shows both processes; with Redis down it still answers at once with its own, marked incomplete', async () => {
    const env = { REDIS_URL: redis.url, METRICS_TOKEN: TOKEN };
    const a = await gateway({ ...env, GATEWAY_NODE_NAME: 'gw-a' });
    const b = await gateway({ ...env, GATEWAY_NODE_NAME: 'gw-b' });
    await Promise.all([a.gateway.ready(), b.gateway.ready()]);
    const c = connect(b);
    await c.waitForState('connected');

    // The adapter learns of the other process by its heartbeat: ask until both answer.
    let text = '';
    await expect
      .poll(async () => total((text = await scrape(`${a.url}/ssh/metrics`)), 'webssh_metrics_cluster_processes'), { timeout: 20_000, interval: 250 })
      .toBe(2);
    expect(total(text, 'webssh_metrics_cluster_complete')).toBe(1);
    expect(total(text, 'webssh_sessions_live', { host: 'gw-b' })).toBe(1);
    expect(total(text, 'webssh_sessions_live', { host: 'gw-a' })).toBe(0);
    expect(total(text, 'webssh_redis_up', { host: 'gw-a' })).toBe(1);
    expect(total(text, 'process_start_time_seconds', { host: 'gw-b' })).toBeGreaterThan(0);
    // Histograms merge per process too.
    expect(total(text, 'webssh_connect_seconds_count', { host: 'gw-b' })).toBe(1);

    await redis.stop();
    try {
      // Within the bound, not after the adapter's 5 s request timeout.
      const t0 = Date.now();
      await expect.poll(async () => total((text = await scrape(`${a.url}/ssh/metrics`)), 'webssh_metrics_cluster_complete'), { timeout: 10_000, interval: 100 }).toBe(0);
      const t1 = Date.now();
      text = await scrape(`${a.url}/ssh/metrics`);
      expect(Date.now() - t1).toBeLessThan(2_000);
      expect(total(text, 'webssh_metrics_cluster_complete')).toBe(0);
      expect(total(text, 'webssh_metrics_cluster_processes')).toBe(1);
      expect(total(text, 'webssh_redis_up', { host: 'gw-a' })).toBe(0);
      expect(total(text, 'webssh_sessions_live', { host: 'gw-b' })).toBe(0); // absent: not asked
      expect(text).toContain('host="gw-a"');
      const local = await scrape(`${b.url}/metrics`);
      expect(total(local, 'webssh_sessions_live', { host: 'gw-b' })).toBe(1);
      expect(t1 - t0).toBeLessThan(10_000);
    } finally {
      await redis.start();
    }
  }, 60_000);
});

describe('prometheus.yml', () => {
  it("README's examples and the test harness's config pass promtool", () => {
    const dir = mkdtempSync(join(tmpdir(), 'webssh-promtool-'));
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, TOKEN);
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!.replaceAll('/etc/prometheus/webssh-metrics-token', tokenFile));
      expect(examples.length).toBeGreaterThanOrEqual(2);
      examples.push(prometheusConfig([{ job: 'webssh', targets: ['127.0.0.1:8080'], path: '/ssh/metrics', token: TOKEN }]));
      examples.forEach((yaml, i) => {
        const file = join(dir, `prometheus-${i}.yml`);
        writeFileSync(file, yaml);
        expect(() => execFileSync('promtool', ['check', 'config', file], { stdio: 'pipe' }), yaml).not.toThrow();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
