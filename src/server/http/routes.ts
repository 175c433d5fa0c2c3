/**
 * HTTP entry points under the base path: the page (form mode), webssh2-compatible
 * POST and /host/:host (HTTP Basic) logins that hand credentials over as a one-time
 * grant, and the static assets.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Session } from 'express-session';
import { errorInfo, type ErrorCode } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { credentialsSchema, hostSchema, portSchema, type Credentials } from '../../shared/schemas.js';
import type { GrantSealer } from '../core/credentialGrant.js';
import type { GrantStore } from '../core/grantStore.js';
import { claimedOrigin, originAllowed } from '../core/originPolicy.js';
import type { Logger } from '../log.js';
import { parseBasicAuth } from './basicAuth.js';
import { relativeRoot, type PageRenderer } from './page.js';
import { ensureBrowserCookie } from './browserCookie.js';
import { ensureRouteCookie } from './routeCookie.js';

declare module 'express-session' {
  interface SessionData {
    /**
     * When a grant was issued for this session. Only a marker: it makes express-session
     * keep the session (and set its cookie); the sealed grant itself waits in the
     * GrantStore under the session id, so that taking it is one atomic step.
     */
    grantIssuedAt: number;
  }
}

export interface RouteDeps {
  basePath: string;
  grantTtlMs: number;
  page: PageRenderer;
  sealer: GrantSealer;
  grants: GrantStore;
  session: RequestHandler;
  /** ALLOWED_ORIGINS: pages besides our own that may post logins (an SSO portal). */
  allowedOrigins: readonly string[];
  assetsDir: string;
  log: Logger;
}

const CREDENTIAL_FIELDS = ['host', 'port', 'username', 'password', 'privateKey', 'passphrase'] as const;

export function sendError(res: Response, status: number, code: ErrorCode, detail?: string): void {
  res.status(status).json(errorInfo(code, detail));
}

/** Picks the credential fields from a form or JSON body; empty strings mean "not given". */
function pickCredentials(body: unknown, host?: string): Record<string, unknown> {
  const src = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of CREDENTIAL_FIELDS) if (src[k] !== undefined && src[k] !== '') out[k] = src[k];
  if (host !== undefined) out.host = host;
  return out;
}

function regenerate(session: Session): Promise<void> {
  return new Promise((resolve, reject) => session.regenerate((err) => (err ? reject(err as Error) : resolve())));
}

function save(session: Session): Promise<void> {
  return new Promise((resolve, reject) => session.save((err) => (err ? reject(err as Error) : resolve())));
}

export function createRoutes(deps: RouteDeps): Router {
  const router = express.Router();
  const bodies = [express.urlencoded({ extended: false, limit: LIMITS.maxMessageBytes }), express.json({ limit: LIMITS.maxMessageBytes })];
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };

  const renderPage = (req: Request, res: Response, mode: 'form' | 'grant', prefill: Partial<Credentials>, reloadReconnects = false) => {
    const root = relativeRoot(deps.basePath, new URL(req.originalUrl, 'http://x').pathname);
    ensureRouteCookie(req, res, deps.basePath);
    ensureBrowserCookie(req, res, deps.basePath);
    const safe = { ...(prefill.host && { host: prefill.host }), ...(prefill.port && { port: prefill.port }), ...(prefill.username && { username: prefill.username }) };
    res.type('html').send(deps.page.render(root, { mode, prefill: safe, reloadReconnects }));
  };

  /**
   * Login CSRF: a foreign page must not log the victim's browser into the attacker's
   * account. Runs before the session middleware, so a refusal sets no cookie.
   */
  const sameOriginPost: RequestHandler = (req, res, next) => {
    const origin = claimedOrigin(req.headers.origin, req.headers.referer);
    if (originAllowed(origin, req.headers.host, deps.allowedOrigins)) return next();
    deps.log.warn('login origin rejected', { code: 'ORIGIN_REJECTED', origin, ip: req.ip });
    sendError(res, 403, 'ORIGIN_REJECTED');
  };

  /** Validates, seals the credentials into a fresh session, renders the page in grant mode. */
  const grantAndRender = async (req: Request, res: Response, raw: Record<string, unknown>, reloadReconnects: boolean) => {
    const parsed = credentialsSchema.safeParse(raw);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ');
      return sendError(res, 400, 'INVALID_REQUEST', `invalid ${fields}`);
    }
    try {
      await regenerate(req.session); // a new session id whenever credentials are accepted
      await deps.grants.put(req.sessionID, deps.sealer.seal(parsed.data, deps.grantTtlMs), deps.grantTtlMs);
      req.session.grantIssuedAt = Date.now();
      await save(req.session);
    } catch (err) {
      deps.log.warn('session store unavailable', { code: 'SERVICE_UNAVAILABLE', err });
      return sendError(res, 503, 'SERVICE_UNAVAILABLE');
    }
    deps.log.info('credential grant issued', { target: `${parsed.data.username}@${parsed.data.host}:${parsed.data.port}` });
    renderPage(req, res, 'grant', parsed.data, reloadReconnects);
  };

  router.use('/assets', express.static(deps.assetsDir, { index: false, fallthrough: false, maxAge: '1h' }));

  router.get('/', noStore, (req, res) => {
    const port = portSchema.safeParse(req.query.port);
    const host = hostSchema.safeParse(req.query.host);
    const username = typeof req.query.username === 'string' ? req.query.username.slice(0, LIMITS.maxFieldChars) : undefined;
    renderPage(req, res, 'form', { ...(host.success && { host: host.data }), ...(port.success && { port: port.data }), ...(username && { username }) });
  });

  router.post('/', noStore, sameOriginPost, deps.session, ...bodies, (req, res) => grantAndRender(req, res, pickCredentials(req.body), false));

  router.get('/host/:host', noStore, deps.session, async (req, res) => {
    const basic = parseBasicAuth(req.headers.authorization);
    if (!basic) {
      res.setHeader('WWW-Authenticate', 'Basic realm="WebSSH", charset="UTF-8"');
      return sendError(res, 401, 'AUTH_REQUIRED');
    }
    const port = req.query.port === undefined ? undefined : req.query.port;
    await grantAndRender(req, res, { host: String(req.params.host), ...(port !== undefined && { port }), ...basic }, true);
  });

  router.post('/host/:host', noStore, sameOriginPost, deps.session, ...bodies, (req, res) => grantAndRender(req, res, pickCredentials(req.body, String(req.params.host)), false));

  return router;
}
