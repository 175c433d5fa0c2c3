/**
 * Issue 12, finding 5, in the page: RATE_LIMITED says when a retry may start, and the
 * page keeps "Reconnect" disabled until then, so nothing is sent before the wait is over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, type TestBrowser } from '../harness/browser.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway({ LOGIN_FAILURES_PER_ADDRESS: '1', LOGIN_FAILURE_WINDOW_SECONDS: '600' });
  tb = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await gw?.close();
  await sshd?.close();
});

const starts = () => gw.logs.filter((l) => l.includes('"terminal starting"') || l.includes('"login rate limited"')).length;

describe('the page under RATE_LIMITED', () => {
  it('shows when the user may retry and does not reconnect before', async () => {
    const context = await tb.browser.newContext();
    const page = await context.newPage();
    await logInWithForm(page, gw.url, { host: sshd.host, port: sshd.port, username: sshd.users.password.username, password: 'not-the-password' });
    await page.waitForSelector('#status[data-state="ended"][data-code="AUTH_FAILED"]');
    await page.click('#reconnect');
    await page.waitForSelector('#status[data-state="ended"][data-code="RATE_LIMITED"]');
    expect(await page.textContent('#status')).toMatch(/try again in (9|10) min/);
    expect(await page.isDisabled('#reconnect')).toBe(true);
    const before = starts();
    // Even a click the disabled button would not get: a new attempt would make the page
    // "connecting" synchronously, inside the click.
    const state = await page.evaluate(() => {
      (document.querySelector('#reconnect') as HTMLButtonElement).dispatchEvent(new MouseEvent('click'));
      return window.__webssh?.state();
    });
    expect(state).toBe('ended');
    expect(starts()).toBe(before);
    await context.close();
  });
});
