/**
 * A page that resumes by itself, as the browser client does (client/session.ts): when
 * its socket drops before the session ended, it opens a new socket (through whatever
 * worker NGINX picks) and resumes from the offset it has. Its text is everything it
 * received across all its sockets, so "every line once, in order" can be checked.
 */
import { randomBytes } from 'node:crypto';
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { CredentialsInput } from '../../src/shared/schemas.js';
import { TerminalClient, type ClientOptions } from './terminalClient.js';

export const newBrowserCookie = () => `webssh_browser=${randomBytes(32).toString('base64url')}`;

export class ResumingPage {
  /** Every socket this page used, oldest first. */
  readonly sockets: TerminalClient[] = [];
  resumes = 0;
  ended: ErrorInfo | undefined;
  #closed = false;
  /** The resume under way, if any. */
  #resuming: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly opts: ClientOptions,
    /** Gives up after this long without a socket that resumed. */
    private readonly retryMs = 60_000,
  ) {}

  get current(): TerminalClient {
    return this.sockets.at(-1)!;
  }

  get text(): string {
    return this.sockets.map((s) => s.text).join('');
  }

  async start(credentials: CredentialsInput): Promise<void> {
    const c = this.#open();
    c.start(credentials);
    await c.waitForAttached();
  }

  send(data: string): void {
    this.current.send(data);
  }

  /** Waits for `pattern` in everything received, across resumes. */
  async waitForText(pattern: RegExp, ms = 60_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pattern.test(this.text)) {
      if (this.ended) throw new Error(`session ended: ${JSON.stringify(this.ended)}`);
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${String(pattern)}; resumes=${this.resumes}`);
      const c = this.current;
      // Wake on this socket's next output or its replacement, whichever comes first.
      await c.waitFor('more output or a new socket', () => pattern.test(this.text) || this.current !== c || c.disconnectReason !== undefined || this.ended || undefined, Math.max(1, until - Date.now())).catch(() => undefined);
      await this.#resuming;
    }
  }

  close(): void {
    this.#closed = true;
    this.sockets.forEach((s) => s.close());
  }

  #open(): TerminalClient {
    const c = new TerminalClient(this.url, this.opts);
    this.sockets.push(c);
    c.socket.on('disconnect', () => {
      if (this.#closed || c.ended || this.#resuming || c.attached.length === 0) return;
      this.#resuming = this.#resume(c).finally(() => (this.#resuming = undefined));
    });
    c.socket.on('ended', (info) => {
      if (this.current === c) this.ended = info;
    });
    return c;
  }

  /** New sockets until one resumes, with a short backoff (the page's is longer). */
  async #resume(from: TerminalClient): Promise<void> {
    const { session } = from.attached[0]!;
    let secret = from.attached.at(-1)!.secret;
    let offset = from.streamOffset;
    const until = Date.now() + this.retryMs;
    while (!this.#closed && Date.now() < until) {
      const c = this.#open();
      c.resume(session, secret, offset);
      try {
        await c.waitForAttached(1, 10_000);
        this.resumes++;
        return;
      } catch {
        if (c.ended) {
          this.ended = c.ended;
          return;
        }
        // No answer in time: try a new socket. Keep what this one may have advanced.
        secret = c.attached.at(-1)?.secret ?? secret;
        offset = c.attached.length > 0 ? c.streamOffset : offset;
        c.close();
        await new Promise((r) => setTimeout(r, 250)); // backoff between attempts
      }
    }
  }
}
