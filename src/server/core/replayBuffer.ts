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

/**
 * Small chunks (a line, an echo) are copied into blocks instead of kept one by one: a
 * session that prints a line a second holds thousands of them in its recent screen, and
 * each Buffer costs ~100 bytes of heap plus the SSH packet it is a view of. Measured with
 * 3,000 chunks of 40 bytes and a 64 KiB screen: 312 KB of heap and 128 KB of buffers per
 * session kept one by one (2 GB at 5,000 sessions). Blocks start small, so a quiet
 * session holds one small block, and double up to BLOCK_MAX.
 */
const SMALL_CHUNK = 1024;
const BLOCK_MIN = 1024;
const BLOCK_MAX = 16 * 1024;

export class ReplayBuffer {
  /** Closed chunks: large ones as they came, and filled parts of earlier blocks. */
  #chunks: Buffer[] = [];
  /**
   * The block small chunks are copied into now; its first `#blockUsed` bytes follow
   * `#chunks`. Kept apart so an append allocates nothing: a view per append lived until
   * the next line, outlived two scavenges and was promoted, for every terminal.
   */
  #block: Buffer | undefined;
  #blockUsed = 0;
  #nextBlockSize = BLOCK_MIN;
  /** Offset of the first byte held (of `#chunks[0]`, or of the block when there are none). */
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

  /** Buffers held: blocks and large chunks (the heap cost of what is kept). */
  get chunkCount(): number {
    return this.#chunks.length + (this.#blockUsed > 0 ? 1 : 0);
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#end += chunk.length;
    this.#bytes += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.#closeBlock(); // later small chunks start a new block after this one
      this.#chunks.push(chunk);
      return;
    }
    if (!this.#block || this.#blockUsed + chunk.length > this.#block.length) {
      this.#closeBlock();
      // Not from the shared pool: a pooled slice would keep its whole 8 KiB slab alive.
      this.#block = Buffer.allocUnsafeSlow(this.#nextBlockSize);
      this.#nextBlockSize = Math.min(BLOCK_MAX, this.#nextBlockSize * 2);
    }
    chunk.copy(this.#block, this.#blockUsed);
    this.#blockUsed += chunk.length;
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
    if (this.#chunks.length === 0 && this.#blockUsed > 0 && this.#start + this.#blockUsed <= keepFrom) {
      this.#start += this.#blockUsed;
      this.#bytes -= this.#blockUsed;
      this.#block = undefined;
      this.#blockUsed = 0;
    }
  }

  /** Everything from `offset` on (clamped to what is kept and what exists). */
  from(offset: number): ReplaySlice {
    const wanted = Math.max(0, Math.min(offset, this.#end));
    const gap = wanted < this.#start;
    let at = this.#start;
    const data: Buffer[] = [];
    // Views handed out keep their length: bytes are only ever added past them.
    const held = this.#blockUsed > 0 ? [...this.#chunks, this.#block!.subarray(0, this.#blockUsed)] : this.#chunks;
    for (const chunk of held) {
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

  /** The block's filled part joins the closed chunks; the next small chunk starts a new block. */
  #closeBlock(): void {
    if (this.#block && this.#blockUsed > 0) this.#chunks.push(this.#block.subarray(0, this.#blockUsed));
    this.#block = undefined;
    this.#blockUsed = 0;
  }
}
