/**
 * Render-ack flow control, server side: counts bytes sent to the browser and not yet
 * acknowledged as rendered. Pure accounting; the caller pauses/resumes the SSH channel.
 * Hysteresis (pause above `high`, resume only below `low`) keeps the channel from
 * flapping on every ack.
 */
export interface Watermarks {
  high: number;
  low: number;
}

export class FlowControl {
  #inFlight = 0;
  #paused = false;
  #sent = 0;
  #acked = 0;

  constructor(private readonly marks: Watermarks) {
    if (!(marks.low >= 0 && marks.high > marks.low)) {
      throw new RangeError(`flow control needs 0 <= low < high (got low=${marks.low}, high=${marks.high})`);
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get totals(): { sent: number; acked: number } {
    return { sent: this.#sent, acked: this.#acked };
  }

  /** Records bytes sent; returns true when the producer must pause now. */
  sent(bytes: number): boolean {
    this.#inFlight += bytes;
    this.#sent += bytes;
    if (!this.#paused && this.#inFlight > this.marks.high) {
      this.#paused = true;
      return true;
    }
    return false;
  }

  /**
   * Records an ack; returns true when the producer may resume now. Acks beyond what is
   * in flight (a confused or hostile client) are clamped so they cannot buy credit.
   */
  acked(bytes: number): boolean {
    const credited = Math.min(Math.max(0, bytes), this.#inFlight);
    this.#inFlight -= credited;
    this.#acked += credited;
    if (this.#paused && this.#inFlight <= this.marks.low) {
      this.#paused = false;
      return true;
    }
    return false;
  }
}
