import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypingGate } from '../../src/server/core/typingGate.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('transfers yield to typing', () => {
  it('runs transfer work at once when nobody types', () => {
    const gate = new TypingGate(25);
    const ran = vi.fn();
    gate.whenOpen(ran);
    expect(ran).toHaveBeenCalledOnce();
  });

  it('holds it after a keystroke until the shell answers', () => {
    const gate = new TypingGate(25);
    gate.typed();
    const ran = vi.fn();
    gate.whenOpen(ran);
    vi.advanceTimersByTime(10);
    expect(ran).not.toHaveBeenCalled();
    gate.open(); // the echo
    expect(ran).toHaveBeenCalledOnce();
    expect(gate.held).toBe(false);
  });

  it('never longer than maxHoldMs, even when the keystroke gets no answer (a password prompt)', () => {
    const gate = new TypingGate(25);
    gate.typed();
    const ran = vi.fn();
    gate.whenOpen(ran);
    vi.advanceTimersByTime(24);
    expect(ran).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(ran).toHaveBeenCalledOnce();
  });

  it('each keystroke restarts the hold; held work runs once', () => {
    const gate = new TypingGate(25);
    const ran = vi.fn();
    gate.typed();
    gate.whenOpen(ran);
    vi.advanceTimersByTime(20);
    gate.typed();
    vi.advanceTimersByTime(20);
    expect(ran).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5);
    gate.open();
    expect(ran).toHaveBeenCalledOnce();
  });
});

describe('while someone types, transfers keep one request in flight', () => {
  it('for the window after each keystroke, then their full depth again', () => {
    const gate = new TypingGate(25, 300);
    expect(gate.depth(4)).toBe(4);
    gate.typed();
    gate.open();
    expect(gate.depth(4)).toBe(1);
    vi.advanceTimersByTime(299);
    expect(gate.depth(8)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(gate.depth(8)).toBe(8);
  });
});
