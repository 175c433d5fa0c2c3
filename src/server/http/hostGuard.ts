/**
 * DNS-rebinding guard (ALLOWED_HOSTS): refuses a request whose Host is not listed before
 * Express or Socket.IO sees it, so one check covers the page, the logins, the assets and
 * both Socket.IO transports (long-polling requests and the WebSocket upgrade).
 *
 * It wraps the server's `request` and `upgrade` listeners, the way Socket.IO attaches
 * itself: call it after the Socket.IO server is attached.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorInfo } from '../../shared/errors.js';
import { hostAllowed } from '../core/originPolicy.js';
import type { Logger } from '../log.js';

type HeaderSetter = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface HostGuardOptions {
  allowedHosts: readonly string[];
  /** Paths answered under any Host: orchestrators probe health by IP (docs/security.md). */
  exemptPaths: readonly string[];
  /** The security headers every response carries. */
  securityHeaders: HeaderSetter;
  log: Logger;
}

/** 421 Misdirected Request: this server does not answer for that name. */
const STATUS = 421;

export function guardHosts(server: HttpServer, opts: HostGuardOptions): void {
  if (opts.allowedHosts.length === 0) return;
  const refused = (req: IncomingMessage) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (opts.exemptPaths.includes(path) || hostAllowed(req.headers.host, opts.allowedHosts)) return false;
    opts.log.warn('host rejected', { code: 'HOST_REJECTED', host: req.headers.host, ip: req.socket.remoteAddress });
    return true;
  };
  const body = JSON.stringify(errorInfo('HOST_REJECTED'));

  const onRequest = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!refused(req)) {
      for (const listener of onRequest) listener.call(server, req, res);
      return;
    }
    opts.securityHeaders(req, res, () => {
      res.writeHead(STATUS, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
    });
  });

  const onUpgrade = server.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!refused(req)) {
      for (const listener of onUpgrade) listener.call(server, req, socket, head);
      return;
    }
    socket.on('error', () => undefined); // the client may already be gone
    socket.end(
      `HTTP/1.1 ${STATUS} Misdirected Request\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `X-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
