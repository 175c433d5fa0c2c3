/**
 * What a socket's handshake request proved, read once when the socket connects, so the
 * request itself can go. Socket.IO keeps the first HTTP request of every connection for
 * the connection's life (`socket.request`); with express-session on it that request holds
 * its session object, the session's wrapped methods and response hooks, the parsed URL and
 * the raw headers: about 4 KB of heap per terminal, measured (docs/benchmarks.md, issue 11).
 * Socket.IO documents dropping it ("Memory usage": `rawSocket.request = null`); nothing
 * after `connection` reads it here, because everything needed is in these facts.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { browserCookie } from '../http/browserCookie.js';
import type { GatewaySocket } from './terminalHandler.js';

export interface HandshakeFacts {
  /** The client's address after trusted proxies. */
  client: string;
  /** The browser cookie the handshake carried (http/browserCookie.ts), if well formed. */
  browserCookie: string | undefined;
  /**
   * The session id the handshake's cookie proved: express-session sets `sessionID` to the
   * cookie's id only when the signature is valid and the store still holds the session;
   * otherwise it is a fresh random id that no grant is stored under (CREDENTIALS_MISSING).
   */
  sessionId: string | undefined;
  /** The session store failed during the handshake (Redis down): a grant start is SERVICE_UNAVAILABLE. */
  storeFailed: boolean;
}

export type TrustProxy = Parameters<typeof proxyaddr>[1];

export function readHandshakeFacts(req: IncomingMessage, trustProxy: TrustProxy, storeFailed: WeakSet<IncomingMessage>): HandshakeFacts {
  return {
    client: proxyaddr(req, trustProxy),
    browserCookie: browserCookie(req),
    sessionId: (req as IncomingMessage & { sessionID?: string }).sessionID,
    storeFailed: storeFailed.has(req),
  };
}

/**
 * Lets go of the requests a socket was opened with. Dropping Socket.IO's reference to the
 * handshake request (`release`, once its facts are read) is not enough over WebSocket:
 * engine.io keeps each upgrade's stand-in response (its `WebSocketResponse`) for the
 * connection's life, because the TCP socket's 'close' listener closes over it, and that
 * response holds the request (`res.req`) and express-session's patched `end` and
 * `writeHead`, whose closures hold it again. That is true of the upgrade that follows a
 * polling handshake as well, whose request engine.io never keeps otherwise. The stand-in
 * is done with once its headers go out with the 101 (engine.io's 'headers' event).
 */
export class HandshakeRequests {
  readonly #upgrades = new WeakMap<IncomingMessage, object>();

  /** An engine.io middleware: called for every request to the Socket.IO path. */
  remember(req: IncomingMessage, res: object): void {
    // A polling request's response is a real one, finished and let go with its request.
    if (!(res instanceof ServerResponse)) this.#upgrades.set(req, res);
  }

  /** engine.io's 'headers' event: an upgrade's stand-in response has done its work. */
  headersSent(req: IncomingMessage): void {
    const res = this.#upgrades.get(req) as Record<string, unknown> | undefined;
    if (!res) return;
    this.#upgrades.delete(req);
    res.req = null;
    delete res.end;
    delete res.writeHead;
  }

  /** After `connection`: `socket.request` is null from here on. */
  release(socket: GatewaySocket): void {
    (socket.conn as unknown as { request: IncomingMessage | null }).request = null;
  }
}
