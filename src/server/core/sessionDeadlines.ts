/**
 * A session's two clocks: the idle timeout (no input and no output for that long) and
 * the maximum lifetime. Each warns the page with a notice carrying the deadline, then
 * expires the session. One timer per clock, owned here and cleared by `dispose()`,
 * which the session's end calls on every exit path.
 *
 * Activity is only stamped (`touch()` runs for every output chunk): the idle timer is
 * not re-armed per chunk; when it fires it looks at the stamp and re-arms for the rest.
 */
import type { NoticeMessage } from '../../shared/protocol.js';

export interface DeadlineSettings {
  /** 0 = no idle timeout. */
  idleMs: number;
  /** 0 = no maximum lifetime. */
  maxMs: number;
}

export interface DeadlineHooks {
  notice(msg: NoticeMessage): void;
  expire(code: 'IDLE_TIMEOUT' | 'SESSION_EXPIRED'): void;
}

/** How long before a deadline the page is told: a minute, or a quarter of short timeouts. */
export function noticeLead(timeoutMs: number): number {
  return Math.min(60_000, Math.floor(timeoutMs / 4));
}

export class SessionDeadlines {
  #last: number;
  /** The idle deadline the page was warned about, if any. */
  #warnedFor: number | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #maxTimers: NodeJS.Timeout[] = [];
  #disposed = false;

  constructor(
    private readonly settings: DeadlineSettings,
    private readonly hooks: DeadlineHooks,
    private readonly now: () => number = Date.now,
  ) {
    const started = now();
    this.#last = started;
    if (settings.idleMs > 0) this.#checkIdle();
    if (settings.maxMs > 0) this.#armMax(started + settings.maxMs);
  }

  /** Input or output happened. */
  touch(): void {
    this.#last = this.now();
    if (this.#warnedFor === undefined || this.#disposed) return;
    this.#warnedFor = undefined;
    this.hooks.notice({ message: 'Activity resumed: the idle timeout starts again.' });
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#idleTimer);
    this.#maxTimers.forEach(clearTimeout);
  }

  #checkIdle(): void {
    if (this.#disposed) return;
    const t = this.now();
    const deadline = this.#last + this.settings.idleMs;
    if (t >= deadline) return this.hooks.expire('IDLE_TIMEOUT');
    const warnAt = deadline - noticeLead(this.settings.idleMs);
    if (t >= warnAt && this.#warnedFor === undefined) {
      this.#warnedFor = deadline;
      this.hooks.notice({ message: `No input or output: this session closes at ${new Date(deadline).toISOString()} unless there is activity.`, deadline });
    }
    this.#idleTimer = setTimeout(() => this.#checkIdle(), (t < warnAt ? warnAt : deadline) - t);
  }

  #armMax(deadline: number): void {
    const lead = noticeLead(this.settings.maxMs);
    const warn = () => {
      if (!this.#disposed) this.hooks.notice({ message: `This session reaches its maximum lifetime and closes at ${new Date(deadline).toISOString()}.`, deadline });
    };
    const expire = () => {
      if (!this.#disposed) this.hooks.expire('SESSION_EXPIRED');
    };
    this.#maxTimers.push(setTimeout(warn, this.settings.maxMs - lead), setTimeout(expire, this.settings.maxMs));
  }
}
