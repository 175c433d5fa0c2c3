import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectionLimits } from '../../src/tools/nginxServer.js';

// Every terminal is a WebSocket that NGINX counts twice (docs/architecture.md, "Capacity").
describe('NGINX connection limits', () => {
  it('gives the stack room for 5,000 terminals and descriptors to match', () => {
    const [rlimit, events] = connectionLimits();
    const connections = Number(/worker_connections (\d+);/.exec(events!)?.[1]);
    const nofile = Number(/worker_rlimit_nofile (\d+);/.exec(rlimit!)?.[1]);
    expect(connections).toBeGreaterThanOrEqual(2 * 5000 + 1000);
    // As non-root NGINX cannot go past its inherited hard limit; root gets twice the connections.
    if (process.getuid?.() === 0) expect(nofile).toBe(2 * connections);
    else expect(nofile).toBeGreaterThan(0);
  });

  it('keeps the container main config at the same limits as the local stack', () => {
    const conf = readFileSync(new URL('../../docker/nginx/nginx.conf', import.meta.url), 'utf8');
    const connections = Number(/worker_connections (\d+)/.exec(connectionLimits()[1]!)?.[1]);
    expect(conf).toContain(`worker_connections  ${connections};`);
    // The container's master runs as root, so it gets what the local stack asks for as root.
    expect(conf).toContain(`worker_rlimit_nofile  ${2 * connections};`);
    // The image's templates render into conf.d: without this include nothing of ours loads.
    expect(conf).toContain('include /etc/nginx/conf.d/*.conf;');
  });
});
