/**
 * A Docker engine for the container path, found the way scripts/test-container.sh finds
 * one: $DOCKER_HOST or a running engine, else ../shared/container/offline-docker started
 * by this run (and stopped by it, only then).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OFFLINE_DOCKER = fileURLToPath(new URL('../../shared/container/offline-docker', import.meta.url));

export interface Engine {
  /** true: this run started it with offline-docker, and `down` is this run's job. */
  own: boolean;
  tool: string;
  version: string;
  compose: string;
  /** Drops the watch that stops an engine this run started if the run dies; call it once a later watch covers that. */
  handOver(): void;
}

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const answers = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const out = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000 }).trim();

const loadEnv = () => {
  // eval "$(offline-docker env)": `export NAME=value` lines.
  for (const m of out(OFFLINE_DOCKER, ['env']).matchAll(/^export (\w+)=(.*)$/gm)) process.env[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
};

/** An engine, or why there is none (the caller reports the skip). */
export function findEngine(): Engine | { skipped: string } {
  let own = false;
  let handOver: () => void = () => undefined;
  if (!process.env.DOCKER_HOST && !answers()) {
    if (!executable(OFFLINE_DOCKER)) return { skipped: `no Docker engine answers and there is no ${OFFLINE_DOCKER} to start one` };
    // Someone else's offline-docker engine is used as it is, and left running.
    if (spawnSync(OFFLINE_DOCKER, ['status'], { stdio: 'ignore', timeout: 60_000 }).status !== 0) {
      const log = join(tmpdir(), 'webssh-bench-offline-docker-up.log');
      process.stderr.write(`bench: no Docker engine; starting one with ${OFFLINE_DOCKER} up (log: ${log})\n`);
      handOver = onOwnerDeath(`'${OFFLINE_DOCKER}' down`, process.env); // a Ctrl-C during `up` too
      const r = spawnSync('sh', ['-c', `"$0" up >"$1" 2>&1`, OFFLINE_DOCKER, log], { stdio: 'ignore', timeout: 1_500_000 });
      if (r.status !== 0) {
        spawnSync(OFFLINE_DOCKER, ['down'], { stdio: 'ignore', timeout: 120_000 }); // a failed `up` may have started dockerd
        handOver();
        throw new Error(`offline-docker up failed (exit ${r.status}); see ${log}`);
      }
      own = true;
    }
    loadEnv();
  }
  return { own, handOver, tool: OFFLINE_DOCKER, version: out('docker', ['version', '-f', '{{.Server.Version}}']), compose: out('docker', ['compose', 'version', '--short']) };
}

export function stopEngine(engine: Engine): void {
  if (engine.own) spawnSync(engine.tool, ['down'], { stdio: 'ignore', timeout: 120_000 });
  engine.handOver();
}

/**
 * Runs `script` (sh) if this process dies before calling the returned release(): a
 * detached shell that waits on a pipe from us. A normal stop writes "ok" first; any death
 * (SIGKILL, a caller's timeout) closes the pipe, and the shell cleans up. Like the reaper
 * (src/tools/reaper.ts), which handles processes and dirs but cannot run `docker compose down`.
 */
export function onOwnerDeath(script: string, env: NodeJS.ProcessEnv): () => void {
  const child = spawn('sh', ['-c', `read -r line; [ "$line" = ok ] && exit 0; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  child.unref();
  (child.stdin as typeof child.stdin & { unref?: () => void }).unref?.();
  return () => {
    if (!child.stdin.destroyed) child.stdin.end('ok\n');
  };
}
