/**
 * Checks against the stack `docker compose --profile demo up` started (see
 * scripts/test-container.sh, which brings it up and down): through NGINX on 127.0.0.1
 * only, with the protocol client the other tests use. Not part of `npm test`.
 *
 * What the stack runs with (workers per container, drain window, stop grace period,
 * whether SESSION_SECRET is set) is read from the running containers, not assumed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { NodeIdentity, RecordingListing } from '../../src/shared/admin.js';
import type { NoticeMessage } from '../../src/shared/protocol.js';
import { echo, listSessions, routeCookie } from '../harness/cluster.js';
import { expectCsp, NGINX_OWN_CSP } from '../harness/csp.js';
import { TerminalClient, type ClientOptions } from '../harness/terminalClient.js';

const run = promisify(execFile);
const url = `http://127.0.0.1:${process.env.HTTP_PORT ?? '8080'}`;
const token = process.env.ADMIN_TOKEN ?? '';
const execOpts = { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 };
const compose = (...args: string[]) => run('docker', ['compose', ...args], execOpts);
const docker = (...args: string[]) => run('docker', args, execOpts);
const DEMO = { host: 'sshd', port: 22, username: 'demo', password: 'demo' };

/** One running gateway container, as `docker inspect` describes it. */
interface Gateway {
  id: string;
  /** The container's host name: what the gateway reports as `node.host`. */
  host: string;
  instances: number;
  drainMs: number;
  stopGraceMs: number;
  /** SESSION_SECRET as configured ('' → the entrypoint's generated one). */
  sessionSecret: string;
  /** How long a POST login's one-time grant stays valid. */
  grantTtlMs: number;
}

interface Inspected {
  Id: string;
  Config: { Hostname: string; Env: string[]; StopTimeout?: number; Healthcheck?: { Test: string[] } };
  State: { Status: string; ExitCode: number; StartedAt: string; OOMKilled: boolean };
}

async function inspect(ids: string[]): Promise<Inspected[]> {
  return JSON.parse((await docker('inspect', ...ids)).stdout) as Inspected[];
}

async function gateways(): Promise<Gateway[]> {
  const ids = (await compose('ps', '-q', 'gateway')).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) throw new Error('no gateway container is running');
  return (await inspect(ids)).map((c) => {
    const env = new Map(c.Config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return {
      id: c.Id,
      host: c.Config.Hostname,
      instances: Number(env.get('GATEWAY_INSTANCES')),
      drainMs: Number(env.get('DRAIN_TIMEOUT_SECONDS')) * 1000,
      stopGraceMs: (c.Config.StopTimeout ?? 10) * 1000,
      sessionSecret: env.get('SESSION_SECRET') ?? '',
      grantTtlMs: Number(env.get('GRANT_TTL_SECONDS') || 60) * 1000,
    };
  });
}

/** The container `docker compose exec gateway …` reaches. */
async function execTarget(): Promise<Gateway> {
  const host = (await compose('exec', '-T', 'gateway', 'hostname')).stdout.trim();
  const gw = (await gateways()).find((g) => g.host === host);
  if (!gw) throw new Error(`no running gateway container has host name ${host}`);
  return gw;
}

const nodeKey = (n: Pick<NodeIdentity, 'host' | 'instance'>) => `${n.host}/${n.instance}`;
const workersOf = (g: Gateway) => Array.from({ length: g.instances }, (_, i) => nodeKey({ host: g.host, instance: String(i) }));

/**
 * `webssh-upstreams reload` swaps NGINX's workers, and an old worker closes its idle
 * keep-alive connections. A GET that undici sends on one at that instant fails with
 * "other side closed" (UND_ERR_SOCKET; seen once in CI, in the polling after a scale-down).
 * A browser resends such a request on a new connection; these page loads do the same,
 * a bounded number of times, and only for that error.
 */
async function resentIfClosed<T>(load: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await load();
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (attempt >= 3 || code !== 'UND_ERR_SOCKET') throw err;
    }
  }
}

const pageRoute = () => resentIfClosed(() => routeCookie(url));

/** The worker NGINX sends a request with this cookie to (its /healthz names itself). */
async function workerOf(cookie: string): Promise<NodeIdentity> {
  return resentIfClosed(async () => {
    const res = await fetch(`${url}/healthz`, { headers: { cookie } });
    if (!res.ok) throw new Error(`/healthz through NGINX: ${res.status}`);
    return ((await res.json()) as { node: NodeIdentity }).node;
  });
}

