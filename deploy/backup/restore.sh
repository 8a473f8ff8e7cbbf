#!/usr/bin/env bash
# deploy/backup/restore.sh — restores a backup set made by backup.sh, and proves it.
#
# Usage:
#   restore.sh --verify SET_DIR
#       restore into a scratch database, compare every table's row count and checksum with the
#       set's manifest, drop the scratch database. Changes nothing else. Exit 0 = restorable.
#   restore.sh --target-db NAME [--replace] [--uploads] SET_DIR
#       restore into database NAME (created, owned by the app's role; --replace drops an existing
#       one first: stop flashbill-api and flashbill-worker before that), verify it against the
#       manifest, and with --uploads put uploads.tar.gz back into UPLOAD_DIR (the old directory
#       is kept beside it as <dir>.before-restore-<time>).
#
# Environment: DATABASE_URL (role, host and credentials used for pg_restore; its database name is
# replaced by the target), UPLOAD_DIR, FLASHBILL_PSQL_ADMIN (admin psql command for CREATE/DROP
# DATABASE; default `runuser -u postgres -- psql`). On a server:
#   sudo bash -c 'set -a; . /etc/flashbill/flashbill.env; /opt/flashbill/kit/backup/restore.sh --verify /var/backups/flashbill/<set>'
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
source "$here/../lib/common.sh"
source "$here/lib.sh"

mode="" target="" replace=0 uploads=0 set_dir=""
while (($#)); do
    case "$1" in
        --verify) mode=verify ;;
        --target-db)
            mode=restore
            target=${2:?--target-db needs a name}
            shift
            ;;
        --replace) replace=1 ;;
        --uploads) uploads=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        -*) die "unknown option $1" ;;
        *) set_dir=$1 ;;
    esac
    shift
done
[[ -n "$mode" && -n "$set_dir" ]] || die "usage: restore.sh --verify SET_DIR | --target-db NAME [--replace] [--uploads] SET_DIR"
: "${DATABASE_URL:?DATABASE_URL is not set (flashbill.env)}"
[[ -f "$set_dir/db.dump" && -f "$set_dir/manifest.tsv" ]] || die "$set_dir is not a backup set"
(cd "$set_dir" && sha256sum --quiet -c SHA256SUMS) || die "checksums of $set_dir do not match: the set is damaged"

role=$(psql -X -At -d "$DATABASE_URL" -c 'SELECT current_user')
if [[ "$mode" == verify ]]; then
    target="$(db_name_of "$DATABASE_URL")_restore_check"
    replace=1
fi
[[ "$target" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "database name '$target': letters, digits and _ only"

exists=$(psql_admin -v db="$target" <<<"SELECT count(*) FROM pg_database WHERE datname = :'db'")
if [[ "$exists" != 0 ]]; then
    ((replace)) || die "database $target exists; add --replace to drop it first"
    psql_admin -v db="$target" <<<'DROP DATABASE :"db" WITH (FORCE)'
fi
psql_admin -v db="$target" -v role="$role" <<<'CREATE DATABASE :"db" OWNER :"role"'
target_url=$(db_url_with_name "$DATABASE_URL" "$target")

# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
    if [[ "$mode" == verify ]]; then
        psql_admin -v db="$target" <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE)' || true
    fi
}
trap cleanup EXIT

# As the app's role, so every restored object belongs to it, as the originals did.
pg_restore --no-owner --exit-on-error -d "$target_url" "$set_dir/db.dump"

if ! diff <(sort "$set_dir/manifest.tsv") <(manifest_of "$target_url" | sort) >&2; then
    die "restored database $target differs from the manifest of $set_dir (lines above: < backup, > restored)"
fi
log "verified: $(wc -l <"$set_dir/manifest.tsv") tables, row counts and checksums identical"

if ((uploads)) && [[ "$mode" == restore ]]; then
    UPLOAD_DIR=${UPLOAD_DIR:-$(p /var/lib/flashbill/uploads)}
    [[ -f "$set_dir/uploads.tar.gz" ]] || die "the set has no uploads.tar.gz"
    if [[ -e "$UPLOAD_DIR" ]]; then
        mv "$UPLOAD_DIR" "$UPLOAD_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    fi
    mkdir -p "$(dirname "$UPLOAD_DIR")"
    staging=$(mktemp -d "$(dirname "$UPLOAD_DIR")/.restore.XXXXXX")
    tar -C "$staging" -xzf "$set_dir/uploads.tar.gz"
    mv "$staging"/* "$UPLOAD_DIR"
    rmdir "$staging"
    log "uploads restored into $UPLOAD_DIR"
fi
[[ "$mode" == verify ]] && log "$set_dir restores cleanly"
exit 0
