/**
 * Issue 13 on one gateway process against real sshd: a terminal outlives its socket.
 * A page that reconnects with the browser's cookie and the current resume secret gets
 * the same shell and exactly the output it missed; anyone else is refused; a detached
 * session ends on its own after SESSION_DETACH_SECONDS.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';
import { eventually, numbers, shellPid } from '../harness/shellProbes.js';

let sshd: TestSshd;
let gw: TestGateway;
let clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway({ SESSION_DETACH_SECONDS: '60' });
});

afterEach(() => {
  clients.forEach((c) => c.close());
  clients = [];
});

afterAll(async () => {
  await gw?.close();
  await sshd?.close();
});

const browser = () => `webssh_browser=${randomBytes(32).toString('base64url')}`;

function page(cookie: string, g: TestGateway = gw): TerminalClient {
  const c = new TerminalClient(g.url, { cookie });
  clients.push(c);
  return c;
}

/** A logged-in shell on a page of browser `cookie`, attached (so resumable). */
async function shell(cookie: string, g: TestGateway = gw): Promise<TerminalClient> {
  const c = page(cookie, g);
  c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
  await c.waitForAttached();
  return c;
}

describe('resume on the same gateway', () => {
  it('a dropped socket detaches; a new socket with the offset gets every line exactly once, in order, and the same shell', async () => {
    const cookie = browser();
    const a = await shell(cookie);
    const firstPid = await shellPid(a);
    a.send('for i in $(seq 1 150); do echo L:$i; sleep 0.02; done\r');
    await a.waitForText(/L:40\r?\n/);
    a.close();
    const left = { text: a.text, offset: a.streamOffset, secret: a.attached.at(-1)!.secret, session: a.attached[0]!.session };
    const summary = () => gw.gateway.registry.summaries(gw.gateway.node).find((s) => s.id === left.session);
    await eventually('detached in the listing', () => summary()?.attached === false);
    expect(summary()?.detachedSince).toMatch(/^\d{4}-/);

    const b = page(cookie);
    b.resume(left.session, left.secret, left.offset);
    const again = await b.waitForAttached();
    expect(again.offset).toBe(left.offset);
    expect(again.secret).not.toBe(left.secret); // rotated at every attach
    await b.waitForText(/L:150\r?\n/);
    expect(numbers(left.text + b.text, 'L')).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(await shellPid(b)).toBe(firstPid);
    expect(summary()?.attached).toBe(true);
    expect(summary()?.detachedSince).toBeNull();
  });

  it('a fresh page (no offset) gets the recent screen, then the same shell', async () => {
    const cookie = browser();
    const a = await shell(cookie);
    const firstPid = await shellPid(a);
    a.send('echo recent-$((6*7))\r');
    await a.waitForText('recent-42');
    a.close();
    const b = page(cookie);
    b.resume(a.attached[0]!.session, a.attached.at(-1)!.secret);
    await b.waitForAttached();
    await b.waitForText('recent-42');
    expect(await shellPid(b)).toBe(firstPid);
  });

  it('refuses a wrong secret, a stale one, another browser, an unknown id, and leaves the session to its owner', async () => {
    const cookie = browser();
    const a = await shell(cookie);
    const { session, secret } = a.attached[0]!;
    a.close();
    const attempts: [string, string, string][] = [
      ['wrong secret', cookie, randomBytes(32).toString('base64url')],
      ['other browser', browser(), secret],
      ['no browser cookie', '', secret],
    ];
    for (const [, c, s] of attempts) {
      const x = page(c);
      x.resume(session, s);
      expect(await x.waitForEnd()).toMatchObject({ code: 'RESUME_REFUSED' });
    }
    const unknown = page(cookie);
    unknown.resume('00000000-0000-4000-8000-000000000000', secret);
    expect(await unknown.waitForEnd()).toMatchObject({ code: 'SESSION_NOT_FOUND' });

    const owner = page(cookie);
    owner.resume(session, secret, a.streamOffset);
    const next = await owner.waitForAttached();
    // The secret before the rotation no longer works.
    owner.close();
    await eventually('detached', () => gw.gateway.registry.terminal(session)?.attached === false);
    const stale = page(cookie);
    stale.resume(session, secret);
    expect(await stale.waitForEnd()).toMatchObject({ code: 'RESUME_REFUSED' });
    const fresh = page(cookie);
    fresh.resume(session, next.secret);
    await fresh.waitForAttached();
  });

  it('a malformed resume is INVALID_REQUEST and changes nothing', async () => {
    const c = page(browser());
    c.socket.emit('resume', { session: 'x', secret: 'y', size: { cols: 80, rows: 24 } });
    expect(await c.waitForProblem()).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(c.ended).toBeUndefined();
  });

  it('two pages of one browser resume at once: the later wins, the earlier is told RESUMED_ELSEWHERE', async () => {
    const cookie = browser();
    const a = await shell(cookie);
    const firstPid = await shellPid(a);
    const { session, secret } = a.attached.at(-1)!;
    // The first page is still attached: taking over is allowed with the current secret.
    const b = page(cookie);
    b.resume(session, secret, a.streamOffset);
    const taken = await b.waitForAttached();
    expect(await a.waitForEnd()).toMatchObject({ code: 'RESUMED_ELSEWHERE' });
    const c = page(cookie);
    c.resume(session, taken.secret, b.streamOffset);
    await c.waitForAttached();
    expect(await b.waitForEnd()).toMatchObject({ code: 'RESUMED_ELSEWHERE' });
    expect(await shellPid(c)).toBe(firstPid);
  });

  it('a page without the browser cookie is not resumable: its disconnect ends the session, as before', async () => {
    const c = page('');
    c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
    await c.waitForState('connected');
    expect(c.attached).toEqual([]);
    const id = gw.gateway.registry.list().find((s) => !gw.gateway.registry.terminal(s.id)?.proof)?.id;
    c.close();
    await eventually('session gone', () => id !== undefined && !gw.gateway.registry.find(id));
  });

  it('output while detached stops at the flow-control budget: the gateway holds a bounded replay', async () => {
    const cookie = browser();
    const a = await shell(cookie);
    const { session } = a.attached[0]!;
    a.send('yes\r');
    await a.waitForText(/y\r?\ny\r?\n/);
    a.close();
    const t = () => gw.gateway.registry.terminal(session)!;
    await eventually('detached', () => !t().attached);
    // Give the remote time to fill whatever window it has: bounded by count of checks, not a sleep.
    let last = -1;
    for (let i = 0; i < 50 && t().replay.end !== last; i++) {
      last = t().replay.end;
      await new Promise((r) => setTimeout(r, 100)); // polling interval: the stream's end decides
    }
    expect(t().replay.bytes).toBeLessThanOrEqual(512 * 1024 + 64 * 1024 + 64 * 1024);
    const b = page(cookie);
    b.resume(session, a.attached.at(-1)!.secret, a.streamOffset);
    await b.waitForAttached();
    b.send('\x03');
    await b.waitFor('all replayed and the stream moving again', () => b.streamOffset > last);
  });
});

