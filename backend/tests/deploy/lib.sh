# shellcheck shell=bash
# backend/tests/deploy/lib.sh — helpers for the `deploy` CTest label: private directories under
# the build tree, a private nginx built from Debian's own nginx.conf, a test CA, the real
# flashbill binary on a cloned test database. Everything on 127.0.0.1; every process started
# here is stopped by the EXIT trap.
#
# Set by CMake: FLASHBILL_BIN, REPO_ROOT, TEST_TMP, FLASHBILL_TEST_PG_PORT.
set -euo pipefail

KIT="$REPO_ROOT/deploy"
TEST_NAME=$(basename "$0" .sh)
T="$TEST_TMP/deploy/$TEST_NAME"
# A run killed by ctest's timeout skips its EXIT trap, and nginx daemonises: stop what the
# previous run of this test left (the pids it recorded, each checked to still be one of ours).
if [[ -f "$T.pids" ]]; then
    while read -r pid; do
        if [[ -r "/proc/$pid/cmdline" && "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" == *"$T"* ]]; then
            kill "$pid" 2>/dev/null || true
        fi
    done <"$T.pids"
    sleep 0.5
fi
rm -rf "$T" "$T.pids"
mkdir -p "$T"
PG_ADMIN_URL="postgresql://flashbill@127.0.0.1:${FLASHBILL_TEST_PG_PORT:-55433}/postgres"

PIDS=()
track() { PIDS+=("$1"); echo "$1" >>"$T.pids"; }
DBS=()
CLEANUPS=()
cleanup() {
    local rc=$?
    for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for db in "${DBS[@]}"; do psql -X -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
    exit "$rc"
}
trap cleanup EXIT

FAILED=0
PASSED=0
ok() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$*"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND... — passes when the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
    printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
    ((FAILED == 0))
}
fatal() {
    printf 'FATAL %s\n' "$*"
    exit 1
}

