#!/usr/bin/env bash
# deploy/manual-ssl-setup.sh — HTTPS without Let's Encrypt: a self-signed certificate (or one
# signed by your own CA) for the web app and API names, which nginx accepts. For a host that is
# not reachable from the internet yet, or a staging box. Browsers will warn unless they trust
# the CA; run setup-https.sh as soon as the names resolve to this host.
#
# Usage: sudo deploy/manual-ssl-setup.sh [--days N] [--ca CA_CERT CA_KEY] [--force]
#
# Writes /etc/ssl/flashbill/{privkey.pem,fullchain.pem} (ECDSA P-256, both names in
# subjectAltName), points nginx at them, enables the TLS sites (rolled back if `nginx -t`
# fails) and reloads nginx. An existing certificate with more than 30 days left is kept
# unless --force.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

days=365 ca_cert="" ca_key="" force=0
while (($#)); do
    case "$1" in
        --days) days=${2:?}; shift ;;
        --ca) ca_cert=${2:?}; ca_key=${3:?}; shift 2 ;;
        --force) force=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$1'" ;;
    esac
    shift
done
require_root
load_deploy_conf
render_vars

dir=$(p /etc/ssl/flashbill)
mkdir -p "$dir"
chmod 0755 "$dir"
if ((force)) || ! [[ -f "$dir/fullchain.pem" ]] || ! openssl x509 -checkend $((30 * 86400)) -noout -in "$dir/fullchain.pem" >/dev/null; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    san="subjectAltName=DNS:$APP_DOMAIN,DNS:$API_DOMAIN"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key.pem" 2>/dev/null
    if [[ -n "$ca_cert" ]]; then
        openssl req -new -key "$tmp/key.pem" -subj "/CN=$APP_DOMAIN" -out "$tmp/req.csr"
        openssl x509 -req -in "$tmp/req.csr" -CA "$ca_cert" -CAkey "$ca_key" -CAcreateserial \
            -days "$days" -sha256 -out "$tmp/cert.pem" \
            -extfile <(printf '%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$san") 2>/dev/null
        cat "$tmp/cert.pem" "$ca_cert" >"$tmp/fullchain.pem"
    else
        openssl req -x509 -key "$tmp/key.pem" -subj "/CN=$APP_DOMAIN" -days "$days" -sha256 \
            -addext "$san" -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" \
            -out "$tmp/fullchain.pem" 2>/dev/null
    fi
    install -m 0600 "$tmp/key.pem" "$dir/privkey.pem"
    install -m 0644 "$tmp/fullchain.pem" "$dir/fullchain.pem"
    log "certificate written to /etc/ssl/flashbill (valid $days days)"
    CHANGES=$((CHANGES + 1))
fi
use_certificate "$dir/fullchain.pem" "$dir/privkey.pem" || die "TLS sites not enabled (nginx -t failed, see above)"
((CHANGES == 0)) || nginx_reload
log "HTTPS with the certificate in /etc/ssl/flashbill ($CHANGES change(s))"
