// Process helpers for the sshd harness: everything by PID, never by process name.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { guard } from './reaper.js';

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

/** True while `pid` runs: false once it is gone or has exited and awaits reaping (a zombie). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
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
 * SIGTERMs `pid` (and its descendants) and removes `dir` when this Node process dies in any
 * way, even SIGKILL (see reaper.ts). disarm() (on a normal close) drops the guard.
 */
export function startWatchdog(pid: number, dir: string): { disarm: () => void } {
  return { disarm: guard(pid, dir) };
}
