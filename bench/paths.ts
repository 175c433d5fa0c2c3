/**
 * Starts what BENCH_PATHS asks for (default: direct,single,stack,container) against one
 * sshd, from one fresh install of the committed tree (bench/install.ts), and records how
 * each path runs: install method, ssh2 version, crypto path and TCP_NODELAY.
 * Every start is undone by stop(), also when a later start fails.
 */
import { createRequire } from 'node:module';
import type { Stack } from '../src/tools/stack.js';
import { sshCryptoPath } from '../src/server/ssh/cryptoPath.js';
import { startSshd, type TestSshd } from '../tests/harness/sshd.js';
import { nofileLimit, prepareContainer, type ContainerStack } from './container.js';
import { findEngine } from './docker.js';
import { startBenchStack, startSingle, transportOf } from './gateways.js';
import { freshInstall, type Install } from './install.js';
import { withChildren } from './stats.js';
import { startWebssh2 } from './webssh2.js';
import { directPath, gatewayPath, type BenchPath, type PathName } from './terminals.js';

export interface GatewayUnderTest {
  path: BenchPath;
  url: string;
  /** Where this gateway reaches the sshd. */
  sshHost: string;
  /** The gateway processes (CPU, RSS, memory after GC). */
  pids(): Promise<number[]>;
  /** Processes in front of it, by name (CPU per MB); `nginx` also counts for RSS. */
  front?(): Promise<Record<string, number[]>>;
  /** Measured in setup, throughput and echo only (a second way into the same deployment). */
  basicOnly?: boolean;
  /** Another product (webssh2): measured in setup, throughput, echo and concurrency. */
  peer?: boolean;
}

export interface Bench {
  sshd: TestSshd;
  direct?: BenchPath;
  gateways: GatewayUnderTest[];
  stack?: Stack;
  install?: Install;
  /** bench-results.json: how each path was installed and runs, and skipped paths with the reason. */
  info: Record<string, Record<string, unknown>>;
  stop(): Promise<void>;
}

const ssh2Version = (createRequire(import.meta.url)('ssh2/package.json') as { version: string }).version;
const ALL: PathName[] = ['direct', 'single', 'stack', 'container'];

