/**
 * The gateway the bench measures is installed the way the README installs it: the
 * committed tree (`git archive HEAD`, so no leftovers of a dev tree), `npm ci`, then the
 * build `npm start` runs. Uncommitted changes are not measured, and the run says so.
 *
 * The tree is kept as a cache per commit in /tmp/webssh-bench-install-<commit>: a build
 * that finished carries INSTALLED and is reused (BENCH_FRESH_INSTALL=1 reinstalls). While
 * it is being made the dir is guarded by the reaper, so a killed install leaves nothing
 * half-built behind. Trees of other commits unused for an hour are removed at start.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardDir } from '../src/tools/reaper.js';

const DEV_TREE = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = 'webssh-bench-install-';
const DONE = 'INSTALLED';
const STALE_MS = 3600_000;

export interface Install {
  dir: string;
  commit: string;
  /** `git status --porcelain` of the dev tree: changes this run does not measure. */
  uncommitted: string[];
  reused: boolean;
  method: string;
  ssh2: string;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: DEV_TREE, encoding: 'utf8' }).trimEnd();

/** npm as a user runs it: none of the outer `npm run bench`'s npm_* settings leak in. */
function npm(dir: string, args: string[]): void {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  const r = spawnSync('npm', args, { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} in ${dir} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function pruneOthers(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (!name.startsWith(PREFIX) || dir === keep) continue;
    const marker = join(dir, DONE);
    // Unfinished trees of a live run are guarded by that run's reaper; leave them alone.
    if (existsSync(marker) && Date.now() - statSync(marker).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true });
  }
}

export function freshInstall(): Install {
  const commit = git('rev-parse', 'HEAD');
  const uncommitted = git('status', '--porcelain').split('\n').filter(Boolean);
  if (uncommitted.length > 0) {
    process.stderr.write(`WARNING: ${uncommitted.length} uncommitted change(s) in ${DEV_TREE} are NOT measured; the bench runs commit ${commit.slice(0, 12)}:\n${uncommitted.map((l) => `  ${l}\n`).join('')}`);
  }
  const dir = join(tmpdir(), `${PREFIX}${commit.slice(0, 12)}`);
  pruneOthers(dir);
  const marker = join(dir, DONE);
  const reused = existsSync(marker) && process.env.BENCH_FRESH_INSTALL !== '1';
  if (reused) {
    const now = new Date();
    utimesSync(marker, now, now); // last use, for pruneOthers
    process.stderr.write(`bench: reusing the install of ${commit.slice(0, 12)} in ${dir} (BENCH_FRESH_INSTALL=1 to redo it)\n`);
  } else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const release = guardDir(dir);
    process.stderr.write(`bench: installing ${commit.slice(0, 12)} into ${dir}: git archive, npm ci, npm run build\n`);
    execFileSync('sh', ['-c', `git archive --format=tar "$1" | tar -x -C "$2"`, 'sh', commit, dir], { cwd: DEV_TREE, stdio: ['ignore', 'inherit', 'inherit'] });
    npm(dir, ['ci', '--no-audit', '--no-fund']);
    npm(dir, ['run', 'build']);
    writeFileSync(marker, `${commit}\n`);
    release(); // finished: kept as the cache for this commit
  }
  const ssh2 = (JSON.parse(readFileSync(join(dir, 'node_modules/ssh2/package.json'), 'utf8')) as { version: string }).version;
  return { dir, commit, uncommitted, reused, method: 'git archive HEAD → npm ci --no-audit --no-fund → npm run build', ssh2 };
}
