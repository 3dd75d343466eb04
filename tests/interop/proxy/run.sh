#!/usr/bin/env bash
# `ntlm proxy` with real peers, loopback only:
#   Squid A: NTLM through our `ntlm squid-helper` (its stdin logged: one KK line per logon);
#   Squid B: NTLM through Samba's `ntlm_auth --helper-protocol=squid-2.5-ntlmssp`;
#   origins: python http.server on plain HTTP, and on HTTPS with a certificate made here.
# Through `ntlm proxy`: curl to both origins (HTTPS through CONNECT), git clone over HTTP,
# pip download from a simple index, 200 requests from 32 parallel clients (half CONNECT),
# failover to Squid B, --no-proxy direct, a wrong password (407 with the reason, exactly one
# logon upstream), the upstream down (502 naming it), a client outside --allow (refused),
# and --detect. Prints a table; exits non-zero when a check fails or a peer is missing.
# Environment: NTLM_BIN (default target/debug/ntlm, built when missing), KEEP_WORK=1.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
. "$HERE/../lib/common.sh"
. "$HERE/../lib/squid.sh"

if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    need=()
    command -v squid >/dev/null || need+=(squid)
    command -v ntlm_auth >/dev/null || need+=(winbind)
    command -v curl >/dev/null || need+=(curl)
    command -v git >/dev/null || need+=(git)
    command -v openssl >/dev/null || need+=(openssl)
    python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
    if [ "${#need[@]}" -gt 0 ]; then
        timeout 600 apt-get update -qq
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi
need_tools proxy/run.sh squid ntlm_auth curl git openssl python3
python3 -m pip --version >/dev/null 2>&1 || { echo "proxy/run.sh: pip not found (python3-pip)" >&2; exit 2; }

NTLM_BIN="${NTLM_BIN:-$ROOT/target/debug/ntlm}"
if [ ! -x "$NTLM_BIN" ]; then
    (cd "$ROOT" && timeout 1500 cargo build --all-features --bin ntlm >&2) || exit 2
fi

interop_work ntlm-proxy

status=0
row() { # NAME RESULT OK(0/1)
    local check=ok
    if [ "$3" != 0 ]; then check=FAIL; status=1; fi
    printf '| %-62s | %-44s | %s\n' "$1" "$2" "$check"
}
echo "| case                                                           | result                                       | check"
echo "|----------------------------------------------------------------|----------------------------------------------|------"

# ------------------------------------------------------------------ peers
stage_for_squid
mkdir -p "$WORK/www" "$WORK/squid-a" "$WORK/samba/lock" "$WORK/samba/state" \
    "$WORK/samba/cache" "$WORK/samba/private"
chmod -R 777 "$WORK/squid-a" "$WORK/samba"
echo "hello through ntlm proxy" > "$WORK/www/index.html"

# The helper's stdin, logged: each KK line is one logon attempt reaching the verifier.
cat > "$WORK/helper-a.sh" <<EOS
#!/bin/sh
exec tee -a "$WORK/squid-a/helper-in.log" | "$WORK/ntlm" squid-helper --level 3 --users "$WORK/users" --domain CORP
EOS
chmod 755 "$WORK/helper-a.sh"
cat > "$WORK/smb.conf" <<EOS
[global]
workgroup = CORP
netbios name = NTLMPROXY
security = user
lock directory = $WORK/samba/lock
state directory = $WORK/samba/state
cache directory = $WORK/samba/cache
private dir = $WORK/samba/private
pid directory = $WORK/samba
log file = $WORK/samba/log.%m
EOS
chmod 644 "$WORK/smb.conf"

# A bare git repository served by the plain origin (dumb HTTP).
git init -q "$WORK/src" && (cd "$WORK/src" && echo "cloned through ntlm proxy" > README \
    && git add README && git -c user.email=t@example.invalid -c user.name=t commit -qm init)
git clone -q --bare "$WORK/src" "$WORK/www/repo.git" && (cd "$WORK/www/repo.git" && git update-server-info)
python3 "$HERE/origins.py" index "$WORK/www"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1

