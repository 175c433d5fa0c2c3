/**
 * Cross-site WebSocket hijacking defence: a browser always sends `Origin` on a
 * WebSocket handshake and on cross-origin requests, so a request whose Origin is
 * present must be same-origin (matches Host) or explicitly allowed. A request without
 * Origin comes from a non-browser client or a same-origin GET, neither of which a
 * foreign page can forge.
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
