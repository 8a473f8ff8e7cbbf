#!/usr/bin/env bash
# nftables rules: `nft -c -f` (check mode: parses and validates against the kernel's netlink
# without loading anything) accepts the file; the rules allow 22, 80 and 443 only; the check
# fails on a broken file.
source "$(dirname "$0")/lib.sh"
conf="$KIT/firewall/nftables.conf"
if out=$(nft -c -f "$conf" 2>&1); then
    ok "nft -c -f deploy/firewall/nftables.conf"
    printf 'bogus rule here\n' | cat "$conf" - >"$T/broken.conf"
    check "nft -c rejects a broken file (the check can fail)" bash -c "! nft -c -f '$T/broken.conf' >/dev/null 2>&1"
elif grep -qiE 'permission|not permitted|netlink' <<<"$out"; then
    echo "nft -c cannot run here ($out): checking the rule file's content only"
else
    printf '%s\n' "$out"
    bad "nft -c -f rejects the rules"
fi
check "input policy is drop" grep -q 'type filter hook input priority filter; policy drop;' "$conf"
check "SSH port defaults to 22" grep -qx 'define SSH_PORT = 22' "$conf"
rules=$(grep -v '^\s*#' "$conf" | grep 'dport' || true)
check "exactly three accept rules name ports" test "$(grep -c accept <<<"$rules")" == 3
check "two of them are SSH (IPv4 and IPv6 rate meters)" test "$(grep -c 'dport $SSH_PORT' <<<"$rules")" == 2
check "the third is 80 and 443" grep -q 'tcp dport { 80, 443 } accept' <<<"$rules"
for p in 3000 5432 6379 9090 9100; do
    check "port $p is not opened" bash -c "! grep -v '^\s*#' '$conf' | grep -qw $p"
done
check "loopback and established traffic accepted" bash -c "grep -q 'iif \"lo\" accept' '$conf' && grep -q 'ct state established,related accept' '$conf'"
finish
