/**
 * One interface over the paths a benchmark compares: `direct` (ssh2 straight to sshd),
 * `single` (one gateway process), `stack` (NGINX + PM2 workers + Redis) and `container`
 * (the same in `docker compose`). The
 * gateway paths use the tests' protocol client, acking like the browser does: every
 * 64 KiB rendered or after FLOW.ackFlushMs (src/shared/limits.ts), optionally throttled.
 */
import ssh2 from 'ssh2';
import { FLOW } from '../src/shared/limits.js';
import { routeCookie } from '../tests/harness/cluster.js';
import type { TestSshd } from '../tests/harness/sshd.js';
import { TerminalClient } from '../tests/harness/terminalClient.js';

const { Client } = ssh2;

export type Auth = 'password' | 'publickey';
export type PathName = 'direct' | 'single' | 'stack' | 'container';

export interface BenchTerminal {
  send(data: string): void;
  /** Calls `cb` with every output chunk until the returned function is called. */
  onData(cb: (chunk: Buffer) => void): () => void;
  /** Resolves when output received from now on (plus the recent tail) matches. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  readonly received: number;
  /**
   * How its open went: `connectMs` from the moment the user connects (the SSH client's
   * connect; the page's socket) to the prompt, and, on gateway paths, `pageMs`, the page
   * load before it (the page is loaded while the user types, so it is not part of the wait).
   */
  readonly opened?: { connectMs: number; pageMs?: number };
  close(): void;
}

export interface OpenOptions {
  /** Acked bytes per second at most (a slow browser); default: ack as soon as the batch is due. */
  ackBytesPerSecond?: number;
  /** How long the socket connect plus SSH setup may take (default 60 s). */
  timeoutMs?: number;
}

/** What a path needs of an SSH server: the harness's real sshd or bench/capacityTarget.ts. */
export interface SshTarget {
  /** Where the gateway dials (default 127.0.0.1); a container stack needs an address its containers reach. */
  host?: string;
  port: number;
  users: {
    password: TestSshd['users']['password'];
    keys: Pick<TestSshd['users']['keys'], 'username' | 'ed25519'>;
  };
}

export interface BenchPath {
  /** A PathName, or another gateway deployment's name (e.g. a container stack). */
  name: string;
  open(auth: Auth, opts?: OpenOptions): Promise<BenchTerminal>;
}

export const PROMPT = /\$ $/;
const TAIL = 4096;

/** Keeps the tail of the output and wakes waiters on every chunk (the direct path has no TerminalClient). */
export class Watcher {
  tail = '';
  received = 0;
  readonly #waiters = new Set<() => void>();
  push(chunk: Buffer): void {
    this.received += chunk.length;
    this.tail = (this.tail + chunk.toString('latin1')).slice(-TAIL);
    for (const w of this.#waiters) w();
  }
  waitFor(pattern: RegExp, ms = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.tail)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => (done(), reject(new Error(`timed out waiting for ${String(pattern)}; tail ${JSON.stringify(this.tail.slice(-200))}`))), ms);
      const done = () => (clearTimeout(timer), this.#waiters.delete(check));
      this.#waiters.add(check);
      check();
    });
  }
}

export function directPath(sshd: SshTarget): BenchPath {
  return {
    name: 'direct',
    open: (auth) =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const client = new Client();
        const w = new Watcher();
        const callbacks = new Set<(c: Buffer) => void>();
        client.on('error', reject);
        client.on('ready', () =>
          client.shell({ term: 'xterm-256color', cols: 80, rows: 24 }, (err, stream) => {
            if (err) return reject(err);
            stream.on('data', (c: Buffer) => {
              w.push(c);
              for (const cb of callbacks) cb(c);
            });
            stream.stderr.on('data', (c: Buffer) => w.push(c));
            w.waitFor(PROMPT).then(
              () =>
                resolve({
                  opened: { connectMs: performance.now() - t0 },
                  send: (d) => void stream.write(d),
                  onData: (cb) => (callbacks.add(cb), () => void callbacks.delete(cb)),
                  waitFor: (p, ms) => w.waitFor(p, ms),
                  get received() {
                    return w.received;
                  },
                  close: () => client.end(),
                }),
              reject,
            );
          }),
        );
        client.connect({ host: sshd.host ?? '127.0.0.1', port: sshd.port, ...credentials(sshd, auth) });
        // As the gateway does (src/server/ssh/sshSession.ts): without it, a floor measured
        // with Nagle on would carry ~40 ms delayed-ACK stalls the gateway paths do not have.
        client.setNoDelay(true);
      }),
  };
}

