/**
 * The routing cookie NGINX hashes on (`hash $cookie_webssh_route consistent`). It is set
 * with the page, i.e. before the Socket.IO handshake, so every request of one page
 * (each long-polling request included) reaches the same worker. The session cookie
 * cannot serve: it only exists after a POST/Basic login, and the `io` cookie only
 * after the handshake, which is already too late for the first polling request.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

export const ROUTE_COOKIE = 'webssh_route';

const present = new RegExp(`(?:^|;\\s*)${ROUTE_COOKIE}=[A-Za-z0-9_-]+`);

export function ensureRouteCookie(req: Request, res: Response, path: string): void {
  if (present.test(req.headers.cookie ?? '')) return;
  // Not a secret: it only spreads browsers evenly over the workers.
  res.cookie(ROUTE_COOKIE, randomBytes(12).toString('base64url'), { path, httpOnly: true, sameSite: 'lax', secure: req.secure });
}
