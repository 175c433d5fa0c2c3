/**
 * Issue 12, finding 5: one typed password costs the target one failed authentication.
 * The gateway used to answer the keyboard-interactive "Password:" prompt with it and
 * then send it again with the `password` method: two failures in sshd's log per typo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { sshdAttempts, sshdSettled } from '../harness/sshdAttempts.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
const clients: TerminalClient[] = [];

beforeAll(async () => {
  [sshd, gw] = await Promise.all([startSshd(), startGateway()]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gw?.close();
  await sshd?.close();
});

function client(): TerminalClient {
  const c = new TerminalClient(gw.url);
  clients.push(c);
  return c;
}

/** Logs in with `password` and reports how the session ended and how long that took. */
async function attempt(username: string, password: string): Promise<{ code: string; ms: number }> {
  const c = client();
  const t0 = performance.now();
  c.start({ host: sshd.host, port: sshd.port, username, password });
  const end = await c.waitForEnd();
  return { code: end.code, ms: Math.round(performance.now() - t0) };
}

describe('one typed password, one attempt at the target', () => {
  it('a wrong password is one failed authentication in sshd, reported without a second round trip', async () => {
    const before = await sshdSettled(sshd);
    const { code, ms } = await attempt(sshd.users.password.username, 'wrong-password-5501');
    expect(code).toBe('AUTH_FAILED');
    const after = await sshdSettled(sshd);
    console.log(`wrong password: AUTH_FAILED after ${ms} ms; sshd: ${after.failed - before.failed} Failed, ${after.pamFailures - before.pamFailures} PAM failures`);
    expect(after.connections - before.connections).toBe(1);
    expect(after.failed - before.failed).toBe(1);
    expect(after.pamFailures - before.pamFailures).toBe(1);
  });

  it('a 2FA account with a wrong password: one failure, and the code is never asked', async () => {
    const before = await sshdSettled(sshd);
    const c = client();
    c.start({ host: sshd.host, port: sshd.port, username: sshd.users.kbd.username, password: 'wrong-2fa-password' });
    expect(await c.waitForEnd()).toMatchObject({ code: 'AUTH_FAILED' });
    expect(c.kbdPrompts).toEqual([]);
    const after = await sshdSettled(sshd);
    expect(after.failed - before.failed).toBe(1);
  });

  it('a right password still logs in with no failure logged', async () => {
    const before = await sshdSettled(sshd);
    const c = client();
    const { username, password } = sshd.users.password;
    c.start({ host: sshd.host, port: sshd.port, username, password });
    await c.waitForState('connected');
    expect(sshdAttempts(sshd).failed - before.failed).toBe(0);
  });
});
