/**
 * The reload-under-load workload, shared by the reload test and the benchmark: terminals
 * that stream numbered lines (so completeness and order can be checked), and new
 * sessions arriving every ~100 ms while something (a deploy, a reload) runs.
 */
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

/** Opens a session every ~100 ms until `until` settles (at most 600); each must echo. */
export async function openerLoad(url: string, sshd: TestSshd, until: Promise<unknown>): Promise<{ attempted: number; failures: string[] }> {
  let attempted = 0;
  const failures: string[] = [];
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  const inFlight: Promise<void>[] = [];
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
    inFlight.push(one(++attempted));
    await new Promise((r) => setTimeout(r, 100)); // the load's pace, not synchronisation
  }
  await Promise.all(inFlight);
  return { attempted, failures };
}
