#!/usr/bin/env bash
# backup.sh + restore.sh on a real database of the test PostgreSQL: rows written while the
# backup runs; the manifest matches the dump (same snapshot); restore --verify passes; a restore
# into a fresh database has identical row counts and checksums (checked here independently);
# a damaged manifest or archive is caught; uploads come back; retention and the metric file.
source "$(dirname "$0")/lib.sh"
export FLASHBILL_ROOT="$T/root" FLASHBILL_PSQL_ADMIN="psql $PG_ADMIN_URL"
src=$(new_db)
export DATABASE_URL=$src
export BACKUP_DIR="$T/root/var/backups/flashbill" UPLOAD_DIR="$T/root/var/lib/flashbill/uploads"
export BACKUP_METRICS_DIR="$T/root/var/lib/prometheus/node-exporter" BACKUP_KEEP_MIN=2 BACKUP_RETENTION_DAYS=14
export BACKUP_COPY_CMD="cp -r \"\$1\" '$T/offsite/'"
mkdir -p "$UPLOAD_DIR/org1" "$T/offsite"
echo receipt >"$UPLOAD_DIR/org1/receipt.pdf"
psql -X -q -v ON_ERROR_STOP=1 "$src" <<'SQL'
CREATE TABLE backup_probe (id bigserial PRIMARY KEY, amount_minor bigint, rate numeric(9,4), at timestamptz,
  note text, blob bytea, tags text[], doc jsonb);
INSERT INTO backup_probe (amount_minor, rate, at, note, blob, tags, doc)
SELECT g * 137, g / 7.0, now() - g * interval '1 hour', CASE WHEN g % 5 = 0 THEN NULL ELSE 'Zoë ' || g END,
       decode(md5(g::text), 'hex'), ARRAY['a', g::text], jsonb_build_object('g', g)
FROM generate_series(1, 5000) g;
SQL
# Old sets for retention: two expired, kept only while fewer than BACKUP_KEEP_MIN newer sets exist.
mkdir -p "$BACKUP_DIR/20000101T000000Z" "$BACKUP_DIR/20000102T000000Z"

# A writer keeps inserting while the backup runs.
(for i in $(seq 1 50); do psql -X -q "$src" -c "INSERT INTO backup_probe (note) VALUES ('during backup $i')" >/dev/null 2>&1; done) &
writer=$!
set_dir=$("$KIT/backup/backup.sh" 2>"$T/backup.log" | tail -1) || { cat "$T/backup.log"; fatal "backup.sh failed"; }
wait "$writer" || true
check "backup set written: $set_dir" test -f "$set_dir/db.dump" -a -f "$set_dir/uploads.tar.gz" -a -f "$set_dir/manifest.tsv" -a -f "$set_dir/SHA256SUMS"
check "dump is pg_dump custom format" bash -c "pg_restore --list '$set_dir/db.dump' | grep -q 'Format: CUSTOM'"
check "manifest lists the probe table" grep -q '^public.backup_probe|' "$set_dir/manifest.tsv"
check "manifest lists the app's tables too" bash -c "grep -q '^public.jobs|' '$set_dir/manifest.tsv' && grep -q '^public.schema_migrations|' '$set_dir/manifest.tsv'"
check "off-host copy ran" test -f "$T/offsite/$(basename "$set_dir")/db.dump"
check "metric file for node_exporter" grep -q '^flashbill_backup_last_success_timestamp_seconds [0-9]\{10\}$' "$BACKUP_METRICS_DIR/flashbill_backup.prom"
check "set is root-only readable (umask 077)" test "$(stat -c %a "$set_dir/db.dump")" == 600

# Retention: a second set, and the two expired ones go (two newer sets remain).
sleep 1
"$KIT/backup/backup.sh" >/dev/null 2>>"$T/backup.log" || fatal "second backup failed"
check "retention removed expired sets, kept the newest $BACKUP_KEEP_MIN" bash -c "[[ ! -e '$BACKUP_DIR/20000101T000000Z' && ! -e '$BACKUP_DIR/20000102T000000Z' && \$(ls '$BACKUP_DIR' | wc -l) == 2 ]]"

if "$KIT/backup/restore.sh" --verify "$set_dir" >"$T/verify.log" 2>&1; then ok "restore.sh --verify: $(grep verified "$T/verify.log")"; else cat "$T/verify.log"; bad "restore.sh --verify"; fi

target="t_deploy_restored_$$"
DBS+=("$target")
rm -rf "$UPLOAD_DIR"
if "$KIT/backup/restore.sh" --target-db "$target" --uploads "$set_dir" >"$T/restore.log" 2>&1; then ok "restore.sh into a fresh database"; else cat "$T/restore.log"; bad "restore.sh into $target"; fi
restored=$(db_url_of() { printf 'postgresql://flashbill@127.0.0.1:%s/%s' "${FLASHBILL_TEST_PG_PORT:-55433}" "$1"; }; db_url_of "$target")
check "restored rows: same count and checksum as the manifest" bash -c "
  m=\$(grep '^public.backup_probe|' '$set_dir/manifest.tsv' | cut -d'|' -f2)
  r=\$(psql -X -At '$restored' -c 'SELECT count(*) FROM backup_probe')
  [[ \$m == \$r && \$r -ge 5000 ]]"
# Independent of restore.sh's own comparison: the 5000 original rows, row by row.
a=$(psql -X -At "$src" -c "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM backup_probe t WHERE id <= 5000")
b=$(psql -X -At "$restored" -c "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM backup_probe t WHERE id <= 5000")
check "restored rows are byte-identical to the originals" test "$a" == "$b"
check "uploads restored" test "$(cat "$UPLOAD_DIR/org1/receipt.pdf" 2>/dev/null)" == receipt

# The verification can fail.
cp -r "$set_dir" "$T/tampered"
sed -i 's/^\(public.backup_probe|\)[0-9]*/\11/' "$T/tampered/manifest.tsv"
(cd "$T/tampered" && sha256sum -- db.dump uploads.tar.gz manifest.tsv >SHA256SUMS)
check "a manifest that does not match the dump fails --verify" bash -c "! '$KIT/backup/restore.sh' --verify '$T/tampered' >/dev/null 2>&1"
cp -r "$set_dir" "$T/damaged"
printf 'x' >>"$T/damaged/db.dump"
check "a damaged archive fails its checksum" bash -c "! '$KIT/backup/restore.sh' --verify '$T/damaged' >/dev/null 2>&1"
finish
