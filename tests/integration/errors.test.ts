/**
 * Every failure a user can meet reaches the client as a stable code, and none of them
 * hurts the process or other sessions: each test opens its own live "witness" session on
 * the shared gateway first and checks afterwards that it still answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryKnownHosts } from '../../src/server/core/hostKeyPolicy.js';
import type { ErrorInfo } from '../../src/shared/errors.js';
import { freePort } from '../../src/tools/ports.js';
import { killTree, startWatchdog, waitForExit } from '../../src/tools/procs.js';
import { startGateway, TEST_SECRET, type TestGateway } from '../harness/gateway.js';
import { startScriptedServer } from '../harness/scriptedSshServer.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

const MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

let sshd: TestSshd;
let gw: TestGateway;
let closers: (() => unknown)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway({ SSH_READY_TIMEOUT_MS: '1500', SSH_ALLOWED_TARGETS: '127.0.0.1:*,localhost:*' });
});

afterAll(async () => {
  await gw?.close();
  await sshd?.close();
});

/** Runs after each test (also a failed one), newest first. */
function later(fn: () => unknown): void {
  closers.push(fn);
}

afterEach(async () => {
  const pending = closers.reverse();
  closers = [];
  for (const c of pending) await c();
});

function client(url = gw.url): TerminalClient {
  const c = new TerminalClient(url);
  later(() => c.close());
  return c;
}

async function endOf(url: string, creds: Parameters<TerminalClient['start']>[0]): Promise<ErrorInfo> {
  const c = client(url);
  c.start(creds);
  return c.waitForEnd();
}

function loginOf(s: TestSshd) {
  return { host: s.host, port: s.port, username: s.users.password.username, password: s.users.password.password };
}

