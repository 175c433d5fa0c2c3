/**
 * One terminal session: an ssh2 client, its shell channel and the render-ack flow
 * control between them and the browser. The socket layer feeds it validated input
 * and receives events through a `SessionSink`. Every resource sits in one
 * DisposableStore, released exactly once by `end()`, whatever path gets there first.
 */
import { flatUuid } from '../core/flatUuid.js';
import ssh2, { type ClientChannel, type ConnectConfig, type Prompt, type SFTPWrapper } from 'ssh2';
import { errorInfo, type ErrorCode, type ErrorInfo } from '../../shared/errors.js';
import { FLOW } from '../../shared/limits.js';
import type { KbdPromptMessage, StatusMessage } from '../../shared/protocol.js';
import type { Credentials, TermSize } from '../../shared/schemas.js';
import type { Config } from '../config.js';
import { AuthPlan, type AuthMethod } from '../core/authPlan.js';
import { DisposableStore } from '../core/disposables.js';
import { FlowControl } from '../core/flowControl.js';
import { TypingGate } from '../core/typingGate.js';
import { verifyHostKey, type KnownHostsStore } from '../core/hostKeyPolicy.js';
import { mapSshError } from '../core/sshErrors.js';
import type { Logger } from '../log.js';
import type { GatewayEventMap, GatewayEvents, SessionRef } from '../observe/gatewayEvents.js';
import { advertiseSessionWindow, takeOverWindow } from './channelWindow.js';
import { KEEPALIVE_COUNT_MAX, keepAlive } from './keepAlive.js';
import { resolveTarget, type Lookup } from './targetResolver.js';

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SessionSink {
  status(msg: StatusMessage): void;
  /** `echo`: the first output after a keystroke, which the typist is waiting for. */
  output(chunk: Buffer, echo?: boolean): void;
  kbdPrompt(msg: KbdPromptMessage): void;
  ended(err: ErrorInfo): void;
}

/**
 * Sees a session's bytes as they pass, from its shell's start to its end (recordings).
 * Called on the terminal's hot path: it must neither throw nor block.
 */
export interface SessionTap {
  output(chunk: Buffer): void;
  input(data: string | Uint8Array): void;
  resize(size: TermSize): void;
  ended(code: ErrorCode): void;
}

export interface TapInfo extends SessionRef {
  size: TermSize;
  startedAt: number;
}

export interface SshSessionDeps {
  config: Pick<Config, 'ssh' | 'targets'>;
  log: Logger;
  knownHosts: KnownHostsStore;
  lookup?: Lookup;
  /** Logins, host keys, session start and end, for the audit trail and the metrics. */
  events?: GatewayEvents;
  /** The browser's address (after trusted proxies), for those events. */
  client?: string;
  /** Opens a tap when the shell opens (observe/recording), or returns undefined. */
  openTap?: (info: TapInfo) => SessionTap | undefined;
}

type KbdFinish = (answers: string[]) => void;

export class SshSession {
  readonly id = flatUuid();
  readonly startedAt = Date.now();
  readonly flow = new FlowControl({ budget: FLOW.outputBudget, minGrant: FLOW.minWindowGrant });
  /** File transfers on this connection hold new requests while a keystroke awaits its echo. */
  readonly typing = new TypingGate();
  bytesIn = 0;
  target: { username: string; host: string; port: number } | undefined;

  readonly #store = new DisposableStore();
  readonly #log: Logger;
  #stream: ClientChannel | undefined;
  #client: Client | undefined;
  #sftp: Promise<SFTPWrapper> | undefined;
  #grantWindow: ((bytes: number) => void) | undefined;
  #kbdFinish: KbdFinish | undefined;
  #passwordOffered = false;
  #authPlan: AuthPlan | undefined;
  #hostKey: string | undefined;
  #hostKeyProblem: string | undefined;
  #hostKeyStoreDown = false;
  #exitDetail: string | undefined;
  #ended = false;
  /** Phase times (ms since the epoch) for the login metrics and audit events. */
  #connectingAt = 0;
  #handshakeAt = 0;
  #readyAt = 0;
  #shellAt = 0;
  #tap: SessionTap | undefined;

  constructor(
    private readonly deps: SshSessionDeps,
    private readonly sink: SessionSink,
  ) {
    this.#log = deps.log.child({ session: this.id });
  }

  get ended(): boolean {
    return this.#ended;
  }

