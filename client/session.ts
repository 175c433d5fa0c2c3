/**
 * One terminal session, across as many sockets as it takes (issue 13). The first socket
 * sends `start` (or `resume`, for a session found after a reload); once the gateway says
 * `attached`, a dropped socket is not the end: the session reconnects by itself with
 * backoff until the detach window runs out, and a new socket sends `resume` with the
 * byte offset this page has, so the gateway replays exactly what is missing. Keystrokes
 * typed meanwhile wait in a bounded queue and go out, in order, after the resume.
 * After `ended` the session is over for good; the UI makes a new Session to reconnect.
 */
import type { Terminal } from '@xterm/xterm';
import type { AttachedMessage, KbdPromptMessage, NoticeMessage, PageConfig, StatusMessage } from '../src/shared/protocol.js';
import type { StartRequest } from '../src/shared/schemas.js';
import { ERRORS, isErrorCode, type ErrorInfo } from '../src/shared/errors.js';
import { LIMITS } from '../src/shared/limits.js';
import type { ClientOptions } from './config.js';
import { connectErrorInfo, openSocket, type FailureInfo, type GatewaySocket } from './connection.js';
import { AckAccounting } from './flowControl.js';
import { binaryStringToBytes, chunkBytes, chunkString } from './input.js';
import { reconnectDelay } from './reconnect.js';
import type { ResumeEntry } from './resumeStore.js';

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'connected' | 'reconnecting' | 'ended';

/** Input typed while offline that waits for the resume; beyond it, input is refused. */
export const PENDING_INPUT_MAX_BYTES = 16 * 1024;

export interface Reconnecting {
  /** Epoch ms of the next attempt. */
  retryAt: number;
  /** Epoch ms when the gateway gives the session up. */
  until: number;
  /** Input waiting to be sent. */
  pendingBytes: number;
  /** Why the socket went. */
  reason: string;
}

export interface SessionEvents {
  status(msg: StatusMessage): void;
  /** The gateway attached this page (first time, or again after a resume). */
  attached(msg: AttachedMessage, resumed: boolean): void;
  reconnecting(info: Reconnecting): void;
  kbdPrompt(msg: KbdPromptMessage, answer: (answers: string[]) => void): void;
  notice(msg: NoticeMessage): void;
  problem(err: ErrorInfo | { message: string }): void;
  ended(info: FailureInfo): void;
}

export type Opening = { kind: 'start'; auth: StartRequest['auth'] } | { kind: 'resume'; entry: ResumeEntry };

type Size = { cols: number; rows: number };

function sizeOf(term: Terminal): Size {
  return { cols: Math.min(term.cols, LIMITS.maxCols), rows: Math.min(term.rows, LIMITS.maxRows) };
}

function toFailure(err: ErrorInfo): FailureInfo {
  const message = typeof err.message === 'string' && err.message !== '' ? err.message : 'The session ended.';
  const retryable = typeof err.retryable === 'boolean' ? err.retryable : true;
  const wait = typeof err.retryAfterSeconds === 'number' ? { retryAfterSeconds: err.retryAfterSeconds } : {};
  return isErrorCode(err.code) ? { code: err.code, message, retryable, ...wait } : { message, retryable, ...wait };
}

export class Session {
  private socket: GatewaySocket | undefined;
  private readonly acks: AckAccounting;
  private phase: ClientState = 'connecting';
  private sentSize: Size;
  /** Counts sockets: output rendered after its socket was replaced is not acked on the new one. */
  private generation = 0;
  /** Stream offset of the next output byte. */
  private offset = 0;
  /** Whether this page holds the stream up to `offset` (false for a fresh page resuming). */
  private hasStream: boolean;
  private resumable: { session: string; secret: string; detachSeconds: number } | undefined;
  private detachedAt = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAt = 0;
  private lastReason = '';
  private pending: (string | Uint8Array)[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly config: PageConfig,
    private readonly options: ClientOptions,
    private readonly term: Terminal,
    private readonly opening: Opening,
    private readonly events: SessionEvents,
  ) {
    this.sentSize = sizeOf(term);
    this.acks = new AckAccounting((bytes) => this.socket?.emit('ack', bytes));
    if (opening.kind === 'resume') {
      const { session, secret, detachSeconds } = opening.entry;
      this.resumable = { session, secret, detachSeconds };
    }
    this.hasStream = opening.kind === 'start';
    this.connect();
  }

  get state(): ClientState {
    return this.phase;
  }

  /** The session's id once the gateway attached it. */
  get id(): string | undefined {
    return this.resumable?.session;
  }

  /** What file requests must carry (issue 14): the session and its current secret, while connected. */
  get fileAccess(): { session: string; secret: string } | undefined {
    return this.phase === 'connected' && this.resumable ? { session: this.resumable.session, secret: this.resumable.secret } : undefined;
  }

  /** Keyboard/paste input from `term.onData`; queued while reconnecting, dropped unless a shell is (or was) up. */
  input(data: string): void {
    this.send(chunkString(data), new TextEncoder().encode(data).byteLength);
  }

  /** Binary input from `term.onBinary` (char codes are bytes). */
  binary(data: string): void {
    const bytes = binaryStringToBytes(data);
    this.send(chunkBytes(bytes), bytes.byteLength);
  }

  private send(chunks: Iterable<string | Uint8Array>, bytes: number): void {
    if (this.phase === 'connected') {
      for (const chunk of chunks) this.socket?.emit('input', chunk);
    } else if (this.phase === 'reconnecting') {
      if (this.pendingBytes + bytes > PENDING_INPUT_MAX_BYTES) {
        this.events.problem({ message: 'Offline: this input was not sent (too much typed while reconnecting).' });
        return;
      }
      this.pending.push(...chunks);
      this.pendingBytes += bytes;
      this.reportReconnecting();
    }
  }

