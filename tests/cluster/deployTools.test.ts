/**
 * The operator tools as the README tells people to use them: `npm run deploy` (its
 * built entry, dist/tools/cli/deploy.js) with real PM2, the README's
 * own roll-back commands, and `npm run stack` (dist/tools/cli/stack.js) from start to
 * Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePortRange } from '../../src/tools/ports.js';
import { REPO_DIR } from '../../src/tools/stack.js';

const run = promisify(execFile);

async function health(port: number): Promise<{ version: string; node: { pid: number } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(res.status).toBe(200);
  return (await res.json()) as { version: string; node: { pid: number } };
}

describe('npm run deploy: pruning and roll-back', () => {
  // The README's layout: `deploy/` under the directory the operator runs the commands in.
  const cwd = mkdtempSync(join(tmpdir(), 'webssh-deploytools-'));
  const releases = join(cwd, 'deploy', 'releases');
  const pm2 = new Pm2();
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    port = await freePortRange(1);
    env = {
      ...process.env,
      PM2_HOME: pm2.home,
      PORT: String(port),
      GATEWAY_INSTANCES: '1',
      LISTEN_HOST: '127.0.0.1',
      SESSION_SECRET: randomBytes(32).toString('hex'),
      DRAIN_TIMEOUT_SECONDS: '5',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await pm2.kill();
    rmSync(cwd, { recursive: true, force: true });
  }, 120_000);

  const deployCli = (version: string) => run(process.execPath, [join(REPO_DIR, 'dist/tools/cli/deploy.js'), '--version', version], { cwd, env, timeout: 180_000 });

  it('keeps the current release, the previous one and two more; the README roll-back serves the previous one', async () => {
    await deployCli('v1');
    const first = await health(port);
    expect(first.version).toBe('v1');
    // Three releases older than v1, as earlier deploys left them (a real deploy each would
    // cost a copy of node_modules and a reload, and prove nothing more about pruning).
    const now = Date.now() / 1000;
    for (const [i, v] of ['old-a', 'old-b', 'old-c'].entries()) {
      const dir = join(releases, v);
      mkdirSync(dir);
      writeFileSync(join(dir, 'release.json'), JSON.stringify({ version: v, createdAt: new Date((now - 3600 + i * 60) * 1000).toISOString() }) + '\n');
      utimesSync(dir, now - 3600 + i * 60, now - 3600 + i * 60);
    }
    utimesSync(join(releases, 'v1'), now - 60, now - 60);

    const { stdout } = await deployCli('v2');
    expect(stdout).toContain('deployed v2 (was v1)');
    expect((await health(port)).version).toBe('v2');
    // README: "Old releases are pruned (the current, the previous and two more stay)".
    expect(readdirSync(releases).sort()).toEqual(['old-b', 'old-c', 'v1', 'v2']);

    // README: rolling back is `ln -sfn releases/<old> deploy/current.next && mv -T … && pm2 reload webssh`,
    // run here exactly as written there, with `pm2` the project's own.
    const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
    const rollback = /`(ln -sfn releases\/<old> [^`]+)`/.exec(readme)?.[1];
    expect(rollback).toMatch(/pm2 reload webssh$/);
    const before = await health(port);
    await run('sh', ['-c', rollback!.replace('<old>', 'v1')], {
      cwd,
      env: { ...env, PATH: `${join(REPO_DIR, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
      timeout: 120_000,
    });
    expect(readlinkSync(join(cwd, 'deploy', 'current'))).toBe(join('releases', 'v1'));
    // `pm2 reload` returns once the new worker is ready and the old one gone.
    const after = await health(port);
    expect(after.version).toBe('v1');
    expect(after.node.pid).not.toBe(before.node.pid);
  }, 300_000);
});
