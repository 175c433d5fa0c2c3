/**
 * Opens the typed Socket.IO connection. One socket per session attempt: the gateway ties
 * an SSH session to a socket, so an automatic Socket.IO reconnection could not resume it
 * anyway (reconnection is off; the user reconnects explicitly).
 */
import { io, type Socket } from 'socket.io-client';
import { SOCKET_PATH_SUFFIX, type ClientToServerEvents, type PageConfig, type ServerToClientEvents } from '../src/shared/protocol.js';
import { clientParser } from '../src/shared/outputFrames.js';
import { ERRORS, isErrorCode, type ErrorCode, type ErrorInfo } from '../src/shared/errors.js';
import type { ClientOptions } from './config.js';

export type GatewaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The Socket.IO path below the page's base path (works behind path-rewriting proxies). */
export function socketPath(root: string, href: string = location.href): string {
  return new URL(root, href).pathname + SOCKET_PATH_SUFFIX;
}

export function openSocket(config: PageConfig, options: ClientOptions): GatewaySocket {
  return io({
    path: socketPath(config.root),
    // Default: polling first, then upgrade; tests may pin one transport.
    ...(options.transport ? { transports: [options.transport] } : {}),
    reconnection: false,
    parser: clientParser,
  });
}

/** What a failure looks like to the UI: `code` only when the gateway sent one. */
export interface FailureInfo {
  message: string;
  code?: ErrorCode;
  retryable: boolean;
  /** RATE_LIMITED: the gateway refuses retries for this many seconds. */
  retryAfterSeconds?: number;
}

/** Reads `err.data = { code, message, retryable }` from a middleware rejection, if any. */
export function connectErrorInfo(err: Error & { data?: unknown }): FailureInfo {
  const data: unknown = err.data;
  if (typeof data === 'object' && data !== null) {
    const d = data as Partial<Record<keyof ErrorInfo, unknown>>;
    if (isErrorCode(d.code)) {
      return {
        code: d.code,
        message: typeof d.message === 'string' ? d.message : ERRORS[d.code].message,
        retryable: typeof d.retryable === 'boolean' ? d.retryable : ERRORS[d.code].retryable,
      };
    }
  }
  // Transport-level failure (gateway down, proxy error): worth retrying.
  return { message: `Could not reach the gateway: ${err.message || 'connection failed'}`, retryable: true };
}
