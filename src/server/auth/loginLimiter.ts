/**
 * The counters behind core/loginPolicy.ts: failures kept by rate-limiter-flexible, the
 * attempts under way in an AttemptQueue. Both in Redis when REDIS_URL is set, so a limit
 * reached through one worker holds on every worker and host, else in this process's
 * memory. Redis keys expire (the failures with their window, the queues with the
 * longest a login may take) and name the account only by its hash.
 *
 * Redis down or silent (every call has the request-path deadline, redisDeadline.ts):
 * each worker falls back to in-memory counters of the same size, so logins neither
 * fail, nor hang, nor go unlimited meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { ErrorCode } from '../../shared/errors.js';
import { accountKey, settle, verdict, type CounterState, type LoginLimits, type LoginTarget } from '../core/loginPolicy.js';
import type { Logger } from '../log.js';
import { KEY_PREFIX } from '../redis/redisServices.js';
import { FallbackAttemptQueue, MemoryAttemptQueue, RedisAttemptQueue, type AttemptQueue, type ScriptClient } from './attemptQueue.js';

/** The queue's Redis scripts, each under the deadline. */
function deadlineScripts(redis: LimiterRedis): ScriptClient {
  return { eval: (script, options) => redis.deadline(() => redis.client.eval(script, options)) };
}

export interface LoginTicket {
  /** Call once, with how the login ended: `connected` or the session's end code. */
  settle(outcome: ErrorCode | 'connected'): void;
}

export type Admission = { ok: true; ticket: LoginTicket } | { ok: false; retryAfterSeconds: number };

export interface LoginLimiter {
  /**
   * Lets this attempt go out, makes it wait its turn, or refuses it. `wanted()` false
   * (the page left) stops a wait.
   */
  admit(address: string, target: LoginTarget, wanted?: () => boolean): Promise<Admission>;
}

export interface QueueTiming {
  /** The longest an attempt keeps its place without settling (a login's own deadlines are shorter). */
  attemptTtlMs: number;
  /** A wait for the attempts ahead longer than this is refused (RATE_LIMITED, short retry). */
  maxWaitMs: number;
  /** How often a waiting attempt looks again. */
  pollMs: number;
}

const DEFAULT_TIMING: QueueTiming = { attemptTtlMs: 180_000, maxWaitMs: 30_000, pollMs: 100 };

/** Redis for the counters: its client and the request-path deadline for its calls. */
export interface LimiterRedis {
  client: ScriptClient & object;
  deadline<T>(call: () => Promise<T>): Promise<T>;
}

/** The counter operations used here, on Redis under its deadline, else in memory. */
interface Failures {
  get(key: string): Promise<RateLimiterRes | null>;
  penalty(key: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
}

interface Counter {
  kind: 'address' | 'account';
  failures: Failures;
  limit: number;
  key: (address: string, target: LoginTarget) => string;
}

function failures(memory: RateLimiterAbstract, shared?: { limiter: RateLimiterAbstract; redis: LimiterRedis }): Failures {
  const on = <T>(op: (l: RateLimiterAbstract) => Promise<T>): Promise<T> =>
    shared ? shared.redis.deadline(() => op(shared.limiter)).catch(() => op(memory)) : op(memory);
  return {
    get: (key) => on((l) => l.get(key)),
    penalty: (key) => on((l) => l.penalty(key, 1)),
    delete: (key) => on((l) => l.delete(key)),
  };
}

export function createLoginLimiter(limits: LoginLimits, log: Logger, redis?: LimiterRedis, timing: QueueTiming = DEFAULT_TIMING): LoginLimiter {
  const make = (name: string, points: number): Failures => {
    const opts = { keyPrefix: `${KEY_PREFIX}login-failures:${name}`, points, duration: limits.windowSeconds };
    const memory = new RateLimiterMemory(opts);
    if (!redis) return failures(memory);
    // No `insuranceLimiter`: `failures()` already falls back to `memory`, on errors and on
    // the deadline alike (the library's insurance covers errors only).
    const limiter = new RateLimiterRedis({ ...opts, storeClient: redis.client, useRedisPackage: true });
    return failures(memory, { limiter, redis });
  };
  const memoryQueue = new MemoryAttemptQueue(timing.attemptTtlMs);
  const queue: AttemptQueue = redis
    ? new FallbackAttemptQueue(new RedisAttemptQueue(deadlineScripts(redis), `${KEY_PREFIX}login-attempts:`, timing.attemptTtlMs), memoryQueue)
    : memoryQueue;
  const counters: Counter[] = [];
  if (limits.perAddress > 0) counters.push({ kind: 'address', failures: make('address', limits.perAddress), limit: limits.perAddress, key: (address) => address });
  if (limits.perAccount > 0) counters.push({ kind: 'account', failures: make('account', limits.perAccount), limit: limits.perAccount, key: (_a, target) => accountKey(target) });

  return {
    async admit(address, target, wanted = () => true) {
      const id = randomUUID();
      const places = counters.map((counter) => ({ counter, key: counter.key(address, target), line: `${counter.kind}:${counter.key(address, target)}` }));
      const leave = () => Promise.all(places.map(({ line }) => queue.leave(line, id))).then(() => undefined);
      const deadline = Date.now() + timing.maxWaitMs;
      for (;;) {
        let states: CounterState[];
        try {
          states = await Promise.all(places.map(({ counter, key, line }) => state(counter, key, () => queue.join(line, id))));
        } catch (err) {
          await leave().catch(() => undefined);
          throw err;
        }
        const decision = verdict(states);
        if (decision.kind === 'admit') return { ok: true, ticket: ticket(places, leave, log) };
        if (decision.kind === 'refuse' || !wanted() || Date.now() >= deadline) {
          await leave();
          return { ok: false, retryAfterSeconds: decision.kind === 'refuse' ? decision.retryAfterSeconds : 1 };
        }
        await delay(timing.pollMs * (0.5 + Math.random()));
      }
    },
  };
}

/**
 * A counter's failures so far and this attempt's place in its line, in that order: an
 * attempt leaves the line only after its failure was counted, so a place read first
 * and failures read second never miss an attempt that settled in between (read the
 * other way round, it could be counted neither as a failure nor as ahead in line).
 */
async function state(counter: Counter, key: string, place: () => Promise<number>): Promise<CounterState> {
  const position = await place();
  const res = await counter.failures.get(key);
  return { failures: res?.consumedPoints ?? 0, position, limit: counter.limit, msBeforeReset: res?.msBeforeNext ?? 0 };
}

function ticket(places: { counter: Counter; key: string }[], leave: () => Promise<void>, log: Logger): LoginTicket {
  let settled = false;
  return {
    settle(outcome) {
      if (settled) return;
      settled = true;
      const action = settle(outcome);
      // A failure is counted before the attempt leaves its line, so the attempts waiting
      // behind it never see neither (and slip through).
      const counted = Promise.all(
        places.map(({ counter, key }) => {
          if (action === 'fail') return counter.failures.penalty(key);
          if (action === 'clearAccount' && counter.kind === 'account') return counter.failures.delete(key);
          return Promise.resolve();
        }),
      );
      void counted
        .catch((err: unknown) => log.warn('login failure not counted', { err }))
        .then(leave)
        .catch((err: unknown) => log.warn('login attempt not released', { err }));
    },
  };
}
