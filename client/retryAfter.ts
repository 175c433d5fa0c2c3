/**
 * RATE_LIMITED tells the page how long to wait. Pure: when a retry may start again, and
 * how to say how long is left. The status bar keeps "Reconnect" disabled until then, so
 * the page never spends a retry the gateway would refuse anyway.
 */

/** Epoch ms before which a retry is pointless; undefined when the gateway set no wait. */
export function retryNotBefore(retryAfterSeconds: number | undefined, now: number): number | undefined {
  if (typeof retryAfterSeconds !== 'number' || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds <= 0) return undefined;
  return now + Math.ceil(retryAfterSeconds) * 1000;
}

/** "45 s", "3 min 5 s": what is left until `notBefore`, rounded up to the second. */
export function formatWait(notBefore: number, now: number): string {
  const seconds = Math.max(0, Math.ceil((notBefore - now) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const rest = seconds % 60;
  return rest === 0 ? `${seconds / 60} min` : `${Math.floor(seconds / 60)} min ${rest} s`;
}
