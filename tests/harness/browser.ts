/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), with a fresh
 * profile per launch and the flags this closed network needs.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * playwright's launch() gives Chromium a fresh temporary --user-data-dir of its own
 * (it refuses one passed in args), so every launch starts from an empty profile.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** The terminal's visible text, read from xterm's buffer (what the user sees). */
export function screenText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const term = window.__webssh?.term;
    if (!term) return '';
    const buf = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

/** Waits until the terminal shows text matching `pattern`. */
export async function waitForScreen(page: Page, pattern: RegExp, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    ({ source, flags }) => {
      const term = window.__webssh?.term;
      if (!term) return false;
      const buf = term.buffer.active;
      let text = '';
      for (let i = 0; i < buf.length; i++) text += (buf.getLine(i)?.translateToString(true) ?? '') + '\n';
      return new RegExp(source, flags).test(text);
    },
    { source: pattern.source, flags: pattern.flags },
    { timeout, polling: 'raf' },
  );
}

/** Fills and submits the page's login form, as a user would. */
export async function logInWithForm(page: Page, baseUrl: string, target: { host: string; port: number; username: string; password: string }): Promise<void> {
  await page.goto(`${baseUrl}/ssh`);
  await page.fill('input[name="host"]', target.host);
  await page.fill('input[name="port"]', String(target.port));
  await page.fill('input[name="username"]', target.username);
  await page.fill('input[name="password"]', target.password);
  await page.click('#login-form button[type="submit"]');
}

/**
 * Page coordinates of the middle of `text` in the terminal's visible rows (the lowest
 * occurrence), computed from the grid: `.xterm-screen` spans exactly cols × rows cells,
 * whichever renderer draws them. Throws if the text is not on screen.
 */
export async function screenPosition(page: Page, text: string): Promise<{ x: number; y: number }> {
  return page.evaluate((needle) => {
    const term = window.__webssh?.term;
    const screen = term?.element?.querySelector('.xterm-screen')?.getBoundingClientRect();
    if (!term || !screen) throw new Error('no terminal on the page');
    const buf = term.buffer.active;
    const cell = { width: screen.width / term.cols, height: screen.height / term.rows };
    for (let row = term.rows - 1; row >= 0; row--) {
      const col = buf.getLine(buf.viewportY + row)?.translateToString(true).indexOf(needle) ?? -1;
      if (col >= 0) return { x: screen.left + (col + needle.length / 2) * cell.width, y: screen.top + (row + 0.5) * cell.height };
    }
    throw new Error(`${JSON.stringify(needle)} is not on the screen`);
  }, text);
}

let cspWatchers = 0;

/**
 * Collects every Content-Security-Policy violation of `page` (from now on, across
 * navigations) through both channels Chromium offers: the document's
 * `securitypolicyviolation` event and the console message ("… violates the following
 * Content Security Policy directive …"). Call it before the page loads anything.
 */
export async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  const binding = `__cspViolation${++cspWatchers}`;
  await page.exposeBinding(binding, (_source, text: string) => void violations.push(`event: ${text}`));
  // Init scripts and bindings come from the DevTools protocol, outside the page's CSP.
  await page.addInitScript((name) => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as Record<string, (text: string) => void>)[name]?.(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  }, binding);
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(`console: ${msg.text()}`);
  });
  return violations;
}
