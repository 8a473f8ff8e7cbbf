#!/usr/bin/env bash
# deploy/backup/backup.sh — one backup set of FlashBill: the database (pg_dump -Fc) and the
# upload directory, with a manifest and checksums; then retention, the optional off-host copy,
# and the success time for Prometheus. Run nightly by flashbill-backup.timer; by hand:
#   sudo systemctl start flashbill-backup        (or: sudo deploy/backup/backup.sh)
#
# A set is BACKUP_DIR/<UTC time>/ with db.dump, uploads.tar.gz, manifest.tsv (rows and checksum
# per table, computed in the very snapshot pg_dump dumps) and SHA256SUMS. It appears under its
# final name only when complete.
#
# Environment (flashbill.env + backup.env under systemd):
#   DATABASE_URL            the database to dump (required)
#   UPLOAD_DIR              default /var/lib/flashbill/uploads
#   BACKUP_DIR              default /var/backups/flashbill
#   BACKUP_RETENTION_DAYS   sets older than this are deleted (default 14) ...
#   BACKUP_KEEP_MIN         ... but the newest this many are always kept (default 3)
#   BACKUP_COPY_CMD         optional off-host copy, run as `bash -c "$BACKUP_COPY_CMD" _ SETDIR`,
#                           e.g. 'rsync -a "$1" backup@host:/srv/flashbill/' or
#                           'rclone copy "$1" remote:flashbill/$(basename "$1")'
#   BACKUP_METRICS_DIR      node_exporter textfile directory (default /var/lib/prometheus/node-exporter;
#                           empty = none)
#   FLASHBILL_ROOT          prefix for the default paths (tests)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
source "$here/../lib/common.sh"
source "$here/lib.sh"

: "${DATABASE_URL:?DATABASE_URL is not set (flashbill.env)}"
UPLOAD_DIR=${UPLOAD_DIR:-$(p /var/lib/flashbill/uploads)}
BACKUP_DIR=${BACKUP_DIR:-$(p /var/backups/flashbill)}
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-14}
BACKUP_KEEP_MIN=${BACKUP_KEEP_MIN:-3}
BACKUP_METRICS_DIR=${BACKUP_METRICS_DIR-$(p /var/lib/prometheus/node-exporter)}
[[ "$BACKUP_RETENTION_DAYS" =~ ^[0-9]+$ && "$BACKUP_KEEP_MIN" =~ ^[0-9]+$ ]] ||
    die "BACKUP_RETENTION_DAYS and BACKUP_KEEP_MIN must be whole numbers"

umask 077
started=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BACKUP_DIR"
set_dir="$BACKUP_DIR/$stamp"
work="$set_dir.partial"
rm -rf "$work"
mkdir "$work"
trap 'rm -rf "$work"' EXIT

# One REPEATABLE READ transaction exports its snapshot; pg_dump dumps exactly that snapshot and
# the manifest is computed in it too, so the manifest describes the dump even while the app
# keeps writing.
coproc PSQL { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" 2>&1; }
exec {to_psql}>&"${PSQL[1]}" {from_psql}<&"${PSQL[0]}"
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;" "SELECT pg_export_snapshot();" >&"$to_psql"
read -r -t 30 snapshot <&"$from_psql" || die "could not open a snapshot on the database"
[[ "$snapshot" =~ ^[0-9A-F-]+$ ]] || die "could not open a snapshot: $snapshot"

pg_dump -Fc --snapshot="$snapshot" -d "$DATABASE_URL" -f "$work/db.dump"

printf '%s\n' "$MANIFEST_SETTINGS" "$MANIFEST_SQL" "SELECT '-- end --';" >&"$to_psql"
: >"$work/manifest.tsv"
while read -r -t 600 line <&"$from_psql"; do
    [[ "$line" == "-- end --" ]] && break
    [[ "$line" == *"|"*"|"* ]] || die "manifest query failed: $line"
    printf '%s\n' "$line" >>"$work/manifest.tsv"
done
printf '%s\n' "COMMIT;" "\\q" >&"$to_psql"
exec {to_psql}>&-
wait "$PSQL_PID" || true

# A dump pg_restore cannot read is no backup.
pg_restore --list "$work/db.dump" >/dev/null || die "pg_restore cannot read the dump just written"

if [[ -d "$UPLOAD_DIR" ]]; then
    tar -C "$(dirname "$UPLOAD_DIR")" -czf "$work/uploads.tar.gz" "$(basename "$UPLOAD_DIR")"
else
    warn "no upload directory at $UPLOAD_DIR; the set has no uploads.tar.gz"
fi
(cd "$work" && sha256sum -- * >SHA256SUMS)
mv "$work" "$set_dir"
trap - EXIT
log "backup set $set_dir ($(du -sh "$set_dir" | cut -f1), $(wc -l <"$set_dir/manifest.tsv") tables)"

# Retention: by age, never below the newest BACKUP_KEEP_MIN sets; and leftovers of killed runs.
mapfile -t sets < <(find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '20*T*Z' -printf '%f\n' | sort -r)
cutoff=$(date -u -d "-$BACKUP_RETENTION_DAYS days" +%Y%m%dT%H%M%SZ)
for ((i = BACKUP_KEEP_MIN; i < ${#sets[@]}; i++)); do
    if [[ "${sets[i]}" < "$cutoff" ]]; then
        rm -rf "${BACKUP_DIR:?}/${sets[i]}"
        log "retention: removed ${sets[i]}"
    fi
done
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '*.partial' -mmin +60 -exec rm -rf {} +

if [[ -n "${BACKUP_COPY_CMD:-}" ]]; then
    bash -c "$BACKUP_COPY_CMD" _ "$set_dir" || die "off-host copy failed (BACKUP_COPY_CMD)"
    log "off-host copy done"
fi

# Written last: the alert "backup older than 26 h" fires when any step above keeps failing.
if [[ -n "$BACKUP_METRICS_DIR" ]]; then
    mkdir -p "$BACKUP_METRICS_DIR"
    prom="$BACKUP_METRICS_DIR/flashbill_backup.prom"
    cat >"$prom.$$" <<PROM
# HELP flashbill_backup_last_success_timestamp_seconds When the last complete backup set finished.
# TYPE flashbill_backup_last_success_timestamp_seconds gauge
flashbill_backup_last_success_timestamp_seconds $(date +%s)
# HELP flashbill_backup_last_size_bytes Size of the last backup set.
# TYPE flashbill_backup_last_size_bytes gauge
flashbill_backup_last_size_bytes $(du -sb "$set_dir" | cut -f1)
# HELP flashbill_backup_last_duration_seconds How long the last backup took.
# TYPE flashbill_backup_last_duration_seconds gauge
flashbill_backup_last_duration_seconds $(($(date +%s) - started))
PROM
    chmod 0644 "$prom.$$"
    mv -f "$prom.$$" "$prom"
fi
echo "$set_dir"
