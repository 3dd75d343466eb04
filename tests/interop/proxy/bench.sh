#!/usr/bin/env bash
# Load comparison of `ntlm proxy` and Debian's cntlm (`Auth NTLMv2`, its PassNTLMv2 hash) in
# front of the same Squid (NTLM through our squid-helper), same origin, same run, loopback:
#   small: requests/s with 8 parallel clients, a new client connection per request
#          (tests/interop/proxy/load.py, for SECONDS each, default 10);
#   bulk:  MB/s of one 64 MiB download through each (curl).
# Each figure is the median of RUNS runs (default 3). Not run in CI. Release build.
# Environment: NTLM_BIN (default target/release/ntlm), RUNS, SECONDS_EACH, KEEP_WORK=1.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
. "$HERE/../lib/common.sh"
. "$HERE/../lib/squid.sh"
RUNS="${RUNS:-3}"
SECONDS_EACH="${SECONDS_EACH:-10}"
need_tools bench.sh squid cntlm curl python3
NTLM_BIN="${NTLM_BIN:-$ROOT/target/release/ntlm}"
if [ ! -x "$NTLM_BIN" ]; then
    (cd "$ROOT" && timeout 1500 cargo build --release --features cli --bin ntlm >&2) || exit 2
fi

interop_work ntlm-proxy-bench
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

stage_for_squid
mkdir -p "$WORK/www"
echo "small" > "$WORK/www/small.txt"
head -c $((64 * 1024 * 1024)) /dev/zero > "$WORK/www/big.bin"

ORIGIN="$(free_port)"; SQUID="$(free_port)"; OURS="$(free_port)"; CNTLM="$(free_port)"
python3 "$HERE/origins.py" http "$ORIGIN" "$WORK/www" >"$WORK/origin.log" 2>&1 & PIDS+=($!)
SQUID_ACCESS_LOG=none squid_conf squid "$SQUID" ntlm 8 "$WORK/ntlm" squid-helper --level 3 --users "$WORK/users" --domain CORP
start_squid squid "$SQUID" || exit 1

hash="$(cntlm -H -u alice -d CORP -p Secret1 -c /dev/null 2>/dev/null | awk '/PassNTLMv2/ {print $2}')"
cat > "$WORK/cntlm.conf" <<EOS
Username alice
Domain CORP
PassNTLMv2 $hash
Auth NTLMv2
Proxy 127.0.0.1:$SQUID
Listen 127.0.0.1:$CNTLM
EOS
cntlm -f -c "$WORK/cntlm.conf" >"$WORK/cntlm.log" 2>&1 & PIDS+=($!)
NTLM_PW=Secret1 "$NTLM_BIN" proxy --listen "127.0.0.1:$OURS" --upstream "http://127.0.0.1:$SQUID" \
    --user 'CORP\alice' --password-env NTLM_PW --level 3 --log warn >"$WORK/ours.log" 2>&1 & PIDS+=($!)
for p in "$ORIGIN" "$OURS" "$CNTLM"; do wait_port "$p" || { echo "port $p never opened"; exit 1; }; done

for name in ours cntlm; do
    port="$OURS"; [ "$name" = cntlm ] && port="$CNTLM"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$port" "http://127.0.0.1:$ORIGIN/small.txt")"
    [ "$code" = 200 ] || { echo "$name: warm-up request got $code"; tail -5 "$WORK/$name.log"; exit 1; }
done

echo "runs: $RUNS; small: 8 clients x ${SECONDS_EACH}s, new connection per request; bulk: 64 MiB with curl"
for name in ours cntlm; do
    port="$OURS"; [ "$name" = cntlm ] && port="$CNTLM"
    : > "$WORK/$name.small"; : > "$WORK/$name.bulk"
done
for run in $(seq "$RUNS"); do
    for name in ours cntlm; do
        port="$OURS"; [ "$name" = cntlm ] && port="$CNTLM"
        read -r ok bad rate < <(timeout $((SECONDS_EACH + 60)) python3 "$HERE/load.py" small "$port" \
            "http://127.0.0.1:$ORIGIN/small.txt" "$SECONDS_EACH" 8)
        echo "$rate" >> "$WORK/$name.small"
        speed="$(curl -s -o /dev/null -w '%{speed_download}' --max-time 120 -x "http://127.0.0.1:$port" \
            "http://127.0.0.1:$ORIGIN/big.bin")"
        mbs="$(python3 -c "print(f'{$speed / 1e6:.0f}')")"
        echo "$mbs" >> "$WORK/$name.bulk"
        printf 'run %s %-6s small %8s req/s (%s ok, %s failed)  bulk %5s MB/s\n' "$run" "$name" "$rate" "$ok" "$bad" "$mbs"
    done
done
ours_small="$(median < "$WORK/ours.small")"; cntlm_small="$(median < "$WORK/cntlm.small")"
ours_bulk="$(median < "$WORK/ours.bulk")"; cntlm_bulk="$(median < "$WORK/cntlm.bulk")"
echo
echo "| proxy       | small requests/s (median) | 64 MiB MB/s (median) |"
echo "|-------------|---------------------------|----------------------|"
printf '| ntlm proxy  | %25s | %20s |\n' "$ours_small" "$ours_bulk"
printf '| cntlm       | %25s | %20s |\n' "$cntlm_small" "$cntlm_bulk"
python3 -c "print(f'ratio: small {$ours_small / max($cntlm_small, 0.1):.2f}x, bulk {$ours_bulk / max($cntlm_bulk, 1):.2f}x')"
