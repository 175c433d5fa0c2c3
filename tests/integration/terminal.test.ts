/**
 * The terminal itself over a real sshd: resize, UTF-8 integrity, exit, malformed input.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/shared/limits.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient, waitUntil } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
});

/** Clients whose terminal is still open: connected, not ended, socket still up. */
const openTerminals = () => clients.filter((c) => c.socket.connected && !c.ended && c.statuses.some((s) => s.state === 'connected')).length;

// No leaks, counted exactly: after every test the registry holds one session per open
// terminal, no more. A session whose socket went away is released asynchronously, so
// wait for the registry to settle (its `change` event) instead of reading it once.
afterEach(async () => {
  await waitUntil(gw.gateway.registry, 'change', 'the registry to hold exactly the open terminals', () => gw.gateway.registry.size === openTerminals(), 10_000).catch(
    () => expect(gw.gateway.registry.size, 'sessions in the registry vs open terminals').toBe(openTerminals()),
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  await sshd?.close();
});

async function connected(size = { cols: 80, rows: 24 }): Promise<TerminalClient> {
  const c = new TerminalClient(gw.url);
  clients.push(c);
  c.start({ host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: sshd.users.password.password }, size);
  await c.waitForState('connected');
  return c;
}

describe('terminal over real OpenSSH', () => {
  it('starts with the requested size, follows resizes, clamps absurd ones', async () => {
    const c = await connected({ cols: 91, rows: 33 });
    c.send('stty size; echo M1\r');
    await c.waitForText(/33 91\s+M1/);
    c.socket.emit('resize', { cols: 120, rows: 40 });
    c.send('stty size; echo M2\r');
    await c.waitForText(/40 120\s+M2/);
    c.socket.emit('resize', { cols: 100000, rows: 100000 });
    c.send('stty size; echo M3\r');
    await c.waitForText(new RegExp(`${LIMITS.maxRows} ${LIMITS.maxCols}\\s+M3`));
  });

  it('rejects malformed payloads with a problem and keeps the session working', async () => {
    const c = await connected();
    const bad: [string, unknown][] = [
      ['resize', { cols: 0, rows: 0 }],
      ['resize', { cols: 'wide', rows: 24 }],
      ['resize', null],
      ['input', { evil: true }],
      ['input', 'x'.repeat(LIMITS.maxInputBytes + 1)],
      ['ack', -5],
      ['ack', 'lots'],
      ['kbdAnswers', 'not-an-array'],
      ['start', { auth: { kind: 'grant' } }],
      ['no-such-event', 1],
    ];
    for (const [event, payload] of bad) (c.socket.emit as (e: string, p: unknown) => void)(event, payload);
    await c.waitForProblem(bad.length);
    expect(c.problems.every((p) => p.code === 'INVALID_REQUEST')).toBe(true);
    c.send('stty size; echo STILL-ALIVE\r');
    await c.waitForText(/24 80\s+STILL-ALIVE/); // the bad resizes changed nothing
  });

  it('refuses a second start on a live session', async () => {
    const c = await connected();
    c.start({ host: sshd.host, port: sshd.port, username: 'x', password: 'y' });
    expect(await c.waitForProblem()).toMatchObject({ code: 'SESSION_ACTIVE' });
  });

  it('an over-sized message drops only that socket', async () => {
    const victim = await connected();
    const other = await connected();
    (victim.socket.emit as (e: string, p: unknown) => void)('input', 'y'.repeat(LIMITS.maxMessageBytes * 2));
    await victim.waitFor('disconnect', () => !victim.socket.connected);
    other.send('echo OTHER-OK\r');
    await other.waitForText('OTHER-OK');
  });

  it('delivers multi-byte UTF-8 intact across frame boundaries', async () => {
    const c = await connected();
    // 40,000 three- and four-byte characters: chunks of 32 KiB must split some of them.
    // Echo off first, so the command line itself never appears in the output.
    c.send('stty -echo; echo READY$((40+2))\r');
    await c.waitForText('READY42');
    c.send("printf 'BEGIN\\n'; for i in $(seq 1 5000); do printf '€😀日本語€😀'; done; printf '\\nEND\\n'\r");
    await c.waitForText(/\nEND\r?\n/);
    const body = /BEGIN\r?\n([^\r\n]*)\r?\nEND/.exec(c.text)?.[1] ?? '';
    expect(body).toBe('€😀日本語€😀'.repeat(5000));
    expect(c.chunks.length).toBeGreaterThan(1);
  });

  it('ends with REMOTE_CLOSED and the exit status when the shell exits, and releases the session', async () => {
    const before = gw.gateway.registry.size;
    const c = await connected();
    expect(gw.gateway.registry.size).toBe(before + 1);
    c.send('exit 3\r');
    expect(await c.waitForEnd()).toMatchObject({ code: 'REMOTE_CLOSED', retryable: true, message: expect.stringContaining('exit status 3') as unknown });
    // The registry lets go before `ended` is sent, so this is exact, not eventual.
    expect(gw.gateway.registry.size).toBe(before);
  });

  it('a client disconnect releases the session', async () => {
    const before = gw.gateway.registry.size;
    const c = await connected();
    expect(gw.gateway.registry.size).toBe(before + 1);
    c.close();
    await waitUntil(gw.gateway.registry, 'change', 'registry release', () => gw.gateway.registry.size === before);
  });
});
