/**
 * Wires one Socket.IO connection to at most one terminal at a time: one it starts, or
 * one it resumes (socket/liveTerminal.ts). Every inbound payload is validated against
 * the shared schemas; a bad one gets a `problem` reply and changes nothing. Handlers
 * never throw into Socket.IO.
 */
import type { Socket } from 'socket.io';
import { z, type ZodType } from 'zod';
import { errorInfo, type ErrorCode } from '../../shared/errors.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.js';
import { ackSchema, inputSchema, kbdAnswersSchema, resumeSchema, sizeSchema, startSchema, type Credentials, type ResumeCommand, type StartCommand } from '../../shared/schemas.js';
import { digest } from '../http/browserCookie.js';
import type { Logger } from '../log.js';
import type { SessionSink, SshSession } from '../ssh/sshSession.js';
import type { Admission, LoginLimiter, LoginTicket } from '../auth/loginLimiter.js';
import { SessionDeadlines, type DeadlineSettings } from '../core/sessionDeadlines.js';
import type { SessionAdmission } from './sessionAdmission.js';
import type { EndedTerminals } from './endedTerminals.js';
import { LiveTerminal, type ResumeSettings } from './liveTerminal.js';
import type { SessionRegistry } from './sessionRegistry.js';

export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface TerminalContext {
  log: Logger;
  registry: SessionRegistry;
  /** False while draining: no new sessions on this process. */
  accepting(): boolean;
  createSession(sink: SessionSink): SshSession;
  /** The browser's address, trusting only the configured proxy hops. */
  clientAddress(socket: GatewaySocket): string;
  /** Takes (and deletes) the credential grant in the socket's HTTP session. */
  takeGrant(socket: GatewaySocket): Promise<Credentials | undefined>;
  /** Failed-login limits per address and per account, shared by the cluster. */
  loginLimiter: LoginLimiter;
  /** Session limits: a lease per session, from before its grant is taken to its end. */
  admission: SessionAdmission;
  /** A socket without a session is closed after this long (START_TIMEOUT). */
  startTimeoutMs: number;
  deadlines: DeadlineSettings;
  resume: ResumeSettings;
  /** The browser cookie the socket's handshake carried (http/browserCookie.ts). */
  browserCookie(socket: GatewaySocket): string | undefined;
  /** Why recently ended resumable sessions ended, for a page that comes back late. */
  endedTerminals: EndedTerminals;
}

const KNOWN_EVENTS = new Set<string>(['start', 'resume', 'input', 'resize', 'ack', 'kbdAnswers', 'end']);

