/**
 * Starts the gateway in-process on a free loopback port with test-friendly config and
 * captures its log lines (tests assert that secrets never appear in them).
 */
import { fileURLToPath } from 'node:url';
import session from 'express-session';
import { createGateway, type Gateway, type GatewayDeps } from '../../src/server/app.js';
import { parseConfig } from '../../src/server/config.js';
import { MemoryGrantStore } from '../../src/server/core/grantStore.js';
import { createLogger } from '../../src/server/log.js';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  port: number;
  logs: string[];
  store: session.MemoryStore;
  /** The grant store without REDIS_URL (with it, grants live in Redis). */
  grants: MemoryGrantStore;
  close(): Promise<void>;
}

/** The built page (npm test builds first), as `npm start` serves it. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../dist/public', import.meta.url));

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';

export async function startGateway(env: Record<string, string> = {}, deps: Partial<GatewayDeps> = {}): Promise<TestGateway> {
  const config = parseConfig({
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
    SSH_ALLOWED_TARGETS: '127.0.0.1:*',
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const store = new session.MemoryStore();
  const grants = new MemoryGrantStore();
  // With REDIS_URL the gateway builds its own Redis stores, as in production.
  const gateway = createGateway(config, {
    log: createLogger(config.logLevel, (l) => logs.push(l)),
    ...(config.redisUrl === undefined && { sessionStore: store, grants }),
    publicDir: PUBLIC_DIR,
    ...deps,
  });
  const port = await gateway.listen();
  return { gateway, port, url: `http://127.0.0.1:${port}`, logs, store, grants, close: () => gateway.close() };
}
