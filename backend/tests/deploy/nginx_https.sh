#!/usr/bin/env bash
# The rendered nginx sites in front of the real API over HTTPS (test CA): nginx -t, redirects,
# each security header exactly once with its value, /api not stripped, gzip, asset caching,
# JSON errors from nginx, rate limits (429 past the burst), /metrics refused through nginx but
# served on 127.0.0.1 directly, configure-ssl-security.sh idempotent with rollback, and
# test-https-setup.sh's own checks.
source "$(dirname "$0")/lib.sh"
free_ports 26100 3
HP=${PORTS[0]} SP=${PORTS[1]} AP=${PORTS[2]}
kit_env ${HP} ${SP} ${AP}
make_ca
db=$(new_db)
start_app ${AP} "$db"
install_kit
fake_webapp
check "nginx -t passes with only the bootstrap site (no certificate yet)" $NGINX_CMD -t -q
start_nginx
"$KIT/manual-ssl-setup.sh" --ca "$T/ca/ca.pem" "$T/ca/ca.key" >"$T/manual-ssl.log" 2>&1 || { cat "$T/manual-ssl.log"; fatal "manual-ssl-setup.sh failed"; }
check "nginx -t passes with the TLS sites" $NGINX_CMD -t -q
# The reload is asynchronous: wait until the TLS port answers.
wait_for 30 curl -s -o /dev/null $CURL_EXTRA https://api.flashbill.test:${SP}/health || fatal "HTTPS never came up"

api=https://api.flashbill.test:${SP}
app=https://flashbill.test:${SP}
HSTS="max-age=63072000; includeSubDomains"
PP="accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"

h=$(kcurl -D - -o "$T/body" "$api/health")
check "API over HTTPS: /health 200" grep -q '^HTTP/[0-9.]* 200' <<<"$h"
check "API /health body is the app's" grep -q '"status":"ok"' "$T/body"
for pair in "Strict-Transport-Security|$HSTS" "Permissions-Policy|$PP" "X-Content-Type-Options|nosniff" \
    "X-Frame-Options|DENY" "Referrer-Policy|no-referrer" \
    "Content-Security-Policy|default-src 'none'; frame-ancestors 'none'" \
    "Cross-Origin-Resource-Policy|same-site" "Cache-Control|no-store" "X-Request-Id|"; do
    check "API header ${pair%%|*} exactly once${pair#*|:+ with its value}" header_once "$h" "${pair%%|*}" "${pair#*|}"
done
h=$(kcurl -D - -o /dev/null -H 'X-Request-Id: trace-42' "$api/health")
check "X-Request-Id from the caller reaches the app and comes back once" header_once "$h" X-Request-Id trace-42
check "no Server version" bash -c "! grep -qi '^server: nginx/' <<<'$h'"

h=$(kcurl -D - -o "$T/index" "$app/")
check "web app / 200" grep -q '^HTTP/[0-9.]* 200' <<<"$h"
CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self' https://api.flashbill.test:${SP}; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
for pair in "Strict-Transport-Security|$HSTS" "Permissions-Policy|$PP" "Content-Security-Policy|$CSP" \
    "Referrer-Policy|strict-origin-when-cross-origin" "X-Content-Type-Options|nosniff" "X-Frame-Options|DENY" \
    "Cross-Origin-Opener-Policy|same-origin" "Cache-Control|no-cache"; do
    check "web app header ${pair%%|*} exactly once with its value" header_once "$h" "${pair%%|*}" "${pair#*|}"
done
h=$(kcurl -D - -o /dev/null "$app/invoices/123")
check "web app client-side route falls back to index.html" grep -q '^HTTP/[0-9.]* 200' <<<"$h"
h=$(kcurl -D - -o /dev/null -H 'Accept-Encoding: gzip' "$app/assets/index-3f9c2a1b.js")
check "hashed asset: cached for a year, immutable" header_once "$h" Cache-Control "public, max-age=31536000, immutable"
check "hashed asset: CSP still once" header_once "$h" Content-Security-Policy "$CSP"
check "hashed asset: gzip" header_once "$h" Content-Encoding gzip

# /api is passed on unchanged, from both names (the app has this route only under /api/v1).
for base in "$api" "$app"; do
    h=$(kcurl -D - -o "$T/openapi" -H 'Accept-Encoding: gzip' "$base/api/v1/openapi.json")
    check "$base/api/v1/openapi.json reaches the app with its path" grep -q '^HTTP/[0-9.]* 200' <<<"$h"
    check "$base: large JSON is gzipped" header_once "$h" Content-Encoding gzip
    check "$base: app's CSP once (nginx adds none on /api)" header_once "$h" Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"
    check "$base: app's Referrer-Policy once" header_once "$h" Referrer-Policy no-referrer
    check "$base: HSTS once on /api" header_once "$h" Strict-Transport-Security "$HSTS"
done
code=$(kcurl -o "$T/nf" -w '%{http_code}' "$app/api/v1/no-such-route")
check "unknown /api route is the app's JSON 404" bash -c "[[ $code == 404 ]] && grep -q NOT_FOUND '$T/nf'"

# HTTP → HTTPS, path and query kept; ACME challenges stay on HTTP.
for host in api.flashbill.test flashbill.test; do
    h=$(kcurl -D - -o /dev/null "http://$host:${HP}/a/b?c=d")
    check "http://$host redirects 301" grep -q '^HTTP/[0-9.]* 301' <<<"$h"
    check "http://$host Location keeps path and query" header_once "$h" Location "https://$host:${SP}/a/b?c=d"
