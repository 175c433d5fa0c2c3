/**
 * Two gateway "hosts" on loopback: two PM2 daemons (own PM2_HOME each) running the same
 * ecosystem file on different port ranges and node names, one Redis, one NGINX whose
 * upstream lists every host:port. Sessions, the registry, notices and terminate span both.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../src/tools/gatewayCluster.js';
import { startNginx, type NginxServer } from '../../src/tools/nginxServer.js';
import { Pm2 } from '../../src/tools/pm2.js';
import { freePort, freePortRange } from '../../src/tools/ports.js';
import { startRedis, type RedisServer } from '../../src/tools/redisServer.js';
import { REPO_DIR } from '../../src/tools/stack.js';
import { admin, echo, listSessions, openShell, postLogin } from '../harness/cluster.js';
import { startSshd, type TestSshd } from '../harness/sshd.js';
import { TerminalClient } from '../harness/terminalClient.js';
import { newBrowserCookie } from '../harness/resumingPage.js';

let sshd: TestSshd;
let redis: RedisServer;
let nginx: NginxServer;
const hosts = [
  { name: 'host-a', pm2: new Pm2(), ports: [] as number[] },
  { name: 'host-b', pm2: new Pm2(), ports: [] as number[] },
];
const token = randomBytes(24).toString('hex');
const open: TerminalClient[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  redis = await startRedis();
  const shared = {
    REDIS_URL: redis.url,
    SESSION_SECRET: randomBytes(32).toString('hex'), // the same on every host: required
    ADMIN_TOKEN: token,
    LISTEN_HOST: '127.0.0.1',
    TRUST_PROXY: 'loopback',
    SSH_ALLOWED_TARGETS: '127.0.0.1:*',
  };
  for (const h of hosts) {
    const basePort = await freePortRange(2);
    h.ports = await startCluster({ pm2: h.pm2, appDir: REPO_DIR, name: 'webssh', instances: 2, basePort, env: { ...shared, GATEWAY_NODE_NAME: h.name } });
  }
  nginx = await startNginx({ upstreams: hosts.flatMap((h) => h.ports.map((p) => `127.0.0.1:${p}`)), httpPort: await freePort(), httpsPort: await freePort() });
}, 120_000);

afterAll(async () => {
  open.forEach((c) => c.close());
  await nginx?.close();
  for (const h of hosts) await h.pm2.kill();
  await redis?.close();
  await sshd?.close();
}, 120_000);

describe('two gateway hosts behind one NGINX', () => {
  it('spreads sessions over both hosts and lists them all from any worker', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      open.push(await openShell(nginx.url, sshd));
      (await listSessions(nginx.url, token)).sessions.forEach((s) => seen.add(s.node.host));
    }
    expect([...seen].sort()).toEqual(['host-a', 'host-b']);
    const listing = await listSessions(`http://127.0.0.1:${hosts[1]!.ports[1]}`, token);
    expect(listing.nodes).toBe(4);
    expect(listing.sessions).toHaveLength(open.length);
  });

  it('a login on host A is honoured on host B; a notice from B reaches A; B terminates a session on A', async () => {
    const [a, b] = hosts.map((h) => `http://127.0.0.1:${h.ports[0]}`) as [string, string];
    const login = await postLogin(a, sshd);
    const onB = new TerminalClient(b, { cookie: login.cookie! });
    open.push(onB);
    onB.start('grant');
    await onB.waitForState('connected');
    const onA = await openShell(a, sshd);
    open.push(onA);

    expect((await admin(b, token, 'POST', '/notice', { message: 'host-wide notice' })).status).toBe(202);
    for (const c of [onA, onB]) await c.waitFor('notice', () => c.notices.find((n) => n.message === 'host-wide notice'));

    const newestOnA = (await listSessions(b, token)).sessions.filter((s) => s.node.host === 'host-a').at(-1)!;
    expect((await admin(b, token, 'DELETE', `/sessions/${newestOnA.id}`)).status).toBe(204);
    expect((await onA.waitForEnd()).code).toBe('ADMIN_TERMINATED');
    await echo(onB, 'b-unaffected');
  });

  it('a session owned by host A resumes on host B, relayed; an operator on host B watches it', async () => {
    const [a, b] = hosts.map((h) => `http://127.0.0.1:${h.ports[0]}`) as [string, string];
    const browser = newBrowserCookie();
    const first = new TerminalClient(a, { cookie: browser });
    open.push(first);
    first.start({ host: '127.0.0.1', port: sshd.port, ...sshd.users.password });
    const { session } = await first.waitForAttached();
    first.send('echo on-a-$((6*7))\r');
    await first.waitForText('on-a-42');
    first.close();

    const onB = new TerminalClient(b, { cookie: browser });
    open.push(onB);
    onB.resume(session, first.attached.at(-1)!.secret, first.streamOffset);
    await onB.waitForAttached();
    await echo(onB, 'relayed-to-a');
    const listed = (await listSessions(b, token)).sessions.find((s) => s.id === session);
    expect(listed).toMatchObject({ node: { host: 'host-a' }, attached: true });

    const watcher = new TerminalClient(b, { auth: { adminToken: token } });
    open.push(watcher);
    watcher.socket.emit('watch', { session });
    await watcher.waitForText('relayed-to-a-42');
    await onB.waitFor('watching notice', () => onB.notices.find((n) => /started watching/.test(n.message)));
  });
});
