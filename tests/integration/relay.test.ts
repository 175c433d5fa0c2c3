/**
 * Issue 13, the relay: two gateway processes on one real Redis, real sshd. A page whose
 * socket reaches the process that does not own its terminal is relayed to the owner:
 * same shell, every byte once and in order, flow control intact, the same refusals as a
 * local resume, and every end of a relay releases what it held on both sides.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../src/tools/redisServer.js';
import { MAX_RESUME_REFUSALS } from '../../src/server/socket/terminalHandler.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';
import { eventually, numbers, shellPid } from '../harness/shellProbes.js';

let sshd: TestSshd;
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;
let clients: TerminalClient[] = [];
const token = randomBytes(24).toString('hex');

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  a = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60', ADMIN_TOKEN: token });
  b = await startGateway({ REDIS_URL: redis.url, SESSION_DETACH_SECONDS: '60', ADMIN_TOKEN: token });
  await Promise.all([a.gateway.ready(), b.gateway.ready()]);
});

afterEach(() => {
  clients.forEach((c) => c.close());
  clients = [];
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.close();
  await sshd?.close();
});

const browser = () => `webssh_browser=${randomBytes(32).toString('base64url')}`;

function page(cookie: string, g: TestGateway): TerminalClient {
  const c = new TerminalClient(g.url, { cookie });
  clients.push(c);
  return c;
}

async function shell(cookie: string, g: TestGateway): Promise<TerminalClient> {
  const c = page(cookie, g);
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  await c.waitForAttached();
  return c;
}

const left = (c: TerminalClient) => ({ session: c.attached[0]!.session, secret: c.attached.at(-1)!.secret, offset: c.streamOffset });

describe('resume relayed to the owning process', () => {
  it('a page that reaches the other process continues the same shell: every line once, in order, and typing works', async () => {
    const cookie = browser();
    const first = await shell(cookie, a);
    const firstPid = await shellPid(first);
    first.send('for i in $(seq 1 150); do echo R:$i; sleep 0.02; done\r');
    await first.waitForText(/R:30\r?\n/);
    first.close();
    const was = left(first);
    await eventually('detached on the owner', () => a.gateway.registry.terminal(was.session)?.attached === false);

    const relayed = page(cookie, b);
    relayed.resume(was.session, was.secret, was.offset);
    const att = await relayed.waitForAttached();
    expect(att.offset).toBe(was.offset);
    expect(b.gateway.registry.terminal(was.session)).toBeUndefined(); // b only relays
    await relayed.waitForText(/R:150\r?\n/);
    expect(numbers(first.text + relayed.text, 'R')).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(await shellPid(relayed)).toBe(firstPid);
    expect(a.gateway.registry.terminal(was.session)?.attached).toBe(true);
  });

  it('bulk output crosses the relay under flow control, and Ctrl-C still reaches the shell', async () => {
    const cookie = browser();
    const first = await shell(cookie, a);
    first.close();
    const relayed = new TerminalClient(b.url, { cookie, record: false });
    clients.push(relayed);
    relayed.resume(first.attached[0]!.session, first.attached.at(-1)!.secret, first.streamOffset);
    await relayed.waitForAttached();
    // 2.9 MB, several times the 512 KiB budget: it only completes if acks and deliveries cross the relay.
    relayed.send('seq 1 400000; echo bulk-$((6*7))\r');
    await relayed.waitForText('bulk-42', 60_000);
    expect(relayed.received).toBeGreaterThan(2_800_000);
    relayed.send('yes relay-flood\r');
    await relayed.waitForText('relay-flood\r\nrelay-flood');
    relayed.send('\x03');
    relayed.send('echo after-$((6*7))\r');
    await relayed.waitForText('after-42', 20_000);
  });

  it('refuses through the relay exactly as locally, and says "not found" without waiting for a timeout', async () => {
    const cookie = browser();
    const first = await shell(cookie, a);
    const { session, secret } = first.attached[0]!;
    first.close();
    await eventually('detached', () => a.gateway.registry.terminal(session)?.attached === false);
    for (const [c, s] of [
      [cookie, randomBytes(32).toString('base64url')],
      [browser(), secret],
    ] as const) {
      const x = page(c, b);
      x.resume(session, s);
      expect(await x.waitForEnd()).toMatchObject({ code: 'RESUME_REFUSED' });
    }
    const started = Date.now();
    const unknown = page(cookie, b);
    unknown.resume('00000000-0000-4000-8000-000000000000', secret);
    expect(await unknown.waitForEnd()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(Date.now() - started).toBeLessThan(1500); // every process answered: no 2 s find timeout
    // None of that disturbed the owner's session.
    const owner = page(cookie, b);
    owner.resume(session, secret);
    await owner.waitForAttached();
    await shellPid(owner);
  });

  it('a socket guessing session ids is closed after a few refusals: no find storm from one connection', async () => {
    const guesser = page(browser(), b);
    const secret = randomBytes(32).toString('base64url');
    const logsBefore = b.logs.length;
    let refused = 0;
    // One guess at a time: a second resume while one is being looked up is SESSION_ACTIVE.
    for (let i = 0; i < 8 && guesser.disconnectReason === undefined; i++) {
      guesser.resume(`00000000-0000-4000-8000-00000000000${i}`, secret);
      await guesser.waitFor('a refusal or the disconnect', () => guesser.ended ?? guesser.disconnectReason);
      if (guesser.ended) refused++;
      guesser.ended = undefined;
    }
    await guesser.waitFor('disconnect', () => guesser.disconnectReason);
    expect(refused).toBe(MAX_RESUME_REFUSALS);
    expect(guesser.disconnectReason).toBe('io server disconnect');
    expect(b.logs.slice(logsBefore).filter((l) => l.includes('resume refused')).length).toBe(MAX_RESUME_REFUSALS);
  });

  it('the later of two pages wins, across processes either way, and the earlier one is told', async () => {
    const cookie = browser();
    const first = await shell(cookie, a);
    const relayed = page(cookie, b);
    relayed.resume(first.attached[0]!.session, first.attached.at(-1)!.secret, first.streamOffset);
    const att = await relayed.waitForAttached();
    expect(await first.waitForEnd()).toMatchObject({ code: 'RESUMED_ELSEWHERE' });
    const local = page(cookie, a);
    local.resume(att.session, att.secret, relayed.streamOffset);
    await local.waitForAttached();
    expect(await relayed.waitForEnd()).toMatchObject({ code: 'RESUMED_ELSEWHERE' });
    // The relayed socket is free again: it may start a session of its own.
    relayed.ended = undefined;
    relayed.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
    await relayed.waitForAttached(2);
    await shellPid(local);
  });

  it('a relayed page that closes detaches the session on its owner; `exit` through the relay ends it for good', async () => {
    const cookie = browser();
    const first = await shell(cookie, a);
    first.close();
    const relayed = page(cookie, b);
    relayed.resume(first.attached[0]!.session, first.attached.at(-1)!.secret, first.streamOffset);
    const att = await relayed.waitForAttached();
    expect(a.gateway.registry.terminal(att.session)?.attached).toBe(true);
    relayed.close();
    await eventually('detached after the relayed socket closed', () => a.gateway.registry.terminal(att.session)?.attached === false);
    await eventually('b forgot the relay', () => b.gateway.io.of('/').sockets.size === 0);

    const again = page(cookie, b);
    again.resume(att.session, relayed.attached.at(-1)!.secret);
    await again.waitForAttached();
    again.send('exit\r');
    const end = await again.waitForEnd();
    expect(end.code).not.toBe('SESSION_NOT_FOUND');
    await eventually('session gone on the owner', () => a.gateway.registry.terminal(att.session) === undefined);
    const late = page(cookie, b);
    late.resume(att.session, again.attached.at(-1)!.secret);
    expect(await late.waitForEnd()).toMatchObject({ code: end.code }); // the owner remembers why, for its owner
  });
});

describe('operators watch a session, read-only, from any process', () => {
  function watcher(g: TestGateway, adminToken = token): TerminalClient {
    const c = new TerminalClient(g.url, { auth: { adminToken } });
    clients.push(c);
    return c;
  }

  for (const where of ['on the owner', 'through the relay'] as const) {
    it(`${where}: the watcher sees the screen and what follows, its input is refused, and the user is told when watching starts and stops`, async () => {
      const user = await shell(browser(), a);
      const session = user.attached[0]!.session;
      user.send('echo before-$((6*7))\r');
      await user.waitForText('before-42');
      const w = watcher(where === 'on the owner' ? a : b);
      w.socket.emit('watch', { session });
      await w.waitFor('connected status', () => w.statuses.find((s) => s.state === 'connected'));
      await w.waitForText('before-42'); // the recent screen
      await user.waitFor('a watching notice', () => user.notices.find((n) => /started watching/.test(n.message)));
      await eventually('listed as watched', () => a.gateway.registry.summaries(a.gateway.node).find((s) => s.id === session)?.watchers === 1);

      user.send('echo live-$((6*7))\r');
      await w.waitForText('live-42');
      w.send('echo intruder-$((6*7))\r');
      await w.waitFor('READ_ONLY', () => w.problems.find((p) => p.code === 'READ_ONLY'));
      user.send('echo marker-$((6*7))\r');
      await user.waitForText('marker-42');
      expect(user.text).not.toContain('intruder');

      w.close();
      await user.waitFor('a stopped notice', () => user.notices.find((n) => /stopped watching/.test(n.message)));
      await eventually('no watcher listed', () => a.gateway.registry.summaries(a.gateway.node).find((s) => s.id === session)?.watchers === 0);
      user.send('echo still-$((6*7))\r');
      await user.waitForText('still-42');
    });
  }

  it('a wrong admin token is refused; a watched session that ends tells its watcher why', async () => {
    const bad = watcher(b, 'not-the-token');
    expect(await bad.waitForEnd()).toMatchObject({ code: 'AUTH_REQUIRED' });
    const user = await shell(browser(), a);
    const w = watcher(b);
    w.socket.emit('watch', { session: user.attached[0]!.session });
    await w.waitFor('connected status', () => w.statuses.find((s) => s.state === 'connected'));
    user.send('exit\r');
    const end = await w.waitForEnd();
    expect(end.code).toBe((await user.waitForEnd()).code);
    const none = watcher(b);
    none.socket.emit('watch', { session: user.attached[0]!.session });
    expect(await none.waitForEnd()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });
});
