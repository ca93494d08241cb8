#!/bin/sh
# Plumb server container start. With MIGRATE_ON_START=1 (Render's free plan, which has no
# preDeployCommand) the migrations run first, under their advisory lock, and a failure stops the
# start. Then the server replaces this shell, so it is PID 1 and receives SIGTERM to drain.
set -eu

case "${MIGRATE_ON_START:-}" in
  1 | true)
    echo "plumb-server: MIGRATE_ON_START is set; applying migrations first" >&2
    # This shell is PID 1 meanwhile: pass a stop signal on to the migration instead of ignoring it.
    node /app/bin/migrate.js &
    migrating=$!
    trap 'kill -TERM "$migrating" 2>/dev/null' TERM INT
    status=0
    wait "$migrating" || status=$?
    if [ "$status" -gt 128 ] && kill -0 "$migrating" 2>/dev/null; then
      status=0
      wait "$migrating" || status=$?
    fi
    trap - TERM INT
    [ "$status" -eq 0 ] || exit "$status"
    ;;
  0 | false | '') ;;
  *)
    echo "plumb-server: MIGRATE_ON_START must be 1, true, 0, false or empty (got '$MIGRATE_ON_START')" >&2
    exit 78
    ;;
esac

exec node /app/bin/server.js "$@"
