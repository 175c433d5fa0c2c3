/**
 * scripts/ssh2-binding.mjs (npm ci's postinstall, the image's deps stage): builds ssh2's
 * native crypto binding offline with the Node headers beside the running binary, and
 * never fails an install: without a compiler it says ssh2 runs on its JavaScript path.
 * Runs on a private copy of ssh2 (node-gyp's rebuild cleans the build directory first).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { guardDir } from '../../src/tools/reaper.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'ssh2-binding.mjs');
let dir: string;
let release: () => void;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webssh-ssh2-binding-'));
  release = guardDir(dir);
  writeFileSync(join(dir, 'package.json'), '{"name":"binding-check","private":true}\n');
  for (const pkg of ['ssh2', 'nan', 'asn1', 'bcrypt-pbkdf', 'safer-buffer', 'tweetnacl']) {
    cpSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg), { recursive: true, dereference: true });
  }
  rmSync(join(dir, 'node_modules', 'ssh2', 'lib', 'protocol', 'crypto', 'build'), { recursive: true, force: true });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  release();
});

/** The script as npm runs it, minus npm's own hints (no npm_config_nodedir, no ~/.npmrc). */
function runScript(path: string) {
  const env = { PATH: path, HOME: dir };
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
  const loads = spawnSync(process.execPath, ['-p', "require('ssh2/lib/protocol/crypto.js').bindingAvailable"], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr, native: loads.stdout.trim() === 'true' };
}

it('without a compiler the install still succeeds, on the JavaScript crypto path, and says so', () => {
  const r = runScript('/nonexistent');
  expect(r.status).toBe(0);
  expect(r.out).toMatch(/^ssh2-binding: build failed \(.+\); ssh2 uses its JavaScript crypto path/m);
  expect(r.native).toBe(false);
});

it('with a compiler it builds the binding from the local Node headers, without the network', { timeout: 300_000 }, () => {
  const r = runScript(process.env.PATH ?? '');
  expect(r.out).toMatch(/^ssh2-binding: native crypto binding built \(headers: .+\)$/m);
  expect(r.status).toBe(0);
  expect(r.native).toBe(true);
  // Idempotent: a second install keeps it.
  expect(runScript(process.env.PATH ?? '').out).toMatch(/native crypto binding present/);
});
