/**
 * Small checks the resume tests share: which shell a page is talking to, numbered lines
 * in received output, and a wait for gateway state (which no client event announces).
 */
import { randomBytes } from 'node:crypto';
import type { TerminalClient } from './terminalClient.js';

/** The shell's PID, asked through the page: the same PID means the same shell. */
export async function shellPid(c: TerminalClient): Promise<string> {
  const tag = randomBytes(4).toString('hex');
  c.send(`echo ${tag}-$$-pid\r`);
  await c.waitForText(new RegExp(`${tag}-\\d+-pid`));
  return new RegExp(`${tag}-(\\d+)-pid`).exec(c.text)![1]!;
}

/** The numbers of the `tag:N` lines in `text`, in the order they arrived. */
export function numbers(text: string, tag: string): number[] {
  return [...text.matchAll(new RegExp(`${tag}:(\\d+)\\r?\\n`, 'g'))].map((m) => Number(m[1]));
}

/** Re-checks `predicate` every 20 ms (gateway state has no event a closed client would see). */
export async function eventually<T>(what: string, predicate: () => T | undefined | false, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = predicate();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20)); // polling interval: the predicate decides
  }
}
