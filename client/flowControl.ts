/**
 * Render-ack accounting (see FLOW in src/shared/limits.ts). Pure: no DOM, timers injected,
 * so it can be unit-tested with fake timers.
 *
 * Call `rendered(n)` from xterm's write callback once `n` output bytes are parsed. An
 * ack is sent as soon as `ackEveryBytes` are pending, or `ackFlushMs` after the first
 * pending byte otherwise, so that small outputs are acknowledged too.
 */
import { FLOW } from '../src/shared/limits.js';

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface AckOptions {
  ackEveryBytes: number;
  ackFlushMs: number;
}

const globalTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class AckAccounting {
  private pending = 0;
  private timer: unknown = undefined;
  private disposed = false;

  constructor(
    private readonly sendAck: (bytes: number) => void,
    private readonly options: AckOptions = FLOW,
    private readonly timers: Timers = globalTimers,
  ) {}

  /** Bytes rendered but not yet acknowledged. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Records `bytes` rendered bytes; acks now or schedules a flush. */
  rendered(bytes: number): void {
    if (this.disposed || !Number.isFinite(bytes) || bytes <= 0) return;
    this.pending += Math.floor(bytes);
    if (this.pending >= this.options.ackEveryBytes) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.timers.set(() => {
        this.timer = undefined;
        this.flush();
      }, this.options.ackFlushMs);
    }
  }

  /** Acks everything pending now (no-op when nothing is pending). */
  flush(): void {
    this.cancelTimer();
    if (this.disposed || this.pending <= 0) return;
    const bytes = this.pending;
    this.pending = 0;
    this.sendAck(bytes);
  }

  /**
   * A new socket took over (a resume): what was pending belonged to the old one, whose
   * offset the gateway counts as received. Dropped, and acking goes on.
   */
  reset(): void {
    this.cancelTimer();
    this.pending = 0;
  }

  /** Stops acking for good (the session ended): pending bytes are dropped. */
  dispose(): void {
    this.cancelTimer();
    this.disposed = true;
    this.pending = 0;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.timers.clear(this.timer);
      this.timer = undefined;
    }
  }
}
