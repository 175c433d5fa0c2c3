/**
 * Composition root: builds the HTTP app, the Socket.IO server and the session
 * machinery from a frozen Config, and returns a handle. It never touches `process`;
 * main.ts does (signals, exit codes).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import { pid } from 'node:process';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import session, { type Store } from 'express-session';
import type { NodeIdentity } from '../shared/admin.js';
import { createClusterControl, type ClusterControl } from './cluster/clusterControl.js';
import { createAdminRoutes } from './http/adminRoutes.js';
import { createFileRoutes } from './files/fileRoutes.js';
import type { Config } from './config.js';
import { GrantSealer } from './core/credentialGrant.js';
import { MemoryGrantStore, type GrantStore } from './core/grantStore.js';
import { MemoryKnownHosts, type KnownHostsStore } from './core/hostKeyPolicy.js';
import { drainSessions } from './drain.js';
import { PageRenderer } from './http/page.js';
import { createRedisServices, KEY_PREFIX } from './redis/redisServices.js';
import { recordAuditTrail } from './observe/auditTrail.js';
import { GatewayEvents } from './observe/gatewayEvents.js';
import { createClusterMetrics, type ClusterMetrics } from './observe/clusterMetrics.js';
import { createMetrics } from './observe/metrics.js';
import { createMetricsRoutes } from './http/metricsRoutes.js';
import { FileRelay } from './relay/fileRelay.js';
import { createRelayBus } from './relay/relayBus.js';
import { createTerminalRelay } from './relay/terminalRelay.js';
import { createLoginLimiter } from './auth/loginLimiter.js';
import { errorInfo } from '../shared/errors.js';
import { HandshakeRequests, readHandshakeFacts, type HandshakeFacts, type TrustProxy } from './socket/handshakeFacts.js';
import { guardHosts } from './http/hostGuard.js';
import { createRoutes, sendError } from './http/routes.js';
import { securityHeaders } from './http/securityHeaders.js';
import type { Logger } from './log.js';
import { MemoryLeaseStore } from './core/sessionLimits.js';
import { EndedTerminals } from './socket/endedTerminals.js';
import { SessionAdmission } from './socket/sessionAdmission.js';
import { SessionRegistry } from './socket/sessionRegistry.js';
import { createSocketServer, type GatewayIo } from './socket/socketServer.js';
import { attachTerminal, type GatewaySocket } from './socket/terminalHandler.js';
import { attachWatcher } from './socket/watchHandler.js';
import { tokenMatches } from './http/adminRoutes.js';
import { sshCryptoPath } from './ssh/cryptoPath.js';
import { SshSession, type TapInfo } from './ssh/sshSession.js';
import { createRecordings, type Recordings } from './recordings.js';
import type { Lookup } from './ssh/targetResolver.js';
import { version } from './version.js';

export interface GatewayDeps {
  log: Logger;
  /** Session store; default: express-session's in-memory store (single process only). */
  sessionStore?: Store;
  knownHosts?: KnownHostsStore;
  /** Credential grants; default: Redis with REDIS_URL, else in memory (single process only). */
  grants?: GrantStore;
  lookup?: Lookup;
  /** Directory with index.html and assets/; default: dist/public beside the build. */
  publicDir?: string;
  /** Where audit events go (observe/auditTrail.ts); default: `log`. */
  audit?: Logger;
}

