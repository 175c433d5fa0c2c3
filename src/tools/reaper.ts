/**
 * The reaper: whatever a test run or `npm run stack` starts (sshd, redis-server, nginx, a
 * PM2 daemon and its workers, a gateway process) is stopped even when the Node process
 * that started it dies without running a single hook — vitest ends its workers that way,
 * and a Ctrl-C or a CI timeout ends the whole run that way.
 *
 * One small detached Node process per owner process holds the list of guarded PIDs (and
 * temp dirs), fed line by line over its stdin. When that pipe reaches EOF — the owner is
 * gone, however it died — it signals each guarded process *and its descendants* (sshd's
 * sessions and PM2's workers are not in their leader's process group, and nginx's workers
 * outlive a killed master), SIGKILLs what is left after a grace period, and removes the
 * dirs. A process released by its owner's normal shutdown is dropped from the list first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

// Runs as `node -e`: plain JS, no imports from this project (it must work from src/ and dist/).
const REAPER_SOURCE = String.raw`
const fs = require('fs');
const guarded = new Map();
const [graceMs, owner, watched] = process.argv.slice(1).map(Number);
function descendants(roots) {
  const children = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat;
    try { stat = fs.readFileSync('/proc/' + e + '/stat', 'utf8'); } catch { continue; }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(e));
  }
  const out = new Set(roots);
  const queue = [...roots];
  while (queue.length) for (const c of children.get(queue.shift()) || []) if (!out.has(c)) { out.add(c); queue.push(c); }
  return out;
}
const signal = (pids, sig) => { for (const p of pids) { try { process.kill(p, sig); } catch {} } };
let reaping = false;
function reap(withOwner) {
  if (reaping) return;
  reaping = true;
  // PID 0 marks a dir-only entry (process.kill(0) would signal our own group).
  const roots = () => [...[...guarded.values()].map((g) => g.pid), ...(withOwner ? [owner] : [])].filter((p) => p > 0);
  if (guarded.size === 0 && !withOwner) process.exit(0);
  const first = descendants(roots());
  first.delete(process.pid);
  signal(first, 'SIGTERM');
  setTimeout(() => {
    const last = new Set([...first, ...descendants(roots())]);
    last.delete(process.pid);
    signal(last, 'SIGKILL');
    for (const { dir } of guarded.values()) if (dir) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, graceMs);
}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const [op, pid, dir = ''] = line.split(' ');
    if (op === '+') guarded.set(pid + ' ' + dir, { pid: Number(pid), dir });
    else if (op === '-') guarded.delete(pid + ' ' + dir);
  }
});
process.stdin.on('end', () => reap(false));
process.stdin.on('error', () => reap(false));
// The run's main process (vitest) gone while the owner (a worker) lives on: the owner is
// an orphan that would go on starting things, so it goes too, with everything under it.
if (watched > 0) setInterval(() => { try { process.kill(watched, 0); } catch { reap(true); } }, 500);
`;

/**
 * Set by the test run's global setup to the PID of vitest's main process, and inherited by
 * its workers: when that process is gone, a worker still running is reaped with its work.
 */
export const REAP_WITH_ENV = 'WEBSSH_REAP_WITH';

/** How long guarded processes get between SIGTERM and SIGKILL once their owner is gone. */
const GRACE_MS = 1500;

let reaper: ChildProcess | undefined;

function reaperInput(): Writable {
  if (reaper?.stdin && !reaper.stdin.destroyed) return reaper.stdin;
  const watched = Number(process.env[REAP_WITH_ENV] ?? 0);
  const args = [String(GRACE_MS), String(process.pid), String(watched !== process.pid && watched > 0 ? watched : 0)];
  const child = spawn(process.execPath, ['-e', REAPER_SOURCE, ...args], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true, // its own process group: a Ctrl-C to the run must not stop it before it acts
  });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  child.unref();
  (child.stdin as Writable & { unref?: () => void }).unref?.();
  reaper = child;
  return child.stdin;
}

/**
 * Stops `pid` and its descendants, and removes `dir`, if this process dies before calling
 * the returned `release()`. Call `release()` once the process has been stopped normally.
 */
export function guard(pid: number, dir = ''): () => void {
  if (/\s/.test(dir)) throw new Error(`reaper: a dir with whitespace cannot be guarded: ${dir}`);
  reaperInput().write(`+ ${pid} ${dir}\n`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (reaper?.stdin && !reaper.stdin.destroyed) reaper.stdin.write(`- ${pid} ${dir}\n`);
  };
}

/** Removes `dir` if this process dies before calling the returned `release()`. */
export function guardDir(dir: string): () => void {
  return guard(0, dir);
}
