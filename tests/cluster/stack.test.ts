/**
 * The production shape for real: NGINX in front of a 2-worker PM2 cluster (one port per
 * worker), sessions and the Socket.IO adapter on Redis, OpenSSH behind. Every process is
 * started here and stopped by PID.
 */
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/tools/stack.js';
import { waitForHttp } from '../../src/tools/waitForHttp.js';
import { launchBrowser, logInWithForm, waitForScreen } from '../harness/browser.js';
import { admin, echo, listSessions, loadPagesAcross, openShell, postLogin, routeCookie, untilNginxUsesEveryWorker } from '../harness/cluster.js';
import { expectCsp, GATEWAY_CSP, NGINX_OWN_CSP } from '../harness/csp.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';

let stack: Stack;
let sshd: TestSshd;
const open: TerminalClient[] = [];
const worker = (i: number) => `http://127.0.0.1:${stack.workerPorts[i]}`;
const track = <T extends TerminalClient>(c: T) => (open.push(c), c);

beforeAll(async () => {
  sshd = await startSshd();
  stack = await startStack({ instances: 2, env: { SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'info' } });
}, 120_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  await stack?.stop();
  await sshd?.close();
}, 120_000);

describe('through NGINX', () => {
  it.each(['websocket', 'polling', 'default'] as const)('50 connects with %s transport all succeed', async (transport) => {
    let ok = 0;
    const failures: string[] = [];
    // 10 at a time: each loads the page (new routing cookie), connects, and gets an
    // answer to a message (a malformed resize), which needs both directions to work.
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const c = new TerminalClient(stack.url, { transport, cookie: await routeCookie(stack.url) });
          try {
            c.socket.emit('resize', { cols: -1, rows: 0 });
            const problem = await c.waitForProblem(1, 10_000);
            if (problem.code === 'INVALID_REQUEST') ok++;
          } catch (err) {
            failures.push(`${(err as Error).message} connectError=${String(c.connectError)}`);
          } finally {
            c.close();
          }
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(ok).toBe(50);
  });

  it('spreads browsers over both workers, and the registry sees all of them from either worker', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) {
      track(await openShell(stack.url, sshd));
      const listing = await listSessions(stack.url, stack.adminToken);
      listing.sessions.forEach((s) => seen.add(String(s.node.instance)));
    }
    expect([...seen].sort()).toEqual(['0', '1']);
    const a = await listSessions(worker(0), stack.adminToken);
    const b = await listSessions(worker(1), stack.adminToken);
    expect(a.nodes).toBe(2);
    expect(a.incomplete).toBe(false);
    expect(a.sessions.map((s) => s.id).sort()).toEqual(b.sessions.map((s) => s.id).sort());
    const one = a.sessions[0]!;
    expect(one.target).toEqual({ username: sshd.users.password.username, host: '127.0.0.1', port: sshd.port });
    // NGINX's address as seen by the worker is loopback; the forwarded client address is
    // what the registry shows (also loopback here: the test client runs on this machine).
    expect(one.client).toBe('127.0.0.1');
    expect(one.bytesOut).toBeGreaterThan(0);
  });

  it('a long-polling terminal outlasts the page timeout: an idle poll is held until the 25 s ping', async () => {
    const c = track(new TerminalClient(stack.url, { transport: 'polling', cookie: await routeCookie(stack.url) }));
    c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
    await c.waitForState('connected');
    // Idle, the server answers the pending poll only with its ping (pingInterval 25 s),
    // far past the 10 s NGINX gives pages: only the Socket.IO location may wait that long.
    const ping = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ping within 40 s')), 40_000);
      c.socket.io.engine.once('ping', () => (clearTimeout(timer), resolve()));
      c.socket.once('disconnect', (reason) => (clearTimeout(timer), reject(new Error(`disconnected before the ping: ${reason}`))));
    });
    await ping;
    expect(c.disconnectReason).toBeUndefined();
    await echo(c, 'after-idle-poll');
  }, 60_000);

  it('without a route cookie, requests stick to one worker by client address', async () => {
    // /healthz through NGINX says which worker answered; requests come from several
    // loopback addresses (NGINX's $remote_addr), none of them with a cookie.
    const workerFor = (localAddress: string) =>
      new Promise<string>((resolve, reject) =>
        httpGet(`${stack.url}/healthz`, { localAddress, agent: false, timeout: 10_000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => {
            if (res.statusCode === 200) resolve(String((JSON.parse(body) as { node: { instance: string } }).node.instance));
            else reject(new Error(`/healthz from ${localAddress}: ${res.statusCode} ${body.slice(0, 200)}`));
          });
        }).on('error', reject),
      );
    const addresses = Array.from({ length: 32 }, (_, i) => `127.0.0.${i + 1}`);
    // Both workers in NGINX's rotation first (the kill tests may have just had one out):
    // some address must reach each of them.
    await expect.poll(async () => new Set(await Promise.all(addresses.map(workerFor))).size, { timeout: 20_000, interval: 200 }).toBe(2);
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < 4; round++) {
      for (const a of addresses) seen.set(a, (seen.get(a) ?? new Set()).add(await workerFor(a)));
    }
    // Each address always reached the same worker…
    expect([...seen].filter(([, w]) => w.size !== 1).map(([a, w]) => `${a} → ${[...w].join(',')}`)).toEqual([]);
    // …and the address is what decides: 32 addresses did not all land on one worker.
    expect(new Set([...seen.values()].flatMap((w) => [...w])).size).toBe(2);
    // A terminal without a cookie follows the same rule: 127.0.0.1's worker runs it.
    const before = new Set((await listSessions(stack.url, stack.adminToken)).sessions.map((s) => s.id));
    for (let i = 0; i < 3; i++) {
      const c = track(new TerminalClient(stack.url));
      c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
      await c.waitForState('connected');
    }
    const mine = (await listSessions(stack.url, stack.adminToken)).sessions.filter((s) => !before.has(s.id));
    expect(mine.map((s) => String(s.node.instance))).toEqual(Array(3).fill([...seen.get('127.0.0.1')!][0]));
  });

  it('ignores a client-supplied X-Forwarded-For: the registry shows the address NGINX saw', async () => {
    const c = track(new TerminalClient(stack.url, { cookie: await routeCookie(stack.url), headers: { 'x-forwarded-for': '203.0.113.9' } }));
    const before = new Set((await listSessions(stack.url, stack.adminToken)).sessions.map((s) => s.id));
    c.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
    await c.waitForState('connected');
    // Find this session first (a session missing from the listing must not pass), then
    // its address: the one NGINX saw, not the one the client claimed.
    const mine = (await listSessions(stack.url, stack.adminToken)).sessions.filter((s) => !before.has(s.id));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.client).toBe('127.0.0.1');
  });

  it('sends the security headers, HSTS over TLS, and answers its own health location', async () => {
    const page = await fetch(`${stack.url}/ssh/`);
    // Exactly the gateway's policy, once: NGINX adds its own only where the gateway sent none.
    expectCsp(page.headers.get('content-security-policy'), GATEWAY_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff'); // exactly once: no "nosniff, nosniff"
    expect(page.headers.get('strict-transport-security')).toBeNull();
    const health = await fetch(`${stack.url}/nginx-health`);
    expect(await health.text()).toBe('ok\n');
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expectCsp(health.headers.get('content-security-policy'), NGINX_OWN_CSP);
    // TLS with the self-signed certificate the stack generated.
    const { request } = await import('node:https');
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) =>
      request(`${stack.httpsUrl}/ssh/`, { rejectUnauthorized: false }, (res) => (res.resume(), resolve(res.headers))).on('error', reject).end(),
    );
    expect(headers['strict-transport-security']).toBe('max-age=31536000');
    expectCsp(String(headers['content-security-policy']), GATEWAY_CSP);
    expect(String(headers['set-cookie'])).toMatch(/webssh_route=.*Secure/);
  });
});

