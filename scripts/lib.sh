# shellcheck shell=bash
# scripts/lib.sh — helpers shared by the scripts in this folder. Source it; don't run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides: REPO_ROOT, SCRIPTS_DIR, log/warn/die, usage (prints the caller's header
# comment), abs_path, check_port, port_open, wait_until, wait_for_port, pid_from_file,
# stop_pid, require_cmd, lock_service/without_lock, show_log_tail.
# Convention: diagnostics go to stderr, so that the last line a service script prints on
# stdout is its URL (`url=$(scripts/pg start | tail -1)`).

[[ -n "${FLASHBILL_LIB_SH_LOADED:-}" ]] && return 0
FLASHBILL_LIB_SH_LOADED=1

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPTS_DIR/.." && pwd -P)
SCRIPT_NAME=$(basename "$0")
export REPO_ROOT SCRIPTS_DIR

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
warn() { log "warning: $*"; }
die() {
    log "error: $*"
    exit 1
}

# Prints the calling script's header: the comment block after the shebang, '# ' removed.
usage() {
    awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

# abs_path PATH — absolute, normalised path; symlinks are kept (not resolved).
abs_path() { realpath -m -s -- "$1"; }

# check_port VALUE — dies unless VALUE is a TCP port number usable without privileges.
check_port() {
    if ! [[ "$1" =~ ^[1-9][0-9]{3,4}$ ]] || (($1 < 1024 || $1 > 65535)); then
        die "invalid port '$1' (expected a number in 1024..65535)"
    fi
}

# port_open HOST PORT — true if something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS WHAT CMD... — polls CMD (output discarded) every 0.1 s until it
# succeeds; returns 1 after SECONDS with a message naming WHAT.
wait_until() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.1
    done
}

# wait_for_port HOST PORT [SECONDS=30]
wait_for_port() { wait_until "${3:-30}" "$1:$2 to accept connections" port_open "$1" "$2"; }

# pid_from_file PIDFILE [PATTERN] — prints the pid recorded in PIDFILE if that process is
# alive (and its command line contains PATTERN, guarding against a recycled pid).
pid_from_file() {
    local pidfile=$1 pattern=${2:-} pid
    [[ -r "$pidfile" ]] || return 1
    read -r pid <"$pidfile" || [[ -n "${pid:-}" ]] || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [[ -n "$pattern" ]]; then
        local cmdline
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        [[ "$cmdline" == *"$pattern"* ]] || return 1
    fi
    printf '%s\n' "$pid"
}

# pid_gone PID — true once PID has exited. A zombie counts as gone: in containers the
# reaper (pid 1) may take seconds to collect an exited daemon.
pid_gone() {
    kill -0 "$1" 2>/dev/null || return 0
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ "${stat%% *}" == Z ]]
}

# stop_pid PID WHAT [SECONDS=10] — SIGTERM, wait, then SIGKILL if still there.
stop_pid() {
    local pid=$1 what=$2 timeout=${3:-10}
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_until "$timeout" "$what (pid $pid) to exit" pid_gone "$pid"; then
        warn "sending SIGKILL to $what (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 5 "$what (pid $pid) to die" pid_gone "$pid" || return 1
    fi
}

# require_cmd PATH_OR_NAME... — dies naming the first one missing, pointing at install-deps.
require_cmd() {
    local c
    for c in "$@"; do
        if [[ "$c" == */* ]]; then
            [[ -x "$c" ]] && continue
        else
            command -v "$c" >/dev/null 2>&1 && continue
        fi
        die "'$c' not found; run scripts/install-deps"
    done
}

# lock_service DIR — serialises start/stop of the service kept in DIR among concurrent
# callers (parallel test runners), by flock on DIR's parent directory, held until exit.
# A daemon must not inherit the lock's fd (it would hold the lock for its whole life):
# start daemons through without_lock.
LOCK_FD=
lock_service() {
    local parent
    parent=$(dirname -- "$1")
    mkdir -p -- "$parent"
    exec {LOCK_FD}<"$parent" || die "cannot open $parent to lock it"
    flock -w 120 "$LOCK_FD" || die "another scripts/ command has held the lock on $parent for 120s"
}

# without_lock CMD... — runs CMD with the lock's fd closed.
without_lock() {
    if [[ -n "$LOCK_FD" ]]; then
        "$@" {LOCK_FD}<&-
    else
        "$@"
    fi
}

# show_log_tail FILE [LINES=30] — for failure messages.
show_log_tail() {
    [[ -r "$1" ]] || return 0
    log "last lines of $1:"
    tail -n "${2:-30}" -- "$1" | sed 's/^/    /' >&2
}