done
mkdir -p "$T/root/var/www/letsencrypt/.well-known/acme-challenge"
echo token-body >"$T/root/var/www/letsencrypt/.well-known/acme-challenge/tok123"
check "ACME challenge served over plain HTTP" bash -c "[[ \$(curl -s http://127.0.0.1:${HP}/.well-known/acme-challenge/tok123 -H 'Host: api.flashbill.test') == token-body ]]"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: unknown.example' http://127.0.0.1:${HP}/ || true)
check "unknown Host on HTTP gets no answer (444)" test "$code" == 000
check "TLS handshake for an unknown name is rejected" bash -c "! curl -sk -m 5 --resolve other.example:${SP}:127.0.0.1 https://other.example:${SP}/ -o /dev/null"

# /metrics: refused through nginx in every spelling, served on the app's own loopback port.
for path in /metrics //metrics /metrics?x=1 /%6detrics /api/../metrics; do
    for base in "$api" "$app"; do
        code=$(kcurl --path-as-is -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer test-metrics-token' "$base$path")
        check "$base$path refused through nginx ($code)" bash -c "[[ $code == 404 || $code == 403 ]]"
    done
done
h=$(kcurl -D - -o "$T/m404" "$api/metrics")
check "nginx's refusal is a JSON error with the API's headers" bash -c "grep -q '\"code\":\"NOT_FOUND\"' '$T/m404' && grep -qi '^content-type: application/json' <<<'$h'"
check "nginx's JSON error: CSP once" header_once "$h" Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"
check "nginx's JSON error: HSTS once" header_once "$h" Strict-Transport-Security "$HSTS"
check "/metrics served on 127.0.0.1 directly" bash -c "curl -sf http://127.0.0.1:${AP}/metrics | grep -q '^http_requests_total'"

# Rate limits: auth routes 20/min burst 10; everything else 30/s burst 60. The app's own limits
# are set very high here, so every 429 below is nginx's.
# 20 logins back to back on one connection. Burst 10 + 1 pass at once, then one more per 3 s of
# elapsed time (a loaded machine is slow), the rest is 429.
start=$(date +%s.%N)
urls=()
for _ in $(seq 1 20); do urls+=("$api/api/v1/auth/login"); done
codes=$(kcurl -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' -d '{}' "${urls[@]}")
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
allowed=$(echo "11 + $elapsed / 3 + 1" | bc)
n429=$(grep -c '^429$' <<<"$codes" || true)
check "auth route: 429 past the burst (got $n429 of 20 in ${elapsed%.*} s; at most $allowed may pass)" \
    bash -c "(( $n429 >= 1 && $n429 <= 9 && 20 - $n429 <= $allowed ))"
check "auth route: the first requests pass to the app" bash -c "[[ \$(head -1 <<<'$codes') != 429 ]]"
h=$(kcurl -D - -o "$T/rl" -X POST -d '{}' "$api/api/v1/auth/login")
check "429 is the API's JSON error with Retry-After" bash -c "grep -q '\"code\":\"RATE_LIMITED\"' '$T/rl' && grep -qi '^retry-after:' <<<'$h'"
check "429: X-Request-Id once" header_once "$h" X-Request-Id ""
urls=()
for _ in $(seq 1 150); do urls+=("$api/api/v1/openapi.json"); done
# One connection, 150 requests back to back: well past 30/s + 60.
codes=$(kcurl -o /dev/null -w '%{http_code}\n' "${urls[@]}")
n429=$(grep -c '^429$' <<<"$codes" || true)
check "general API: 429 past the burst (got $n429 of 150)" bash -c "(($n429 >= 30))"
check "probes are never rate limited" bash -c "for i in \$(seq 1 80); do echo $api/health; done | xargs curl -s $CURL_EXTRA -o /dev/null -w '%{http_code}\n' | sort -u | grep -qx 200"

# Bodies: nginx refuses above the app's 10 MiB upload limit, with JSON.
head -c $((10 * 1024 * 1024 + 1024)) /dev/zero >"$T/big"
code=$(kcurl -o "$T/413" -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$T/big" "$app/api/v1/files")
check "body over 10 MiB: nginx's JSON 413" bash -c "[[ $code == 413 ]] && grep -q PAYLOAD_TOO_LARGE '$T/413'"

# configure-ssl-security.sh: a re-run changes nothing; a setting nginx rejects is rolled back.
sum() { sha256sum "$T/root/etc/nginx/snippets/flashbill-tls.conf" "$T/root/etc/nginx/snippets/flashbill-hsts.conf" "$T/root/etc/nginx/flashbill-ffdhe2048.pem"; }
before=$(sum)
out=$("$KIT/configure-ssl-security.sh" 2>&1)
check "configure-ssl-security.sh re-run: nothing changed" bash -c "grep -q 'nothing changed' <<<'$out' && [[ '$(sum)' == '$before' ]]"
if TLS_CIPHERS=NO-SUCH-CIPHER "$KIT/configure-ssl-security.sh" >"$T/bad-tls.log" 2>&1; then
    bad "configure-ssl-security.sh accepted a cipher list nginx rejects"
else
    check "configure-ssl-security.sh rolled back after nginx -t failed" bash -c "[[ '$(sum)' == '$before' ]] && grep -q restoring '$T/bad-tls.log'"
fi
check "nginx still serves after the rollback" bash -c "kcurl() { curl -s $CURL_EXTRA \"\$@\"; }; [[ \$(kcurl -o /dev/null -w '%{http_code}' $api/health) == 200 ]]"

# The operator's own check script, against this setup.
if "$KIT/test-https-setup.sh" --no-dry-run >"$T/test-https-setup.log" 2>&1; then
    ok "test-https-setup.sh: $(tail -1 "$T/test-https-setup.log")"
else
    cat "$T/test-https-setup.log"
    bad "test-https-setup.sh failed"
fi
finish
