/**
 * Issue 13, operators watch: headless Chromium opens the admin console under
 * `/ssh/admin/`, loads the session list with the token, and watches a user's live
 * terminal read-only; the user's own page shows that someone is watching, and when it
 * stops. The console runs under the same CSP as the terminal page, without violations.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, watchCsp, waitForScreen, type TestBrowser } from '../harness/browser.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;
const token = randomBytes(24).toString('hex');

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway({ ADMIN_TOKEN: token });
  tb = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await gw?.close();
  await sshd?.close();
});

/** The watched terminal's text (the console uses xterm's DOM renderer). */
async function watchedText(page: Page, pattern: RegExp): Promise<string> {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#watch-terminal .xterm-rows')?.textContent ?? ''), pattern.source, { timeout: 15_000 });
  return (await page.textContent('#watch-terminal .xterm-rows')) ?? '';
}

describe('the admin console', () => {
  it('lists the session, watches it read-only, and the user sees the notice when watching starts and stops', async () => {
    const user = await (await tb.browser.newContext()).newPage();
    await logInWithForm(user, gw.url, { host: sshd.host, port: sshd.port, ...sshd.users.password });
    await user.waitForSelector('#status[data-state="connected"]');
    await user.click('#terminal');
    await user.keyboard.type('echo typed-by-user-$((6*7))\n');
    await waitForScreen(user, /typed-by-user-42/);

    const admin = await (await tb.browser.newContext()).newPage();
    const violations = await watchCsp(admin);
    const res = await admin.goto(`${gw.url}/ssh/admin`); // redirected to the slash form
    expect(res?.url()).toBe(`${gw.url}/ssh/admin/`);
    await admin.fill('#token', token);
    await admin.click('#token-form button[type="submit"]');
    const row = admin.locator('#sessions tbody tr', { hasText: `${sshd.users.password.username}@${sshd.host}` });
    await row.waitFor();
    await row.locator('button', { hasText: 'Watch' }).click();
    await watchedText(admin, /typed-by-user-42/); // the recent screen
    await admin.waitForSelector('#watch-status:has-text("read-only")');
    await user.waitForSelector('#notice:not([hidden])');
    expect(await user.textContent('#notice-text')).toMatch(/administrator started watching/);

    await user.keyboard.type('echo live-$((6*7))\n');
    await watchedText(admin, /live-42/);
    // Typing into the watched terminal sends nothing.
    await admin.click('#watch-terminal');
    await admin.keyboard.type('echo from-admin\n');
    await user.keyboard.type('echo marker-$((6*7))\n');
    await waitForScreen(user, /marker-42/);
    expect(await watchedText(admin, /marker-42/)).not.toContain('from-admin');

    await admin.click('#watch-stop');
    await user.waitForFunction(() => /stopped watching/.test(document.querySelector('#notice-text')?.textContent ?? ''), undefined, { timeout: 15_000 });
    expect(violations).toEqual([]);
  }, 90_000);

  it('a wrong token gets a clear message and no list', async () => {
    const admin = await (await tb.browser.newContext()).newPage();
    await admin.goto(`${gw.url}/ssh/admin/`);
    await admin.fill('#token', 'wrong-token');
    await admin.click('#token-form button[type="submit"]');
    await admin.waitForSelector('#message:has-text("Wrong admin token")');
    expect(await admin.isHidden('#sessions')).toBe(true);
  }, 60_000);
});
