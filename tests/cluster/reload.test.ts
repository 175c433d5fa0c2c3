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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, type DeployOptions } from '../../src/tools/deploy.js';
import { startNginx, type NginxServer } from '../../src/tools/nginxServer.js';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePort, freePortRange } from '../../src/tools/ports.js';
import { startRedis, type RedisServer } from '../../src/tools/redisServer.js';
import { REPO_DIR } from '../../src/tools/stack.js';
import { echo, openShell, shellStats } from '../harness/cluster.js';
import { LINE_BYTES, openerLoad, STREAM, TICKS, ticks } from '../harness/reloadLoad.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import type { TerminalClient } from '../harness/terminalClient.js';

let sshd: TestSshd;
let redis: RedisServer;
let nginx: NginxServer;
const pm2 = new Pm2();
const root = mkdtempSync(join(tmpdir(), 'webssh-deploy-'));
let base: Omit<DeployOptions, 'version'>;
const open: TerminalClient[] = [];

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

describe('pm2 reload under load', () => {
  it('deploying v2 drops nothing: live streams complete and in order, every new session works', async () => {
    const K = 6;
    const live = await Promise.all(Array.from({ length: K }, () => openShell(nginx.url, sshd)));
    open.push(...live);
    live.forEach((c) => c.send(STREAM));
    await Promise.all(live.map((c) => c.waitForText(/tick 000005/)));

    const retriedBefore = shellStats.retriedAfterDrain;
    const deployment = deploy({ ...base, version: 'v2' });
    const load = await openerLoad(nginx.url, sshd, deployment);
    const result = await deployment;

    expect(result.workers.map((w) => w.version)).toEqual(['v2', 'v2']);
    expect(load.failures).toEqual([]);
    expect(load.attempted).toBeGreaterThan(20);
    for (const c of live) {
      await c.waitForText('STREAM-END', 30_000);
      expect(ticks(c)).toEqual(Array.from({ length: TICKS }, (_, i) => i + 1));
      // The shell's own exit, reported over the same socket: it was never cut.
      expect((await c.waitForEnd()).code).toBe('REMOTE_CLOSED');
    }
    console.log(
      `reload under load: ${K} live sessions, ${K * TICKS * LINE_BYTES} bytes verified, connects attempted ${load.attempted}, failed ${load.failures.length}, ` +
        `retried after a drain refusal ${shellStats.retriedAfterDrain - retriedBefore}, reload ${result.reloadMs} ms`,
    );
  }, 120_000);

  it('an env-only `pm2 reload --update-env` is just as drop-free', async () => {
    const c = await openShell(nginx.url, sshd);
    open.push(c);
    c.send(STREAM);
    await c.waitForText(/tick 000005/);
    // Shorter drain for the next test: new workers read it, old ones still drain with 30 s.
    await pm2.exec(['reload', 'webssh', '--update-env'], { DRAIN_TIMEOUT_SECONDS: '2' });
    await c.waitForText('STREAM-END', 30_000);
    expect(ticks(c)).toEqual(Array.from({ length: TICKS }, (_, i) => i + 1));
    expect((await c.waitForEnd()).code).toBe('REMOTE_CLOSED');
  }, 90_000);

  it('with a drain deadline shorter than the sessions, they end with a notice and SHUTTING_DOWN', async () => {
    const live = await Promise.all(Array.from({ length: 4 }, () => openShell(nginx.url, sshd)));
    open.push(...live);
    live.forEach((c) => c.send('while :; do echo busy; sleep 0.2; done\r'));
    await Promise.all(live.map((c) => c.waitForText('busy')));
    const t0 = Date.now();
    await pm2.exec(['reload', 'webssh']);
    for (const c of live) {
      const ended = await c.waitForEnd(20_000);
      expect(ended.code).toBe('SHUTTING_DOWN');
      const notice = c.notices.find((n) => n.deadline !== undefined);
      expect(notice?.deadline).toBeGreaterThan(t0);
      expect(notice!.deadline! - t0).toBeLessThan(15_000);
    }
    // The new workers serve at once.
    const fresh = await openShell(nginx.url, sshd);
    open.push(fresh);
    await echo(fresh, 'after');
  }, 90_000);
});
