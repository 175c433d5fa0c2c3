/**
 * One session attempt: a fresh socket, the `start` request, and the server's events
 * turned into calls on `SessionEvents`. Output goes straight into the terminal with
 * render-acks (flowControl.ts). After `ended`, a connect error or a disconnect the
 * session is over for good; the UI makes a new Session to reconnect.
 */
import type { Terminal } from '@xterm/xterm';
import type { KbdPromptMessage, NoticeMessage, PageConfig, StatusMessage } from '../src/shared/protocol.js';
import type { StartRequest } from '../src/shared/schemas.js';
import { isErrorCode, type ErrorInfo } from '../src/shared/errors.js';
import { LIMITS } from '../src/shared/limits.js';
import type { ClientOptions } from './config.js';
import { connectErrorInfo, openSocket, type FailureInfo, type GatewaySocket } from './connection.js';
import { AckAccounting } from './flowControl.js';
import { binaryStringToBytes, chunkBytes, chunkString } from './input.js';

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'connected' | 'ended';

export interface SessionEvents {
  status(msg: StatusMessage): void;
  kbdPrompt(msg: KbdPromptMessage, answer: (answers: string[]) => void): void;
  notice(msg: NoticeMessage): void;
  problem(err: ErrorInfo): void;
  ended(info: FailureInfo): void;
}

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
  private readonly socket: GatewaySocket;
  private readonly acks: AckAccounting;
  private phase: ClientState = 'connecting';
  private sentSize: Size;

  constructor(
    config: PageConfig,
    options: ClientOptions,
    private readonly term: Terminal,
    auth: StartRequest['auth'],
    private readonly events: SessionEvents,
  ) {
    this.sentSize = sizeOf(term);
    const socket = openSocket(config, options);
    this.socket = socket;
    this.acks = new AckAccounting((bytes) => socket.emit('ack', bytes));

    socket.once('connect', () => socket.emit('start', { auth, size: this.sentSize }));
    socket.on('status', (msg) => this.onStatus(msg));
    socket.on('output', (data) => this.onOutput(data));
    socket.on('kbdPrompt', (msg) => {
      if (this.phase === 'ended') return;
      events.kbdPrompt(msg, (answers) => {
        if (this.phase !== 'ended') socket.emit('kbdAnswers', answers.slice(0, LIMITS.maxKbdAnswers));
      });
    });
    socket.on('notice', (msg) => {
      if (this.phase !== 'ended') events.notice(msg);
    });
    socket.on('problem', (err) => events.problem(err));
    socket.on('ended', (err) => this.finish(toFailure(err)));
    socket.on('connect_error', (err) => this.finish(connectErrorInfo(err)));
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      this.finish({ message: `Disconnected from the gateway (${reason}).`, retryable: true });
    });
  }

  get state(): ClientState {
    return this.phase;
  }

  /** Keyboard/paste input from `term.onData`; dropped unless the shell is up. */
  input(data: string): void {
    if (this.phase !== 'connected') return;
    for (const chunk of chunkString(data)) this.socket.emit('input', chunk);
  }

  /** Binary input from `term.onBinary` (char codes are bytes). */
  binary(data: string): void {
    if (this.phase !== 'connected') return;
    for (const chunk of chunkBytes(binaryStringToBytes(data))) this.socket.emit('input', chunk);
  }

  /** Reports the terminal's size if it changed since the last one the server saw. */
  syncSize(): void {
    if (this.phase !== 'connected') return;
    const size = sizeOf(this.term);
    if (size.cols === this.sentSize.cols && size.rows === this.sentSize.rows) return;
    this.sentSize = size;
    this.socket.emit('resize', size);
  }

  /** Ends the session from the client side (e.g. the page is going away). */
  close(): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.acks.dispose();
    if (this.socket.connected) this.socket.emit('end');
    this.socket.disconnect();
  }

  private onStatus(msg: StatusMessage): void {
    if (this.phase === 'ended') return;
    this.phase = msg.state;
    this.events.status(msg);
    // The window may have changed size while we were connecting.
    this.syncSize();
  }

  private onOutput(data: ArrayBuffer | Uint8Array | string): void {
    if (this.phase === 'ended') return;
    if (typeof data === 'string') {
      // Not expected (the protocol sends bytes), but ack the bytes the server counted.
      const bytes = new TextEncoder().encode(data);
      this.term.write(bytes, () => this.acks.rendered(bytes.byteLength));
      return;
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    this.term.write(bytes, () => this.acks.rendered(bytes.byteLength));
  }

  private finish(info: FailureInfo): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.acks.dispose();
    this.socket.disconnect();
    this.events.ended(info);
  }
}
