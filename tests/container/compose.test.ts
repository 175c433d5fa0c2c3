/**
 * Checks against the stack `docker compose --profile demo up` started (see
 * scripts/test-container.sh, which brings it up and down): through NGINX on 127.0.0.1
 * only, with the protocol client the other tests use. Not part of `npm test`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { echo, listSessions, routeCookie } from '../harness/cluster.js';
import { TerminalClient } from '../harness/terminalClient.js';

const run = promisify(execFile);
const url = `http://127.0.0.1:${process.env.HTTP_PORT ?? '8080'}`;
const token = process.env.ADMIN_TOKEN ?? '';
const compose = (...args: string[]) => run('docker', ['compose', ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });

async function demoShell(): Promise<TerminalClient> {
  const c = new TerminalClient(url, { cookie: await routeCookie(url) });
  c.start({ host: 'sshd', port: 22, username: 'demo', password: 'demo' });
  await c.waitForState('connected', 30_000);
  return c;
}

describe('docker compose stack', () => {
  it('serves the page through NGINX with the security headers', async () => {
    const res = await fetch(`${url}/ssh/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('name="privateKey"');
  });

  it('runs a command over SSH on the demo server', async () => {
    const c = await demoShell();
    try {
      await echo(c, 'container');
    } finally {
      c.close();
    }
  });

  it('`pm2 reload` inside the gateway container drops no live session', async () => {
    const c = await demoShell();
    try {
      // Ends on its own: an old worker drains until its sessions end (or the deadline).
      c.send(`for i in $(seq 1 60); do echo "tick $i"; sleep 0.05; done; echo DONE-$((6*7)); exit\r`);
      await c.waitForText('tick 3');
      await compose('exec', '-T', 'gateway', 'node_modules/.bin/pm2', 'reload', 'webssh');
      await c.waitForText('DONE-42', 60_000);
      const ticks = [...c.text.matchAll(/tick (\d+)\r\n/g)].map((m) => Number(m[1]));
      expect(ticks).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect((await c.waitForEnd()).code).toBe('REMOTE_CLOSED'); // the shell's exit, not the drain
      const after = await demoShell();
      await echo(after, 'after-reload');
      after.close();
    } finally {
      c.close();
    }
  });

  it('deploys new code inside the running container (release dir + pm2 reload) under a live session', async () => {
    // "New code": this checkout's build, copied in as an operator would.
    await compose('exec', '-T', 'gateway', 'rm', '-rf', '/tmp/next');
    await compose('exec', '-T', 'gateway', 'mkdir', '-p', '/tmp/next');
    for (const f of ['dist', 'package.json', 'package-lock.json', 'ecosystem.config.cjs', 'nginx']) await compose('cp', f, `gateway:/tmp/next/${f}`);
    const c = await demoShell();
    try {
      c.send(`for i in $(seq 1 60); do echo "tick $i"; sleep 0.05; done; echo DONE-$((6*7)); exit\r`);
      await c.waitForText('tick 3');
      const { stdout } = await compose('exec', '-T', 'gateway', 'node', 'dist/tools/cli/deploy.js', '--source', '/tmp/next', '--version', 'container-v2');
      expect(stdout).toMatch(/deployed container-v2/);
      expect(stdout.match(/runs container-v2/g)).toHaveLength(2); // both workers
      await c.waitForText('DONE-42', 60_000);
      const ticks = [...c.text.matchAll(/tick (\d+)\r\n/g)].map((m) => Number(m[1]));
      expect(ticks).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect((await c.waitForEnd()).code).toBe('REMOTE_CLOSED');
    } finally {
      c.close();
    }
  });

  it('--scale gateway=2 serves from both containers', async () => {
    await compose('--profile', 'demo', 'up', '-d', '--no-build', '--scale', 'gateway=2', '--wait', '--wait-timeout', '180');
    // NGINX lists every container's address again (README), then reloads.
    await compose('exec', '-T', 'nginx', 'webssh-upstreams', 'reload');
    const hosts = new Set<string>();
    const open: TerminalClient[] = [];
    try {
      for (let i = 0; i < 30 && hosts.size < 2; i++) {
        open.push(await demoShell());
        (await listSessions(url, token)).sessions.forEach((s) => hosts.add(s.node.host));
      }
      expect(hosts.size).toBe(2);
    } finally {
      open.forEach((c) => c.close());
    }
  });
});