describe('detach window', () => {
  let short: TestGateway;
  beforeAll(async () => {
    short = await startGateway({ SESSION_DETACH_SECONDS: '1' });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('a session nobody resumes ends with DETACH_EXPIRED; its owner coming back late is told so, others are refused', async () => {
    const cookie = browser();
    const a = await shell(cookie, short);
    const { session, secret } = a.attached[0]!;
    a.close();
    await eventually('session ended', () => !short.gateway.registry.find(session), 5000);
    expect(short.logs.join('\n')).toContain('DETACH_EXPIRED');
    const late = page(cookie, short);
    late.resume(session, secret);
    expect(await late.waitForEnd()).toMatchObject({ code: 'DETACH_EXPIRED' });
    const stranger = page(browser(), short);
    stranger.resume(session, secret);
    expect(await stranger.waitForEnd()).toMatchObject({ code: 'SESSION_NOT_FOUND' }); // nothing about how it ended
  });

  it('SESSION_DETACH_SECONDS=0: a dropped socket ends the session at once, as before resume existed', async () => {
    const off = await startGateway({ SESSION_DETACH_SECONDS: '0' });
    try {
      const c = page(browser(), off);
      c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
      const att = await c.waitForAttached(); // the secret still authorises file transfers
      expect(att.detachSeconds).toBe(0); // the page does not try to resume
      const id = off.gateway.registry.list()[0]!.id;
      c.close();
      await eventually('session gone', () => !off.gateway.registry.find(id));
      const again = page(c.socket.io.opts.extraHeaders!.cookie!, off);
      again.resume(att.session, att.secret);
      expect(await again.waitForEnd()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    } finally {
      await off.close();
    }
  });
});
