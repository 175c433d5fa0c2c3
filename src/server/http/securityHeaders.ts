/**
 * Headers sent with every response: the page, the assets, errors, and Socket.IO's own
 * answers (long-polling, the WebSocket handshake, refusals). helmet sets the usual set;
 * we add the two it does not write our way:
 *
 * - the CSP, byte for byte the policy the page has always had (helmet would re-join the
 *   directives with ";" — same policy, different bytes, and NGINX/the tests name it);
 *   scripts only from our origin, no inline script; styles allow 'unsafe-inline' because
 *   xterm.js sizes its DOM with injected <style> rules (see docs/architecture.md);
 * - Permissions-Policy, which helmet does not set.
 *
 * HSTS is left to NGINX, which knows whether the request came over TLS.
 * Typed on node:http so it serves Express and `io.engine.use` alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

const policy = (scriptSrc: string) => [
  "default-src 'self'",
  `script-src ${scriptSrc}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CSP = policy("'self'");

/**
 * The admin console's page only (it replays recordings): asciinema-player runs its
 * terminal emulator as WebAssembly compiled from bytes inside its own bundle, which
 * Chromium refuses without 'wasm-unsafe-eval'. That source allows compiling Wasm and
 * nothing else (no eval, no new Function, no inline script); scripts still come only
 * from our origin, and the terminal page keeps the policy above.
 */
export const ADMIN_CONSOLE_CSP = policy("'self' 'wasm-unsafe-eval'");

const common = helmet({
  contentSecurityPolicy: false,
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
});

export function securityHeaders(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  common(req, res, next);
}
