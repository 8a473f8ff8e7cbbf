#!/usr/bin/env bash
# install.sh into a temp root (prefix mode), twice: the second run changes nothing (checksum of
# every path, mode, link and content) and says so. The env file it generates: 0600, production,
# keys of backend/.env.example only, strong secrets, accepted by `flashbill check-config`. The
# PostgreSQL role and database it creates (on the test server) are enough for the migrations.
source "$(dirname "$0")/lib.sh"
kit_env 26200 26201 26202
pg_port=${FLASHBILL_TEST_PG_PORT:-55433}
export FLASHBILL_PSQL_ADMIN="psql $PG_ADMIN_URL"
export DB_HOST=127.0.0.1 DB_PORT=$pg_port DB_NAME="t_deploy_install_$$" DB_USER="t_deploy_install_$$"
DBS+=("$DB_NAME")
CLEANUPS+=("psql -X -q $PG_ADMIN_URL -c 'DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)' -c 'DROP ROLE IF EXISTS $DB_USER' -c 'DROP ROLE IF EXISTS ${DB_USER}_monitor'")

tree_sum() {
    (cd "$T/root" && find . -printf '%p %y %m %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum
}
install_kit
first=$(tree_sum)
check "first run made changes" grep -q 'done: [1-9][0-9]* change' "$T/install.log"
install_kit
check "second run reports 0 changes" grep -q 'done: 0 change(s)' "$T/install.log"
check "second run leaves the tree identical (paths, modes, links, contents)" test "$(tree_sum)" == "$first"
# nginx -t ran against the rendered tree (NGINX_CMD points at the private nginx.conf).
check "the rendered nginx configuration passes nginx -t" $NGINX_CMD -t -q

envf="$T/root/etc/flashbill/flashbill.env"
check "flashbill.env is 0600" test "$(stat -c %a "$envf")" == 600
keys=$(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$envf" | sort)
known=$(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$REPO_ROOT/backend/.env.example" | sort)
unknown=$(comm -23 <(echo "$keys") <(echo "$known"))
check "flashbill.env uses only keys of backend/.env.example${unknown:+ (unknown: $unknown)}" test -z "$unknown"
val() { sed -n "s/^$1=//p" "$envf"; }
check "JWT_SECRET has at least 32 characters" test "$(val JWT_SECRET | wc -c)" -gt 32
check "METRICS_TOKEN is set" test "$(val METRICS_TOKEN | wc -c)" -gt 32
check "DATABASE_URL has a generated password" grep -qE "^DATABASE_URL=postgresql://$DB_USER:[0-9a-f]{48}@" "$envf"
check "REDIS_URL has a password" grep -qE '^REDIS_URL=redis://:[0-9a-f]{48}@127.0.0.1:6379/0$' "$envf"
check "production settings behind nginx" bash -c "grep -qx FLASHBILL_ENV=production '$envf' && grep -qx TRUST_PROXY=true '$envf' && grep -qx HOST=127.0.0.1 '$envf'"
check "flashbill check-config accepts it (production rules)" "$FLASHBILL_BIN" check-config --env-file "$envf"
check "Redis gets the same password, loopback only" bash -c "grep -qx \"requirepass \$(sed -n 's|^REDIS_URL=redis://:\([^@]*\)@.*|\1|p' '$envf')\" '$T/root/etc/redis/flashbill.conf' && grep -qx 'bind 127.0.0.1 -::1' '$T/root/etc/redis/flashbill.conf'"
check "Prometheus gets the metrics token" bash -c "[[ \$(cat '$T/root/etc/prometheus/flashbill-metrics-token') == \$(sed -n 's/^METRICS_TOKEN=//p' '$envf') ]]"

# The role and database: not a superuser, owns the database, and the migrations run as it.
attrs=$(psql -X -At "$PG_ADMIN_URL" -c "SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = '$DB_USER'")
check "role $DB_USER exists, can log in, is no superuser" test "$attrs" == "f|t"
owner=$(psql -X -At "$PG_ADMIN_URL" -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB_NAME'")
check "database $DB_NAME is owned by it" test "$owner" == "$DB_USER"
if "$FLASHBILL_BIN" migrate --env-file "$envf" >"$T/migrate.log" 2>&1; then
    ok "flashbill migrate as $DB_USER with the generated env file"
else
    cat "$T/migrate.log"
    bad "flashbill migrate as $DB_USER"
fi
tables=$(psql -X -At "postgresql://$DB_USER@127.0.0.1:$pg_port/$DB_NAME" -c "SELECT count(*) FROM pg_tables WHERE tableowner = '$DB_USER'")
check "migrated tables belong to the app role ($tables)" test "$tables" -gt 0
mon=$(psql -X -At "$PG_ADMIN_URL" -c "SELECT pg_has_role('${DB_USER}_monitor', 'pg_monitor', 'member')")
check "monitoring role is a pg_monitor member" test "$mon" == t
finish
