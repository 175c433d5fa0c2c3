/**
 * Which browser pages may use the gateway, and under which names. One policy for the
 * Socket.IO handshake and the POST logins (login CSRF), so the two cannot drift apart.
 */

/**
 * Cross-site defence: a browser always sends `Origin` on a WebSocket handshake and on
 * cross-origin requests, so a request whose Origin is present must be same-origin
 * (matches Host) or explicitly allowed. A request without Origin comes from a
 * non-browser client or a same-origin GET, neither of which a foreign page can forge.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowList: readonly string[]): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // includes the literal "null" origin of sandboxed frames and file: pages
  }
  if (allowList.includes(parsed.origin)) return true;
  return host !== undefined && parsed.host.toLowerCase() === host.toLowerCase();
}

/**
 * The origin a form POST claims: `Origin`, else the origin of `Referer` (older browsers
 * omit Origin on some POSTs but keep Referer). An unparsable Referer counts as the
 * opaque origin "null", which originAllowed refuses.
 */
export function claimedOrigin(origin: string | undefined, referer: string | undefined): string | undefined {
  if (origin !== undefined || referer === undefined) return origin;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}

/**
 * DNS-rebinding defence: the Host header must be one of ALLOWED_HOSTS (`name` matches
 * any port, `name:port` only that port). An empty list means no Host check.
 */
export function hostAllowed(host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.length === 0) return true;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host?.trim().toLowerCase() ?? '');
  if (!m?.[1]) return false;
  const name = m[1].replace(/\.$/, '');
  return allowedHosts.includes(name) || (m[2] !== undefined && allowedHosts.includes(`${name}:${m[2]}`));
}
