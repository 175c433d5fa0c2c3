/**
 * End to end: headless Chromium on the real page, the real gateway, real OpenSSH.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, screenText, waitForScreen, watchCsp, type TestBrowser } from '../harness/browser.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;
/** CSP violations of the pages the current test opened (each test checks its own). */
let cspViolations: string[][] = [];

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
  tb = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await gw?.close();
  await sshd?.close();
});

afterEach(() => {
  const seen = cspViolations.flat();
  cspViolations = [];
  expect(seen, 'CSP violations on this test\'s pages').toEqual([]);
});

async function newPage(opts: { width?: number; height?: number; httpCredentials?: { username: string; password: string } } = {}): Promise<Page> {
  const context = await tb.browser.newContext({
    viewport: { width: opts.width ?? 1000, height: opts.height ?? 640 },
    ...(opts.httpCredentials && { httpCredentials: opts.httpCredentials }),
  });
  const page = await context.newPage();
  cspViolations.push(await watchCsp(page));
  return page;
}

function logIn(page: Page, username: string, password: string, baseUrl = gw.url): Promise<void> {
  return logInWithForm(page, baseUrl, { host: sshd.host, port: sshd.port, username, password });
}

const typeLine = (page: Page, line: string) => page.keyboard.type(`${line}\n`);

/** A page logged in with the password account, connected, keyboard focus in the terminal. */
async function connectedPage(): Promise<Page> {
  const page = await newPage();
  await logIn(page, sshd.users.password.username, sshd.users.password.password);
  await page.waitForSelector('#status[data-state="connected"]');
  await page.click('#terminal');
  return page;
}

