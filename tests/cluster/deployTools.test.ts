/**
 * The operator tools as the README tells people to use them: `npm run deploy` (its
 * built entry, dist/tools/cli/deploy.js) with real PM2, the README's
 * own roll-back commands, and `npm run stack` (dist/tools/cli/stack.js) from start to
 * Ctrl-C.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guardDir } from '../../src/tools/reaper.js';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePort, freePortRange } from '../../src/tools/ports.js';
import { descendants, startWatchdog, waitForExit } from '../../src/tools/procs.js';
import { REPO_DIR } from '../../src/tools/stack.js';
import { echo, openShell } from '../harness/cluster.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import type { TerminalClient } from '../harness/terminalClient.js';

const run = promisify(execFile);

async function health(port: number): Promise<{ version: string; node: { pid: number } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(res.status).toBe(200);
  return (await res.json()) as { version: string; node: { pid: number } };
}

describe('npm run deploy: pruning and roll-back', () => {
  let cwd: string;
  let releases: string;
  let pm2: Pm2 | undefined;
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The README's layout: `deploy/` under the directory the operator runs the commands in.
    cwd = mkdtempSync(join(tmpdir(), 'webssh-deploytools-'));
    guardDir(cwd);
    releases = join(cwd, 'deploy', 'releases');
    pm2 = new Pm2();
    port = await freePortRange(1);
    env = {
      ...process.env,
      PM2_HOME: pm2.home,
      PORT: String(port),
      GATEWAY_INSTANCES: '1',
      LISTEN_HOST: '127.0.0.1',
      SESSION_SECRET: randomBytes(32).toString('hex'),
      DRAIN_TIMEOUT_SECONDS: '5',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await pm2?.kill();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  }, 120_000);

  const deployCli = (version: string) => run(process.execPath, [join(REPO_DIR, 'dist/tools/cli/deploy.js'), '--version', version], { cwd, env, timeout: 180_000 });

  it('keeps the current release, the previous one and two more; the README roll-back serves the previous one', async () => {
    await deployCli('v1');
    const first = await health(port);
    expect(first.version).toBe('v1');
    // Three releases older than v1, as earlier deploys left them (a real deploy each would
    // cost a copy of node_modules and a reload, and prove nothing more about pruning).
    const now = Date.now() / 1000;
    for (const [i, v] of ['old-a', 'old-b', 'old-c'].entries()) {
      const dir = join(releases, v);
      mkdirSync(dir);
      writeFileSync(join(dir, 'release.json'), JSON.stringify({ version: v, createdAt: new Date((now - 3600 + i * 60) * 1000).toISOString() }) + '\n');
      utimesSync(dir, now - 3600 + i * 60, now - 3600 + i * 60);
    }
    utimesSync(join(releases, 'v1'), now - 60, now - 60);

    const { stdout } = await deployCli('v2');
    expect(stdout).toContain('deployed v2 (was v1)');
    expect((await health(port)).version).toBe('v2');
    // README: "Old releases are pruned (the current, the previous and two more stay)".
    expect(readdirSync(releases).sort()).toEqual(['old-b', 'old-c', 'v1', 'v2']);

    // README: rolling back is `ln -sfn releases/<old> deploy/current.next && mv -T … && pm2 reload webssh`,
    // run here exactly as written there, with `pm2` the project's own.
    const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
    const rollback = /`(ln -sfn releases\/<old> [^`]+)`/.exec(readme)?.[1];
    expect(rollback).toMatch(/pm2 reload webssh$/);
    const before = await health(port);
    await run('sh', ['-c', rollback!.replace('<old>', 'v1')], {
      cwd,
      env: { ...env, PATH: `${join(REPO_DIR, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
      timeout: 120_000,
    });
    expect(readlinkSync(join(cwd, 'deploy', 'current'))).toBe(join('releases', 'v1'));
    // `pm2 reload` returns once the new worker is ready and the old one gone.
    const after = await health(port);
    expect(after.version).toBe('v1');
    expect(after.node.pid).not.toBe(before.node.pid);
  }, 300_000);
});

/** `/proc/<pid>/stat` fields from the state on, or undefined once the process is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process that had `pid` and started at `startTime` is still there (not a zombie, not a reused PID). */
function stillRunning(pid: number, startTime: string): boolean {
  const f = procStat(pid);
  return f !== undefined && f[0] !== 'Z' && f[19] === startTime; // field 22, starttime
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

describe('npm run stack', () => {
  let sshd: TestSshd;
  let child: ChildProcess | undefined;
  let pm2Home: string | undefined;
  let session: TerminalClient | undefined;
  let watchdog: { disarm: () => void } | undefined;
  let scratch: string | undefined;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'webssh-stackcli-'));
    guardDir(scratch);
    sshd = await startSshd();
  }, 60_000);

  afterEach(async () => {
    session?.close();
    // Only if the test failed half-way: the stack's own Ctrl-C path first, then by PID.
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, 'SIGINT');
      if (!(await waitForExit(child, 60_000))) process.kill(-child.pid, 'SIGKILL');
    }
    if (child?.pid && child.exitCode !== 0) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // anything of its process group still there
      } catch {
        // none left
      }
    }
    watchdog?.disarm();
    if (pm2Home && existsSync(pm2Home)) {
      await new Pm2(pm2Home).kill();
      rmSync(pm2Home, { recursive: true, force: true });
    }
    [child, pm2Home, session, watchdog] = [undefined, undefined, undefined, undefined];
  }, 120_000);

  afterAll(async () => {
    await sshd?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  // Ctrl-C reaches the whole foreground process group; a watchdog's or a service manager's
  // SIGTERM reaches the stack alone, often after whoever read its output is gone.
  it.each([
    { stopBy: 'Ctrl-C', outputGone: false },
    { stopBy: 'SIGTERM', outputGone: true },
  ])('serves the page over HTTP and HTTPS and a terminal through NGINX; $stopBy (output gone: $outputGone) stops everything it started', async ({ stopBy, outputGone }) => {
    const httpPort = await freePort();
    const httpsPort = await freePort();
    // As from a terminal: its own process group, which Ctrl-C signals as a whole.
    const stack = spawn(process.execPath, [join(REPO_DIR, 'dist/tools/cli/stack.js')], {
      cwd: REPO_DIR,
      env: { ...process.env, STACK_HTTP_PORT: String(httpPort), STACK_HTTPS_PORT: String(httpsPort), SSH_ALLOWED_TARGETS: '127.0.0.1:*', DRAIN_TIMEOUT_SECONDS: '2', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = stack;
    // If this test process dies, SIGTERM the stack: it stops everything it started.
    watchdog = startWatchdog(stack.pid!, scratch!);
    let out = '';
    stack.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    stack.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm run stack printed no URL within 120 s:\n${out}`)), 120_000);
      const check = () => {
        if (!out.includes('Ctrl-C stops everything.')) return;
        clearTimeout(timer);
        resolve();
      };
      stack.stdout.on('data', check);
      stack.once('exit', (code) => (clearTimeout(timer), reject(new Error(`npm run stack exited (${code}):\n${out}`))));
    });
    pm2Home = /PM2_HOME=(\S+) /.exec(out)?.[1];
    const url = /open\s+(http:\/\/\S+)\/ssh\//.exec(out)?.[1];
    const httpsUrl = /self-signed: (https:\/\/\S+)\/ssh\//.exec(out)?.[1];
    expect(url).toBe(`http://127.0.0.1:${httpPort}`);
    expect(httpsUrl).toBe(`https://127.0.0.1:${httpsPort}`);
    expect(pm2Home).toBeDefined();

    const page = await fetch(`${url}/ssh/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>WebSSH</title>');
    const tls = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      httpsGet(`${httpsUrl}/ssh/`, { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    });
    expect(tls.status).toBe(200);
    expect(tls.body).toContain('<title>WebSSH</title>');
    session = await openShell(url!, sshd);
    await echo(session, 'through-npm-run-stack');

    // Everything it started: redis-server and nginx are its children, the PM2 daemon
    // (detached, as PM2 always is) runs the workers.
    const daemon = Number(readFileSync(join(pm2Home!, 'pm2.pid'), 'utf8'));
    const started = [...descendants(stack.pid!), daemon, ...descendants(daemon)];
    const names = started.map(comm);
    expect(names).toContain('redis-server');
    expect(names).toContain('nginx');
    expect(descendants(daemon).length).toBeGreaterThanOrEqual(2); // the two workers
    const startTimes = new Map(started.map((pid) => [pid, procStat(pid)?.[19] ?? '']));

    if (outputGone) {
      stack.stdout.destroy();
      stack.stderr.destroy();
    }
    if (stopBy === 'Ctrl-C') process.kill(-stack.pid!, 'SIGINT');
    else process.kill(stack.pid!, 'SIGTERM');
    expect(await waitForExit(stack, 90_000)).toBe(true);
    expect(stack.exitCode).toBe(0);
    if (!outputGone) expect(out).toContain('stopping');
    // The open terminal's connection is closed, not left hanging (NGINX stops before the
    // workers, so their drain cannot tell it why).
    const s = session;
    await s.waitFor('the open terminal to be disconnected', () => s.ended ?? s.disconnectReason, 15_000);
    // What the stack started may take a moment to go after the stack itself exited (its
    // reaper acts on the stack's exit): wait for that, bounded.
    const left = () => started.filter((pid) => stillRunning(pid, startTimes.get(pid)!)).map((pid) => `${pid} ${comm(pid)}`);
    for (const deadline = Date.now() + 10_000; left().length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    expect(left()).toEqual([]);
    await expect(fetch(`${url}/ssh/`)).rejects.toThrow();
    expect(existsSync(pm2Home!)).toBe(false);
  }, 240_000);
});
