/**
 * The real entry point as `npm start` runs it: a child process on the built code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/tools/ports.js';
import { guard } from '../../src/tools/reaper.js';
import { startRedis } from '../../src/tools/redisServer.js';
import { startSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

function start(env: Record<string, string>): { proc: ChildProcess; out: () => string } {
  let out = '';
  // An IPC channel, as PM2 gives its workers (it delivers the `shutdown` message).
  const proc = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  child = proc;
  // If this worker dies mid-test, the reaper stops the gateway too.
  const release = guard(proc.pid!);
  proc.once('exit', release);
  return { proc, out: () => out };
}

/** The exit code, or a failure if the process is still running after `ms`. */
async function exitWithin(proc: ChildProcess, ms: number, what: string): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  const exited = once(proc, 'exit') as Promise<[number | null]>;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running ${ms} ms after ${what}`)), ms)));
  try {
    return (await Promise.race([exited, late]))[0];
  } finally {
    clearTimeout(timer);
  }
}

/** The built entry point with one live terminal on a fresh sshd; `close()` stops both ends. */
async function withLiveTerminal(env: Record<string, string>): Promise<{ proc: ChildProcess; out: () => string; c: TerminalClient; close: () => Promise<void> }> {
  const sshd = await startSshd();
  let c: TerminalClient | undefined;
  const close = async () => {
    c?.close();
    await sshd.close();
  };
  try {
    const { proc, out } = start({ PORT: '0', LISTEN_HOST: '127.0.0.1', SSH_ALLOWED_TARGETS: '127.0.0.1:*', ...env });
    const m = await waitForLine(out, /"url":"http:\/\/127\.0\.0\.1:(\d+)\/ssh"/, proc);
    c = new TerminalClient(`http://127.0.0.1:${m[1]}`);
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
    await c.waitForState('connected');
    return { proc, out, c, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The drain notice's deadline; fails at once if the session ends first. */
function noticeDeadline(c: TerminalClient): Promise<number> {
  return c.waitFor('a drain notice with a deadline', () => {
    if (c.ended && !c.notices[0]) throw new Error(`session ended before any drain notice: ${JSON.stringify(c.ended)}`);
    return c.notices[0]?.deadline;
  });
}

function waitForLine(get: () => string, re: RegExp, proc: ChildProcess, ms = 10_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(re)} within ${ms} ms:\n${get()}`)), ms);
    const check = () => {
      const m = re.exec(get());
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout?.on('data', check);
    proc.once('exit', () => (clearTimeout(timer), reject(new Error(`exited:\n${get()}`))));
    check();
  });
}

describe('entry point', () => {
  it('serves the page, warns about an open target policy and the missing secret, and exits 0 on SIGTERM', async () => {
    const { proc, out } = start({ PORT: '0', LISTEN_HOST: '127.0.0.1' });
    const m = await waitForLine(out, /"url":"http:\/\/127\.0\.0\.1:(\d+)\/ssh"/, proc);
    const res = await fetch(`http://127.0.0.1:${m[1]}/ssh`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="privateKey"');
    expect(out()).toMatch(/SSH_ALLOWED_TARGETS allows any host/);
    expect(out()).toMatch(/SESSION_SECRET is not set/);
    proc.kill('SIGTERM');
    const [code] = (await once(proc, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('with Redis down at boot: listens at once (readiness 503), tells PM2 `ready` only when Redis answers', async () => {
    const redisPort = await freePort();
    const { proc, out } = start({ PORT: '0', LISTEN_HOST: '127.0.0.1', REDIS_URL: `redis://127.0.0.1:${redisPort}`, SESSION_SECRET: 'x'.repeat(32) });
    const messages: unknown[] = [];
    proc.on('message', (m) => messages.push(m));
    const m = await waitForLine(out, /"url":"http:\/\/127\.0\.0\.1:(\d+)\/ssh"/, proc);
    const url = `http://127.0.0.1:${m[1]}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/ssh/`)).status).toBe(200); // the page still loads
    expect(messages).toEqual([]);
    const redis = await startRedis({ port: redisPort });
    try {
      await waitForLine(out, /"msg":"ready"/, proc, 15_000);
      if (!messages.includes('ready')) await once(proc, 'message'); // IPC and stdout are separate pipes
      expect(messages).toEqual(['ready']);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      proc.kill('SIGTERM');
      const [code] = (await once(proc, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it('refuses to start on bad configuration, listing every problem', async () => {
    const { proc, out } = start({ PORT: 'x', BASE_PATH: 'nope', SSH_ALLOWED_TARGETS: '1.2.3.4/99' });
    const [code] = (await once(proc, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(out()).toMatch(/PORT/);
    expect(out()).toMatch(/BASE_PATH/);
    expect(out()).toMatch(/SSH_ALLOWED_TARGETS/);
  });

  it.each([
    ['the PM2 shutdown message', (p: ChildProcess) => p.send('shutdown')],
    ['SIGINT (pm2 reload)', (p: ChildProcess) => p.kill('SIGINT')],
    ['SIGTERM (docker stop, systemd)', (p: ChildProcess) => p.kill('SIGTERM')],
  ])('drains on %s: the live terminal keeps working, the process exits 0 once it ends', async (_name, signal) => {
    const { proc, c, close } = await withLiveTerminal({ DRAIN_TIMEOUT_SECONDS: '60' });
    try {
      const signalled = Date.now();
      signal(proc);
      const deadline = await noticeDeadline(c);
      expect(deadline).toBeGreaterThanOrEqual(signalled + 60_000);
      c.send('echo "draining-$((5*5))"\r');
      await c.waitForText('draining-25');
      expect(proc.exitCode).toBeNull();
      c.send('exit\r');
      expect(await exitWithin(proc, 20_000, 'the last session ended')).toBe(0);
      expect(c.ended?.code).toBe('REMOTE_CLOSED');
    } finally {
      await close();
    }
  }, 60_000); // an sshd and a gateway process to start on a loaded machine

  it('SIGTERM with a session that outlives the drain: it ends with SHUTTING_DOWN at the deadline, then the process exits 0', async () => {
    const { proc, out, c, close } = await withLiveTerminal({ DRAIN_TIMEOUT_SECONDS: '2' });
    try {
      proc.kill('SIGTERM');
      const deadline = await noticeDeadline(c);
      expect(await c.waitForEnd(15_000)).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
      // Not before the deadline it announced (50 ms: timers run on a coarser clock).
      expect(Date.now()).toBeGreaterThanOrEqual(deadline - 50);
      expect(await exitWithin(proc, 15_000, 'the drain deadline')).toBe(0);
      expect(out()).toMatch(/"reason":"SIGTERM".*"msg":"shutting down"/);
      expect(out()).toMatch(/"msg":"drain deadline reached"/);
    } finally {
      await close();
    }
  }, 60_000); // an sshd and a gateway process to start on a loaded machine

  it('a second signal stops at once: the drain is cut short, the terminal ends with SHUTTING_DOWN', async () => {
    const { proc, out, c, close } = await withLiveTerminal({ DRAIN_TIMEOUT_SECONDS: '60' });
    try {
      proc.kill('SIGINT');
      await noticeDeadline(c);
      c.send('echo "first-$((6*7))"\r');
      await c.waitForText('first-42'); // the first signal only drains
      expect(proc.exitCode).toBeNull();
      proc.kill('SIGINT');
      // "At once" against a 60 s drain: 15 s is generous for a loaded machine and still
      // far from the deadline the first signal set.
      expect(await exitWithin(proc, 15_000, 'the second SIGINT')).toBe(0);
      expect(await c.waitForEnd()).toMatchObject({ code: 'SHUTTING_DOWN' });
      expect(out()).toMatch(/"msg":"second stop request: closing now"/);
    } finally {
      await close();
    }
  }, 60_000); // an sshd and a gateway process to start on a loaded machine

  it('CONFIG_FILE: the keys of the JSON file are used, and the environment wins over the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webssh-config-'));
    try {
      const file = join(dir, 'config.json');
      // A number, as a JSON file may hold, next to strings; GATEWAY_NODE_NAME is also set in the environment.
      await writeFile(file, JSON.stringify({ BASE_PATH: '/from-file', DRAIN_TIMEOUT_SECONDS: 7, GATEWAY_NODE_NAME: 'node-from-file' }));
      const { proc, out } = start({ CONFIG_FILE: file, PORT: '0', LISTEN_HOST: '127.0.0.1', GATEWAY_NODE_NAME: 'node-from-env' });
      const m = await waitForLine(out, /"url":"http:\/\/127\.0\.0\.1:(\d+)(\/[^"]*)"/, proc);
      expect(m[2]).toBe('/from-file');
      const url = `http://127.0.0.1:${m[1]}`;
      expect((await fetch(`${url}/from-file`)).status).toBe(200);
      expect((await fetch(`${url}/ssh`)).status).toBe(404);
      expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ node: { host: 'node-from-env' } });
      proc.kill('SIGTERM');
      expect(await exitWithin(proc, 15_000, 'SIGTERM')).toBe(0);
      expect(out()).toMatch(/"drainTimeoutMs":7000.*"msg":"shutting down"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
