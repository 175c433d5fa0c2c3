/**
 * The Socket.IO server under `<base>/socket.io`: origin check on every engine request,
 * the HTTP session attached on the handshake only, a size cap on every message.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { Server, type ServerOptions } from 'socket.io';
import type { SessionSummary } from '../../shared/admin.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.js';
import { LIMITS } from '../../shared/limits.js';
import { serverParser } from '../../shared/outputFrames.js';
import { originAllowed } from '../core/originPolicy.js';
import type { Logger } from '../log.js';
import type { MetricsJson } from '../observe/clusterMetrics.js';

/** Between gateway processes, through the adapter (see cluster/clusterControl.ts). */
export interface InterServerEvents {
  'sessions:list': (reply: (sessions: SessionSummary[]) => void) => void;
  'sessions:terminate': (id: string, reply: (found: boolean) => void) => void;
  /** This process's metrics registry as JSON (observe/clusterMetrics.ts). */
  'metrics:get': (reply: (metrics: MetricsJson) => void) => void;
}

export type GatewayIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;

export function createSocketServer(
  httpServer: HttpServer,
  opts: { basePath: string; allowedOrigins: readonly string[]; session: RequestHandler; log: Logger; adapter?: ServerOptions['adapter'] },
): GatewayIo {
  const io: GatewayIo = new Server(httpServer, {
    path: `${opts.basePath}/socket.io`,
    ...(opts.adapter && { adapter: opts.adapter }),
    serveClient: false,
    parser: serverParser,
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    allowRequest: (req, callback) => {
      const ok = originAllowed(req.headers.origin, req.headers.host, opts.allowedOrigins);
      if (!ok) opts.log.warn('socket origin rejected', { code: 'ORIGIN_REJECTED', origin: req.headers.origin });
      callback(ok ? null : 'ORIGIN_REJECTED', ok);
    },
  });
  // express-session on the handshake request only; later polling requests carry `sid`.
  io.engine.use((req: IncomingMessage & { _query?: Record<string, string> }, res: ServerResponse, next: (err?: unknown) => void) => {
    if (req._query?.sid === undefined) {
      (opts.session as unknown as (q: IncomingMessage, s: ServerResponse, n: (err?: unknown) => void) => void)(req, res, next);
    } else {
      next();
    }
  });
  return io;
}
