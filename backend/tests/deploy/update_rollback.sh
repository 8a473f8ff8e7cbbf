#!/usr/bin/env bash
# update.sh under continuous load through nginx (HTTPS): the first release, an update to a good
# release, then a release whose /ready never turns 200 (its database is unreachable), which must
# be rolled back to the previous `current` by update.sh itself. The API's socket is held across
# restarts as systemd's flashbill-api.socket would (support/socket-activate.py passes it to the
# real binary with LISTEN_FDS). Zero failed requests throughout.
source "$(dirname "$0")/lib.sh"
free_ports 26500 3
HP=${PORTS[0]} SP=${PORTS[1]} AP=${PORTS[2]}
kit_env ${HP} ${SP} ${AP}
make_ca
db=$(new_db)
install_kit
envf="$T/root/etc/flashbill/flashbill.env"
# The generated production settings, pointed at the test database and at paths under $T.
sed -i -e "s|^DATABASE_URL=.*|DATABASE_URL=$db|" -e 's|^REDIS_URL=.*|REDIS_URL=|' \
    -e "s|^UPLOAD_DIR=.*|UPLOAD_DIR=$T/root/var/lib/flashbill/uploads|" \
    -e "s|^MAIL_OUTBOX_DIR=.*|MAIL_OUTBOX_DIR=$T/root/var/lib/flashbill/outbox|" "$envf"
printf 'THREADS=2\nLOG_FORMAT=text\nACCESS_LOG=false\n' >>"$envf"

supervisor="$(dirname "$0")/support/socket-activate.py"
python3 "$supervisor" serve --port ${AP} --ctl "$T/ctl" -- \
    "$T/root/opt/flashbill/current/bin/flashbill" serve --env-file "$envf" >"$T/app.log" 2>&1 &
track $!
wait_for 60 test -f "$T/ctl/pid" || fatal "socket holder did not start"
export FLASHBILL_RESTART_CMD="python3 $supervisor restart --ctl $T/ctl"
export READY_URL=http://127.0.0.1:${AP}/ready READY_TIMEOUT=8

start_nginx
"$KIT/manual-ssl-setup.sh" --ca "$T/ca/ca.pem" "$T/ca/ca.key" >"$T/manual-ssl.log" 2>&1 || { cat "$T/manual-ssl.log"; fatal "manual-ssl-setup.sh failed"; }

if "$KIT/update.sh" v1 --binary "$FLASHBILL_BIN" >"$T/update-v1.log" 2>&1; then ok "first release v1 installed and ready"; else cat "$T/update-v1.log" "$T/app.log"; fatal "update.sh v1 failed"; fi
wait_for 30 curl -sf $CURL_EXTRA https://api.flashbill.test:${SP}/health || fatal "no HTTPS answer through nginx"

# Releases: v2 is good, v3 starts but never gets its database (so /ready stays 503).
mkdir -p "$T/rel/v2/bin" "$T/rel/v3/bin"
cp "$FLASHBILL_BIN" "$T/rel/v2/bin/flashbill"
cat >"$T/rel/v3/bin/flashbill" <<SH
#!/bin/sh
[ "\$1" = serve ] && export DATABASE_URL=postgresql://nobody@127.0.0.1:1/none
exec "$FLASHBILL_BIN" "\$@"
SH
chmod +x "$T/rel/v3/bin/flashbill"
tar -C "$T/rel/v2" -czf "$T/v2.tar.gz" bin
tar -C "$T/rel/v3" -czf "$T/v3.tar.gz" bin

# Bounded load: two clients, one request at a time each, until told to stop (or 90 s / 4000).
load() {
    local end=$((SECONDS + 90)) n=0
    while [[ ! -f "$T/stop" ]] && ((SECONDS < end && n < 4000)); do
        curl -s -o /dev/null -m 30 -w '%{http_code}\n' $CURL_EXTRA https://api.flashbill.test:${SP}/health >>"$T/load-$1.codes" || echo "curl-error" >>"$T/load-$1.codes"
        n=$((n + 1))
    done
}
load a &
track $!
load b &
track $!
sleep 1

if "$KIT/update.sh" v2 --tarball "$T/v2.tar.gz" >"$T/update-v2.log" 2>&1; then ok "update to v2: ready"; else cat "$T/update-v2.log"; bad "update to v2 failed"; fi
check "current -> releases/v2" test "$(readlink "$T/root/opt/flashbill/current")" == releases/v2
sleep 1
if "$KIT/update.sh" v3 --tarball "$T/v3.tar.gz" >"$T/update-v3.log" 2>&1; then
    bad "update.sh accepted v3, whose /ready never answers 200"
else
    check "v3 rolled back by update.sh" grep -q 'rolled back to v2, which is ready' "$T/update-v3.log"
fi
check "current -> releases/v2 again" test "$(readlink "$T/root/opt/flashbill/current")" == releases/v2
check "v2 serves /ready 200" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${AP}/ready) == 200 ]]"
sleep 1
touch "$T/stop"
wait "${PIDS[-1]}" "${PIDS[-2]}" 2>/dev/null || true
total=$(cat "$T"/load-*.codes | wc -l)
failed=$(cat "$T"/load-*.codes | grep -vc '^200$' || true)
check "load ran throughout ($total requests)" test "$total" -ge 50
check "zero failed requests during both updates ($failed of $total not 200)" test "$failed" == 0
[[ "$failed" == 0 ]] || sort "$T"/load-*.codes | uniq -c
finish
