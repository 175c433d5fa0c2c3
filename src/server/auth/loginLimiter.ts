/**
 * The counters behind core/loginPolicy.ts, kept by rate-limiter-flexible: in Redis when
 * REDIS_URL is set, so a limit reached through one worker holds on every worker and
 * host, else in this process's memory. Redis keys expire with their window (the library
 * sets the TTL) and name the account only by its hash.
 *
 * Redis down: each worker falls back to an in-memory limiter of the same size (the
 * library's `insuranceLimiter`), so logins neither fail nor go unlimited meanwhile.
 */
import type { RedisClientType } from 'redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ErrorCode } from '../../shared/errors.js';
import { accountKey, settle, verdict, type CounterState, type LoginLimits, type LoginTarget } from '../core/loginPolicy.js';
import type { Logger } from '../log.js';
import { KEY_PREFIX } from '../redis/redisServices.js';

export interface LoginTicket {
  /** Call once, with how the login ended: `connected` or the session's end code. */
  settle(outcome: ErrorCode | 'connected'): void;
}

export type Admission = { ok: true; ticket: LoginTicket } | { ok: false; retryAfterSeconds: number };

export interface LoginLimiter {
  /** Reserves this attempt on the address and the account counters, or refuses it. */
  admit(address: string, target: LoginTarget): Promise<Admission>;
}

interface Counter {
  kind: 'address' | 'account';
  limiter: RateLimiterAbstract;
  limit: number;
  key: (address: string, target: LoginTarget) => string;
}

export function createLoginLimiter(limits: LoginLimits, log: Logger, redis?: RedisClientType): LoginLimiter {
  const make = (name: string, points: number): RateLimiterAbstract => {
    const opts = { keyPrefix: `${KEY_PREFIX}login-failures:${name}`, points, duration: limits.windowSeconds };
    const memory = new RateLimiterMemory(opts);
    return redis ? new RateLimiterRedis({ ...opts, storeClient: redis, useRedisPackage: true, insuranceLimiter: memory }) : memory;
  };
  const counters: Counter[] = [];
  if (limits.perAddress > 0) counters.push({ kind: 'address', limiter: make('address', limits.perAddress), limit: limits.perAddress, key: (address) => address });
  if (limits.perAccount > 0) counters.push({ kind: 'account', limiter: make('account', limits.perAccount), limit: limits.perAccount, key: (_a, target) => accountKey(target) });

  const refund = (reserved: { counter: Counter; key: string }[]) =>
    Promise.all(reserved.map(({ counter, key }) => counter.limiter.reward(key, 1))).catch((err: unknown) => log.warn('login limiter refund failed', { err }));

  return {
    async admit(address, target) {
      const reserved = counters.map((counter) => ({ counter, key: counter.key(address, target) }));
      const states = await Promise.all(reserved.map(({ counter, key }) => reserve(counter, key)));
      const decision = verdict(states);
      if (!decision.ok) {
        void refund(reserved); // a refused attempt never reaches the target: it is no failure
        return decision;
      }
      let settled = false;
      const ticket: LoginTicket = {
        settle(outcome) {
          if (settled) return;
          settled = true;
          const action = settle(outcome);
          if (action === 'keep') return;
          void refund(reserved).then(() => {
            if (action !== 'refundAndClearAccount') return;
            for (const { counter, key } of reserved) {
              if (counter.kind === 'account') void counter.limiter.delete(key).catch(() => undefined);
            }
          });
        },
      };
      return { ok: true, ticket };
    },
  };
}

/** One point on `key`; the library rejects with its result when the point is over the limit. */
async function reserve(counter: Counter, key: string): Promise<CounterState> {
  let res: RateLimiterRes;
  try {
    res = await counter.limiter.consume(key, 1);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    res = err;
  }
  return { consumed: res.consumedPoints, limit: counter.limit, msBeforeReset: res.msBeforeNext };
}
