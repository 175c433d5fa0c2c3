/**
 * Issue 15: an operator replays a recording in the browser. Headless Chromium opens the
 * admin console, the recordings list shows the finished session, and asciinema-player
 * (the npm package, bundled into the console) plays it: its DOM shows the text the
 * session printed. The console's CSP differs from the terminal page's by exactly
 * 'wasm-unsafe-eval' (the player's emulator is WebAssembly), with no violation.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchCsp, type TestBrowser } from '../harness/browser.js';
import { expectCsp, GATEWAY_CSP } from '../harness/csp.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;
let dir: string;
const token = randomBytes(24).toString('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webssh-replay-'));
  sshd = await startSshd();
  gw = await startGateway({ ADMIN_TOKEN: token, RECORDINGS_DIR: dir });
  tb = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await gw?.close();
  await sshd?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('replaying a recording from the admin console', () => {
  it('lists the recording and asciinema-player shows what the session printed', async () => {
    const c = new TerminalClient(gw.url);
    const started = once(gw.gateway.events, 'session.started') as Promise<[{ session: string }]>;
    c.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
    const [{ session }] = await started;
    // Computed by the shell, so only the output (not the typed line) holds the text.
    c.send('echo replayed-text-$((6*7)); echo second-line-$((7*6))\r');
    await c.waitForText('second-line-42');
    c.send('exit\r');
    await c.waitForEnd();
    await gw.gateway.recordings!.settled(session);
    c.close();

    const admin = await (await tb.browser.newContext()).newPage();
    const violations = await watchCsp(admin);
    const res = await admin.goto(`${gw.url}/ssh/admin/`);
    expectCsp(res?.headers()['content-security-policy'] ?? null, { ...GATEWAY_CSP, 'script-src': ["'self'", "'wasm-unsafe-eval'"] });
    await admin.fill('#token', token);
    await admin.click('#token-form button[type="submit"]');
    const row = admin.locator('#recordings-table tbody tr', { hasText: `${sshd.users.password.username}@${sshd.host}` });
    await row.waitFor();
    expect(await row.textContent()).toContain('complete');
    expect(await row.textContent()).toContain(session);
    await row.locator('button', { hasText: 'Play' }).click();
    await admin.waitForFunction(() => /replayed-text-42[\s\S]*second-line-42/.test(document.querySelector('#replay-player')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(await admin.locator('#replay-player .ap-player').count()).toBe(1);
    expect(violations).toEqual([]);
  }, 90_000);

  it('the terminal page keeps its own policy, without wasm', async () => {
    const res = await fetch(`${gw.url}/ssh`);
    expectCsp(res.headers.get('content-security-policy'));
  });
});