  async start(creds: Credentials, size: TermSize): Promise<void> {
    this.target = { username: creds.username, host: creds.host, port: creds.port };
    this.#connectingAt = Date.now();
    this.sink.status({ state: 'connecting', target: this.target });
    const resolved = await resolveTarget(this.deps.config.targets, creds.host, creds.port, this.deps.lookup);
    if (this.#ended) return;
    if (!resolved.ok) return this.end(resolved.code, resolved.detail);
    if (creds.privateKey && utils.parseKey(creds.privateKey, creds.passphrase) instanceof Error) {
      return this.end('KEY_INVALID');
    }
    this.#log.info('ssh connecting', { target: this.target, address: resolved.address });
    this.#connect(creds, resolved.address, size);
  }

  #connect(creds: Credentials, address: string, size: TermSize): void {
    const client = new Client();
    this.#client = client;
    // Never removed: ssh2 may emit errors after we are done, and an unhandled one crashes.
    client.on('error', (err) => this.end(this.#codeFor(err), this.#detailFor(err)));
    this.#store.add(() => closeClient(client));
    this.#store.on(client, 'handshake', () => (this.#handshakeAt ||= Date.now()));
    this.#store.on(client, 'ready', () => {
      this.#readyAt = Date.now();
      this.#keepAlive(client);
      if (this.#ended) return; // ssh2 changed under us (ssh/keepAlive.ts)
      const handshakeAt = this.#handshakeAt || this.#readyAt;
      this.#publish('login.succeeded', (ref) => ({ ...ref, method: this.#authPlan?.last ?? 'none', connectMs: handshakeAt - this.#connectingAt, authMs: this.#readyAt - handshakeAt }));
      this.#openShell(client, size);
    });
    this.#store.on(client, 'banner', (msg: string) => this.sink.output(Buffer.from(msg.replace(/\r?\n/g, '\r\n'))));
    this.#store.on(client, 'keyboard-interactive', (...args: unknown[]) =>
      this.#onKeyboardInteractive(args[0] as string, args[1] as string, args[3] as Prompt[], args[4] as KbdFinish, creds),
    );
    this.#store.on(client, 'close', () => this.end('REMOTE_CLOSED', this.#exitDetail));
    const plan = new AuthPlan({ hasKey: creds.privateKey !== undefined, hasPassword: creds.password !== undefined });
    this.#authPlan = plan;
    const cfg: ConnectConfig = {
      host: address,
      port: creds.port,
      username: creds.username,
      tryKeyboard: true,
      // OpenSSH's order, and a typed password is sent once, not once per method (core/authPlan.ts).
      // ssh2 passes null before the server's first answer and accepts `false` for "give up";
      // its type definitions know neither.
      authHandler: (methodsLeft, partial, next) =>
        (next as (m: AuthMethod | false) => void)(plan.next(methodsLeft, partial)),
      readyTimeout: this.deps.config.ssh.readyTimeoutMs,
      // Ours instead, sent only when the server has been silent (ssh/keepAlive.ts).
      keepaliveInterval: 0,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => this.#verifyHost(creds, address, key, verify),
      ...(creds.password !== undefined && { password: creds.password }),
      ...(creds.privateKey !== undefined && { privateKey: creds.privateKey }),
      ...(creds.passphrase !== undefined && { passphrase: creds.passphrase }),
    };
    try {
      client.connect(cfg);
      // Without ssh2's optional native binding (a plain `npm ci` does not build it) ssh2
      // writes each packet in several socket writes; with Nagle on, the tail of every
      // keystroke's packet waited for sshd's delayed ACK: ~40 ms per echo. Node applies
      // this once the socket connects.
      client.setNoDelay(true);
    } catch (err) {
      this.end(mapSshError(err));
    }
  }

