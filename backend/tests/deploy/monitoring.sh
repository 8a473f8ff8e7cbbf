#!/usr/bin/env bash
# Prometheus config and alert rules: promtool check config (the file install.sh renders, with
# the rule and token files it installs), check rules, test rules; every alert has a firing and
# a quiet case; the blackbox exporter accepts its module file; the backup metric backup.sh
# writes is what the BackupTooOld rule reads.
source "$(dirname "$0")/lib.sh"
kit_env 26190 26191 26192
install_kit
mon="$KIT/monitoring"
check "promtool check config on the installed prometheus.yml" promtool check config "$T/root/etc/prometheus/prometheus.yml"
check "promtool check rules" promtool check rules "$mon/rules/flashbill.rules.yml"
check "promtool test rules" promtool test rules "$mon/tests/flashbill.rules.test.yml"
check "blackbox exporter accepts blackbox.yml" prometheus-blackbox-exporter --config.check --config.file "$mon/blackbox.yml"

# Each alert appears in at least one test case that expects it and one that expects silence.
mapfile -t alerts < <(sed -n 's/^ *- alert: *//p' "$mon/rules/flashbill.rules.yml")
check "eight alerts defined (cert, service, database, 5xx, p99, disk, queue, backup)" test "${#alerts[@]}" -ge 8
for a in "${alerts[@]}"; do
    firing=$(awk -v a="$a" '$1=="alertname:" && $2==a {getline; if ($0 !~ /\[\]/) n++} END {print n+0}' "$mon/tests/flashbill.rules.test.yml")
    quiet=$(awk -v a="$a" '$1=="alertname:" && $2==a {getline; if ($0 ~ /\[\]/) n++} END {print n+0}' "$mon/tests/flashbill.rules.test.yml")
    check "$a: $firing firing and $quiet quiet test case(s)" bash -c "((${firing} >= 1 && ${quiet} >= 1))"
done
check "queue alert reads jobs_queue_depth{state=\"queued\"}" grep -q 'jobs_queue_depth{state="queued"}' "$mon/rules/flashbill.rules.yml"
check "backup alert reads the metric backup.sh writes" bash -c "grep -q flashbill_backup_last_success_timestamp_seconds '$KIT/backup/backup.sh' && grep -q flashbill_backup_last_success_timestamp_seconds '$mon/rules/flashbill.rules.yml'"

# The rule tests can fail: the same tests against a rule file with a wrong threshold.
sed 's/> 0.05/> 0.50/' "$mon/rules/flashbill.rules.yml" >"$T/broken.rules.yml"
sed "s|../rules/flashbill.rules.yml|$T/broken.rules.yml|" "$mon/tests/flashbill.rules.test.yml" >"$T/broken.test.yml"
check "promtool test rules fails against a wrong threshold" bash -c "! promtool test rules '$T/broken.test.yml' >/dev/null 2>&1"
finish
