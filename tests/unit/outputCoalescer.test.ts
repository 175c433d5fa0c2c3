import { describe, expect, it } from 'vitest';
import { OutputCoalescer } from '../../src/server/core/outputCoalescer.js';

function harness(maxBytes = 10, bulkBytes = 6) {
  const sent: string[] = [];
  let queued: { fn: () => void; ms: number }[] = [];
  let clock = 0;
  const c = new OutputCoalescer((b) => sent.push(b.toString()), {
    maxBytes,
    holdMs: 2,
    bulkBytes,
    now: () => clock,
    schedule: (fn, ms) => void queued.push({ fn, ms }),
  });
  return {
    c,
    sent,
    delays: () => queued.map((q) => q.ms),
    advance: (ms: number) => (clock += ms),
    runScheduled: () => {
      const run = queued;
      queued = [];
      run.forEach((q) => q.fn());
    },
  };
}

describe('OutputCoalescer', () => {
  it('joins the chunks of one I/O turn into one message, in order', () => {
    const { c, sent, runScheduled, delays } = harness();
    c.push(Buffer.from('ab'));
    c.push(Buffer.from('cd'));
    expect(sent).toEqual([]);
    expect(delays()).toEqual([0]); // end of this I/O turn, no timer
    runScheduled();
    expect(sent).toEqual(['abcd']);
  });

  it('sends at once when a batch reaches the size limit', () => {
    const { c, sent, runScheduled } = harness(4);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('def'));
    expect(sent).toEqual(['abcdef']);
    runScheduled(); // nothing left: no empty message
    expect(sent).toEqual(['abcdef']);
  });

  it('holds a batch briefly only while bulk output is streaming', () => {
    const { c, sent, runScheduled, delays, advance } = harness(100, 6);
    c.push(Buffer.from('x'.repeat(8)));
    runScheduled(); // a big message just went out...
    advance(1);
    c.push(Buffer.from('y'));
    expect(delays()).toEqual([2]); // ...so the next batch waits to fill up
    runScheduled();
    expect(sent).toEqual(['x'.repeat(8), 'y']);
    // Small messages (echoes) never hold, however close together.
    advance(0.5);
    c.push(Buffer.from('z'));
    expect(delays()).toEqual([0]);
    runScheduled();
    // Nor does a big one after a pause.
    c.push(Buffer.from('w'.repeat(8)));
    runScheduled();
    advance(5);
    c.push(Buffer.from('v'));
    expect(delays()).toEqual([0]);
  });

  it('sends an echo at once, with what was waiting, not behind the check phase', () => {
    const { c, sent, runScheduled } = harness(100);
    c.push(Buffer.from('$ '));
    c.push(Buffer.from('a'), true);
    expect(sent).toEqual(['$ a']); // in order, in this turn
    runScheduled(); // the flush queued for '$ ' finds nothing: no empty message
    expect(sent).toEqual(['$ a']);
    c.push(Buffer.from('b'));
    expect(sent).toEqual(['$ a']); // other output still waits for the check phase
    runScheduled();
    expect(sent).toEqual(['$ a', 'b']);
  });

  it('flush() empties the batch so nothing can follow the end of a session', () => {
    const { c, sent, runScheduled } = harness();
    c.push(Buffer.from('last'));
    c.flush();
    runScheduled();
    expect(sent).toEqual(['last']);
  });
});