  /** From `ready` to the session's end; off with SSH_KEEPALIVE_INTERVAL_MS=0. */
  #keepAlive(client: Client): void {
    const interval = this.deps.config.ssh.keepaliveIntervalMs;
    if (interval <= 0) return;
    try {
      this.#store.add(keepAlive(client, interval, () => this.end('TIMEOUT', `Keepalive timeout: no answer to ${KEEPALIVE_COUNT_MAX} keepalives`)));
    } catch (err) {
      this.end('INTERNAL', (err as Error).message);
    }
  }

  #verifyHost(creds: Credentials, address: string, key: Buffer, verify: (ok: boolean) => void): void {
    const { hostKeyPolicy, hostKeyPins } = this.deps.config.ssh;
    verifyHostKey({ policy: hostKeyPolicy, pins: hostKeyPins, store: this.deps.knownHosts }, { host: creds.host, address, port: creds.port }, key)
      .then((verdict) => {
        this.#hostKey = verdict.fingerprint;
        if (verdict.ok) this.#publish('hostkey.trusted', (ref) => ({ ...ref, fingerprint: verdict.fingerprint }));
        else this.#publish('hostkey.mismatch', (ref) => ({ ...ref, fingerprint: verdict.fingerprint, reason: verdict.reason }));
        if (!verdict.ok) {
          this.#hostKeyProblem = `${verdict.reason}; presented ${verdict.fingerprint}`;
          this.#log.warn('host key rejected', { target: this.target, reason: verdict.reason, fingerprint: verdict.fingerprint });
        } else if (!this.#ended) {
          this.sink.status({ state: 'authenticating', ...(this.target && { target: this.target }), hostKey: verdict.fingerprint });
        }
        verify(verdict.ok);
      })
      .catch((err: unknown) => {
        // The known-hosts store (Redis) is down: refuse rather than skip the check.
        this.#hostKeyStoreDown = true;
        this.#log.warn('known hosts unavailable', { code: 'SERVICE_UNAVAILABLE', err });
        verify(false);
      });
  }

  #onKeyboardInteractive(name: string, instructions: string, prompts: Prompt[], finish: KbdFinish, creds: Credentials): void {
    if (this.#ended) return;
    if (prompts.length === 0) return finish([]);
    // A lone hidden "Password:" prompt gets the password the user already typed, once;
    // anything else (OTP, a second password round) is asked in the page.
    const only = prompts.length === 1 ? prompts[0] : undefined;
    if (only && !only.echo && /password/i.test(only.prompt) && creds.password && !this.#passwordOffered) {
      this.#passwordOffered = true;
      this.#authPlan?.passwordSent();
      return finish([creds.password]);
    }
    this.#kbdFinish = finish;
    this.sink.kbdPrompt({ name, instructions, prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })) });
  }

  answerKeyboardInteractive(answers: string[]): void {
    const finish = this.#kbdFinish;
    this.#kbdFinish = undefined;
    finish?.(answers);
  }

  #openShell(client: Client, size: TermSize): void {
    try {
      advertiseSessionWindow(client, this.flow.initialWindow);
    } catch (err) {
      return this.end('CHANNEL_FAILED', (err as Error).message);
    }
    client.shell({ term: this.deps.config.ssh.term, cols: size.cols, rows: size.rows, width: 0, height: 0 }, (err, stream) => {
      if (err) return this.end('CHANNEL_FAILED', err.message);
      if (this.#ended) return void stream.close();
      this.#stream = stream;
      try {
        this.#grantWindow = takeOverWindow(stream);
      } catch (err) {
        stream.close();
        return this.end('CHANNEL_FAILED', (err as Error).message);
      }
      const onData = (chunk: Buffer) => this.#forward(chunk);
      this.#store.on(stream, 'data', onData);
      this.#store.on(stream.stderr, 'data', onData);
      stream.on('error', (e: Error) => this.end('REMOTE_CLOSED', e.message));
      this.#store.on(stream, 'exit', (code: number | null, signal?: string) => {
        this.#exitDetail = code !== null ? `exit status ${code}` : `signal ${signal ?? 'unknown'}`;
      });
      this.#store.on(stream, 'close', () => this.end('REMOTE_CLOSED', this.#exitDetail));
      this.#log.info('ssh shell open', { target: this.target });
      this.#shellAt = Date.now();
      this.#publish('session.started', (ref) => ({ ...ref, shellMs: this.#shellAt - this.#readyAt }));
      const ref = this.#ref();
      this.#tap = ref && this.deps.openTap?.({ ...ref, size, startedAt: this.#shellAt });
      this.sink.status({ state: 'connected', ...(this.target && { target: this.target }), ...(this.#hostKey && { hostKey: this.#hostKey }) });
    });
  }

  #forward(chunk: Buffer): void {
    if (this.#ended) return;
    // The remote only sends within the window the browser's acks paid for, so output
    // goes straight on: nothing queues in the gateway.
    this.flow.received(chunk.length);
    const echo = this.typing.held;
    this.typing.open();
    this.#tap?.output(chunk);
    this.sink.output(chunk, echo);
  }

  /**
   * The session's SFTP channel (issue 14), opened on first use: its own SSH channel on the
   * same connection, so a transfer has its own window and never queues behind keystrokes,
   * nor they behind it. Rejects with an ErrorCode-bearing error: SFTP_UNAVAILABLE when the
   * server has no subsystem, TRANSFER_ABORTED once the session is over.
   */
  sftp(): Promise<SFTPWrapper> {
    const client = this.#client;
    if (this.#ended || !client || !this.#stream) return Promise.reject(codedError('TRANSFER_ABORTED', 'the session is not running'));
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((err, sftp) => {
        if (err) {
          this.#sftp = undefined;
          this.#log.info('sftp unavailable', { err: err.message });
          return reject(codedError('SFTP_UNAVAILABLE', err.message));
        }
        if (this.#ended) {
          sftp.end();
          return reject(codedError('TRANSFER_ABORTED', 'the session ended'));
        }
        this.#store.add(() => sftp.end());
        // A channel the server closed is opened again on the next use.
        sftp.on('close', () => (this.#sftp = undefined));
        sftp.on('error', () => undefined); // each operation reports its own failure
        resolve(sftp);
      });
    });
    return this.#sftp;
  }

  /** Output read from SSH and held in the gateway (the channel's readable buffer). */
  get bufferedBytes(): number {
    return (this.#stream?.readableLength ?? 0) + (this.#stream?.stderr.readableLength ?? 0);
  }

  ack(bytes: number): void {
    if (this.#ended) return;
    this.grant(this.flow.acked(bytes));
  }

  /** Output the browser's transport handed to the kernel (socket/transportDelivery.ts). */
  delivered(bytes: number): void {
    if (this.#ended) return;
    this.grant(this.flow.delivered(bytes));
  }

  /** Opens the SSH window by `bytes` (what flow control computed). */
  grant(bytes: number): void {
    if (bytes > 0) this.#grantWindow?.(bytes);
  }

  write(data: string | Uint8Array): void {
    if (!this.#stream || this.#ended) return;
    this.bytesIn += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.typing.typed();
    this.#tap?.input(data);
    this.#stream.write(data);
  }

  resize(size: TermSize): void {
    if (!this.#stream || this.#ended) return;
    // ssh2 takes rows first.
    this.#stream.setWindow(size.rows, size.cols, 0, 0);
    this.#tap?.resize(size);
  }

  /**
   * Makes full-screen programs (vim, htop) repaint: two window changes, so the PTY's size
   * really changes twice and the program gets SIGWINCH even when the page's size did not.
   */
  nudgeRedraw(size: TermSize): void {
    this.resize({ cols: size.cols > 1 ? size.cols - 1 : size.cols + 1, rows: size.rows });
    this.resize(size);
  }

  /** Ends the session once: releases everything, then tells the sink why. */
  end(code: ErrorCode, detail?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#kbdFinish = undefined;
    this.#store.dispose();
    this.typing.open();
    const info = errorInfo(code, detail);
    this.#log.info('ssh session ended', { code, detail, target: this.target, bytesOut: this.flow.totals.sent, bytesIn: this.bytesIn });
    if (this.#shellAt) {
      this.#tap?.ended(code);
      this.#publish('session.ended', (ref) => ({ ...ref, code, durationMs: Date.now() - this.#shellAt, bytesIn: this.bytesIn, bytesOut: this.flow.totals.sent }));
    } else if (!this.#readyAt && this.target) {
      this.#publish('login.failed', (ref) => ({ ...ref, method: this.#authPlan?.last, reason: code, detail: this.#hostKeyProblem ?? detail }));
    }
    this.#tap = undefined;
    this.sink.ended(info);
  }

  #ref(): SessionRef | undefined {
    return this.target && { session: this.id, client: this.deps.client ?? '', target: this.target };
  }

  /** Builds the payload only when someone listens (the events are optional in tests). */
  #publish<E extends 'login.succeeded' | 'login.failed' | 'session.started' | 'session.ended' | 'hostkey.trusted' | 'hostkey.mismatch'>(
    event: E,
    payload: (ref: SessionRef) => GatewayEventMap[E][0],
  ): void {
    const events = this.deps.events;
    const ref = this.#ref();
    if (events && ref) (events.publish as (e: E, p: GatewayEventMap[E][0]) => void)(event, payload(ref));
  }

  #codeFor(err: unknown): ErrorCode {
    if (this.#hostKeyStoreDown) return 'SERVICE_UNAVAILABLE';
    return this.#hostKeyProblem ? 'HOST_KEY_REJECTED' : mapSshError(err);
  }

  #detailFor(err: unknown): string | undefined {
    if (this.#hostKeyStoreDown) return undefined;
    if (this.#hostKeyProblem) return this.#hostKeyProblem;
    const message = (err as { message?: unknown }).message;
    return typeof message === 'string' && message ? message : undefined;
  }
}

/** An Error carrying one of our codes, for the file routes to answer with. */
export function codedError(code: ErrorCode, message: string): Error & { gatewayCode: ErrorCode } {
  return Object.assign(new Error(message), { gatewayCode: code });
}

function closeClient(client: Client): void {
  client.end();
  // A peer that never answers the disconnect must not keep the socket open.
  setTimeout(() => client.destroy(), 2000).unref();
}
