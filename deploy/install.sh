#!/usr/bin/env bash
# deploy/install.sh — provisions one FlashBill server (Debian 12 / Ubuntu 24.04). Idempotent:
# a second run with the same arguments changes nothing; generated secrets are kept.
#
# Usage: sudo deploy/install.sh --domain example.com --email ops@example.com
#            [--api-domain api.example.com] [--app-domain example.com]
#            [--release VERSION --tarball FILE | --binary PATH | --source DIR]
#            [--separate-worker] [--ssh-port 22]
#
# Does: Debian packages; system user `flashbill`; /opt/flashbill/{releases,kit}, /var/lib/flashbill,
# /var/backups/flashbill, /var/www/{letsencrypt,flashbill}; /etc/flashbill/flashbill.env (0600,
# secrets generated once); PostgreSQL role + database owned by it (what migrations need) and a
# read-only monitoring role; Redis on loopback with a password; nginx (shared http config,
# snippets, sites; the HTTP-only ACME bootstrap site until a certificate exists); nftables
# (22/80/443 only); systemd units and timers; Prometheus + exporters on loopback. Then, with
# --release, deploy/update.sh installs and starts that release. HTTPS: deploy/setup-https.sh.
#
# Test hooks: FLASHBILL_ROOT=DIR writes everything under DIR and runs nothing that changes the
# machine (see deploy/lib/common.sh); FLASHBILL_PSQL_ADMIN (admin psql command, also honoured in
# prefix mode), DB_HOST/DB_PORT/DB_NAME/DB_USER, HTTP_PORT/HTTPS_PORT/LISTEN_ADDR/IPV6/UPSTREAM
# (nginx), NGINX_CMD.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

release_version="" release_kind="" release_src="" separate_worker=0
while (($#)); do
    case "$1" in
        --domain) DOMAIN=${2:?}; shift ;;
        --email) EMAIL=${2:?}; shift ;;
        --api-domain) API_DOMAIN=${2:?}; shift ;;
        --app-domain) APP_DOMAIN=${2:?}; shift ;;
        --release) release_version=${2:?}; shift ;;
        --tarball | --binary | --source) release_kind=$1; release_src=${2:?}; shift ;;
        --separate-worker) separate_worker=1 ;;
        --ssh-port) SSH_PORT=${2:?}; shift ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
