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

if [ ! -e /etc/gss/mech.d/mech.ntlmssp.conf ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
        gss-ntlmssp >/dev/null 2>&1 \
        || { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 \
             apt-get install -y -qq --no-install-recommends gss-ntlmssp >/dev/null; }
fi
missing=0
for tool in ntlm_auth squid curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: required peer '$tool' not found" >&2; missing=1; }
done
[ -e /etc/gss/mech.d/mech.ntlmssp.conf ] || { echo "run.sh: gss-ntlmssp not installed (apt-get install gss-ntlmssp)" >&2; missing=1; }
[ "$missing" = 0 ] || exit 2

# The debug build `cargo test --all-features` made, brought up to date (incremental).
if [ -z "${NTLM_BIN:-}" ]; then
    (cd "$ROOT" && timeout 1200 cargo build --all-features --bin ntlm >&2) || exit 2
    NTLM_BIN="$ROOT/target/debug/ntlm"
fi
VPY="$(bash "$ROOT/tests/interop/setup-pyspnego.sh" | tail -n1)" || { echo "run.sh: pyspnego setup failed" >&2; exit 2; }

WORK="$(mktemp -d /tmp/ntlm-negotiate.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Squid drops root privileges to `proxy`: it must read the binary and the user file.
chmod 755 "$WORK"
cp "$NTLM_BIN" "$WORK/ntlm"
chmod 755 "$WORK/ntlm"
printf 'CORP:alice:Secret1\n' > "$WORK/users"
printf 'CORP:alice:wrong\n' > "$WORK/users-wrong"
chmod 644 "$WORK/users" "$WORK/users-wrong"

status=0
timeout 180 python3 "$HERE/peers.py" "$WORK/ntlm" "$WORK/users" "$VPY" || status=1

# ---------------------------------------------------------------- (c) Squid
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
PROXY_PORT="$(free_port)"
ORIGIN_PORT="$(free_port)"
mkdir -p "$WORK/www" "$WORK/squid"
echo "hello through squid" > "$WORK/www/index.html"
chmod 777 "$WORK/squid"

python3 -u -m http.server "$ORIGIN_PORT" --bind 127.0.0.1 --directory "$WORK/www" \
    >"$WORK/origin.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$ORIGIN_PORT/" && break
    sleep 0.1
done

cat > "$WORK/squid.conf" <<EOF
http_port 127.0.0.1:$PROXY_PORT
auth_param negotiate program $WORK/ntlm negotiate-helper --level 5 --users $WORK/users --domain CORP
auth_param negotiate children 2
auth_param negotiate keep_alive on
acl auth proxy_auth REQUIRED
http_access allow auth
http_access deny all
cache deny all
cache_mem 0 MB
access_log stdio:$WORK/squid/access.log
cache_log $WORK/squid/cache.log
cache_store_log none
pid_filename $WORK/squid/squid.pid
coredump_dir $WORK/squid
netdb_filename none
pinger_enable off
shutdown_lifetime 1 seconds
cache_effective_user proxy
EOF

squid -N -f "$WORK/squid.conf" >"$WORK/squid/stdout.log" 2>&1 &
PIDS+=($!)
ready=0
for _ in $(seq 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        -x "http://127.0.0.1:$PROXY_PORT" "http://127.0.0.1:$ORIGIN_PORT/" || true)"
    if [ "$code" = 407 ]; then ready=1; break; fi
    sleep 0.2
done
if [ "$ready" != 1 ]; then
    echo "| c squid did not come up on 127.0.0.1:$PROXY_PORT (last code ${code:-none})"
    tail -20 "$WORK/squid/cache.log" "$WORK/squid/stdout.log" 2>/dev/null
    exit 1
fi

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

# The user Squid logged for the 200 (Squid's log escapes the backslash as \\).
logged="$(awk '$4 ~ /\/200$/ { print $8 }' "$WORK/squid/access.log" 2>/dev/null | head -1)"
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
