/**
 * The cluster issue's reload-under-load scenario as a measurement: K terminals stream
 * numbered lines and a new session opens every ~100 ms while `pm2 reload` runs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Stack } from '../../src/tools/stack.js';
import { echo, openShell } from '../../test/harness/cluster.js';
import type { TestSshd } from '../../test/harness/sshd.js';
import { nowMs, round } from '../stats.js';

const TICKS = 150;

export async function reloadUnderLoad(stack: Stack, sshd: TestSshd, k: number) {
  const live = await Promise.all(Array.from({ length: k }, () => openShell(stack.url, sshd)));
  live.forEach((c) => c.send(`for i in $(seq 1 ${TICKS}); do printf 'tick %06d %0990d\\n' $i 0; sleep 0.05; done; echo STREAM-END; exit\r`));
  await Promise.all(live.map((c) => c.waitForText(/tick 000005/)));
  let attempted = 0;
  let failed = 0;
  let done = false;
  const t0 = nowMs();
  const reload = stack.pm2.exec(['reload', stack.name]).finally(() => (done = true));
  const inFlight: Promise<void>[] = [];
  while (!done && attempted < 600) {
    attempted++;
    inFlight.push(
      openShell(stack.url, sshd).then(
        async (c) => {
          await echo(c, `n${attempted}`).catch(() => failed++);
          c.close();
        },
        () => void failed++,
      ),
    );
    await delay(100); // the load's pace
  }
  await reload;
  const reloadSeconds = (nowMs() - t0) / 1000;
  await Promise.all(inFlight);
  let complete = 0;
  let bytes = 0;
  for (const c of live) {
    await c.waitForText('STREAM-END', 60_000);
    const ticks = [...c.text.matchAll(/tick (\d{6}) 0{990}\r?\n/g)].map((m) => Number(m[1]));
    if (ticks.length === TICKS && ticks.every((v, i) => v === i + 1)) complete++;
    bytes += ticks.length * 1000;
    c.close();
  }
  return { sessions: k, complete_streams: complete, bytes_verified: bytes, connects_attempted: attempted, connects_failed: failed, reload_s: round(reloadSeconds, 1) };
}