ORIGIN="$(free_port)"; TLS="$(free_port)"
python3 "$HERE/origins.py" http "$ORIGIN" "$WORK/www" >"$WORK/origin.log" 2>&1 & PIDS+=($!)
python3 "$HERE/origins.py" tls "$TLS" "$WORK/www" "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/tls.log" 2>&1 & PIDS+=($!)

SQUID_A="$(free_port)"; SQUID_B="$(free_port)"; SQUID_C="$(free_port)"
squid_conf squid-a "$SQUID_A" ntlm 4 "$WORK/helper-a.sh"
squid_conf squid-b "$SQUID_B" ntlm 4 "$(command -v ntlm_auth)" "--configfile=$WORK/smb.conf" --helper-protocol=squid-2.5-ntlmssp --password=Secret1
# Squid C offers only Basic (for --allow-basic); it lowercases user names (casesensitive off).
printf '%s:%s\n' 'corp\alice' "$(openssl passwd -apr1 Secret1)" > "$WORK/htpasswd" && chmod 644 "$WORK/htpasswd"
squid_conf squid-c "$SQUID_C" basic 4 /usr/lib/squid/basic_ncsa_auth "$WORK/htpasswd"
start_squid squid-a "$SQUID_A" && start_squid squid-b "$SQUID_B" && start_squid squid-c "$SQUID_C" || exit 1
for p in "$ORIGIN" "$TLS"; do wait_port "$p" || { echo "port $p never opened"; exit 1; }; done

logons() { grep -c '^KK ' "$WORK/squid-a/helper-in.log" 2>/dev/null || true; }

export NTLM_PW=Secret1 NTLM_BAD=wrong-password
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY ALL_PROXY all_proxy
start_proxy() { # NAME PORT ARGS... (logs to $WORK/NAME.log)
    local name="$1" port="$2"; shift 2
    "$NTLM_BIN" proxy --listen "127.0.0.1:$port" --user 'CORP\alice' "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    echo $! > "$WORK/$name.pid"
    wait_port "$port" || { echo "ntlm proxy $name did not start"; cat "$WORK/$name.log"; exit 1; }
}

P1="$(free_port)"
start_proxy p1 "$P1" --upstream "http://127.0.0.1:$SQUID_A" --password-env NTLM_PW --level 3
fetch() { # PROXY URL -> "CODE" with the body in $WORK/body; a refused CONNECT gives the proxy's code
    local out
    out="$(curl -s -o "$WORK/body" -w '%{http_code} %{http_connect}' --max-time 20 --cacert "$WORK/cert.pem" -x "http://127.0.0.1:$1" "$2" || true)"
    case "$out" in 000\ *) echo "${out#000 }" ;; *) echo "${out%% *}" ;; esac
}

# ------------------------------------------------------------------ through Squid A
code="$(fetch "$P1" "http://127.0.0.1:$ORIGIN/index.html")"
row "curl -x ntlm-proxy http://origin (Squid A, our helper)" "HTTP $code" "$([ "$code" = 200 ] && grep -q 'hello through' "$WORK/body"; echo $?)"
code="$(fetch "$P1" "https://localhost:$TLS/index.html")"
row "curl -x ntlm-proxy https://origin (CONNECT, Squid A)" "HTTP $code" "$([ "$code" = 200 ] && grep -q 'hello through' "$WORK/body"; echo $?)"
fetch "$P1" "http://127.0.0.1:$ORIGIN/index.html" >/dev/null
before="$(logons)"
for _ in 1 2 3; do fetch "$P1" "http://127.0.0.1:$ORIGIN/index.html" >/dev/null; done
after="$(logons)"
row "3 more requests reuse the pooled logon" "$((after - before)) new logons" "$([ "$after" = "$before" ]; echo $?)"

if timeout 60 env http_proxy="http://127.0.0.1:$P1" git clone -q "http://127.0.0.1:$ORIGIN/repo.git" "$WORK/clone" 2>"$WORK/git.err" \
    && grep -q "cloned through" "$WORK/clone/README"; then r=0; else r=1; fi
