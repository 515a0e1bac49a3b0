#!/bin/sh
# Migrate the database, then run the container's command (default: bbauth serve).
# With several backend containers, migrate once (docker compose run --rm backend bbauth db
# upgrade) and start the replicas with BBAUTH_MIGRATE_ON_START=0.
set -eu
if [ "${BBAUTH_MIGRATE_ON_START:-1}" = "1" ]; then
    bbauth db upgrade
fi
exec "$@"
