#!/usr/bin/env bash
# testssl.sh against the rendered TLS configuration (web app site, certificate from a test CA
# that testssl is told to trust with --add-ca): no vulnerability in the -U checks and an overall
# grade of A or better. testssl 3.0.8 (Debian 12) has no rating of its own: support/ssl-grade.py
# applies the SSL Labs rating guide to its JSON findings. Checks run: protocols (-p), server
# defaults incl. key and trust (-S), ciphers per protocol (-E), vulnerabilities (-U), headers
# (-h, for HSTS); nothing else, to keep it short.
source "$(dirname "$0")/lib.sh"
free_ports 26300 3
HP=${PORTS[0]} SP=${PORTS[1]} AP=${PORTS[2]}
kit_env ${HP} ${SP} ${AP}
make_ca
install_kit
fake_webapp
start_nginx
"$KIT/manual-ssl-setup.sh" --ca "$T/ca/ca.pem" "$T/ca/ca.key" >"$T/manual-ssl.log" 2>&1 || { cat "$T/manual-ssl.log"; fatal "manual-ssl-setup.sh failed"; }
wait_for 30 curl -sf $CURL_EXTRA https://flashbill.test:${SP}/ || fatal "no HTTPS"

start=$SECONDS
testssl --quiet --color 0 --warnings off --openssl-timeout 10 --ip 127.0.0.1 -n none --add-ca "$T/ca/ca.pem" \
    -p -S -E -U -h --jsonfile "$T/testssl.json" https://flashbill.test:${SP}/ >"$T/testssl.txt" 2>&1 || true
echo "testssl took $((SECONDS - start)) s (report: $T/testssl.txt)"
[[ -s "$T/testssl.json" ]] || { tail -20 "$T/testssl.txt"; fatal "testssl wrote no JSON report"; }
vulns=$(python3 - "$T/testssl.json" <<'PY'
import json, sys
ids = {"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS", "BREACH",
       "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "LOGJAM-common_primes", "BEAST",
       "BEAST_CBC_TLS1", "LUCKY13", "RC4"}
f = json.load(open(sys.argv[1]))
seen = {x["id"] for x in f if x["id"] in ids}
print(len(seen))
for x in f:
    if x["id"] in ids and x["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
        print(f'{x["id"]}: {x["finding"]}')
PY
)
checked=$(head -1 <<<"$vulns")
check "testssl ran the vulnerability checks ($checked of them)" test "$checked" -ge 15
check "no vulnerabilities$(tail -n +2 <<<"$vulns" | sed 's/^/ | /' | tr -d '\n')" test "$(wc -l <<<"$vulns")" == 1
grade_line=$(python3 "$(dirname "$0")/support/ssl-grade.py" "$T/testssl.json")
grade=${grade_line%% *}
echo "grade: $grade_line"
echo "$grade_line" >"$TEST_TMP/deploy/testssl-grade.txt"
check "overall grade A or better (got $grade)" bash -c "[[ '$grade' == A || '$grade' == A+ ]]"
check "only TLS 1.2 and 1.3 offered" grep -q 'protocols=TLS1_2,TLS1_3 ' <<<"$grade_line"
finish
