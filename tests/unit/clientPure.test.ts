import { describe, expect, it } from 'vitest';
import { AckAccounting, type Timers } from '../../client/flowControl.js';
import { binaryStringToBytes, chunkString } from '../../client/input.js';

function fakeTimers(): Timers & { fire(): void; pending: number } {
  const fns = new Map<number, () => void>();
  let next = 0;
  return {
    set: (fn) => (fns.set(++next, fn), next),
    clear: (h) => void fns.delete(h as number),
    fire: () => {
      const all = [...fns.values()];
      fns.clear();
      all.forEach((f) => f());
    },
    get pending() {
      return fns.size;
    },
  };
}

describe('client ack accounting', () => {
  it('acks at the chunk size at once, and small outputs after the flush delay', () => {
    const acks: number[] = [];
    const timers = fakeTimers();
    const acc = new AckAccounting((n) => acks.push(n), { ackEveryBytes: 100, ackFlushMs: 50 }, timers);
    acc.rendered(60);
    expect(acks).toEqual([]);
    acc.rendered(50);
    expect(acks).toEqual([110]);
    expect(timers.pending).toBe(0);
    acc.rendered(7);
    expect(timers.pending).toBe(1);
    timers.fire();
    expect(acks).toEqual([110, 7]);
  });

  it('stops acking once disposed', () => {
    const acks: number[] = [];
    const timers = fakeTimers();
    const acc = new AckAccounting((n) => acks.push(n), { ackEveryBytes: 100, ackFlushMs: 50 }, timers);
    acc.rendered(10);
    acc.dispose();
    timers.fire();
    acc.rendered(500);
    expect(acks).toEqual([]);
  });
});

describe('client input chunking', () => {
  it('splits by UTF-8 bytes without breaking characters', () => {
    const text = '€😀'.repeat(10_000); // 7 bytes per pair
    const chunks = chunkString(text, 1000);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(new TextEncoder().encode(c).length).toBeLessThanOrEqual(1000);
    expect(chunkString('ls\r')).toEqual(['ls\r']);
  });

  it('maps xterm binary strings to bytes', () => {
    expect([...binaryStringToBytes('\x1b[M !!')]).toEqual([27, 91, 77, 32, 33, 33]);
  });
});
