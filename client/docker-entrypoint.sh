#!/bin/sh
# Plumb client container start: check the settings, write /env-config.js from the allow-listed
# CLIENT_* variables (JSON-escaped, so no value can inject script) and nginx's configuration, all into
# RUNTIME_DIR (the root filesystem stays read-only), then exec nginx in the foreground as PID 1.
set -eu

RUNTIME_DIR=${RUNTIME_DIR:-/tmp/plumb-client}
WEB_ROOT=${WEB_ROOT:-/usr/share/nginx/html}
TEMPLATE_DIR=${TEMPLATE_DIR:-/etc/plumb}
PORT=${PORT:-8080}

fail() {
  echo "plumb-client: $*" >&2
  exit 78
}

[ -n "${API_UPSTREAM:-}" ] || fail "API_UPSTREAM is required: where /api/ is proxied, e.g. http://plumb-server:8080"
case "$API_UPSTREAM" in
  http://* | https://*) ;;
  *) API_UPSTREAM="http://$API_UPSTREAM" ;; # Render's fromService hostport is host:port
esac
API_UPSTREAM=${API_UPSTREAM%/}
printf '%s' "$API_UPSTREAM" | grep -Eq '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$' ||
  fail "API_UPSTREAM must be http(s)://host[:port] or host:port"
printf '%s' "$PORT" | grep -Eq '^[0-9]{1,5}$' || fail "PORT must be a port number"
# The server's PROXY_SECRET, sent as X-Plumb-Proxy; empty, nginx sends no such header (and drops
# one a browser sent).
PROXY_SECRET=${PROXY_SECRET:-}
[ -z "$PROXY_SECRET" ] || printf '%s' "$PROXY_SECRET" | grep -Eq '^[A-Za-z0-9+/=_-]{16,256}$' ||
  fail "PROXY_SECRET must be 16 to 256 letters, digits or + / = _ -"
# CPUs to size nginx for, where the cgroup files do not show the quota (see the workers below).
CPU_LIMIT=${CPU_LIMIT:-}
# No leading zero (the shell's arithmetic reads 010 as octal) and not zero, as the server refuses it.
[ -z "$CPU_LIMIT" ] || printf '%s' "$CPU_LIMIT" | grep -Eq '^([1-9][0-9]{0,3}(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$' ||
  fail "CPU_LIMIT must be a number of CPUs above 0, e.g. 2 or 0.5 (got $CPU_LIMIT)"
# Render's free plan reaches the server by its public URL: the secret must not cross the internet in clear.
if [ -n "$PROXY_SECRET" ] && printf '%s' "$API_UPSTREAM" | grep -Eq '^http://[^/]*\.onrender\.com(:[0-9]+)?$'; then
  fail "API_UPSTREAM must be https:// for a public onrender.com URL, or PROXY_SECRET would be sent in clear"
fi

CSP_CONNECT=''
if [ -n "${CLIENT_API_URL:-}" ]; then
  printf '%s' "$CLIENT_API_URL" | grep -Eq '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$' ||
    fail "CLIENT_API_URL must be empty or an http(s) URL"
  CSP_CONNECT=" $(printf '%s' "$CLIENT_API_URL" | sed -E 's#^(https?://[^/]+).*#\1#')"
fi

mkdir -p "$RUNTIME_DIR"

# A JSON string literal for $1: quotes and backslashes escaped, control characters and < > &
# written as \u00XX (so "</script>" cannot end a script), other bytes (UTF-8) kept.
json_string() {
  printf '%s' "$1" | LC_ALL=C awk '
    BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i; ORS = ""; printf "\"" }
    {
      if (NR > 1) printf "\\n"
      n = length($0)
      for (i = 1; i <= n; i++) {
        c = substr($0, i, 1); o = ord[c]
        if (c == "\\") printf "\\\\"
        else if (c == "\"") printf "\\\""
        else if (o < 32 || o == 127 || c == "<" || c == ">" || c == "&") printf "\\u%04x", o
        else printf "%s", c
      }
    }
    END { printf "\"" }'
}

