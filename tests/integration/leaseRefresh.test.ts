/**
 * The lease heartbeat (redis/sessionLeases.ts) with thousands of sessions from one
 * address, as behind a NAT, against a real Redis. Each worker refreshes all its leases
 * every third of SESSION_LEASE_SECONDS. Grouping them by address once copied the
 * address's list per lease: 20,000 leases blocked the event loop for seconds, and every
 * lease went to Redis in one script. Every session's keystrokes wait while either happens.
 */
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { RedisLeaseStore } from '../../src/server/redis/sessionLeases.js';

const PREFIX = 'lease-refresh-test:';
const LEASE_MS = 30_000;
const REFRESH_BATCH = 500;

let redis: TestRedis;
let client: ReturnType<typeof createClient>;

beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
});

afterAll(async () => {
  await client?.quit();
  await redis?.close();
});

describe('refreshing 20,000 leases', () => {
  it('keeps every lease counted, in scripts of a bounded size, without holding the event loop', async () => {
    const leases = [
      ...Array.from({ length: 20_000 }, (_, i) => ({ id: `nat-${i}`, client: '203.0.113.7' })),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `own-${i}`, client: '198.51.100.1' })),
    ];
    const idsPerScript: number[] = [];
    const store = new RedisLeaseStore(
      {
        eval: (script, o) => {
          idsPerScript.push(o.arguments.length - 1); // the first argument is the lease time
          return client.eval(script, o);
        },
      },
      LEASE_MS,
      PREFIX,
    );

    const t0 = performance.now();
    const done = store.refresh(leases);
    const blockedMs = performance.now() - t0; // until refresh() hands back its promise
    await done;

    // What a quadratic grouping took: seconds. Linear work is a few milliseconds.
    expect(blockedMs, 'event loop held by refresh() for 20,010 leases').toBeLessThan(200);
    expect(Math.max(...idsPerScript), 'lease ids in one Redis script').toBeLessThanOrEqual(REFRESH_BATCH);
    expect(idsPerScript.reduce((a, b) => a + b, 0), 'every lease sent once').toBe(leases.length);

    expect(await client.zCard(`${PREFIX}leases:all`)).toBe(20_010);
    expect(await client.zCard(`${PREFIX}leases:client:203.0.113.7`)).toBe(20_000);
    expect(await client.zCard(`${PREFIX}leases:client:198.51.100.1`)).toBe(10);
    // Each one re-scored to expire a lease time from now (Redis's clock), not before.
    const [seconds] = await client.sendCommand<[string, string]>(['TIME']);
    const soonest = await client.zRangeWithScores(`${PREFIX}leases:all`, 0, 0);
    expect(soonest[0]!.score).toBeGreaterThan(Number(seconds) * 1000 + LEASE_MS - 5_000);
  });
});