export function attachTerminal(socket: GatewaySocket, ctx: TerminalContext): void {
  /**
   * `starting` is set synchronously, before the first await of a start: a second start
   * that arrives meanwhile (even in the same TCP read) is refused, so a socket never
   * holds two sessions. `gone` tells a start still awaiting its grant to start nothing.
   */
  let starting = false;
  let gone = false;
  /** The terminal attached to this socket; it may outlive the socket, and move to another. */
  let terminal: LiveTerminal | undefined;
  const session = (): SshSession | undefined => terminal?.session;
  /** Invalid messages are answered one by one but logged once, at disconnect: no log flooding. */
  let invalid = 0;
  const log = ctx.log.child({ socket: socket.id });
  const problem = (code: ErrorCode, detail?: string): void => void socket.emit('problem', errorInfo(code, detail));
  const reject = (detail: string): void => {
    invalid++;
    problem('INVALID_REQUEST', detail);
  };

  const handle = <T>(event: keyof ClientToServerEvents, schema: ZodType<T>, fn: (value: T) => void | Promise<void>) => {
    (socket.on as (e: string, l: (payload: unknown) => void) => void)(event, (payload) => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) return reject(`${event}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      Promise.resolve()
        .then(() => fn(parsed.data))
        .catch((err: unknown) => {
          log.error('socket handler failed', { event, err });
          problem('INTERNAL');
        });
    });
  };

  // Raw packets `42` and `42[1]` arrive here with no name or a number: never assume a string.
  socket.onAny((event: unknown) => {
    if (typeof event !== 'string') reject('event name missing or not a string');
    else if (!KNOWN_EVENTS.has(event)) reject(`unknown event "${event.slice(0, 40)}"`);
  });

  /**
   * A socket without a session holds a connection and costs nothing to open: it gets
   * `startTimeoutMs` to send a start, and again after each session ends.
   */
  let startTimer: NodeJS.Timeout | undefined;
  const armStartTimer = () => {
    clearTimeout(startTimer);
    startTimer = setTimeout(() => {
      log.info('socket closed: no session started', { code: 'START_TIMEOUT' });
      socket.emit('ended', errorInfo('START_TIMEOUT'));
      socket.disconnect(true);
    }, ctx.startTimeoutMs);
  };
  armStartTimer();

  handle('start', startSchema, async (cmd: StartCommand) => {
    if (starting || terminal) return problem('SESSION_ACTIVE');
    if (!ctx.accepting()) return void socket.emit('ended', errorInfo('SHUTTING_DOWN'));
    starting = true;
    clearTimeout(startTimer);
    let creds: Credentials | undefined;
    let ticket: LoginTicket | undefined;
    let release: (() => void) | undefined;
    try {
      // Admission first: a refused start leaves its grant in place for a retry.
      const lease = await ctx.admission.admit(ctx.clientAddress(socket));
      if (!lease.ok) return void socket.emit('ended', errorInfo(lease.code, lease.detail));
      release = lease.release;
      creds = await credentialsFor(cmd);
      ticket = creds && !gone ? await admitted(creds) : undefined;
    } finally {
      starting = false;
      // No session came of it: the lease goes back, and the socket's clock starts again.
      if (!creds || !ticket || gone) {
        release?.();
        if (!gone) armStartTimer();
      }
    }
    if (!creds || !ticket || !release) return; // answered already, or nobody left to answer (a taken grant stays spent)
    if (gone) return ticket.settle('USER_CLOSED');
    const current = open(ticket, release);
    try {
      await current.start(creds, cmd.size);
    } catch (err) {
      current.end('INTERNAL'); // release the SSH connection before reporting
      throw err;
    }
  });
  handle('resume', resumeSchema, (cmd: ResumeCommand) => {
    if (starting || terminal) return problem('SESSION_ACTIVE');
    const cookie = ctx.browserCookie(socket);
    const found = ctx.registry.terminal(cmd.session);
    if (!found?.mayResume(cookie, cmd.secret)) {
      // The owner coming back late learns why its session ended; anyone else learns nothing.
      const late = found ? undefined : ctx.endedTerminals.reason(cmd.session, cookie, cmd.secret);
      // Unknown here: its process died (kill -9, a crash) or it is long gone. A live one
      // with the wrong cookie or secret: refused, and nothing said about it.
      const answer = late ?? errorInfo(found ? 'RESUME_REFUSED' : 'SESSION_NOT_FOUND');
      if (!late) log.warn('resume refused', { code: answer.code, session: cmd.session, client: ctx.clientAddress(socket) });
      return void socket.emit('ended', answer);
    }
    clearTimeout(startTimer);
    terminal = found;
    found.resume(socket, cmd.offset, released);
    found.session.resize(cmd.size);
    // A fresh page gets a recent screen, not the current one: make full-screen programs repaint.
    if (cmd.offset === undefined) found.session.nudgeRedraw(cmd.size);
  });
  handle('input', inputSchema, (data) => {
    terminal?.touch();
    session()?.write(data);
  });
  handle('resize', sizeSchema, (size) => session()?.resize(size));
  handle('ack', ackSchema, (bytes) => terminal?.ack(bytes));
  handle('kbdAnswers', kbdAnswersSchema, (answers) => session()?.answerKeyboardInteractive(answers));
  handle('end', z.undefined(), () => session()?.end('USER_CLOSED'));

  socket.on('disconnect', (reason) => {
    gone = true;
    clearTimeout(startTimer);
    log.debug('socket disconnected', { reason });
    if (invalid > 0) log.info('socket sent invalid messages', { count: invalid });
    const t = terminal;
    terminal = undefined;
    t?.socketGone(socket, reason);
  });

  /** This socket's terminal went elsewhere or ended: it may start or resume another. */
  function released(): void {
    terminal = undefined;
    if (!gone) armStartTimer();
  }

  /** The start's credentials; undefined once the page has been told why there are none. */
  async function credentialsFor(cmd: StartCommand): Promise<Credentials | undefined> {
    if (cmd.auth.kind === 'credentials') return cmd.auth.credentials;
    let creds: Credentials | undefined;
    try {
      creds = await ctx.takeGrant(socket);
    } catch (err) {
      log.warn('credential grant unavailable', { code: 'SERVICE_UNAVAILABLE', err });
      socket.emit('ended', errorInfo('SERVICE_UNAVAILABLE'));
      return undefined;
    }
    if (!creds) socket.emit('ended', errorInfo('CREDENTIALS_MISSING'));
    return creds;
  }

  /**
   * The login limiter's ticket for this attempt, or undefined once the page has been told
   * to wait: a refused attempt never reaches the target (issue 12, finding 5).
   */
  async function admitted(creds: Credentials): Promise<LoginTicket | undefined> {
    const client = ctx.clientAddress(socket);
    let admission: Admission;
    try {
      admission = await ctx.loginLimiter.admit(client, creds, () => !gone);
    } catch (err) {
      // Not even the in-memory fallback answered: no attempt goes out uncounted.
      log.error('login limiter unavailable', { code: 'SERVICE_UNAVAILABLE', err });
      socket.emit('ended', errorInfo('SERVICE_UNAVAILABLE'));
      return undefined;
    }
    if (admission.ok) return admission.ticket;
    const { retryAfterSeconds } = admission;
    log.warn('login rate limited', { code: 'RATE_LIMITED', client, target: `${creds.username}@${creds.host}:${creds.port}`, retryAfterSeconds });
    socket.emit('ended', errorInfo('RATE_LIMITED', `retry in ${retryAfterSeconds} s`, retryAfterSeconds));
    return undefined;
  }

  /** Creates this socket's terminal and registers it; its `ended` releases it, its lease, its clocks and settles its login ticket. */
  function open(ticket: LoginTicket, releaseLease: () => void): SshSession {
    const cookie = ctx.browserCookie(socket);
    const live = new LiveTerminal(ctx.resume, cookie === undefined ? undefined : digest(cookie), log);
    const current = ctx.createSession({
      status: (msg) => {
        if (msg.state === 'connected') ticket.settle('connected');
        live.emit('status', msg);
        if (msg.state === 'connected') live.connected();
      },
      output: (chunk) => {
        clocks.touch();
        live.output(chunk);
      },
      kbdPrompt: (msg) => live.emit('kbdPrompt', msg),
      ended: (info) => {
        ticket.settle(info.code);
        clocks.dispose();
        releaseLease();
        const proof = live.proof;
        if (proof) ctx.endedTerminals.add(current.id, proof, info);
        ctx.registry.delete(current);
        live.ended(info);
      },
    });
    const clocks = new SessionDeadlines(ctx.deadlines, {
      notice: (msg) => live.emit('notice', msg),
      expire: (code) => current.end(code),
    });
    live.session = current;
    live.touch = () => clocks.touch();
    live.attachFirst(socket, released);
    terminal = live;
    const client = ctx.clientAddress(socket);
    ctx.registry.add(current, { client, terminal: live });
    log.info('terminal starting', { session: current.id, client });
    return current;
  }
}
