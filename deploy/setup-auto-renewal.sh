#!/usr/bin/env bash
# deploy/setup-auto-renewal.sh — one certificate renewal mechanism, and only one.
#
# Usage: sudo deploy/setup-auto-renewal.sh
#
# - flashbill-certbot-renew.timer (daily 03:00 + up to 1 h random delay, caught up after downtime)
#   runs `certbot renew`, which renews only certificates within 30 days of expiry; its output goes
#   to /var/log/flashbill-ssl-renew.log.
# - /etc/letsencrypt/renewal-hooks/deploy/flashbill-reload-nginx reloads nginx after a renewal,
#   and only then (certbot runs deploy hooks only for renewed certificates); it logs to the same
#   file. A hook in that directory also runs for a manual `sudo certbot renew`.
# - Debian's certbot.timer and any cron line running `certbot renew` (the previous kit's 3 AM
#   cron job) are disabled, so two renewals never race.
# Idempotent. Check with deploy/test-https-setup.sh.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
}
require_root

put_file /etc/letsencrypt/renewal-hooks/deploy/flashbill-reload-nginx 0755 <"$KIT_DIR/certbot/flashbill-reload-nginx"
for u in flashbill-certbot-renew.service flashbill-certbot-renew.timer; do
    put_file "/etc/systemd/system/$u" 0644 <"$KIT_DIR/systemd/$u"
done
logf=$(p /var/log/flashbill-ssl-renew.log)
[[ -f "$logf" ]] || { mkdir -p "$(dirname "$logf")"; : >"$logf"; chmod 0640 "$logf"; CHANGES=$((CHANGES + 1)); }

prefix_mode || systemctl daemon-reload
systemctl_cmd enable flashbill-certbot-renew.timer
prefix_mode || systemctl start flashbill-certbot-renew.timer

# The other mechanisms.
for d in /lib/systemd/system /usr/lib/systemd/system; do
    if [[ -f "$(p $d/certbot.timer)" ]]; then
        if prefix_mode; then systemctl_cmd disable certbot.timer || true; else systemctl disable --now certbot.timer; fi
        break
    fi
done
for f in /etc/cron.d/flashbill-ssl-renew /etc/cron.d/certbot-renew; do remove_path "$f"; done
if ! prefix_mode && command -v crontab >/dev/null && crontab -l 2>/dev/null | grep -q 'certbot renew'; then
    crontab -l | grep -v 'certbot renew' | crontab -
    log "removed 'certbot renew' from root's crontab"
    CHANGES=$((CHANGES + 1))
fi
# Debian's /etc/cron.d/certbot does nothing while systemd runs (it checks /run/systemd/system).

log "auto-renewal: flashbill-certbot-renew.timer + deploy hook ($CHANGES change(s))"
