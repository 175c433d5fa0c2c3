/**
 * The whole production shape on one machine, from the repo and temp dirs: redis-server,
 * the PM2 cluster (own PM2_HOME) and nginx in front. `npm run stack` runs it for people;
 * the cluster tests run it for themselves.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startCluster } from './gatewayCluster.js';
import { startNginx, type NginxServer } from './nginxServer.js';
import { Pm2 } from './pm2.js';
import { freePort, freePortRange } from './ports.js';
import { startRedis, type RedisServer } from './redisServer.js';

export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface StackOptions {
  instances?: number;
  /** Ports default to free ones. */
  httpPort?: number;
  httpsPort?: number;
  basePort?: number;
  /** App directory with ecosystem.config.cjs and dist/ (default: this repo). */
  appDir?: string;
  name?: string;
  /** NGINX worker_connections (see nginxServer.ts `connectionLimits`). */
  workerConnections?: number;
  /** Extra gateway configuration; wins over the stack's defaults. */
  env?: Record<string, string>;
}

export interface Stack {
  url: string;
  httpsUrl: string;
  workerPorts: number[];
  name: string;
  adminToken: string;
  env: Record<string, string>;
  redis: RedisServer;
  nginx: NginxServer;
  pm2: Pm2;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const instances = opts.instances ?? 2;
  const name = opts.name ?? 'webssh';
  const redis = await startRedis();
  const pm2 = new Pm2();
  const cleanup: (() => Promise<void>)[] = [() => redis.close(), () => pm2.kill()];
  const stop = async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  };
  try {
    const adminToken = randomBytes(24).toString('base64url');
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_TOKEN: adminToken,
      LISTEN_HOST: '127.0.0.1',
      TRUST_PROXY: 'loopback', // the NGINX hop only
      ...opts.env,
    };
    const basePort = opts.basePort ?? (await freePortRange(instances));
    const workerPorts = await startCluster({ pm2, appDir: opts.appDir ?? REPO_DIR, name, instances, basePort, env });
    const nginx = await startNginx({
      upstreams: workerPorts.map((p) => `127.0.0.1:${p}`),
      httpPort: opts.httpPort ?? (await freePort()),
      httpsPort: opts.httpsPort ?? (await freePort()),
      ...(opts.workerConnections !== undefined && { workerConnections: opts.workerConnections }),
    });
    cleanup.push(() => nginx.close());
    return { url: nginx.url, httpsUrl: nginx.httpsUrl, workerPorts, name, adminToken: env.ADMIN_TOKEN ?? adminToken, env, redis, nginx, pm2, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
