/**
 * The Prometheus endpoints (README "Metrics"):
 *   GET /metrics          this process only, on its own port (not under the base path);
 *   GET <base>/metrics    the whole cluster (observe/clusterMetrics.ts), the URL that
 *                         works through NGINX.
 * With METRICS_TOKEN set, both want `Authorization: Bearer <token>`. Without it the
 * cluster view does not exist (404: nothing about the fleet is public by default) and a
 * process's own view answers only direct loopback connections (a Prometheus or agent on
 * the same host), never a request NGINX forwarded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response, Router } from 'express';
import express from 'express';
import type { Logger } from '../log.js';
import type { ClusterMetrics } from '../observe/clusterMetrics.js';
import { bearerMatches } from './adminRoutes.js';
import { sendError } from './routes.js';

export type MetricsScope = 'local' | 'cluster';

export type MetricsAccess = 'allowed' | 'unauthorized' | 'not-found';

export interface MetricsRequest {
  headers: IncomingHttpHeaders;
  /** The TCP peer's address (not a forwarded one). */
  peer: string | undefined;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** Who may read the metrics; pure, so the rules are unit-tested (tests/unit/metrics.test.ts). */
export function metricsAccess(req: MetricsRequest, scope: MetricsScope, token: string | undefined): MetricsAccess {
  if (token) return bearerMatches(req.headers.authorization, token) ? 'allowed' : 'unauthorized';
  if (scope === 'cluster') return 'not-found';
  const forwarded = req.headers['x-forwarded-for'] !== undefined || req.headers['x-real-ip'] !== undefined || req.headers.forwarded !== undefined;
  return isLoopbackAddress(req.peer) && !forwarded ? 'allowed' : 'not-found';
}

export function createMetricsRoutes(deps: { basePath: string; token: string | undefined; metrics: ClusterMetrics; log: Logger }): Router {
  const router = express.Router();
  const serve = (scope: MetricsScope) => async (req: Request, res: Response) => {
    const access = metricsAccess({ headers: req.headers, peer: req.socket.remoteAddress }, scope, deps.token);
    if (access === 'not-found') return sendError(res, 404, 'INVALID_REQUEST', 'not found');
    if (access === 'unauthorized') {
      deps.log.warn('metrics request refused', { code: 'AUTH_REQUIRED', ip: req.ip });
      res.setHeader('WWW-Authenticate', 'Bearer realm="WebSSH metrics"');
      return sendError(res, 401, 'AUTH_REQUIRED');
    }
    const body = scope === 'cluster' ? await deps.metrics.cluster() : await deps.metrics.local();
    res.setHeader('Cache-Control', 'no-store');
    res.type(deps.metrics.contentType).send(body);
  };
  router.get('/metrics', serve('local'));
  router.get(`${deps.basePath}/metrics`, serve('cluster'));
  return router;
}
