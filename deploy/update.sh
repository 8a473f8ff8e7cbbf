#!/usr/bin/env bash
# deploy/update.sh — installs a FlashBill release and switches to it without refusing a request;
# rolls back by itself when the new release does not become ready.
#
# Usage: sudo deploy/update.sh VERSION --tarball FILE.tar.gz   (a release archive: bin/flashbill)
#        sudo deploy/update.sh VERSION --binary PATH           (a built binary)
#        sudo deploy/update.sh VERSION --source CHECKOUT       (build CHECKOUT/backend here; needs
#                                                               scripts/install-deps' build packages)
#
# Steps: unpack or build into /opt/flashbill/releases/VERSION; check the binary runs; apply the
# migrations with it (forward-only and written to be compatible with the previous release, which
# is what makes rolling the binary back safe); point /opt/flashbill/current at it (atomic rename);
# restart flashbill-api through its socket (systemd holds 127.0.0.1:3000, so connections queue
# during the restart instead of failing); wait for GET /ready = 200. If that does not come within
# READY_TIMEOUT seconds, `current` goes back to the previous release, which is restarted and
# waited for, and the script exits 1. Old releases beyond the newest KEEP_RELEASES are deleted.
#
# Environment: READY_TIMEOUT (60), KEEP_RELEASES (5), READY_URL (http://127.0.0.1:3000/ready),
# FLASHBILL_RESTART_CMD (default: systemctl restart of flashbill-api and, when enabled,
# flashbill-worker), FLASHBILL_ROOT (tests: everything under that directory).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

version=${1:-}
[[ "$version" == -h || "$version" == --help ]] && {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
}
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "usage: update.sh VERSION --tarball FILE | --binary PATH | --source DIR"
kind=${2:-}
src=${3:-}
[[ -n "$kind" && -n "$src" ]] || die "usage: update.sh VERSION --tarball FILE | --binary PATH | --source DIR"
require_root

READY_TIMEOUT=${READY_TIMEOUT:-60}
KEEP_RELEASES=${KEEP_RELEASES:-5}
READY_URL=${READY_URL:-http://127.0.0.1:3000/ready}
env_file=$(p /etc/flashbill/flashbill.env)
releases=$(p /opt/flashbill/releases)
current=$(p /opt/flashbill/current)
[[ -f "$env_file" ]] || die "$env_file is missing: run install.sh first"

# One update at a time.
mkdir -p "$releases"
exec {lock}>"$releases/.update.lock"
flock -n "$lock" || die "another update.sh is running"

# The app's commands run as its user on a server; in prefix mode (tests) as the caller.
as_app() {
    if prefix_mode; then "$@"; else runuser -u flashbill -- "$@"; fi
}

restart_api() {
    if [[ -n "${FLASHBILL_RESTART_CMD:-}" ]]; then
        bash -c "$FLASHBILL_RESTART_CMD"
    elif prefix_mode; then
        die "prefix mode needs FLASHBILL_RESTART_CMD (there is no systemd to restart through)"
    else
        # reset-failed: a crash-looping release must not leave the unit refusing to start.
        systemctl reset-failed flashbill-api.service 2>/dev/null || true
        systemctl restart flashbill-api.service
        if systemctl is-enabled --quiet flashbill-worker.service 2>/dev/null; then
            systemctl restart flashbill-worker.service
        fi
    fi
}

wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) code
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$READY_URL" || true)
        [[ "$code" == 200 ]] && return 0
        sleep 0.5
    done
    return 1
}

switch_current() {
    # A new link renamed over the old one: `current` is never missing, not even for an instant.
    ln -sfn "releases/$1" "$current.new"
    mv -T "$current.new" "$current"
}

rel="$releases/$version"
if [[ -x "$rel/bin/flashbill" && -f "$rel/.complete" ]]; then
    log "release $version is already unpacked; reusing it"
else
    rm -rf "$rel" "$rel.partial"
    mkdir -p "$rel.partial/bin"
    case "$kind" in
        --tarball)
            [[ -f "$src" ]] || die "no such archive: $src"
            tar -C "$rel.partial" -xzf "$src"
            ;;
        --binary)
            [[ -x "$src" ]] || die "not an executable: $src"
            install -m 0755 "$src" "$rel.partial/bin/flashbill"
            ;;
        --source)
            [[ -f "$src/backend/CMakeLists.txt" ]] || die "$src is not a FlashBill checkout"
            build="$rel.partial/.build"
            cmake -S "$src/backend" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLASHBILL_BENCH=OFF >/dev/null
            nice ninja -C "$build" flashbill
            install -m 0755 "$build/flashbill" "$rel.partial/bin/flashbill"
            rm -rf "$build"
            ;;
        *) die "unknown source kind '$kind' (--tarball, --binary or --source)" ;;
    esac
    [[ -x "$rel.partial/bin/flashbill" ]] || die "the release has no executable bin/flashbill"
    touch "$rel.partial/.complete"
    mv "$rel.partial" "$rel"
fi
"$rel/bin/flashbill" version >/dev/null || die "release $version: the binary does not run"

previous=""
if [[ -L "$current" ]]; then
    previous=$(basename "$(readlink "$current")")
fi
if [[ "$previous" == "$version" ]]; then
    log "release $version is already current; restarting it"
fi

# Migrations before the switch: a migration that fails leaves the running release untouched.
# The env file stays root-only: it reaches the app's user through a pipe (a pipe, not a file
# redirect: reopening /dev/stdin of a root-only file would fail for that user, and the binary
# treats an unreadable env file as an empty one).
log "migrating with release $version"
# shellcheck disable=SC2002  # the pipe is the point, see above
cat "$env_file" | as_app "$rel/bin/flashbill" migrate --env-file /dev/stdin ||
    die "migrations failed; still running ${previous:-nothing}"

switch_current "$version"
log "current -> $version; restarting through the socket"
restart_api
if wait_ready; then
    log "release $version is ready"
else
    log "release $version did not become ready within ${READY_TIMEOUT}s"
    if [[ -z "$previous" || "$previous" == "$version" ]]; then
        die "no previous release to roll back to"
    fi
    switch_current "$previous"
    log "rolled back: current -> $previous; restarting"
    restart_api
    wait_ready || die "the previous release $previous is not ready either: look at journalctl -u flashbill-api"
    log "rolled back to $previous, which is ready"
    exit 1
fi

# Keep the newest KEEP_RELEASES (by install time) plus whatever current and previous are.
mapfile -t old < <(find "$releases" -mindepth 1 -maxdepth 1 -type d ! -name '*.partial' -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-)
for ((i = KEEP_RELEASES; i < ${#old[@]}; i++)); do
    [[ "${old[i]}" == "$version" || "${old[i]}" == "$previous" ]] && continue
    rm -rf "${releases:?}/${old[i]}"
    log "removed old release ${old[i]}"
done
