/**
 * Keepalives only to a silent server (core/aliveCheck.ts, ssh/keepAlive.ts): the pure
 * count, then the hooks on a real ssh2 Client talking to a scripted ssh2.Server through a
 * proxy that can stall the server's direction (TCP still accepts, nothing comes back).
 */
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { Client, type ServerChannel } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { AliveCheck } from '../../src/server/core/aliveCheck.js';
import { keepAlive } from '../../src/server/ssh/keepAlive.js';
import { startScriptedServer } from '../harness/scriptedSshServer.js';

describe('AliveCheck', () => {
  it('never pings a server that keeps sending', () => {
    const check = new AliveCheck(3);
    for (let i = 0; i < 100; i++) {
      check.heard();
      expect(check.tick()).toBe('quiet');
    }
  });

  it('pings a silent server countMax times, then gives up at the next interval', () => {
    const check = new AliveCheck(3);
    expect([check.tick(), check.tick(), check.tick(), check.tick()]).toEqual(['ping', 'ping', 'ping', 'dead']);
    expect(check.tick()).toBe('dead');
  });

  it('starts counting again whenever the server is heard', () => {
    const check = new AliveCheck(3);
    expect([check.tick(), check.tick()]).toEqual(['ping', 'ping']);
    check.heard(); // the reply to a keepalive, or output
    expect(check.tick()).toBe('quiet');
    expect(check.unanswered).toBe(0);
    expect([check.tick(), check.tick(), check.tick(), check.tick()]).toEqual(['ping', 'ping', 'ping', 'dead']);
  });

  it('refuses a count that would never give up or always has', () => {
    expect(() => new AliveCheck(0)).toThrow(RangeError);
    expect(() => new AliveCheck(1.5)).toThrow(RangeError);
  });
});

describe('keepAlive on a real ssh2 connection', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** Forwards both ways; `stall()` drops what the server sends from then on. */
  async function stallableProxy(port: number): Promise<{ port: number; stall(): void }> {
    let stalled = false;
    const sockets = new Set<Socket>();
    const server: NetServer = createServer((down) => {
      const up = connect(port, '127.0.0.1');
      for (const s of [down, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
      }
      down.on('data', (d) => up.write(d));
      up.on('data', (d) => {
        if (!stalled) down.write(d);
      });
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    return { port: (server.address() as { port: number }).port, stall: () => void (stalled = true) };
  }

  /** A connected client with keepalives every `intervalMs`, counting the pings it sends. */
  async function connected(port: number, intervalMs: number) {
    const client = new Client();
    client.on('error', () => undefined);
    closers.push(() => client.end());
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port, username: 'u', password: 'pw', keepaliveInterval: 0 });
    });
    const proto = (client as unknown as { _protocol: { ping(): void } })._protocol;
    const ping = proto.ping.bind(proto);
    const state = { pings: 0, onPing: () => undefined as void };
    proto.ping = () => {
      state.pings++;
      ping();
      state.onPing();
    };
    let dead!: () => void;
    const died = new Promise<number>((resolve) => (dead = () => resolve(Date.now())));
    const stop = keepAlive(client, intervalMs, dead);
    closers.push(stop);
    const shell = await new Promise<NodeJS.ReadableStream>((resolve, reject) => client.shell((err, s) => (err ? reject(err) : resolve(s))));
    return { state, died, shell };
  }

  const pings = (state: { pings: number; onPing: () => void }, n: number) =>
    new Promise<void>((resolve) => {
      state.onPing = () => {
        if (state.pings >= n) resolve();
      };
    });

  it('sends none while the server sends output, pings once it falls silent, and keeps a server that answers', async () => {
    let shellStream: ServerChannel | undefined;
    let opened!: () => void;
    const shellOpen = new Promise<void>((resolve) => (opened = resolve));
    const server = await startScriptedServer({ onShell: (s) => ((shellStream = s), opened()) });
    closers.push(() => server.close());
    // Wide beside the 10 ms between outputs, so a busy test machine's stalls cannot open
    // a silent interval.
    const interval = 500;
    const conn = await connected(server.port, interval);
    await shellOpen;
    // A byte every 10 ms for 3 intervals and more: the client hears the server all the time.
    const ticks = 150;
    let received = 0;
    const allArrived = new Promise<void>((resolve) =>
      conn.shell.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= ticks) resolve();
      }),
    );
    for (let i = 0; i < ticks; i++) {
      shellStream!.write('x');
      await new Promise((r) => setTimeout(r, 10));
    }
    await allArrived;
    expect(conn.state.pings).toBe(0);
    // Silent now: keepalives go out and the server answers each. A client that did not
    // hear the answers would give up after the third and never send a fourth.
    await pings(conn.state, 4);
  });

  it('gives up on a server that stops answering after 3 unanswered keepalives', async () => {
    const server = await startScriptedServer();
    closers.push(() => server.close());
    const proxy = await stallableProxy(server.port);
    const interval = 100;
    const conn = await connected(proxy.port, interval);
    const stalledAt = Date.now();
    proxy.stall();
    const diedAt = await conn.died;
    expect(conn.state.pings).toBe(3);
    // Three pings one interval apart, then the verdict an interval later.
    expect(diedAt - stalledAt).toBeGreaterThanOrEqual(3 * interval);
  });

  it('fails loudly, not silently, when ssh2 internals change', () => {
    expect(() => keepAlive({}, 1000, () => undefined)).toThrow(/ssh2 internals changed/);
    expect(() => keepAlive({ _protocol: { _onPacket: () => undefined } }, 1000, () => undefined)).toThrow(/ssh2 internals changed/);
  });
});
