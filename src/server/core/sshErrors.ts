/**
 * Maps what ssh2 and the socket layer throw to stable error codes. ssh2 tags errors
 * with the phase they came from (`err.level`); Node network errors carry `err.code`.
 * Some ssh2 errors arrive with empty messages, so the code, not the text, decides.
 */
import type { ErrorCode } from '../../shared/errors.js';

interface MaybeSshError {
  level?: unknown;
  code?: unknown;
  message?: unknown;
}

const NETWORK_CODES: Record<string, ErrorCode> = {
  ECONNREFUSED: 'CONNECTION_REFUSED',
  EHOSTUNREACH: 'HOST_UNREACHABLE',
  ENETUNREACH: 'HOST_UNREACHABLE',
  EADDRNOTAVAIL: 'HOST_UNREACHABLE',
  ETIMEDOUT: 'TIMEOUT',
  ENOTFOUND: 'DNS_FAILED',
  EAI_AGAIN: 'DNS_FAILED',
  EAI_FAIL: 'DNS_FAILED',
  EAI_NONAME: 'DNS_FAILED',
  ENODATA: 'DNS_FAILED',
  ECONNRESET: 'REMOTE_CLOSED',
  EPIPE: 'REMOTE_CLOSED',
};

export function mapSshError(err: unknown): ErrorCode {
  const e = (typeof err === 'object' && err !== null ? err : {}) as MaybeSshError;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && NETWORK_CODES[code]) return NETWORK_CODES[code];
  switch (e.level) {
    case 'client-authentication':
      return 'AUTH_FAILED';
    case 'client-timeout':
      return 'TIMEOUT';
    case 'client-dns':
      return 'DNS_FAILED';
    case 'client-socket':
      return 'HOST_UNREACHABLE';
    case 'handshake':
      if (/host denied/i.test(message)) return 'HOST_KEY_REJECTED';
      if (/no matching/i.test(message)) return 'ALGORITHM_MISMATCH';
      return 'PROTOCOL_ERROR';
    case 'protocol':
      return 'PROTOCOL_ERROR';
  }
  if (/cannot parse privatekey|passphrase/i.test(message)) return 'KEY_INVALID';
  return 'INTERNAL';
}
