#!/usr/bin/env bash
# setup-https.sh on a "fresh host" against a local pebble ACME server: bootstrap HTTP site,
# certbot --webroot through nginx on port 80 (here a free port), TLS sites enabled; test-https-setup.sh
# passes including `certbot renew --dry-run`; then a forced renewal runs the deploy hook, nginx
# serves the new certificate (another serial) and a request loop during it never fails.
# pebble resolves names through pebble-challtestsrv's DNS (every name -> 127.0.0.1).
source "$(dirname "$0")/lib.sh"
free_ports 26200 8
HP=${PORTS[0]} SP=${PORTS[1]} AP=${PORTS[2]} ACME=${PORTS[3]} ACME_MGMT=${PORTS[4]} ACME_TLS=${PORTS[5]} DNS=${PORTS[6]} DNS_MGMT=${PORTS[7]}
kit_env ${HP} ${SP} ${AP}
make_ca
db=$(new_db)
start_app ${AP} "$db"
install_kit
fake_webapp
start_nginx

# pebble's own HTTPS listener needs a certificate our CA signed.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 -keyout "$T/ca/pebble.key" -out "$T/ca/pebble.csr" 2>/dev/null
openssl x509 -req -in "$T/ca/pebble.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') -out "$T/ca/pebble.pem" 2>/dev/null
cat >"$T/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:${ACME}", "managementListenAddress": "127.0.0.1:${ACME_MGMT}",
  "certificate": "$T/ca/pebble.pem", "privateKey": "$T/ca/pebble.key",
  "httpPort": ${HP}, "tlsPort": ${ACME_TLS}, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
pebble-challtestsrv -dns01 127.0.0.1:${DNS} -http01 "" -https01 "" -tlsalpn01 "" -management 127.0.0.1:${DNS_MGMT} \
    -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$T/challtestsrv.log" 2>&1 &
track $!
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 pebble -config "$T/pebble.json" -dnsserver 127.0.0.1:${DNS} >"$T/pebble.log" 2>&1 &
track $!
wait_for 60 curl -sf --cacert "$T/ca/ca.pem" https://127.0.0.1:${ACME}/dir || { cat "$T/pebble.log"; fatal "pebble did not start"; }

export REQUESTS_CA_BUNDLE="$T/ca/ca.pem" ACME_SERVER=https://127.0.0.1:${ACME}/dir
if "$KIT/setup-https.sh" >"$T/setup-https.log" 2>&1; then ok "setup-https.sh obtained a certificate through the webroot"; else cat "$T/setup-https.log"; tail -30 "$T/root/var/log/letsencrypt/letsencrypt.log" 2>/dev/null; fatal "setup-https.sh failed"; fi
check "bootstrap site replaced by the TLS sites" bash -c "[[ ! -e '$T/root/etc/nginx/sites-enabled/flashbill-acme' && -L '$T/root/etc/nginx/sites-enabled/flashbill-api' ]]"
check "challenges answered by nginx from the webroot (access log)" grep -q 'GET /.well-known/acme-challenge/[^ ]* HTTP/1.1" 200' "$T/nginx/access.log"
check "deploy hook installed" test -x "$T/root/etc/letsencrypt/renewal-hooks/deploy/flashbill-reload-nginx"

# Trust pebble's (per-run) root for the HTTPS checks.
curl -sf --cacert "$T/ca/ca.pem" https://127.0.0.1:${ACME_MGMT}/roots/0 >"$T/pebble-root.pem" || fatal "no pebble root"
export CURL_EXTRA="${CURL_EXTRA/--cacert $T\/ca\/ca.pem/--cacert $T/pebble-root.pem}"
serial() { openssl s_client -connect 127.0.0.1:${SP} -servername api.flashbill.test </dev/null 2>/dev/null | openssl x509 -noout -serial; }
first=$(serial)
check "nginx serves pebble's certificate ($first)" bash -c "openssl s_client -connect 127.0.0.1:${SP} -servername api.flashbill.test </dev/null 2>/dev/null | openssl x509 -noout -issuer | grep -qi pebble"
if "$KIT/test-https-setup.sh" >"$T/test-https-setup.log" 2>&1; then
    ok "test-https-setup.sh (with certbot renew --dry-run): $(tail -1 "$T/test-https-setup.log")"
else
    cat "$T/test-https-setup.log"
    bad "test-https-setup.sh"
fi

# Forced renewal while a client keeps requesting over HTTPS.
loop() {
    local n=0
    while [[ ! -f "$T/stop" ]] && ((n < 3000)); do
        curl -s -o /dev/null -m 10 -w '%{http_code}\n' $CURL_EXTRA https://api.flashbill.test:${SP}/health >>"$T/loop.codes" || echo error >>"$T/loop.codes"
        n=$((n + 1))
    done
}
loop &
loop_pid=$!
track "$loop_pid"
sleep 1
if certbot_out=$(certbot renew --force-renewal --cert-name flashbill --no-random-sleep-on-renew \
    --config-dir "$T/root/etc/letsencrypt" --work-dir "$T/root/var/lib/letsencrypt" --logs-dir "$T/root/var/log/letsencrypt" 2>&1); then
    ok "certbot renew --force-renewal"
else
    printf '%s\n' "$certbot_out"
    bad "certbot renew --force-renewal"
fi
check "deploy hook ran and reloaded nginx" grep -q 'nginx reloaded' "$T/root/var/log/flashbill-ssl-renew.log"
wait_for 30 bash -c "[[ \"\$(openssl s_client -connect 127.0.0.1:${SP} -servername api.flashbill.test </dev/null 2>/dev/null | openssl x509 -noout -serial)\" != '$first' ]]"
second=$(serial)
check "nginx serves the renewed certificate ($second)" test "$second" != "$first"
sleep 1
touch "$T/stop"
wait "$loop_pid" || true
total=$(wc -l <"$T/loop.codes")
failed=$(grep -vc '^200$' "$T/loop.codes" || true)
check "requests during the renewal and reload: $total, none failed ($failed)" bash -c "(( $total >= 10 && $failed == 0 ))"
# A renewal that renews nothing does not reload nginx.
lines=$(wc -l <"$T/root/var/log/flashbill-ssl-renew.log")
certbot renew --no-random-sleep-on-renew --config-dir "$T/root/etc/letsencrypt" --work-dir "$T/root/var/lib/letsencrypt" --logs-dir "$T/root/var/log/letsencrypt" >/dev/null 2>&1 || true
check "renew with nothing due: no hook, no reload" test "$(wc -l <"$T/root/var/log/flashbill-ssl-renew.log")" == "$lines"
finish
