# shellcheck shell=bash
# deploy/backup/lib.sh — what backup.sh and restore.sh share: the table manifest (row count and
# an order-independent checksum per table) that proves a restore has the rows the backup saw.

# Session settings that make a row's text form the same on both sides.
MANIFEST_SETTINGS="SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
SET extra_float_digits = 3; SET bytea_output = 'hex';"

# psql \gexec input: one "schema.table|rows|checksum" line per user table. The checksum adds up
# the first 64 bits of each row's md5, so it needs no ordering and no memory per row.
MANIFEST_SQL="SELECT format(
  'SELECT %L, count(*), coalesce(sum((''x'' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0) FROM %I.%I t',
  schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
\\gexec"

# db_url_with_name URL NAME — URL with its database name replaced.
db_url_with_name() {
    local base=${1%%\?*} query=""
    [[ "$1" == *\?* ]] && query="?${1#*\?}"
    printf '%s/%s%s' "${base%/*}" "$2" "$query"
}

db_name_of() {
    local base=${1%%\?*}
    printf '%s' "${base##*/}"
}

# manifest_of URL — the manifest of a quiescent database (restore side).
manifest_of() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<SQL
$MANIFEST_SETTINGS
$MANIFEST_SQL
SQL
}

# The admin connection for CREATE/DROP DATABASE: PostgreSQL's superuser through peer auth on a
# server, a URL in tests.
psql_admin() {
    # shellcheck disable=SC2086  # an override is a command line
    ${FLASHBILL_PSQL_ADMIN:-runuser -u postgres -- psql} -X -q -At -v ON_ERROR_STOP=1 "$@"
}
