import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../src/server/core/flowControl.js';

describe('FlowControl', () => {
  it('pauses once above the high watermark and resumes only below the low one', () => {
    const fc = new FlowControl({ high: 100, low: 20 });
    expect(fc.sent(60)).toBe(false);
    expect(fc.sent(60)).toBe(true); // 120 > 100
    expect(fc.paused).toBe(true);
    expect(fc.sent(10)).toBe(false); // already paused: no second pause signal
    expect(fc.acked(50)).toBe(false); // 80 in flight: still above low
    expect(fc.acked(60)).toBe(true); // 20 <= low
    expect(fc.paused).toBe(false);
    expect(fc.inFlight).toBe(20);
  });

  it('clamps acks to what is in flight so a client cannot buy credit', () => {
    const fc = new FlowControl({ high: 100, low: 20 });
    fc.sent(30);
    fc.acked(1_000_000);
    expect(fc.inFlight).toBe(0);
    expect(fc.sent(101)).toBe(true);
    expect(fc.totals).toEqual({ sent: 131, acked: 30 });
  });

  it('rejects nonsensical watermarks', () => {
    expect(() => new FlowControl({ high: 10, low: 10 })).toThrow(RangeError);
  });
});
