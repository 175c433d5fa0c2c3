/**
 * Zero-downtime deploy of new code on one gateway host:
 *   1. copy the build (dist/, package files, ecosystem, nginx/) into releases/<version>,
 *      with production node_modules (hard-linked from the previous release when the
 *      lockfile did not change, `npm ci --omit=dev` otherwise);
 *   2. switch the `current` symlink atomically (rename over it);
 *   3. `pm2 reload` (or the first `pm2 start`): PM2 starts a new worker per instance,
 *      waits for its `ready`, then SIGINTs the old one, which drains its SSH sessions;
 *   4. wait until every worker's /healthz reports the new version.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeHost, startCluster, workerPorts } from './gatewayCluster.js';
import type { Pm2 } from './pm2.js';
import { waitForHttp } from './waitForHttp.js';

const run = promisify(execFile);

export interface DeployOptions {
  /** The checkout to deploy from; it must be built (npm run build). */
  sourceDir: string;
  /** Holds releases/ and the `current` link. */
  root: string;
  version: string;
  pm2: Pm2;
  name: string;
  /** Used when the app is not running yet (first deploy). */
  instances: number;
  basePort: number;
  env: Record<string, string>;
  /** Releases kept besides the current one. */
  keep?: number;
  timeoutMs?: number;
}

export interface DeployResult {
  version: string;
  previous: string | undefined;
  /** From switching the link to every worker answering with the new version. */
  reloadMs: number;
  workers: { port: number; pid: number; version: string }[];
}

const RELEASE_FILES = ['dist', 'package.json', 'package-lock.json', 'ecosystem.config.cjs', 'nginx'];

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  if (!/^[A-Za-z0-9._+-]{1,64}$/.test(opts.version)) throw new Error(`invalid version "${opts.version}"`);
  const releases = join(opts.root, 'releases');
  const target = join(releases, opts.version);
  const current = join(opts.root, 'current');
  if (existsSync(target)) throw new Error(`release ${opts.version} already exists in ${releases}`);
  if (!existsSync(join(opts.sourceDir, 'dist/server/main.js'))) throw new Error(`${opts.sourceDir} is not built (npm run build)`);
  mkdirSync(releases, { recursive: true });
  const previous = existsSync(current) ? readlinkSync(current).split('/').pop() : undefined;

  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const f of RELEASE_FILES) cpSync(join(opts.sourceDir, f), join(partial, f), { recursive: true });
  writeFileSync(join(partial, 'release.json'), JSON.stringify({ version: opts.version, createdAt: new Date().toISOString() }) + '\n');
  await installDependencies(partial, previous ? join(releases, previous) : undefined);
  renameSync(partial, target);

  const started = Date.now();
  const link = `${current}.next`;
  rmSync(link, { force: true });
  symlinkSync(join('releases', opts.version), link);
  renameSync(link, current); // atomic: `current` always points at a complete release

  const running = (await opts.pm2.list()).filter((p) => p.name === opts.name);
  if (running.length > 0) await opts.pm2.exec(['reload', opts.name], {}, opts.timeoutMs ?? 600_000);
  else await startCluster({ pm2: opts.pm2, appDir: current, name: opts.name, instances: opts.instances, basePort: opts.basePort, env: opts.env });

  const ports = running.length > 0 ? [...new Set(running.map((p) => p.port))] : workerPorts(opts.basePort, opts.instances);
  const host = probeHost(opts.env);
  const workers = await Promise.all(
    ports.map(async (port) => {
      const body = await waitForHttp(`http://${host}:${port}/healthz`, 60_000, undefined, (res, text) => res.ok && (JSON.parse(text) as { version: string }).version === opts.version);
      const health = JSON.parse(body) as { version: string; node: { pid: number } };
      return { port, pid: health.node.pid, version: health.version };
    }),
  );
  pruneReleases(releases, opts.version, previous, opts.keep ?? 3);
  return { version: opts.version, previous, reloadMs: Date.now() - started, workers };
}

async function installDependencies(dir: string, previous: string | undefined): Promise<void> {
  const lock = (d: string) => readFileSync(join(d, 'package-lock.json'), 'utf8');
  if (previous && existsSync(join(previous, 'node_modules')) && lock(previous) === lock(dir)) {
    // Same lockfile: hard links cost no space and no network. Where they are impossible
    // (an image layer under overlayfs answers EXDEV), a plain copy.
    const from = join(previous, 'node_modules');
    const to = join(dir, 'node_modules');
    try {
      await run('cp', ['-al', from, to], { maxBuffer: 64 * 1024 * 1024 });
    } catch {
      rmSync(to, { recursive: true, force: true });
      await run('cp', ['-a', from, to], { maxBuffer: 64 * 1024 * 1024 });
    }
    return;
  }
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
}

/** Keeps the current release, the previous one (for a quick roll-back) and `keep - 1` more. */
function pruneReleases(releases: string, current: string, previous: string | undefined, keep: number): void {
  const old = readdirSync(releases)
    .filter((d) => d !== current && d !== previous && !d.endsWith('.partial'))
    .map((d) => ({ d, t: statSync(join(releases, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of old.slice(Math.max(0, keep - 1))) rmSync(join(releases, d), { recursive: true, force: true });
}
