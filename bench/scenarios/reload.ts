/**
 * The cluster issue's reload-under-load scenario as a measurement: K terminals stream
 * numbered lines and a new session opens every ~100 ms while `pm2 reload` runs.
 */
import type { Stack } from '../../src/tools/stack.js';
import { openShell } from '../../tests/harness/cluster.js';
import { LINE_BYTES, openerLoad, STREAM, streamComplete, ticks } from '../../tests/harness/reloadLoad.js';
import type { TestSshd } from '../../tests/harness/sshd.js';
import { nowMs, round } from '../stats.js';

export async function reloadUnderLoad(stack: Stack, sshd: TestSshd, k: number) {
  const live = await Promise.all(Array.from({ length: k }, () => openShell(stack.url, sshd)));
  live.forEach((c) => c.send(STREAM));
  await Promise.all(live.map((c) => c.waitForText(/tick 000005/)));
  const t0 = nowMs();
  const reload = stack.pm2.exec(['reload', stack.name]);
  // At most 4 logins under way, as in tests/cluster/reload.test.ts: unbounded, a 2-core
  // machine piled up hundreds of logins, page loads waited past NGINX's 10 s timeout and
  // the reload took 80-90 s with ~300 of 600 connects failed; bounded, 11 s and none.
  const [load, reloadSeconds] = await Promise.all([openerLoad(stack.url, sshd, reload, { maxInFlight: 4 }), reload.then(() => (nowMs() - t0) / 1000)]);
  let complete = 0;
  let bytes = 0;
  for (const c of live) {
    await c.waitForText('STREAM-END', 60_000);
    if (streamComplete(c)) complete++;
    bytes += ticks(c).length * LINE_BYTES;
    c.close();
  }
  return {
    sessions: k,
    complete_streams: complete,
    bytes_verified: bytes,
    connects_attempted: load.attempted,
    connects_failed: load.failures.length,
    // What went wrong, so a failed connect is diagnosable from the results alone.
    ...(load.failures.length > 0 && { first_failure: load.failures[0]!.slice(0, 200) }),
    reload_s: round(reloadSeconds, 1),
  };
}
