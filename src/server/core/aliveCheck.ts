/**
 * Whether an SSH server is still there, with OpenSSH's `ServerAliveInterval` semantics:
 * a keepalive goes out only after an interval in which nothing at all came from the
 * server, and the server is given up on once `countMax` keepalives in a row went
 * unanswered. ssh2's own keepalive pings every interval however busy the connection is
 * (it restarts its timer only on replies to global requests): at 5,000 terminals and
 * 15 s that was 333 pings and 333 replies a second, each encrypted, written, read and
 * decrypted, on connections whose output already proved the server alive.
 *
 * Pure: the caller reports what arrived (`heard`) and calls `tick` once per interval.
 */
export type AliveVerdict = 'quiet' | 'ping' | 'dead';

export class AliveCheck {
  #heard = false;
  #unanswered = 0;

  constructor(private readonly countMax: number) {
    if (!(Number.isInteger(countMax) && countMax >= 1)) throw new RangeError(`countMax must be a positive integer (got ${countMax})`);
  }

  /** Something (output, a reply, any packet) came from the server. */
  heard(): void {
    this.#heard = true;
  }

  /** Keepalives sent since the server was last heard. */
  get unanswered(): number {
    return this.#unanswered;
  }

  /**
   * One interval passed: `quiet` when the server was heard meanwhile, `ping` to send a
   * keepalive, `dead` when `countMax` of them went unanswered (ssh2's and OpenSSH's
   * count: the verdict comes at the tick after the last unanswered one).
   */
  tick(): AliveVerdict {
    if (this.#heard) {
      this.#heard = false;
      this.#unanswered = 0;
      return 'quiet';
    }
    if (this.#unanswered >= this.countMax) return 'dead';
    this.#unanswered++;
    return 'ping';
  }
}
