import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const FILE = require.resolve('../../ecosystem.config.cjs');

interface App {
  node_args: string[];
  instances: number;
  env: { PORT: number };
  kill_timeout: number;
  max_memory_restart: string;
}

function load(env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    delete require.cache[FILE];
    return (require(FILE) as { apps: App[] }).apps[0]!;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('ecosystem.config.cjs', () => {
  afterEach(() => void delete require.cache[FILE]);

  it('runs workers with the same small young generation as npm start, plus GATEWAY_NODE_ARGS', () => {
    const pkg = require('../../package.json') as { scripts: { start: string } };
    expect(pkg.scripts.start).toContain('--max-semi-space-size=2');
    expect(load({}).node_args).toEqual(['--max-semi-space-size=2']);
    expect(load({ GATEWAY_NODE_ARGS: ' --max-old-space-size=512  --trace-warnings' }).node_args).toEqual([
      '--max-semi-space-size=2',
      '--max-old-space-size=512',
      '--trace-warnings',
    ]);
  });

  it('reads instances and the first port from the environment', () => {
    const app = load({ GATEWAY_INSTANCES: '3', PORT: '3000' });
    expect(app.instances).toBe(3);
    expect(app.env.PORT).toBe(3000);
  });

  // The real PM2 behaviour is in tests/cluster/ecosystem.test.ts; here the README's arithmetic.
  it('gives a drain DRAIN_TIMEOUT_SECONDS + 10 s before PM2 may SIGKILL, and takes the memory limit from GATEWAY_MAX_MEMORY', () => {
    expect(load({ DRAIN_TIMEOUT_SECONDS: '30' }).kill_timeout).toBe(40_000);
    expect(load({ DRAIN_TIMEOUT_SECONDS: '5' }).kill_timeout).toBe(15_000);
    expect(load({ GATEWAY_MAX_MEMORY: '300M' }).max_memory_restart).toBe('300M');
  });
});
