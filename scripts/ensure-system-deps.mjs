// Makes sure the system binaries the test suite drives for real are installed.
// Run by `npm test` (pretest) and `npm run bench`. Quick when everything is present: only existsSync/PATH lookups.
// On Debian as root it installs what is missing with apt-get; elsewhere it fails with one line.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each requirement: how to detect it, and the Debian package that provides it. */
const REQUIREMENTS = [
  { what: 'sshd', path: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { what: 'ssh-keygen', bin: 'ssh-keygen', pkg: 'openssh-client' },
  { what: 'chromium', path: '/usr/bin/chromium', pkg: 'chromium' },
  { what: 'redis-server', bin: 'redis-server', pkg: 'redis-server' },
  { what: 'nginx', bin: 'nginx', extraDirs: ['/usr/sbin'], pkg: 'nginx' },
  { what: 'openssl', bin: 'openssl', pkg: 'openssl' },
  // gcc + PAM headers build the tiny test PAM module (tests/harness/sshd/pam_webssh_otp.c).
  { what: 'gcc', bin: 'gcc', pkg: 'gcc' },
  { what: 'PAM headers', path: '/usr/include/security/pam_modules.h', pkg: 'libpam0g-dev' },
  // node-gyp's toolchain for ssh2's native crypto binding (scripts/ssh2-binding.mjs), which
  // the keystroke test expects `npm test` to have: it runs that script after this one.
  { what: 'g++', bin: 'g++', pkg: 'g++' },
  { what: 'make', bin: 'make', pkg: 'make' },
  { what: 'python3', bin: 'python3', pkg: 'python3' },
  // The bench's file transfer client: a browser's download manager is native code, so is curl.
  { what: 'curl', bin: 'curl', pkg: 'curl' },
  // `ip` sets up the network namespace behind the HOST_UNREACHABLE test (tests/integration/errors.test.ts).
  { what: 'ip', bin: 'ip', extraDirs: ['/usr/sbin', '/sbin'], pkg: 'iproute2' },
  // The metrics tests scrape the stack with a real Prometheus (tests/harness/prometheus.ts).
  { what: 'prometheus', bin: 'prometheus', pkg: 'prometheus' },
];

const APT_TIMEOUT_MS = 15 * 60_000;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(bin, extraDirs = []) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs].filter(Boolean);
  return dirs.some((dir) => isExecutable(join(dir, bin)));
}

function missingPackages() {
  const missing = REQUIREMENTS.filter((r) => (r.path ? !existsSync(r.path) : !onPath(r.bin, r.extraDirs)));
  return [...new Set(missing.map((r) => r.pkg))];
}

function apt(args) {
  const res = spawnSync('apt-get', args, {
    stdio: 'inherit',
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : `exit code ${res.status ?? res.signal}`;
    console.error(`ensure-system-deps: apt-get ${args.join(' ')} failed (${why})`);
    process.exit(1);
  }
}

let missing = missingPackages();
if (missing.length === 0) {
  console.log('system deps: ok');
  process.exit(0);
}

const canApt = existsSync('/etc/debian_version') && process.getuid?.() === 0;
if (!canApt) {
  console.error(`missing system packages: ${missing.join(' ')} (install with: sudo apt-get install ${missing.join(' ')})`);
  process.exit(1);
}

console.log(`ensure-system-deps: installing missing system packages with apt-get: ${missing.join(' ')}`);
apt(['update']);
apt(['install', '-y', '--no-install-recommends', ...missing]);

// The package's own service (port 9090, /var/lib/prometheus) is not what the tests use:
// they start their own on a free port. Where its postinst started it, stop it again.
if (missing.includes('prometheus')) spawnSync('invoke-rc.d', ['prometheus', 'stop'], { stdio: 'ignore' });

missing = missingPackages();
if (missing.length > 0) {
  console.error(`missing system packages: ${missing.join(' ')} (still missing after apt-get install)`);
  process.exit(1);
}
console.log('ensure-system-deps: installed');
