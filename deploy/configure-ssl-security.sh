#!/usr/bin/env bash
# deploy/configure-ssl-security.sh — (re)applies FlashBill's TLS hardening to nginx.
#
# Usage: sudo deploy/configure-ssl-security.sh [--no-reload]
#
# Writes /etc/nginx/snippets/flashbill-tls.conf (Mozilla intermediate: TLS 1.2/1.3, AEAD + forward
# secrecy suites, session cache without tickets), /etc/nginx/snippets/flashbill-hsts.conf (HSTS and
# Permissions-Policy) and the RFC 7919 ffdhe2048 group. Idempotent: a file whose content is
# already right is not touched, and nothing is reloaded when nothing changed. When `nginx -t`
# rejects the result, every file is put back as it was and the script exits 1, so a running
# nginx never gets a config it cannot load.
#
# Environment: TLS_CIPHERS (OpenSSL list for TLS 1.2; TLS 1.3 suites are OpenSSL's, all strong),
# HSTS_MAX_AGE (seconds, default two years), FLASHBILL_ROOT / NGINX_CMD / NGINX_RELOAD_CMD
# (deploy/lib/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

reload=1
case "${1:-}" in
    --no-reload) reload=0 ;;
    "") ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument '$1' (see --help)" ;;
esac
require_root

# Mozilla Server Side TLS, "intermediate" configuration (guideline 5.7).
TLS_CIPHERS=${TLS_CIPHERS:-ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305}
HSTS_MAX_AGE=${HSTS_MAX_AGE:-63072000}
[[ "$TLS_CIPHERS" =~ ^[A-Za-z0-9:_+!-]+$ ]] || die "TLS_CIPHERS has characters nginx would misread"
[[ "$HSTS_MAX_AGE" =~ ^[0-9]+$ ]] || die "HSTS_MAX_AGE must be a number of seconds"

files=(/etc/nginx/snippets/flashbill-tls.conf /etc/nginx/snippets/flashbill-hsts.conf /etc/nginx/flashbill-ffdhe2048.pem)
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
for f in "${files[@]}"; do
    [[ -f "$(p "$f")" ]] && cp -p "$(p "$f")" "$saved/$(basename "$f")"
done

# Only these two variables are ours; the @ROOT@ placeholders are common.sh's.
fill() { sed -e "s|@TLS_CIPHERS@|$TLS_CIPHERS|g" -e "s|@HSTS_MAX_AGE@|$HSTS_MAX_AGE|g" "$1"; }
DOMAIN=${DOMAIN:-unused.invalid} # the snippets use no domain; render() insists on one
put_rendered <(fill "$KIT_DIR/nginx/snippets/flashbill-tls.conf") /etc/nginx/snippets/flashbill-tls.conf 0644
put_rendered <(fill "$KIT_DIR/nginx/snippets/flashbill-hsts.conf") /etc/nginx/snippets/flashbill-hsts.conf 0644
# The standard group (same bytes every time), not a freshly generated one: nothing to wait for,
# and clients recognise it.
dh=$(openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 2>/dev/null)
printf '%s\n' "$dh" | put_file /etc/nginx/flashbill-ffdhe2048.pem 0644

if ((CHANGES == 0)); then
    log "TLS hardening already in place; nothing changed"
    exit 0
fi

if ! nginx_test; then
    log "nginx -t rejected the new TLS settings; restoring the previous files"
    for f in "${files[@]}"; do
        if [[ -f "$saved/$(basename "$f")" ]]; then
            cp -p "$saved/$(basename "$f")" "$(p "$f")"
        else
            rm -f "$(p "$f")"
        fi
    done
    exit 1
fi
if ((reload)); then
    nginx_reload
    log "TLS hardening applied ($CHANGES change(s)); nginx reloaded"
else
    log "TLS hardening applied ($CHANGES change(s))"
fi
