// The gateway container's healthcheck: healthy when every PM2 worker answers /readyz
// (Redis reachable, not draining) on its own port, PORT … PORT+GATEWAY_INSTANCES-1, the
// same count ecosystem.config.cjs starts. Checking the first worker alone let
// `docker compose up --wait` return while the others were still starting (NGINX then
// marked their ports failed and moved their pages to the first worker).
/* global fetch, AbortSignal */
const { availableParallelism } = require('node:os');

const count = Number(process.env.GATEWAY_INSTANCES) || availableParallelism();
const first = Number(process.env.PORT || 2222);
const ready = (port) =>
  fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) }).then(
    (res) => {
      if (!res.ok) throw new Error(`worker on ${port}: ${res.status}`);
    },
    (err) => {
      throw new Error(`worker on ${port}: ${err.cause?.code ?? err.message}`);
    },
  );
Promise.all(Array.from({ length: count }, (_, i) => ready(first + i))).then(
  () => process.exit(0),
  (err) => {
    console.error(String(err));
    process.exit(1);
  },
);
