#!/usr/bin/env python3
"""Overall grade from a testssl.sh JSON report (--jsonfile), after the SSL Labs Server Rating
Guide: Debian 12's testssl.sh 3.0.8 predates testssl's own "Rating" section (3.1+), so this
applies the same published method to the findings 3.0.8 does report.

score = 0.3 protocol + 0.3 key exchange + 0.4 cipher strength  (A >= 80, B >= 65, C >= 50, D >= 35, E >= 20, F)
caps: any vulnerability (-U finding of severity LOW or worse) -> F; untrusted chain -> T;
TLS 1.0/1.1 offered -> B; a TLS 1.2 suite without forward secrecy or AEAD -> B; no TLS 1.3 -> A-.
A+: A, and HSTS max-age >= 180 days.
Prints "grade score details" and exits 0; the caller compares the grade.
"""
import json, re, sys

VULN_IDS = {"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS",
            "BREACH", "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "LOGJAM-common_primes",
            "BEAST", "BEAST_CBC_TLS1", "LUCKY13", "RC4"}
BAD = {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
PROTO_SCORE = {"SSLv2": 0, "SSLv3": 80, "TLS1": 90, "TLS1_1": 95, "TLS1_2": 100, "TLS1_3": 100}

findings = json.load(open(sys.argv[1]))
by_id = {}
for f in findings:
    by_id.setdefault(f["id"], []).append(f)
notes = []

offered = [p for p in PROTO_SCORE if any(re.match(r"^offered", f["finding"]) for f in by_id.get(p, []))]
if not offered:
    print("F 0 no protocol offered (or -p not run)")
    sys.exit(0)
proto = (max(PROTO_SCORE[p] for p in offered) + min(PROTO_SCORE[p] for p in offered)) / 2

key = by_id.get("cert_keySize", [{"finding": ""}])[0]["finding"]
m = re.search(r"(RSA|EC|ECDSA)\D*(\d+)", key)
if not m:
    print(f"F 0 no certificate key size in the report ({key!r})")
    sys.exit(0)
bits = int(m.group(2))
rsa_equiv = bits if m.group(1) == "RSA" else {256: 3072, 384: 7680, 521: 15360}.get(bits, bits * 12)
kx = 20 if rsa_equiv < 512 else 40 if rsa_equiv < 1024 else 80 if rsa_equiv < 2048 else 90 if rsa_equiv < 4096 else 100

cipher_bits, tls12_names = [], []
for fid, fs in by_id.items():
    if fid.startswith("cipher-tls1") or fid.startswith("cipher_x"):
        for f in fs:
            mm = re.search(r"\s(\d+)\s+TLS_\w+\s*$", f["finding"])
            if mm:
                cipher_bits.append(int(mm.group(1)))
                if "tls1_2" in fid:
                    tls12_names.append(f["finding"].split()[3])
if not cipher_bits:
    print("F 0 no cipher list in the report (-E not run?)")
    sys.exit(0)
score_of = lambda b: 0 if b == 0 else 20 if b < 128 else 80 if b < 256 else 100
cipher = (score_of(max(cipher_bits)) + score_of(min(cipher_bits))) / 2
score = 0.3 * proto + 0.3 * kx + 0.4 * cipher
grade = "A" if score >= 80 else "B" if score >= 65 else "C" if score >= 50 else "D" if score >= 35 else "E" if score >= 20 else "F"
order = ["A+", "A", "A-", "B", "C", "D", "E", "F", "T"]
cap = lambda g, why: (notes.append(why), order[max(order.index(grade), order.index(g))])[1]

vulns = [f"{f['id']}: {f['finding']}" for fid in VULN_IDS for f in by_id.get(fid, []) if f["severity"] in BAD]
if vulns:
    grade = cap("F", "vulnerable: " + "; ".join(vulns))
if any(p in offered for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1")):
    grade = cap("B", "TLS 1.0/1.1 offered")
if any(not (n.startswith("ECDHE") or n.startswith("DHE")) for n in tls12_names):
    grade = cap("B", "TLS 1.2 suite without forward secrecy")
if any(not re.search(r"GCM|CHACHA20|CCM", n) for n in tls12_names):
    grade = cap("B", "TLS 1.2 suite without AEAD")
if "TLS1_3" not in offered:
    grade = cap("A-", "no TLS 1.3")
trust = by_id.get("cert_chain_of_trust", [{"severity": "OK", "finding": ""}])[0]
if trust["severity"] in BAD:
    grade = "T"
    notes.append("chain not trusted: " + trust["finding"])
hsts = by_id.get("HSTS_time", [{"finding": ""}])[0]["finding"]
mh = re.search(r"=(\d+) seconds", hsts)
if grade == "A" and mh and int(mh.group(1)) >= 15552000:
    grade = "A+"
print(f"{grade} {score:.0f} protocol={proto:.0f} key_exchange={kx} (key {key}) cipher={cipher:.0f} "
      f"(bits {min(cipher_bits)}-{max(cipher_bits)}) protocols={','.join(offered)} hsts={hsts!r}"
      + (" notes: " + " | ".join(notes) if notes else ""))
