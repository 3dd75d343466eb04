#!/usr/bin/env bash
# HTTP interop with real peers: curl and GNU wget against our http_server, our http_client
# against a pyspnego-backed HTTP server, and pyspnego's Negotiate client against our
# http_server.
#
# Usage: tests/interop/http/run.sh
# Bounded in time (every step has a timeout), kills what it started (trap), prints a
# results table, exits non-zero when a check fails or a peer (curl, python3, pip) is missing.
#
# Environment: NTLM_HTTP_VENV (default target/http-interop-venv), PYTHON (default python3),
# NTLM_INTEROP_PROFILE=release for optimised builds (default: debug, reusing
# `cargo test --all-features`), KEEP_WORK=1.
set -uo pipefail

PYSPNEGO_VERSION=0.12.4
REQUESTS_VERSION=2.32.3
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
NAME=interop-http
. "$HERE/../lib/common.sh"
. "$HERE/lib.sh"
venv="${NTLM_HTTP_VENV:-$ROOT/target/http-interop-venv}"
PYTHON="${PYTHON:-python3}"
interop_work ntlm-http

command -v curl >/dev/null || die "curl not found (apt-get install curl)"
if ! command -v wget >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "interop-http: installing Debian's wget" >&2
    timeout 600 apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends wget >&2
fi
command -v wget >/dev/null || die "wget not found (apt-get install wget)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
command -v timeout >/dev/null || die "coreutils timeout not found"

build --example http_server --example http_client --bin ntlm
SERVER_BIN="$BUILT/examples/http_server"
client_bin="$BUILT/examples/http_client"
ntlm_bin="$BUILT/ntlm"

vpy="$venv/bin/python"
if ! "$vpy" -c "import spnego, requests, spnego._version as v; assert v.__version__ == '$PYSPNEGO_VERSION'" 2>/dev/null; then
    echo "interop-http: installing pyspnego==$PYSPNEGO_VERSION requests==$REQUESTS_VERSION into $venv" >&2
    timeout 300 "$PYTHON" -m venv "$venv" || die "python3 -m venv failed"
    PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 600 "$vpy" -m pip install --quiet --no-input \
        "pyspnego==$PYSPNEGO_VERSION" "requests==$REQUESTS_VERSION" >&2 || die "pip install failed"
fi
"$vpy" -c "import spnego, requests" || die "pyspnego not importable from $venv"

printf 'CORP:alice:Secret1\n' > "$WORK/users.txt"

last_log() { grep -E 'logon accepted|logon refused' "$srv_log" | tail -n1 | sed 's/^[^ ]* //'; }

# --- curl against http_server ------------------------------------------------------------
for lvl in 3 5; do
    start_server --level "$lvl"
    got="$(curl_status 'CORP\alice:Secret1' "http://127.0.0.1:$srv_port/")"
    record "curl --ntlm -> http_server level $lvl" 200 "$got" "$(last_log)"
    got="$(curl_status 'CORP\alice:wrong' "http://127.0.0.1:$srv_port/")"
    record "curl --ntlm wrong password -> level $lvl" 401 "$got" "$(last_log)"
    stop_server
done

