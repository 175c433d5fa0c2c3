import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../src/server/core/replayBuffer.js';

const text = (s: { data: Buffer[] }) => Buffer.concat(s.data).toString();

/** A stream of numbered bytes in random-sized chunks, and the whole stream as a string. */
function stream(buffer: ReplayBuffer, total: number, seed = 7): string {
  let all = '';
  let x = seed;
  while (all.length < total) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(1 + (x % 97), total - all.length);
    let chunk = '';
    for (let i = 0; i < n; i++) chunk += String.fromCharCode(97 + ((all.length + i) % 26));
    buffer.append(Buffer.from(chunk));
    all += chunk;
  }
  return all;
}

describe('replay offsets', () => {
  it('replay from any acknowledged offset gives exactly the missing bytes, whatever the chunking', () => {
    for (const acked of [0, 1, 96, 97, 500, 999, 1000]) {
      const b = new ReplayBuffer(0);
      const all = stream(b, 1000);
      b.release(acked);
      for (const offset of [acked, acked + 1, 750, 1000].filter((o) => o >= acked && o <= 1000)) {
        const slice = b.from(offset);
        expect(slice.gap).toBe(false);
        expect(slice.from).toBe(offset);
        expect(text(slice)).toBe(all.slice(offset));
      }
    }
  });

  it('keeps only the unacknowledged bytes (plus the chunk holding the boundary) when no screen is kept', () => {
    const b = new ReplayBuffer(0);
    for (let i = 0; i < 100; i++) b.append(Buffer.alloc(2000, i));
    b.release(199_500);
    expect(b.bytes).toBe(2000);
    b.release(200_000);
    expect(b.bytes).toBe(0);
    expect(b.from(200_000)).toEqual({ from: 200_000, data: [], gap: false });
  });

  it('copies small chunks into a few blocks: a line-a-second session keeps its screen in a handful of buffers', () => {
    const b = new ReplayBuffer(64 * 1024);
    let all = '';
    let earlier: Buffer[] = [];
    let earlierText = '';
    for (let i = 0; i < 3000; i++) {
      const line = `line ${i} ${'x'.repeat(i % 30)}\r\n`;
      // Each chunk a view into a larger packet, as ssh2 hands them over.
      const packet = Buffer.from(`HEAD${line}TAIL`);
      b.append(packet.subarray(4, 4 + line.length));
      all += line;
      b.release(b.end);
      if (i === 1500) [earlier, earlierText] = [b.recent().data, text(b.recent())];
    }
    expect(b.chunkCount).toBeLessThanOrEqual(6); // 64 KiB in blocks of up to 16 KiB, plus the one holding the boundary
    expect(b.bytes).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    expect(text(b.recent())).toBe(all.slice(all.length - 64 * 1024));
    // A slice handed out earlier (to a page being resumed) is not changed by later output.
    expect(Buffer.concat(earlier).toString()).toBe(earlierText);
    // Large chunks are kept as they are, between blocks, in order.
    b.append(Buffer.alloc(5000, 66));
    b.append(Buffer.from('after\r\n'));
    expect(text(b.from(b.end - 5007))).toBe('B'.repeat(5000) + 'after\r\n');
  });

  it('keeps the recent screen for a fresh page even when everything was acknowledged', () => {
    const b = new ReplayBuffer(250);
    const all = stream(b, 5000);
    b.release(5000);
    // Small chunks live in blocks (1 KiB, then 2 KiB, …): at most the screen plus a block.
    expect(b.bytes).toBeLessThanOrEqual(250 + 4096);
    const recent = b.recent();
    expect(recent.from).toBe(4750);
    expect(text(recent)).toBe(all.slice(4750));
  });

  it('an offset older than anything kept is a gap, answered from the oldest byte kept', () => {
    const b = new ReplayBuffer(0);
    const all = stream(b, 100_000);
    b.release(60_000);
    const slice = b.from(10);
    expect(slice.gap).toBe(true);
    expect(text(slice)).toBe(all.slice(slice.from));
    expect(slice.from).toBeLessThanOrEqual(60_000);
  });

  it('an offset beyond the end (a page that lies) gives nothing, not an error', () => {
    const b = new ReplayBuffer(0);
    stream(b, 100);
    expect(b.from(1e12)).toEqual({ from: 100, data: [], gap: false });
    expect(b.from(-5).from).toBe(0);
  });
});
