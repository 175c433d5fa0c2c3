/**
 * What the gateway keeps in Redis when REDIS_URL is set: express-session sessions
 * (connect-redis), sealed credential grants (one key each, with the grant's TTL) and
 * the trust-on-first-use host keys, so every worker and every host agrees. Commands fail fast while Redis is down (no offline queue): a login
 * then gets a clear 503 instead of hanging, and live terminals never touch Redis.
 * Every call on a request path also has a deadline (redisDeadline.ts), for a Redis
 * that keeps its socket open and answers nothing.
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { RedisStore } from 'connect-redis';
import { createClient, type RedisClientType } from 'redis';
import type { ServerOptions } from 'socket.io';
import type { SealedGrant } from '../core/credentialGrant.js';
import type { GrantStore } from '../core/grantStore.js';
import type { KnownHostsStore } from '../core/hostKeyPolicy.js';
import type { LeaseStore } from '../core/sessionLimits.js';
import type { Logger } from '../log.js';
import { RedisLeaseStore } from './sessionLeases.js';
import { watchRedis, withDeadlines } from './redisDeadline.js';

export const KEY_PREFIX = 'webssh:';

export interface RedisServices {
  /** The fail-fast command client, for the login limiter's counters. */
  client: RedisClientType;
  /** Runs a call on `client` under the request-path deadline (redisDeadline.ts). */
  deadline<T>(call: () => Promise<T>): Promise<T>;
  sessionStore: RedisStore;
  knownHosts: KnownHostsStore;
  grants: GrantStore;
  /** Cluster-wide session counts for the limits (see sessionLeases.ts). */
  leases: LeaseStore;
  /** Socket.IO adapter joining every gateway process that shares this Redis. */
  adapter: ServerOptions['adapter'];
  /** Connected, and not known to be silent. */
  isReady(): boolean;
  /** Pings under the deadline (readiness): true when Redis answers. */
  check(): Promise<boolean>;
  connect(): Promise<void>;
  close(): Promise<void>;
}

export function createRedisServices(url: string, log: Logger, opts: { leaseMs: number; deadlineMs: number }): RedisServices {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3000,
      // Keep trying, at most every 2 s: Redis coming back must heal the gateway on its own.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000),
    },
  });
  let lastErrorLog = 0;
  client.on('error', (err: Error) => {
    // Every failed reconnect emits an error; one line per 10 s is enough.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now();
      log.warn('redis unavailable', { code: 'SERVICE_UNAVAILABLE', err });
    }
  });
  client.on('ready', () => log.info('redis ready'));
  // The adapter gets its own client (it duplicates it for its blocking XREAD and
  // pub/sub) *with* the offline queue: its read loop retries at once on failure, so
  // fail-fast commands would spin a core for as long as Redis is down.
  const adapterClient = client.duplicate({ disableOfflineQueue: false });
  adapterClient.on('error', () => undefined); // already reported through `client`

  const watch = watchRedis({ deadlineMs: opts.deadlineMs, log, ping: () => client.ping(), connected: () => client.isReady });
  const knownHostsKey = `${KEY_PREFIX}known_hosts`;
  return {
    client,
    sessionStore: new RedisStore({ client: withDeadlines(client, watch), prefix: `${KEY_PREFIX}sess:` }),
    knownHosts: {
      async remember(hostPort, fingerprint) {
        await watch.run(() => client.hSetNX(knownHostsKey, hostPort, fingerprint));
        return (await watch.run(() => client.hGet(knownHostsKey, hostPort))) ?? fingerprint;
      },
    },
    grants: {
      async put(sessionId, grant, ttlMs) {
        const key = `${KEY_PREFIX}grant:${sessionId}`;
        try {
          await watch.run(() => client.set(key, JSON.stringify(grant), { expiration: { type: 'PX', value: ttlMs } }));
        } catch (err) {
          // The login answers 503, but a SET already written runs whenever Redis wakes
          // up. A DEL written after it on the same connection runs after it: no grant
          // outlives the request that wanted it.
          client.del(key).catch(() => undefined);
          throw err;
        }
      },
      async take(sessionId) {
        // GETDEL (Redis >= 6.2): read and delete in one command, so one caller wins. One
        // that runs after its deadline spends the grant for nobody: fail closed.
        const raw = await watch.run(() => client.getDel(`${KEY_PREFIX}grant:${sessionId}`));
        return raw === null ? undefined : parseGrant(raw);
      },
    },
    deadline: (call) => watch.run(call),
    // A frozen Redis must refuse a start in time, not hold it: the admission is on the request path.
    leases: new RedisLeaseStore({ eval: (script, o) => watch.run(() => client.eval(script, o)) }, opts.leaseMs, KEY_PREFIX),
    adapter: createAdapter(adapterClient, { streamName: `${KEY_PREFIX}socket.io`, channelPrefix: `${KEY_PREFIX}socket.io` }),
    isReady: () => client.isReady && watch.answering(),
    check: () => watch.check(),
    connect: async () => {
      await Promise.all([client.connect(), adapterClient.connect()]);
    },
    close: async () => {
      watch.stop();
      await Promise.all(
        [client, adapterClient].map(async (c) => {
          if (c.isOpen) await c.close();
          else c.destroy();
        }),
      );
    },
  };
}

/** Whatever is stored, the sealer checks it; a value that is not even JSON is no grant. */
function parseGrant(raw: string): SealedGrant | undefined {
  try {
    return JSON.parse(raw) as SealedGrant;
  } catch {
    return undefined;
  }
}
