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

missing=0
for tool in ntlm_auth squid curl python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run.sh: required peer '$tool' not found (apt-get install -y winbind squid curl python3)" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || exit 2

NTLM_BIN="${NTLM_BIN:-$ROOT/target/release/ntlm}"
if [ ! -x "$NTLM_BIN" ]; then
    (cd "$ROOT" && cargo build --release --all-features --bin ntlm)
fi

WORK="$(mktemp -d /tmp/ntlm-interop.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # bounded wait: 5 s, then SIGKILL
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

# Squid drops root privileges to `proxy`: it must read the binary and the user file.
chmod 755 "$WORK"
cp "$NTLM_BIN" "$WORK/ntlm"
chmod 755 "$WORK/ntlm"
NTLM="$WORK/ntlm"
printf 'CORP:alice:Secret1\n' > "$WORK/users"
chmod 644 "$WORK/users"
export NTLM WORK

status=0
echo "| case                                                       | result                                           | check"
echo "|------------------------------------------------------------|--------------------------------------------------|------"
PARTS="${NTLM_INTEROP_PARTS:-abc}"
case "$PARTS" in *a*) timeout 120 python3 "$HERE/peers.py" a || status=1 ;; esac
case "$PARTS" in *b*) timeout 300 python3 "$HERE/peers.py" b || status=1 ;; esac
case "$PARTS" in *c*) ;; *) exit "$status" ;; esac

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
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$ORIGIN_PORT/"; then break; fi
    sleep 0.1
done

cat > "$WORK/squid.conf" <<EOF
http_port 127.0.0.1:$PROXY_PORT
auth_param ntlm program $NTLM squid-helper --level 3 --users $WORK/users --domain CORP
auth_param ntlm children 2
auth_param ntlm keep_alive on
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
    cat "$WORK/squid/cache.log" "$WORK/squid/stdout.log" 2>/dev/null | tail -20
    exit 1
fi

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

# The user Squid logged for the 200 (Squid's log escapes the backslash as \\).
logged="$(awk '$4 ~ /\/200$/ { print $8 }' "$WORK/squid/access.log" 2>/dev/null | head -1)"
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
