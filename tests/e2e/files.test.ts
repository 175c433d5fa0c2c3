/**
 * Issue 14 in the browser: headless Chromium, the real page and gateway, real OpenSSH's
 * SFTP. The panel lists, uploads through the file chooser and by a drop on the terminal,
 * shows progress, downloads through the browser's download manager (checksum), and the
 * terminal keeps echoing while a large transfer runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, logInWithForm, waitForScreen, type TestBrowser } from '../harness/browser.js';
import { startGateway, type TestGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';

let sshd: TestSshd;
let gw: TestGateway;
let tb: TestBrowser;
/** The remote directory (the test user's), and a local one for files to pick. */
let remote: string;
let local: string;

beforeAll(async () => {
  sshd = await startSshd();
  gw = await startGateway();
  tb = await launchBrowser();
  remote = `/tmp/webssh-e2e-files-${randomBytes(4).toString('hex')}`;
  mkdirSync(remote);
  const uid = Number(execFileSync('id', ['-u', sshd.users.password.username]).toString());
  chownSync(remote, uid, uid);
  local = mkdtempSync(join(tmpdir(), 'webssh-e2e-local-'));
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await gw?.close();
  await sshd?.close();
  rmSync(remote, { recursive: true, force: true });
  rmSync(local, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function connected(): Promise<Page> {
  const context = await tb.browser.newContext({ viewport: { width: 1200, height: 700 }, acceptDownloads: true });
  const page = await context.newPage();
  await logInWithForm(page, gw.url, { host: sshd.host, port: sshd.port, ...sshd.users.password });
  await page.waitForSelector('#status[data-state="connected"]');
  return page;
}

async function openPanelAt(page: Page, dir: string): Promise<void> {
  await page.click('#files-toggle');
  await page.waitForSelector('#files:not([hidden])');
  await page.fill('#files-path', dir);
  await page.press('#files-path', 'Enter');
  await page.waitForFunction((d) => (document.querySelector('#files-path') as HTMLInputElement).value === d, dir);
}

describe('the file panel', () => {
  it('uploads with the chooser and by a drop on the terminal, shows progress, lists, and downloads with the right bytes', async () => {
    const page = await connected();
    await openPanelAt(page, remote);

    const picked = randomBytes(3_000_000);
    writeFileSync(join(local, 'picked.bin'), picked);
    await page.setInputFiles('#files-picker', join(local, 'picked.bin'));
    await page.waitForSelector('.transfer[data-state="done"]', { timeout: 30_000 });
    expect(await page.textContent('.transfer[data-state="done"] .info')).toMatch(/done: 2\.9 MiB/);
    expect(sha(readFileSync(`${remote}/picked.bin`))).toBe(sha(picked));
    await page.waitForSelector('#files-list button.name:has-text("picked.bin")');

    // A drop on the terminal: a synthetic drop event carrying a DataTransfer with a File.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped-content-42\n'], 'dropped.txt', { type: 'text/plain' }));
      const target = document.querySelector('#terminal')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('#files-list button.name:has-text("dropped.txt")', { timeout: 15_000 });
    expect(readFileSync(`${remote}/dropped.txt`, 'utf8')).toBe('dropped-content-42\n');

    // The browser's own download, of a file the shell made.
    const made = randomBytes(2_000_000);
    writeFileSync(`${remote}/made.bin`, made);
    await page.click('#files-refresh');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#files-list button.name:has-text("made.bin")')]);
    expect(download.suggestedFilename()).toBe('made.bin');
    expect(sha(readFileSync((await download.path())))).toBe(sha(made));
    await page.screenshot({ path: join(local, 'panel.png') });
    if (process.env.WEBSSH_SCREENSHOT) writeFileSync(process.env.WEBSSH_SCREENSHOT, readFileSync(join(local, 'panel.png')));
  }, 90_000);

  it('asks before overwriting, and the terminal keeps echoing while 100 MB upload', async () => {
    const page = await connected();
    await openPanelAt(page, remote);
    writeFileSync(join(local, 'exists.txt'), 'new');
    writeFileSync(`${remote}/exists.txt`, 'old');
    page.once('dialog', (d) => void d.accept());
    await page.setInputFiles('#files-picker', join(local, 'exists.txt'));
    await page.waitForSelector('.transfer[data-state="done"] .label:has-text("exists.txt")', { timeout: 15_000 });
    expect(readFileSync(`${remote}/exists.txt`, 'utf8')).toBe('new');

    const bigPath = join(local, 'big.bin');
    execFileSync('sh', ['-c', `head -c 100000000 /dev/urandom > ${bigPath}`]);
    await page.setInputFiles('#files-picker', bigPath);
    await page.waitForSelector('.transfer:not([data-state]) progress', { timeout: 15_000 });
    await page.click('#terminal');
    for (let i = 0; i < 5; i++) {
      await page.keyboard.type(`echo during-${i}-$((6*7))\n`);
      await waitForScreen(page, new RegExp(`during-${i}-42`), 10_000);
    }
    await page.waitForSelector('.transfer[data-state="done"] .label:has-text("big.bin")', { timeout: 120_000 });
    expect(execFileSync('sha256sum', [`${remote}/big.bin`]).toString().split(' ')[0]).toBe(execFileSync('sha256sum', [bigPath]).toString().split(' ')[0]);
  }, 180_000);
});
