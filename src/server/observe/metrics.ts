/**
 * Prometheus metrics of this process (prom-client): Node's default metrics plus the
 * gateway's, each documented in README "Metrics". Events (logins, sessions started and
 * ended, operator actions) are counted from GatewayEvents; live state (sessions, bytes,
 * flow-control waits, transports, Redis, drain) is read when Prometheus scrapes, so the
 * terminal's hot path pays nothing.
 *
 * No label carries user input: login methods, end codes and transports are bounded sets;
 * target hosts and user names never become labels. Every series carries `host` and
 * `instance` (default labels), so the cluster view (observe/clusterMetrics.ts) keeps one
 * series per worker and `sum()` in PromQL gives the cluster.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeIdentity } from '../../shared/admin.js';
import type { SessionRegistry } from '../socket/sessionRegistry.js';
import type { GatewayEvents, LoginMethod } from './gatewayEvents.js';

export interface MetricsSources {
  node: NodeIdentity;
  events: GatewayEvents;
  registry: SessionRegistry;
  /** The transport name of every Engine.IO connection of this process. */
  transports(): Iterable<string>;
  /** Redis answers; absent when the gateway runs without Redis. */
  redisReady?: () => boolean;
  draining(): boolean;
}

/** Seconds: a login on a LAN takes milliseconds, a slow server or 2FA prompt many seconds. */
const PHASE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOGIN_METHODS: readonly LoginMethod[] = ['none', 'publickey', 'keyboard-interactive', 'password'];
/** Always present (0 when none), so a dashboard's series do not come and go. */
const TRANSPORTS = ['websocket', 'polling'];

/** The value of the `instance` label: PM2's instance number, or the pid without PM2. */
export function instanceLabel(node: NodeIdentity): string {
  return node.instance ?? String(node.pid);
}

/**
 * Node's default metrics describe the process, and collecting them starts an event-loop
 * delay monitor and a GC observer that are never stopped: one set per process, shared by
 * every gateway in it (the tests run several), each adding its own host/instance labels.
 */
