// PM2 (7.x) cluster for the WebSSH gateway: `pm2 start ecosystem.config.cjs`.
//
// Each instance listens on its own port (PORT, PORT+1, …) so NGINX can route every
// request of a browser to the same worker (see nginx/ and docs/architecture.md for
// why PM2's shared-port round robin cannot carry Socket.IO long-polling).
// All gateway settings come from the environment of the `pm2 start` call.
const { availableParallelism } = require('node:os');
const { join } = require('node:path');

// The deploy tool starts PM2 from `<root>/current`, a symlink that it switches: keep the
// symlinked path (require() resolved __dirname through it) so `pm2 reload` picks up the
// release the link points to at that moment.
const appDir = process.env.WEBSSH_APP_DIR || __dirname;
const drainSeconds = Number(process.env.DRAIN_TIMEOUT_SECONDS || 30);

module.exports = {
  apps: [
    {
      name: process.env.WEBSSH_APP_NAME || 'webssh',
      cwd: appDir,
      script: join(appDir, 'dist/server/main.js'),
      exec_mode: 'cluster',
      // A 2 MB young generation (V8 lets it grow to 16 MB semispaces) keeps a flood of
      // output from adding ~20-30 MB of RSS per worker at the same CPU per MB (see
      // docs/architecture.md). Same flag as `npm start`. GATEWAY_NODE_ARGS adds more.
      node_args: ['--max-semi-space-size=2', ...(process.env.GATEWAY_NODE_ARGS || '').split(' ').filter(Boolean)],
      instances: Number(process.env.GATEWAY_INSTANCES) || availableParallelism(),
      // PORT for instance 0, PORT+1 for instance 1, …; kept across reloads.
      increment_var: 'PORT',
      env: { PORT: Number(process.env.PORT || 2222), NODE_ENV: 'production' },
      // main.js sends 'ready' once it listens and Redis is connected; only then does
      // a reload stop the old worker. A worker that never gets there is replaced anyway.
      wait_ready: true,
      listen_timeout: 20_000,
      // Reload/stop: SIGINT (or the `shutdown` message) starts the drain; PM2 must not
      // SIGKILL before the drain deadline plus the time to close SSH cleanly.
      kill_timeout: (drainSeconds + 10) * 1000,
      max_memory_restart: process.env.GATEWAY_MAX_MEMORY || '1G',
      exp_backoff_restart_delay: 200,
      // The gateway logs JSON lines with `instance` and `pid` in each; one stream for all.
      merge_logs: true,
      time: false,
    },
  ],
};
