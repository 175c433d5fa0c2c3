/**
 * A gateway whose stdout reader went away (a log pipe closed, a supervisor restarted)
 * keeps serving and still stops on SIGTERM. It used to spin on EPIPE: each failed log
 * write reached the uncaught-exception handler, whose own log line failed again.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort } from '../../src/tools/ports.js';
import { guard } from '../../src/tools/reaper.js';
import { waitForHttp } from '../../src/tools/waitForHttp.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

it('with its stdout pipe closed, the gateway still answers and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const release = guard(proc.pid!);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, 10_000, () => proc.exitCode === null);
    proc.stdout.destroy(); // the reader goes away: the gateway's next write gets EPIPE
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/ssh/`)).status).toBe(200); // each logs
    const exited = once(proc, 'exit') as Promise<[number | null, string | null]>;
    proc.kill('SIGTERM');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 10 s of SIGTERM')), 10_000));
    const [code] = await Promise.race([exited, timeout]);
    expect(code).toBe(0);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    release();
  }
});
