/**
 * Operator endpoints under `<base>/admin`, for the whole cluster: list sessions, end one,
 * send a notice to every open terminal. A bearer token (ADMIN_TOKEN) guards them; with
 * no token configured they do not exist (404), so nothing is open by default.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import type { ClusterControl } from '../cluster/clusterControl.js';
import type { Logger } from '../log.js';
import type { GatewayEvents } from '../observe/gatewayEvents.js';
import type { NodeIdentity } from '../../shared/admin.js';
import type { Recordings } from '../recordings.js';
import { addRecordingRoutes } from './recordingRoutes.js';
import { sendError } from './routes.js';
import { ADMIN_CONSOLE_CSP } from './securityHeaders.js';

export const noticeSchema = z.object({ message: z.string().trim().min(1).max(500) }).strict();
const idSchema = z.uuid();

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
  return presented !== undefined && tokenMatches(presented, token);
}

export interface AdminDeps {
  token: string | undefined;
  control: ClusterControl;
  log: Logger;
  events?: GatewayEvents;
  consolePage: string;
  /** Undefined: RECORDINGS_DIR is not set (the list says `enabled: false`). */
  recordings?: Recordings | undefined;
  node?: NodeIdentity;
}

export function createAdminRoutes(deps: AdminDeps): Router {
  const router = express.Router();
  const { token, control, log } = deps;
  // The console page holds no data (every call it makes carries the token), so it needs none.
  router.get('/', (req, res) => {
    if (!token) return sendError(res, 404, 'INVALID_REQUEST', 'not found');
    // Its relative URLs (../assets, sessions) need the trailing slash.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(308, `${req.originalUrl.split('?')[0]}/`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', ADMIN_CONSOLE_CSP);
    res.sendFile(deps.consolePage);
  });
  const authorize: RequestHandler = (req, res, next) => {
    if (!token) return sendError(res, 404, 'INVALID_REQUEST', 'not found');
    res.setHeader('Cache-Control', 'no-store');
    if (bearerMatches(req.headers.authorization, token)) return next();
    log.warn('admin request refused', { code: 'AUTH_REQUIRED', ip: req.ip });
    deps.events?.publish('admin.denied', { client: req.ip ?? '', via: 'http' });
    res.setHeader('WWW-Authenticate', 'Bearer realm="WebSSH admin"');
    sendError(res, 401, 'AUTH_REQUIRED');
  };
  router.use(authorize, express.json({ limit: '4kb' }));

  const client = (req: express.Request) => req.ip ?? '';
  router.get('/sessions', async (req, res) => {
    deps.events?.publish('admin.action', { action: 'list', client: client(req) });
    res.json(await control.list());
  });

  router.delete('/sessions/:id', async (req, res) => {
    const id = idSchema.safeParse(req.params.id);
    if (!id.success) return sendError(res, 400, 'INVALID_REQUEST', 'session id must be a UUID');
    const found = await control.terminate(id.data);
    deps.events?.publish('admin.action', { action: 'terminate', client: client(req), session: id.data, found });
    if (found) res.status(204).end();
    else sendError(res, 404, 'INVALID_REQUEST', 'no such session');
  });

  router.post('/notice', (req, res) => {
    const body = noticeSchema.safeParse(req.body);
    if (!body.success) return sendError(res, 400, 'INVALID_REQUEST', 'body must be {"message": "1-500 characters"}');
    deps.events?.publish('admin.action', { action: 'notice', client: client(req) });
    control.broadcast(body.data.message);
    res.status(202).json({ sent: true });
  });
  if (deps.node) addRecordingRoutes(router, { recordings: deps.recordings, node: deps.node, log, ...(deps.events && { events: deps.events }), client });
  return router;
}
