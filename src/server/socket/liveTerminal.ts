/**
 * A terminal that outlives its socket (issue 13): the SSH session, the output a page
 * may still need (core/replayBuffer.ts), and the socket it is attached to, if any.
 * Output goes to the attached socket and into the replay buffer; when the socket drops
 * the session stays, detached, for `detachMs`, and a socket of the same browser that
 * shows the current resume secret takes it over and gets exactly what it missed.
 *
 * It owns its detach timer and its attachment (coalescer, delivery watch); `dispose()`
 * (from the session's end) releases both.
 */
import { randomBytes } from 'node:crypto';
import { errorInfo, type ErrorInfo } from '../../shared/errors.js';
import type { AttachedMessage, ServerToClientEvents } from '../../shared/protocol.js';
import { OutputCoalescer } from '../core/outputCoalescer.js';
import { ReplayBuffer } from '../core/replayBuffer.js';
import { digest } from '../http/browserCookie.js';
import type { Logger } from '../log.js';
import type { SshSession } from '../ssh/sshSession.js';
import type { TermSize } from '../../shared/schemas.js';
import { proves, type ResumeProof } from './endedTerminals.js';
import type { TerminalPeer } from './terminalPeer.js';
import { TerminalWatchers } from './terminalWatchers.js';

export interface ResumeSettings {
  /** How long a detached session waits for a page; 0 = it ends with its socket. */
  detachMs: number;
  /** Recent output kept for a fresh page. */
  replayBytes: number;
}

interface Attachment {
  peer: TerminalPeer;
  output: OutputCoalescer;
  stopWatching: () => void;
  /** The peer's handler forgets this terminal (taken over, or ended). */
  released: () => void;
}

export class LiveTerminal {
  readonly replay: ReplayBuffer;
  #session: SshSession | undefined;
  #attached: Attachment | undefined;
  #secretHash: Buffer | undefined;
  #detachedSince: number | undefined;
  #detachTimer: NodeJS.Timeout | undefined;
  #resumable = false;
  #disposed = false;
  readonly #watchers = new TerminalWatchers((message) => this.emit('notice', { message }));
  /** Input or output happened (the session's idle clock); set by the handler that creates it. */
  touch: () => void = () => undefined;

  constructor(
    private readonly settings: ResumeSettings,
    /** Digest of the browser cookie that started it; none: it cannot be resumed. */
    private readonly owner: Buffer | undefined,
    private readonly log: Logger,
  ) {
    this.replay = new ReplayBuffer(settings.replayBytes);
  }

  get session(): SshSession {
    if (!this.#session) throw new Error('terminal has no session yet');
    return this.#session;
  }

  set session(session: SshSession) {
    this.#session = session;
  }

  get attached(): boolean {
    return this.#attached !== undefined;
  }

  get detachedSince(): number | undefined {
    return this.#detachedSince;
  }

  /** Sends an event to the attached page, if there is one. */
  emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.#attached?.peer.emit(event, ...args);
  }

  /** `echo`: a keystroke's answer, sent ahead of the output other terminals have waiting (core/outputCoalescer.ts). */
  output(chunk: Buffer, echo = false): void {
    this.replay.append(chunk);
    this.#attached?.output.push(chunk, echo);
    this.#watchers.output(chunk);
  }

