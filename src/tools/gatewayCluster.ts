/**
 * One gateway "host": the PM2 cluster from ecosystem.config.cjs, started from an app
 * directory (the repo, or a deploy's `current` link) on a range of ports, and waited for
 * until every worker is ready.
 */
import { join } from 'node:path';
import type { Pm2 } from './pm2.js';
import { waitForHttp } from './waitForHttp.js';

export interface ClusterOptions {
  pm2: Pm2;
  /** Directory holding ecosystem.config.cjs and dist/ (kept as given: symlinks are followed at each reload). */
  appDir: string;
  name: string;
  instances: number;
  basePort: number;
  /** Gateway configuration (REDIS_URL, SESSION_SECRET, …). */
  env: Record<string, string>;
}

/** Where to reach the workers from this host, given their LISTEN_HOST. */
export function probeHost(env: Record<string, string>): string {
  const host = env.LISTEN_HOST;
  return host && host !== '0.0.0.0' ? host : '127.0.0.1';
}

export function workerPorts(basePort: number, instances: number): number[] {
  return Array.from({ length: instances }, (_, i) => basePort + i);
}

export async function startCluster(opts: ClusterOptions): Promise<number[]> {
  await opts.pm2.exec(['start', join(opts.appDir, 'ecosystem.config.cjs')], {
    ...opts.env,
    WEBSSH_APP_DIR: opts.appDir,
    WEBSSH_APP_NAME: opts.name,
    GATEWAY_INSTANCES: String(opts.instances),
    PORT: String(opts.basePort),
  });
  const ports = workerPorts(opts.basePort, opts.instances);
  const host = probeHost(opts.env);
  await Promise.all(ports.map((p) => waitForHttp(`http://${host}:${p}/readyz`, 30_000)));
  return ports;
}