describe('the browser terminal', () => {
  it('logs in with the form, runs a command, follows a window resize', async () => {
    const page = await newPage();
    await logIn(page, sshd.users.password.username, sshd.users.password.password);
    await page.waitForSelector('#status[data-state="connected"]');
    expect(await page.textContent('#status')).toContain(`${sshd.users.password.username}@${sshd.host}`);
    await page.click('#terminal');
    await typeLine(page, 'echo "answer=$((6*7))"');
    await waitForScreen(page, /answer=42/);

    const sizes = async () => [...(await screenText(page)).matchAll(/SZ=(\d+) (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    await typeLine(page, 'stty size | sed "s/^/SZ=/"');
    await waitForScreen(page, /SZ=\d+ \d+/);
    const [before] = await sizes();
    await page.setViewportSize({ width: 640, height: 400 });
    // The page refits on its own schedule; type only once the terminal has shrunk (the
    // resize then reaches the server before the command, on the same socket).
    await page.waitForFunction((cols) => (window.__webssh?.term.cols ?? cols) < cols, before?.[1] ?? 0);
    await typeLine(page, 'stty size | sed "s/^/SZ=/"');
    await waitForScreen(page, /SZ=\d+ \d+[\s\S]*SZ=\d+ \d+/);
    const after = (await sizes()).at(-1);
    expect(after?.[1]).toBeLessThan(before?.[1] ?? 0); // fewer columns
    expect(after?.[0]).toBeLessThan(before?.[0] ?? 0); // fewer rows

    mkdirSync('test-results', { recursive: true });
    await page.setViewportSize({ width: 1000, height: 640 });
    await typeLine(page, 'clear; uname -sr; ls --color=always -l /usr');
    await waitForScreen(page, /Linux/);
    await page.screenshot({ path: 'test-results/terminal.png' });
    await page.context().close();
  });

  it('after the shell exits, the page says why and Reconnect opens a new session', async () => {
    const page = await connectedPage();
    await typeLine(page, 'exit 7');
    await page.waitForSelector('#status[data-state="ended"]');
    expect(await page.textContent('#status')).toMatch(/exit status 7/);
    await page.click('#reconnect');
    await page.waitForSelector('#status[data-state="connected"]');
    await page.click('#terminal');
    await typeLine(page, 'echo "again=$((3*3))"');
    await waitForScreen(page, /again=9/);
    await page.context().close();
  });

  it('a wrong password shows the error code and a reconnect action', async () => {
    const page = await newPage();
    await logIn(page, sshd.users.password.username, 'not-the-password');
    await page.waitForSelector('#status[data-state="ended"]');
    expect(await page.textContent('#status')).toMatch(/AUTH_FAILED|Authentication failed/);
    expect(await page.isVisible('#reconnect, #edit-login')).toBe(true);
    await page.context().close();
  });

  it('yes + Ctrl-C brings the prompt back', async () => {
    const page = await connectedPage();
    await typeLine(page, 'yes');
    await waitForScreen(page, /^y$/m);
    await page.keyboard.press('Control+C');
    await typeLine(page, 'echo "back=$((40+2))"');
    // The output flood must drain and the shell must answer.
    await waitForScreen(page, /back=42/, 10_000);
    await page.context().close();
  });

  it('the terminal renders UTF-8 and wide characters correctly', async () => {
    const page = await connectedPage();
    // Typed as octal escapes: the bytes arrive from the remote, not from our keyboard.
    await typeLine(page, "printf 'U=h\\303\\251llo \\346\\227\\245\\346\\234\\254 \\360\\237\\230\\200!\\n'");
    await waitForScreen(page, /U=héllo 日本 😀!/);
    await page.context().close();
  });

  it('/ssh/host/:host with Basic credentials connects at once', async () => {
    const { username, password } = sshd.users.password;
    const page = await newPage({ httpCredentials: { username, password } });
    await page.goto(`${gw.url}/ssh/host/${sshd.host}?port=${sshd.port}`);
    await page.waitForSelector('#status[data-state="connected"]');
    expect(await page.isVisible('#login-form')).toBe(false);
    await page.click('#terminal');
    await typeLine(page, 'echo "via-basic-$((1+1))"');
    await waitForScreen(page, /via-basic-2/);
    await page.context().close();
  });

  it('keyboard-interactive prompts appear in the page, hidden when echo is off', async () => {
    const page = await newPage();
    const { username, password, otp } = sshd.users.kbd;
    await logIn(page, username, '');
    await page.waitForSelector('#kbd-dialog:not([hidden])');
    expect(await page.getAttribute('#kbd-prompts input', 'type')).toBe('password');
    await page.fill('#kbd-prompts input', password);
    await page.click('#kbd-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#kbd-prompts input')?.getAttribute('type') === 'text');
    await page.fill('#kbd-prompts input', otp);
    await page.click('#kbd-form button[type="submit"]');
    await page.waitForSelector('#status[data-state="connected"]');
    await page.context().close();
  });

  it('a draining gateway shows the deadline notice in the page, then the reason', async () => {
    const own = await startGateway();
    try {
      const page = await newPage();
      await logIn(page, sshd.users.password.username, sshd.users.password.password, own.url);
      await page.waitForSelector('#status[data-state="connected"]');
      const drained = own.gateway.drain(3000);
      await page.waitForSelector('#notice:not([hidden])');
      expect(await page.textContent('#notice')).toMatch(/restarting/);
      await page.waitForSelector('#status[data-state="ended"]', { timeout: 10_000 });
      expect(await page.textContent('#status')).toMatch(/SHUTTING_DOWN|restarting/);
      await drained;
      await page.context().close();
    } finally {
      await own.close();
    }
  });

  it('the page runs without a single CSP violation: log in, output, resize, search, reconnect', async () => {
    const page = await newPage();
    const violations = cspViolations.at(-1) ?? [];
    await logIn(page, sshd.users.password.username, sshd.users.password.password);
    await page.waitForSelector('#status[data-state="connected"]');
    await page.click('#terminal');
    await typeLine(page, 'ls --color=always -l /usr; printf "\\033[1;31mred-$((6*7))\\033[0m\\n"');
    await waitForScreen(page, /red-42/);
    const cols = await page.evaluate(() => window.__webssh?.term.cols ?? 0);
    await page.setViewportSize({ width: 640, height: 400 });
    await page.waitForFunction((before) => (window.__webssh?.term.cols ?? before) < before, cols);
    await page.keyboard.press('Control+Shift+F');
    await page.waitForSelector('#search:not([hidden])');
    await page.keyboard.type('red-42');
    await page.waitForFunction(() => /\d/.test(document.querySelector('#search-count')?.textContent ?? ''));
    await page.keyboard.press('Escape');
    await typeLine(page, 'exit');
    await page.waitForSelector('#status[data-state="ended"]');
    await page.click('#reconnect');
    await page.waitForSelector('#status[data-state="connected"]');
    expect(violations).toEqual([]);
    await page.context().close();

    // The watch itself catches a violation: an inline script, which the policy forbids,
    // added to a freshly loaded page (a separate one, so the check after each test stays clean).
    const control = await tb.browser.newPage();
    const caught = await watchCsp(control);
    await control.goto(`${gw.url}/ssh`);
    await control.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline script ran"';
      document.body.append(script);
    });
    await expect.poll(() => caught.some((v) => v.startsWith('event: script-src'))).toBe(true);
    await expect.poll(() => caught.some((v) => v.startsWith('console: '))).toBe(true);
    expect(await control.title()).not.toBe('inline script ran');
    await control.context().close();
  }, 60_000);
});
