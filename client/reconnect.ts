/**
 * Backoff between resume attempts: 1, 2, 4, 8 s, then every 10 s, each ±20 % so pages
 * dropped together (an NGINX restart) do not all come back in the same instant. Pure.
 */
const FIRST_MS = 1000;
const MAX_MS = 10_000;

export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}
