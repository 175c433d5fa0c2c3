/**
 * Joins the small chunks a PTY produces (measured: 1.3 KB on average under
 * `base64 /dev/zero`) into fewer Socket.IO messages. Each message costs a WebSocket
 * frame, a writev and a wake-up of every process downstream (NGINX, the browser).
 *
 * A lone burst (an echo, a prompt) waits only until the event loop's check phase
 * (setImmediate), so interactive latency is unchanged. Bulk output, where the last
 * message was large and went out moments ago, waits `holdMs` more to fill a bigger
 * message. A batch goes out at once when it reaches `maxBytes`.
 *
 * An echo (the first output after a keystroke) goes out at once, without waiting for the
 * check phase. A worker holding thousands of terminals gets their output in bursts: one
 * I/O turn reads hundreds of lines and queues one flush each for the check phase, where
 * a queued echo waits behind all of them. The typist is waiting for this one; the other
 * terminals' lines are not answers to anyone.
 */
export interface CoalescerTiming {
  maxBytes: number;
  /** Extra wait for a batch while output is streaming. */
  holdMs: number;
  /** A message at least this big, sent less than `holdMs` ago, means "streaming". */
  bulkBytes: number;
  now(): number;
  /** Runs `fn` after `ms` (0: at the end of this I/O turn). */
  schedule(fn: () => void, ms: number): void;
}

export const DEFAULT_TIMING: CoalescerTiming = {
  maxBytes: 64 * 1024,
  holdMs: 2,
  bulkBytes: 8 * 1024,
  now: () => performance.now(),
  schedule: (fn, ms) => void (ms > 0 ? setTimeout(fn, ms) : setImmediate(fn)),
};

export class OutputCoalescer {
  /**
   * The only chunk waiting, the common case (a line, an echo); `#parts` once a second one
   * comes. A fresh array per batch lived until the session's next output and was promoted
   * out of V8's young generation, for every terminal.
   */
  #single: Buffer | undefined;
  #parts: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;
  #lastSize = 0;
  #lastAt = -Infinity;
  /** Made once: a closure per batch was garbage for every line of every terminal. */
  readonly #fire = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(
    private readonly emit: (data: Buffer) => void,
    private readonly timing: CoalescerTiming = DEFAULT_TIMING,
  ) {}

  /** `now`: send with what is waiting, in this turn (an echo). */
  push(chunk: Buffer, now = false): void {
    if (this.#bytes === 0) {
      this.#single = chunk;
    } else {
      if (this.#single) this.#parts.push(this.#single);
      this.#single = undefined;
      this.#parts.push(chunk);
    }
    this.#bytes += chunk.length;
    if (now || this.#bytes >= this.timing.maxBytes) return this.flush();
    if (this.#scheduled) return;
    this.#scheduled = true;
    const streaming = this.#lastSize >= this.timing.bulkBytes && this.timing.now() - this.#lastAt < this.timing.holdMs;
    this.timing.schedule(this.#fire, streaming ? this.timing.holdMs : 0);
  }

  /** Sends what is waiting now (before an `ended`, so output never follows it). */
  flush(): void {
    if (this.#bytes === 0) return;
    const data = this.#single ?? Buffer.concat(this.#parts, this.#bytes);
    this.#single = undefined;
    if (this.#parts.length > 0) this.#parts = [];
    this.#bytes = 0;
    this.#lastSize = data.length;
    this.#lastAt = this.timing.now();
    this.emit(data);
  }
}
