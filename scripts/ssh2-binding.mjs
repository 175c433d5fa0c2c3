// Builds ssh2's optional native crypto binding (sshcrypto.node) with the Node headers that
// are already on this machine. Run by `npm ci` (postinstall) and by the image's deps stage.
//
// Why our own step instead of ssh2's install script: node-gyp downloads Node's headers from
// nodejs.org unless it is told where they are, and a machine without internet would wait
// for that and fail. Every Node install we support ships its headers beside the binary
// (official tarballs and images: <prefix>/include/node; Debian: /usr/include/node), so we
// point node-gyp there. With the binding, ssh2 spends 20-25 % less CPU per MB and writes
// each SSH packet in one socket write (docs/benchmarks.md, docs/architecture.md).
//
// It never fails the install: without a compiler or headers, ssh2 runs on Node's own
// crypto (the "JS path"), which /healthz and the startup log report. One line says which.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const BUILD_TIMEOUT_MS = 5 * 60_000;
const say = (line) => process.stdout.write(`ssh2-binding: ${line}\n`);
const require = createRequire(join(process.cwd(), 'package.json'));

/** Headers that match the running Node exactly: a mismatch builds a module that cannot load. */
export function headersFor(version, candidates) {
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      const h = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
      const part = (name) => new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`).exec(h)?.[1];
      if (`v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` === version) return dir;
    } catch {
      // not there: try the next place
    }
  }
  return undefined;
}

function nodeGyp() {
  // npm tells its lifecycle scripts where its bundled node-gyp is; run by hand, look beside npm.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

function bindingLoads() {
  try {
    // A fresh process: this one may have cached a failed load.
    const r = spawnSync(process.execPath, ['-e', "process.exit(require('ssh2/lib/protocol/crypto.js').bindingAvailable ? 0 : 1)"], { cwd: process.cwd() });
    return r.status === 0;
  } catch {
    return false;
  }
}

function main() {
  let ssh2Dir;
  try {
    ssh2Dir = dirname(require.resolve('ssh2/package.json'));
  } catch {
    return say('ssh2 is not installed; nothing to build');
  }
  if (bindingLoads()) return say('native crypto binding present');
  const fallback = 'ssh2 uses its JavaScript crypto path';
  const nodedir = headersFor(process.version, [process.env.npm_config_nodedir, join(dirname(process.execPath), '..'), '/usr/local', '/usr']);
  if (!nodedir) return say(`no Node ${process.version} headers beside ${process.execPath}; ${fallback}`);
  const gyp = nodeGyp();
  if (!gyp) return say(`node-gyp not found (it comes with npm); ${fallback}`);
  const openssl = /^\d+/.exec(process.versions.openssl)?.[0] ?? '3';
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, `--target=${process.version}`, `--real_openssl_major=${openssl}`], {
    cwd: join(ssh2Dir, 'lib', 'protocol', 'crypto'),
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (r.status === 0 && bindingLoads()) return say(`native crypto binding built (headers: ${nodedir})`);
  const why = `${r.error?.message ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').filter((l) => /error|not found|cannot/i.test(l)).slice(0, 3).join(' | ');
  say(`build failed (${why || `exit ${r.status}`}); ${fallback}. A compiler (python3, make, g++) builds it: node scripts/ssh2-binding.mjs`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