row "git clone http:// (dumb HTTP) through ntlm proxy" "exit $r" "$r"

if timeout 120 python3 -m pip download --no-cache-dir --disable-pip-version-check --no-deps \
    --index-url "http://127.0.0.1:$ORIGIN/simple/" --trusted-host 127.0.0.1 \
    --proxy "http://127.0.0.1:$P1" -d "$WORK/dl" ntlmproxyprobe >"$WORK/pip.log" 2>&1 \
    && ls "$WORK/dl" | grep -q '^ntlmproxyprobe-0.1-py3-none-any.whl$'; then r=0; else r=1; fi
row "pip download from a simple index through ntlm proxy" "exit $r" "$r"
[ "$r" = 0 ] || tail -5 "$WORK/pip.log"

# 200 requests from 32 parallel clients, half through CONNECT; each curl is a new client connection.
for i in $(seq 100); do
    echo "http://127.0.0.1:$ORIGIN/index.html"
    echo "https://localhost:$TLS/index.html"
done > "$WORK/urls"
t0=$SECONDS
timeout 180 xargs -P 32 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
    --cacert "$WORK/cert.pem" -x "http://127.0.0.1:$P1" {} < "$WORK/urls" > "$WORK/codes" 2>/dev/null
ok="$(grep -c '^200$' "$WORK/codes" || true)"
row "200 requests, 32 parallel clients, half CONNECT" "$ok x 200 in $((SECONDS - t0)) s" "$([ "$ok" = 200 ]; echo $?)"

# Uploads, streamed: on a fresh proxy the first request is a POST, so the body travels with the
# AUTHENTICATE of a new connection (NEGOTIATE without it); then chunked on the pooled one.
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom > "$WORK/upload"
want="$(stat -c %s "$WORK/upload") $(sha256sum "$WORK/upload" | cut -d' ' -f1)"
PU="$(free_port)"
start_proxy pu "$PU" --upstream "http://127.0.0.1:$SQUID_A" --password-env NTLM_PW
got1="$(curl -s --max-time 60 -x "http://127.0.0.1:$PU" --data-binary @"$WORK/upload" "http://127.0.0.1:$ORIGIN/echo" || true)"
got2="$(curl -s --max-time 60 -x "http://127.0.0.1:$PU" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/upload" "http://127.0.0.1:$ORIGIN/echo" || true)"
row "POST 3 MiB on a new logon (Content-Length), then chunked" "$(echo "$got1" | cut -c1-20), $(echo "$got2" | cut -c1-20)" "$([ "$got1" = "$want" ] && [ "$got2" = "$want" ]; echo $?)"

# A download is streamed, not buffered: 256 MiB through the proxy, its peak RSS stays small.
head -c $((256 * 1024 * 1024)) /dev/zero > "$WORK/www/big.bin"
size="$(curl -s -o /dev/null -w '%{size_download}' --max-time 120 -x "http://127.0.0.1:$P1" "http://127.0.0.1:$ORIGIN/big.bin" || true)"
rm -f "$WORK/www/big.bin"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$WORK/p1.pid")/status")"
row "256 MiB download streamed (peak RSS of ntlm proxy)" "$size bytes, peak $((hwm / 1024)) MiB" "$([ "$size" = 268435456 ] && [ "$hwm" -lt 65536 ]; echo $?)"

# ------------------------------------------------------------------ failover, Squid B, --no-proxy
DEAD="$(free_port)"
P2="$(free_port)"
start_proxy p2 "$P2" --upstream "http://127.0.0.1:$DEAD" --upstream "http://127.0.0.1:$SQUID_B" --password-env NTLM_PW --level 3
code="$(fetch "$P2" "http://127.0.0.1:$ORIGIN/index.html")"
row "failover: dead upstream, then Squid B (Samba ntlm_auth)" "HTTP $code" "$([ "$code" = 200 ] && grep -q 'hello through' "$WORK/body"; echo $?)"
code="$(fetch "$P2" "https://localhost:$TLS/index.html")"
row "CONNECT through Squid B (Samba ntlm_auth)" "HTTP $code" "$([ "$code" = 200 ]; echo $?)"

