/**
 * Settings from the README's configuration table, end to end against real OpenSSH:
 * SSH_KEEPALIVE_INTERVAL_MS (a stalled server is detected; none while output flows; 0
 * turns keepalives off),
 * GRANT_TTL_SECONDS (a POST login's grant expires), ALLOWED_ORIGINS (listed origins may
 * open terminals, others are refused at the Socket.IO handshake).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants } from '../../src/tools/procs.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient, type ClientOptions } from '../harness/terminalClient.js';

let sshd: TestSshd;
let closers: (() => unknown)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.close();
});

afterEach(async () => {
  const pending = closers.reverse();
  closers = [];
  for (const c of pending) await c();
});

async function gatewayForTest(env: Record<string, string>): Promise<TestGateway> {
  const g = await startGateway(env);
  closers.push(() => g.close());
  return g;
}

function client(g: TestGateway, opts?: ClientOptions): TerminalClient {
  const c = new TerminalClient(g.url, opts);
  closers.push(() => c.close());
  return c;
}

function loginOf(s: TestSshd) {
  return { host: s.host, port: s.port, username: s.users.password.username, password: s.users.password.password };
}

async function runsCommand(c: TerminalClient, tag: string): Promise<void> {
  c.send(`echo ${tag}-$((40+2))\r`);
  await c.waitForText(`${tag}-42`);
}

/** The processes sshd runs for its connections now (not the listener). */
function connectionPids(): Set<number> {
  return new Set(descendants(sshd.pid));
}

/**
 * Freezes the processes sshd started for this test's connections (those not in `before`): the
 * TCP stack still acknowledges, but nothing answers at the SSH level, like a hung or partitioned
 * server. Returns the thaw function (also run after the test).
 */
function freezeConnectionsSince(before: Set<number>): () => void {
  const pids = [...connectionPids()].filter((p) => !before.has(p));
  expect(pids.length).toBeGreaterThan(0);
  const signal = (sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // exited
      }
    }
  };
  signal('SIGSTOP');
  let thawed = false;
  const thaw = () => {
    if (thawed) return;
    thawed = true;
    signal('SIGCONT');
  };
  closers.push(thaw);
  return thaw;
}