describe('errors reach the page with a stable code, and hurt no other session', () => {
  let witness: TerminalClient;

  beforeEach(async () => {
    witness = client();
    witness.start(loginOf(sshd));
    await witness.waitForState('connected');
  });

  afterEach(async () => {
    // Whatever failed during the test, this session on the same gateway still works.
    const marker = `WITNESS-${Math.floor(Math.random() * 1e6)}`;
    witness.send(`echo ${marker.replace('-', '-""')}\r`); // the echoed command line does not match
    await witness.waitForText(marker);
    expect(witness.ended).toBeUndefined();
  });

  it('connection refused', async () => {
    const port = await freePort();
    expect(await endOf(gw.url, { host: '127.0.0.1', port, username: 'u', password: 'p' })).toMatchObject({ code: 'CONNECTION_REFUSED', retryable: true });
  });

  it('DNS failure', async () => {
    const g = await startGateway({}, { lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) });
    later(() => g.close());
    expect(await endOf(g.url, { host: 'no-such-host.invalid', port: 22, username: 'u', password: 'p' })).toMatchObject({ code: 'DNS_FAILED', retryable: false });
  });

  it('a target outside the policy is refused before any connection', async () => {
    const g = await startGateway({ SSH_ALLOWED_TARGETS: '10.0.0.0/8' });
    later(() => g.close());
    const end = await endOf(g.url, { host: sshd.host, port: sshd.port, username: 'u', password: 'p' });
    expect(end).toMatchObject({ code: 'TARGET_NOT_ALLOWED', retryable: false });
  });

  it('a hostname is resolved once and the connection goes to the checked address', async () => {
    const looked: string[] = [];
    const g = await startGateway({ SSH_ALLOWED_TARGETS: '127.0.0.1:*' }, { lookup: (h) => (looked.push(h), Promise.resolve('127.0.0.1')) });
    later(() => g.close());
    const c = client(g.url);
    c.start({ ...loginOf(sshd), host: 'ssh.test.invalid' });
    await c.waitForState('connected');
    expect(looked).toEqual(['ssh.test.invalid']);
  });

  it('handshake timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s)); // accepts, never speaks
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    later(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), silent.close(r))));
    const port = (silent.address() as { port: number }).port;
    expect(await endOf(gw.url, { host: '127.0.0.1', port, username: 'u', password: 'p' })).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });

  it('host key mismatch against a pin', async () => {
    const g = await startGateway({ SSH_HOST_KEYS: `127.0.0.1:${sshd.port}=SHA256:${'A'.repeat(43)}` });
    later(() => g.close());
    const end = await endOf(g.url, loginOf(sshd));
    expect(end).toMatchObject({ code: 'HOST_KEY_REJECTED', retryable: false });
    expect(end.message).toContain(sshd.hostKeyFingerprint);
  });

  it('a changed host key is refused (trust on first use), and strict mode refuses unpinned hosts', async () => {
    const knownHosts = new MemoryKnownHosts();
    // The record says this host:port had another key: what a man-in-the-middle looks like.
    await knownHosts.remember(`127.0.0.1:${sshd.port}`, `SHA256:${'B'.repeat(43)}`);
    const g = await startGateway({}, { knownHosts });
    later(() => g.close());
    const creds = loginOf(sshd);
    const changed = await endOf(g.url, creds);
    expect(changed).toMatchObject({ code: 'HOST_KEY_REJECTED', message: expect.stringContaining('changed') as unknown });
    const strict = await startGateway({ SSH_HOST_KEY_POLICY: 'strict' });
    later(() => strict.close());
    expect(await endOf(strict.url, creds)).toMatchObject({ code: 'HOST_KEY_REJECTED' });
    const pinned = await startGateway({ SSH_HOST_KEY_POLICY: 'strict', SSH_HOST_KEYS: `127.0.0.1:${sshd.port}=${sshd.hostKeyFingerprint}` });
    later(() => pinned.close());
    const c = client(pinned.url);
    c.start(creds);
    await c.waitForState('connected');
  });

  it('algorithm mismatch: real sshd offering only a key exchange ssh2 lacks', async () => {
    // OpenSSH 9.2 has sntrup761x25519 (post-quantum hybrid); ssh2 1.17 does not.
    const pq = await startSshd({ extraConfig: ['KexAlgorithms sntrup761x25519-sha512@openssh.com'] });
    later(() => pq.close());
    const end = await endOf(gw.url, loginOf(pq));
    expect(end).toMatchObject({ code: 'ALGORITHM_MISMATCH', retryable: false });
    expect(end.message).toMatch(/no matching key exchange/i); // the kex, not something else, failed
  });

  it.each([
    ['MaxSessions 0', 'no session channel at all'],
    ['PermitTTY no', 'no PTY for the shell'],
  ])('a server that refuses the terminal (%s: %s) ends as CHANNEL_FAILED, after authentication', async (directive) => {
    const refusing = await startSshd({ extraConfig: [directive] });
    later(() => refusing.close());
    const c = client();
    c.start(loginOf(refusing));
    const end = await c.waitForEnd();
    expect(end).toMatchObject({ code: 'CHANNEL_FAILED', retryable: true });
    expect(c.statuses.map((s) => s.state)).toEqual(['connecting', 'authenticating']); // never 'connected'
    expect(refusing.log()).toMatch(/Accepted [\w/-]+ for webssh-test /);
  });

  it('a channel dropped mid-stream ends the session as REMOTE_CLOSED (scripted server: sshd cannot drop one on demand)', async () => {
    const dropper = await startScriptedServer({
      onShell: (stream) => {
        stream.write('partial output then the channel dies\r\n');
        setImmediate(() => stream.destroy());
      },
    });
    later(() => dropper.close());
    const c = client();
    c.start({ host: '127.0.0.1', port: dropper.port, username: 'u', password: 'pw' });
    const end = await c.waitForEnd();
    expect(end.code).toBe('REMOTE_CLOSED');
    expect(c.text).toContain('partial output then the channel dies'); // output before the drop is not lost
  });

  it("sshd's pre-authentication Banner reaches the terminal, line breaks as the terminal needs them", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webssh-banner-'));
    later(() => rm(dir, { recursive: true, force: true }));
    const bannerFile = join(dir, 'banner');
    await writeFile(bannerFile, 'Authorized use only.\nActivity is logged.\n');
    const bannered = await startSshd({ extraConfig: [`Banner ${bannerFile}`] });
    later(() => bannered.close());
    const c = client();
    c.start(loginOf(bannered));
    await c.waitForState('connected');
    await c.waitForText('Authorized use only.\r\nActivity is logged.\r\n');
  });
});

