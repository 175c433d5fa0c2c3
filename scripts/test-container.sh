#!/usr/bin/env bash
# npm run test:container (and the last step of .ci/run): build and run the compose stack
# for real, check it through NGINX on 127.0.0.1, then take everything down, on failure too.
# Uses $DOCKER_HOST or a running engine if there is one, else ../shared/container/offline-docker.
# Arguments go to vitest: npm run test:container -- -t 'docker compose stop'
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$(cd .. && pwd)/shared/container/offline-docker
own_engine=0
t0=$(date +%s)
say() { printf '== [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

say "static: docker compose config, Dockerfile lint"
node scripts/lint-dockerfiles.mjs Dockerfile docker/sshd/Dockerfile

if [ -z "${DOCKER_HOST:-}" ] && ! docker info >/dev/null 2>&1; then
  [ -x "$tool" ] || { echo "no Docker engine, and no $tool to start one"; exit 1; }
  say "starting an engine with offline-docker"
  "$tool" up >/tmp/webssh-offline-docker-up.log 2>&1 || { tail -50 /tmp/webssh-offline-docker-up.log; exit 1; }
  eval "$("$tool" env)"
  own_engine=1
fi

export COMPOSE_PROJECT_NAME=webssh-ci
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); export HTTP_PORT HTTPS_PORT
ADMIN_TOKEN=$(node -e "console.log(require('crypto').randomBytes(24).toString('hex'))"); export ADMIN_TOKEN
METRICS_TOKEN=$(node -e "console.log(require('crypto').randomBytes(24).toString('hex'))"); export METRICS_TOKEN
export GATEWAY_INSTANCES=2 DRAIN_TIMEOUT_SECONDS=30
# A POST login's grant must outlive a `docker compose restart gateway` on a loaded machine.
export GRANT_TTL_SECONDS=300

cleanup() {
  status=$?
  say "docker compose down -v"
  docker compose --profile demo down -v --timeout 60 >/dev/null 2>&1 || true
  if [ "$own_engine" = 1 ]; then say "offline-docker down"; "$tool" down >/dev/null 2>&1 || true; fi
  if [ "$status" = 0 ]; then say "container checks passed"; else say "container checks FAILED (exit $status)"; fi
}
trap cleanup EXIT

docker compose --profile demo config -q
say "compose config: ok"

say "docker compose --profile demo up -d --build --wait"
b0=$(date +%s)
docker compose --profile demo build --quiet
b1=$(date +%s)
docker compose --profile demo up -d --wait --wait-timeout 300
b2=$(date +%s)
size=$(docker image inspect webssh-gateway:local --format '{{.Size}}')
say "build $((b1 - b0)) s, up --wait $((b2 - b1)) s, gateway image $((size / 1000000)) MB"

say "checks through NGINX on 127.0.0.1:$HTTP_PORT"
npx vitest run --config vitest.container.config.ts "$@"