describe('shared sessions', () => {
  it('honours a login cookie issued by one worker on every other worker', async () => {
    for (const [from, to] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const login = await postLogin(worker(from), sshd);
      expect(login.status).toBe(200);
      const c = track(new TerminalClient(worker(to), { cookie: login.cookie! }));
      c.start('grant');
      await c.waitForState('connected');
      await echo(c, `cookie-${from}-${to}`);
    }
  });
});

describe('admin across workers', () => {
  it('broadcasts a notice to terminals on every worker and terminates a session on another worker', async () => {
    const a = track(await openShell(worker(0), sshd));
    const b = track(await openShell(worker(1), sshd));
    const unauthorized = await admin(worker(0), 'not-the-token', 'POST', '/notice', { message: 'x' });
    expect(unauthorized.status).toBe(401);

    const res = await admin(worker(1), stack.adminToken, 'POST', '/notice', { message: 'maintenance at 22:00' });
    expect(res.status).toBe(202);
    for (const c of [a, b]) await c.waitFor('broadcast notice', () => c.notices.find((n) => n.message === 'maintenance at 22:00'));

    const listing = await listSessions(worker(1), stack.adminToken);
    const onWorker0 = listing.sessions.filter((s) => s.node.instance === '0').map((s) => s.id);
    expect(onWorker0.length).toBeGreaterThan(0);
    // Terminate a's session (on worker 0) by asking worker 1.
    const before = new Set(onWorker0);
    const del = await admin(worker(1), stack.adminToken, 'DELETE', `/sessions/${[...before].at(-1)}`);
    expect(del.status).toBe(204);
    expect((await a.waitForEnd()).code).toBe('ADMIN_TERMINATED');
    await echo(b, 'still-here');
    expect((await admin(worker(1), stack.adminToken, 'DELETE', `/sessions/${[...before].at(-1)}`)).status).toBe(404);
  });
});

