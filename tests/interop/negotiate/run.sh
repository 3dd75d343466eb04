#!/usr/bin/env bash
# `ntlm negotiate-helper` (Squid's `auth_param negotiate` helper protocol, SPNEGO wrapping
# NTLM) with real peers:
#   (a) Samba's ntlm_auth --helper-protocol=gss-spnego-client and (b) pyspnego's Negotiate
#       client, relayed line by line (peers.py), levels 2, 3 and 5, audit mode;
#   (c) Squid with `auth_param negotiate program ntlm negotiate-helper ...` and curl
#       --proxy-negotiate as the HTTP client. curl's SPNEGO is GSS-API: with Debian's
#       gss-ntlmssp installed, MIT's SPNEGO offers NTLM and gss-ntlmssp reads the client's
#       credentials from NTLM_USER_FILE, so no Kerberos is involved.
# Debian packages: winbind (ntlm_auth), squid, curl, gss-ntlmssp (installed here when
# missing and running as root, as CI does). Exits non-zero when a peer is missing or a check
# fails; prints a result table. Every step is bounded in time; what it starts, it stops.
# Environment: NTLM_BIN (default: target/debug/ntlm, built or brought up to date first).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
. "$HERE/../lib/common.sh"
. "$HERE/../lib/squid.sh"

ensure_gss_ntlmssp || { echo "run.sh: gss-ntlmssp not installed (apt-get install gss-ntlmssp)" >&2; exit 2; }
need_tools run.sh ntlm_auth squid curl python3

# The debug build `cargo test --all-features` made, brought up to date (incremental).
if [ -z "${NTLM_BIN:-}" ]; then
    (cd "$ROOT" && timeout 1200 cargo build --all-features --bin ntlm >&2) || exit 2
    NTLM_BIN="$ROOT/target/debug/ntlm"
fi
VPY="$(bash "$ROOT/tests/interop/setup-pyspnego.sh" | tail -n1)" || { echo "run.sh: pyspnego setup failed" >&2; exit 2; }

interop_work ntlm-negotiate
stage_for_squid
printf 'CORP:alice:wrong\n' > "$WORK/users-wrong"
chmod 644 "$WORK/users-wrong"

status=0
timeout 180 python3 "$HERE/peers.py" "$WORK/ntlm" "$WORK/users" "$VPY" || status=1

# ---------------------------------------------------------------- (c) Squid
start_origin "hello through squid" || { echo "run.sh: the origin did not start" >&2; exit 1; }
PROXY_PORT="$(free_port)"
squid_conf squid "$PROXY_PORT" negotiate 2 \
    "$WORK/ntlm" negotiate-helper --level 5 --users "$WORK/users" --domain CORP
start_squid squid "$PROXY_PORT" || exit 1

squid_case() { # name user-file want
    local got check=ok
    got="$(NTLM_USER_FILE="$2" timeout 20 curl -s -o "$WORK/body" -w '%{http_code}' --max-time 15 \
        --proxy-negotiate -U : -x "http://127.0.0.1:$PROXY_PORT" \
        "http://127.0.0.1:$ORIGIN_PORT/" || true)"
    if [ "$got" != "$3" ]; then check="FAIL (want $3)"; status=1; fi
    printf '| %-62s | %-10s | %s\n' "$1" "HTTP $got" "$check"
}
squid_case "c curl --proxy-negotiate (gss-ntlmssp) -> squid -> ours L5" "$WORK/users" 200
squid_case "c curl --proxy-negotiate wrong password -> squid -> ours L5" "$WORK/users-wrong" 407

# The user Squid logged for the 200.
logged="$(squid_logged_user squid)"
case "$logged" in
    'CORP\alice' | 'CORP\\alice') check=ok ;;
    *) check=FAIL; status=1 ;;
esac
printf '| %-62s | %-10s | %s\n' "c squid access.log user of the 200" "${logged:-(none)}" "$check"
# The helper's decisions reach Squid's cache.log as events.
n="$(grep -c 'logon accepted' "$WORK/squid/cache.log" 2>/dev/null || true)"
[ "${n:-0}" -ge 1 ] && check=ok || { check=FAIL; status=1; }
printf '| %-62s | %-10s | %s\n' "c helper's 'logon accepted' event in squid's cache.log" "${n:-0}" "$check"

if [ "$status" != 0 ]; then
    echo "--- squid cache.log (tail)"
    tail -30 "$WORK/squid/cache.log" 2>/dev/null || true
fi
exit "$status"
