# WebSSH gateway image: a PM2 cluster (pm2-runtime as PID 1) of gateway workers.
# Build stage: dev dependencies, compile the server, bundle the client.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci's postinstall tries ssh2's native binding; this stage has no compiler and does not
# need it (the runtime's node_modules come from the deps stage), so it falls back quietly.
COPY scripts/ssh2-binding.mjs scripts/ssh2-binding.mjs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.base.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY src src
COPY client client
RUN npm run build

# Production dependencies only (pm2 included: it is the process manager), with ssh2's
# native crypto binding built against the image's own Node headers (/usr/local/include/node):
# 20-25 % less CPU per MB (docs/benchmarks.md). The compiler stays in this stage. If apt or
# the build fails, ssh2 runs on its JavaScript crypto path and /healthz says so.
FROM node:24-bookworm-slim AS deps
RUN (apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*) \
    || echo "no compiler: ssh2 will use its JavaScript crypto path"
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/ssh2-binding.mjs scripts/ssh2-binding.mjs
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && node scripts/ssh2-binding.mjs && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=2222 \
    LISTEN_HOST=0.0.0.0 \
    PM2_HOME=/home/node/.pm2
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json package-lock.json ecosystem.config.cjs ./
COPY nginx nginx
COPY docker/gateway-entrypoint.sh docker/gateway-healthcheck.cjs /usr/local/bin/
# /var/lib/webssh-recordings: the compose file's `recordings` volume, which takes this
# directory's owner and mode (0700: recordings hold whatever was on screen) when created.
RUN mkdir -p /var/lib/webssh /var/lib/webssh-recordings /app/deploy && chown node:node /var/lib/webssh /var/lib/webssh-recordings /app/deploy && chmod 0700 /var/lib/webssh-recordings
USER node
EXPOSE 2222
# Readiness of every worker (Redis reachable, not draining), with what the image has: node.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "/usr/local/bin/gateway-healthcheck.cjs"]
ENTRYPOINT ["/usr/local/bin/gateway-entrypoint.sh"]
# pm2-runtime forwards SIGTERM/SIGINT as a PM2 stop: every worker drains (kill_timeout
# in ecosystem.config.cjs), then the container exits. --no-auto-exit: otherwise, once no
# worker is "online" (all of them draining) for ~8 s, pm2-runtime stops them a second
# time, and a second stop request ends a worker's terminals at once (src/server/main.ts).
CMD ["/app/node_modules/.bin/pm2-runtime", "--no-auto-exit", "/app/deploy/current/ecosystem.config.cjs"]
