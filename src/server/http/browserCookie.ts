/**
 * The browser's own identity for resuming terminals (issue 13): a random value in an
 * HttpOnly cookie, set with the page. A session remembers only its hash; a resume must
 * come with the same cookie *and* the session's resume secret, so neither a stolen
 * secret (another browser) nor this cookie alone (another page's session id guessed or
 * leaked) reattaches. Form-mode pages have no express session, hence a cookie of its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';

export const BROWSER_COOKIE = 'webssh_browser';

const value = new RegExp(`(?:^|;\\s*)${BROWSER_COOKIE}=([A-Za-z0-9_-]{43})(?:;|$)`);

/** The cookie's value on a request, if it has a well-formed one. */
export function browserCookie(req: IncomingMessage): string | undefined {
  return value.exec(req.headers.cookie ?? '')?.[1];
}

export function ensureBrowserCookie(req: Request, res: Response, path: string): void {
  if (browserCookie(req)) return;
  // Lax: a link from elsewhere to the page still carries it, so it is not replaced.
  res.cookie(BROWSER_COOKIE, randomBytes(32).toString('base64url'), { path, httpOnly: true, sameSite: 'lax', secure: req.secure });
}

/** What a session stores of a secret or of this cookie. */
export function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
