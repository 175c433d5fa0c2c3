/**
 * Polls a URL until it answers 2xx (or `accept` says so), bounded by a timeout. Used to
 * wait for processes we started to become reachable: the event we wait for is "the port
 * answers", which no process tells us about directly.
 */
import { setTimeout as delay } from 'node:timers/promises';

export async function waitForHttp(
  url: string,
  timeoutMs: number,
  stillAlive: () => boolean = () => true,
  accept: (res: Response, body: string) => boolean = (res) => res.ok,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!stillAlive()) throw new Error(`${url}: the process serving it exited`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (accept(res, body)) return body;
      last = `${res.status} ${body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await delay(100); // polling interval, not synchronisation: the next probe decides
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})`);
}
