/**
 * Transfers yield to typing (issue 14: "typing stays responsive during a transfer").
 * The terminal and its SFTP channel share one SSH connection and, on a small host, the
 * CPUs: every transfer request in flight is data the server encrypts and the gateway
 * decrypts in front of the next echo. So a keystroke holds new transfer requests until
 * the shell answers (any output) or `maxHoldMs` passes, whichever is first; requests
 * already in flight finish. A transfer loses at most `maxHoldMs` per keystroke, and only
 * while someone types.
 */
export class TypingGate {
  #held = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];

  constructor(private readonly maxHoldMs = 25) {}

  get held(): boolean {
    return this.#held;
  }

  /** A keystroke went to the shell. */
  typed(): void {
    this.#held = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.open(), this.maxHoldMs);
  }

  /** The shell answered (or the session ended): held transfers go on. */
  open(): void {
    if (!this.#held) return;
    this.#held = false;
    clearTimeout(this.#timer);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Runs `fn` now, or when the gate opens. Each caller keeps at most one waiting. */
  whenOpen(fn: () => void): void {
    if (this.#held) this.#waiters.push(fn);
    else fn();
  }
}