/** A routing cookie (as the page sets it) for each wanted worker, found through NGINX. */
async function routesTo(workers: string[], tries = 80): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < tries && found.size < workers.length; i++) {
    const cookie = await pageRoute();
    const key = nodeKey(await workerOf(cookie));
    if (workers.includes(key) && !found.has(key)) found.set(key, cookie);
  }
  const missing = workers.filter((w) => !found.has(w));
  if (missing.length > 0) throw new Error(`no routing cookie reached ${missing.join(', ')} in ${tries} page loads`);
  return found;
}

/** Which workers the admin listing (cluster-wide) shows sessions on. */
async function sessionWorkers(): Promise<string[]> {
  const listing = await listSessions(url, token);
  expect(listing.incomplete).toBe(false);
  return listing.sessions.map((s) => nodeKey(s.node));
}

async function demoShell(cookie?: string): Promise<TerminalClient> {
  const c = new TerminalClient(url, { cookie: cookie ?? (await pageRoute()) });
  c.start(DEMO);
  await c.waitForState('connected', 30_000);
  return c;
}

/**
 * Numbered ticks every 50 ms until a line is typed, then DONE-42, then the shell exits:
 * the stream lasts exactly as long as the test needs, however slow a reload is. The
 * ticker runs in the background and the foreground waits in a plain blocking `read`
 * (a `read -t` loop can lose the typed line when its timeout races the Enter).
 */
const STREAM_UNTIL_ENTER = `(i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done) & read _; kill $!; wait $!; echo DONE-$((6*7)); exit\r`;

const ticks = (c: TerminalClient) => [...c.text.matchAll(/tick (\d+)\r\n/g)].map((m) => Number(m[1]));
const lastTick = (c: TerminalClient) => ticks(c).at(-1) ?? 0;

function expectTicksInOrder(c: TerminalClient): void {
  const seen = ticks(c);
  expect(seen.length).toBeGreaterThan(0);
  expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
}

/**
 * A streaming shell on each of `workers`, each verified through the admin listing to
 * run on its worker. Closes what it opened if it fails.
 */
async function streamingShellsOn(workers: string[]): Promise<TerminalClient[]> {
  const routes = await routesTo(workers);
  const shells: TerminalClient[] = [];
  try {
    for (const w of workers) shells.push(await demoShell(routes.get(w)));
    const placed = await sessionWorkers();
    for (const w of workers) expect(placed, `a session on ${w}`).toContain(w);
    shells.forEach((c) => c.send(STREAM_UNTIL_ENTER));
    await Promise.all(shells.map((c) => c.waitForText('tick 3\r\n')));
    return shells;
  } catch (err) {
    shells.forEach((c) => c.close());
    throw err;
  }
}

/**
 * The drain notice arrives while `c` is still streaming (the stream only stops when the
 * test types Enter), its deadline is the drain window from now, and output keeps coming
 * from the draining worker afterwards.
 */
async function drainNoticeWhileStreaming(c: TerminalClient, drainMs: number): Promise<{ notice: NoticeMessage; tickAtNotice: number }> {
  const notice = await c.waitFor(
    'a drain notice with a deadline',
    () => {
      if (c.ended) throw new Error(`session ended (${c.ended.code}) before any drain notice, at tick ${lastTick(c)}`);
      return c.notices.find((n) => typeof n.deadline === 'number');
    },
    120_000,
  );
  const at = Date.now();
  expect(notice.deadline, 'the deadline is the drain window from now').toBeGreaterThan(at + drainMs - 5_000);
  expect(notice.deadline, 'the deadline is the drain window from now').toBeLessThanOrEqual(at + drainMs + 1_000);
  const tickAtNotice = lastTick(c);
  await c.waitForText(`tick ${tickAtNotice + 20}\r\n`, 20_000); // still streaming, through the draining worker
  return { notice, tickAtNotice };
}

/** Stops the stream: the rest of it arrives in order and the session ends with the shell's exit. */
async function endsOnItsOwn(c: TerminalClient): Promise<void> {
  c.send('\r');
  await c.waitForText('DONE-42', 20_000);
  expect((await c.waitForEnd(20_000)).code).toBe('REMOTE_CLOSED'); // the shell's exit, not the drain
  expectTicksInOrder(c);
  expect(c.text.lastIndexOf('DONE-42')).toBeGreaterThan(c.text.lastIndexOf(`tick ${lastTick(c)}\r\n`));
}

