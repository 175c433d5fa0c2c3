/**
 * The reload-under-load workload, shared by the reload test and the benchmark: terminals
 * that stream numbered lines (so completeness and order can be checked), and new
 * sessions arriving every ~100 ms while something (a deploy, a reload) runs.
 */
import type { ErrorInfo } from '../../src/shared/errors.js';
import type { NoticeMessage } from '../../src/shared/protocol.js';
import { echo, openShell } from './cluster.js';
import type { TestSshd } from './sshd.js';
import type { TerminalClient } from './terminalClient.js';

export const TICKS = 150;
export const LINE_BYTES = 1000;

/** Prints TICKS numbered 1000-byte lines over ~7.5 s, then a marker, then logs out. */
export const STREAM = `for i in $(seq 1 ${TICKS}); do printf 'tick %06d %0990d\\n' $i 0; sleep 0.05; done; echo STREAM-END; exit\r`;

const TICK_LINE = /tick (\d{6}) 0{990}\r?\n/g;

/** Tick numbers in the order they arrived. */
export function ticks(c: TerminalClient): number[] {
  return [...c.text.matchAll(TICK_LINE)].map((m) => Number(m[1]));
}

/** True iff the stream arrived complete and in order: 1..TICKS. */
export function streamComplete(c: TerminalClient): boolean {
  const t = ticks(c);
  return t.length === TICKS && t.every((v, i) => v === i + 1);
}

/**
 * Opens a session every ~100 ms until `until` settles (at most 600); each must echo.
 * `maxInFlight` bounds the logins still under way: a new one waits for a free slot, so
 * a slow machine gets a slower pace instead of a pile of logins that time out.
 */
export async function openerLoad(
  url: string,
  sshd: TestSshd,
  until: Promise<unknown>,
  { maxInFlight = Infinity } = {},
): Promise<{ attempted: number; failures: string[] }> {
  let attempted = 0;
  const failures: string[] = [];
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  const inFlight = new Set<Promise<void>>();
  const one = async (n: number) => {
    try {
      const c = await openShell(url, sshd);
      try {
        await echo(c, `new${n}`);
      } finally {
        c.close();
      }
    } catch (err) {
      failures.push((err as Error).message);
    }
  };
  while (!done && attempted < 600) {
    if (inFlight.size >= maxInFlight) {
      await Promise.race(inFlight);
      continue;
    }
    const p = one(++attempted).finally(() => inFlight.delete(p));
    inFlight.add(p);
    await new Promise((r) => setTimeout(r, 100)); // the load's pace, not synchronisation
  }
  await Promise.all(inFlight);
  return { attempted, failures };
}

/**
 * Like STREAM, but endless: a numbered 1000-byte line every ~50 ms until the test sends
 * STOP_STREAM, then `STREAM-END <lines sent>` and logout. The terminal stops echoing and
 * passes single keys (-icanon) first; `read -t 0` only asks whether a key is waiting,
 * without reading it, so no key can be lost between two checks.
 */
export const ENDLESS_STREAM = `stty -echo -icanon; i=0; while ! read -t 0; do i=$((i+1)); printf 'tick %06d %0990d\\n' $i 0; sleep 0.05; done; stty sane; echo "STREAM-END $i"; exit\r`;
export const STOP_STREAM = 'q';

export interface DrainedStream {
  /** The notice the draining worker sent, with its deadline. */
  notice: NoticeMessage;
  /** Lines that had arrived when the notice did. */
  linesAtNotice: number;
  /** Lines the stream says it sent (its STREAM-END line). */
  linesSent: number;
  /** Lines that arrived, in arrival order. */
  lines: number[];
  ended: ErrorInfo;
}

/**
 * Keeps an ENDLESS_STREAM running until its worker drains: waits for the drain notice
 * (the one with a deadline), then for `linesAfter` more lines (the stream is still live
 * on the draining worker), then stops it and waits for its end. Fails at once if the
 * socket goes away before the notice (a worker that exited instead of draining).
 */
export async function streamThroughDrain(c: TerminalClient, { linesAfter = 10, noticeWithinMs = 120_000 } = {}): Promise<DrainedStream> {
  const notice = await c.waitFor(
    'the drain notice (a notice with a deadline)',
    () => {
      const n = c.notices.find((m) => m.deadline !== undefined);
      if (!n && (c.ended || c.disconnectReason)) throw new Error(`session ended before any drain notice: ${JSON.stringify(c.ended)} ${c.disconnectReason ?? ''}`);
      return n;
    },
    noticeWithinMs,
  );
  const linesAtNotice = ticks(c).length;
  const wanted = c.received + linesAfter * LINE_BYTES;
  await c.waitFor(`${linesAfter} more lines after the drain notice`, () => {
    if (c.ended || c.disconnectReason) throw new Error(`stream cut after the drain notice: ${JSON.stringify(c.ended)} ${c.disconnectReason ?? ''}`);
    return c.received >= wanted;
  });
  c.send(STOP_STREAM);
  await c.waitForText(/STREAM-END \d+/);
  const linesSent = Number(/STREAM-END (\d+)/.exec(c.text)![1]);
  return { notice, linesAtNotice, linesSent, lines: ticks(c), ended: await c.waitForEnd() };
}