describe('SSH_KEEPALIVE_INTERVAL_MS', () => {
  it('a server that stops answering is detected by keepalives: the session ends with TIMEOUT', async () => {
    const interval = 300;
    const gw = await gatewayForTest({ SSH_KEEPALIVE_INTERVAL_MS: String(interval) });
    const before = connectionPids();
    const c = client(gw);
    c.start(loginOf(sshd));
    await c.waitForState('connected');
    await runsCommand(c, 'BEFORE');
    const frozenAt = Date.now();
    freezeConnectionsSince(before);
    // ssh2 gives up after keepaliveCountMax (3) unanswered keepalives: about 4 intervals.
    const end = await c.waitForEnd(15_000);
    const after = Date.now() - frozenAt;
    expect(end).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(end.message).toMatch(/keepalive/i);
    expect(after).toBeGreaterThanOrEqual(2 * interval); // several keepalives went unanswered first
  });

  it('keepalives go only to a silent server, as OpenSSH ServerAliveInterval does: none while output flows', async () => {
    // sshd logs each global request at DEBUG1: "server_input_global_request: rtype keepalive@openssh.com".
    const chatty = await startSshd({ extraConfig: ['LogLevel DEBUG1'] });
    closers.push(() => chatty.close());
    const keepalives = () => chatty.log().split('rtype keepalive@openssh.com').length - 1;
    // Wide beside the 50 ms between lines, so a busy test machine's stalls cannot open a
    // silent interval.
    const interval = 600;
    const c = client(await gatewayForTest({ SSH_KEEPALIVE_INTERVAL_MS: String(interval) }));
    c.start(loginOf(chatty));
    await c.waitForState('connected');
    await runsCommand(c, 'READY');
    // A line every 50 ms for ~3 s: 5 intervals in which the server was always heard.
    const before = keepalives();
    c.send(`for i in $(seq 60); do echo tick; sleep 0.05; done; echo BUSY-$((40+2))\r`);
    await c.waitForText('BUSY-42', 20_000);
    expect(keepalives() - before).toBe(0);
    // Silent at the prompt: keepalives go out (and are answered: the session stays).
    const silentFrom = keepalives();
    await expect.poll(() => keepalives() - silentFrom, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    await runsCommand(c, 'STILL');
    expect(c.ended).toBeUndefined();
  });

  it('0 turns keepalives off: the same stall does not end the session, which resumes afterwards', async () => {
    const before = connectionPids();
    // The control: keepalives every second end its session after ~4 s of stall. That is the
    // observation window for the session without keepalives.
    const on = client(await gatewayForTest({ SSH_KEEPALIVE_INTERVAL_MS: '1000' }));
    const off = client(await gatewayForTest({ SSH_KEEPALIVE_INTERVAL_MS: '0' }));
    on.start(loginOf(sshd));
    off.start(loginOf(sshd));
    await on.waitForState('connected');
    await off.waitForState('connected');
    await runsCommand(off, 'BEFORE');
    const thaw = freezeConnectionsSince(before);
    expect(await on.waitForEnd(20_000)).toMatchObject({ code: 'TIMEOUT' });
    expect(off.ended).toBeUndefined();
    thaw();
    await runsCommand(off, 'AFTER');
    expect(off.ended).toBeUndefined();
  });
});

describe('GRANT_TTL_SECONDS', () => {
  it('a POST /ssh grant taken within its lifetime connects; taken after it, the page gets CREDENTIALS_MISSING', async () => {
    const ttlSeconds = 5; // the configuration's minimum
    const gw = await gatewayForTest({ GRANT_TTL_SECONDS: String(ttlSeconds) });
    const login = async (): Promise<{ cookie: string; postedAt: number }> => {
      const postedAt = Date.now();
      const res = await fetch(`${gw.url}/ssh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(loginOf(sshd)) });
      expect(res.status).toBe(200);
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      return { cookie, postedAt };
    };
    const storedGrants = () => gw.grants.list();

    const fresh = await login();
    const inTime = client(gw, { cookie: fresh.cookie });
    inTime.start('grant');
    await inTime.waitForState('connected');

    const stale = await login();
    const [grant] = storedGrants();
    expect(grant).toBeDefined(); // the grant is there; only its age may stop it
    const expiresAt = grant?.expiresAt ?? 0;
    expect(expiresAt - stale.postedAt).toBeGreaterThanOrEqual(ttlSeconds * 1000);
    expect(expiresAt - stale.postedAt).toBeLessThan(ttlSeconds * 1000 + 2_000);
    // Waiting for the lifetime to pass is the behaviour under test, so the clock is the event.
    for (let i = 0; i < 20 && Date.now() <= expiresAt; i++) await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 20));
    expect(Date.now()).toBeGreaterThan(expiresAt);

    const late = client(gw, { cookie: stale.cookie });
    late.start('grant');
    expect(await late.waitForEnd()).toMatchObject({ code: 'CREDENTIALS_MISSING', retryable: false });
    expect(late.statuses).toEqual([]); // no SSH connection was even attempted
    expect(storedGrants()).toEqual([]); // and the expired grant is gone
    expect(inTime.ended).toBeUndefined();
  });
});

describe('ALLOWED_ORIGINS', () => {
  const listed = 'https://portal.example';
  const other = 'https://other.example';

  it.each(['websocket', 'polling'] as const)('over %s: a listed origin opens a terminal; any other is refused at the handshake', async (transport) => {
    const gw = await gatewayForTest({ ALLOWED_ORIGINS: `${listed},https://second.example:8443` });

    const portal = client(gw, { origin: listed, transport });
    portal.start(loginOf(sshd));
    await portal.waitForState('connected');
    await runsCommand(portal, 'PORTAL');

    const foreign = client(gw, { origin: other, transport });
    await foreign.waitFor('connect_error', () => foreign.connectError);
    expect(foreign.socket.connected).toBe(false);
    expect(gw.logs.some((l) => l.includes('ORIGIN_REJECTED') && l.includes(other))).toBe(true);
  });

  it('the refusal names ORIGIN_REJECTED; the same origin and listed ones are let through', async () => {
    const gw = await gatewayForTest({ ALLOWED_ORIGINS: listed });
    const handshake = (origin: string) => fetch(`${gw.url}/ssh/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
    const refused = await handshake(other);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ message: 'ORIGIN_REJECTED' });
    // A look-alike of a listed origin (other port, other scheme) is another origin.
    for (const origin of [`${listed}:8443`, listed.replace('https:', 'http:')]) expect((await handshake(origin)).status).toBe(403);
    for (const origin of [listed, gw.url]) {
      const ok = await handshake(origin);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/"sid":/);
    }
  });
});
