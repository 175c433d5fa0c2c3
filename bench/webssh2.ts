/**
 * billchurch/webssh2 as a bench path (opt-in: BENCH_WEBSSH2=<dir>), measured in setup,
 * throughput, echo and concurrency beside ours, against the same sshd, by the same client
 * library. `<dir>` is a webssh2-server checkout installed and built the way its README
 * says (`npm ci`, `npm run build`); the bench runs its `dist/index.js` (with our heap
 * probe) and records its version and ssh2 crypto path. The client speaks webssh2's
 * documented Socket.IO API (DOCS/api/WEBSOCKET-API.md): `authenticate` on
 * `request_auth`, `terminal` on `getTerminal`, `data` both ways.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { freePort } from '../src/tools/ports.js';
import { waitForExit } from '../src/tools/procs.js';
import { guard } from '../src/tools/reaper.js';
import { waitForHttp } from '../src/tools/waitForHttp.js';
import { HEAP_DIR, PROBE_NODE_ARGS } from './liveMemory.js';
import { credentials, PROMPT, Watcher, type BenchPath, type SshTarget } from './terminals.js';

export interface Webssh2 {
  path: BenchPath;
  url: string;
  pid: number;
  info: Record<string, unknown>;
  close(): Promise<void>;
}

interface AuthMessage {
  action?: string;
  success?: boolean;
  message?: string;
}

export async function startWebssh2(dir: string, sshd: SshTarget): Promise<Webssh2> {
  const port = await freePort();
  // With our heap probe, as our gateways run (bench/liveMemory.ts): memory after a GC.
  const child = spawn(process.execPath, [...PROBE_NODE_ARGS, join(dir, 'dist/index.js')], {
    cwd: dir,
    // Its defaults otherwise; a fixed secret only silences the "generated a secret" warning.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', WEBSSH2_LISTEN_IP: '127.0.0.1', WEBSSH2_LISTEN_PORT: String(port), WEBSSH2_SESSION_SECRET: 'bench-webssh2-session-secret-0123456789', BENCH_HEAP_DIR: HEAP_DIR },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const release = guard(child.pid!);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/ssh`, 30_000, () => child.exitCode === null);
  } catch (err) {
    child.kill('SIGKILL');
    release();
    throw err;
  }
  const req = createRequire(join(dir, 'package.json'));
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    url,
    pid: child.pid!,
    path: webssh2Path(url, sshd),
    info: {
      install: `${dir}: its own npm ci + npm run build; run as node dist/index.js`,
      version,
      ssh2: (req('ssh2/package.json') as { version: string }).version,
      nativeBinding: (req('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable,
    },
    close: async () => {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 10_000))) child.kill('SIGKILL');
      release();
    },
  };
}

export function webssh2Path(url: string, sshd: SshTarget): BenchPath {
  return {
    name: 'webssh2',
    open: async (auth, opts = {}) => {
      const t0 = performance.now();
      // As a browser does: the page first (it sets the session cookie the socket carries).
      const page = await fetch(`${url}/ssh`);
      const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      await page.arrayBuffer();
      const t1 = performance.now();
      const w = new Watcher();
      const callbacks = new Set<(c: Buffer) => void>();
      const socket = io(url, { path: '/ssh/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, ...(cookie && { extraHeaders: { cookie } }) });
      const failed = new Promise<never>((_, reject) => {
        socket.on('connect_error', (err) => reject(new Error(`connect_error: ${err.message}`)));
        socket.on('ssherror', (msg: unknown) => reject(new Error(`ssherror: ${String(msg)}`)));
        socket.on('authentication', (m: AuthMessage) => {
          if (m.action === 'auth_result' && m.success === false) reject(new Error(`auth failed: ${m.message ?? ''}`));
        });
      });
      failed.catch(() => undefined); // raced below; a late error after the prompt is not the open's
      socket.on('authentication', (m: AuthMessage) => {
        if (m.action === 'request_auth') socket.emit('authenticate', { host: sshd.host ?? '127.0.0.1', port: sshd.port, term: 'xterm-256color', cols: 80, rows: 24, ...credentials(sshd, auth) });
      });
      socket.on('getTerminal', () => socket.emit('terminal', { cols: 80, rows: 24 }));
      socket.on('data', (data: unknown) => {
        const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array));
        w.push(buf);
        for (const cb of callbacks) cb(buf);
      });
      try {
        await Promise.race([w.waitFor(PROMPT, opts.timeoutMs ?? 60_000), failed]);
      } catch (err) {
        socket.disconnect();
        throw err;
      }
      return {
        opened: { connectMs: performance.now() - t1, pageMs: t1 - t0 },
        send: (d) => void socket.emit('data', d),
        onData: (cb) => (callbacks.add(cb), () => void callbacks.delete(cb)),
        waitFor: (p, ms) => w.waitFor(p, ms),
        get received() {
          return w.received;
        },
        close: () => void socket.disconnect(),
      };
    },
  };
}
