#!/usr/bin/env bash
# examples/axum_server (ntlm::http::tower::NtlmLayer under axum::serve, and under a hyper-util
# accept loop over TLS) against real clients: curl --ntlm, curl --negotiate (GSS-API with
# Debian's gss-ntlmssp, credentials from NTLM_USER_FILE), pyspnego's Negotiate and NTLM
# clients, and our examples/http_client (Negotiate and NTLM, over HTTP and HTTPS). Also checks
# audit mode (--audit-level) reaches the log and the /metrics counters.
#
# Usage: tests/interop/http/axum.sh
# Bounded in time (every step has a timeout), kills what it started (trap), prints a results
# table, exits non-zero when a check fails or a peer (curl, python3, openssl) is missing.
# Environment: NTLM_INTEROP_PROFILE=release for optimised builds (default: debug, reusing
# `cargo test --all-features`), KEEP_WORK=1.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
NAME=interop-axum
. "$HERE/../lib/common.sh"
. "$HERE/lib.sh"
interop_work ntlm-axum

ensure_gss_ntlmssp || die "gss-ntlmssp not installed (apt-get install gss-ntlmssp)"
for tool in curl python3 openssl timeout; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

build --example axum_server --example http_client
SERVER_BIN="$BUILT/examples/axum_server"
client_bin="$BUILT/examples/http_client"

# pyspnego (pinned) in the shared venv; the script prints the interpreter last.
vpy="$(bash "$ROOT/tests/interop/setup-pyspnego.sh" | tail -n1)" || die "setup-pyspnego.sh failed"
"$vpy" -c "import spnego" || die "pyspnego not importable with $vpy"

printf 'CORP:alice:Secret1\n' > "$WORK/users.txt"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl req failed"

# The last decision event, without its timestamp and spans.
last_event() { grep -E 'logon (accepted|refused)' "$srv_log" | tail -n1 | sed 's/^.*ntlm::http::tower: //' | cut -c1-90; }

# --- curl --ntlm ---------------------------------------------------------------------------
for lvl in 3 5; do
    start_server --level "$lvl"
    got="$(curl_status 'CORP\alice:Secret1' "http://127.0.0.1:$srv_port/")"
    record "curl --ntlm -> axum_server level $lvl" 200 "$got" "$(last_event)"
    record "  ... body names the principal" "yes" "$(grep -q 'authenticated as CORP\\alice' "$WORK/body" && echo yes || echo no)" ""
    got="$(curl_status 'CORP\alice:wrong' "http://127.0.0.1:$srv_port/")"
    record "curl --ntlm wrong password -> level $lvl" 401 "$got" "$(last_event)"
    got="$(grep -c 'rule="bad password"' "$srv_log")"
    record "  ... refusal event with rule=\"bad password\"" 1 "$got" ""
    stop_server
done

# --- curl --negotiate: SPNEGO from MIT GSS-API with the gss-ntlmssp mechanism -------------
printf 'CORP:alice:wrong\n' > "$WORK/users-wrong.txt"
start_server --level 5
got="$(NTLM_USER_FILE="$WORK/users.txt" timeout 20 curl -s -o "$WORK/body" -w '%{http_code}' \
    --negotiate -u : "http://127.0.0.1:$srv_port/" || true)"
record "curl --negotiate (gss-ntlmssp) -> axum_server level 5" 200 "$got" "$(last_event)"
record "  ... scheme in the event is Negotiate" "yes" \
    "$(grep 'logon accepted' "$srv_log" | tail -n1 | grep -q 'scheme=Negotiate' && echo yes || echo no)" ""
got="$(NTLM_USER_FILE="$WORK/users-wrong.txt" timeout 20 curl -s -o /dev/null -w '%{http_code}' \
    --negotiate -u : "http://127.0.0.1:$srv_port/" || true)"
record "curl --negotiate wrong password -> level 5" 401 "$got" "$(last_event)"
stop_server

# One handshake per connection: three URLs on one kept-alive connection.
start_server --level 5
u="http://127.0.0.1:$srv_port/"
timeout 20 curl -s --ntlm -u 'CORP\alice:Secret1' "$u" "$u" "$u" > "$WORK/three" || true
record "curl --ntlm URL URL URL: 200 bodies" 3 "$(grep -c 'authenticated as CORP\\alice' "$WORK/three")" ""
record "curl --ntlm URL URL URL: logon events" 1 "$(grep -c 'logon accepted' "$srv_log")" "$(last_event)"
# Two curl processes: two connections, two handshakes.
curl_status 'CORP\alice:Secret1' "$u" >/dev/null
record "a second connection authenticates again" 2 "$(grep -c 'logon accepted' "$srv_log")" ""
stop_server

