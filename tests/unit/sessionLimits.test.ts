/**
 * The pure parts of issue 12 finding 6: which limit a new session hits, the in-memory
 * lease counts, and the two session clocks (fake timers: no waiting).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionDeadlines, noticeLead } from '../../src/server/core/sessionDeadlines.js';
import { MemoryLeaseStore, limitReached } from '../../src/server/core/sessionLimits.js';

afterEach(() => vi.useRealTimers());

describe('limitReached', () => {
  const limits = { perClient: 2, perProcess: 3, total: 0 };
  it('names the first limit reached; 0 is no limit', () => {
    expect(limitReached({ perClient: 1, perProcess: 2, total: 10_000 }, limits)).toBeUndefined();
    expect(limitReached({ perClient: 2 }, limits)).toBe('perClient');
    expect(limitReached({ perClient: 2, perProcess: 3 }, limits)).toBe('perProcess');
  });
});

describe('MemoryLeaseStore', () => {
  it('counts per client and in total, and a removal frees the slot', async () => {
    const store = new MemoryLeaseStore();
    const limits = { perClient: 1, perProcess: 0, total: 2 };
    expect(await store.tryAdd({ id: '1', client: 'a' }, limits)).toBeUndefined();
    expect(await store.tryAdd({ id: '2', client: 'a' }, limits)).toBe('perClient');
    expect(await store.tryAdd({ id: '3', client: 'b' }, limits)).toBeUndefined();
    expect(await store.tryAdd({ id: '4', client: 'c' }, limits)).toBe('total');
    await store.remove({ id: '1', client: 'a' });
    await store.remove({ id: '1', client: 'a' }); // twice: no double count
    expect(await store.tryAdd({ id: '5', client: 'a' }, limits)).toBeUndefined();
    expect(await store.tryAdd({ id: '6', client: 'c' }, limits)).toBe('total');
  });
});

describe('SessionDeadlines', () => {
  const clocks = (idleMs: number, maxMs: number) => {
    vi.useFakeTimers({ now: 0 });
    const events: string[] = [];
    const d = new SessionDeadlines({ idleMs, maxMs }, { notice: (m) => events.push(`notice ${m.deadline ?? '-'}`), expire: (c) => events.push(c) });
    return { d, events };
  };

  it('warns a quarter (at most a minute) before the idle deadline, then expires', () => {
    expect(noticeLead(4000)).toBe(1000);
    expect(noticeLead(3_600_000)).toBe(60_000);
    const { events } = clocks(4000, 0);
    vi.advanceTimersByTime(2999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['notice 4000']);
    vi.advanceTimersByTime(1000);
    expect(events).toEqual(['notice 4000', 'IDLE_TIMEOUT']);
  });

  it('activity moves the idle deadline and says so after a warning', () => {
    const { d, events } = clocks(4000, 0);
    vi.advanceTimersByTime(3500);
    d.touch();
    expect(events).toEqual(['notice 4000', 'notice -']);
    vi.advanceTimersByTime(2999); // the new warning is due at 7500 - 1000
    expect(events).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(events.at(-1)).toBe('notice 7500');
  });

  it('the maximum lifetime ignores activity; dispose clears every timer', () => {
    const { d, events } = clocks(0, 8000);
    vi.advanceTimersByTime(6000);
    d.touch();
    vi.advanceTimersByTime(2000);
    expect(events).toEqual(['notice 8000', 'SESSION_EXPIRED']);
    const other = clocks(4000, 8000);
    other.d.dispose();
    vi.advanceTimersByTime(10_000);
    expect(other.events).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