  /** Reports the terminal's size if it changed since the last one the server saw. */
  syncSize(): void {
    if (this.phase !== 'connected') return;
    const size = sizeOf(this.term);
    if (size.cols === this.sentSize.cols && size.rows === this.sentSize.rows) return;
    this.sentSize = size;
    this.socket?.emit('resize', size);
  }

  /** While reconnecting: try now instead of waiting for the next attempt. */
  reconnectNow(): void {
    if (this.phase !== 'reconnecting') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Ends the session from the client side ("Disconnect", or another session replaces it). */
  close(): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    clearTimeout(this.retryTimer);
    this.acks.dispose();
    if (this.socket?.connected) this.socket.emit('end');
    this.socket?.disconnect();
  }

  /** The page is going away: let the socket go without ending the session, which waits for a resume. */
  detach(): void {
    if (this.phase === 'ended') return;
    clearTimeout(this.retryTimer);
    this.socket?.disconnect();
  }

  private connect(): void {
    this.socket?.disconnect();
    const socket = openSocket(this.config, this.options);
    this.socket = socket;
    const generation = ++this.generation;
    const current = () => this.socket === socket && this.phase !== 'ended';

    socket.once('connect', () => {
      if (!current()) return;
      const size = sizeOf(this.term);
      this.sentSize = size;
      if (this.resumable) {
        const { session, secret } = this.resumable;
        socket.emit('resume', { session, secret, size, ...(this.hasStream && { offset: this.offset }) });
      } else if (this.opening.kind === 'start') {
        socket.emit('start', { auth: this.opening.auth, size });
      }
    });
    socket.on('status', (msg) => current() && this.onStatus(msg));
    socket.on('attached', (msg) => current() && this.onAttached(msg));
    socket.on('output', (data) => current() && this.onOutput(data, generation));
    socket.on('kbdPrompt', (msg) => {
      if (!current()) return;
      this.events.kbdPrompt(msg, (answers) => {
        if (current()) socket.emit('kbdAnswers', answers.slice(0, LIMITS.maxKbdAnswers));
      });
    });
    socket.on('notice', (msg) => current() && this.events.notice(msg));
    socket.on('problem', (err) => current() && this.events.problem(err));
    socket.on('ended', (err) => {
      if (!current()) return;
      const info = toFailure(err);
      // A resume the gateway could not look up (Redis away) is not an answer: keep trying.
      if (this.phase === 'reconnecting' && info.code === 'SERVICE_UNAVAILABLE') {
        socket.disconnect();
        return this.lost(info, info.message);
      }
      this.finish(info);
    });
    socket.on('connect_error', (err) => current() && this.lost(connectErrorInfo(err), err.message));
    socket.on('disconnect', (reason) => {
      if (!current() || reason === 'io client disconnect') return;
      this.lost({ message: `Disconnected from the gateway (${reason}).`, retryable: true }, reason);
    });
  }

  /** The socket went (or never came): reconnect while the session may still be resumed. */
  private lost(info: FailureInfo, reason: string): void {
    const attachedBefore = this.phase === 'connected' || this.phase === 'reconnecting';
    if (!this.resumable || this.resumable.detachSeconds <= 0 || !attachedBefore) return this.finish(info);
    if (this.phase !== 'reconnecting') {
      this.phase = 'reconnecting';
      this.detachedAt = Date.now();
      this.attempt = 0;
    }
    const until = this.detachedAt + this.resumable.detachSeconds * 1000;
    const now = Date.now();
    if (now >= until) return this.finish({ code: 'DETACH_EXPIRED', message: ERRORS.DETACH_EXPIRED.message, retryable: true });
    const delay = Math.min(reconnectDelay(this.attempt++), until - now);
    this.retryAt = now + delay;
    this.lastReason = reason;
    this.reportReconnecting();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private reportReconnecting(): void {
    if (!this.resumable) return;
    this.events.reconnecting({
      retryAt: this.retryAt,
      until: this.detachedAt + this.resumable.detachSeconds * 1000,
      pendingBytes: this.pendingBytes,
      reason: this.lastReason,
    });
  }

  private onStatus(msg: StatusMessage): void {
    this.phase = msg.state;
    this.events.status(msg);
    // The window may have changed size while we were connecting.
    this.syncSize();
  }

  private onAttached(msg: AttachedMessage): void {
    const resumed = this.phase === 'reconnecting' || this.opening.kind === 'resume';
    this.resumable = { session: msg.session, secret: msg.secret, detachSeconds: msg.detachSeconds };
    if (!this.hasStream) this.term.reset(); // a fresh page: the recent screen follows
    this.offset = msg.offset;
    this.hasStream = true;
    this.acks.reset();
    this.phase = 'connected';
    clearTimeout(this.retryTimer);
    if (msg.gap) this.events.problem({ message: 'Some output from while you were away was no longer kept by the gateway.' });
    this.events.attached(msg, resumed);
    const queued = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of queued) this.socket?.emit('input', chunk);
    this.syncSize();
  }

  private onOutput(data: ArrayBuffer | Uint8Array | string, generation: number): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
    this.offset += bytes.byteLength;
    this.term.write(bytes, () => {
      if (generation === this.generation) this.acks.rendered(bytes.byteLength);
    });
  }

  private finish(info: FailureInfo): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    clearTimeout(this.retryTimer);
    this.acks.dispose();
    this.socket?.disconnect();
    this.events.ended(info);
  }
}
