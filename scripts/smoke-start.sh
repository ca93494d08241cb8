#!/usr/bin/env bash
# The README's quick start on this checkout, as a newcomer runs it after `npm ci`: `npm start` brings
# up the embedded PostgreSQL, the migrations, the API and the web page; the page, its runtime config
# and the API answer on the web port (one origin); Ctrl-C stops all of it (exit 130, as for any
# command stopped by Ctrl-C), nothing left behind. CI runs it on its fresh clone (.ci/run), and the
# layers' GitHub workflows on theirs. Ports other than the defaults, so that a developer's own
# `npm start` can keep running.
#
#   npm run smoke:start        (PORT, PLUMB_WEB_PORT, PLUMB_PG_PORT override the ports)
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT=${PORT:-18080} PLUMB_WEB_PORT=${PLUMB_WEB_PORT:-15173} PLUMB_PG_PORT=${PLUMB_PG_PORT:-15432}
web="http://127.0.0.1:$PLUMB_WEB_PORT"
log=$(mktemp)
npm start >"$log" 2>&1 &
pid=$!
fail() {
  echo "smoke-start: $*" >&2
  echo "--- npm start printed:" >&2
  cat "$log" >&2
  kill -INT "$pid" 2>/dev/null || true
  sleep 5
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  exit 1
}

# Up within 120 s (a first start initialises PostgreSQL's data directory).
for _ in $(seq 1 240); do
  grep -q 'plumb: ready: open' "$log" && break
  kill -0 "$pid" 2>/dev/null || fail "npm start exited before it was ready"
  sleep 0.5
done
grep -q 'plumb: ready: open' "$log" || fail "not ready within 120 s"

page=$(curl -sf "$web/") || fail "GET / on the web port failed"
grep -q '<div id="app">' <<<"$page" || fail "GET / is not the app's page"
curl -sf "$web/env-config.js" | grep -q '__ENV__' || fail "GET /env-config.js is not the runtime config"
info=$(curl -sf "$web/api/info") || fail "GET /api/info through the web port failed"
grep -q '"sizing"' <<<"$info" || fail "GET /api/info did not report its sizing: $info"
status=$(curl -s -o /dev/null -w '%{http_code}' "$web/api/notes")
[ "$status" = 401 ] || fail "GET /api/notes without a session answered $status, not 401"

kill -INT "$pid"
for _ in $(seq 1 40); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$pid" 2>/dev/null && fail "still running 20 s after Ctrl-C"
wait "$pid" && code=0 || code=$?
# 130 is 128 + SIGINT, what a shell reports for Ctrl-C.
[ "$code" = 0 ] || [ "$code" = 130 ] || fail "exit $code after Ctrl-C"
for port in "$PORT" "$PLUMB_WEB_PORT" "$PLUMB_PG_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port still answers after Ctrl-C"; fi
done
grep -q 'plumb: stopping' "$log" || fail "no 'stopping' line after Ctrl-C"
grep -q '"level":"\(warn\|error\|fatal\)"' "$log" && fail "the server logged a warning or an error"
echo "smoke-start: npm start came up, served the page, its config and the API on $web, and stopped on Ctrl-C (exit $code)"
rm -f "$log"
