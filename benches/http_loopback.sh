#!/bin/sh
# What NTLM costs per connection (issue 14): examples/http_server on loopback with NTLM
# (level 3, NTLMv2 + MIC, no sign/seal) and the same hyper server with --no-auth, driven by
# benches/http_load.rs. Four measurements per round, alternated (NTLM and plain, new
# connections and keep-alive), RUNS rounds; prints each round and the medians and ratios.
#
#   sh benches/http_loopback.sh [RUNS [SECS [CONNS]]]   (defaults 3 5 8; release build)
#   sh benches/http_loopback.sh --smoke                  (CI: debug build, 1 round of 1 s)
#
# Servers are started on free loopback ports and stopped by PID; nothing else is touched.
set -eu
cd "$(dirname "$0")/.."
profile=--release
dir=release
runs=${1:-3}
secs=${2:-5}
conns=${3:-8}
if [ "${1:-}" = "--smoke" ]; then
    profile=
    dir=debug
    runs=1
    secs=1
    conns=2
fi
features=tls,netlogon
# shellcheck disable=SC2086 # $profile is empty or one word
cargo build $profile -q --features "$features" --example http_server --bench http_load
server=target/$dir/examples/http_server
load=$(ls -t target/$dir/deps/http_load-* | grep -v '\.d$' | head -1)

work=$(mktemp -d /tmp/ntlm-http-loopback.XXXXXX)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
# A fresh random password for this run, in a file the server reads and the driver's
# environment; never on a command line.
NTLM_LOAD_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export NTLM_LOAD_PASSWORD
printf 'CORP:alice:%s\n' "$NTLM_LOAD_PASSWORD" >"$work/users"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    i=0
    until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { echo "server on port $1 did not start" >&2; exit 1; }
        sleep 0.1
    done
}
ntlm_port=$(free_port)
plain_port=$(free_port)
"$server" --listen "127.0.0.1:$ntlm_port" --users "$work/users" --level 3 --quiet \
    --dns-domain corp.example --dns-computer web1.corp.example &
pids="$pids $!"
"$server" --listen "127.0.0.1:$plain_port" --no-auth 2>/dev/null &
pids="$pids $!"
wait_port "$ntlm_port"
wait_port "$plain_port"

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $conns connections, $secs s each"
run() { # mode auth port
    timeout $((secs + 30)) "$load" --addr "127.0.0.1:$3" --mode "$1" --auth "$2" \
        --conns "$conns" --secs "$secs" | grep '^RESULT' | tee -a "$work/results"
}
i=1
while [ "$i" -le "$runs" ]; do
    run handshake ntlm "$ntlm_port"
    run handshake none "$plain_port"
    run keepalive ntlm "$ntlm_port"
    run keepalive none "$plain_port"
    i=$((i + 1))
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" <<'EOF'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    _, mode, auth, _conns, _secs, _ops, rate = line.split()
    rates.setdefault((mode, auth), []).append(float(rate))
med = {k: statistics.median(v) for k, v in rates.items()}
for mode, what in (("handshake", "new connections/s"), ("keepalive", "requests/s on keep-alive connections")):
    n, p = med[(mode, "ntlm")], med[(mode, "none")]
    print(f"{mode:9} NTLM {n:9.0f}  no auth {p:9.0f}  {what}; no auth / NTLM = {p / n:.2f}"
          f"  (runs: NTLM {rates[(mode, 'ntlm')]}, no auth {rates[(mode, 'none')]})")
EOF