# --- audit mode: NTLMv1 (curl without ESS) at level 2, audit level 5 -----------------------
start_server --level 2 --no-ess --audit-level 5
u="http://127.0.0.1:$srv_port/"
# One connection: / (the handshake), then /metrics (served on the authenticated connection).
got="$(timeout 20 curl -s --ntlm -u 'CORP\alice:Secret1' -w '%{http_code} ' \
    -o /dev/null "$u" -o "$WORK/body" "${u}metrics" || true)"
record "curl NTLMv1 -> level 2, audit level 5: / and /metrics" "200 200" "${got% }" "$(last_event)"
audit_line="$(grep 'audit: logon accepted that the audit level would refuse' "$srv_log" | head -n1)"
record "  ... audit event names the rule and the user" "yes" \
    "$(printf '%s' "$audit_line" | grep -q 'user=alice.*rule=NTLMv1 refused by server level 5' && echo yes || echo no)" \
    "$(printf '%s' "$audit_line" | sed 's/^.*ntlm::http::tower: //' | cut -c1-60)"
record "  ... /metrics audit_would_refuse{kind=\"NTLMv1\"}" 1 \
    "$(grep -F 'audit_would_refuse{kind="NTLMv1"}' "$WORK/body" | awk '{print $2}')" ""
record "  ... /metrics accepted{kind=\"NtlmV1\"}" 1 \
    "$(grep -F 'accepted{kind="NtlmV1"}' "$WORK/body" | awk '{print $2}')" ""
stop_server

# --- pyspnego's Negotiate and NTLM clients -------------------------------------------------
start_server --level 5
for proto in negotiate ntlm; do
    out="$(timeout 30 "$vpy" "$HERE/pyspnego_http_client.py" 127.0.0.1 "$srv_port" 'CORP\alice' Secret1 "$proto" 2>&1)"
    rc=$?
    record "pyspnego $proto client -> axum_server level 5" 0 "$rc" "$(last_event)"
    [ "$rc" = 0 ] || printf '%s\n' "$out" >&2
done
out="$(timeout 30 "$vpy" "$HERE/pyspnego_http_client.py" 127.0.0.1 "$srv_port" 'CORP\alice' wrong negotiate 2>&1)"
record "pyspnego negotiate wrong password -> level 5" 1 "$?" "$(last_event)"
stop_server

# --- our http_client, HTTP and HTTPS (channel bindings) -----------------------------------
for mode in http https; do
    tls_args=()
    ca_args=()
    if [ "$mode" = https ]; then
        tls_args=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")
        ca_args=(--ca "$WORK/cert.pem")
    fi
    start_server --level 5 "${tls_args[@]}"
    for flag in --ntlm --negotiate; do
        out="$(PASS=Secret1 timeout 30 "$client_bin" --url "$mode://127.0.0.1:$srv_port/" "${ca_args[@]}" \
            --user 'CORP\alice' --password-env PASS --level 3 "$flag" --count 2 2>&1)"
        got="$(printf '%s\n' "$out" | grep -c '200 OK')"
        record "http_client $flag -> axum_server $mode (2 requests)" 2 "$got" "$(last_event)"
        [ "$got" = 2 ] || printf '%s\n' "$out" >&2
    done
    out="$(PASS=wrong timeout 30 "$client_bin" --url "$mode://127.0.0.1:$srv_port/" "${ca_args[@]}" \
        --user 'CORP\alice' --password-env PASS --level 3 --negotiate 2>&1)"
    got="$(printf '%s\n' "$out" | grep -c 'answered the AUTHENTICATE with 401')"
    record "http_client --negotiate wrong password -> $mode" 1 "$got" "$(last_event)"
    if [ "$mode" = https ]; then
        got="$(curl_status 'CORP\alice:Secret1' --cacert "$WORK/cert.pem" "https://127.0.0.1:$srv_port/")"
        record "curl --ntlm -> axum_server https" 200 "$got" "$(last_event)"
    fi
    stop_server
done

report "server's event"
