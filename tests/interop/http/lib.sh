# Sourced by http/run.sh and http/axum.sh (after ../lib/common.sh and interop_work): the build
# of the binaries under test, the server under test started and stopped, curl --ntlm, and the
# results table. Before sourcing: NAME (for messages) and ROOT.

die() { echo "$NAME: ERROR: $*" >&2; exit 2; }

# build TARGETS...: cargo build --all-features TARGETS (the debug build `cargo test
# --all-features` made; NTLM_INTEROP_PROFILE=release builds optimised ones); sets BUILT, the
# directory of the binaries.
build() {
    local profile="${NTLM_INTEROP_PROFILE:-debug}" flag=()
    [ "$profile" = release ] && flag=(--release)
    echo "$NAME: building ($profile)" >&2
    (cd "$ROOT" && timeout 1500 cargo build "${flag[@]}" --all-features "$@" >&2) \
        || die "cargo build failed"
    BUILT="$ROOT/target/$profile"
}

results=()
failures=0
# record CHECK EXPECTED GOT DETAIL: a row of the table; a failure when GOT is not EXPECTED.
record() {
    local verdict=PASS
    [ "$2" = "$3" ] || { verdict=FAIL; failures=$((failures + 1)); }
    results+=("$(printf '%-60s | %-8s | %-8s | %-4s | %s' "$1" "$2" "$3" "$verdict" "$4")")
}

# start_server ARGS...: $SERVER_BIN on a free port with $WORK/users.txt; sets srv_port,
# srv_log and srv_pid.
start_server() {
    srv_port="$(free_port)"
    srv_log="$WORK/server-$srv_port.log"
    "$SERVER_BIN" --listen "127.0.0.1:$srv_port" --users "$WORK/users.txt" "$@" 2>"$srv_log" &
    srv_pid=$!
    PIDS+=("$srv_pid")
    wait_port "$srv_port" || die "$(basename "$SERVER_BIN") did not start: $(cat "$srv_log")"
}
stop_server() { # SIGTERM, SIGKILL after 5 s
    kill "$srv_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$srv_pid" 2>/dev/null
    wait "$srv_pid" 2>/dev/null
}

# curl_status USER:PASS [CURL ARGS...] URL...: the last status of curl --ntlm; the body in
# $WORK/body.
curl_status() {
    timeout 20 curl -s -o "$WORK/body" -w '%{http_code}' --ntlm -u "$1" "${@:2}" || true
}

# report DETAIL-HEADING: prints the table and the count; fails when a check failed.
report() {
    echo
    printf '%-60s | %-8s | %-8s | %-4s | %s\n' "check" "expected" "got" "" "$1"
    printf '%s\n' "$(printf -- '-%.0s' $(seq 1 140))"
    printf '%s\n' "${results[@]}"
    echo
    echo "$NAME: $(( ${#results[@]} - failures )) passed, $failures failed"
    [ "$failures" = 0 ]
}
