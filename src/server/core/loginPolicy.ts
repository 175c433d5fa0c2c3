/**
 * Failed-login limits (issue 12, finding 5): what is counted, under which keys, and what
 * a login's outcome does to the counts. Pure; auth/loginLimiter.ts keeps the counters
 * (rate-limiter-flexible, in Redis across the cluster or in memory).
 *
 * Every login reserves one point on its client address and one on its target account
 * *before* it connects, so concurrent attempts cannot all slip under the limit; the
 * point is kept only when the target rejected the credentials, and given back otherwise.
 */
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../../shared/errors.js';

export interface LoginLimits {
  /** Failed logins per client address per window; 0 = no limit. */
  perAddress: number;
  /** Failed logins per target account (user@host:port) per window; 0 = no limit. */
  perAccount: number;
  windowSeconds: number;
}

export interface LoginTarget {
  username: string;
  host: string;
  port: number;
}

/** One counter's state after a reservation: points used in the window, ms until it resets. */
export interface CounterState {
  consumed: number;
  limit: number;
  msBeforeReset: number;
}

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * The account as a counter key: hashed, so Redis holds no user names. Not a secret
 * either way; the hash only keeps the store free of who logs in where.
 */
export function accountKey(target: LoginTarget): string {
  const id = `${target.username.toLowerCase()}@${target.host.toLowerCase()}:${target.port}`;
  return createHash('sha256').update(id).digest('base64url').slice(0, 22);
}

/** Over any limit: refused, with the longest wait among the counters that are full. */
export function verdict(counters: readonly CounterState[]): Verdict {
  const over = counters.filter((c) => c.limit > 0 && c.consumed > c.limit);
  if (over.length === 0) return { ok: true };
  const ms = Math.max(...over.map((c) => c.msBeforeReset));
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
}

/**
 * What a login's outcome does with its reserved points:
 * - `keep`: the target rejected the credentials: a failure on both counters.
 * - `refund`: the target never judged them (DNS, refused, timeout, host key, …).
 * - `refundAndClearAccount`: logged in. The account's own failures are forgotten (its
 *   owner got in), the address's are not: someone with one valid login must not be able
 *   to wipe the count of their guesses at other accounts by logging in between them.
 */
export type Settlement = 'keep' | 'refund' | 'refundAndClearAccount';

export function settle(outcome: ErrorCode | 'connected'): Settlement {
  if (outcome === 'connected') return 'refundAndClearAccount';
  return outcome === 'AUTH_FAILED' ? 'keep' : 'refund';
}
