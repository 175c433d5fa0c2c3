/** The gateway processes a benchmark measures: `npm start` mode and the full stack. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/tools/ports.js';
import { waitForExit } from '../src/tools/procs.js';
import { guard } from '../src/tools/reaper.js';
import { startStack, type Stack } from '../src/tools/stack.js';
import { waitForHttp } from '../src/tools/waitForHttp.js';
import { HEAP_DIR, PROBE_NODE_ARGS } from './liveMemory.js';

const MAIN = fileURLToPath(new URL('../dist/server/main.js', import.meta.url));
/** The Node flags of `npm start` (package.json), so "single" is what that command runs. */
const START_NODE_ARGS = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(/\s+/)
  .filter((arg) => arg.startsWith('--'));
// Every gateway loads the heap probe (bench/liveMemory.ts) so memory is measured after a GC.
const GATEWAY_ENV = { SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'warn', BENCH_HEAP_DIR: HEAP_DIR };

export interface SingleGateway {
  url: string;
  pid: number;
  close(): Promise<void>;
}

export async function startSingle(): Promise<SingleGateway> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...START_NODE_ARGS, ...PROBE_NODE_ARGS, MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LISTEN_HOST: '127.0.0.1', SESSION_SECRET: randomBytes(32).toString('hex'), ...GATEWAY_ENV },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const release = guard(child.pid!);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, 15_000, () => child.exitCode === null);
  return {
    url,
    pid: child.pid!,
    close: async () => {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) child.kill('SIGKILL');
      release();
    },
  };
}

/** BENCH_NGINX_WORKER_CONNECTIONS reproduces a smaller NGINX (4096 was the old default). */
export function startBenchStack(workers: number): Promise<Stack> {
  const wc = Number(process.env.BENCH_NGINX_WORKER_CONNECTIONS ?? 0);
  return startStack({ instances: workers, ...(wc > 0 && { workerConnections: wc }), env: { ...GATEWAY_ENV, GATEWAY_NODE_ARGS: PROBE_NODE_ARGS.join(' ') } });
}
