/**
 * The login queue in a real Redis (auth/attemptQueue.ts): places follow arrival, also
 * for attempts that arrive within one millisecond, whatever their ids; entries expire.
 */
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAttemptQueue } from '../../src/server/auth/attemptQueue.js';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';

let redis: TestRedis;
let client: RedisClientType;

beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await redis?.close();
});

describe('login attempts under way, in Redis', () => {
  it('a later attempt never ranks ahead of an earlier one, even within the same millisecond', async () => {
    const q = new RedisAttemptQueue(client, 'test:attempts:', 60_000);
    // Back to back, most pairs land in one millisecond: ordered by time, ties would sort
    // by id and the later 'a…' would take the earlier 'z…''s place (and its admission).
    for (let i = 0; i < 30; i++) {
      const first = await q.join(`line${i}`, 'zzzz-first');
      const second = await q.join(`line${i}`, 'aaaa-second');
      expect([first, second]).toEqual([1, 2]);
      expect(await q.join(`line${i}`, 'zzzz-first')).toBe(1); // a second join keeps the place
    }
  });

  it('leaving moves the line up; an attempt that never left expires with its lifetime', async () => {
    const q = new RedisAttemptQueue(client, 'test:attempts2:', 300);
    expect(await q.join('k', 'a')).toBe(1);
    expect(await q.join('k', 'b')).toBe(2);
    await q.leave('k', 'a');
    expect(await q.join('k', 'b')).toBe(1);
    expect(await q.join('k', 'c')).toBe(2);
    await new Promise((r) => setTimeout(r, 350)); // the lifetime under test
    expect(await q.join('k', 'd')).toBe(1);
    expect((await client.keys('test:attempts2:*')).length).toBeGreaterThan(0);
    for (const key of await client.keys('test:attempts2:*')) expect(await client.pTTL(key)).toBeGreaterThan(0);
  });
});
