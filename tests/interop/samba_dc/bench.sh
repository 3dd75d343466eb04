#!/usr/bin/env bash
# Pass-through logons per second against a Samba AD DC on loopback (issue 10), side by side
# in one run: Samba's `ntlm_auth --helper-protocol=squid-2.5-ntlmssp` verifying through the
# DC's own winbindd, and `ntlm squid-helper --dc`, each serial and driven by the same client
# driver (bench_driver.py: one `ntlm client-helper` makes the NTLMv2 messages); then 8
# concurrent logons in one process (examples/netlogon_bench.rs). Three rounds, medians, the
# CPU per logon of the helper, the DC and the client, and the load (uptime). Not in CI.
#
# usage: tests/interop/samba_dc/bench.sh [SERIAL_N] [CONCURRENT_N]   (root; release build)
# With DC_DIR=DIR it uses the DC already provisioned there (dc.sh provision + users) instead
# of provisioning one. winbindd listens on /run/samba/winbindd (libwbclient's built-in
# directory; ntlm_auth finds winbindd nowhere else), which must not be in use.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=tests/interop/samba_dc
n=${1:-500} cn=${2:-2000}
own_dir=
if [ -z "${DC_DIR:-}" ]; then
    for port in 135 445 88 389; do
        if ss -ltnH "sport = :$port" | grep -q .; then echo "port $port is in use: another DC?"; exit 1; fi
    done
    if [ -e /run/samba/winbindd/pipe ]; then echo "/run/samba/winbindd/pipe exists: another winbindd?"; exit 1; fi
    DC_DIR="$(mktemp -d /tmp/ntlm-samba-dc-bench.XXXXXX)" own_dir=1
    bash "$here/dc.sh" provision "$DC_DIR"
    bash "$here/dc.sh" start "$DC_DIR"
    bash "$here/dc.sh" users "$DC_DIR"
fi
conf="$DC_DIR/etc/smb.conf"
cleanup() {
    bash "$here/dc.sh" stop "$DC_DIR" || true
    rm -rf /run/samba/winbindd
    if [ -n "$own_dir" ]; then rm -rf "$DC_DIR"; fi
}
trap cleanup EXIT

# The DC's own winbindd, where ntlm_auth looks for it.
bash "$here/dc.sh" stop "$DC_DIR"
sed -i -e '/^\s*server services\s*=/{/winbindd/!s/$/, winbindd/}' \
    -e 's|^\(\s*winbindd socket directory\s*=\).*|\1 /run/samba/winbindd|' "$conf"
mkdir -p /run/samba
bash "$here/dc.sh" start "$DC_DIR"
for _ in $(seq 100); do wbinfo -p >/dev/null 2>&1 && break; sleep 0.2; done
wbinfo -p

export NTLM_DC_MACHINE_PASSWORD=Machine-Pass-1 NTLM_DC_USER_PASSWORD=Alice-Pass-1
export DC_PID="$(cat "$DC_DIR/run/samba.pid")"
nice -n 10 cargo build -q --release --features cli --bin ntlm --example netlogon_bench
ntlm=target/release/ntlm
winbind=(ntlm_auth "--configfile=$conf" --helper-protocol=squid-2.5-ntlmssp)
ours=("$ntlm" squid-helper --level 3 --dc 127.0.0.1 --machine-account 'CORP\WEB1$'
      --machine-password-env NTLM_DC_MACHINE_PASSWORD)
out="$(mktemp /tmp/ntlm-dc-bench.XXXXXX)"
for round in 1 2 3; do
    echo "round $round: $(uptime)"
    printf 'winbind %s\n' "$(timeout 600 python3 "$here/bench_driver.py" "$ntlm" "$n" -- "${winbind[@]}")" | tee -a "$out"
    printf 'ours %s\n' "$(timeout 600 python3 "$here/bench_driver.py" "$ntlm" "$n" -- "${ours[@]}")" | tee -a "$out"
    # The bench's warm-up (50 serial and 8 logons) is counted in its CPU, not in its rate.
    c="$(timeout 600 python3 "$here/bench_driver.py" --measure "$((cn + 58))" -- \
        target/release/examples/netlogon_bench 127.0.0.1 'CORP\WEB1$' 'CORP\alice' 0 8 "$cn" \
        | sed -n -e 's/^concurrent:.*: \([0-9]*\) logons\/s$/\1/p' -e 's/^cpu ms\/logon: bench \(.*\) DC \(.*\)$/\1 \2/p' \
        | tr '\n' ' ')"
    printf 'concurrent8 %s\n' "$c" | tee -a "$out"
done
echo "after: $(uptime)"
python3 - "$out" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *vals = line.split()
    rows.setdefault(name, []).append([float(v) for v in vals])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
for k, v in rows.items():
    print(f"{k:<12} rates {[int(r[0]) for r in v]} median {med[k][0]:.0f}/s", end="")
    if len(med[k]) == 4:
        print(f"; CPU ms/logon: helper {med[k][1]:.2f}, DC {med[k][2]:.2f}, client {med[k][3]:.2f}")
    else:
        print(f"; CPU ms/logon: bench {med[k][1]:.2f}, DC {med[k][2]:.2f}")
print(f"ours / winbind serial: {med['ours'][0] / med['winbind'][0]:.2f}x")
PY
rm -f "$out"
