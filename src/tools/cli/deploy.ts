/**
 * `npm run deploy -- [--version V]`: builds this checkout and deploys it as a new release
 * (see src/tools/deploy.ts). `--source DIR` deploys another built tree instead (dist/,
 * package files, ecosystem, nginx/), e.g. one copied into a container. Settings from the
 * environment:
 *   DEPLOY_ROOT (./deploy)  where releases/ and `current` live
 *   PM2_HOME                the PM2 that runs the gateway (PM2's own default otherwise)
 *   WEBSSH_APP_NAME (webssh), GATEWAY_INSTANCES, PORT: used by the first deploy
 * Gateway variables (REDIS_URL, SESSION_SECRET, …) are read by the first deploy; later
 * deploys keep the running environment (change it with `pm2 reload … --update-env`).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deploy } from '../deploy.js';
import { Pm2 } from '../pm2.js';
import { REPO_DIR } from '../stack.js';

const { values } = parseArgs({ options: { version: { type: 'string' }, source: { type: 'string' } } });
const sourceDir = values.source ? resolve(values.source) : REPO_DIR;
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
let commit = 'local';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: sourceDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout
}
const version = values.version ?? `${stamp}-${commit}`;
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));

try {
  const result = await deploy({
    sourceDir,
    root: resolve(process.env.DEPLOY_ROOT ?? 'deploy'),
    version,
    pm2: new Pm2(process.env.PM2_HOME ?? resolve(process.env.HOME ?? '/root', '.pm2')),
    name: process.env.WEBSSH_APP_NAME ?? 'webssh',
    instances: Number(process.env.GATEWAY_INSTANCES) || availableParallelism(),
    basePort: Number(process.env.PORT ?? 2222),
    env,
  });
  process.stdout.write(`deployed ${result.version} (was ${result.previous ?? 'nothing'}) in ${result.reloadMs} ms\n`);
  for (const w of result.workers) process.stdout.write(`  port ${w.port}: pid ${w.pid} runs ${w.version}\n`);
} catch (err) {
  process.stderr.write(`deploy failed: ${(err as Error).message}\n`);
  process.exit(1);
}
