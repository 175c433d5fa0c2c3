#!/bin/sh
# Gateway container entry: a session secret if none is configured, and PM2 run from a
# `current` release link so `npm run deploy`'s tool also works inside the container.
set -eu

# Session secret for `docker compose up` without configuration: generated once into the
# volume every worker and every gateway container of this host shares, kept across
# restarts. A multi-host deployment must set SESSION_SECRET itself (the same everywhere).
if [ -z "${SESSION_SECRET:-}" ]; then
  file=/var/lib/webssh/session-secret
  if [ ! -s "$file" ]; then
    tmp="$file.$$"
    (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex'))" > "$tmp")
    # ln fails if another container won the race: then everyone reads the winner's secret.
    ln "$tmp" "$file" 2>/dev/null || true
    rm -f "$tmp"
  fi
  SESSION_SECRET=$(cat "$file")
  export SESSION_SECRET
fi

# The image's own code is the first release (a link, nothing copied). A deploy inside the
# container adds releases/<version> and switches `current`; `pm2 reload` follows it.
root=/app/deploy
if [ ! -e "$root/current" ]; then
  mkdir -p "$root/releases"
  ln -sfn /app "$root/releases/image"
  ln -sfn releases/image "$root/current"
fi
export WEBSSH_APP_DIR="$root/current" DEPLOY_ROOT="$root"
exec "$@"
