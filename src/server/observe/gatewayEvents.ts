/**
 * What happened in the gateway, as typed events: the one place the audit trail
 * (observe/audit.ts) and the metrics (observe/metrics.ts) learn about logins, sessions,
 * host keys and operator actions. Emitters never wait for listeners and never see
 * their failures; a payload carries no secret (no password, key, answer or token).
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../../shared/errors.js';

export interface SshTarget {
  username: string;
  host: string;
  port: number;
}

/** Who and where, on every session event. */
export interface SessionRef {
  session: string;
  /** The browser's address, after trusted proxies. */
  client: string;
  target: SshTarget;
}

export type LoginMethod = 'none' | 'publickey' | 'keyboard-interactive' | 'password';

export interface GatewayEventMap {
  /** The target accepted the credentials (`method`: the one that completed the login). */
  'login.succeeded': [SessionRef & { method: LoginMethod; connectMs: number; authMs: number }];
  /** No session came of an attempt: wrong credentials, unreachable, refused host key, ... */
  'login.failed': [SessionRef & { method: LoginMethod | undefined; reason: ErrorCode; detail?: string | undefined }];
  /** An attempt refused before it reached the target: too many recent failures (RATE_LIMITED). */
  'login.limited': [{ client: string; target: SshTarget; retryAfterSeconds: number }];
  'session.started': [SessionRef & { shellMs: number }];
  /** Every session that reached its shell ends exactly once. */
  'session.ended': [SessionRef & { code: ErrorCode; durationMs: number; bytesIn: number; bytesOut: number }];
  'hostkey.trusted': [SessionRef & { fingerprint: string }];
  'hostkey.mismatch': [SessionRef & { fingerprint: string; reason: string }];
  /** An operator action through the admin endpoints or the watch socket. */
  'admin.action': [{ action: 'list' | 'terminate' | 'notice' | 'watch' | 'recordings' | 'replay'; client: string; session?: string | undefined; found?: boolean | undefined; relayed?: boolean | undefined; recording?: string | undefined }];
  /**
   * A session's recording stopped before the session did (`reason`: ENOSPC, EFBIG, EIO, …,
   * or BUFFER_FULL for a disk too slow); `file` is its name, now `….incomplete.cast`.
   */
  'recording.incomplete': [{ session: string; file: string; reason: string }];
  /** A request or watch socket without the admin token (AUTH_REQUIRED). */
  'admin.denied': [{ client: string; via: 'http' | 'socket' }];
  /** A setting that works but is risky, said once at startup. */
  'config.warning': [{ setting: string; message: string }];
  /** One file operation through the files routes (never its contents). */
  'file.transfer': [FileTransferEvent];
}

export interface FileTransferEvent {
  session: string;
  client: string | undefined;
  target: SshTarget | undefined;
  action: 'upload' | 'upload-cancel' | 'download' | 'mkdir' | 'rename' | 'delete';
  path: string;
  /** rename: the new path. */
  to?: string;
  /** upload/download: the byte offset it started at (a resumed transfer). */
  from?: number;
  bytes?: number;
  ms?: number;
  /** `ok` or the error code. */
  result?: string;
}

export type GatewayEventName = keyof GatewayEventMap;

export class GatewayEvents extends EventEmitter<GatewayEventMap> {
  /** Like emit, but a listener that throws never reaches the emitter (a session, a request). */
  publish<E extends GatewayEventName>(event: E, ...args: GatewayEventMap[E]): void {
    try {
      (this.emit as (e: E, ...a: GatewayEventMap[E]) => boolean)(event, ...args);
    } catch {
      // Listeners own their failures (they log them); the terminal goes on.
    }
  }
}
