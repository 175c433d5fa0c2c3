/**
 * Configuration: environment variables (optionally a JSON file named by CONFIG_FILE,
 * which the environment overrides), parsed by one schema. Every problem is reported at
 * once, then the result is frozen. Pure: the caller passes in env and file contents.
 */
import { z } from 'zod';
import { parsePolicy, type TargetPolicy } from './core/targetPolicy.js';
import { parsePins, type HostKeyPin } from './core/hostKeyPolicy.js';
import type { LoginLimits } from './core/loginPolicy.js';
import type { DeadlineSettings } from './core/sessionDeadlines.js';
import type { ResumeSettings } from './socket/liveTerminal.js';
import type { SessionLimits } from './core/sessionLimits.js';
import type { FileSettings } from './files/fileSettings.js';
import type { RecordingSettings } from './recordings.js';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A list parsed by a function that throws with a readable message. */
const parsedList = <T>(parse: (items: string[]) => T) =>
  list.transform((items, ctx) => {
    try {
      return parse(items);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const schema = z.object({
  PORT: int(0, 65535).default(2222),
  LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  BASE_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must look like /ssh or /tools/ssh (no trailing slash)')
    .default('/ssh'),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (no dots)').default('webssh_sid'),
  TRUST_PROXY: z.string().default('false'),
  ALLOWED_ORIGINS: list.pipe(z.array(z.url())).default([]),
  ALLOWED_HOSTS: list
    .pipe(z.array(z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'each entry must be name, name:port, IP or [IPv6]:port')))
    .default([]),
  SSH_ALLOWED_TARGETS: parsedList(parsePolicy).default(parsePolicy(['*:22'])),
  SSH_TERM: z.string().regex(/^[A-Za-z0-9._+-]{1,64}$/).default('xterm-256color'),
  SSH_READY_TIMEOUT_MS: int(500, 300_000).default(20_000),
  SSH_KEEPALIVE_INTERVAL_MS: int(0, 3_600_000).default(15_000),
  SSH_HOST_KEY_POLICY: z.enum(['tofu', 'strict']).default('tofu'),
  SSH_HOST_KEYS: parsedList(parsePins).default([]),
  GRANT_TTL_SECONDS: int(5, 3600).default(60),
  LOGIN_FAILURES_PER_ADDRESS: int(0, 1_000_000).default(10),
  LOGIN_FAILURES_PER_ACCOUNT: int(0, 1_000_000).default(5),
  LOGIN_FAILURE_WINDOW_SECONDS: int(1, 86_400).default(900),
  DRAIN_TIMEOUT_SECONDS: int(0, 86_400).default(30),
  SESSIONS_PER_CLIENT: int(0, 1_000_000).default(20),
  SESSIONS_PER_PROCESS: int(0, 1_000_000).default(0),
  SESSIONS_TOTAL: int(0, 10_000_000).default(0),
  SESSION_LEASE_SECONDS: int(2, 3600).default(30),
  SOCKET_START_TIMEOUT_SECONDS: int(1, 3600).default(30),
  SESSION_IDLE_TIMEOUT_SECONDS: int(0, 604_800).default(3600),
  SESSION_MAX_SECONDS: int(0, 2_592_000).default(0),
  SESSION_DETACH_SECONDS: int(0, 86_400).default(300),
  RESUME_REPLAY_BYTES: int(0, 16 * 1024 * 1024).default(64 * 1024),
  SFTP_ENABLED: z.enum(['true', 'false']).default('true'),
  SFTP_MAX_FILE_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
  SFTP_MAX_TRANSFERS: int(1, 1000).default(4),
  /** The internal address for file requests relayed from other processes (relay/fileRelay.ts). */
  RELAY_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be redis://… or rediss://…' }).optional(),
  REDIS_TIMEOUT_MS: int(100, 60_000).default(1500),
  /** Set by PM2 for each cluster instance; its presence means "more than one process". */
  NODE_APP_INSTANCE: z.string().optional(),
  /** Names this gateway host in the session registry and logs (default: the host name). */
  GATEWAY_NODE_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Session recordings (asciicast v2), one file per session; unset = no recordings. */
  RECORDINGS_DIR: z.string().min(1).optional(),
  RECORD_INPUT: z.enum(['true', 'false']).default('false'),
  RECORDINGS_MAX_AGE_DAYS: int(0, 36_500).default(30),
  RECORDINGS_MAX_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
  /** Bearer token for the Prometheus endpoints (http/metricsRoutes.ts). */
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Audit events to this file instead of stdout (observe/auditFile.ts). */
  AUDIT_LOG_FILE: z.string().min(1).optional(),
});

export type LogLevel = z.output<typeof schema>['LOG_LEVEL'];

export interface Config {
  port: number;
  listenHost: string;
  basePath: string;
  /** Undefined means "generate one per process" (single-process mode only). */
  sessionSecret: string | undefined;
  sessionCookieName: string;
  trustProxy: boolean | number | string;
  allowedOrigins: readonly string[];
  /** Host header allow-list (DNS rebinding); empty = any Host. Lower case, no trailing dot. */
  allowedHosts: readonly string[];
  targets: TargetPolicy;
  ssh: {
    term: string;
    readyTimeoutMs: number;
    keepaliveIntervalMs: number;
    hostKeyPolicy: 'tofu' | 'strict';
    hostKeyPins: readonly HostKeyPin[];
  };
  grantTtlMs: number;
  /** Failed-login limits per client address and per target account (0 = off). */
  loginLimits: LoginLimits;
  /** Sessions and host keys shared through Redis; undefined = in-memory, single process. */
  redisUrl: string | undefined;
  /** Deadline for each Redis call on a request path; a miss means Redis is silent. */
  redisTimeoutMs: number;
  /** How long live sessions may continue after SIGINT/SIGTERM/`shutdown`. */
  drainTimeoutMs: number;
  /** Concurrent sessions (0 = no limit); per client and total span the cluster with Redis. */
  sessionLimits: SessionLimits;
  /** How long a cluster-wide session count outlives a process that stopped refreshing it. */
  sessionLeaseMs: number;
  /** A socket without a session is closed after this long. */
  socketStartTimeoutMs: number;
  /** Idle timeout and maximum lifetime of a session (0 = off). */
  sessionDeadlines: DeadlineSettings;
  resume: ResumeSettings;
  /** File transfer over SFTP beside the terminal (issue 14). */
  files: FileSettings;
  /** Where this process takes file requests relayed by the others (an ephemeral port). */
  relayHttpHost: string;
  /** PM2's instance number, when run by PM2. */
  instance: string | undefined;
  nodeName: string | undefined;
  /** Bearer token for `<base>/admin/*`; undefined disables those endpoints. */
  adminToken: string | undefined;
  /** Session recordings (issue 15); undefined = off. */
  recordings: RecordingSettings | undefined;
  /** Unset: the cluster metrics URL is off and /metrics answers loopback only. */
  metricsToken: string | undefined;
  logLevel: LogLevel;
  /** Audit events go here (appended) instead of stdout with the log. */
  auditLogFile: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

function parseTrustProxy(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v; // IPs/CIDRs or express presets such as "loopback"
}

export function parseConfig(env: Record<string, string | undefined>, file: Record<string, unknown> = {}): Config {
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key] ?? file[key];
    // Files may hold numbers and booleans; the schema reads strings, like the environment.
    if (typeof value === 'string' ? value !== '' : typeof value === 'number' || typeof value === 'boolean') merged[key] = String(value);
  }
  const result = schema.safeParse(merged);
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const raw = merged as { SESSION_SECRET?: string; REDIS_URL?: string; NODE_APP_INSTANCE?: string };
  if (!raw.SESSION_SECRET && (raw.REDIS_URL || raw.NODE_APP_INSTANCE !== undefined)) {
    // A per-process random secret breaks every request that lands on another worker.
    problems.push('SESSION_SECRET: required with REDIS_URL or more than one process (every worker must share it)');
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const v = result.data;
  return deepFreeze({
    port: v.PORT,
    listenHost: v.LISTEN_HOST,
    basePath: v.BASE_PATH,
    sessionSecret: v.SESSION_SECRET,
    sessionCookieName: v.SESSION_COOKIE_NAME,
    trustProxy: parseTrustProxy(v.TRUST_PROXY),
    allowedOrigins: v.ALLOWED_ORIGINS.map((o) => new URL(o).origin),
    allowedHosts: v.ALLOWED_HOSTS.map((h) => h.toLowerCase().replace(/\.(?=:|$)/, '')),
    targets: v.SSH_ALLOWED_TARGETS,
    ssh: {
      term: v.SSH_TERM,
      readyTimeoutMs: v.SSH_READY_TIMEOUT_MS,
      keepaliveIntervalMs: v.SSH_KEEPALIVE_INTERVAL_MS,
      hostKeyPolicy: v.SSH_HOST_KEY_POLICY,
      hostKeyPins: v.SSH_HOST_KEYS,
    },
    grantTtlMs: v.GRANT_TTL_SECONDS * 1000,
    loginLimits: { perAddress: v.LOGIN_FAILURES_PER_ADDRESS, perAccount: v.LOGIN_FAILURES_PER_ACCOUNT, windowSeconds: v.LOGIN_FAILURE_WINDOW_SECONDS },
    drainTimeoutMs: v.DRAIN_TIMEOUT_SECONDS * 1000,
    sessionLimits: { perClient: v.SESSIONS_PER_CLIENT, perProcess: v.SESSIONS_PER_PROCESS, total: v.SESSIONS_TOTAL },
    sessionLeaseMs: v.SESSION_LEASE_SECONDS * 1000,
    socketStartTimeoutMs: v.SOCKET_START_TIMEOUT_SECONDS * 1000,
    sessionDeadlines: { idleMs: v.SESSION_IDLE_TIMEOUT_SECONDS * 1000, maxMs: v.SESSION_MAX_SECONDS * 1000 },
    resume: { detachMs: v.SESSION_DETACH_SECONDS * 1000, replayBytes: v.RESUME_REPLAY_BYTES },
    files: { enabled: v.SFTP_ENABLED === 'true', maxFileBytes: v.SFTP_MAX_FILE_BYTES, maxTransfers: v.SFTP_MAX_TRANSFERS },
    relayHttpHost: v.RELAY_HTTP_HOST,
    redisUrl: v.REDIS_URL,
    redisTimeoutMs: v.REDIS_TIMEOUT_MS,
    instance: v.NODE_APP_INSTANCE,
    nodeName: v.GATEWAY_NODE_NAME,
    adminToken: v.ADMIN_TOKEN,
    recordings: v.RECORDINGS_DIR
      ? { dir: v.RECORDINGS_DIR, recordInput: v.RECORD_INPUT === 'true', maxAgeMs: v.RECORDINGS_MAX_AGE_DAYS * 86_400_000, maxBytes: v.RECORDINGS_MAX_BYTES }
      : undefined,
    metricsToken: v.METRICS_TOKEN,
    logLevel: v.LOG_LEVEL,
    auditLogFile: v.AUDIT_LOG_FILE,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    // BlockList instances are opaque handles; freezing their wrapper is harmless.
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
