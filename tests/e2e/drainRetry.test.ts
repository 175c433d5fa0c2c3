/**
 * End to end, the page's own retry after a drain refusal (client/app.ts): a worker that
 * began draining between accepting the page's socket and receiving its `start` refuses
 * with SHUTTING_DOWN before any status; the page opens one fresh socket, which reaches
 * another worker, and the user gets a shell without ever seeing the refusal.
 *
 * Two real in-process gateways behind a small TCP proxy that, like NGINX's
 * `proxy_next_upstream error`, sends a connection to the second one when the first
 * refuses it (its listener is closed while it drains).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, waitForScreen, type TestBrowser } from '../harness/browser.js';
import { startGateway } from '../harness/gateway.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let tb: TestBrowser;

beforeAll(async () => {
  sshd = await startSshd();
  tb = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await tb?.close();
  await sshd?.close();
});

interface FailoverProxy {
  url: string;
  /** Which upstream (by index) each accepted connection was relayed to, in order. */
  relayedTo: number[];
  close(): Promise<void>;
}

/** Relays each TCP connection to the first upstream port that accepts it. */
async function startFailoverProxy(upstreams: number[]): Promise<FailoverProxy> {
  const relayedTo: number[] = [];
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const tryUpstream = (i: number): void => {
      const port = upstreams[i];
      if (port === undefined) return void client.destroy();
      const upstream = connect({ host: '127.0.0.1', port });
      track(upstream);
      upstream.once('error', () => tryUpstream(i + 1));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        relayedTo.push(i);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        upstream.on('error', end).on('close', end);
        client.on('error', end).on('close', end);
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryUpstream(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    relayedTo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the page retries a start refused by a draining gateway', () => {
  it('reaches the other gateway on a fresh socket; the user gets a working shell', async () => {
    const draining = await startGateway();
    const other = await startGateway();
    const proxy = await startFailoverProxy([draining.port, other.port]);
    let holder: TerminalClient | undefined;
    let drained: Promise<void> | undefined;
    try {
      // A live terminal keeps the draining gateway running (with none it would close at once).
      holder = new TerminalClient(draining.url);
      holder.start({ host: sshd.host, port: sshd.port, ...sshd.users.password });
      await holder.waitForState('connected');

      // The next socket the draining gateway accepts is the page's: the drain begins right
      // then, before the page's `start` can arrive. Record what the gateway answers it.
      const refusals: unknown[] = [];
      draining.gateway.io.on('connection', (socket) => {
        socket.onAnyOutgoing((event: string, payload: unknown) => {
          if (event === 'ended') refusals.push(payload);
        });
        drained ??= draining.gateway.drain(60_000);
      });

      const context = await tb.browser.newContext({ viewport: { width: 1000, height: 640 } });
      const page = await context.newPage();
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      // WebSocket only: a polling socket holds no connection of its own, so its next request
      // could land on the other gateway mid-handshake (README: polling clients lose their
      // session on a reload); the retry is about sockets a draining worker still holds.
      await page.goto(`${proxy.url}/ssh/?transport=websocket`);
      // Every state the status bar shows from now on, even for an instant: each change
      // records the value it replaced (the current one is read at the end).
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { seenStates: string[] }).seenStates = seen;
        new MutationObserver((changes) => seen.push(...changes.map((c) => c.oldValue ?? ''))).observe(document.querySelector('#status') as HTMLElement, {
          attributeFilter: ['data-state'],
          attributeOldValue: true,
        });
      });
      await page.fill('input[name="host"]', sshd.host);
      await page.fill('input[name="port"]', String(sshd.port));
      await page.fill('input[name="username"]', sshd.users.password.username);
      await page.fill('input[name="password"]', sshd.users.password.password);
      await page.click('#login-form button[type="submit"]');

      await page.waitForSelector('#status:is([data-state="connected"], [data-state="ended"])', { timeout: 20_000 });
      expect(await page.textContent('#status')).toMatch(/^\s*Connected to /);
      await page.click('#terminal');
      await page.keyboard.type('echo "retried-$((6*7))"\n');
      await waitForScreen(page, /^retried-42$/m);

      // It was the retry that got there: the draining gateway refused the page's start,
      // the page opened a second socket, and the session runs on the other gateway.
      expect(refusals).toEqual([expect.objectContaining({ code: 'SHUTTING_DOWN' })]);
      expect(sockets).toHaveLength(2);
      expect(other.gateway.registry.size).toBe(1);
      expect(draining.gateway.registry.size).toBe(1); // only the holder
      expect(proxy.relayedTo.at(-1)).toBe(1);
      // The user never saw the refusal, nor is a stale "restarting" notice left on screen.
      expect(await page.isHidden('#notice'), 'the drain notice is gone').toBe(true);
      const shown = await page.evaluate(() => [...(window as unknown as { seenStates: string[] }).seenStates, document.querySelector('#status')?.getAttribute('data-state')]);
      expect(shown).toContain('connecting');
      expect(shown).not.toContain('ended');
      // And the draining gateway really was draining: its live terminal got the notice.
      await holder.waitFor('the drain notice', () => holder?.notices[0]);
      await context.close();
    } finally {
      holder?.close();
      await draining.close();
      await drained;
      await other.close();
      await proxy.close();
    }
  }, 60_000);
});