export interface Gateway {
  httpServer: HttpServer;
  io: GatewayIo;
  registry: SessionRegistry;
  /** Logins, sessions, host keys, operator actions (observe/gatewayEvents.ts). */
  events: GatewayEvents;
  /** Session recordings, when RECORDINGS_DIR is set. */
  recordings: Recordings | undefined;
  /** Cluster-wide session list, terminate and notices (what the admin endpoint uses). */
  control: ClusterControl;
  /** Prometheus metrics: this process's, and the cluster's (observe/). */
  metrics: ClusterMetrics;
  node: NodeIdentity;
  /**
   * Binds the port (resolves with it) and starts connecting to Redis, which may take a
   * while: until then readiness says 503 and logins get SERVICE_UNAVAILABLE.
   */
  listen(): Promise<number>;
  /** Resolves once Redis (if configured) is connected: the moment to tell PM2 `ready`. */
  ready(): Promise<void>;
  /**
   * Stops accepting (listener closed, readiness 503, new sessions refused), lets live
   * sessions run until they end or `timeoutMs` passes, then closes everything.
   */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const defaultPublicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');

export function createGateway(config: Config, deps: GatewayDeps): Gateway {
  const { log } = deps;
  const events = new GatewayEvents();
  const stopAudit = recordAuditTrail(events, deps.audit ?? log);
  const secret = config.sessionSecret ?? randomBytes(32).toString('hex');
  const warnings: { setting: string; message: string }[] = [];
  if (!config.sessionSecret) warnings.push({ setting: 'SESSION_SECRET', message: 'SESSION_SECRET is not set: using a random per-process secret (single process only)' });
  if (config.targets.allowsAnyHost) {
    warnings.push({ setting: 'SSH_ALLOWED_TARGETS', message: 'SSH_ALLOWED_TARGETS allows any host: anyone who can open the page can reach any SSH server from here (link-local and cloud metadata addresses excepted); list your hosts/CIDRs' });
  }
  if (config.allowedHosts.length === 0 && !isLoopback(config.listenHost)) {
    warnings.push({ setting: 'ALLOWED_HOSTS', message: 'ALLOWED_HOSTS is not set: pages under any DNS name that resolves here can use the gateway (DNS rebinding); list the names it is reached by' });
  }
  if (config.recordings?.recordInput) {
    warnings.push({ setting: 'RECORD_INPUT', message: 'RECORD_INPUT is on: recordings hold every keystroke, passwords typed at prompts inside sessions (sudo, su, ssh) included; protect RECORDINGS_DIR accordingly' });
  }

  const publicDir = deps.publicDir ?? defaultPublicDir;
  const redis = config.redisUrl ? createRedisServices(config.redisUrl, log, { leaseMs: config.sessionLeaseMs, deadlineMs: config.redisTimeoutMs }) : undefined;
  const sessionStore = deps.sessionStore ?? redis?.sessionStore;
  const sessionMiddleware = session({
    name: config.sessionCookieName,
    secret,
    resave: false,
    saveUninitialized: false,
    ...(sessionStore && { store: sessionStore }),
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', path: config.basePath },
  });
  // A store failure (Redis down) is a clear 503 for HTTP logins...
  const sessionOr503: RequestHandler = (req, res, next) =>
    sessionMiddleware(
      req,
      res,
      firstCallOnly((err?: unknown) => {
        if (!err) return next();
        log.warn('session store unavailable', { code: 'SERVICE_UNAVAILABLE', err });
        if (!res.headersSent) sendError(res, 503, 'SERVICE_UNAVAILABLE');
      }),
    );
  // ...and no obstacle for sockets: form logins do not need the session at all. A grant
  // start on such a socket is a store failure (SERVICE_UNAVAILABLE), not a missing grant.
  const storeFailedAtHandshake = new WeakSet<IncomingMessage>();
  const handshakeRequests = new HandshakeRequests();
  const sessionIfAvailable: RequestHandler = (req, res, next) =>
    sessionMiddleware(
      req,
      res,
      firstCallOnly((err?: unknown) => {
        if (err) {
          storeFailedAtHandshake.add(req);
          log.warn('session store unavailable at socket handshake', { code: 'SERVICE_UNAVAILABLE', err });
        }
        next();
      }),
    );
  const sealer = new GrantSealer(secret);
  const grants = deps.grants ?? redis?.grants ?? new MemoryGrantStore();
  const knownHosts = deps.knownHosts ?? redis?.knownHosts ?? new MemoryKnownHosts();
  const loginLimiter = createLoginLimiter(config.loginLimits, log, redis && { client: redis.client, deadline: (call) => redis.deadline(call) });
  const ready = () => accepting && (redis?.isReady() ?? true);
  const registry = new SessionRegistry();
  // A page back after its session ended learns why, for one more detach window.
  const endedTerminals = new EndedTerminals(config.resume.detachMs + 60_000);
  // Leases in Redis expire unless refreshed: three refreshes per lease time survive a slow one.
  const admission = redis
    ? new SessionAdmission(config.sessionLimits, redis.leases, log, config.sessionLeaseMs / 3)
    : new SessionAdmission(config.sessionLimits, new MemoryLeaseStore(), log);
  // Pages whose terminal another process owns are served through Redis (relay/).
  const files = createFileRoutes({ settings: config.files, registry, allowedOrigins: config.allowedOrigins, log, events });
  const bus = redis && createRelayBus(redis.client, KEY_PREFIX, log);
  // File requests for a terminal another process owns are proxied there (relay/fileRelay.ts).
  const fileRelay = bus && new FileRelay(bus, (target) => files.holds(target), log);
  const relay = bus && createTerminalRelay({ bus, registry, endedTerminals, log, ...(fileRelay && { files: fileRelay }) });
  const node: NodeIdentity = { host: config.nodeName ?? hostname(), instance: config.instance ?? null, pid };
  // Opened at once: the directory is created and retention runs its first sweep.
  const recordings = config.recordings && createRecordings(config.recordings, { log, events, term: config.ssh.term });
  const openTap = recordings && ((info: TapInfo) => recordings.openTap(info));
  let accepting = true;
  let closed: Promise<void> | undefined;
  let redisConnected: Promise<void> | undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  const trustProxy = app.get('trust proxy fn') as TrustProxy;
  // The Socket.IO server attaches first, so it sees its own path before express does.
  const httpServer = createServer(app);
  const io = createSocketServer(httpServer, {
    basePath: config.basePath,
    allowedOrigins: config.allowedOrigins,
    session: sessionIfAvailable,
    log,
    ...(redis && { adapter: redis.adapter }),
  });
  /** Single use across every process: the store's take is atomic (see core/grantStore.ts). */
  const takeGrant = async (handshake: HandshakeFacts) => {
    if (handshake.storeFailed) throw new Error('session store unavailable at the socket handshake');
    const grant = handshake.sessionId ? await grants.take(handshake.sessionId) : undefined;
    return grant && sealer.open(grant);
  };
  // Socket.IO's own answers (polling, the WebSocket handshake, refusals) carry the page's headers too.
  io.engine.use(securityHeaders);
  // Each socket's requests are let go once it is open (socket/handshakeFacts.ts).
  io.engine.use((req: IncomingMessage, res: object, next: () => void) => (handshakeRequests.remember(req, res), next()));
  io.engine.on('headers', (_headers: unknown, req: IncomingMessage) => handshakeRequests.headersSent(req));
  // Wraps Express and Socket.IO alike, so it must come after Socket.IO attached.
  // Prometheus scrapes by IP:port; the metrics answer a bearer token, not a page (no rebinding risk).
  const exemptPaths = ['/healthz', '/readyz', '/metrics', `${config.basePath}/metrics`];
  guardHosts(httpServer, { allowedHosts: config.allowedHosts, exemptPaths, securityHeaders, log });
  const control = createClusterControl(io, registry, node, redis !== undefined, log);
  const redisReady = () => redis?.isReady() ?? false;
  const metricsRegistry = createMetrics({
    node,
    events,
    registry,
    transports: () => [...io.of('/').sockets.values()].map((s) => s.conn.transport.name),
    ...(redis && { redisReady }),
    draining: () => !accepting,
  });
  const metrics = createClusterMetrics(io, metricsRegistry, { clustered: redis !== undefined, redisReady, log });
  io.on('connection', (socket: GatewaySocket) => {
    const handshake = readHandshakeFacts(socket.request, trustProxy, storeFailedAtHandshake);
    handshakeRequests.release(socket);
    const adminToken: unknown = (socket.handshake.auth as { adminToken?: unknown }).adminToken;
    if (adminToken !== undefined) {
      if (config.adminToken && typeof adminToken === 'string' && tokenMatches(adminToken, config.adminToken)) {
        return attachWatcher(socket, { log, registry, events, clientAddress: () => handshake.client, ...(relay && { relay: relay.visitor }) });
      }
      const client = handshake.client;
      log.warn('admin socket refused', { code: 'AUTH_REQUIRED', client });
      events.publish('admin.denied', { client, via: 'socket' });
      socket.emit('ended', errorInfo('AUTH_REQUIRED', 'admin token required'));
      return void socket.disconnect(true);
    }
    attachTerminal(socket, {
      log,
      registry,
      accepting: () => accepting,
      clientAddress: () => handshake.client,
      createSession: (sink, client) => new SshSession({ config, log, knownHosts, events, client, ...(deps.lookup && { lookup: deps.lookup }), ...(openTap && { openTap }) }, sink),
      takeGrant: () => takeGrant(handshake),
      loginLimiter,
      admission,
      startTimeoutMs: config.socketStartTimeoutMs,
      deadlines: config.sessionDeadlines,
      resume: config.resume,
      browserCookie: () => handshake.browserCookie,
      endedTerminals,
      events,
      ...(relay && { relay: relay.visitor }),
    });
  });

  app.use(securityHeaders);
  // Liveness: the process answers. Readiness: it wants new sessions.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version, sessions: registry.size, node, ssh: { crypto: sshCryptoPath(), noDelay: true } });
  });
  app.get('/readyz', async (_req, res) => {
    // A frozen Redis keeps its connection: only a ping under the deadline tells.
    if (ready() && (await (redis?.check() ?? true))) res.json({ status: 'ready', version });
    else if (!accepting) res.status(503).json({ ...errorInfo('SHUTTING_DOWN'), status: 'draining', version });
    else res.status(503).json({ ...errorInfo('SERVICE_UNAVAILABLE'), status: 'redis unavailable', version });
  });
  app.use(createMetricsRoutes({ basePath: config.basePath, token: config.metricsToken, metrics, log }));
  app.use(`${config.basePath}/files`, ...(fileRelay ? [fileRelay.forward] : []), files.router);
  app.use(`${config.basePath}/admin`, createAdminRoutes({ token: config.adminToken, control, log, events, consolePage: join(publicDir, 'admin.html'), recordings, node }));
  app.use(
    config.basePath,
    createRoutes({
      basePath: config.basePath,
      grantTtlMs: config.grantTtlMs,
      page: new PageRenderer(join(publicDir, 'index.html')),
      sealer,
      grants,
      session: sessionOr503,
      allowedOrigins: config.allowedOrigins,
      assetsDir: join(publicDir, 'assets'),
      log,
    }),
  );
  app.use((_req, res) => sendError(res, 404, 'INVALID_REQUEST', 'not found'));
  const onError: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error('http request failed', { err });
    sendError(res, status, status === 500 ? 'INTERNAL' : 'INVALID_REQUEST', status === 404 ? 'not found' : err.type);
  };
  app.use(onError);

  return {
    httpServer,
    io,
    registry,
    events,
    recordings,
    control,
    metrics,
    node,
    listen: () => {
      // Retries until Redis answers (node-redis keeps reconnecting); the port must not
      // wait for it: page loads, live terminals and a clear 503 beat a refused connection.
      if (!redisConnected) {
        redisConnected = redis
          ? redis.connect().then(() => Promise.all([relay?.start(), fileRelay?.listen(config.relayHttpHost, `${config.basePath}/files`, files.router).catch((err: unknown) => log.error('file relay listener failed', { err }))])).then(() => undefined)
          : Promise.resolve();
        redisConnected.catch((err: unknown) => {
          if (!closed) log.error('redis connection abandoned', { err });
        });
      }
      // Said once, after the caller could subscribe (the audit trail records them too).
      for (const w of warnings.splice(0)) {
        log.warn(w.message, { setting: w.setting });
        events.publish('config.warning', w);
      }
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.listenHost, () => {
          httpServer.off('error', reject);
          log.info('ssh transport', { nativeCryptoBinding: sshCryptoPath().nativeBinding, tcpNoDelay: true });
          resolve((httpServer.address() as AddressInfo).port);
        });
      });
    },
    ready: () => redisConnected ?? Promise.reject(new Error('listen() first')),
    drain: async (timeoutMs) => {
      await drainSessions(
        {
          registry,
          // A download this process relays for another's terminal finishes too (under the deadline).
          ...(fileRelay && { relayed: fileRelay.relaying }),
          log,
          stopAccepting: () => {
            accepting = false;
            httpServer.close(); // the listener goes now; open connections stay
            httpServer.closeIdleConnections();
          },
          // Each terminal this process owns, wherever its page is (here, or relayed).
          notifyLocal: (msg) => registry.terminals().forEach((t) => t.emit('notice', msg)),
        },
        timeoutMs,
      );
      await close();
    },
    close,
  };

  function close(): Promise<void> {
    closed ??= closeOnce();
    return closed;
  }

  async function closeOnce(): Promise<void> {
    accepting = false;
    registry.endAll('SHUTTING_DOWN');
    await recordings?.close(); // every ended session's file closed (and its incomplete mark, if any, made)
    await admission.close(); // the ended sessions' leases leave Redis before the connection does
    const closing = io.close(); // also closes the HTTP server, which waits for every connection...
    httpServer.closeAllConnections(); // ...so a download still streaming must not hold the exit
    await closing;
    await relay?.close();
    await redis?.close();
    stopAudit(); // after the sessions' last events
  }
}

function isLoopback(listenHost: string): boolean {
  return listenHost === 'localhost' || listenHost === '::1' || listenHost.startsWith('127.');
}

/**
 * express-session may call back a second time, from its res.end hook when the final
 * save fails after the response went out: only the first call counts.
 */
function firstCallOnly<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args) => {
    if (called) return;
    called = true;
    fn(...args);
  };
}
