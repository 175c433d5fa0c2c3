/**
 * A protocol client that speaks to the gateway exactly as the browser does: typed
 * events, binary output, acks after "rendering" (here: after receipt, unless paused).
 * Every wait has a timeout and says what it was waiting for.
 */
import { StringDecoder } from 'node:string_decoder';
import { io, type Socket } from 'socket.io-client';
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { AttachedMessage, ClientToServerEvents, KbdPromptMessage, NoticeMessage, ServerToClientEvents, StatusMessage } from '../../src/shared/protocol.js';
import type { CredentialsInput } from '../../src/shared/schemas.js';
import { clientParser } from '../../src/shared/outputFrames.js';

export interface ClientOptions {
  basePath?: string;
  transport?: 'websocket' | 'polling' | 'default';
  cookie?: string;
  origin?: string;
  /** More request headers (sent on polling requests and the WebSocket upgrade). */
  headers?: Record<string, string>;
  autoAck?: boolean;
  /** Socket.IO handshake `auth` (an admin watcher's token). */
  auth?: Record<string, string>;
  /** Keep every output chunk (for `text`); off for floods, where only the window is scanned. */
  record?: boolean;
}

/** Output text kept for matching across chunk boundaries. */
const WINDOW_CHARS = 8192;

export class TerminalClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly statuses: StatusMessage[] = [];
  readonly problems: ErrorInfo[] = [];
  readonly kbdPrompts: KbdPromptMessage[] = [];
  readonly notices: NoticeMessage[] = [];
  /** Every `attached` (issue 13: resume); the last one holds the current secret. */
  readonly attached: AttachedMessage[] = [];
  /** Stream offset of the next output byte, as the page tracks it. */
  streamOffset = 0;
  readonly chunks: Buffer[] = [];
  received = 0;
  acked = 0;
  ended: ErrorInfo | undefined;
  connectError: Error | undefined;
  /** Why the socket went away, if it did (e.g. "transport close" when the worker died). */
  disconnectReason: string | undefined;
  autoAck: boolean;
  #waiters = new Set<() => void>();
  #decoder = new StringDecoder('utf8');
  /** The tail of the previous output plus the newest chunk: what waitForText scans. */
  #window = '';
  readonly #record: boolean;

  constructor(url: string, opts: ClientOptions = {}) {
    this.autoAck = opts.autoAck ?? true;
    this.#record = opts.record ?? true;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.origin) headers.origin = opts.origin;
    const transports = opts.transport === 'polling' ? ['polling'] : opts.transport === 'default' ? ['polling', 'websocket'] : ['websocket'];
    this.socket = io(url, { path: `${opts.basePath ?? '/ssh'}/socket.io`, transports, extraHeaders: headers, reconnection: false, forceNew: true, parser: clientParser, ...(opts.auth && { auth: opts.auth }) });
    this.socket.on('status', (m) => this.#push(() => this.statuses.push(m)));
    this.socket.on('problem', (e) => this.#push(() => this.problems.push(e)));
    this.socket.on('kbdPrompt', (m) => this.#push(() => this.kbdPrompts.push(m)));
    this.socket.on('notice', (m) => this.#push(() => this.notices.push(m)));
    this.socket.on('ended', (e) => this.#push(() => (this.ended = e)));
    this.socket.on('attached', (m) =>
      this.#push(() => {
        this.attached.push(m);
        this.streamOffset = m.offset;
      }),
    );
    this.socket.on('output', (data) => {
      const buf = Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
      this.#push(() => {
        if (this.#record) this.chunks.push(buf);
        this.received += buf.length;
        this.streamOffset += buf.length;
        this.#window = this.#window.slice(-WINDOW_CHARS) + this.#decoder.write(buf);
      });
      if (this.autoAck) this.ackPending();
    });
    this.socket.on('disconnect', (reason) => this.#push(() => (this.disconnectReason = reason)));
    this.socket.on('connect', () => this.#push(() => undefined));
    this.socket.on('connect_error', (err) => this.#push(() => (this.connectError = err)));
  }

  #push(fn: () => void): void {
    fn();
    for (const w of this.#waiters) w();
  }

  get text(): string {
    return this.#record ? Buffer.concat(this.chunks).toString('utf8') : this.#window;
  }

  /** Acks everything received and not yet acked, as the browser does after rendering. */
  ackPending(): void {
    const n = this.received - this.acked;
    if (n > 0) {
      this.acked += n;
      this.socket.emit('ack', n);
    }
  }

  start(credentials: CredentialsInput | 'grant', size = { cols: 80, rows: 24 }): void {
    const auth = credentials === 'grant' ? { kind: 'grant' as const } : { kind: 'credentials' as const, credentials };
    this.socket.emit('start', { auth, size });
  }

  /** Resumes session `session` with `secret`; `offset` absent: a fresh page. */
  resume(session: string, secret: string, offset?: number, size = { cols: 80, rows: 24 }): void {
    this.socket.emit('resume', { session, secret, size, ...(offset !== undefined && { offset }) });
  }

  waitForAttached(count = 1, ms?: number): Promise<AttachedMessage> {
    return this.waitFor(
      `${count} attached`,
      () => {
        if (this.ended) throw new Error(`ended before attached: ${JSON.stringify(this.ended)}`);
        return this.attached[count - 1];
      },
      ms,
    );
  }

  send(data: string): void {
    this.socket.emit('input', data);
  }

  /** Waits until `predicate` holds, re-checking on every event; fails after `ms`. */
  waitFor<T>(what: string, predicate: () => T | undefined | false, ms = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        try {
          const v = predicate();
          if (v !== undefined && v !== false) {
            done();
            resolve(v);
          }
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; ended=${JSON.stringify(this.ended)} output tail=${JSON.stringify(this.#window.slice(-300))}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  waitForText(pattern: RegExp | string, ms?: number): Promise<true> {
    const test = (t: string) => (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t));
    if (test(this.text)) return Promise.resolve(true); // arrived before we asked
    return this.waitFor(`output matching ${String(pattern)}`, () => test(this.#window) || undefined, ms);
  }

  waitForState(state: StatusMessage['state'], ms?: number): Promise<StatusMessage> {
    return this.waitFor(
      `status ${state}`,
      () => {
        const found = this.statuses.find((s) => s.state === state);
        if (!found && this.ended) throw new Error(`ended before ${state}: ${JSON.stringify(this.ended)}`);
        return found;
      },
      ms,
    );
  }

  waitForEnd(ms?: number): Promise<ErrorInfo> {
    return this.waitFor('session end', () => this.ended, ms);
  }

  waitForProblem(count = 1, ms?: number): Promise<ErrorInfo> {
    return this.waitFor(`${count} problem(s)`, () => (this.problems.length >= count ? this.problems[count - 1] : undefined), ms);
  }

  close(): void {
    this.socket.close();
  }
}

/** Waits until `predicate` holds, re-checking on each `event` of `emitter`. */
export function waitUntil(emitter: NodeJS.EventEmitter, event: string, what: string, predicate: () => boolean, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, check);
    };
    emitter.on(event, check);
    check();
  });
}
