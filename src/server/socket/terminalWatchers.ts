/**
 * Operators watching a live terminal, read-only (issue 13). A watcher gets the recent
 * screen, then the same output as the page. It never acks, so it never holds the
 * session's flow control either way: a watcher that does not read is dropped once
 * `maxPendingBytes` of output it was sent has not left the gateway, so it cannot grow
 * memory or slow the user. The user's page is told when watching starts and stops.
 */
import { errorInfo, type ErrorInfo } from '../../shared/errors.js';
import type { StatusMessage } from '../../shared/protocol.js';
import { OutputCoalescer } from '../core/outputCoalescer.js';
import type { TerminalPeer } from './terminalPeer.js';

interface Watcher {
  output: OutputCoalescer;
  /** Output sent and not yet reported delivered. */
  pending: number;
  stopWatching: () => void;
  released: () => void;
}

export const WATCHER_MAX_PENDING_BYTES = 1024 * 1024;

export class TerminalWatchers {
  readonly #watchers = new Map<TerminalPeer, Watcher>();

  constructor(
    /** Tells the user's page (if attached) something about its watchers. */
    private readonly noticeUser: (message: string) => void,
    private readonly maxPendingBytes = WATCHER_MAX_PENDING_BYTES,
  ) {}

  get size(): number {
    return this.#watchers.size;
  }

  /** Starts watching: the status and the recent screen go out first. Returns `stop`. */
  add(peer: TerminalPeer, status: StatusMessage, recent: readonly Buffer[], released: () => void): () => void {
    const w: Watcher = {
      output: new OutputCoalescer((data) => peer.emit('output', data)),
      pending: 0,
      stopWatching: peer.watchDelivery((bytes) => (w.pending = Math.max(0, w.pending - bytes))),
      released,
    };
    this.#watchers.set(peer, w);
    peer.emit('status', status);
    for (const chunk of recent) this.#push(peer, w, chunk);
    this.noticeUser(this.#countNotice('started watching'));
    return () => this.#remove(peer, undefined);
  }

  output(chunk: Buffer): void {
    for (const [peer, w] of this.#watchers) this.#push(peer, w, chunk);
  }

  /** The session ended: every watcher is told why. */
  ended(info: ErrorInfo): void {
    for (const peer of [...this.#watchers.keys()]) this.#remove(peer, info, false);
  }

  /** A note for a page that attaches while someone watches. */
  get notice(): string | undefined {
    return this.#watchers.size > 0 ? this.#countNotice('is watching') : undefined;
  }

  #push(peer: TerminalPeer, w: Watcher, chunk: Buffer): void {
    if (w.pending + chunk.length > this.maxPendingBytes) {
      this.#remove(peer, errorInfo('WATCHER_TOO_SLOW'));
      return;
    }
    w.pending += chunk.length;
    w.output.push(chunk);
  }

  #remove(peer: TerminalPeer, info: ErrorInfo | undefined, tellUser = true): void {
    const w = this.#watchers.get(peer);
    if (!w) return;
    this.#watchers.delete(peer);
    w.output.flush();
    w.stopWatching();
    if (info) peer.emit('ended', info);
    w.released();
    if (tellUser) this.noticeUser(this.#watchers.size > 0 ? this.#countNotice('is watching') : 'An administrator stopped watching this session.');
  }

  #countNotice(what: string): string {
    const n = this.#watchers.size;
    return n === 1 ? `An administrator ${what} this session (read-only).` : `${n} administrators are watching this session (read-only).`;
  }
}
