import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SealedGrant } from '../../src/server/core/credentialGrant.js';
import { MemoryGrantStore } from '../../src/server/core/grantStore.js';

const grant: SealedGrant = { v: 1, iv: 'iv', tag: 'tag', data: 'data', expiresAt: 0 };

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryGrantStore', () => {
  it('hands a grant out once, however many takes are in flight together', async () => {
    const store = new MemoryGrantStore();
    await store.put('sid', grant, 60_000);
    const takes = await Promise.all([store.take('sid'), store.take('sid'), store.take('sid')]);
    expect(takes.filter(Boolean)).toEqual([grant]);
    expect(await store.take('other')).toBeUndefined();
  });

  it('forgets an untaken grant after its lifetime', async () => {
    vi.useFakeTimers();
    const store = new MemoryGrantStore();
    await store.put('sid', grant, 5_000);
    vi.advanceTimersByTime(4_999);
    expect(store.list()).toEqual([grant]);
    vi.advanceTimersByTime(1);
    expect(store.list()).toEqual([]);
    expect(await store.take('sid')).toBeUndefined();
  });
});
