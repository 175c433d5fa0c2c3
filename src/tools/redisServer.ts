/**
 * A real redis-server on a loopback port (free unless given), in a temp dir, stopped by
 * PID. Used by `npm run stack` and the tests; `stop()` and `start()` again on the same
 * port simulate an outage and a recovery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { guard } from './reaper.js';

export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * SIGSTOP: a hung server or a network partition. The socket stays open and nothing
   * answers. Pair with `thaw()` (SIGCONT) in a `finally`.
   */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export type TestRedis = RedisServer;

class RedisExit extends Error {
  readonly addressInUse: boolean;
  constructor(code: number | null, output: string) {
    super(`redis-server exited (${code}):\n${output}`);
    this.addressInUse = /Address already in use/i.test(output);
  }
}

export async function startRedis(opts: { port?: number } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'webssh-redis-'));
  let port = opts.port ?? (await freePort());
  let proc: ChildProcess | undefined;

  let release = (): void => undefined;
  const launch = async () => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) release = guard(child.pid, dir);
    proc = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${out}`)), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => (clearTimeout(timer), reject(new RedisExit(code, out))));
    });
  };

  // A port picked here may be taken by someone else before redis binds it: pick another.
  const start = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (err) {
        if (!(err instanceof RedisExit && err.addressInUse) || opts.port !== undefined || attempt >= 5) throw err;
        port = await freePort();
      }
    }
  };

  const stop = async () => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    release();
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    freeze: () => void proc?.kill('SIGSTOP'),
    thaw: () => void proc?.kill('SIGCONT'),
    close: async () => {
      proc?.kill('SIGCONT'); // a frozen server cannot act on SIGTERM
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