# Only the public keys this build knows (its allow-list, generated from client/src/env.ts) are
# published; any other CLIENT_* variable is named in the log and left out.
PUBLIC_KEYS_FILE=${PUBLIC_KEYS_FILE:-$TEMPLATE_DIR/public-env.keys}
[ -r "$PUBLIC_KEYS_FILE" ] || fail "the list of public settings is missing: $PUBLIC_KEYS_FILE"
public_keys=$(grep -E '^CLIENT_[A-Z0-9_]+$' "$PUBLIC_KEYS_FILE" | sort -u)
for name in $(env | sed -n 's/^\(CLIENT_[A-Z0-9_]*\)=.*/\1/p' | sort -u); do
  printf '%s\n' "$public_keys" | grep -qx "$name" ||
    echo "plumb-client: $name is not a public setting of this build (see client/src/env.ts); not published" >&2
done
{
  printf 'window.__ENV__ = {'
  separator=''
  for name in $public_keys; do
    printenv "$name" >/dev/null || continue
    printf '%s"%s":%s' "$separator" "$name" "$(json_string "$(printenv "$name")")"
    separator=','
  done
  printf '};\n'
} > "$RUNTIME_DIR/env-config.js.tmp"
mv "$RUNTIME_DIR/env-config.js.tmp" "$RUNTIME_DIR/env-config.js"

# nginx's `worker_processes auto` counts the host's CPUs, not the container's: on a 64-CPU node a
# pod limited to half a CPU and 128Mi would start 64 workers. One worker per whole CPU of the
# container's quota instead (at least 1; a fraction rounds down, as the server counts them), and no
# more than the CPUs this process may run on. The container's own cgroup is the mount's root.
CGROUP_ROOT=${CGROUP_ROOT:-/sys/fs/cgroup}
cpu_quota='' cpu_period=''
if [ -r "$CGROUP_ROOT/cpu.max" ]; then
  read -r cpu_quota cpu_period < "$CGROUP_ROOT/cpu.max" || true
else
  for controller in cpu cpu,cpuacct; do
    if [ -r "$CGROUP_ROOT/$controller/cpu.cfs_quota_us" ]; then
      cpu_quota=$(cat "$CGROUP_ROOT/$controller/cpu.cfs_quota_us")
      cpu_period=$(cat "$CGROUP_ROOT/$controller/cpu.cfs_period_us" 2>/dev/null || echo 100000)
      break
    fi
  done
fi
WORKER_PROCESSES=$(nproc 2>/dev/null || echo 1)
whole_number() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; }
# CPU_LIMIT, as the server reads it, declares the CPUs where the cgroup files do not show the quota
# (Render's plans, ADR 022): it takes the quota's place.
if [ -n "$CPU_LIMIT" ]; then
  cpu_quota=${CPU_LIMIT%%.*} cpu_period=1
fi
# No quota ("max", v1's -1), or nothing to read: the CPUs it may run on.
if whole_number "$cpu_quota" && whole_number "$cpu_period" && [ "$cpu_period" -gt 0 ]; then
  by_quota=$((cpu_quota / cpu_period))
  [ "$by_quota" -ge "$WORKER_PROCESSES" ] || WORKER_PROCESSES=$by_quota
fi
[ "$WORKER_PROCESSES" -ge 1 ] || WORKER_PROCESSES=1

export RUNTIME_DIR WEB_ROOT PORT API_UPSTREAM CSP_CONNECT WORKER_PROCESSES PROXY_SECRET
# Only our variables are substituted; nginx's own $variables stay as they are.
envsubst '${RUNTIME_DIR} ${WEB_ROOT} ${PORT} ${API_UPSTREAM} ${WORKER_PROCESSES} ${PROXY_SECRET}' < "$TEMPLATE_DIR/nginx.conf.template" > "$RUNTIME_DIR/nginx.conf"
envsubst '${CSP_CONNECT}' < "$TEMPLATE_DIR/headers.conf.template" > "$RUNTIME_DIR/headers.conf"

echo "plumb-client: serving $WEB_ROOT on :$PORT with $WORKER_PROCESSES worker(s), /api/ → $API_UPSTREAM" >&2
exec nginx -c "$RUNTIME_DIR/nginx.conf" -e stderr -g 'daemon off;'
