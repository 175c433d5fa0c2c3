/**
 * Zero-downtime deploys for real: the deploy tool builds a release directory, switches
 * the `current` link and runs `pm2 reload` on a 2-worker cluster behind NGINX, while
 * terminals stream output and new sessions keep arriving. Then the same with a drain
 * deadline shorter than the sessions: they end with a notice, never silently.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardDir } from '../../src/tools/reaper.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, type DeployOptions } from '../../src/tools/deploy.js';
import { startNginx, type NginxServer } from '../../src/tools/nginxServer.js';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePort, freePortRange } from '../../src/tools/ports.js';
import { startRedis, type RedisServer } from '../../src/tools/redisServer.js';
import { REPO_DIR } from '../../src/tools/stack.js';
import { echo, openShell, shellStats, shellsOnEveryWorker } from '../harness/cluster.js';
import { ENDLESS_STREAM, LINE_BYTES, openerLoad, streamThroughDrain, type DrainedStream } from '../harness/reloadLoad.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import type { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let redis: RedisServer;
let nginx: NginxServer;
const pm2 = new Pm2();
const root = mkdtempSync(join(tmpdir(), 'webssh-deploy-'));
guardDir(root); // removed by the reaper if this run is killed before afterAll
let base: Omit<DeployOptions, 'version'>;
const open: TerminalClient[] = [];
const ADMIN_TOKEN = randomBytes(24).toString('hex');

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  const basePort = await freePortRange(2);
  base = {
    sourceDir: REPO_DIR,
    root,
    pm2,
    name: 'webssh',
    instances: 2,
    basePort,
    env: {
      REDIS_URL: redis.url,
      SESSION_SECRET: randomBytes(32).toString('hex'),
      LISTEN_HOST: '127.0.0.1',
      TRUST_PROXY: 'loopback',
      SSH_ALLOWED_TARGETS: '127.0.0.1:*',
      DRAIN_TIMEOUT_SECONDS: '30',
      ADMIN_TOKEN,
    },
  };
  await deploy({ ...base, version: 'v1' }); // the first deploy starts the cluster
  nginx = await startNginx({ upstreams: [basePort, basePort + 1].map((p) => `127.0.0.1:${p}`), httpPort: await freePort(), httpsPort: await freePort() });
}, 180_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  await nginx?.close();
  await pm2.kill();
  await redis?.close();
  await sshd?.close();
  rmSync(root, { recursive: true, force: true });
}, 120_000);

/**
 * The workers' drain deadline, as each test needs it: PM2 keeps the environment a
 * worker was started with, and a reload with --update-env gives the next ones a new
 * one. Read from PM2 first, so a test never depends on what an earlier one left.
 */
async function setDrainTimeout(seconds: number): Promise<void> {
  const raw = (await pm2.exec(['jlist'])).trim().split('\n').at(-1) ?? '[]';
  const current = (JSON.parse(raw) as { pm2_env: { env?: Record<string, string> } }[]).map((p) => p.pm2_env.env?.DRAIN_TIMEOUT_SECONDS);
  if (current.length > 0 && current.every((v) => v === String(seconds))) return;
  await pm2.exec(['reload', 'webssh', '--update-env'], { DRAIN_TIMEOUT_SECONDS: String(seconds) });
}

const expectDrainedComplete = (s: DrainedStream, reloadStartedAt: number) => {
  // The worker was draining while the stream ran: its notice carried the deadline, and
  // lines kept arriving after it.
  expect(s.notice.deadline).toBeGreaterThan(reloadStartedAt);
  expect(s.lines.length - s.linesAtNotice).toBeGreaterThanOrEqual(10);
  // Every line the shell sent arrived, once, in order; then the shell's own exit.
  expect(s.lines).toEqual(Array.from({ length: s.linesSent }, (_, i) => i + 1));
  expect(s.ended.code).toBe('REMOTE_CLOSED');
};

