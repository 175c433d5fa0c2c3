/**
 * What ecosystem.config.cjs promises (README, "Run as a cluster"), with the real PM2:
 * `wait_ready` (a reload keeps the old worker until the new one is ready), `kill_timeout`
 * (PM2 never SIGKILLs a drain before its deadline), the memory limit and the exponential
 * back-off. Each test runs its own PM2 daemon with a one-worker app.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../src/tools/gatewayCluster.js';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePortRange } from '../../src/tools/ports.js';
import { descendants, isRunning } from '../../src/tools/procs.js';
import { startRedis } from '../../src/tools/redisServer.js';
import { REPO_DIR } from '../../src/tools/stack.js';
import { echo, openShell } from '../harness/cluster.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import type { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
}, 60_000);

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 120_000);

afterAll(async () => {
  await sshd?.close();
});

const NAME = 'webssh';

function newPm2(): Pm2 {
  const pm2 = new Pm2();
  cleanups.push(() => pm2.kill());
  return pm2;
}

function track(c: TerminalClient): TerminalClient {
  cleanups.push(() => c.close());
  return c;
}

/** One worker from the repo's ecosystem file, waited for until ready. */
async function oneWorker(pm2: Pm2, env: Record<string, string>): Promise<number> {
  const [port] = await startCluster({
    pm2,
    appDir: REPO_DIR,
    name: NAME,
    instances: 1,
    basePort: await freePortRange(1),
    env: { SESSION_SECRET: randomBytes(32).toString('hex'), LISTEN_HOST: '127.0.0.1', SSH_ALLOWED_TARGETS: '127.0.0.1:*', LOG_LEVEL: 'warn', ...env },
  });
  return port!;
}

/**
 * The PID of the worker that answers /healthz on a new connection (the PM2 primary hands
 * connections to every worker listening on the port in turn), or undefined.
 */
function healthPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { node: { pid: number } }).node.pid);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}