describe('failures', () => {
  it('kill -9 of a worker ends only its sessions; PM2 restarts it; the other worker never notices', async () => {
    const victim = track(await openShell(worker(0), sshd));
    const survivor = track(await openShell(worker(1), sshd));
    const before = (await stack.pm2.list()).find((p) => p.port === stack.workerPorts[0])!;
    process.kill(before.pid, 'SIGKILL');
    await victim.waitFor('disconnect of the killed worker', () => victim.disconnectReason);
    await echo(survivor, 'unaffected');
    // PM2 brings the instance back on the same port.
    await expect
      .poll(async () => (await stack.pm2.list()).find((p) => p.port === stack.workerPorts[0]), { timeout: 20_000, interval: 200 })
      .toMatchObject({ status: 'online', restarts: before.restarts + 1 });
    const again = track(await openShell(worker(0), sshd));
    await echo(again, 'restarted');
  });

  it('kill -9 of a worker under continuous page loads: every load is answered, none hangs', async () => {
    // Both workers up, and back in NGINX's rotation (an earlier kill keeps one out 5 s):
    // otherwise no load would meet the killed worker.
    await Promise.all(stack.workerPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`, 20_000)));
    await untilNginxUsesEveryWorker(stack.url, 2);
    const victim = (await stack.pm2.list()).find((p) => p.port === stack.workerPorts[0])!;
    const logBefore = stack.nginx.errorLog().length;
    const result = await loadPagesAcross(stack.url, () => process.kill(victim.pid, 'SIGKILL'));
    const slow = result.loads.filter((l) => l.ms > 1000).map((l) => `${l.ms} ms`);
    const failovers = stack.nginx.errorLog().slice(logBefore).split('\n').filter((l) => l.includes(`upstream: "http://127.0.0.1:${stack.workerPorts[0]}/`)).length;
    console.log(
      `page loads across kill -9: ${result.loads.length}, ${result.afterAction} after the kill; slowest ${Math.max(...result.loads.map((l) => l.ms))} ms; ` +
        `over 1 s: [${slow.join(', ')}]; NGINX upstream errors on the killed worker: ${failovers}`,
    );
    expect(result.loads.filter((l) => l.status !== 200)).toEqual([]);
    expect(result.afterAction).toBeGreaterThanOrEqual(100);
    // Loads really met the dead worker: NGINX had to fail over from it.
    expect(failovers).toBeGreaterThan(0);
    // The worker really died under the loads, and PM2 brought it back.
    await expect
      .poll(async () => (await stack.pm2.list()).find((p) => p.port === stack.workerPorts[0]), { timeout: 20_000, interval: 200 })
      .toMatchObject({ status: 'online', restarts: victim.restarts + 1 });
  }, 120_000);

  it('kill -9 under a browser: the page tries to resume, is told the session is gone (SESSION_NOT_FOUND), and Reconnect logs in again', async () => {
    // Reconnect needs a worker NGINX will use: both back in its rotation first (a worker
    // an earlier kill left out, or whose stale connection just timed out, sits out 5 s).
    await untilNginxUsesEveryWorker(stack.url, 2);
    const browser = await launchBrowser();
    try {
      const page = await browser.browser.newPage();
      const before = new Set((await listSessions(stack.url, stack.adminToken)).sessions.map((s) => s.id));
      await logInWithForm(page, stack.url, { host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
      await page.waitForSelector('#status[data-state="connected"]');
      const mine = (await listSessions(stack.url, stack.adminToken)).sessions.find((s) => !before.has(s.id))!;
      process.kill(mine.node.pid, 'SIGKILL');
      await page.waitForSelector('#status[data-state="reconnecting"]');
      await page.waitForSelector('#status[data-state="ended"]', { timeout: 30_000 });
      expect(await page.textContent('#status')).toMatch(/no longer exists.*SESSION_NOT_FOUND/s);
      await page.click('#reconnect');
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 20_000 });
      await page.click('#terminal');
      await page.keyboard.type('echo "back=$((5*5))"\n');
      await waitForScreen(page, /back=25/);
    } finally {
      await browser.close();
    }
  });

  it('Redis restart: live terminals go on, logins get a fast 503, everything heals', async () => {
    // Every worker up first (the tests above killed some; PM2 brings them back).
    await Promise.all(stack.workerPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/readyz`, 20_000)));
    const live = track(await openShell(stack.url, sshd));
    await stack.redis.stop();
    try {
      // Every worker has noticed the outage (the event to wait for)…
      await expect
        .poll(async () => Promise.all(stack.workerPorts.map(async (p) => (await fetch(`http://127.0.0.1:${p}/readyz`)).status)), { timeout: 15_000, interval: 100 })
        .toEqual([503, 503]);
      // …and a login fails at once instead of waiting for Redis. Failing fast is the
      // behaviour here, so its time is asserted, with a wide margin: it takes tens of
      // milliseconds; a login that waits for Redis takes as long as the outage, or until
      // a timeout somewhere gives up (10 s with the offline queue switched back on).
      const t0 = performance.now();
      const login = await postLogin(stack.url, sshd);
      expect(login.status).toBe(503);
      expect(performance.now() - t0).toBeLessThan(5000);
      await echo(live, 'during-outage');
    } finally {
      await stack.redis.start();
    }
    await expect.poll(async () => (await fetch(`${worker(1)}/readyz`)).status, { timeout: 15_000, interval: 200 }).toBe(200);
    await expect.poll(async () => (await postLogin(stack.url, sshd)).status, { timeout: 15_000, interval: 200 }).toBe(200);
    await echo(live, 'after-outage');
  });
});
