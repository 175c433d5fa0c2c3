/**
 * The container path: the installed tree's docker-compose.yml and image, exactly what
 * `docker compose up` runs there (plus bench/compose.bench.yml: the heap probe and an own
 * image tag), reached through its NGINX on 127.0.0.1:<free port>. A unique project name,
 * and `docker compose down -v` on every exit path: stop(), Ctrl-C, and a death watch for
 * the rest (bench/docker.ts onOwnerDeath).
 *
 * The containers cannot reach the host's 127.0.0.1, so the bench's sshd also listens on
 * the host's address on the project's network (its bridge gateway), and the gateway may
 * connect to that address only (SSH_ALLOWED_TARGETS `<address>:*`: the sshd, and the
 * capacity scenario's own target on another port).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../src/tools/ports.js';
import { descendants } from '../src/tools/procs.js';
import { onOwnerDeath, stopEngine, type Engine } from './docker.js';
import { BENCH_LIMITS } from './gateways.js';
import { HEAP_DIR } from './liveMemory.js';

const run = promisify(execFile);
const OVERRIDE = fileURLToPath(new URL('./compose.bench.yml', import.meta.url));
const PROBE = fileURLToPath(new URL('./heapProbe.cjs', import.meta.url));

export interface ContainerStack {
  /** The address the containers reach the host's sshd at: start the sshd listening there too. */
  sshHost: string;
  url: string;
  /** Starts the containers once the sshd listens on sshHost. */
  up(): Promise<void>;
  /** The gateway workers (children of each container's pm2-runtime, as PM2's list is for the stack). */
  gatewayPids(): Promise<number[]>;
  /** NGINX's master and workers. */
  nginxPids(): Promise<number[]>;
  /** ssh2's version in the image (its own `npm ci`). */
  ssh2Version(): Promise<string>;
  /** Docker's userland proxy for the published port: loopback traffic to it goes through one. */
  dockerProxyPids(): number[];
  /**
   * NGINX at its own address on the project's network, after up(): no docker-proxy on the
   * way. A client on another machine does not meet docker-proxy either (the engine's
   * iptables DNAT, in the kernel, carries traffic to a published port from outside).
   */
  bridgeUrl(): Promise<string>;
  stop(): Promise<void>;
}

/** A process's `Max open files` (soft limit), or undefined once it is gone. */
export function nofileLimit(pid: number | undefined): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

/** Builds the image and creates the project's network; the containers start with up(). */
export async function prepareContainer(tree: string, workers: number, engine: Engine): Promise<ContainerStack> {
  const project = `webssh-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  // The probe in the containers runs as user node (uid 1000) and writes its reports here.
  chmodSync(HEAP_DIR, 0o1777);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    COMPOSE_PROJECT_NAME: project,
    HTTP_PORT: String(httpPort),
    HTTPS_PORT: String(httpsPort),
    GATEWAY_INSTANCES: String(workers),
    LOG_LEVEL: 'warn',
    BENCH_PROBE: PROBE,
    BENCH_HEAP_DIR: HEAP_DIR,
  };
  const files = ['-f', join(tree, 'docker-compose.yml'), '-f', OVERRIDE];
  const compose = async (...args: string[]) => {
    try {
      return (await run('docker', ['compose', '-p', project, ...files, ...args], { env, timeout: 900_000, maxBuffer: 16 << 20 })).stdout.trim();
    } catch (err) {
      throw new Error(`docker compose ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
    }
  };
  const down = `docker compose -p ${project} -f '${files[1]}' -f '${OVERRIDE}' down -v --timeout 10`;
  // One watch, in order: the containers go before the engine that runs them.
  const unwatch = onOwnerDeath(engine.own ? `${down}; '${engine.tool}' down` : down, env);
  engine.handOver();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await compose('down', '-v', '--timeout', '60').catch((err: unknown) => process.stderr.write(`bench: ${(err as Error).message}\n`));
      stopEngine(engine);
      unwatch();
    })());
  const initPids = async (service: string) => {
    const ids = (await compose('ps', '-q', service)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    return (await run('docker', ['inspect', '-f', '{{.State.Pid}}', ...ids], { env })).stdout.split('\n').filter(Boolean).map(Number);
  };
  try {
    process.stderr.write(`bench: container path: docker compose build (project ${project})\n`);
    await compose('build', '--quiet');
    await compose('up', '--no-start', 'redis'); // creates the project's network
    const sshHost = (await run('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', `${project}_default`], { env })).stdout.trim();
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(sshHost)) throw new Error(`no IPv4 gateway on network ${project}_default: ${JSON.stringify(sshHost)}`);
    return {
      sshHost,
      url: `http://127.0.0.1:${httpPort}`,
      up: async () => {
        env.SSH_ALLOWED_TARGETS = `${sshHost}:*`;
        // Every bench terminal comes from one address and logs into one account: no
        // per-address session limit, and no queue of at most 5 logins per account.
        Object.assign(env, BENCH_LIMITS);
        await compose('up', '-d', '--wait', '--wait-timeout', '300');
      },
      ssh2Version: () => compose('exec', '-T', 'gateway', 'node', '-p', "require('/app/node_modules/ssh2/package.json').version"),
      gatewayPids: async () => (await initPids('gateway')).flatMap((p) => descendants(p)),
      nginxPids: async () => (await initPids('nginx')).flatMap((p) => [p, ...descendants(p)]),
      bridgeUrl: async () => {
        const id = (await compose('ps', '-q', 'nginx')).split('\n')[0] ?? '';
        const ip = (await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id], { env })).stdout.trim();
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`no IPv4 address for the nginx container: ${JSON.stringify(ip)}`);
        return `http://${ip}:80`;
      },
      dockerProxyPids: () =>
        readdirSync('/proc')
          .filter((e) => /^\d+$/.test(e))
          .map(Number)
          .filter((p) => {
            const argv = cmdline(p);
            return argv[0]?.endsWith('docker-proxy') === true && argv[argv.indexOf('-host-port') + 1] === String(httpPort);
          }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
