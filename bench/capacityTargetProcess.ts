/**
 * Starts bench/capacityTarget.ts in its own process on a free loopback port, so its CPU
 * and memory are neither the bench client's nor the gateway's; stopped by PID, and by
 * the reaper if this process dies first. Keys are fresh ed25519 ones per run (the
 * cheapest host key to sign with, and 5,000 handshakes each sign once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { freePort } from '../src/tools/ports.js';
import { killTree, waitForExit } from '../src/tools/procs.js';
import { guard } from '../src/tools/reaper.js';
import type { TargetConfig } from './capacityTarget.js';
import type { SshTarget } from './terminals.js';

const TARGET = fileURLToPath(new URL('./capacityTarget.ts', import.meta.url));
const START_TIMEOUT_MS = 15_000;

export interface CapacityTarget extends SshTarget {
  pid: number;
  close(): Promise<void>;
}

function waitListening(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let out = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve(ok);
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) done(true);
    };
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), START_TIMEOUT_MS);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** `listenHost`: 127.0.0.1 by default; a gateway in a container needs an address it can reach. */
export async function startCapacityTarget(listenHost = '127.0.0.1'): Promise<CapacityTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'webssh-capacity-target-'));
  const user = ssh2.utils.generateKeyPairSync('ed25519', {});
  const config: TargetConfig = {
    hostKey: ssh2.utils.generateKeyPairSync('ed25519', {}).private,
    username: 'bench',
    password: 'bench-password',
    publicKey: user.public,
  };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
  // A port picked free may be taken before the target binds it: pick again.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort(listenHost);
    const child = spawn(process.execPath, ['--import', 'tsx', TARGET, String(port), configFile, listenHost], { stdio: ['ignore', 'pipe', 'inherit'] });
    const release = guard(child.pid!, dir);
    if (await waitListening(child)) {
      child.stdout?.resume(); // nothing more is read from it
      return {
        host: listenHost,
        port,
        pid: child.pid!,
        users: { password: { username: config.username, password: config.password }, keys: { username: config.username, ed25519: user.private } },
        close: async () => {
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 5_000))) killTree(child.pid!, 'SIGKILL');
          rmSync(dir, { recursive: true, force: true });
          release();
        },
      };
    }
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
    release();
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('capacity target did not start (5 attempts)');
}
