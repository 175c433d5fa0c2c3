/**
 * File requests for a terminal another process owns (issue 14 on top of issue 13's
 * relay). The SSH connection, and so the SFTP channel, lives in one process; NGINX's
 * sticky hash normally sends the page's file requests there, but not always: after a
 * worker failed (NGINX routes around it for `fail_timeout`, and the page's terminal may
 * have started elsewhere meanwhile), after a route cookie changed, and after
 * `pm2 reload`, when the owner is draining and its public port belongs to the new worker.
 *
 * So each process also listens on an internal address of its own (`RELAY_HTTP_HOST`, an
 * ephemeral port, not shared through PM2's cluster), serving the file routes only. A
 * process that does not hold a request's session or download ticket asks every process
 * `where` over the relay bus (the same counting as a terminal's find: no timeout when
 * every process answers) and proxies the request there, streaming both ways with
 * Node's own backpressure. The owner checks everything itself (cookie, secret, Origin,
 * ticket); the visitor only forwards. A request carries the node key it was meant for,
 * and the internal listener refuses any other: an address reused by another process
 * can never be served by the wrong one.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import express, { type RequestHandler, type Router } from 'express';
import { sendError } from '../http/routes.js';
import type { Logger } from '../log.js';
import type { RelayBus } from './relayBus.js';
import type { RelayFrame, WhereFrame } from './relayFrames.js';

/** What a file request names: a terminal's session, or a download ticket. */
export interface FileTarget {
  session?: string;
  ticket?: string;
}

export const RELAY_NODE_HEADER = 'x-webssh-relay-node';

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own hop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', RELAY_NODE_HEADER]);

interface Asking {
  answers: number;
  expected: number | undefined;
  settle: (owner: { node: string; url: string } | undefined) => void;
}

/** The target of a request under `<base>/files`: `/get/<ticket>/<name>` or `/<session>/…`. */
export function fileTarget(path: string): FileTarget | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'get') return parts[1] && TICKET.test(parts[1]) ? { ticket: parts[1] } : undefined;
  return parts[0] && UUID.test(parts[0]) ? { session: parts[0] } : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TICKET = /^[A-Za-z0-9_-]{32}$/;
/** `where`s one process has open at once; past it, a request is answered locally (not found). */
const MAX_ASKING = 256;

/**
 * The address other processes use for a listener bound to `bound`: itself, or for a
 * wildcard bind (`0.0.0.0`, `::`; a container's default) the first external IPv4, the
 * one the other containers of its network reach.
 */
export function advertisedAddress(bound: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  const external = Object.values(interfaces)
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4');
  return external?.address ?? '127.0.0.1';
}

/**
 * The requests this process is relaying to another right now, from the `where` until the
 * page's response closes. A drain waits for them as it waits for sessions (drain.ts): the
 * process relaying a download usually holds no session at all, and closing it cut the
 * download short (`pm2 reload` of the worker NGINX sends a page's file requests to, while
 * its terminal lives on the other one).
 */
export class RelayedRequests extends EventEmitter<{ change: [] }> {
  #count = 0;

  get size(): number {
    return this.#count;
  }

  /** Counts one; the function returned uncounts it (once, however often it is called). */
  add(): () => void {
    this.#count++;
    this.emit('change');
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#count--;
      this.emit('change');
    };
  }
}

export class FileRelay {
  /** Requests under way through this process (a drain waits for them). */
  readonly relaying = new RelayedRequests();
  readonly #asking = new Map<string, Asking>();
  readonly #agent = new Agent({ keepAlive: true, maxFreeSockets: 16 });
  #url: string | undefined;
  #server: Server | undefined;

