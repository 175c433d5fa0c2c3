/**
 * Runs the real nginx with the repo's config (nginx/), rendered into a temp dir, in the
 * foreground as our child, stopped by PID. TLS uses the given certificate or a
 * self-signed one made with openssl. Used by `npm run stack` and the tests.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { killTree, waitForExit } from './procs.js';
import { guard } from './reaper.js';
import { waitForHttp } from './waitForHttp.js';

export const NGINX_DIR = fileURLToPath(new URL('../../nginx', import.meta.url));

export interface NginxOptions {
  /** `host:port` of every gateway worker, on every host. */
  upstreams: string[];
  /** Ports to listen on; when left out, free ones are picked (and picked again if taken meanwhile). */
  httpPort?: number;
  httpsPort?: number;
  tls?: { cert: string; key: string };
  listenHost?: string;
  /** Connections per NGINX worker; each proxied WebSocket takes two (default 16384). */
  workerConnections?: number;
}

export interface NginxServer {
  url: string;
  httpsUrl: string;
  dir: string;
  pid: number;
  /** Rewrites the upstream list and reloads nginx (SIGHUP), e.g. after scaling. */
  setUpstreams(upstreams: string[]): Promise<void>;
  errorLog(): string;
  close(): Promise<void>;
}

/** Fills the template's ${…} placeholders; an unknown one is an error, not an empty string. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`nginx template: no value for \${${name}}`);
    return v;
  });
}

export function upstreamLines(upstreams: string[]): string {
  // A worker that refuses a connection sits out 5 s; its browsers go to the next one.
  return upstreams.map((u) => `server ${u} max_fails=1 fail_timeout=5s;`).join('\n    ');
}

/** The hard RLIMIT_NOFILE this process (and so NGINX, its child) may raise its soft limit to. */
function hardNofileLimit(): number {
  try {
    const m = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === undefined || m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return Infinity;
  }
}

/**
 * NGINX's connection limits (docs/architecture.md, "Capacity"). A terminal is a WebSocket,
 * and NGINX counts both of its ends against worker_connections: the old 4096 stopped new
 * page loads and sockets at ~1,980 terminals. Each connection is a descriptor, so the
 * worker's RLIMIT_NOFILE is raised with it (twice as many, room for files and upstream
 * retries); as non-root NGINX can only go up to the hard limit it inherits.
 */
export function connectionLimits(workerConnections = 16384): string[] {
  const wanted = workerConnections * 2;
  const nofile = process.getuid?.() === 0 ? wanted : Math.min(wanted, hardNofileLimit());
  return [`worker_rlimit_nofile ${nofile};`, `events { worker_connections ${workerConnections}; }`];
}

export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export async function startNginx(opts: NginxOptions): Promise<NginxServer> {
  const dir = mkdtempSync(join(tmpdir(), 'webssh-nginx-'));
  const snippets = join(dir, 'conf');
  cpSync(NGINX_DIR, snippets, { recursive: true });
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  // As root, nginx workers run as nobody and must be able to write request bodies here.
  if (process.getuid?.() === 0) chownSync(tmp, 65534, 65534);
  const tls = opts.tls ?? selfSignedCertificate(dir);
  let releaseGuard = (): void => undefined;
  const host = opts.listenHost ?? '127.0.0.1';
  let ports = { http: opts.httpPort ?? 0, https: opts.httpsPort ?? 0 };
  let upstreamList = opts.upstreams;
  const write = (upstreams: string[]) => {
    upstreamList = upstreams;
    const values = {
      WEBSSH_UPSTREAMS: upstreamLines(upstreams),
      HTTP_PORT: `${host}:${ports.http}`,
      HTTPS_PORT: `${host}:${ports.https}`,
      TLS_CERT: tls.cert,
      TLS_KEY: tls.key,
      WEBSSH_NGINX_DIR: snippets,
    };
    for (const name of ['webssh', 'webssh-tls']) {
      writeFileSync(join(snippets, `${name}.conf`), renderTemplate(readFileSync(join(NGINX_DIR, `${name}.conf.template`), 'utf8'), values));
    }
  };
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      ...connectionLimits(opts.workerConnections),
      'http {',
      '  default_type application/octet-stream;',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};`),
      `  include ${snippets}/webssh.conf;`,
      `  include ${snippets}/webssh-tls.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const check = () => {
    try {
      execFileSync('nginx', ['-t', '-q', '-p', dir, '-e', `${dir}/error.log`, '-c', conf], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`nginx rejected the configuration: ${String((err as { stderr?: Buffer }).stderr)}`, { cause: err });
    }
  };
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  // Ports we pick may be taken by someone else before nginx binds them: pick again.
  let child: ChildProcess;
  for (let attempt = 1; ; attempt++) {
    if (opts.httpPort === undefined) ports = { ...ports, http: await freePort(host) };
    if (opts.httpsPort === undefined) ports = { ...ports, https: await freePort(host) };
    write(upstreamList);
    check();
    child = spawn('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    const release = child.pid === undefined ? () => undefined : guard(child.pid, dir);
    const started = child;
    const ok = await waitForHttp(`http://${host}:${ports.http}/nginx-health`, 10_000, () => started.exitCode === null).then(
      () => true,
      (err: unknown) => {
        if (started.pid !== undefined) killTree(started.pid, 'SIGKILL'); // a killed master leaves its workers
        const log = errorLog();
        const retry = /Address already in use/.test(log) && (opts.httpPort === undefined || opts.httpsPort === undefined) && attempt < 5;
        if (!retry) throw new Error(`nginx did not start: ${(err as Error).message}\n${log}`, { cause: err });
        return false;
      },
    );
    if (ok) {
      releaseGuard = release;
      break;
    }
    await waitForExit(started, 5_000);
    release();
  }
  const url = `http://${host}:${ports.http}`;
  return {
    url,
    httpsUrl: `https://${host}:${ports.https}`,
    dir,
    pid: child.pid!,
    errorLog,
    setUpstreams: async (upstreams) => {
      write(upstreams);
      check();
      child.kill('SIGHUP');
      await waitForHttp(`${url}/nginx-health`, 10_000);
    },
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 10_000)) && child.pid !== undefined) killTree(child.pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
      releaseGuard();
    },
  };
}
