#!/bin/sh
# Session secret for `docker compose up` without configuration: generated once into the
# volume every worker and every gateway container of this host shares, kept across
# restarts. A multi-host deployment must set SESSION_SECRET itself (the same everywhere).
set -eu
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
exec "$@"
