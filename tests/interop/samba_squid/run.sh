#!/usr/bin/env bash
# Interop of the `ntlm` binary with real peers (Debian: apt-get install -y winbind squid curl):
#   (a) Samba ntlm_auth --helper-protocol=ntlmssp-client-1  ->  ntlm squid-helper, levels 3 and 5
#   (b) ntlm client-helper, levels 0..5  ->  ntlm_auth --helper-protocol=squid-2.5-ntlmssp
#   (c) curl --proxy-ntlm  ->  Squid (auth_param ntlm program = ntlm squid-helper --level 3)
#       ->  python3 -m http.server; 200 with the right password, 407 with a wrong one.
# No winbindd: ntlm_auth runs on a minimal smb.conf in a temporary directory.
# Exits non-zero when a peer is missing or any check fails; prints a result table.
# Environment: NTLM_BIN (default: target/release/ntlm, built when missing), NTLM_HTTP_CLIENT
# (default: target/debug/examples/http_client, built when missing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
. "$HERE/../lib/common.sh"
. "$HERE/../lib/squid.sh"

need_tools run.sh ntlm_auth squid curl python3

NTLM_BIN="${NTLM_BIN:-$ROOT/target/release/ntlm}"
if [ ! -x "$NTLM_BIN" ]; then
    (cd "$ROOT" && cargo build --release --all-features --bin ntlm)
fi

interop_work ntlm-interop
stage_for_squid
NTLM="$WORK/ntlm"
export NTLM WORK

status=0
echo "| case                                                       | result                                           | check"
echo "|------------------------------------------------------------|--------------------------------------------------|------"
PARTS="${NTLM_INTEROP_PARTS:-abc}"
case "$PARTS" in *a*) timeout 120 python3 "$HERE/peers.py" a || status=1 ;; esac
case "$PARTS" in *b*) timeout 300 python3 "$HERE/peers.py" b || status=1 ;; esac
case "$PARTS" in *c*) ;; *) exit "$status" ;; esac

# ---------------------------------------------------------------- (c) Squid
start_origin "hello through squid" || { echo "run.sh: the origin did not start" >&2; exit 1; }
PROXY_PORT="$(free_port)"
squid_conf squid "$PROXY_PORT" ntlm 2 "$NTLM" squid-helper --level 3 --users "$WORK/users" --domain CORP
start_squid squid "$PROXY_PORT" || exit 1

squid_case() {
    local name="$1" user="$2" want="$3" got
    got="$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 15 --proxy-ntlm \
        --proxy-user "$user" -x "http://127.0.0.1:$PROXY_PORT" \
        "http://127.0.0.1:$ORIGIN_PORT/" || true)"
    local check=ok
    if [ "$got" != "$want" ]; then check="FAIL (want $want)"; status=1; fi
    printf '| %-58s | %-48s | %s\n' "$name" "HTTP $got" "$check"
}
squid_case "c curl -> squid -> ours L3 (right pw)" 'CORP\alice:Secret1' 200
squid_case "c curl -> squid -> ours L3 (wrong pw)" 'CORP\alice:wrong' 407
squid_case "c curl -> squid -> ours L3 (unknown user)" 'CORP\mallory:Secret1' 407

# (d) our http_client through the same Squid, authenticating to the proxy (407 -> NTLM).
HTTP_CLIENT="${NTLM_HTTP_CLIENT:-$ROOT/target/debug/examples/http_client}"
if [ ! -x "$HTTP_CLIENT" ]; then
    (cd "$ROOT" && timeout 1200 cargo build --all-features --example http_client >&2)
fi
client_case() {
    local name="$1" password="$2" level="$3" want="$4" out rc
    out="$(NTLM_TEST_PW="$password" timeout 30 "$HTTP_CLIENT" --url "http://127.0.0.1:$ORIGIN_PORT/" \
        --proxy "http://127.0.0.1:$PROXY_PORT" --user 'CORP\alice' --password-env NTLM_TEST_PW \
        --level "$level" --ntlm 2>&1)" && rc=0 || rc=$?
    local got check=ok
    got="$(printf '%s' "$out" | head -1 | cut -c1-48)"
    case "$want" in
        200) [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "200 OK" && printf '%s' "$out" | grep -q "hello through squid" || { check="FAIL (want 200)"; status=1; } ;;
        # Refused by the proxy, and said so: not any other failure (connection refused...).
        fail) [ "$rc" != 0 ] && printf '%s' "$out" | grep -q "answered the AUTHENTICATE with 407" || { check="FAIL (want a 407 refusal)"; status=1; } ;;
    esac
    printf '| %-58s | %-48s | %s\n' "$name" "$got (exit $rc)" "$check"
}
client_case "d http_client L3 -> squid -> ours L3 (right pw)" Secret1 3 200
client_case "d http_client L1 -> squid -> ours L3 (right pw)" Secret1 1 200
client_case "d http_client L3 -> squid -> ours L3 (wrong pw)" wrong 3 fail

# The user Squid logged for the 200.
logged="$(squid_logged_user squid)"
case "$logged" in
    'CORP\alice' | 'CORP\\alice')
        printf '| %-58s | %-48s | %s\n' "c squid access.log user of the 200" "$logged" ok ;;
    *)
        printf '| %-58s | %-48s | %s\n' "c squid access.log user of the 200" "${logged:-(none)}" FAIL
        status=1 ;;
esac

if [ "$status" != 0 ]; then
    echo "--- squid cache.log (tail)"
    tail -20 "$WORK/squid/cache.log" 2>/dev/null || true
fi
exit "$status"
