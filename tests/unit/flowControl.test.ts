import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../src/server/core/flowControl.js';

describe('FlowControl', () => {
  it('opens with the whole budget as window and grants only what acks free', () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    expect(fc.initialWindow).toBe(100);
    fc.received(70);
    fc.delivered(70);
    expect(fc.window).toBe(30);
    expect(fc.inFlight).toBe(70);
    expect(fc.acked(5)).toBe(0); // room 5 < minGrant: wait for more
    expect(fc.acked(15)).toBe(20); // 50 in flight + 30 window + 20 granted = budget
    expect(fc.window).toBe(50);
    fc.received(50);
    expect(fc.window).toBe(0);
    expect(fc.delivered(50)).toBe(0); // delivered is not rendered
    expect(fc.acked(100)).toBe(100); // all acked: the full budget again
  });

  it('never lets window plus unacked bytes exceed the budget', () => {
    const fc = new FlowControl({ budget: 1000, minGrant: 64 });
    let rnd = 7;
    for (let i = 0; i < 10_000; i++) {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      if (rnd % 3 === 0) fc.received(Math.min(fc.window, rnd % 300));
      else if (rnd % 3 === 1) fc.delivered(rnd % 350);
      else fc.acked(rnd % 400);
      expect(fc.window + fc.inFlight).toBeLessThanOrEqual(1000);
    }
  });

  it('clamps acks to what is in flight and ignores a remote overrunning its window', () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(30);
    fc.delivered(30);
    expect(fc.acked(1_000_000)).toBe(30);
    expect(fc.inFlight).toBe(0);
    fc.received(150); // more than the window allowed
    expect(fc.window).toBe(0);
    expect(fc.acked(0)).toBe(0); // 150 unacked: no room at all
    expect(fc.totals).toEqual({ sent: 180, acked: 30 });
  });

  it('credits an ack only once the transport delivered the bytes (issue 12, finding 3)', () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(100);
    // A client acking what is still queued in the gateway buys nothing...
    expect(fc.acked(1_000_000)).toBe(0);
    expect(fc.inFlight).toBe(100);
    // ...until the transport hands it to the kernel; then the ack counts, never more.
    expect(fc.delivered(40)).toBe(40);
    expect(fc.delivered(1_000)).toBe(60);
    expect(fc.totals).toEqual({ sent: 100, acked: 100 });
  });

  it('keeps an honest ack that arrives before the delivery report', () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(50);
    expect(fc.acked(50)).toBe(0);
    expect(fc.delivered(50)).toBe(50);
    expect(fc.inFlight).toBe(0);
  });

  it('rejects nonsensical limits', () => {
    expect(() => new FlowControl({ budget: 10, minGrant: 20 })).toThrow(RangeError);
    expect(() => new FlowControl({ budget: 10, minGrant: 0 })).toThrow(RangeError);
  });
});
