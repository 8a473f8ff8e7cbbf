# shellcheck shell=bash
# deploy/lib/common.sh — helpers shared by the deployment scripts. Source it; don't run it.
#
# Every script works on the real system by default and on a private tree when FLASHBILL_ROOT
# is set ("prefix mode"): each system path is then looked up under that root, and commands
# that would change the machine itself (apt-get, useradd, chown, systemctl start, reloading a
# system nginx) are printed instead of run. That is what lets the tests run the real scripts
# without touching /etc. Overrides that matter in both modes:
#   NGINX_CMD          how to call nginx for `-t` (default "nginx"; a test gives "nginx -p P -c C")
#   NGINX_RELOAD_CMD   how to reload it (default "systemctl reload nginx")
#   SYSTEMCTL          default "systemctl" ("systemctl --root=$FLASHBILL_ROOT" in prefix mode)

[[ -n "${FLASHBILL_DEPLOY_LIB_LOADED:-}" ]] && return 0
FLASHBILL_DEPLOY_LIB_LOADED=1

KIT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ROOT=${FLASHBILL_ROOT:-}
ROOT=${ROOT%/}
SCRIPT_NAME=$(basename "$0")
# Counts files and links this run changed (put_file & co.); 0 on a re-run that had nothing to do.
CHANGES=0
# `producer | put_file` runs put_file in this shell, so its CHANGES count is kept.
shopt -s lastpipe
export KIT_DIR

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
warn() { log "warning: $*"; }
die() {
    log "error: $*"
    exit 1
}

prefix_mode() { [[ -n "$ROOT" ]]; }

# p PATH — the system path PATH as seen by this run (under FLASHBILL_ROOT in prefix mode).
p() { printf '%s%s' "$ROOT" "$1"; }

# run_sys CMD... — a command that changes the machine itself: run it, or in prefix mode only
# say what would have run.
run_sys() {
    if prefix_mode; then
        log "prefix mode, not run: $*"
        return 0
    fi
    "$@"
}

require_root() {
    prefix_mode && return 0
    ((EUID == 0)) || die "run as root (sudo $0 ...), or set FLASHBILL_ROOT for a dry run into a directory"
}

systemctl_cmd() {
    if [[ -n "${SYSTEMCTL:-}" ]]; then
        # shellcheck disable=SC2086  # an override is a command line
        $SYSTEMCTL "$@"
    elif prefix_mode; then
        # Enabling works offline on a tree; starting, reloading or restarting needs a running systemd.
        case "$1" in
            enable | disable | mask | unmask | preset) systemctl --root="$ROOT" --quiet "$@" ;;
            *) log "prefix mode, not run: systemctl $*" ;;
        esac
    else
        systemctl "$@"
    fi
}

# ensure_dir DIR MODE [OWNER:GROUP] — DIR is a system path.
ensure_dir() {
    local dir mode=$2 owner=${3:-}
    dir=$(p "$1")
    if [[ ! -d "$dir" ]]; then
        mkdir -p "$dir"
        CHANGES=$((CHANGES + 1))
        log "created $1"
    fi
    if [[ "$(stat -c %a "$dir")" != "${mode#0}" ]]; then
        chmod "$mode" "$dir"
        CHANGES=$((CHANGES + 1))
    fi
    [[ -z "$owner" ]] || set_owner "$1" "$owner"
}

set_owner() {
    prefix_mode && return 0
    local f
    f=$(p "$1")
    if [[ "$(stat -c %U:%G "$f")" != "$2" ]]; then
        chown "$2" "$f"
        CHANGES=$((CHANGES + 1))
    fi
}

# put_file DST MODE [OWNER:GROUP] < content — writes DST (a system path) only when its content
# differs, atomically (temp file + rename), so a re-run changes nothing and a reader never sees
# half a file.
put_file() {
    local dst mode=$2 owner=${3:-} tmp
    dst=$(p "$1")
    mkdir -p "$(dirname "$dst")"
    tmp=$(mktemp "$dst.XXXXXX")
    cat >"$tmp"
    if [[ -f "$dst" ]] && cmp -s "$tmp" "$dst"; then
        rm -f "$tmp"
    else
        chmod "$mode" "$tmp"
        mv -f "$tmp" "$dst"
        CHANGES=$((CHANGES + 1))
        log "wrote $1"
    fi
    if [[ "$(stat -c %a "$dst")" != "${mode#0}" ]]; then
        chmod "$mode" "$dst"
        CHANGES=$((CHANGES + 1))
    fi
    [[ -z "$owner" ]] || set_owner "$1" "$owner"
}

# ensure_symlink TARGET LINK — LINK is a system path; TARGET is written as given (absolute
# system paths stay valid once the tree is the real root).
ensure_symlink() {
    local link
    link=$(p "$2")
    if [[ "$(readlink "$link" 2>/dev/null)" != "$1" ]]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$1" "$link"
        CHANGES=$((CHANGES + 1))
        log "linked $2 -> $1"
    fi
}

remove_path() {
    local f
    f=$(p "$1")
    if [[ -e "$f" || -L "$f" ]]; then
        rm -f "$f"
        CHANGES=$((CHANGES + 1))
        log "removed $1"
    fi
}

# Template variables: @NAME@ in deploy/ templates. Lines starting with @IPV6@ are kept (marker
# removed) when IPV6=on, dropped otherwise, so tests on loopback can do without [::].
render_vars() {
    : "${DOMAIN:?DOMAIN is not set (install.sh --domain, or /etc/flashbill/deploy.conf)}"
    API_DOMAIN=${API_DOMAIN:-api.$DOMAIN}
    APP_DOMAIN=${APP_DOMAIN:-$DOMAIN}
    HTTP_PORT=${HTTP_PORT:-80}
    HTTPS_PORT=${HTTPS_PORT:-443}
    LISTEN_ADDR=${LISTEN_ADDR:-}
    IPV6=${IPV6:-on}
    UPSTREAM=${UPSTREAM:-127.0.0.1:3000}
}

