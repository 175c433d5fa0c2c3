/**
 * End to end, what the README promises of the terminal itself: clickable links, scrollback
 * search (Ctrl+Shift+F), Ctrl+Shift+C / Ctrl+Shift+V, the window title from the remote.
 * Headless Chromium on the real page, the real gateway, real OpenSSH; every action goes
 * through the keyboard and the mouse, as a user's would.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, screenPosition, waitForScreen, type TestBrowser } from '../harness/browser.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;

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

/** A fresh browser context with a page logged in to a shell, keyboard focus in the terminal. */
async function connectedPage(context?: BrowserContext): Promise<Page> {
  const page = await (context ?? (await tb.browser.newContext({ viewport: { width: 1000, height: 640 } }))).newPage();
  await logInWithForm(page, gw.url, { host: sshd.host, port: sshd.port, ...sshd.users.password });
  await page.waitForSelector('#status[data-state="connected"]');
  await page.click('#terminal');
  return page;
}

/** How long a feature may take to show once its trigger happened (the test's own limit is 60 s). */
const WAIT_MS = 15_000;
const TEST_MS = 60_000;

const typeLine = (page: Page, line: string) => page.keyboard.type(`${line}\n`);

/** The buffer row holding `text` (the last one), and the rows the user sees. */
function locate(page: Page, text: string): Promise<{ row: number; top: number; rows: number }> {
  return page.evaluate((needle) => {
    const term = window.__webssh?.term;
    if (!term) throw new Error('no terminal');
    const buf = term.buffer.active;
    let row = -1;
    for (let y = 0; y < buf.length; y++) if (buf.getLine(y)?.translateToString(true).includes(needle)) row = y;
    return { row, top: buf.viewportY, rows: term.rows };
  }, text);
}

describe('terminal features in the browser', () => {
  it('a URL printed by the remote is a link: hovering shows it, clicking opens it in a new tab', async () => {
    const page = await connectedPage();
    const url = `${gw.url}/healthz`;
    // Split in the command, whole only in the output: the one link on screen is the printed one.
    await typeLine(page, `printf 'link: %s://%s\\n' http ${url.slice('http://'.length)}`);
    await waitForScreen(page, new RegExp(`^link: ${url.replace(/[.?]/g, '\\$&')}$`, 'm'));

    const at = await screenPosition(page, url);
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector('#terminal .xterm-cursor-pointer', { timeout: WAIT_MS }); // the pointer cursor over a link
    const [opened] = await Promise.all([page.context().waitForEvent('page', { timeout: WAIT_MS }), page.mouse.click(at.x, at.y)]);
    await opened.waitForLoadState();
    expect(opened.url()).toBe(url);
    expect(JSON.parse((await opened.textContent('body')) ?? '')).toMatchObject({ status: 'ok' });
    // Opened without a handle back to the terminal's page.
    expect(await opened.evaluate(() => window.opener === null), 'the new tab has no window.opener').toBe(true);
    await page.context().close();
  }, TEST_MS);

  it('Ctrl+Shift+F searches the scrollback: finds a line printed earlier, selects it and scrolls to it', async () => {
    const page = await connectedPage();
    // The needle is only in the output (the command line says "nee""dle"), then scrolls away.
    await typeLine(page, 'echo "nee""dle-$((6*7))"; seq 1 300 | sed "s/^/filler-/"');
    await waitForScreen(page, /^filler-300$/m);
    const before = await locate(page, 'needle-42');
    expect(before.row).toBeGreaterThanOrEqual(0);
    expect(before.row).toBeLessThan(before.top); // out of sight, above the visible rows

    await page.keyboard.press('Control+Shift+F');
    await page.waitForSelector('#search:not([hidden])', { timeout: WAIT_MS });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search-input');
    await page.keyboard.type('needle-42');
    await page.waitForFunction(() => document.querySelector('#search-count')?.textContent === '1/1', undefined, { timeout: WAIT_MS });

    expect(await page.evaluate(() => window.__webssh?.term.getSelection())).toBe('needle-42');
    const after = await locate(page, 'needle-42');
    expect(after.row).toBe(before.row);
    expect(after.row).toBeGreaterThanOrEqual(after.top); // scrolled into view
    expect(after.row).toBeLessThan(after.top + after.rows);

    await page.keyboard.press('Escape');
    await page.waitForSelector('#search', { state: 'hidden', timeout: WAIT_MS });
    await page.context().close();
  }, TEST_MS);

  it('Ctrl+Shift+C copies the selection without interrupting the program; Ctrl+Shift+V pastes into it', async () => {
    const context = await tb.browser.newContext({ viewport: { width: 1000, height: 640 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await connectedPage(context);
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    const setClipboard = (text: string) => page.evaluate((t) => navigator.clipboard.writeText(t), text);

    await typeLine(page, 'echo "copy""me-$((6*7))"; cat');
    await waitForScreen(page, /^copyme-42$/m);
    // A double click selects the word, as in any terminal.
    const at = await screenPosition(page, 'copyme-42');
    await setClipboard('before-copy');
    await page.mouse.dblclick(at.x, at.y);
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(clipboard, { timeout: WAIT_MS }).toBe('copyme-42');

    // `cat` is still running (no ^C went out): what is pasted comes back once as the tty's
    // echo and once as cat's output, each on a line of its own (no shell prompt before it).
    await setClipboard('pasted-into-cat');
    await page.keyboard.press('Control+Shift+V');
    await waitForScreen(page, /^pasted-into-cat$/m, WAIT_MS);
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^pasted-into-cat\npasted-into-cat$/m, WAIT_MS);
    await context.close();
  }, TEST_MS);

  it('the remote sets the window title', async () => {
    const page = await connectedPage();
    const initial = await page.title();
    // The title text exists only once the shell has computed it. `cat` keeps the next
    // prompt (whose PS1 may set a title of its own) from replacing it.
    await typeLine(page, `printf '\\033]0;%s\\007' "remote-title-$((6*7))"; cat`);
    await page.waitForFunction(() => document.title === 'remote-title-42', undefined, { timeout: WAIT_MS });
    expect(initial).not.toBe('remote-title-42');
    await page.context().close();
  }, TEST_MS);
});