/** Polls `probe` until it returns a value, for at most `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await delay(everyMs); // polling interval: the next probe decides
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

describe('ecosystem.config.cjs under the real PM2', () => {
  it("wait_ready: while the new worker waits for Redis, a reload keeps the old one serving and its terminals undrained", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.close());
    const pm2 = newPm2();
    const port = await oneWorker(pm2, { REDIS_URL: redis.url });
    const url = `http://127.0.0.1:${port}`;
    const s = track(await openShell(url, sshd));
    const oldPid = await until('the first worker', () => healthPid(port), 10_000);

    await redis.stop();
    const reload = pm2.exec(['reload', NAME]);
    reload.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    // The new worker listens at once (it answers /healthz) but is not ready without Redis.
    let newListening = 0;
    const newPid = await until(
      'the new worker to answer',
      async () => {
        const pid = await healthPid(port);
        if (pid === undefined || pid === oldPid) return undefined;
        newListening = Date.now();
        return pid;
      },
      30_000,
      50,
    );
    // Watch for 3 s: without wait_ready PM2 would stop the old worker the moment the new
    // one listens (it closes its listener and drains within milliseconds).
    let oldLastAnswered = newListening;
    while (Date.now() - newListening < 3000) {
      if ((await healthPid(port)) === oldPid) oldLastAnswered = Date.now();
      await delay(50);
    }
    expect(oldLastAnswered - newListening, 'ms the old worker kept answering after the new one listened').toBeGreaterThan(2000);
    expect(s.notices).toEqual([]);
    await echo(s, 'old-worker-still-serving');

    // Redis back: the new worker sends `ready`, and only now is the old one drained.
    await redis.start();
    const notice = await s.waitFor('the drain notice', () => s.notices.find((n) => n.deadline !== undefined), 30_000);
    expect(notice.deadline).toBeGreaterThan(Date.now());
    s.send('exit\r');
    expect((await s.waitForEnd()).code).toBe('REMOTE_CLOSED');
    await reload;
    expect(await healthPid(port)).toBe(newPid);
  }, 120_000);

  it('kill_timeout: PM2 lets a draining worker reach its deadline; its terminal ends with SHUTTING_DOWN, not a kill', async () => {
    const pm2 = newPm2();
    // PM2's own default kill_timeout is 1.6 s: a 5 s drain would be SIGKILLed without ours.
    const port = await oneWorker(pm2, { DRAIN_TIMEOUT_SECONDS: '5' });
    const s = track(await openShell(`http://127.0.0.1:${port}`, sshd));
    s.send('while :; do echo busy; sleep 0.2; done\r');
    await s.waitForText('busy');
    const reload = pm2.exec(['reload', NAME]);
    reload.catch(() => undefined);
    const notice = await s.waitFor('the drain notice', () => s.notices.find((n) => n.deadline !== undefined), 30_000);
    const end = await s.waitFor('the end of the session', () => s.ended ?? (s.disconnectReason === undefined ? undefined : { code: `no ended message: ${s.disconnectReason}` }), 30_000);
    const endedAt = Date.now();
    expect(end.code).toBe('SHUTTING_DOWN');
    expect(endedAt).toBeGreaterThan(notice.deadline! - 1000);
    await reload;
  }, 90_000);

  it('max_memory_restart: a worker above GATEWAY_MAX_MEMORY is restarted by PM2', async () => {
    const pm2 = newPm2();
    // PM2 checks memory every PM2_WORKER_INTERVAL (30 s by default), a daemon setting.
    await pm2.exec(['ping'], { PM2_WORKER_INTERVAL: '1000' });
    const port = await oneWorker(pm2, { GATEWAY_MAX_MEMORY: '1M' }); // every Node process is above 1 MB
    const first = await until('the first worker', () => healthPid(port), 10_000);
    await until('a new worker', async () => {
      const pid = await healthPid(port);
      return pid !== undefined && pid !== first ? pid : undefined;
    }, 20_000);
    const [app] = await pm2.list();
    expect(app?.restarts).toBeGreaterThan(0);
    expect(readFileSync(join(pm2.home, 'pm2.log'), 'utf8')).toMatch(/restarted because it exceeds --max-memory-restart/);
  }, 60_000);

  it('exp_backoff_restart_delay: a worker that cannot start is restarted with growing delays', async () => {
    const pm2 = newPm2();
    // An invalid configuration (a short SESSION_SECRET): main.js exits with code 2 at boot.
    await pm2.exec(['start', join(REPO_DIR, 'ecosystem.config.cjs')], {
      WEBSSH_APP_DIR: REPO_DIR,
      WEBSSH_APP_NAME: NAME,
      GATEWAY_INSTANCES: '1',
      PORT: String(await freePortRange(1)),
      SESSION_SECRET: 'too-short',
    });
    const daemon = pm2.daemonPid();
    expect(daemon).toBeDefined();
    // Each worker process is a child of the PM2 daemon: note when one dies and the next appears.
    const downtimes: number[] = [];
    let current: number | undefined;
    let diedAt: number | undefined;
    const deadline = Date.now() + 45_000;
    while (downtimes.length < 7 && Date.now() < deadline) {
      const pid = descendants(daemon!).find(isRunning);
      if (pid !== current) {
        if (current !== undefined && diedAt === undefined) diedAt = Date.now();
        if (pid !== undefined) {
          if (diedAt !== undefined) downtimes.push(Date.now() - diedAt);
          diedAt = undefined;
        }
        current = pid;
      }
      await delay(25); // sampling /proc: each worker lives for its whole boot (> 100 ms)
    }
    console.log(`restart delays seen: ${downtimes.join(', ')} ms`);
    expect(downtimes).toHaveLength(7);
    // PM2 waits 200 ms after the first exit, then 1.5 times its previous delay (up to 15 s).
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(downtimes.slice(-3)) - sum(downtimes.slice(0, 3))).toBeGreaterThan(2000);
    // Still being restarted (not given up as `errored`), and the exits were the config's.
    const [app] = JSON.parse((await pm2.exec(['jlist'])).trim().split('\n').at(-1)!) as { pm2_env: { status: string; exit_code: number } }[];
    expect(app?.pm2_env.status).not.toBe('errored');
    expect(app?.pm2_env.exit_code).toBe(2);
  }, 90_000);
});