  /** An operator watches, read-only (socket/terminalWatchers.ts); returns `stop`. */
  watch(peer: TerminalPeer, released: () => void): () => void {
    const session = this.session;
    const status = { state: 'connected' as const, ...(session.target && { target: session.target }) };
    return this.#watchers.add(peer, status, this.replay.recent().data, released);
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  /** Acks from the attached page: credit flow control, forget what nobody needs. */
  ack(bytes: number): void {
    const session = this.session;
    session.ack(bytes);
    this.replay.release(session.flow.totals.acked + this.#preShellBytes());
  }

  /** Attaches the socket that started the session (no replay: it saw everything). */
  attachFirst(peer: TerminalPeer, released: () => void): void {
    this.#attach(peer, released);
  }

  /**
   * The shell is up: from now on the session survives its socket, if it may be resumed
   * at all (the browser had our cookie, and detaching is on).
   */
  connected(): void {
    this.#resumable = this.owner !== undefined && this.settings.detachMs > 0;
    // The secret also authorises the page's file transfers (files/fileRoutes.ts), so a page
    // with the cookie gets one even when detaching is off (`detachSeconds: 0`).
    if (this.owner === undefined || !this.#attached) return;
    this.#attached.output.flush(); // the offset counts what this socket was sent
    this.#announce(this.replay.end, false);
  }

  /** True when `cookie` is the owner's browser cookie and `secret` the current secret. */
  mayResume(cookie: string | undefined, secret: string): boolean {
    return cookie !== undefined && this.mayResumeDigests(digest(cookie), digest(secret));
  }

  /** The same check from the digests a relay carries (relay/relayOwner.ts). */
  mayResumeDigests(cookie: Buffer, secret: Buffer): boolean {
    const proof = this.proof;
    return !this.#disposed && proof !== undefined && proves(proof, cookie, secret);
  }

  /** The page attached now (its cookie and current secret) may transfer files; resumable or not. */
  mayUseFiles(cookie: string | undefined, secret: string | undefined): boolean {
    if (this.#disposed || !this.owner || !this.#secretHash || cookie === undefined || secret === undefined) return false;
    return proves({ owner: this.owner, secretHash: this.#secretHash }, digest(cookie), digest(secret));
  }

  /** SHA-256 of the browser cookie that started the session (download links are bound to it). */
  get ownerDigest(): Buffer | undefined {
    return this.owner;
  }

  /** What a resume must match; undefined while the session cannot be resumed. */
  get proof(): ResumeProof | undefined {
    return this.#resumable && this.owner && this.#secretHash ? { owner: this.owner, secretHash: this.#secretHash } : undefined;
  }

  /**
   * A page takes the session over: the page attached so far (if any) is told so, this
   * one gets a new secret, then the output from `offset` (or the recent screen).
   */
  resume(peer: TerminalPeer, offset: number | undefined, released: () => void): void {
    const previous = this.#attached;
    if (previous) {
      this.#detachAttachment();
      previous.peer.emit('ended', errorInfo('RESUMED_ELSEWHERE'));
      previous.released();
    }
    clearTimeout(this.#detachTimer);
    this.#detachedSince = undefined;
    const slice = offset === undefined ? this.replay.recent() : this.replay.from(offset);
    this.#attach(peer, released);
    this.#announce(slice.from, slice.gap);
    const session = this.session;
    const grant = session.flow.reattached(slice.from - this.#preShellBytes());
    for (const chunk of slice.data) this.#attached?.output.push(chunk);
    session.grant(grant);
    const watched = this.#watchers.notice;
    if (watched) this.emit('notice', { message: watched });
    this.log.info('terminal resumed', { session: session.id, from: slice.from, replayed: this.replay.end - slice.from, gap: slice.gap, fresh: offset === undefined });
  }

  /**
   * `resume`, then the page's size, and for a fresh page (no offset) a redraw nudge: it
   * got a recent screen, not the current one, so full-screen programs must repaint.
   */
  takeOver(peer: TerminalPeer, cmd: { offset?: number | undefined; size: TermSize }, released: () => void): void {
    this.resume(peer, cmd.offset, released);
    this.session.resize(cmd.size);
    if (cmd.offset === undefined) this.session.nudgeRedraw(cmd.size);
  }

  /**
   * The attached page dropped: detach and wait for a page, or end (not resumable).
   * Returns true when the session lives on.
   */
  peerGone(peer: TerminalPeer, reason: string): boolean {
    if (this.#attached?.peer !== peer) return true;
    this.#detachAttachment();
    if (!this.#resumable || this.session.ended) {
      this.session.end('USER_CLOSED', reason);
      return false;
    }
    this.#detachedSince = Date.now();
    this.#detachTimer = setTimeout(() => this.session.end('DETACH_EXPIRED'), this.settings.detachMs);
    this.log.info('terminal detached', { session: this.session.id, reason, detachSeconds: this.settings.detachMs / 1000 });
    return true;
  }

  /** The session ended: tell the attached page, let its socket go, stop every clock. */
  ended(info: ErrorInfo): void {
    const attached = this.#attached;
    attached?.output.flush();
    this.#watchers.ended(info);
    this.dispose();
    attached?.peer.emit('ended', info);
    attached?.released();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#detachTimer);
    this.#detachAttachment();
  }

  /** Banner bytes sent before the shell, which flow control never counted. */
  #preShellBytes(): number {
    return this.replay.end - this.session.flow.totals.sent;
  }

  #attach(peer: TerminalPeer, released: () => void): void {
    const output = new OutputCoalescer((data) => peer.emit('output', data));
    // Acks buy window only for output that left this process (core/flowControl.ts).
    const stopWatching = peer.watchDelivery((bytes) => this.#session?.delivered(bytes));
    this.#attached = { peer, output, stopWatching, released };
    peer.joinNotices();
  }

  #detachAttachment(): void {
    const a = this.#attached;
    if (!a) return;
    this.#attached = undefined;
    a.stopWatching();
    a.peer.leaveNotices();
  }

  #announce(offset: number, gap: boolean): void {
    const secret = randomBytes(32).toString('base64url');
    this.#secretHash = digest(secret);
    const session = this.session;
    const msg: AttachedMessage = {
      session: session.id,
      secret,
      offset,
      gap,
      startedAt: session.startedAt,
      target: session.target ?? { username: '', host: '', port: 0 },
      detachSeconds: Math.round(this.settings.detachMs / 1000),
    };
    this.emit('attached', msg);
  }
}