export async function startPaths(workers: number): Promise<Bench> {
  const explicit = process.env.BENCH_PATHS !== undefined;
  const wanted = new Set((process.env.BENCH_PATHS ?? ALL.join(',')).split(',').map((s) => s.trim()));
  for (const w of wanted) if (!ALL.includes(w as PathName)) throw new Error(`BENCH_PATHS: unknown path ${w} (known: ${ALL.join(', ')})`);
  const info: Bench['info'] = {};
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of undo.splice(0).reverse()) await fn().catch((err: unknown) => process.stderr.write(`bench: stop: ${(err as Error).message}\n`));
  };
  try {
    const gateways: GatewayUnderTest[] = [];
    const install = ['single', 'stack', 'container'].some((p) => wanted.has(p)) ? freshInstall() : undefined;
    const installed = install && { install: install.method, commit: install.commit, ssh2: install.ssh2 };
    let container: ContainerStack | undefined;
    if (install && wanted.has('container')) {
      const engine = findEngine();
      if ('skipped' in engine) {
        // Never a silent pass: asked for by name, it fails; by default, it is reported as skipped.
        if (explicit) throw new Error(`container path: ${engine.skipped}`);
        process.stderr.write(`\nWARNING: the container path is SKIPPED: ${engine.skipped}\n\n`);
        info.container = { skipped: engine.skipped };
      } else {
        container = await prepareContainer(install.dir, workers, engine);
        undo.push(() => container!.stop());
        info.container = {
          install: 'docker compose build of the installed tree (its Dockerfile: npm ci + npm run build; runtime: npm ci --omit=dev --ignore-scripts)',
          commit: install.commit,
          image: 'webssh-gateway:bench',
          docker: engine.version,
          compose: engine.compose,
          engine: engine.own ? 'started by this run with offline-docker' : 'already running',
        };
      }
    }
    const sshd = await startSshd({ extraConfig: ['MaxStartups 2000', 'MaxSessions 2000'], ...(container && { listenAddresses: [container.sshHost] }) });
    undo.push(() => sshd.close());
    if (wanted.has('direct')) info.direct = { install: "the bench's own node_modules", ssh2: ssh2Version, nativeBinding: sshCryptoPath().nativeBinding, noDelay: true };
    if (install && wanted.has('single')) {
      const single = await startSingle(install.dir);
      undo.push(() => single.close());
      gateways.push({ path: gatewayPath('single', single.url, sshd), url: single.url, sshHost: '127.0.0.1', pids: () => Promise.resolve([single.pid]) });
    }
    let stack: Stack | undefined;
    if (install && wanted.has('stack')) {
      const s = (stack = await startBenchStack(install.dir, workers));
      undo.push(() => s.stop());
      const pids = async () => (await s.pm2.list()).map((p) => p.pid);
      gateways.push({ path: gatewayPath('stack', s.url, sshd), url: s.url, sshHost: '127.0.0.1', pids, front: () => Promise.resolve({ nginx: withChildren(s.nginx.pid) }) });
    }
    let proxied = false;
    if (container) {
      const c = container;
      await c.up();
      // Whether docker-proxy carries the published port: an engine with
      // `"userland-proxy": false` forwards 127.0.0.1 in the kernel instead (docs/operations.md).
      proxied = c.dockerProxyPids().length > 0;
      // What caps terminals through the published port: docker-proxy inherits the
      // engine's limit, ~6 descriptors per terminal (docs/operations.md).
      if (info.container) info.container.docker_proxy_nofile = proxied ? (nofileLimit(c.dockerProxyPids()[0]) ?? 'unknown') : 'none: no docker-proxy';
      gateways.push({
        path: gatewayPath('container', c.url, sshd, c.sshHost),
        url: c.url,
        sshHost: c.sshHost,
        pids: () => c.gatewayPids(),
        front: async () => ({ nginx: await c.nginxPids(), docker_proxy: c.dockerProxyPids() }),
      });
      // The same containers as a client on another machine reaches them: the engine
      // forwards outside traffic to a published port in the kernel (iptables DNAT);
      // docker-proxy only carries connections to the host's own loopback.
      if (process.env.BENCH_CONTAINER_BRIDGE !== '0') {
        const url = await c.bridgeUrl();
        gateways.push({ path: gatewayPath('container (bridge)', url, sshd, c.sshHost), url, sshHost: c.sshHost, pids: () => c.gatewayPids(), front: async () => ({ nginx: await c.nginxPids() }), basicOnly: true });
      }
    }
    if (container && info.container) {
      const { docker_proxy_nofile: _unused, ...image } = info.container;
      if (gateways.some((g) => g.path.name === 'container (bridge)')) info['container (bridge)'] = { ...image, reached: "NGINX's address on the compose network (no docker-proxy)" };
      info.container.reached = proxied ? 'the published port on 127.0.0.1 (docker-proxy)' : 'the published port on 127.0.0.1 (iptables DNAT: the engine runs without its userland proxy)';
    }
    // Beside ours, when asked for: billchurch/webssh2 from a checkout the user built (bench/webssh2.ts).
    if (process.env.BENCH_WEBSSH2) {
      const w = await startWebssh2(process.env.BENCH_WEBSSH2, sshd);
      undo.push(() => w.close());
      info.webssh2 = w.info;
      gateways.push({ path: w.path, url: w.url, sshHost: '127.0.0.1', pids: () => Promise.resolve([w.pid]), peer: true });
    }
    for (const g of gateways.filter((x) => !x.peer)) info[g.path.name] = { ...(!g.path.name.startsWith('container') && installed), ...info[g.path.name], ...(await transportOf(g.url)) };
    if (container && info.container) {
      info.container.ssh2 = await container.ssh2Version();
      if (info['container (bridge)']) info['container (bridge)'].ssh2 = info.container.ssh2;
    }
    // In path order, skipped ones included.
    const ordered = Object.fromEntries([...ALL, 'container (bridge)', 'webssh2'].filter((p) => info[p]).map((p) => [p, info[p]!]));
    return { sshd, ...(wanted.has('direct') && { direct: directPath(sshd) }), gateways, ...(stack && { stack }), ...(install && { install }), info: ordered, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