P3="$(free_port)"
start_proxy p3 "$P3" --upstream "http://127.0.0.1:$DEAD" --no-proxy 127.0.0.1 --no-proxy localhost --password-env NTLM_PW
code="$(fetch "$P3" "http://127.0.0.1:$ORIGIN/index.html")"
c2="$(fetch "$P3" "https://localhost:$TLS/index.html")"
row "--no-proxy hosts go direct (HTTP and CONNECT)" "HTTP $code, $c2" "$([ "$code" = 200 ] && [ "$c2" = 200 ]; echo $?)"

# ------------------------------------------------------------------ refusals
P4="$(free_port)"
start_proxy p4 "$P4" --upstream "http://127.0.0.1:$SQUID_A" --password-env NTLM_BAD --level 3 --backoff 600
before="$(logons)"
codes=""
for _ in 1 2 3; do codes="$codes $(fetch "$P4" "http://127.0.0.1:$ORIGIN/index.html")"; done
for _ in $(seq 8); do echo "https://localhost:$TLS/index.html"; done \
    | timeout 60 xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_connect}\n' --max-time 20 -x "http://127.0.0.1:$P4" {} > "$WORK/codes-bad" 2>/dev/null
sleep 0.5
after="$(logons)"
refused="$(grep -c '^407$' "$WORK/codes-bad" || true)"
fetch "$P4" "http://127.0.0.1:$ORIGIN/index.html" >/dev/null
row "wrong password: 11 requests (8 CONNECT) get 407" "HTTP$codes + $refused x 407" "$([ "$codes" = " 407 407 407" ] && [ "$refused" = 8 ]; echo $?)"
row "wrong password: the body says why" "$(head -c 44 "$WORK/body")" "$(grep -q 'refused the logon of CORP\\alice' "$WORK/body"; echo $?)"
row "wrong password: exactly one logon attempt upstream" "$((after - before)) KK line(s) at the helper" "$([ $((after - before)) = 1 ]; echo $?)"

P5="$(free_port)"
start_proxy p5 "$P5" --upstream "http://127.0.0.1:$DEAD" --password-env NTLM_PW
code="$(fetch "$P5" "http://127.0.0.1:$ORIGIN/index.html")"
row "upstream down: 502 naming it" "HTTP $code" "$([ "$code" = 502 ] && grep -q "127.0.0.1:$DEAD" "$WORK/body"; echo $?)"
code="$(fetch "$P5" "https://localhost:$TLS/")"
row "upstream down, CONNECT: 502" "HTTP $code" "$([ "$code" = 502 ]; echo $?)"

P6="$(free_port)"
start_proxy p6 "$P6" --upstream "http://127.0.0.1:$SQUID_A" --password-env NTLM_PW --allow 127.0.0.1/32
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --interface 127.0.0.2 -x "http://127.0.0.1:$P6" "http://127.0.0.1:$ORIGIN/index.html" || true)"
c2="$(fetch "$P6" "http://127.0.0.1:$ORIGIN/index.html")"
row "--allow 127.0.0.1/32: client 127.0.0.2 refused, 127.0.0.1 served" "HTTP $code, $c2" "$([ "$code" = 403 ] && [ "$c2" = 200 ]; echo $?)"

# ------------------------------------------------------------------ Basic only with --allow-basic
P7="$(free_port)"; P8="$(free_port)"
start_proxy p7 "$P7" --upstream "http://127.0.0.1:$SQUID_C" --password-env NTLM_PW --allow-basic
start_proxy p8 "$P8" --upstream "http://127.0.0.1:$SQUID_C" --password-env NTLM_PW
code="$(fetch "$P7" "http://127.0.0.1:$ORIGIN/index.html")"
c2="$(fetch "$P7" "https://localhost:$TLS/index.html")"
row "Basic-only upstream with --allow-basic (HTTP, CONNECT)" "HTTP $code, $c2" "$([ "$code" = 200 ] && [ "$c2" = 200 ]; echo $?)"
code="$(fetch "$P8" "http://127.0.0.1:$ORIGIN/index.html")"
row "Basic-only upstream without --allow-basic: 502, says so" "HTTP $code" "$([ "$code" = 502 ] && grep -q 'offered: Basic' "$WORK/body"; echo $?)"

