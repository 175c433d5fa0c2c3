/**
 * Login attempts under way, queued per counter key (core/loginPolicy.ts): `join` puts an
 * attempt in line (or keeps its place) and says where it stands; `leave` takes it out.
 * Entries expire on their own after `ttlMs`, so a worker killed mid-login does not hold
 * a place forever.
 *
 * In Redis: per key, a sorted set in arrival order (scored by a counter: scores by
 * time tie within a millisecond and then sort by id, which let a later attempt rank
 * ahead of one already let out — 4 of 10 guesses reached sshd under load), and a sorted
 * set of expiries on Redis's own clock. The join is one Lua script, so two workers
 * joining at once get different places.
 */
export interface AttemptQueue {
  /** Joins (or stays in) the line for `key`; this attempt's place, 1 = first. */
  join(key: string, id: string): Promise<number>;
  leave(key: string, id: string): Promise<void>;
}

export class MemoryAttemptQueue implements AttemptQueue {
  readonly #lines = new Map<string, Map<string, number>>();

  constructor(private readonly ttlMs: number) {}

  join(key: string, id: string): Promise<number> {
    const now = Date.now();
    const line = this.#lines.get(key) ?? new Map<string, number>();
    for (const [other, expiry] of line) if (expiry <= now) line.delete(other);
    if (!line.has(id)) line.set(id, now + this.ttlMs); // a Map keeps insertion order: arrival order
    this.#lines.set(key, line);
    return Promise.resolve([...line.keys()].indexOf(id) + 1);
  }

  leave(key: string, id: string): Promise<void> {
    const line = this.#lines.get(key);
    line?.delete(id);
    if (line?.size === 0) this.#lines.delete(key);
    return Promise.resolve();
  }
}

/** KEYS: order, expiries, counter. ARGV: id, ttl ms. Returns the 0-based place. */
const JOIN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do redis.call('ZREM', KEYS[1], gone) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return redis.call('ZRANK', KEYS[1], ARGV[1])
`;

/** KEYS: order, expiries. ARGV: id. */
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
`;

export interface ScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export class RedisAttemptQueue implements AttemptQueue {
  constructor(
    private readonly client: ScriptClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  #keys(key: string): string[] {
    const base = this.prefix + key;
    return [`${base}:order`, `${base}:expiry`, `${base}:seq`];
  }

  async join(key: string, id: string): Promise<number> {
    const rank = await this.client.eval(JOIN, { keys: this.#keys(key), arguments: [id, String(this.ttlMs)] });
    return Number(rank) + 1;
  }

  async leave(key: string, id: string): Promise<void> {
    await this.client.eval(LEAVE, { keys: this.#keys(key).slice(0, 2), arguments: [id] });
  }
}

/**
 * Redis while it answers, this process's own line while it does not (like the failure
 * failure counters' in-memory fallback): logins neither fail nor queue forever meanwhile.
 */
export class FallbackAttemptQueue implements AttemptQueue {
  constructor(
    private readonly primary: AttemptQueue,
    private readonly fallback: AttemptQueue,
  ) {}

  join(key: string, id: string): Promise<number> {
    return this.primary.join(key, id).catch(() => this.fallback.join(key, id));
  }

  async leave(key: string, id: string): Promise<void> {
    await Promise.all([this.primary.leave(key, id).catch(() => undefined), this.fallback.leave(key, id)]);
  }
}
