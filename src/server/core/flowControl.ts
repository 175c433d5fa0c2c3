/**
 * End-to-end output credit, server side. Pure accounting; the caller turns grants into
 * SSH window adjustments.
 *
 * The budget bounds every output byte between the remote program and the screen: the
 * SSH window the remote may still use plus the bytes sent to the browser and not yet
 * acked as rendered. The gateway itself never holds a backlog, so after Ctrl-C only the
 * budget stands between the user and the prompt, whatever the client's speed.
 *
 * A byte is credited once the client acked it *and* the transport reported it handed
 * to the kernel (`delivered`). An honest client only acks what it read, so its acks
 * are never lost, at most credited a moment later; a client that acks what it never
 * read cannot make the gateway's own buffers grow past the budget (issue 12, finding 3).
 * (docs/architecture.md, "Flow control".)
 */
export interface FlowBudget {
  /** Window + unacked bytes never exceed this. */
  budget: number;
  /** Smallest window top-up worth an SSH packet; smaller room waits for more acks. */
  minGrant: number;
}

/** Milliseconds on a monotonic clock; injectable so tests need no real time. */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

export class FlowControl {
  #inFlight = 0;
  #window: number;
  #sent = 0;
  /** Credited: acked and delivered. */
  #acked = 0;
  /** What the client claims to have rendered, clamped to what was sent. */
  #claimed = 0;
  #delivered = 0;
  /** Time the window spent at zero (the remote had to wait), excluding the current stretch. */
  #closedMs = 0;
  #closedSince: number | undefined;

  constructor(
    private readonly limits: FlowBudget,
    private readonly now: Clock = monotonic,
  ) {
    if (!(limits.minGrant > 0 && limits.budget >= limits.minGrant)) {
      throw new RangeError(`flow control needs 0 < minGrant <= budget (got budget=${limits.budget}, minGrant=${limits.minGrant})`);
    }
    this.#window = limits.budget;
  }

  /** The SSH window to advertise when the channel opens. */
  get initialWindow(): number {
    return this.limits.budget;
  }

  /** Bytes sent to the browser and not yet acked. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Bytes the remote may still send before it must wait for a grant. */
  get window(): number {
    return this.#window;
  }

  get totals(): { sent: number; acked: number } {
    return { sent: this.#sent, acked: this.#acked };
  }

  /**
   * How long the remote has been stopped by a closed window, the current stretch
   * included: the operator's sign that browsers (or the gateway) cannot keep up.
   */
  get windowClosedMs(): number {
    return this.#closedMs + (this.#closedSince === undefined ? 0 : this.now() - this.#closedSince);
  }

  /** Records output received from the remote and passed on to the browser. */
  received(bytes: number): void {
    // A remote that overruns its window gains nothing: the window just stays shut.
    this.#window = Math.max(0, this.#window - bytes);
    if (this.#window === 0) this.#closedSince ??= this.now();
    this.#inFlight += bytes;
    this.#sent += bytes;
  }

  /**
   * Records an ack and returns the window to grant now (0: none yet). Acks beyond what
   * was sent (a confused or hostile client) are clamped so they cannot buy credit.
   */
  acked(bytes: number): number {
    this.#claimed = Math.min(this.#claimed + Math.max(0, bytes), this.#sent);
    return this.#settle();
  }

  /** Records output the transport handed to the kernel; returns the window to grant now. */
  delivered(bytes: number): number {
    this.#delivered = Math.min(this.#delivered + Math.max(0, bytes), this.#sent);
    return this.#settle();
  }

  /**
   * A new transport took over (issue 13): the page has the stream up to `from` and gets
   * the rest replayed. Its acks and deliveries count from there again; bytes it acks
   * that were credited before (a fresh page's replayed screen) buy nothing twice.
   * Returns the window to grant now.
   */
  reattached(from: number): number {
    const at = Math.max(0, Math.min(from, this.#sent));
    this.#claimed = at;
    this.#delivered = at;
    return this.#settle();
  }

  #settle(): number {
    const credited = Math.max(0, Math.min(this.#claimed, this.#delivered) - this.#acked);
    this.#inFlight -= credited;
    this.#acked += credited;
    const room = this.limits.budget - this.#inFlight - this.#window;
    if (room < this.limits.minGrant) return 0;
    this.#window += room;
    if (this.#closedSince !== undefined) {
      this.#closedMs += this.now() - this.#closedSince;
      this.#closedSince = undefined;
    }
    return room;
  }
}
