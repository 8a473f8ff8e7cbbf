#!/usr/bin/env bash
# deploy/setup-https.sh — Let's Encrypt certificate for the web app and API names, on a fresh
# host or again later (idempotent).
#
# Usage: sudo deploy/setup-https.sh [--staging]
#
# 1. Enables the plain-HTTP bootstrap site (only ACME challenges) unless the TLS sites already
#    run, so nginx never refers to a certificate that does not exist yet.
# 2. certbot certonly --webroot -w /var/www/letsencrypt --cert-name flashbill -d APP -d API:
#    nginx keeps port 80 and serves the challenge files (no --standalone, which cannot bind a
#    port nginx holds). An existing certificate is kept until it is due (--keep-until-expiring).
# 3. Points /etc/nginx/snippets/flashbill-cert.conf at /etc/letsencrypt/live/flashbill/, enables
#    flashbill-api and flashbill-frontend in place of the bootstrap site, runs `nginx -t` (and
#    puts everything back if it fails), reloads nginx.
# 4. Runs setup-auto-renewal.sh.
#
# Domains and e-mail come from /etc/flashbill/deploy.conf (install.sh). Environment:
# ACME_SERVER (another ACME directory URL), CERTBOT_EXTRA_ARGS, FLASHBILL_ROOT / NGINX_CMD /
# NGINX_RELOAD_CMD (tests).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

staging=()
case "${1:-}" in
    --staging) staging=(--staging) ;;
    "") ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument '$1'" ;;
esac
require_root
load_deploy_conf
[[ -n "${DOMAIN:-}" && -n "${EMAIL:-}" ]] || die "no domain/e-mail: run install.sh --domain ... --email ... first"
render_vars

webroot=$(p /var/www/letsencrypt)
mkdir -p "$webroot"
tls_running=1
for s in "${NGINX_TLS_SITES[@]}"; do [[ -L "$(p /etc/nginx/sites-enabled/$s)" ]] || tls_running=0; done
if ((!tls_running)); then
    enable_site flashbill-acme
    nginx_test || die "nginx -t fails even with the bootstrap site: fix that first"
    nginx_reload
fi

server=()
[[ -z "${ACME_SERVER:-}" ]] || server=(--server "$ACME_SERVER")
log "requesting a certificate for $APP_DOMAIN and $API_DOMAIN"
certbot_cmd certonly --webroot -w "$webroot" --cert-name flashbill \
    -d "$APP_DOMAIN" -d "$API_DOMAIN" --email "$EMAIL" --agree-tos --no-eff-email \
    --non-interactive --keep-until-expiring "${staging[@]}" "${server[@]}"

live=$(p /etc/letsencrypt/live/flashbill)
[[ -f "$live/fullchain.pem" ]] || die "certbot reported success but $live/fullchain.pem is missing"
use_certificate "$live/fullchain.pem" "$live/privkey.pem" || die "TLS sites not enabled (nginx -t failed, see above)"
nginx_reload
log "HTTPS enabled for https://$APP_DOMAIN and https://$API_DOMAIN"

"$KIT_DIR/setup-auto-renewal.sh"
