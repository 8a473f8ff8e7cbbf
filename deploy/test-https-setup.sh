#!/usr/bin/env bash
# deploy/test-https-setup.sh — checks a running HTTPS setup from the outside; exits 1 if any
# check fails. Run it after setup-https.sh and after any nginx change.
#
# Usage: deploy/test-https-setup.sh [--no-dry-run]
#
# Checks: https://API/health answers 200; http:// on both names redirects (301) to https://;
# on the API and on the web app, every security header is present exactly once with its intended
# value (API: the app's own headers plus nginx's HSTS and Permissions-Policy); /metrics is refused
# publicly; the certificate has at least MIN_DAYS (default 14) days left; the renewal timer is
# enabled and active; `certbot renew --dry-run` succeeds (skipped with --no-dry-run).
#
# Environment: ACME_SERVER (the server of the dry run, when not Let's Encrypt), CURL_EXTRA (extra curl options, e.g. "--cacert ca.pem --resolve ..."; tests),
# HTTPS_PORT/HTTP_PORT, FLASHBILL_ROOT, and the domains from /etc/flashbill/deploy.conf.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
dry_run=1
[[ "${1:-}" == --no-dry-run ]] && dry_run=0
load_deploy_conf
render_vars
MIN_DAYS=${MIN_DAYS:-14}
https_suffix="" http_suffix=""
[[ "$HTTPS_PORT" == 443 ]] || https_suffix=":$HTTPS_PORT"
[[ "$HTTP_PORT" == 80 ]] || http_suffix=":$HTTP_PORT"

failed=0 passed=0
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
# shellcheck disable=SC2086  # CURL_EXTRA is a list of options
fetch() { curl -s -m 10 -o /dev/null -D - ${CURL_EXTRA:-} "$@" | tr -d '\r'; }

# expect_header HEADERS NAME VALUE WHERE — NAME appears exactly once, with exactly VALUE.
expect_header() {
    local values count
    values=$(grep -i "^$2:" <<<"$1" | sed 's/^[^:]*: //' || true)
    count=$(grep -c . <<<"$values" || true)
    if [[ "$count" != 1 ]]; then
        fail "$4: $2 appears $count times"
    elif [[ -n "$3" && "$values" != "$3" ]]; then
        fail "$4: $2 is '$values', expected '$3'"
    else
        pass "$4: $2 once${3:+ = $3}"
    fi
}

api="https://$API_DOMAIN$https_suffix"
app="https://$APP_DOMAIN$https_suffix"
hsts="max-age=${HSTS_MAX_AGE:-63072000}; includeSubDomains"
pp="accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"

h=$(fetch "$api/health" || true)
if [[ "$(head -1 <<<"$h")" == *" 200"* ]]; then pass "GET $api/health: 200"; else fail "GET $api/health: $(head -1 <<<"$h")"; fi
for n in "Strict-Transport-Security|$hsts" "Permissions-Policy|$pp" "X-Content-Type-Options|nosniff" \
    "X-Frame-Options|DENY" "Referrer-Policy|no-referrer" \
    "Content-Security-Policy|default-src 'none'; frame-ancestors 'none'" "X-Request-Id|"; do
    expect_header "$h" "${n%%|*}" "${n#*|}" "API"
done

h=$(fetch "$app/" || true)
if [[ "$(head -1 <<<"$h")" == *" 200"* ]]; then pass "GET $app/: 200"; else fail "GET $app/: $(head -1 <<<"$h")"; fi
for n in "Strict-Transport-Security|$hsts" "Permissions-Policy|$pp" "X-Content-Type-Options|nosniff" \
    "X-Frame-Options|DENY" "Referrer-Policy|strict-origin-when-cross-origin" "Content-Security-Policy|" \
    "Cache-Control|no-cache"; do
    expect_header "$h" "${n%%|*}" "${n#*|}" "web app"
done

for host in "$API_DOMAIN" "$APP_DOMAIN"; do
    h=$(fetch "http://$host$http_suffix/some/path?q=1" || true)
    loc=$(grep -i '^location:' <<<"$h" | sed 's/^[^:]*: //' || true)
    if [[ "$(head -1 <<<"$h")" == *" 301"* && "$loc" == "https://$host$https_suffix/some/path?q=1" ]]; then
        pass "http://$host redirects to HTTPS"
    else
        fail "http://$host: $(head -1 <<<"$h") Location: $loc"
    fi
done

code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' ${CURL_EXTRA:-} "$api/metrics" || true)
if [[ "$code" == 404 || "$code" == 403 ]]; then pass "$api/metrics refused ($code)"; else fail "$api/metrics answered $code"; fi

# The certificate nginx serves, not the file on disk: they differ when a reload was missed.
resolve_ip=127.0.0.1
prefix_mode || resolve_ip=$API_DOMAIN
enddate=$(openssl s_client -connect "$resolve_ip:$HTTPS_PORT" -servername "$API_DOMAIN" </dev/null 2>/dev/null |
    openssl x509 -noout -enddate 2>/dev/null | cut -d= -f2 || true)
if [[ -z "$enddate" ]]; then
    fail "could not read the served certificate"
else
    days=$((($(date -d "$enddate" +%s) - $(date +%s)) / 86400))
    if ((days >= MIN_DAYS)); then pass "certificate: $days days left"; else fail "certificate: only $days days left"; fi
fi

if prefix_mode; then
    if [[ -L "$(p /etc/systemd/system/timers.target.wants/flashbill-certbot-renew.timer)" ]]; then
        pass "renewal timer enabled (prefix mode: no running systemd to ask whether it is active)"
    else
        fail "renewal timer not enabled"
    fi
elif systemctl is-active --quiet flashbill-certbot-renew.timer; then
    pass "renewal timer active (next: $(systemctl show -p NextElapseUSecRealtime --value flashbill-certbot-renew.timer))"
else
    fail "flashbill-certbot-renew.timer is not active (sudo deploy/setup-auto-renewal.sh)"
fi
le=0
[[ -d "$(p /etc/letsencrypt/live/flashbill)" ]] && le=1
if ((!le)); then
    printf 'SKIP  deploy hook: no Let%ss Encrypt certificate (manual-ssl-setup.sh?)\n' "'"
elif [[ -x "$(p /etc/letsencrypt/renewal-hooks/deploy/flashbill-reload-nginx)" ]]; then
    pass "deploy hook installed"
else
    fail "deploy hook missing (sudo deploy/setup-auto-renewal.sh)"
fi

if ((dry_run)); then
    if ((le)); then
        # --dry-run talks to Let's Encrypt staging unless another server is named explicitly.
        server=()
        [[ -z "${ACME_SERVER:-}" ]] || server=(--server "$ACME_SERVER")
        if out=$(certbot_cmd renew --dry-run --cert-name flashbill --no-random-sleep-on-renew "${server[@]}" 2>&1); then
            pass "certbot renew --dry-run"
        else
            fail "certbot renew --dry-run: $(tail -5 <<<"$out")"
        fi
    else
        printf 'SKIP  certbot renew --dry-run: no Let%ss Encrypt certificate (manual-ssl-setup.sh?)\n' "'"
    fi
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
