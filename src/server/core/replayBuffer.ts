/**
 * The output a reattaching page may still need, by byte offset in the session's output
 * stream (issue 13). Pure; the terminal (socket/liveTerminal.ts) appends what it sends
 * and says what it may forget.
 *
 * Two things are kept, and nothing else:
 * - everything the page has not acknowledged: a page that comes back after a network
 *   drop says how far it got and receives exactly the rest. Flow control already bounds
 *   it (window + unacked ≤ the output budget), so this never grows past the budget;
 * - the last `screenBytes` of output, for a fresh page (a reload) that has nothing: it
 *   gets a recent screen to start from.
 */
export interface ReplaySlice {
  /** Offset of the first byte of `data`. */
  from: number;
  data: Buffer[];
  /** The page asked for bytes older than any kept (only a page that lied about its acks can). */
  gap: boolean;
}

export class ReplayBuffer {
  #chunks: Buffer[] = [];
  /** Offset of the first byte of `#chunks[0]`. */
  #start = 0;
  #end = 0;
  #bytes = 0;

  constructor(private readonly screenBytes: number) {}

  /** Offset one past the last byte sent: the stream's length. */
  get end(): number {
    return this.#end;
  }

  /** Bytes held (whole chunks, so up to one chunk more than strictly needed). */
  get bytes(): number {
    return this.#bytes;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#end += chunk.length;
    this.#bytes += chunk.length;
  }

  /**
   * Forgets what is both acknowledged (before `acked`) and older than the recent screen.
   * Whole chunks only: the chunk holding the boundary stays.
   */
  release(acked: number): void {
    const keepFrom = Math.min(acked, this.#end - this.screenBytes);
    while (this.#chunks.length > 0 && this.#start + this.#chunks[0]!.length <= keepFrom) {
      const first = this.#chunks.shift()!;
      this.#start += first.length;
      this.#bytes -= first.length;
    }
  }

  /** Everything from `offset` on (clamped to what is kept and what exists). */
  from(offset: number): ReplaySlice {
    const wanted = Math.max(0, Math.min(offset, this.#end));
    const gap = wanted < this.#start;
    let at = this.#start;
    const data: Buffer[] = [];
    for (const chunk of this.#chunks) {
      const chunkEnd = at + chunk.length;
      if (chunkEnd > wanted) data.push(at >= wanted ? chunk : chunk.subarray(wanted - at));
      at = chunkEnd;
    }
    return { from: Math.max(wanted, this.#start), data, gap };
  }

  /** The recent screen for a page that has nothing: the last `screenBytes`. */
  recent(): ReplaySlice {
    const slice = this.from(this.#end - this.screenBytes);
    return { ...slice, gap: false };
  }
}
