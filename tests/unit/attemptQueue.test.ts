import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryAttemptQueue } from '../../src/server/auth/attemptQueue.js';

afterEach(() => vi.useRealTimers());

describe('login attempts under way (in memory)', () => {
  it('places attempts in arrival order, keeps a place on a second join, and moves the line up on leave', async () => {
    const q = new MemoryAttemptQueue(60_000);
    expect(await q.join('k', 'a')).toBe(1);
    expect(await q.join('k', 'b')).toBe(2);
    expect(await q.join('k', 'c')).toBe(3);
    expect(await q.join('k', 'b')).toBe(2);
    expect(await q.join('other', 'x')).toBe(1);
    await q.leave('k', 'a');
    expect(await q.join('k', 'c')).toBe(2);
  });

  it('forgets an attempt that never left (its worker died mid-login) after its lifetime', async () => {
    vi.useFakeTimers();
    const q = new MemoryAttemptQueue(1000);
    await q.join('k', 'stuck');
    vi.advanceTimersByTime(999);
    expect(await q.join('k', 'next')).toBe(2);
    vi.advanceTimersByTime(2);
    expect(await q.join('k', 'next')).toBe(1);
  });
});
