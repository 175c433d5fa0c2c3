/**
 * Headless Chromium on the real page: time until the last line of `seq 1 200000` is on
 * screen, and key-to-glyph latency (key into xterm → echoed by a raw-mode `cat` →
 * rendered).
 */
import { launchBrowser, logInWithForm } from '../../tests/harness/browser.js';
import type { TestSshd } from '../../tests/harness/sshd.js';
import { nowMs, percentile, round } from '../stats.js';

export async function browserScenario(url: string, sshd: TestSshd, sshHost = '127.0.0.1') {
  const browser = await launchBrowser();
  try {
    const page = await browser.browser.newPage({ viewport: { width: 1000, height: 640 } });
    await logInWithForm(page, url, { host: sshHost, port: sshd.port, ...sshd.users.password });
    await page.waitForSelector('#status[data-state="connected"]');
    await page.click('#terminal');
    const screenHas = (source: string) =>
      page.waitForFunction(
        (src) => {
          const buf = window.__webssh?.term.buffer.active;
          if (!buf) return false;
          const re = new RegExp(src, 'm');
          // The few lines around the cursor: where new output lands.
          const cursor = buf.baseY + buf.cursorY;
          for (let i = Math.max(0, cursor - 3); i <= cursor; i++) if (re.test(buf.getLine(i)?.translateToString(true) ?? '')) return true;
          return false;
        },
        source,
        { timeout: 120_000, polling: 20 },
      );
    await screenHas('\\$ ?$'); // the prompt's trailing space is a written cell
    const t0 = nowMs();
    await page.keyboard.type('seq 1 200000\n');
    await screenHas('^200000$');
    const seqSeconds = (nowMs() - t0) / 1000;

    await page.keyboard.type('stty raw -echo; echo CAT-$((2+3)); cat\n');
    await screenHas('CAT-5');
    const samples = await page.evaluate(async (n) => {
      const term = window.__webssh!.term;
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const x0 = term.buffer.active.cursorX;
        const start = performance.now();
        await new Promise<void>((resolve) => {
          const d = term.onRender(() => {
            if (term.buffer.active.cursorX !== x0) {
              d.dispose();
              resolve();
            }
          });
          term.input(String.fromCharCode(97 + (i % 26)));
        });
        out.push(performance.now() - start);
        if (term.buffer.active.cursorX > 70) term.input('\r\n'); // raw cat echoes CR LF back
        await new Promise((r) => setTimeout(r, 20));
      }
      return out;
    }, 60);
    return { seq_200000_s: round(seqSeconds, 2), key_to_glyph_p50_ms: round(percentile(samples, 50), 1), key_to_glyph_p99_ms: round(percentile(samples, 99), 1) };
  } finally {
    await browser.close();
  }
}
