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
mkdirSync(join(out, 'sourcemaps'));
/**
 * One browser bundle. Its map holds the whole client source (3.3 MB for the terminal
 * page): written for whoever debugs a stack trace, but outside dist/public and without a
 * sourceMappingURL, so it is never served.
 */
async function bundle(entry, name) {
  await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'external',
    outfile: join(pub, `assets/${name}`),
    logLevel: 'warning',
  });
  renameSync(join(pub, `assets/${name}.map`), join(out, `sourcemaps/${name}.map`));
}
await bundle('client/main.ts', 'app.js');
// The admin console (issue 13), served under <base>/admin/.
await bundle('client/admin/main.ts', 'admin.js');
cpSync(join(root, 'client/admin.html'), join(pub, 'admin.html'));
cpSync(join(root, 'client/admin/admin.css'), join(pub, 'assets/admin.css'));
cpSync(join(root, 'client/index.html'), join(pub, 'index.html'));
cpSync(join(root, 'client/styles.css'), join(pub, 'assets/app.css'));
cpSync(require.resolve('@xterm/xterm/css/xterm.css'), join(pub, 'assets/xterm.css'));
// The admin console's recording player (issue 15).
cpSync(require.resolve('asciinema-player/dist/bundle/asciinema-player.css'), join(pub, 'assets/asciinema-player.css'));
