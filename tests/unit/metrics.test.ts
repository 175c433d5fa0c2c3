import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../src/server/core/flowControl.js';
import { metricsAccess } from '../../src/server/http/metricsRoutes.js';
import { mergeMetrics } from '../../src/server/observe/clusterMetrics.js';
import { GatewayEvents } from '../../src/server/observe/gatewayEvents.js';
import { createMetrics, type MetricsSources } from '../../src/server/observe/metrics.js';
import type { SshSession } from '../../src/server/ssh/sshSession.js';
import { SessionRegistry } from '../../src/server/socket/sessionRegistry.js';

const TOKEN = 'a-metrics-token-that-is-long-enough-0123';
const ref = { session: 's1', client: '198.51.100.7', target: { username: 'alice', host: 'typed-by-a-user.example', port: 22 } };

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  return {
    node: { host: 'gw1', instance: '3', pid: 42 },
    events: new GatewayEvents(),
    registry: new SessionRegistry(),
    transports: () => [],
    draining: () => false,
    ...over,
  };
}

/** The value of one series in Prometheus text format (undefined: no such series). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Just what the registry reads of a session. */
function fakeSession(bytesIn: number, sent: number, closedMs: number): SshSession {
  let t = 0;
  const flow = new FlowControl({ budget: sent, minGrant: 1 }, () => t);
  flow.received(sent); // window closed from t=0
  t = closedMs;
  return { bytesIn, flow } as unknown as SshSession;
}

describe('metricsAccess', () => {
  const req = (headers: Record<string, string>, peer = '127.0.0.1') => ({ headers, peer });

  it('with a token, wants it as a bearer on both scopes, from anywhere', () => {
    expect(metricsAccess(req({ authorization: `Bearer ${TOKEN}` }, '203.0.113.5'), 'cluster', TOKEN)).toBe('allowed');
    expect(metricsAccess(req({ authorization: `Bearer ${TOKEN}` }), 'local', TOKEN)).toBe('allowed');
    expect(metricsAccess(req({}), 'local', TOKEN)).toBe('unauthorized'); // loopback is no excuse
    expect(metricsAccess(req({ authorization: `Bearer ${TOKEN}x` }), 'cluster', TOKEN)).toBe('unauthorized');
  });

  it('without a token: no cluster view, and a worker answers only direct loopback peers', () => {
    expect(metricsAccess(req({}), 'cluster', undefined)).toBe('not-found');
    expect(metricsAccess(req({}), 'local', undefined)).toBe('allowed');
    expect(metricsAccess(req({}, '::ffff:127.0.0.1'), 'local', undefined)).toBe('allowed');
    expect(metricsAccess(req({}, '10.0.0.8'), 'local', undefined)).toBe('not-found');
    // NGINX on loopback forwards the world: its requests are not local.
    expect(metricsAccess(req({ 'x-forwarded-for': '203.0.113.5' }), 'local', undefined)).toBe('not-found');
    expect(metricsAccess(req({ 'x-real-ip': '203.0.113.5' }), 'local', undefined)).toBe('not-found');
  });
});