render() {
    render_vars
    local listen="" https_suffix="" ipv6_sed
    [[ -z "$LISTEN_ADDR" ]] || listen="$LISTEN_ADDR:"
    [[ "$HTTPS_PORT" == 443 ]] || https_suffix=":$HTTPS_PORT"
    if [[ "$IPV6" == on ]]; then ipv6_sed='s/^\([[:space:]]*\)@IPV6@/\1/'; else ipv6_sed='/^[[:space:]]*@IPV6@/d'; fi
    local out
    out=$(sed -e "$ipv6_sed" \
        -e "s|@ROOT@|$ROOT|g" \
        -e "s|@DOMAIN@|$DOMAIN|g" \
        -e "s|@API_DOMAIN@|$API_DOMAIN|g" \
        -e "s|@APP_DOMAIN@|$APP_DOMAIN|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
        -e "s|@HTTPS_SUFFIX@|$https_suffix|g" \
        -e "s|@LISTEN@|$listen|g" \
        -e "s|@UPSTREAM@|$UPSTREAM|g" "$1")
    if grep -q '@[A-Z0-9_]*@' <<<"$out"; then
        die "template $1 has unknown variables: $(grep -o '@[A-Z0-9_]*@' <<<"$out" | sort -u | tr '\n' ' ')"
    fi
    printf '%s\n' "$out"
}

# put_rendered TEMPLATE DST MODE [OWNER:GROUP] — render, and write only a complete result: a
# template error stops the script before DST is touched.
put_rendered() {
    local content
    content=$(render "$1") || exit 1
    printf '%s\n' "$content" | put_file "$2" "$3" "${4:-}"
}

# Names: letters, digits, dots and dashes only (they land in nginx and shell files).
check_domain() {
    [[ "$1" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "invalid domain name '$1'"
}

DEPLOY_CONF=/etc/flashbill/deploy.conf

# The settings install.sh recorded (domains, e-mail, ports), so later scripts need no arguments.
# Read as KEY=VALUE lines, never executed. Variables already set in the environment win.
load_deploy_conf() {
    local f key value
    f=$(p "$DEPLOY_CONF")
    [[ -f "$f" ]] || return 0
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
        [[ -n "${!key:-}" ]] || printf -v "$key" '%s' "$value"
    done <"$f"
}

nginx_test() {
    if [[ -z "${NGINX_CMD:-}" ]] && prefix_mode; then
        log "prefix mode without NGINX_CMD: nginx -t not run"
        return 0
    fi
    local out
    # shellcheck disable=SC2086  # an override is a command line
    if ! out=$(${NGINX_CMD:-nginx} -t 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

nginx_reload() {
    if [[ -n "${NGINX_RELOAD_CMD:-}" ]]; then
        # shellcheck disable=SC2086
        $NGINX_RELOAD_CMD
    elif prefix_mode; then
        log "prefix mode, not run: systemctl reload nginx"
    else
        systemctl reload nginx
    fi
}

# Sites are enabled with relative links, valid both under FLASHBILL_ROOT and on the real root.
enable_site() { ensure_symlink "../sites-available/$1" "/etc/nginx/sites-enabled/$1"; }
disable_site() { remove_path "/etc/nginx/sites-enabled/$1"; }

# Site names under /etc/nginx/sites-available (the seed's names for the two TLS sites).
# shellcheck disable=SC2034  # used by the scripts that source this file
NGINX_TLS_SITES=(flashbill-api flashbill-frontend)
CERT_SNIPPET=/etc/nginx/snippets/flashbill-cert.conf

# certbot with its three directories under the root in prefix mode.
certbot_cmd() {
    local args=()
    if prefix_mode; then
        args=(--config-dir "$(p /etc/letsencrypt)" --work-dir "$(p /var/lib/letsencrypt)" --logs-dir "$(p /var/log/letsencrypt)")
    fi
    # shellcheck disable=SC2086  # CERTBOT_EXTRA_ARGS is a list of options
    ${CERTBOT:-certbot} "$@" "${args[@]}" ${CERTBOT_EXTRA_ARGS:-}
}

# use_certificate FULLCHAIN KEY — points both TLS sites at a certificate and enables them in
# place of the bootstrap site; on `nginx -t` failure everything is put back and it returns 1.
use_certificate() {
    local snippet old_snippet="" s
    snippet=$(p "$CERT_SNIPPET")
    [[ -f "$snippet" ]] && old_snippet=$(cat "$snippet")
    local was_enabled=()
    for s in flashbill-acme "${NGINX_TLS_SITES[@]}"; do
        [[ -L "$(p /etc/nginx/sites-enabled/$s)" ]] && was_enabled+=("$s")
    done
    printf 'ssl_certificate %s;\nssl_certificate_key %s;\n' "$1" "$2" | put_file "$CERT_SNIPPET" 0644
    for s in "${NGINX_TLS_SITES[@]}"; do enable_site "$s"; done
    disable_site flashbill-acme
    if ! nginx_test; then
        log "nginx -t failed with the TLS sites; putting the previous state back"
        if [[ -n "$old_snippet" ]]; then printf '%s\n' "$old_snippet" >"$snippet"; else rm -f "$snippet"; fi
        for s in flashbill-acme "${NGINX_TLS_SITES[@]}"; do disable_site "$s"; done
        for s in "${was_enabled[@]}"; do enable_site "$s"; done
        return 1
    fi
}