describe('pm2 reload under load', () => {
  it('deploying v2 drops nothing: streams on both draining workers complete and in order, every new session works', async () => {
    await setDrainTimeout(30);
    // Three streaming terminals on each worker, placement checked in the listing.
    const live = await shellsOnEveryWorker(nginx.url, sshd, ADMIN_TOKEN, { workers: 2, perWorker: 3 });
    open.push(...live.map((l) => l.client));
    live.forEach((l) => l.client.send(ENDLESS_STREAM));
    await Promise.all(live.map((l) => l.client.waitForText(/tick 000005/)));
    const oldPids = new Set(live.map((l) => l.session.node.pid));
    expect(oldPids.size).toBe(2);

    const t0 = Date.now();
    const retriedBefore = shellStats.retriedAfterDrain;
    const deployment = deploy({ ...base, version: 'v2' });
    // Each stream runs until its own worker drains, which PM2 does one worker after the
    // other; the old worker exits once its streams end, and only then is the reload done.
    const drained = Promise.allSettled(live.map((l) => streamThroughDrain(l.client)));
    const load = await openerLoad(nginx.url, sshd, deployment, { maxInFlight: 4 });
    const result = await deployment;
    const streams = await drained;

    expect(result.workers.map((w) => w.version)).toEqual(['v2', 'v2']);
    expect(result.workers.filter((w) => oldPids.has(w.pid))).toEqual([]);
    const failed = streams.flatMap((s, i) => (s.status === 'rejected' ? [`worker ${live[i]!.session.node.instance}: ${String(s.reason)}`] : []));
    expect(failed).toEqual([]);
    for (const s of streams) expectDrainedComplete((s as PromiseFulfilledResult<DrainedStream>).value, t0);
    expect(load.failures).toEqual([]);
    expect(load.attempted).toBeGreaterThan(20);
    const ok = streams.map((s) => (s as PromiseFulfilledResult<DrainedStream>).value);
    console.log(
      `reload under load: ${live.length} live sessions (3 per worker), ${ok.reduce((n, s) => n + s.linesSent, 0) * LINE_BYTES} bytes verified, ` +
        `lines after the drain notice ${ok.map((s) => s.lines.length - s.linesAtNotice).join('/')}, connects attempted ${load.attempted}, failed ${load.failures.length}, ` +
        `retried after a drain refusal ${shellStats.retriedAfterDrain - retriedBefore}, reload ${result.reloadMs} ms`,
    );
  }, 180_000);

  it('an env-only `pm2 reload --update-env` is just as drop-free', async () => {
    await setDrainTimeout(30);
    const c = await openShell(nginx.url, sshd);
    open.push(c);
    c.send(ENDLESS_STREAM);
    await c.waitForText(/tick 000005/);
    const t0 = Date.now();
    const reload = pm2.exec(['reload', 'webssh', '--update-env'], { DRAIN_TIMEOUT_SECONDS: '30', LOG_LEVEL: 'warn' });
    const [stream] = await Promise.all([streamThroughDrain(c), reload]);
    expectDrainedComplete(stream, t0);
  }, 120_000);

  it('with a drain deadline shorter than the sessions, they end with a notice and SHUTTING_DOWN', async () => {
    await setDrainTimeout(2);
    const live = await Promise.all(Array.from({ length: 4 }, () => openShell(nginx.url, sshd)));
    open.push(...live);
    live.forEach((c) => c.send('while :; do echo busy; sleep 0.2; done\r'));
    await Promise.all(live.map((c) => c.waitForText('busy')));
    const noticeAt = new Map<TerminalClient, number>();
    live.forEach((c) => c.socket.on('notice', (n) => n.deadline !== undefined && noticeAt.set(c, Date.now())));
    const t0 = Date.now();
    await pm2.exec(['reload', 'webssh']);
    for (const c of live) {
      const ended = await c.waitForEnd(20_000);
      expect(ended.code).toBe('SHUTTING_DOWN');
      const notice = c.notices.find((n) => n.deadline !== undefined);
      expect(notice?.deadline).toBeGreaterThan(t0);
      // The deadline is the 2 s drain, counted from the notice (30 s by default): the
      // margin is wide, the difference is what matters.
      expect(notice!.deadline! - noticeAt.get(c)!).toBeLessThan(15_000);
    }
    // The new workers serve at once.
    const fresh = await openShell(nginx.url, sshd);
    open.push(fresh);
    await echo(fresh, 'after');
  }, 120_000);
});