# free_ports FIRST N — N ports from FIRST..FIRST+99 that nobody holds right now, into PORTS[].
# The blocks (26100-26599) lie below Linux's ephemeral range (32768-60999), so outgoing
# connections never sit on them; the check still skips ports another program listens on.
free_ports() {
    mapfile -t PORTS < <(python3 - "$1" "$2" <<'PY'
import socket, sys
first, n = int(sys.argv[1]), int(sys.argv[2])
got = []
for port in range(first, first + 100):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        got.append(port)
    except OSError:
        pass
    finally:
        s.close()
    if len(got) == n:
        break
print("\n".join(map(str, got)))
PY
)
    ((${#PORTS[@]} == $2)) || fatal "not $2 free ports in $1..$(($1 + 99))"
}

wait_for() { # wait_for SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# new_db — a fresh database cloned from the migrated template; prints its URL.
new_db() {
    local name="t_deploy_${TEST_NAME//[^a-z0-9]/_}_$$_${#DBS[@]}"
    psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$name\" TEMPLATE flashbill_template" >/dev/null
    DBS+=("$name")
    printf 'postgresql://flashbill@127.0.0.1:%s/%s' "${FLASHBILL_TEST_PG_PORT:-55433}" "$name"
}

# make_ca — a throwaway CA in $T/ca (ca.pem, ca.key).
make_ca() {
    mkdir -p "$T/ca"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=FlashBill deploy test CA" -keyout "$T/ca/ca.key" -out "$T/ca/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# kit_env HTTP_PORT HTTPS_PORT APP_PORT — the variables that point the kit at $T/root and a
# private nginx (exported, so every kit script and the certbot hook see them).
kit_env() {
    export FLASHBILL_ROOT="$T/root"
    export DOMAIN=flashbill.test API_DOMAIN=api.flashbill.test APP_DOMAIN=flashbill.test
    export EMAIL=ops@flashbill.test
    export HTTP_PORT=$1 HTTPS_PORT=$2 UPSTREAM="127.0.0.1:$3"
    export LISTEN_ADDR=127.0.0.1 IPV6=off
    export NGINX_CMD="nginx -p $T/nginx/ -e $T/nginx/error.log -c $T/nginx/nginx.conf"
    export NGINX_RELOAD_CMD="$NGINX_CMD -s reload"
    mkdir -p "$T/nginx/tmp" "$T/root"
    # Debian's own nginx.conf with its paths moved under $T: the kit must coexist with exactly
    # what the package installs (its http-level gzip and ssl_* lines included).
    sed -e '/^user /d' -e '/modules-enabled/d' \
        -e "s|^pid .*|pid $T/nginx/nginx.pid;|" \
        -e "s|/var/log/nginx/|$T/nginx/|g" \
        -e "s|include /etc/nginx/conf.d/|include $T/root/etc/nginx/conf.d/|" \
        -e "s|include /etc/nginx/sites-enabled/|include $T/root/etc/nginx/sites-enabled/|" \
        /etc/nginx/nginx.conf >"$T/nginx/nginx.conf"
    grep -q "$T/root/etc/nginx/sites-enabled/" "$T/nginx/nginx.conf" || fatal "unexpected /etc/nginx/nginx.conf layout"
    # Temp files under $T; workers as the caller (root in CI) so they can read $T.
    sed -i "s|^http {|http {\n\tclient_body_temp_path $T/nginx/tmp/body;\n\tproxy_temp_path $T/nginx/tmp/proxy;\n\tfastcgi_temp_path $T/nginx/tmp/fastcgi;\n\tuwsgi_temp_path $T/nginx/tmp/uwsgi;\n\tscgi_temp_path $T/nginx/tmp/scgi;|" "$T/nginx/nginx.conf"
    if ((EUID == 0)); then sed -i "1i user root root;" "$T/nginx/nginx.conf"; fi
    export CURL_EXTRA="--cacert $T/ca/ca.pem --resolve api.flashbill.test:$HTTPS_PORT:127.0.0.1 --resolve flashbill.test:$HTTPS_PORT:127.0.0.1 --resolve api.flashbill.test:$HTTP_PORT:127.0.0.1 --resolve flashbill.test:$HTTP_PORT:127.0.0.1"
}

# install_kit [install.sh args] — install.sh into $T/root (prefix mode).
install_kit() {
    "$KIT/install.sh" --domain "$DOMAIN" --email "$EMAIL" "$@" >"$T/install.log" 2>&1 ||
        { cat "$T/install.log"; fatal "install.sh failed"; }
}

# A web app build to serve: index.html and one content-hashed asset.
fake_webapp() {
    mkdir -p "$T/root/var/www/flashbill/assets"
    printf '<!doctype html><title>FlashBill</title><script type="module" src="/assets/index-3f9c2a1b.js"></script>\n' \
        >"$T/root/var/www/flashbill/index.html"
    head -c 4000 /dev/zero | tr '\0' 'a' | sed 's/^/console.log("/; s/$/");/' >"$T/root/var/www/flashbill/assets/index-3f9c2a1b.js"
}

start_nginx() {
    $NGINX_CMD || fatal "nginx did not start: $(tail -5 "$T/nginx/error.log")"
    CLEANUPS+=("$NGINX_CMD -s stop")
    wait_for 30 test -s "$T/nginx/nginx.pid" || fatal "nginx wrote no pid file"
    cat "$T/nginx/nginx.pid" >>"$T.pids"
}

# start_app PORT DATABASE_URL [VAR=VALUE...] — the real binary on 127.0.0.1:PORT, as nginx's
# upstream; waits for /health.
start_app() {
    local port=$1 db=$2
    shift 2
    env FLASHBILL_ENV=test HOST=127.0.0.1 PORT="$port" DATABASE_URL="$db" TRUST_PROXY=true \
        THREADS=2 LOG_FORMAT=text ACCESS_LOG=false MIGRATE_ON_START=false METRICS_TOKEN=test-metrics-token \
        RATE_LIMIT_AUTH=100000/min RATE_LIMIT_API=100000/min RATE_LIMIT_PUBLIC=100000/min "$@" \
        "$FLASHBILL_BIN" serve --no-worker --env-file /dev/null >"$T/app-$port.log" 2>&1 &
    track $!
    wait_for 60 curl -sf "http://127.0.0.1:$port/health" || { tail -20 "$T/app-$port.log"; fatal "flashbill serve did not start"; }
}

# kcurl ARGS... — curl with the test CA and the names resolved to 127.0.0.1.
# shellcheck disable=SC2086
kcurl() { curl -s -m 20 $CURL_EXTRA "$@"; }

# header_once HEADERS NAME EXPECTED — NAME exactly once with value EXPECTED ("" = any value).
header_once() {
    local v n
    v=$(tr -d '\r' <<<"$1" | grep -i "^$2:" | sed 's/^[^:]*: //' || true)
    n=$(grep -c . <<<"$v" || true)
    [[ "$n" == 1 ]] || { echo "      $2 appears $n times" >&2; return 1; }
    [[ -z "$3" || "$v" == "$3" ]] || { echo "      $2: '$v' != '$3'" >&2; return 1; }
}
