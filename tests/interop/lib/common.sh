# Sourced by the interop scripts: a work directory and the processes started in it, both gone
# on exit; free loopback ports; the peers a script needs; gss-ntlmssp (curl's SPNEGO).
# Every wait is bounded.

# interop_work PREFIX: makes $WORK (/tmp/PREFIX.XXXXXX) and $PIDS (append what you start);
# on exit each is sent SIGTERM, then SIGKILL after 5 s, and $WORK is removed (KEEP_WORK=1
# keeps it).
interop_work() {
    WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
    PIDS=()
    trap interop_cleanup EXIT INT TERM
}
interop_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}

# A TCP port free on 127.0.0.1 now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s); non-zero if nothing does.
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# need_tools SCRIPT TOOL...: every TOOL on PATH, or a message for each missing one and exit 2.
need_tools() {
    local script="$1" tool missing=0
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || { echo "$script: required peer '$tool' not found" >&2; missing=1; }
    done
    [ "$missing" = 0 ] || exit 2
}

# Debian's gss-ntlmssp (MIT GSS-API's NTLM mechanism, behind curl --negotiate and
# --proxy-negotiate), installed when missing and running as root; non-zero if it is not there.
ensure_gss_ntlmssp() {
    if [ ! -e /etc/gss/mech.d/mech.ntlmssp.conf ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
            gss-ntlmssp >/dev/null 2>&1 \
            || { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 \
                 apt-get install -y -qq --no-install-recommends gss-ntlmssp >/dev/null; }
    fi
    [ -e /etc/gss/mech.d/mech.ntlmssp.conf ]
}