# curl (7.88 as measured) sends NTLMv2 only when the CHALLENGE sets
# NEGOTIATE_EXTENDED_SESSIONSECURITY, and plain NTLMv1 otherwise: withholding ESS makes it
# send NTLMv1, which level 3 accepts and level 5 refuses.
for lvl_expect in '3:200:kind=NtlmV1' '5:401:NTLMv1 refused by server level 5'; do
    lvl="${lvl_expect%%:*}"
    rest="${lvl_expect#*:}"
    start_server --level "$lvl" --no-ess
    got="$(curl_status 'CORP\alice:Secret1' "http://127.0.0.1:$srv_port/")"
    record "curl --ntlm -> http_server level $lvl --no-ess" "${rest%%:*}" "$got" "$(last_log)"
    # What the server verified or refused is NTLMv1, not something else.
    seen="$(last_log | grep -oF -- "${rest#*:}" | head -n1)"
    record "  ... the server's log names NTLMv1" "yes" "$([ -n "$seen" ] && echo yes || echo no)" "${rest#*:}"
    stop_server
done

start_server --level 5
u="http://127.0.0.1:$srv_port/"
timeout 20 curl -s --ntlm -u 'CORP\alice:Secret1' "$u" "$u" "$u" > "$WORK/three" || true
bodies="$(grep -c 'authenticated as CORP\\alice' "$WORK/three")"
handshakes="$(grep -c 'logon accepted' "$srv_log")"
record "curl --ntlm URL URL URL: 200 bodies" 3 "$bodies" ""
record "curl --ntlm URL URL URL: handshakes in server log" 1 "$handshakes" "$(last_log)"
stop_server

# --- GNU wget against http_server ---------------------------------------------------------
# wget (1.21 as measured) offers OEM only, sends an LM and an NTLMv1 response, and sets
# NTLMSSP_NEGOTIATE_UNICODE in its AUTHENTICATE while its strings are OEM: the server reads
# them in the encoding its CHALLENGE negotiated. NTLMv1 is accepted at levels 0 to 4.
wget_status() { # user password url: the last HTTP status wget saw
    timeout 20 wget -S -O /dev/null --tries=1 --user "$1" --password "$2" "$3" 2>&1 \
        | awk '$1 ~ /^HTTP\// { code = $2 } END { print code }'
}
for lvl in 0 1 2 3 4 5; do
    start_server --level "$lvl"
    want=200
    [ "$lvl" = 5 ] && want=401
    got="$(wget_status 'CORP\alice' Secret1 "http://127.0.0.1:$srv_port/")"
    record "wget -> http_server level $lvl" "$want" "$got" "$(last_log)"
    if [ "$lvl" = 5 ]; then
        seen="$(last_log | grep -oF 'refused by server level 5' | head -n1)"
    else
        seen="$(last_log | grep -oF 'kind=NtlmV1' | head -n1)"
    fi
    record "  ... the server's log names NTLMv1 (verified or refused)" yes \
        "$([ -n "$seen" ] && echo yes || echo no)" "$seen"
    if [ "$lvl" = 3 ]; then
        got="$(wget_status 'CORP\alice' wrong "http://127.0.0.1:$srv_port/")"
        record "wget wrong password -> level $lvl" 401 "$got" "$(last_log)"
    fi
    stop_server
done

# http_server's CHALLENGE carries MsvAvDnsDomainName and MsvAvDnsComputerName by default,
# and the configured ones with --dns-domain / --dns-computer.
dns_pairs() { # url: the DNS pairs of the CHALLENGE answering wget's NEGOTIATE, as name=value
    timeout 20 curl -s -D - -o /dev/null -H 'Authorization: NTLM TlRMTVNTUAABAAAAAgIAAAAAAAAgAAAAAAAAACAAAAA=' "$1" \
        | tr -d '\r' | awk 'tolower($1) == "www-authenticate:" && $2 == "NTLM" { print "NTLM " $3 }' \
        | "$ntlm_bin" decode --json \
        | "$PYTHON" -c 'import json, sys
for p in json.load(sys.stdin).get("target_info") or []:
    if p["name"] in ("MsvAvDnsDomainName", "MsvAvDnsComputerName"):
        print(p["name"] + "=" + p["value"])' | sort | tr '\n' ' '
}
start_server --level 3
got="$(dns_pairs "http://127.0.0.1:$srv_port/")"
record "http_server CHALLENGE: DNS names by default" 2 "$(printf '%s' "$got" | wc -w)" "$got"
stop_server
start_server --level 3 --dns-domain corp.example --dns-computer web1.corp.example
got="$(dns_pairs "http://127.0.0.1:$srv_port/")"
record "http_server CHALLENGE: --dns-domain, --dns-computer" \
    "MsvAvDnsComputerName=web1.corp.example MsvAvDnsDomainName=corp.example" "${got% }" ""
stop_server

# --- our http_client against the pyspnego server -----------------------------------------
py_port="$(free_port)"
NTLM_USER_FILE="$WORK/users.txt" "$vpy" "$HERE/pyspnego_http_server.py" "$py_port" 2>"$WORK/py.log" &
PIDS+=($!)
wait_port "$py_port" || die "pyspnego server did not start: $(cat "$WORK/py.log")"
for flag in --ntlm --negotiate; do
    out="$(PASS=Secret1 timeout 30 "$client_bin" --url "http://127.0.0.1:$py_port/" \
        --user 'CORP\alice' --password-env PASS --level 3 "$flag" --count 2 2>&1)"
    got="$(printf '%s\n' "$out" | grep -c '200 OK')"
    record "http_client $flag -> pyspnego server (2 requests)" 2 "$got" \
        "$(printf '%s' "$out" | grep -m1 'authenticated as' | tr -d '\n')"
done
out="$(PASS=wrong timeout 30 "$client_bin" --url "http://127.0.0.1:$py_port/" \
    --user 'CORP\alice' --password-env PASS --level 3 --negotiate 2>&1)"
got="$(printf '%s\n' "$out" | grep -c 'answered the AUTHENTICATE with 401')"
record "http_client --negotiate wrong password -> pyspnego" 1 "$got" "$(grep refused "$WORK/py.log" | tail -n1 | cut -c1-60)"

# --- pyspnego's Negotiate client against http_server -------------------------------------
start_server --level 5
for proto in negotiate ntlm; do
    out="$(timeout 30 "$vpy" "$HERE/pyspnego_http_client.py" 127.0.0.1 "$srv_port" 'CORP\alice' Secret1 "$proto" 2>&1)"
    rc=$?
    record "pyspnego $proto client -> http_server level 5" 0 "$rc" "$(last_log)"
    [ "$rc" = 0 ] || printf '%s\n' "$out" >&2
done
stop_server

report "server's account of it"
