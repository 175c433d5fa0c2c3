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
import type { GatewayEvents } from '../observe/gatewayEvents.js';
import type { SessionSink, SshSession } from '../ssh/sshSession.js';
import type { Admission, LoginLimiter, LoginTicket } from '../auth/loginLimiter.js';
import { SessionDeadlines, type DeadlineSettings } from '../core/sessionDeadlines.js';
import type { SessionAdmission } from './sessionAdmission.js';
import type { EndedTerminals } from './endedTerminals.js';
import { LiveTerminal, type ResumeSettings } from './liveTerminal.js';
import type { SessionRegistry } from './sessionRegistry.js';
import type { LinkEnd, RelayLink, RelayVisitor } from '../relay/relayVisitor.js';
import { socketPeer } from './terminalPeer.js';

export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface TerminalContext {
  log: Logger;
  registry: SessionRegistry;
  /** False while draining: no new sessions on this process. */
  accepting(): boolean;
  /** `client`: the browser's address, for the session's audit events. */
  createSession(sink: SessionSink, client: string): SshSession;
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
  /** Refused logins (rate limited) for the audit trail and metrics. */
  events?: GatewayEvents;
  /** Reaches terminals other processes own (with Redis); undefined in a single process. */
  relay?: RelayVisitor;
}

const KNOWN_EVENTS = new Set<string>(['start', 'resume', 'input', 'resize', 'ack', 'kbdAnswers', 'end']);

/**
 * Refused resumes a socket may collect before it is closed: a page needs one or two (a
 * stale offer); a socket guessing ids would otherwise make every process of the cluster
 * answer a find per guess.
 */
export const MAX_RESUME_REFUSALS = 5;

