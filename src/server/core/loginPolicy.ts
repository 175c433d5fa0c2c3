/**
 * Failed-login limits (issue 12, finding 5): what is counted, under which keys, and what
 * a login's outcome does to the counts. Pure; auth/loginLimiter.ts keeps the counters
 * (rate-limiter-flexible for failures, a queue of attempts under way; in Redis across
 * the cluster or in memory).
 *
 * Only a failure counts: a login the target rejected. But an attempt's outcome is not
 * known when it starts, so concurrent attempts could all slip under the limit. Each
 * attempt therefore queues on its address and its account; it goes out only while the
 * failures so far plus the attempts ahead of it still fit under the limit. Ten
 * simultaneous logins to one account with limit 5 all succeed (the last five a login
 * later); ten simultaneous wrong passwords put exactly five in front of the target.
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

/** One counter as an attempt sees it. */
export interface CounterState {
  /** Failures in the current window. */
  failures: number;
  /** This attempt's place among the attempts under way on the counter's key (1 = first). */
  position: number;
  limit: number;
  /** Until the failures' window resets. */
  msBeforeReset: number;
}

export type Verdict = { kind: 'admit' } | { kind: 'wait' } | { kind: 'refuse'; retryAfterSeconds: number };

/**
 * The account as a counter key: hashed, so Redis holds no user names. Not a secret
 * either way; the hash only keeps the store free of who logs in where.
 */
export function accountKey(target: LoginTarget): string {
  const id = `${target.username.toLowerCase()}@${target.host.toLowerCase()}:${target.port}`;
  return createHash('sha256').update(id).digest('base64url').slice(0, 22);
}

/**
 * Refused once any counter's failures fill its limit, with the longest wait among the
 * full ones. Waits while the attempts ahead could still fill one: if they fail, this one
 * would be over the limit; if they succeed, it goes out.
 */
export function verdict(counters: readonly CounterState[]): Verdict {
  const limited = counters.filter((c) => c.limit > 0);
  const full = limited.filter((c) => c.failures >= c.limit);
  if (full.length > 0) {
    const ms = Math.max(...full.map((c) => c.msBeforeReset));
    return { kind: 'refuse', retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
  }
  return limited.some((c) => c.failures + c.position > c.limit) ? { kind: 'wait' } : { kind: 'admit' };
}

/**
 * What a login's outcome does to the counts (the attempt leaves the queue either way):
 * - `fail`: the target rejected the credentials: a failure on both counters.
 * - `none`: the target never judged them (DNS, refused, timeout, host key, …).
 * - `clearAccount`: logged in. The account's own failures are forgotten (its owner got
 *   in), the address's are not: someone with one valid login must not be able to wipe
 *   the count of their guesses at other accounts by logging in between them.
 */
export type Settlement = 'fail' | 'none' | 'clearAccount';

export function settle(outcome: ErrorCode | 'connected'): Settlement {
  if (outcome === 'connected') return 'clearAccount';
  return outcome === 'AUTH_FAILED' ? 'fail' : 'none';
}
