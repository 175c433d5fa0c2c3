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

  it("after a reattach, acks count from the page's offset: the lost tail is replayed and acked once (issue 13)", () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(100);
    fc.delivered(100);
    expect(fc.acked(30)).toBe(30);
    // The old transport died; the page had rendered 60 (its last 30 acks were lost).
    expect(fc.reattached(60)).toBe(30); // the page has 60: the 30 whose acks were lost count
    expect(fc.delivered(40)).toBe(0); // the replayed 40 left the process, not yet acked
    expect(fc.acked(40)).toBe(40); // rendered once: everything is acked
    expect(fc.totals).toEqual({ sent: 100, acked: 100 });
  });

  it('a fresh page re-rendering already acked output buys no credit twice', () => {
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(80);
    fc.delivered(80);
    expect(fc.acked(50)).toBe(50);
    expect(fc.reattached(20)).toBe(0); // the recent screen starts at 20
    fc.delivered(60);
    expect(fc.acked(30)).toBe(0); // 20..50 were credited before
    expect(fc.acked(30)).toBe(30); // 50..80: new
    expect(fc.totals).toEqual({ sent: 80, acked: 80 });
    expect(fc.window + fc.inFlight).toBeLessThanOrEqual(100);
  });

  it('an offset beyond what was sent is clamped to it: the window never exceeds the budget', () => {
    // The old transport and its buffers are gone, so a page that says it has everything
    // frees at most the budget, into a transport whose deliveries gate the next grant.
    const fc = new FlowControl({ budget: 100, minGrant: 10 });
    fc.received(100);
    expect(fc.reattached(1e12)).toBe(100);
    expect(fc.inFlight).toBe(0);
    expect(fc.window).toBe(100);
    fc.received(100);
    expect(fc.acked(1e12)).toBe(0); // and the next round waits for real deliveries again
  });

  it('accumulates the time the window stays closed, the current stretch included', () => {
    let t = 1000;
    const fc = new FlowControl({ budget: 100, minGrant: 10 }, () => t);
    fc.received(60);
    t += 50;
    expect(fc.windowClosedMs).toBe(0); // window 40: the remote may still send
    fc.received(40); // window 0: the remote waits from now
    t += 200;
    expect(fc.windowClosedMs).toBe(200);
    fc.delivered(100);
    expect(fc.acked(5)).toBe(0); // room below minGrant: still closed
    t += 100;
    expect(fc.windowClosedMs).toBe(300);
    expect(fc.acked(95)).toBe(100); // reopened
    t += 1000;
    expect(fc.windowClosedMs).toBe(300); // open time does not count
    fc.received(150); // an overrun closes it again
    t += 25;
    expect(fc.windowClosedMs).toBe(325);
  });
});
