/**
 * Issue 13 in the browser: headless Chromium on the real page, the real gateway, real
 * OpenSSH. A network drop is not an error (the page reconnects by itself and nothing
 * printed meanwhile is lost or doubled), and a reload finds the session and offers to
 * resume it: the same shell, a recent screen, and full-screen programs repaint.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, screenText, waitForScreen, type TestBrowser } from '../harness/browser.js';
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

const TEST_MS = 90_000;

async function connectedPage(): Promise<Page> {
  const context = await tb.browser.newContext({ viewport: { width: 1000, height: 640 } });
  const page = await context.newPage();
  await logInWithForm(page, gw.url, { host: sshd.host, port: sshd.port, ...sshd.users.password });
  await page.waitForSelector('#status[data-state="connected"]');
  await page.click('#terminal');
  return page;
}

async function shellPid(page: Page, tag: string): Promise<string> {
  await page.keyboard.type(`echo ${tag}-$$-pid\n`);
  await waitForScreen(page, new RegExp(`${tag}-\\d+-pid`), 30_000);
  return new RegExp(`${tag}-(\\d+)-pid`).exec(await screenText(page))![1]!;
}

describe('resume in the browser', () => {
  it(
    'offline for 10 s: "Reconnecting…", then every line printed meanwhile appears exactly once, in order, in the same shell',
    async () => {
      const page = await connectedPage();
      const pid = await shellPid(page, 'before');
      await page.keyboard.type('clear; for i in $(seq 1 300); do echo N:$i; sleep 0.05; done\n');
      await waitForScreen(page, /N:20\n/);
      await page.context().setOffline(true);
      await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 30_000 });
      expect(await page.textContent('#status-text')).toMatch(/Reconnecting/);
      await page.waitForTimeout(10_000); // the outage being simulated, not synchronisation
      await page.context().setOffline(false);
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 30_000 });
      await waitForScreen(page, /N:300\n/, 30_000);
      const seen = [...(await screenText(page)).matchAll(/^N:(\d+)$/gm)].map((m) => Number(m[1]));
      expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(await shellPid(page, 'after')).toBe(pid);
    },
    TEST_MS,
  );

  it(
    'a reload offers "Resume user@host (started hh:mm)": the same shell, the recent screen, and vim repaints after the nudge',
    async () => {
      const page = await connectedPage();
      const pid = await shellPid(page, 'first');
      await page.keyboard.type('vim -u NONE -N\n');
      await page.keyboard.type('iresume-marker-in-vim');
      await waitForScreen(page, /resume-marker-in-vim/);
      await page.reload();
      const offer = page.locator('#resume-offers button').first();
      await offer.waitFor({ timeout: 15_000 });
      const label = await offer.textContent();
      expect(label).toMatch(new RegExp(`^Resume ${sshd.users.password.username}@${sshd.host}:${sshd.port} \\(started \\d\\d:\\d\\d\\)$`));
      await offer.click();
      await page.waitForSelector('#status[data-state="connected"]');
      // vim redraws its whole screen on the window change the resume makes.
      await waitForScreen(page, /resume-marker-in-vim/);
      await page.click('#terminal');
      await page.keyboard.press('Escape');
      // Normal mode before the command: an Esc followed at once by ':' can read as one key.
      await page.waitForFunction(() => {
        const buf = window.__webssh?.term.buffer.active;
        if (!buf) return false;
        for (let i = 0; i < buf.length; i++) if (buf.getLine(i)?.translateToString(true).includes('-- INSERT --')) return false;
        return true;
      });
      await page.keyboard.type(':q!\n');
      // vim gone (back on the normal screen) before typing: keys vim reads ahead die with it.
      await page.waitForFunction(() => window.__webssh?.term.buffer.active.type === 'normal', undefined, { timeout: 30_000 });
      expect(await shellPid(page, 'second')).toBe(pid);
    },
    TEST_MS,
  );
});