export function attachTerminal(socket: GatewaySocket, ctx: TerminalContext): void {
  /**
   * `starting` is set synchronously, before the first await of a start: a second start
   * that arrives meanwhile (even in the same TCP read) is refused, so a socket never
   * holds two sessions. `gone` tells a start still awaiting its grant to start nothing.
   */
  let starting = false;
  let gone = false;
  /** The terminal attached to this socket, here; it may outlive the socket, and move to another. */
  let terminal: LiveTerminal | undefined;
  /** What the page's input, acks and size go to: the terminal here, or a relay to its owner. */
  let link: RelayLink | undefined;
  const peer = socketPeer(socket);
  /** Invalid messages are answered one by one but logged once, at disconnect: no log flooding. */
  let invalid = 0;
  let refusals = 0;
  const log = ctx.log.child({ socket: socket.id });
  const problem = (code: ErrorCode, detail?: string): void => void socket.emit('problem', errorInfo(code, detail));
  const reject = (detail: string): void => {
    invalid++;
    problem('INVALID_REQUEST', detail);
  };

  const handle = <T>(event: keyof ClientToServerEvents, schema: ZodType<T>, fn: (value: T) => void | Promise<void>) => {
    const failed = (err: unknown): void => {
      log.error('socket handler failed', { event, err });
      problem('INTERNAL');
    };
    (socket.on as (e: string, l: (payload: unknown) => void) => void)(event, (payload) => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) return reject(`${event}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      // Synchronous handlers (input, acks: one per keystroke) run at once: no promise and
      // no microtask per message. An async one's rejection is caught the same way.
      let result: void | Promise<void>;
      try {
        result = fn(parsed.data);
      } catch (err) {
        return failed(err);
      }
      if (result instanceof Promise) result.catch(failed);
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
    if (starting || link) return problem('SESSION_ACTIVE');
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
  handle('resume', resumeSchema, async (cmd: ResumeCommand) => {
    if (starting || link) return problem('SESSION_ACTIVE');
    const cookie = ctx.browserCookie(socket);
    const found = ctx.registry.terminal(cmd.session);
    if (found?.mayResume(cookie, cmd.secret)) {
      clearTimeout(startTimer);
      linkLocal(found);
      found.takeOver(peer, cmd, released);
      return;
    }
    // The owner coming back late learns why its session ended; anyone else learns nothing.
    let answer = found ? undefined : ctx.endedTerminals.reason(cmd.session, cookie, cmd.secret);
    if (!found && !answer && cookie !== undefined && ctx.relay) {
      // Not here: another process may own it (the route changed, a reload, another host).
      starting = true;
      clearTimeout(startTimer);
      const resume = { cookie: digest(cookie).toString('hex'), secret: digest(cmd.secret).toString('hex'), size: cmd.size, ...(cmd.offset !== undefined && { offset: cmd.offset }) };
      try {
        const opened = await ctx.relay.open({ session: cmd.session, resume }, peer, relayEnded);
        if (opened.ok && gone) return opened.link.gone();
        if (opened.ok) return void (link = opened.link);
        answer = opened.info;
      } finally {
        starting = false;
        if (!link && !gone) armStartTimer();
      }
    }
    // Unknown anywhere: its process died (kill -9, a crash) or it is long gone. A live one
    // with the wrong cookie or secret: refused, and nothing said about it.
    answer ??= errorInfo(found ? 'RESUME_REFUSED' : 'SESSION_NOT_FOUND');
    if (answer.code === 'RESUME_REFUSED' || answer.code === 'SESSION_NOT_FOUND') log.warn('resume refused', { code: answer.code, session: cmd.session, client: ctx.clientAddress(socket) });
    socket.emit('ended', answer);
    if (++refusals >= MAX_RESUME_REFUSALS) {
      log.warn('socket closed: too many refused resumes', { code: answer.code, count: refusals });
      socket.disconnect(true);
    }
  });
  handle('input', inputSchema, (data) => link?.input(data));
  handle('resize', sizeSchema, (size) => link?.resize(size));
  handle('ack', ackSchema, (bytes) => link?.ack(bytes));
  handle('kbdAnswers', kbdAnswersSchema, (answers) => terminal?.session.answerKeyboardInteractive(answers));
  handle('end', z.undefined(), () => link?.end());

  socket.on('disconnect', (reason) => {
    gone = true;
    clearTimeout(startTimer);
    log.debug('socket disconnected', { reason });
    if (invalid > 0) log.info('socket sent invalid messages', { count: invalid });
    const l = link;
    terminal = undefined;
    link = undefined;
    l?.gone(reason);
  });

  /** This socket's terminal went elsewhere or ended: it may start or resume another. */
  function released(): void {
    terminal = undefined;
    link = undefined;
    if (!gone) armStartTimer();
  }

  /** The relayed terminal went elsewhere or ended (the page was told), or the relay broke. */
  function relayEnded(how: LinkEnd): void {
    released();
    // The page reconnects and resumes, through whichever process its new socket reaches.
    if (how === 'reconnect') socket.disconnect(true);
  }

  function linkLocal(live: LiveTerminal): void {
    terminal = live;
    link = {
      input: (data) => {
        live.touch();
        live.session.write(data);
      },
      resize: (size) => live.session.resize(size),
      ack: (bytes) => live.ack(bytes),
      end: () => live.session.end('USER_CLOSED'),
      gone: (reason = 'socket closed') => void live.peerGone(peer, reason),
    };
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
    ctx.events?.publish('login.limited', { client, target: { username: creds.username, host: creds.host, port: creds.port }, retryAfterSeconds });
    socket.emit('ended', errorInfo('RATE_LIMITED', `retry in ${retryAfterSeconds} s`, retryAfterSeconds));
    return undefined;
  }

  /** Creates this socket's terminal and registers it; its `ended` releases it, its lease, its clocks and settles its login ticket. */
  function open(ticket: LoginTicket, releaseLease: () => void): SshSession {
    const cookie = ctx.browserCookie(socket);
    const live = new LiveTerminal(ctx.resume, cookie === undefined ? undefined : digest(cookie), log);
    const client = ctx.clientAddress(socket);
    const current = ctx.createSession({
      status: (msg) => {
        if (msg.state === 'connected') ticket.settle('connected');
        live.emit('status', msg);
        if (msg.state === 'connected') live.connected();
      },
      output: (chunk, echo) => {
        clocks.touch();
        live.output(chunk, echo);
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
    }, client);
    const clocks = new SessionDeadlines(ctx.deadlines, {
      notice: (msg) => live.emit('notice', msg),
      expire: (code) => current.end(code),
    });
    live.session = current;
    live.touch = () => clocks.touch();
    live.attachFirst(peer, released);
    linkLocal(live);
    ctx.registry.add(current, { client, terminal: live });
    log.info('terminal starting', { session: current.id, client });
    return current;
  }
}
