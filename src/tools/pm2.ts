/**
 * Drives the real PM2 (the project's own dependency) with its own PM2_HOME, so a stack
 * or a test never touches a developer's PM2. Everything is stopped by PID: `pm2 kill`
 * first (it drains apps by signal), then whatever survived is SIGKILLed from the PIDs
 * recorded while it ran.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killTree } from './procs.js';
import { guard } from './reaper.js';

const run = promisify(execFile);
const PM2_BIN = createRequire(import.meta.url).resolve('pm2/bin/pm2');

export interface Pm2Process {
  name: string;
  pid: number;
  instance: number;
  status: string;
  restarts: number;
  port: number;
}

export class Pm2 {
  readonly home: string;
  readonly #ownsHome: boolean;
  readonly #seen = new Set<number>();
  /** Set once our daemon exists: it is detached, so only the reaper stops it if we die. */
  #releaseDaemon: (() => void) | undefined;

  constructor(home?: string) {
    this.#ownsHome = home === undefined;
    this.home = home ?? mkdtempSync(join(tmpdir(), 'webssh-pm2-'));
  }

  /** Runs the pm2 CLI; `env` adds to ours (PM2 hands the CLI's environment to new apps). */
  async exec(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
    const { stdout } = await run(process.execPath, [PM2_BIN, ...args], {
      env: { ...process.env, ...env, PM2_HOME: this.home },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    this.#guardDaemon();
    return stdout;
  }

  async list(): Promise<Pm2Process[]> {
    // The first call also spawns the daemon and says so before the JSON line.
    const raw = JSON.parse((await this.exec(['jlist'])).trim().split('\n').at(-1) ?? '[]') as {
      name: string;
      pid: number;
      pm2_env: { status: string; restart_time: number; NODE_APP_INSTANCE?: number; PORT?: string | number };
    }[];
    const out = raw.map((p) => ({
      name: p.name,
      pid: p.pid,
      instance: Number(p.pm2_env.NODE_APP_INSTANCE ?? 0),
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
      port: Number(p.pm2_env.PORT),
    }));
    for (const p of out) if (p.pid > 0) this.#seen.add(p.pid);
    return out;
  }

  daemonPid(): number | undefined {
    try {
      return Number(readFileSync(join(this.home, 'pm2.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Only a daemon in a home we made ourselves is ours to end: a deploy drives the
   * operator's PM2 (their PM2_HOME), which must outlive the deploy command.
   */
  #guardDaemon(): void {
    if (this.#releaseDaemon || !this.#ownsHome) return;
    const daemon = this.daemonPid();
    if (daemon !== undefined) this.#releaseDaemon = guard(daemon, this.home);
  }

  async kill(): Promise<void> {
    await this.list().catch(() => []);
    const daemon = this.daemonPid();
    await this.exec(['kill'], {}, 90_000).catch(() => undefined);
    for (const pid of [...this.#seen, ...(daemon ? [daemon] : [])]) if (alive(pid)) killTree(pid, 'SIGKILL');
    if (this.#ownsHome) rmSync(this.home, { recursive: true, force: true });
    this.#releaseDaemon?.();
    this.#releaseDaemon = undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