/** `sshHost`: where the gateway finds the SSH target (the container path reaches it at its network's gateway). */
export function gatewayPath(name: string, url: string, sshd: SshTarget, sshHost = sshd.host ?? '127.0.0.1'): BenchPath {
  return {
    name,
    open: async (auth, opts = {}) => {
      // record: false keeps only a window of recent text, which is what waitForText scans.
      const t0 = performance.now();
      const cookie = await routeCookie(url);
      const t1 = performance.now();
      const c = new TerminalClient(url, { cookie, autoAck: false, record: false });
      const t = benchTerminal(c, opts);
      c.start({ host: sshHost, port: sshd.port, ...credentials(sshd, auth) });
      try {
        await c.waitForState('connected', opts.timeoutMs ?? 60_000);
        await c.waitForText(PROMPT, opts.timeoutMs ?? 60_000);
      } catch (err) {
        // A failed open must not leave its socket behind (capacity runs fail thousands).
        // Named before close(), whose own 'io client disconnect' would hide the cause.
        const why = openFailure(c, err);
        t.close();
        throw new Error(why, { cause: err });
      }
      return Object.assign(t, { opened: { connectMs: performance.now() - t1, pageMs: t1 - t0 } });
    },
  };
}

/** How often a throttled client (`ackBytesPerSecond`) acks what its rate allows. */
const SLOW_ACK_STEP_MS = 50;

/**
 * A gateway TerminalClient as a BenchTerminal: acks as the page does (a batch once
 * FLOW.ackEveryBytes arrived or FLOW.ackFlushMs passed), or at most
 * `ackBytesPerSecond` (a slow browser), in steps of SLOW_ACK_STEP_MS.
 */
export function benchTerminal(c: TerminalClient, opts: OpenOptions = {}): BenchTerminal {
  // A slow browser acks in small steps as it renders; the page's flush for small outputs
  // (5 s) would turn "1 MB/s" into 1 MB every 5 s.
  const every = opts.ackBytesPerSecond === undefined ? FLOW.ackFlushMs : SLOW_ACK_STEP_MS;
  const callbacks = new Set<(c: Buffer) => void>();
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let budget = opts.ackBytesPerSecond ?? Infinity;
  let budgetAt = Date.now();
  const flush = () => {
    timer = undefined;
    if (opts.ackBytesPerSecond !== undefined) {
      const now = Date.now();
      budget = Math.min(budget + ((now - budgetAt) / 1000) * opts.ackBytesPerSecond, opts.ackBytesPerSecond);
      budgetAt = now;
    }
    const n = Math.min(pending, Math.floor(budget));
    if (n > 0) {
      pending -= n;
      budget -= n;
      c.socket.emit('ack', n);
    }
    if (pending > 0) timer = setTimeout(flush, every);
  };
  c.socket.on('output', (data) => {
    const buf = Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    for (const cb of callbacks) cb(buf);
    pending += buf.length;
    if (pending >= FLOW.ackEveryBytes && opts.ackBytesPerSecond === undefined) flush();
    else timer ??= setTimeout(flush, every);
  });
  return {
    send: (d) => c.send(d),
    onData: (cb) => (callbacks.add(cb), () => void callbacks.delete(cb)),
    waitFor: async (p, ms) => void (await c.waitForText(p, ms ?? 60_000)),
    get received() {
      return c.received;
    },
    close: () => {
      if (timer) clearTimeout(timer);
      c.close();
    },
  };
}

/** Why an open failed, in words that group well: the connect error, the gateway's error code, or the wait that timed out. */
function openFailure(c: TerminalClient, err: unknown): string {
  if (c.connectError) return `connect_error: ${c.connectError.message}`;
  if (c.ended) return `ended: ${c.ended.code}`;
  if (c.disconnectReason) return `disconnect: ${c.disconnectReason}`;
  return (err as Error).message.replace(/;.*$/s, '');
}

export function credentials(sshd: SshTarget, auth: Auth) {
  return auth === 'password' ? { ...sshd.users.password } : { username: sshd.users.keys.username, privateKey: sshd.users.keys.ed25519 };
}

