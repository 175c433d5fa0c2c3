// Builds the server (tsc → dist/) and the browser bundle (esbuild → dist/public/).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const pub = join(out, 'public');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});

mkdirSync(join(pub, 'assets'), { recursive: true });
await build({
  entryPoints: [join(root, 'client/main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // The map holds the whole client source (3.3 MB): written for whoever debugs a stack
  // trace, but outside dist/public and without a sourceMappingURL, so it is never served.
  sourcemap: 'external',
  outfile: join(pub, 'assets/app.js'),
  logLevel: 'warning',
});
// The admin console (issue 13): its own small bundle, served under <base>/admin/.
await build({
  entryPoints: [join(root, 'client/admin/main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'external',
  outfile: join(pub, 'assets/admin.js'),
  logLevel: 'warning',
});
mkdirSync(join(out, 'sourcemaps'));
renameSync(join(pub, 'assets/app.js.map'), join(out, 'sourcemaps/app.js.map'));
renameSync(join(pub, 'assets/admin.js.map'), join(out, 'sourcemaps/admin.js.map'));
cpSync(join(root, 'client/admin.html'), join(pub, 'admin.html'));
cpSync(join(root, 'client/admin/admin.css'), join(pub, 'assets/admin.css'));
cpSync(join(root, 'client/index.html'), join(pub, 'index.html'));
cpSync(join(root, 'client/styles.css'), join(pub, 'assets/app.css'));
cpSync(require.resolve('@xterm/xterm/css/xterm.css'), join(pub, 'assets/xterm.css'));