# ------------------------------------------------------------------ the library's client through Squid's CONNECT
EXAMPLES="${NTLM_EXAMPLES:-$ROOT/target/debug/examples}"
if [ ! -x "$EXAMPLES/http_client" ] || [ ! -x "$EXAMPLES/http_server" ]; then
    (cd "$ROOT" && timeout 1500 cargo build --all-features --example http_client --example http_server >&2) || exit 2
fi
NTLM_ORIGIN="$(free_port)"
"$EXAMPLES/http_server" --listen "127.0.0.1:$NTLM_ORIGIN" --users "$WORK/users" --level 5 \
    --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" >"$WORK/http_server.log" 2>&1 & PIDS+=($!)
wait_port "$NTLM_ORIGIN" || { echo "http_server did not start"; cat "$WORK/http_server.log"; exit 1; }
# Squid offers NTLM only; the origin offers Negotiate and NTLM: the default (Negotiate, then
# NTLM) logs on with NTLM to Squid and with Negotiate to the origin.
for scheme in --ntlm default; do
    flag=(); [ "$scheme" = --ntlm ] && flag=(--ntlm)
    out="$(timeout 60 "$EXAMPLES/http_client" --url "https://localhost:$NTLM_ORIGIN/" --proxy "http://127.0.0.1:$SQUID_A" \
        --user 'CORP\alice' --password-env NTLM_PW --level 3 "${flag[@]}" --ca "$WORK/cert.pem" 2>&1)"
    printf '%s' "$out" | grep -q "200 OK" && printf '%s' "$out" | grep -q 'authenticated as CORP\\alice'
    r=$?
    row "http_client ($scheme): Squid CONNECT (NTLM), https origin (NTLM)" "$(printf '%s' "$out" | head -1 | cut -c1-44)" "$r"
done
# (http_server checks the bindings when a client sends them (WhenSupported), and ours sends the
# origin certificate's: a 200 means they matched. tests/http/http_proxy_tunnel.rs requires them.)

# ------------------------------------------------------------------ --detect
out="$(timeout 60 "$NTLM_BIN" proxy --detect --upstream "http://127.0.0.1:$SQUID_A" --user 'CORP\alice' --password-env NTLM_PW 2>&1)"
echo "$out" | sed 's/^/|   /'
row "--detect against Squid A (NTLM only)" "$(echo "$out" | grep 'most secure' | cut -c1-44)" "$(echo "$out" | grep -q 'most secure that works: NTLMv2'; echo $?)"
before="$(logons)"
out="$(timeout 60 "$NTLM_BIN" proxy --detect --upstream "http://127.0.0.1:$SQUID_A" --user 'CORP\alice' --password-env NTLM_BAD 2>&1)"
after="$(logons)"
row "--detect with a wrong password stops after one logon" "$((after - before)) logon(s)" "$([ $((after - before)) = 1 ] && echo "$out" | grep -q stopped; echo $?)"

for n in p1 p2 p3 p4 p5 p6 p7 p8 pu; do
    if grep -qiE 'Secret1|wrong-password' "$WORK/$n.log"; then row "no secret in the log of $n" "found" 1; fi
done
row "logs: one info line per request" "$(grep -c 'request' "$WORK/p1.log") lines (p1)" "$([ "$(grep -c ' request' "$WORK/p1.log")" -ge 200 ]; echo $?)"
if [ "$status" != 0 ] && [ -z "${KEEP_WORK:-}" ]; then tail -n 20 "$WORK/p1.log" "$WORK/p4.log"; fi
exit "$status"
