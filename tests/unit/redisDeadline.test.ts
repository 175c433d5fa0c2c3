import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisSilentError, watchRedis } from '../../src/server/redis/redisDeadline.js';
import { createLogger } from '../../src/server/log.js';

afterEach(() => vi.useRealTimers());

/** A Redis that answers only while `awake`; unanswered calls stay pending, as under SIGSTOP. */
function fakeRedis() {
  const state = { awake: true };
  const call = <T>(value: T): Promise<T> => (state.awake ? Promise.resolve(value) : new Promise<T>(() => undefined));
  return { state, call };
}

describe('watchRedis', () => {
  it('fails a silent call at the deadline, then at once, warns once, and heals with one info line', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const redis = fakeRedis();
    const watch = watchRedis({ deadlineMs: 1000, probeMs: 500, log: createLogger('info', (l) => lines.push(l)), ping: () => redis.call('PONG'), connected: () => true });

    expect(await watch.run(() => redis.call('ok'))).toBe('ok');
    redis.state.awake = false;
    const late = watch.run(() => redis.call('late'));
    const failed = expect(late).rejects.toBeInstanceOf(RedisSilentError);
    await vi.advanceTimersByTimeAsync(1000);
    await vi.runOnlyPendingTimersAsync(); // the look after the poll phase (setImmediate)
    await failed;
    expect(watch.answering()).toBe(false);
    await expect(watch.run(() => redis.call('x'))).rejects.toBeInstanceOf(RedisSilentError); // no second wait
    expect(lines.filter((l) => l.includes('"level":"warn"'))).toHaveLength(1);

    redis.state.awake = true;
    await vi.advanceTimersByTimeAsync(500); // the probe's ping answers
    expect(watch.answering()).toBe(true);
    expect(lines.filter((l) => l.includes('redis answering again'))).toHaveLength(1);
    expect(await watch.check()).toBe(true);
    watch.stop();
  });

  it('does not call a closed connection silent', async () => {
    const watch = watchRedis({ deadlineMs: 1000, log: createLogger('silent', () => undefined), ping: () => Promise.resolve('PONG'), connected: () => false });
    expect(await watch.check()).toBe(false);
    expect(watch.answering()).toBe(true);
  });

  it("an answer that waited behind this process's own event-loop stall is not a silent Redis", async () => {
    // A real socket: the answer is in the kernel's buffer while the loop is blocked, and is
    // read in the poll phase that follows the (overdue) deadline timer.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const peer = new Promise<Socket>((r) => server.once('connection', r));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const redisSide = await peer;
    try {
      const lines: string[] = [];
      const watch = watchRedis({ deadlineMs: 50, log: createLogger('info', (l) => lines.push(l)), ping: () => Promise.resolve('PONG'), connected: () => true });
      const answered = watch.run(() => new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString()))));
      await Promise.resolve(); // the call is made (run starts it in a microtask)
      redisSide.write('PONG'); // the answer reaches the kernel's buffer at once...
      const until = Date.now() + 150;
      while (Date.now() < until); // the stall: a busy worker, not Redis
      expect(await answered).toBe('PONG');
      expect(watch.answering()).toBe(true);
      expect(lines.filter((l) => l.includes('"level":"warn"'))).toHaveLength(0);
      watch.stop();
    } finally {
      socket.destroy();
      redisSide.destroy();
      server.close();
    }
  });
});
