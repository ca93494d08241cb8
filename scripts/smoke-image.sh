#!/usr/bin/env bash
# Smoke-runs one built image on one platform, as the manifests run it (read-only root, /tmp, no
# capabilities), and checks that what it ships loads there: the server answers /healthz and hashes
# with its native argon2 module (a lockfile made on x64 can miss arm64's optional native package),
# the client renders its nginx config and serves the app, the job's bundle starts and reports a
# database it cannot reach. CD runs it per architecture (arm64 under QEMU); the image suite runs it
# with podman.
#
#   scripts/smoke-image.sh LAYER IMAGE [PLATFORM]        e.g. server ghcr.io/o/r-server@sha256:… linux/arm64
#   DOCKER=podman scripts/smoke-image.sh …                 (default: docker)
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 server|client|db IMAGE [PLATFORM]" >&2; exit 2; }
layer=$1 image=$2 platform=${3:-}
docker=${DOCKER:-docker}
run=("$docker" run --read-only --tmpfs /tmp --cap-drop=ALL)
[ -n "$platform" ] && run+=(--platform "$platform")
port=${SMOKE_PORT:-$((20000 + RANDOM % 20000))}
name="plumb-smoke-$layer-$$"
# Nothing listens there: the images must start (and say so) without their dependencies.
unreachable_db=postgres://smoke:smoke@127.0.0.1:1/smoke

say() { echo "smoke($layer${platform:+ $platform}): $*" >&2; }
cleanup() { "$docker" rm --force "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

wait_http() { # URL: up to 3 minutes (QEMU is slow), then the container's log
  for _ in $(seq 1 180); do
    if curl -fsS --max-time 2 "$1" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "no answer from $1"
  "$docker" logs "$name" >&2 || true
  return 1
}

case "$layer" in
  server)
    "${run[@]}" --detach --name "$name" -p "127.0.0.1:$port:8080" \
      -e DATABASE_URL="$unreachable_db" -e WEB_CONCURRENCY=1 "$image" >/dev/null
    wait_http "http://127.0.0.1:$port/healthz"
    "$docker" exec "$name" node -e "
      const argon2 = require('/app/node_modules/@node-rs/argon2');
      const hash = argon2.hashSync('smoke');
      if (!argon2.verifySync(hash, 'smoke')) process.exit(1);
      console.error('argon2 loads and hashes on ' + process.arch);"
    ;;
  client)
    "${run[@]}" --detach --name "$name" -p "127.0.0.1:$port:8080" \
      -e API_UPSTREAM=http://127.0.0.1:1 "$image" >/dev/null
    wait_http "http://127.0.0.1:$port/healthz"
    page=$(curl -fsS "http://127.0.0.1:$port/")
    grep -q '/env-config.js' <<<"$page" || { say "the app's index.html is not served"; exit 1; }
    ;;
  db)
    set +e
    output=$("${run[@]}" --rm --network none -e DATABASE_URL="$unreachable_db" "$image" --status 2>&1)
    status=$?
    set -e
    if [ "$status" -eq 0 ] || ! grep -q '^migrate: failed' <<<"$output"; then
      say "expected the job to start and report the unreachable database (exit $status):"
      echo "$output" >&2
      exit 1
    fi
    ;;
  *) echo "unknown layer: $layer" >&2; exit 2 ;;
esac
say ok
