/**
 * Nothing the suite starts outlives it. A process that owns an sshd, a redis-server, an
 * nginx and a (detached) PM2 daemon is killed with SIGKILL — no exit hook runs, as when
 * vitest ends a worker or CI kills a run — and every one of those processes, their
 * children and their temp dirs must be gone shortly after.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { descendants, isRunning } from '../../src/tools/procs.js';
import { REAP_WITH_ENV } from '../../src/tools/reaper.js';

const FIXTURE = fileURLToPath(new URL('../harness/fixtures/serviceOwner.ts', import.meta.url));


async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startOwner(env: Record<string, string> = {}) {
  const owner = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    owner.once('exit', (code) => reject(new Error(`fixture exited (${code}) before starting its services`)));
  });
  const { pm2Daemon, dirs } = JSON.parse(line) as { pm2Daemon: number; dirs: string[] };
  // sshd, redis, nginx master + worker, the reaper; the daemon and what it runs.
  const started = [...descendants(owner.pid!), pm2Daemon, ...descendants(pm2Daemon)];
  expect(started.length).toBeGreaterThanOrEqual(6);
  expect(started.every(isRunning)).toBe(true);
  dirs.forEach((d) => expect(existsSync(d)).toBe(true));
  return { owner, started, dirs };
}

async function expectAllGone(started: number[], dirs: string[]): Promise<void> {
  await until('every process the owner started to end', () => !started.some(isRunning), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; still running: ${started.filter(isRunning).join(', ')}`);
  });
  await until('the temp dirs to be removed', () => !dirs.some(existsSync), 5_000);
}

it('a SIGKILLed owner leaves no sshd, redis-server, nginx, PM2 daemon or temp dir behind', { timeout: 90_000 }, async () => {
  const { owner, started, dirs } = await startOwner();
  owner.kill('SIGKILL');
  await expectAllGone(started, dirs);
});

it("when the run's main process dies, a worker that lives on is ended with everything it started", { timeout: 90_000 }, async () => {
  const main = spawn('sleep', ['120'], { stdio: 'ignore' }); // stands in for vitest's main process
  const { owner, started, dirs } = await startOwner({ [REAP_WITH_ENV]: String(main.pid) });
  main.kill('SIGKILL');
  await expectAllGone([owner.pid!, ...started], dirs);
});