/** What a POST login (webssh2-style form integration) hands the browser: the session cookie. */
async function loginCookie(route: string): Promise<string> {
  const res = await fetch(`${url}/ssh/`, {
    method: 'POST',
    headers: { cookie: route, 'content-type': 'application/json' },
    body: JSON.stringify(DEMO),
  });
  await res.text();
  expect(res.status).toBe(200);
  const sid = res.headers.getSetCookie().find((c) => c.startsWith('webssh_sid='));
  if (!sid) throw new Error('the POST login set no session cookie');
  return sid.split(';')[0]!;
}

/** Opens the terminal with the login's one-time grant, on the worker `route` leads to. */
async function grantShell(route: string, sid: string, transport: ClientOptions['transport'] = 'websocket'): Promise<TerminalClient> {
  const c = new TerminalClient(url, { cookie: `${route}; ${sid}`, transport });
  try {
    c.start('grant');
    await c.waitForState('connected', 30_000);
    await echo(c, 'grant');
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

async function scaleGateway(n: number): Promise<void> {
  await compose('--profile', 'demo', 'up', '-d', '--no-build', '--scale', `gateway=${n}`, '--wait', '--wait-timeout', '180');
  // As the README says: NGINX lists every container's address again, then reloads.
  await compose('exec', '-T', 'nginx', 'webssh-upstreams', 'reload');
  // The reload is asynchronous: wait until NGINX routes to exactly the running workers.
  const workers = new Set((await gateways()).flatMap(workersOf));
  const seen = new Set<string>();
  for (let i = 0; i < 80 && seen.size < workers.size; i++) {
    const key = nodeKey(await workerOf(await pageRoute()));
    if (!workers.has(key)) seen.clear(); // an old NGINX worker still answering
    else seen.add(key);
  }
  expect(seen.size, 'NGINX routes to every worker of every gateway container').toBe(workers.size);
}

describe('docker compose stack', () => {
  it('serves the page through NGINX with exactly the gateway CSP, and its own responses with NGINX’s', async () => {
    const res = await fetch(`${url}/ssh/`);
    expect(res.status).toBe(200);
    expectCsp(res.headers.get('content-security-policy')); // one policy, every directive exact
    expect(await res.text()).toContain('name="privateKey"');
    const health = await fetch(`${url}/nginx-health`);
    expect(health.status).toBe(200);
    expectCsp(health.headers.get('content-security-policy'), NGINX_OWN_CSP);
  });

  it('runs ssh2 on its native crypto binding (built in the image) with TCP_NODELAY, as /healthz reports through NGINX', async () => {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ssh: unknown };
    expect(health.ssh).toEqual({ crypto: { nativeBinding: true }, noDelay: true });
  });

  it('runs a command over SSH on the demo server', async () => {
    const c = await demoShell();
    try {
      await echo(c, 'container');
    } finally {
      c.close();
    }
  });

  it('records the session into the recordings volume (replayable through NGINX) and counts it in the cluster metrics', async () => {
    const marker = `rec-${Date.now().toString(36)}`;
    const c = await demoShell();
    try {
      await echo(c, marker);
      c.send('exit\r');
      expect((await c.waitForEnd()).code).toBe('REMOTE_CLOSED');
    } finally {
      c.close();
    }
    const admin = { headers: { authorization: `Bearer ${token}` } };
    // The worker that wrote it adds the end marker as the session ends; the list may be read by the other.
    const deadline = Date.now() + 15_000;
    let found: string | undefined;
    while (!found && Date.now() < deadline) {
      const listing = (await (await fetch(`${url}/ssh/admin/recordings`, admin)).json()) as RecordingListing;
      expect(listing.enabled).toBe(true);
      for (const r of listing.recordings.filter((x) => x.state === 'complete' && x.target?.username === 'demo')) {
        const text = await (await fetch(`${url}/ssh/admin/recordings/${r.name}`, admin)).text();
        if (text.includes(marker)) found = text;
      }
      if (!found) await new Promise((r) => setTimeout(r, 250)); // poll, bounded by the deadline
    }
    expect(found, 'a complete recording holding the marker').toBeDefined();
    expect(JSON.parse(found!.split('\n')[0]!)).toMatchObject({ version: 2, webssh: { target: { username: 'demo', host: 'sshd', port: 22 } } });
    expect(found).not.toContain(DEMO.password + '\r'); // keystrokes are not recorded by default

    const metricsToken = process.env.METRICS_TOKEN ?? '';
    expect((await fetch(`${url}/ssh/metrics`)).status).toBe(401);
    const text = await (await fetch(`${url}/ssh/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    const values = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
    expect(values('webssh_metrics_cluster_complete')).toEqual([1]);
    expect(values('webssh_metrics_cluster_processes')).toEqual([(await execTarget()).instances]);
    expect(values('webssh_sessions_started_total').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(values('webssh_sessions_ended_total').reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
  });

  it('calls the gateway container healthy only while every worker is ready', async () => {
    const gw = await execTarget();
    const [test] = await inspect([gw.id]);
    const [kind, ...command] = test!.Config.Healthcheck?.Test ?? [];
    expect(kind).toBe('CMD');
    // Exactly what Docker runs; resolves to its exit code.
    const healthcheck = () => docker('exec', gw.id, ...command).then(() => 0, (err: { code?: number }) => err.code ?? -1);
    const pm2 = (...args: string[]) => compose('exec', '-T', 'gateway', 'node_modules/.bin/pm2', ...args);
    const procs = JSON.parse((await pm2('jlist')).stdout) as { pm_id: number; pm2_env: { NODE_APP_INSTANCE: number } }[];
    const last = procs.find((p) => p.pm2_env.NODE_APP_INSTANCE === gw.instances - 1);
    if (!last) throw new Error(`no PM2 process is instance ${gw.instances - 1}`);
    expect(await healthcheck()).toBe(0);
    await pm2('stop', String(last.pm_id)); // the last worker: a check of the first alone still passes
    try {
      expect(await healthcheck(), `healthcheck with worker ${gw.instances - 1} stopped`).not.toBe(0);
    } finally {
      await pm2('restart', String(last.pm_id)); // returns once the worker is ready (wait_ready)
    }
    expect(await healthcheck()).toBe(0);
  });

  it('`pm2 reload` inside the gateway container drains live sessions on every worker and drops nothing', async () => {
    const gw = await execTarget();
    const shells = await streamingShellsOn(workersOf(gw));
    const reload = compose('exec', '-T', 'gateway', 'node_modules/.bin/pm2', 'reload', 'webssh');
    try {
      await Promise.all([
        reload,
        ...shells.map(async (c) => {
          await drainNoticeWhileStreaming(c, gw.drainMs);
          await endsOnItsOwn(c);
        }),
      ]);
    } finally {
      shells.forEach((c) => c.close());
      await reload.catch(() => undefined);
    }
    const after = await demoShell();
    try {
      await echo(after, 'after-reload');
    } finally {
      after.close();
    }
  });

  it('deploys new code inside the running container (release dir + pm2 reload) under live sessions on every worker', async () => {
    const gw = await execTarget();
    // "New code": this checkout's build, copied in as an operator would (`docker compose cp`
    // writes as root, so each run gets its own directory, removed as root afterwards).
    const version = `container-${Date.now()}`;
    const next = `/tmp/next-${version}`;
    try {
      await compose('exec', '-T', 'gateway', 'mkdir', '-p', next);
      for (const f of ['dist', 'package.json', 'package-lock.json', 'ecosystem.config.cjs', 'nginx']) await compose('cp', f, `gateway:${next}/${f}`);
      const shells = await streamingShellsOn(workersOf(gw));
      const deploy = compose('exec', '-T', 'gateway', 'node', 'dist/tools/cli/deploy.js', '--source', next, '--version', version);
      try {
        const [{ stdout }] = await Promise.all([
          deploy,
          Promise.all(
            shells.map(async (c) => {
              await drainNoticeWhileStreaming(c, gw.drainMs);
              await endsOnItsOwn(c);
            }),
          ),
        ]);
        expect(stdout).toContain(`deployed ${version}`);
        expect(stdout.match(new RegExp(`runs ${version}`, 'g'))).toHaveLength(gw.instances); // every worker
      } finally {
        shells.forEach((c) => c.close());
        await deploy.catch(() => undefined);
      }
    } finally {
      await compose('exec', '-T', '-u', 'root', 'gateway', 'rm', '-rf', next);
    }
  });

  it('--scale gateway=2: every worker of both containers serves, sticky by the page cookie, and opens a login cookie issued by another worker, in its container or the other (one generated secret)', async () => {
    try {
      await scaleGateway(2);
      const gws = await gateways();
      expect(gws).toHaveLength(2);
      for (const g of gws) expect(g.sessionSecret, 'SESSION_SECRET unset: the generated one is in use').toBe('');
      const routes = await routesTo(gws.flatMap(workersOf));
      for (const [worker, route] of routes) {
        for (let i = 0; i < 6; i++) expect(nodeKey(await workerOf(route)), 'every request of a page reaches its worker').toBe(worker);
      }
      // A ring through every worker, A/0 → A/1 → B/0 → B/1 → A/0: each issues a login
      // that the next one (in the same container, then in the other) opens, over the page's
      // default transports (polling first, which needs every request on one worker).
      // Shells stay open, so the listing names exactly the workers used so far.
      const ring = [...routes.keys()].sort();
      const open: TerminalClient[] = [];
      const usedOn: string[] = [];
      try {
        for (const [i, from] of ring.entries()) {
          const to = ring[(i + 1) % ring.length]!;
          const sid = await loginCookie(routes.get(from)!);
          expect(nodeKey(await workerOf(routes.get(from)!)), 'the login was issued there').toBe(from);
          open.push(await grantShell(routes.get(to)!, sid, 'default'));
          usedOn.push(to);
          expect((await sessionWorkers()).sort(), `issued on ${from}, opened on ${to}`).toEqual([...usedOn].sort());
        }
      } finally {
        open.forEach((c) => c.close());
      }
    } finally {
      await scaleGateway(1);
    }
  });

  it('keeps the generated session secret across `docker compose restart gateway`: a login cookie issued before works after', async () => {
    const before = await gateways();
    for (const g of before) expect(g.sessionSecret, 'SESSION_SECRET unset: the generated one is in use').toBe('');
    const ids = before.map((g) => g.id);
    const startedBefore = (await inspect(ids)).map((c) => c.State.StartedAt);
    const route = await pageRoute();
    const sid = await loginCookie(route);
    const issuedAt = Date.now();
    await compose('restart', 'gateway');
    await compose('up', '-d', '--no-build', '--wait', '--wait-timeout', '180', 'gateway');
    // The login's grant lives GRANT_TTL_SECONDS: past that the check below would prove nothing.
    expect(Date.now() - issuedAt, 'restart within the grant lifetime').toBeLessThan(before[0]!.grantTtlMs - 10_000);
    const startedAfter = (await inspect(ids)).map((c) => c.State.StartedAt); // the same containers, started anew
    startedAfter.forEach((t, i) => expect(t, 'the container was restarted').not.toBe(startedBefore[i]));
    const c = await grantShell(route, sid);
    c.close();
  });

  it('`docker compose stop gateway` drains: live sessions get the notice and keep working to their own end or the deadline; the container exits 0 within stop_grace_period', async () => {
    const gws = await gateways();
    const { drainMs, stopGraceMs } = gws[0]!;
    const shells = await streamingShellsOn(gws.flatMap(workersOf));
    const t0 = Date.now();
    const stop = compose('stop', 'gateway');
    try {
      await Promise.all([
        stop,
        ...shells.map(async (c, i) => {
          const { notice, tickAtNotice } = await drainNoticeWhileStreaming(c, drainMs);
          if (i === 0) return endsOnItsOwn(c); // the first ends on its own; the others outlive the drain
          const end = await c.waitForEnd(drainMs + 15_000);
          const endedAt = Date.now();
          expect(end.code).toBe('SHUTTING_DOWN');
          expect(endedAt, 'ended at its deadline, not before').toBeGreaterThanOrEqual(notice.deadline! - 1_000);
          expectTicksInOrder(c);
          expect(lastTick(c), 'kept streaming until the deadline').toBeGreaterThan(tickAtNotice + 100);
        }),
      ]);
      const stoppedMs = Date.now() - t0;
      for (const c of await inspect(gws.map((g) => g.id))) {
        expect(c.State.Status).toBe('exited');
        expect(c.State.ExitCode, 'exit code (137: killed at the end of stop_grace_period)').toBe(0);
      }
      expect(stoppedMs, 'stopped within stop_grace_period').toBeLessThan(stopGraceMs);
    } finally {
      shells.forEach((c) => c.close());
      await stop.catch(() => undefined);
      await compose('up', '-d', '--no-build', '--wait', '--wait-timeout', '180', 'gateway');
    }
  });
});
