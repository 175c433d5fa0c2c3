/**
 * Deadlines for Redis on the request path (issue 12, finding 10). A Redis that is
 * stopped (SIGSTOP), hung or cut off by a partition keeps its socket open and answers
 * nothing: node-redis then neither fails (the connection looks fine) nor times out in
 * time to matter, and a login waited until SSH's own 20 s timeout blamed the target.
 *
 * Every call gets `deadlineMs`. The first one that misses it marks Redis silent (one
 * warn line); from then on calls fail at once, without queueing behind the silence,
 * and a ping every `probeMs` notices Redis answering again (one info line). Readiness
 * asks `check()`, a ping under the same deadline. A late answer to a call that missed
 * its deadline is dropped: its caller has already answered SERVICE_UNAVAILABLE.
 */
import type { Logger } from '../log.js';

export class RedisSilentError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
}

export interface RedisWatchOptions {
  deadlineMs: number;
  log: Logger;
  /** PING through the shared client. */
  ping(): Promise<unknown>;
  /** Connected, as far as the client knows (a closed socket is reported elsewhere). */
  connected(): boolean;
  /** While silent, how often to ask again. */
  probeMs?: number;
}

export interface RedisWatch {
  /** Settles like `call`, or rejects with RedisSilentError past the deadline (or at once while silent). */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** Pings under the deadline; true when Redis is connected and answering. */
  check(): Promise<boolean>;
  answering(): boolean;
  stop(): void;
}

export function watchRedis(opts: RedisWatchOptions): RedisWatch {
  const { deadlineMs, log } = opts;
  let answering = true;
  let probe: NodeJS.Timeout | undefined;
  let pinging: Promise<boolean> | undefined;

  const silent = (what: string): void => {
    if (!answering) return;
    answering = false;
    log.warn('redis not answering', { code: 'SERVICE_UNAVAILABLE', deadlineMs, what });
    probe = setInterval(() => void check(), opts.probeMs ?? 500);
    probe.unref();
  };
  const back = (): void => {
    if (answering) return;
    answering = true;
    clearInterval(probe);
    log.info('redis answering again');
  };

  const withDeadline = <T>(what: string, call: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        // After an event-loop stall (a busy worker, a long GC) the timer and the answer
        // are both due: timers run before the poll phase reads the socket. Look again
        // after it, so this process's own stall is not taken for a silent Redis (the
        // 5,000-terminal capacity run refused 112 logins on such false alarms).
        setImmediate(() => {
          if (settled) return;
          silent(what);
          reject(new RedisSilentError(`redis did not answer within ${deadlineMs} ms`));
        });
      }, deadlineMs);
      timer.unref();
      // Through a microtask, so a call that throws synchronously rejects here too.
      Promise.resolve().then(call).then(
        (value) => {
          settled = true;
          clearTimeout(timer);
          back();
          resolve(value); // a no-op after the deadline: the late answer is dropped
        },
        (err: unknown) => {
          settled = true;
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

  const check = (): Promise<boolean> => {
    if (!opts.connected()) return Promise.resolve(false);
    pinging ??= withDeadline('ping', () => opts.ping())
      .then(
        () => true,
        () => false,
      )
      .finally(() => (pinging = undefined));
    return pinging;
  };

  return {
    run: (call) => (answering ? withDeadline('command', call) : Promise.reject(new RedisSilentError('redis is not answering'))),
    check,
    answering: () => answering,
    stop: () => clearInterval(probe),
  };
}

/** The client methods connect-redis 9 calls (node_modules/connect-redis/dist). */
const SESSION_STORE_CALLS = new Set<string | symbol>(['get', 'set', 'expire', 'del', 'mGet']);

/**
 * The same client for connect-redis, which calls it directly: its calls get the
 * deadline here. Everything else (the scan iterator behind `all()`) passes through.
 */
export function withDeadlines<T extends object>(client: T, watch: RedisWatch): T {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      return SESSION_STORE_CALLS.has(prop) ? (...args: unknown[]) => watch.run(() => Promise.resolve(fn(...args))) : fn;
    },
  });
}
