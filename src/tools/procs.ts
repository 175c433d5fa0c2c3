// Process helpers for the sshd harness: everything by PID, never by process name.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** PIDs of all descendants of `root`, from one synchronous scan of /proc (usable in 'exit' hooks). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command name: state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Signal `pid` and its descendants. sshd's per-connection processes call setsid(), so they are
 * not in the listener's process group and outlive it unless signalled too. Synchronous on purpose.
 */
export function killTree(pid: number, signal: NodeJS.Signals): void {
  const pids = [pid, ...descendants(pid)]; // collect first: once the parent dies, children are reparented
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves true when `child` has exited (now or earlier), false after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * A tiny `sh` watchdog that SIGTERMs `pid` and removes `dir` when this Node process dies in any
 * way, even SIGKILL (vitest ends its workers without running 'exit' hooks): it blocks reading a
 * pipe from us, and EOF means we are gone. disarm() (on a normal close) makes it exit quietly.
 */
export function startWatchdog(pid: number, dir: string): { disarm: () => void } {
  const script = 'read -r cmd; [ "$cmd" = done ] && exit 0; kill -TERM "$1" 2>/dev/null; rm -rf -- "$2"';
  const dog = spawn('/bin/sh', ['-c', script, 'webssh-sshd-watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true, // own process group: a Ctrl-C to the test run must not kill it before it acts
  });
  dog.on('error', () => undefined);
  dog.stdin?.on('error', () => undefined);
  dog.unref();
  (dog.stdin as (Writable & { unref?: () => void }) | null)?.unref?.();
  return { disarm: () => dog.stdin?.end('done\n') };
}