describe('an unreachable network', () => {
  // HOST_UNREACHABLE needs a route that fails, which must never be added to this machine's own
  // routing table. So the real entry point (dist/, as `npm start` runs it) runs in a network
  // namespace of its own (`unshare --net`: it disappears with its last process) where
  //  - 198.51.100.7 has an `unreachable` route: connect() fails with EHOSTUNREACH, exactly what
  //    an ICMP host-unreachable from a router on the path gives;
  //  - 203.0.113.9 has no route at all (only `lo` is up): ENETUNREACH.
  // The test reaches the gateway through a Unix socket (not bound to a network namespace)
  // relayed to TCP on each side. The children log to files and report readiness over IPC: a
  // pipe to this process would break if it died, and the watchdogs' SIGTERM must still work.
  const PORT_IN_NAMESPACE = 2222; // the namespace is new and empty: nothing else can hold it
  let dir: string;
  let gateway: ChildProcess | undefined;
  let relay: ChildProcess | undefined;
  let front: Server | undefined;
  let url: string;
  const dogs: { disarm: () => void }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webssh-netns-'));
    const script = 'ip link set lo up && ip route add unreachable 198.51.100.7/32 && exec "$@"';
    gateway = spawnReady('gateway', 'unshare', ['--net', 'sh', '-c', script, 'sh', process.execPath, MAIN], {
      PORT: String(PORT_IN_NAMESPACE),
      LISTEN_HOST: '127.0.0.1',
      SESSION_SECRET: TEST_SECRET,
      SSH_ALLOWED_TARGETS: '198.51.100.7:22,203.0.113.9:22',
      DRAIN_TIMEOUT_SECONDS: '1',
    });
    await readyOf(gateway); // main.js tells its parent `ready` once it listens (as PM2 wants)

    const sock = join(dir, 'gateway.sock');
    const relayCode = [
      "const net = require('node:net');",
      'const [port, path] = process.argv.slice(1);',
      "net.createServer((s) => { const c = net.connect(Number(port), '127.0.0.1'); s.pipe(c).pipe(s);",
      "  s.on('error', () => c.destroy()); c.on('error', () => s.destroy()); })",
      "  .listen(path, () => process.send('ready'));",
    ].join('\n');
    const nsArgs = [`--net=/proc/${gateway.pid}/ns/net`, '--', process.execPath, '-e', relayCode, String(PORT_IN_NAMESPACE), sock];
    relay = spawnReady('relay', 'nsenter', nsArgs, {});
    await readyOf(relay);

    const server = createServer((s) => {
      const c = connect(sock);
      s.pipe(c).pipe(s);
      s.on('error', () => c.destroy());
      c.on('error', () => s.destroy());
    });
    front = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => (front ? front.close(r) : r(undefined)));
    for (const p of [relay, gateway]) {
      if (!p?.pid) continue;
      killTree(p.pid, 'SIGTERM');
      if (!(await waitForExit(p, 5_000))) killTree(p.pid, 'SIGKILL');
    }
    for (const d of dogs) d.disarm();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A child with its output in `<dir>/<name>.log`, an IPC channel, and a watchdog. */
  function spawnReady(name: string, cmd: string, args: string[], env: Record<string, string>): ChildProcess {
    const out = openSync(join(dir, `${name}.log`), 'a');
    try {
      const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', out, out, 'ipc'] });
      child.on('error', () => undefined); // surfaces as 'exit' in readyOf
      if (child.pid !== undefined) dogs.push(startWatchdog(child.pid, dir));
      Object.assign(child, { logFile: join(dir, `${name}.log`) });
      return child;
    } finally {
      closeSync(out);
    }
  }

  it.each([
    ['198.51.100.7', 'EHOSTUNREACH'],
    ['203.0.113.9', 'ENETUNREACH'],
  ])('%s (%s) ends as HOST_UNREACHABLE, retryable', async (host, errno) => {
    const c = new TerminalClient(url);
    try {
      c.start({ host, port: 22, username: 'u', password: 'p' });
      const end = await c.waitForEnd();
      expect(end).toMatchObject({ code: 'HOST_UNREACHABLE', retryable: true });
      expect(end.message).toContain(errno); // the namespace's route, not something else, failed it
    } finally {
      c.close();
    }
    expect(gateway?.exitCode).toBeNull(); // and the gateway lives on
  });
});

/** Resolves on the child's IPC `ready`; fails (with its log) if it exits first or takes too long. */
function readyOf(proc: ChildProcess, ms = 15_000): Promise<void> {
  const log = () => readFileSync((proc as ChildProcess & { logFile: string }).logFile, 'utf8');
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (msg !== 'ready') return;
      done();
      resolve();
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`exited (code ${code}, signal ${signal}) before ready:\n${log()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`not ready within ${ms} ms:\n${log()}`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
}