require_root
load_deploy_conf
[[ -n "${DOMAIN:-}" ]] || die "--domain is required the first time"
[[ -n "${EMAIL:-}" ]] || die "--email is required the first time (Let's Encrypt expiry notices)"
render_vars
for d in "$DOMAIN" "$API_DOMAIN" "$APP_DOMAIN"; do check_domain "$d"; done
[[ "$EMAIL" =~ ^[^[:space:]@]+@[A-Za-z0-9.-]+$ ]] || die "invalid e-mail address '$EMAIL'"
SSH_PORT=${SSH_PORT:-22}
[[ "$SSH_PORT" =~ ^[0-9]+$ ]] || die "invalid --ssh-port"
DB_HOST=${DB_HOST:-127.0.0.1}
DB_PORT=${DB_PORT:-5432}
DB_NAME=${DB_NAME:-flashbill}
DB_USER=${DB_USER:-flashbill}
[[ "$DB_NAME" =~ ^[a-z_][a-z0-9_]*$ && "$DB_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || die "DB_NAME/DB_USER: lower-case letters, digits, _"

PACKAGES=(nginx certbot postgresql redis-server nftables curl openssl ca-certificates
    prometheus prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter
    prometheus-blackbox-exporter)

step() { log "--- $*"; }

step "packages"
if prefix_mode; then
    log "prefix mode, not run: apt-get install ${PACKAGES[*]}"
else
    missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        CHANGES=$((CHANGES + 1))
    fi
fi

step "user and directories"
if ! prefix_mode && ! id flashbill >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/flashbill --shell /usr/sbin/nologin --user-group flashbill
    CHANGES=$((CHANGES + 1))
fi
ensure_dir /opt/flashbill 0755
ensure_dir /opt/flashbill/releases 0755
ensure_dir /etc/flashbill 0750 root:flashbill
ensure_dir /var/lib/flashbill 0750 flashbill:flashbill
ensure_dir /var/lib/flashbill/uploads 0750 flashbill:flashbill
ensure_dir /var/lib/flashbill/outbox 0750 flashbill:flashbill
ensure_dir /var/backups/flashbill 0700 root:root
ensure_dir /var/www/letsencrypt 0755
ensure_dir /var/www/flashbill 0755
ensure_dir /var/log/nginx 0755

# The kit itself, where the units and the docs expect it (one diff first: copying file by file
# is only needed when something differs).
if [[ ! -d "$(p /opt/flashbill/kit)" ]]; then
    mkdir -p "$(p /opt/flashbill)"
    cp -r "$KIT_DIR" "$(p /opt/flashbill/kit)"
    CHANGES=$((CHANGES + 1))
    log "copied the kit to /opt/flashbill/kit"
elif ! diff -rq "$KIT_DIR" "$(p /opt/flashbill/kit)" >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do
        rel=${f#"$KIT_DIR"/}
        mode=0644
        [[ -x "$f" ]] && mode=0755
        put_file "/opt/flashbill/kit/$rel" "$mode" <"$f"
    done < <(find "$KIT_DIR" -type f -print0 | sort -z)
fi

step "settings and secrets"
put_file "$DEPLOY_CONF" 0644 <<EOF
DOMAIN=$DOMAIN
API_DOMAIN=$API_DOMAIN
APP_DOMAIN=$APP_DOMAIN
EMAIL=$EMAIL
EOF
secret() { openssl rand -hex "$1"; }
env_file=/etc/flashbill/flashbill.env
if [[ ! -f "$(p $env_file)" ]]; then
    # Hex secrets only: the same text is valid for systemd's EnvironmentFile, the app's .env reader
    # and a URL, without quoting.
    put_file $env_file 0600 root:root <<EOF
# FlashBill production settings, generated by deploy/install.sh (kept on re-runs; edit freely).
# Every key is documented in backend/.env.example.
FLASHBILL_ENV=production
HOST=127.0.0.1
PORT=3000
TRUST_PROXY=true
CORS_ORIGINS=https://$APP_DOMAIN
DATABASE_URL=postgresql://$DB_USER:$(secret 24)@$DB_HOST:$DB_PORT/$DB_NAME
# deploy/update.sh applies migrations before it switches releases.
MIGRATE_ON_START=false
REDIS_URL=redis://:$(secret 24)@127.0.0.1:6379/0
JWT_SECRET=$(secret 32)
METRICS_TOKEN=$(secret 32)
APP_URL=https://$APP_DOMAIN
PUBLIC_URL=https://$APP_DOMAIN
UPLOAD_DIR=/var/lib/flashbill/uploads
MAIL_OUTBOX_DIR=/var/lib/flashbill/outbox
# Outgoing mail: smtp://host:587 or smtps://host:465 (empty = .eml files in MAIL_OUTBOX_DIR).
SMTP_URL=
SMTP_USERNAME=
SMTP_PASSWORD=
MAIL_FROM=no-reply@$DOMAIN
LOG_FORMAT=json
EOF
fi
# Reads one key of the env file (never sourced: it is data).
env_value() { sed -n "s/^$1=//p" "$(p $env_file)" | tail -1; }
db_url=$(env_value DATABASE_URL)
db_password=$(sed -E 's|^postgresql://[^:]+:([^@]+)@.*|\1|' <<<"$db_url")
redis_password=$(sed -E 's|^redis://:([^@]+)@.*|\1|' <<<"$(env_value REDIS_URL)")
metrics_token=$(env_value METRICS_TOKEN)
if [[ ! -f "$(p /etc/flashbill/monitor.secret)" ]]; then
    secret 24 | put_file /etc/flashbill/monitor.secret 0600 root:root
fi
monitor_password=$(cat "$(p /etc/flashbill/monitor.secret)")
if [[ ! -f "$(p /etc/flashbill/backup.env)" ]]; then
    put_file /etc/flashbill/backup.env 0600 root:root <"$KIT_DIR/backup/backup.env.example"
fi

step "PostgreSQL"
if prefix_mode && [[ -z "${FLASHBILL_PSQL_ADMIN:-}" ]]; then
    log "prefix mode without FLASHBILL_PSQL_ADMIN: database role and database not created"
else
    # The app's role owns its database (and so the public schema, PostgreSQL 15+), which is
    # every privilege its migrations need; nobody else may connect. The monitoring role only
    # reads statistics (pg_monitor).
    # shellcheck disable=SC2086
    ${FLASHBILL_PSQL_ADMIN:-runuser -u postgres -- psql} -X -q -v ON_ERROR_STOP=1 \
        -v user="$DB_USER" -v db="$DB_NAME" -v pw="$db_password" -v mon="${DB_USER}_monitor" -v monpw="$monitor_password" <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user')\gexec
ALTER ROLE :"user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 200 PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SELECT format('CREATE ROLE %I LOGIN', :'mon') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'mon')\gexec
ALTER ROLE :"mon" WITH LOGIN NOSUPERUSER CONNECTION LIMIT 3 PASSWORD :'monpw';
GRANT pg_monitor TO :"mon";
GRANT CONNECT ON DATABASE :"db" TO :"mon";
SQL
fi

step "Redis"
put_file /etc/redis/flashbill.conf 0640 redis:redis <<EOF
# FlashBill's Redis settings (deploy/install.sh), included at the end of redis.conf.
bind 127.0.0.1 -::1
protected-mode yes
port 6379
requirepass $redis_password
# The app's version and epoch keys have no TTL: only keys with one may be evicted.
maxmemory 256mb
maxmemory-policy volatile-lru
EOF
redis_conf=$(p /etc/redis/redis.conf)
if [[ -f "$redis_conf" ]]; then
    if ! grep -qx 'include /etc/redis/flashbill.conf' "$redis_conf"; then
        printf '\n# FlashBill (deploy/install.sh)\ninclude /etc/redis/flashbill.conf\n' >>"$redis_conf"
        CHANGES=$((CHANGES + 1))
    fi
else
    log "no $redis_conf: include line not added"
fi

step "nginx"
put_rendered "$KIT_DIR/nginx/flashbill.conf" /etc/nginx/conf.d/flashbill.conf 0644
for s in flashbill-acme.conf flashbill-proxy.conf flashbill-api-errors.conf flashbill-api-own-headers.conf \
    flashbill-api-error-locations.conf flashbill-webapp-headers.conf; do
    put_rendered "$KIT_DIR/nginx/snippets/$s" "/etc/nginx/snippets/$s" 0644
done
for s in flashbill-acme flashbill-default "${NGINX_TLS_SITES[@]}"; do
    put_rendered "$KIT_DIR/nginx/sites/$s" "/etc/nginx/sites-available/$s" 0644
done
# The TLS snippets belong to configure-ssl-security.sh; it also runs nginx -t before keeping them.
before=$CHANGES
"$KIT_DIR/configure-ssl-security.sh" --no-reload
# Debian's "default" site claims default_server on port 80, as flashbill-default does.
remove_path /etc/nginx/sites-enabled/default
enable_site flashbill-default
if [[ -f "$(p /etc/nginx/snippets/flashbill-cert.conf)" ]]; then
    for s in "${NGINX_TLS_SITES[@]}"; do enable_site "$s"; done
    disable_site flashbill-acme
else
    enable_site flashbill-acme
    log "no certificate yet: HTTP-only bootstrap site enabled; next: deploy/setup-https.sh"
fi
if ((CHANGES != before)) || [[ -n "${NGINX_CMD:-}" ]]; then
    nginx_test || die "nginx -t failed on the rendered configuration (shown above)"
    prefix_mode || systemctl_cmd reload-or-restart nginx
fi

step "firewall"
sed "s/^define SSH_PORT = .*/define SSH_PORT = $SSH_PORT/" "$KIT_DIR/firewall/nftables.conf" | put_file /etc/nftables.conf 0755
if ! prefix_mode; then
    nft -c -f /etc/nftables.conf || die "nft rejected /etc/nftables.conf"
    systemctl enable --now nftables.service
    nft -f /etc/nftables.conf
fi

step "monitoring"
put_rendered "$KIT_DIR/monitoring/prometheus.yml" /etc/prometheus/prometheus.yml 0644
put_file /etc/prometheus/rules/flashbill.rules.yml 0644 <"$KIT_DIR/monitoring/rules/flashbill.rules.yml"
put_file /etc/prometheus/blackbox.yml 0644 <"$KIT_DIR/monitoring/blackbox.yml"
printf '%s\n' "$metrics_token" | put_file /etc/prometheus/flashbill-metrics-token 0640 root:prometheus
# Every exporter and Prometheus itself on loopback only (the firewall would drop them anyway).
put_file /etc/default/prometheus 0644 <<'EOF'
ARGS="--web.listen-address=127.0.0.1:9090 --storage.tsdb.retention.time=30d"
EOF
put_file /etc/default/prometheus-node-exporter 0644 <<'EOF'
ARGS="--web.listen-address=127.0.0.1:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter"
EOF
put_file /etc/default/prometheus-postgres-exporter 0640 root:prometheus <<EOF
DATA_SOURCE_NAME="postgresql://${DB_USER}_monitor:$monitor_password@$DB_HOST:$DB_PORT/$DB_NAME?sslmode=disable"
ARGS="--web.listen-address=127.0.0.1:9187"
EOF
put_file /etc/default/prometheus-redis-exporter 0640 root:prometheus <<EOF
REDIS_PASSWORD=$redis_password
ARGS="-web.listen-address 127.0.0.1:9121 -redis.addr redis://127.0.0.1:6379"
EOF
put_file /etc/default/prometheus-blackbox-exporter 0644 <<'EOF'
ARGS="--config.file /etc/prometheus/blackbox.yml --web.listen-address=127.0.0.1:9115"
EOF
ensure_dir /var/lib/prometheus/node-exporter 0755

step "systemd units"
for u in "$KIT_DIR"/systemd/*.service "$KIT_DIR"/systemd/*.socket "$KIT_DIR"/systemd/*.timer; do
    put_file "/etc/systemd/system/$(basename "$u")" 0644 <"$u"
done
dropin=/etc/systemd/system/flashbill-api.service.d/separate-worker.conf
if ((separate_worker)) || [[ -f "$(p $dropin)" ]]; then
    put_file $dropin 0644 <<'EOF'
# deploy/install.sh --separate-worker: jobs run in flashbill-worker.service.
[Service]
Environment=FLASHBILL_SERVE_ARGS=--no-worker
EOF
fi
prefix_mode || systemctl daemon-reload
enable_units=(flashbill-api.socket flashbill-api.service flashbill-backup.timer flashbill-certbot-renew.timer)
[[ -f "$(p $dropin)" ]] && enable_units+=(flashbill-worker.service)
for u in "${enable_units[@]}"; do systemctl_cmd enable "$u"; done
if ! prefix_mode; then
    systemctl enable --now flashbill-api.socket flashbill-backup.timer flashbill-certbot-renew.timer
    for s in postgresql redis-server prometheus prometheus-node-exporter prometheus-postgres-exporter \
        prometheus-redis-exporter prometheus-blackbox-exporter; do
        systemctl enable --quiet "$s.service"
        systemctl restart "$s.service"
    done
fi

if [[ -n "$release_version" ]]; then
    step "release $release_version"
    [[ -n "$release_kind" ]] || die "--release needs --tarball, --binary or --source"
    "$KIT_DIR/update.sh" "$release_version" "$release_kind" "$release_src"
elif [[ ! -L "$(p /opt/flashbill/current)" ]]; then
    log "no release installed yet: deploy/update.sh VERSION --tarball FILE (or --binary/--source)"
fi

log "done: $CHANGES change(s)"