describe('createMetrics', () => {
  it('counts logins, failures by reason, sessions by end code and admin actions, labelled by host and instance', async () => {
    const src = sources();
    const register = createMetrics(src);
    src.events.publish('login.succeeded', { ...ref, method: 'publickey', connectMs: 12, authMs: 30 });
    src.events.publish('login.failed', { ...ref, method: 'password', reason: 'AUTH_FAILED' });
    src.events.publish('login.failed', { ...ref, method: undefined, reason: 'DNS_FAILED', detail: 'typed-by-a-user.example' });
    src.events.publish('session.started', { ...ref, shellMs: 5 });
    src.events.publish('session.ended', { ...ref, code: 'USER_CLOSED', durationMs: 1000, bytesIn: 3, bytesOut: 9 });
    src.events.publish('admin.action', { action: 'terminate', client: '127.0.0.1', session: 's1', found: true });
    const text = await register.metrics();
    const l = 'host="gw1",instance="3"';
    expect(sample(text, `webssh_logins_total{method="publickey",result="success",${l}}`)).toBe(1);
    expect(sample(text, `webssh_login_failures_total{method="password",reason="AUTH_FAILED",${l}}`)).toBe(1);
    expect(sample(text, `webssh_login_failures_total{method="unknown",reason="DNS_FAILED",${l}}`)).toBe(1);
    expect(sample(text, `webssh_sessions_started_total{${l}}`)).toBe(1);
    expect(sample(text, `webssh_sessions_ended_total{code="USER_CLOSED",${l}}`)).toBe(1);
    expect(sample(text, `webssh_admin_actions_total{action="terminate",${l}}`)).toBe(1);
    expect(sample(text, `webssh_connect_seconds_count{${l}}`)).toBe(1);
    expect(sample(text, `webssh_auth_seconds_bucket{le="0.05",${l},method="publickey"}`)).toBe(1);
    expect(sample(text, `webssh_shell_seconds_count{${l}}`)).toBe(1);
    expect(text).toContain('nodejs_heap_size_used_bytes{'); // Node's defaults are in
    // Nothing the user typed becomes a label (or anything else).
    expect(text).not.toContain('typed-by-a-user');
    expect(text).not.toContain('alice');
    expect(text).not.toContain('198.51.100.7');
  });

  it('counts refused logins, admin requests without the token and recordings cut short, with bounded labels', async () => {
    const src = sources();
    const register = createMetrics(src);
    src.events.publish('login.limited', { client: ref.client, target: ref.target, retryAfterSeconds: 60 });
    src.events.publish('admin.denied', { client: '203.0.113.9', via: 'http' });
    src.events.publish('recording.incomplete', { session: 's1', file: 'x.incomplete.cast', reason: 'ENOSPC' });
    src.events.publish('recording.incomplete', { session: 's2', file: 'y.incomplete.cast', reason: 'a message /with/a/path' });
    const text = await register.metrics();
    const l = 'host="gw1",instance="3"';
    expect(sample(text, `webssh_logins_total{method="unknown",result="limited",${l}}`)).toBe(1);
    expect(sample(text, `webssh_admin_actions_total{action="denied",${l}}`)).toBe(1);
    expect(sample(text, `webssh_recordings_incomplete_total{reason="ENOSPC",${l}}`)).toBe(1);
    expect(sample(text, `webssh_recordings_incomplete_total{reason="OTHER",${l}}`)).toBe(1);
    expect(text).not.toContain('/with/a/path');
    expect(text).not.toContain('typed-by-a-user');
  });

  it('reads sessions, bytes and window-closed time at scrape time, and their counters never go down when a session ends', async () => {
    const registry = new SessionRegistry();
    const draining = { now: false };
    const src = sources({ registry, transports: () => ['websocket', 'websocket', 'polling'], redisReady: () => false, draining: () => draining.now });
    const register = createMetrics(src);
    const a = fakeSession(10, 100, 1500);
    const b = fakeSession(1, 50, 500);
    registry.add(a, { client: 'x' });
    registry.add(b, { client: 'y' });
    const l = 'host="gw1",instance="3"';
    let text = await register.metrics();
    expect(sample(text, `webssh_sessions_live{${l}}`)).toBe(2);
    expect(sample(text, `webssh_ssh_received_bytes_total{${l}}`)).toBe(150);
    expect(sample(text, `webssh_ssh_sent_bytes_total{${l}}`)).toBe(11);
    expect(sample(text, `webssh_flow_window_closed_seconds_total{${l}}`)).toBe(2);
    expect(sample(text, `webssh_socketio_connections{transport="websocket",${l}}`)).toBe(2);
    expect(sample(text, `webssh_socketio_connections{transport="polling",${l}}`)).toBe(1);
    expect(sample(text, `webssh_redis_up{${l}}`)).toBe(0);
    expect(sample(text, `webssh_draining{${l}}`)).toBe(0);
    registry.delete(a);
    draining.now = true;
    text = await register.metrics();
    expect(sample(text, `webssh_sessions_live{${l}}`)).toBe(1);
    expect(sample(text, `webssh_ssh_received_bytes_total{${l}}`)).toBe(150);
    expect(sample(text, `webssh_flow_window_closed_seconds_total{${l}}`)).toBe(2);
    expect(sample(text, `webssh_draining{${l}}`)).toBe(1);
  });

  it('has no webssh_redis_up without Redis', async () => {
    expect(await createMetrics(sources()).metrics()).not.toContain('webssh_redis_up');
  });
});

describe('mergeMetrics', () => {
  it('keeps one series per process, including those prom-client would omit, and says whether all answered', async () => {
    const one = createMetrics(sources({ node: { host: 'gw1', instance: '0', pid: 1 } }));
    const two = createMetrics(sources({ node: { host: 'gw1', instance: '1', pid: 2 } }));
    const merged = await mergeMetrics([await one.getMetricsAsJSON(), await two.getMetricsAsJSON()], { complete: false }).metrics();
    for (const instance of ['0', '1']) {
      expect(sample(merged, `webssh_sessions_live{host="gw1",instance="${instance}"}`)).toBe(0);
      expect(merged).toMatch(new RegExp(`process_start_time_seconds\\{host="gw1",instance="${instance}"\\} \\d+`));
      expect(merged).toMatch(new RegExp(`nodejs_version_info\\{.*instance="${instance}"`));
    }
    expect(sample(merged, 'webssh_metrics_cluster_complete')).toBe(0);
    expect(sample(merged, 'webssh_metrics_cluster_processes')).toBe(2);
  });
});