let processMetrics: Registry | undefined;
function defaultMetrics(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export function createMetrics(src: MetricsSources): Registry {
  const own = new Registry();
  const registers = [own];

  countEvents(src.events, registers);

  new Gauge({
    name: 'webssh_sessions_live',
    help: 'Terminal sessions this process holds (logging in, running, or detached).',
    registers,
    collect() {
      this.set(src.registry.counts().live);
    },
  });
  new Gauge({
    name: 'webssh_sessions_detached',
    help: 'Of the live sessions, those waiting without a page for a resume.',
    registers,
    collect() {
      this.set(src.registry.counts().detached);
    },
  });
  const traffic = (pick: (t: ReturnType<SessionRegistry['traffic']>) => number) =>
    function (this: Counter) {
      this.reset();
      this.inc(pick(src.registry.traffic()));
    };
  new Counter({ name: 'webssh_ssh_received_bytes_total', help: 'Terminal output received from SSH servers.', registers, collect: traffic((t) => t.bytesOut) });
  new Counter({ name: 'webssh_ssh_sent_bytes_total', help: 'Keystrokes and pastes sent to SSH servers.', registers, collect: traffic((t) => t.bytesIn) });
  new Counter({
    name: 'webssh_flow_window_closed_seconds_total',
    help: 'Session-seconds SSH servers waited on a closed window: output the browsers had not yet taken.',
    registers,
    collect: traffic((t) => t.windowClosedMs / 1000),
  });
  new Gauge({
    name: 'webssh_socketio_connections',
    help: 'Socket.IO connections of this process by transport.',
    labelNames: ['transport'],
    registers,
    collect() {
      const counts = new Map(TRANSPORTS.map((t) => [t, 0]));
      for (const t of src.transports()) counts.set(t, (counts.get(t) ?? 0) + 1);
      this.reset();
      for (const [transport, n] of counts) this.set({ transport }, n);
    },
  });
  const redisReady = src.redisReady;
  if (redisReady) {
    new Gauge({
      name: 'webssh_redis_up',
      help: '1 when this process reaches Redis (sessions, grants, cluster events), else 0.',
      registers,
      collect() {
        this.set(redisReady() ? 1 : 0);
      },
    });
  }
  new Gauge({
    name: 'webssh_draining',
    help: '1 once this process stopped accepting sessions (reload or shutdown), else 0.',
    registers,
    collect() {
      this.set(src.draining() ? 1 : 0);
    },
  });
  const register = Registry.merge([defaultMetrics(), own]);
  register.setDefaultLabels({ host: src.node.host, instance: instanceLabel(src.node) });
  return register;
}

/** Counters and histograms fed by the gateway's events. */
function countEvents(events: GatewayEvents, registers: Registry[]): void {
  const logins = new Counter({ name: 'webssh_logins_total', help: 'SSH login attempts by method and result (success, failure; limited: refused by the failed-login limits before reaching the target).', labelNames: ['method', 'result'], registers });
  const failures = new Counter({
    name: 'webssh_login_failures_total',
    help: 'Failed SSH logins by method and reason (an error code: AUTH_FAILED, TIMEOUT, HOST_KEY_REJECTED, ...).',
    labelNames: ['method', 'reason'],
    registers,
  });
  const connect = new Histogram({ name: 'webssh_connect_seconds', help: 'Time from dialling the SSH server to the end of the key exchange.', buckets: PHASE_BUCKETS, registers });
  const auth = new Histogram({ name: 'webssh_auth_seconds', help: 'Time from the key exchange to a successful login, by method.', labelNames: ['method'], buckets: PHASE_BUCKETS, registers });
  const shell = new Histogram({ name: 'webssh_shell_seconds', help: 'Time from a successful login to the shell being open.', buckets: PHASE_BUCKETS, registers });
  const started = new Counter({ name: 'webssh_sessions_started_total', help: 'Sessions that reached their shell.', registers });
  const ended = new Counter({ name: 'webssh_sessions_ended_total', help: 'Sessions that reached their shell and ended, by end code (USER_CLOSED, REMOTE_CLOSED, IDLE_TIMEOUT, ...).', labelNames: ['code'], registers });
  const hostKeys = new Counter({ name: 'webssh_host_key_verdicts_total', help: 'Host key checks by verdict (trusted, mismatch).', labelNames: ['verdict'], registers });
  const admin = new Counter({ name: 'webssh_admin_actions_total', help: 'Operator actions (list, terminate, notice, watch, recordings, replay; denied: no valid token).', labelNames: ['action'], registers });
  const recordingsCut = new Counter({ name: 'webssh_recordings_incomplete_total', help: 'Session recordings that stopped before their session (reason: ENOSPC, EFBIG, EIO, BUFFER_FULL, ...).', labelNames: ['reason'], registers });

  // Present at 0 from the start: increase() and alerts see the first failure too.
  for (const method of LOGIN_METHODS) {
    for (const result of ['success', 'failure']) logins.inc({ method, result }, 0);
    failures.inc({ method, reason: 'AUTH_FAILED' }, 0);
  }

  events.on('login.succeeded', (e) => {
    logins.inc({ method: e.method, result: 'success' });
    connect.observe(e.connectMs / 1000);
    auth.observe({ method: e.method }, e.authMs / 1000);
  });
  events.on('login.failed', (e) => {
    const method = e.method ?? 'unknown'; // failed before any method was tried (DNS, refused, host key)
    logins.inc({ method, result: 'failure' });
    failures.inc({ method, reason: e.reason });
  });
  events.on('session.started', (e) => {
    started.inc();
    shell.observe(e.shellMs / 1000);
  });
  events.on('session.ended', (e) => ended.inc({ code: e.code }));
  events.on('hostkey.trusted', () => hostKeys.inc({ verdict: 'trusted' }));
  events.on('hostkey.mismatch', () => hostKeys.inc({ verdict: 'mismatch' }));
  events.on('admin.action', (e) => admin.inc({ action: e.action }));
  events.on('admin.denied', () => admin.inc({ action: 'denied' }));
  events.on('login.limited', () => logins.inc({ method: 'unknown', result: 'limited' }));
  // An errno code or BUFFER_FULL: a short fixed set, never a path.
  events.on('recording.incomplete', (e) => recordingsCut.inc({ reason: /^[A-Z_]{2,20}$/.test(e.reason) ? e.reason : 'OTHER' }));
}
