/**
 * The real entry point as `npm start` runs it: a child process on the built code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/tools/ports.js';
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
  return { proc, out: () => out };
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
  ])('drains on %s: the live terminal keeps working, the process exits 0 once it ends', async (_name, signal) => {
    const sshd = await startSshd();
    const { proc, out } = start({ PORT: '0', LISTEN_HOST: '127.0.0.1', SSH_ALLOWED_TARGETS: '127.0.0.1:*', DRAIN_TIMEOUT_SECONDS: '60' });
    try {
      const m = await waitForLine(out, /"url":"http:\/\/127\.0\.0\.1:(\d+)\/ssh"/, proc);
      const c = new TerminalClient(`http://127.0.0.1:${m[1]}`);
      c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password });
      await c.waitForState('connected');
      signal(proc);
      await c.waitFor('notice', () => c.notices[0]);
      c.send('echo "draining-$((5*5))"\r');
      await c.waitForText('draining-25');
      expect(proc.exitCode).toBeNull();
      c.send('exit\r');
      const [code] = (await once(proc, 'exit')) as [number | null];
      expect(code).toBe(0);
      c.close();
    } finally {
      await sshd.close();
    }
  });
});