  constructor(
    private readonly bus: RelayBus,
    /** Whether this process holds the session or ticket. */
    private readonly holds: (target: FileTarget) => boolean,
    private readonly log: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  /**
   * Serves `router` at `mount` on the internal listener: `host`, an ephemeral port. It
   * stays open through a drain (relayed requests for the draining sessions arrive there).
   */
  async listen(host: string, mount: string, router: Router): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    // Only the relaying process reaches it (the guard), and it sends the client's address.
    app.set('trust proxy', true);
    app.use(mount, (req, res, next) => {
      if (req.get(RELAY_NODE_HEADER) === this.bus.node) return next();
      sendError(res, 421, 'INVALID_REQUEST', 'this internal address belongs to another gateway process');
    }, router);
    app.use((_req, res) => sendError(res, 404, 'INVALID_REQUEST', 'not found'));
    const server = createServer(app);
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a PM2 (cluster) worker, a port of this process alone.
      server.listen({ host, port: 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { address, port } = server.address() as AddressInfo;
    const reachable = advertisedAddress(address, networkInterfaces());
    this.#url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
    this.log.info('file relay listening', { url: this.#url, node: this.bus.node });
  }

  /** A `where` from another process: answers whether this one holds it, and where. */
  onWhere(f: WhereFrame): void {
    const target: FileTarget = {
      ...(typeof f.session === 'string' && { session: f.session }),
      ...(typeof f.ticket === 'string' && { ticket: f.ticket }),
    };
    const here = this.#url !== undefined && (target.session !== undefined || target.ticket !== undefined) && this.holds(target);
    void this.bus.send(f.from, here ? { t: 'here', relay: f.relay, url: this.#url! } : { t: 'none', relay: f.relay }).catch(() => undefined);
  }

  /** An answer to one of this process's `where`s; false when it is about something else. */
  onFrame(f: RelayFrame): boolean {
    const asking = this.#asking.get(f.relay);
    if (!asking) return false;
    if (f.t === 'here' && typeof f.url === 'string') asking.settle({ node: f.from, url: f.url });
    else if (f.t === 'none') {
      asking.answers++;
      if (asking.expected !== undefined && asking.answers >= asking.expected) asking.settle(undefined);
    }
    return true;
  }

  /** The process holding `target`, or undefined when none claims it (or Redis cannot ask). */
  async locate(target: FileTarget): Promise<{ node: string; url: string } | undefined> {
    const relay = randomBytes(12).toString('base64url');
    const answer = new Promise<{ node: string; url: string } | undefined>((resolve) => {
      const timer = setTimeout(() => asking.settle(undefined), this.timeoutMs);
      const asking: Asking = {
        answers: 0,
        expected: undefined,
        settle: (owner) => {
          clearTimeout(timer);
          this.#asking.delete(relay);
          resolve(owner);
        },
      };
      this.#asking.set(relay, asking);
    });
    try {
      const receivers = await this.bus.find({ t: 'where', relay, ...target });
      const asking = this.#asking.get(relay);
      if (asking) {
        asking.expected = receivers - 1; // every process but this one answers
        if (asking.answers >= asking.expected) asking.settle(undefined);
      }
    } catch (err) {
      this.log.warn('file relay where failed', { code: 'SERVICE_UNAVAILABLE', err });
      this.#asking.get(relay)?.settle(undefined);
    }
    return answer;
  }

  /**
   * On the public app, before the file routes: a request for a session or ticket this
   * process does not hold goes to the process that does; anything else (held here, or
   * held nowhere) falls through to the routes, which answer it.
   */
  readonly forward: RequestHandler = (req, res, next) => {
    const target = fileTarget(req.path);
    // Malformed targets and floods are answered here: each `where` costs every process a message.
    if (!target || this.holds(target) || this.#asking.size >= MAX_ASKING) return next();
    const release = this.relaying.add();
    void this.locate(target).then(
      (owner) => {
        if (!owner || res.headersSent || req.destroyed) {
          release();
          return next();
        }
        this.#proxy(req, res, owner, release);
      },
      (err: unknown) => {
        release();
        next(err);
      },
    );
  };

  /** Streams the request to the owner and its answer back; `release` once the page's response closed. */
  #proxy(req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], owner: { node: string; url: string }, release: () => void): void {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    headers[RELAY_NODE_HEADER] = owner.node;
    headers['x-forwarded-for'] = req.ip ?? '';
    const upstream = httpRequest(`${owner.url}${req.originalUrl}`, { method: req.method, headers, agent: this.#agent });
    let answered = false;
    let answerComplete = false;
    upstream.on('response', (back) => {
      answered = true;
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(back.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      // An upload refused before its body was all read: this connection cannot carry another request.
      if (!req.complete) out.connection = 'close';
      res.writeHead(back.statusCode ?? 502, out);
      back.pipe(res);
      back.on('end', () => (answerComplete = true));
      // The owner's answer cut short (its process died mid-download): the page's must be too.
      back.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      // After a complete answer this is the owner closing on an unread upload body: nothing lost.
      if (answered || res.headersSent) return void (answerComplete || res.destroy());
      this.log.warn('file relay failed', { code: 'SESSION_NOT_FOUND', node: owner.node, err });
      if (!req.complete) res.setHeader('Connection', 'close');
      sendError(res, 404, 'SESSION_NOT_FOUND', 'the gateway process that held it did not answer');
    });
    // The page went away: so does the request to the owner (an upload's SFTP write stops there).
    // Either way the response is over: a drain no longer waits for it.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      release();
    });
    req.pipe(upstream);
  }

  close(): void {
    for (const asking of [...this.#asking.values()]) asking.settle(undefined);
    this.#agent.destroy();
    this.#server?.close();
    this.#server?.closeAllConnections();
  }
}
