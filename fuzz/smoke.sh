#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 20) from the seed corpus and
# dictionary; exits non-zero on the first crash, leak, timeout or build failure, printing its
# cause (the panic or sanitizer report) and whether the saved input fails again run alone.
#
#   fuzz/smoke.sh [SECONDS]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler; runs on stable Rust
# through RUSTC_BOOTSTRAP=1. Corpora go to fuzz/corpus/TARGET (git-ignored), crashes to
# fuzz/artifacts/TARGET.
set -euo pipefail

seconds="${1:-20}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null 2>&1 || { echo "smoke.sh: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2; exit 2; }

targets=$(cargo fuzz list)
cargo fuzz build --debug-assertions

# run_target TARGET LOG [SEEDS]: fuzzes TARGET for $seconds, libFuzzer's output to LOG.
run_target() {
    local t="$1" log="$2"
    shift 2
    cargo fuzz run --debug-assertions "$t" "fuzz/corpus/$t" "$@" -- \
        -max_total_time="$seconds" -dict=fuzz/ntlm.dict -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 2>"$log"
}

# report_failure TARGET LOG: the cause (the panic or the sanitizer's report, which come
# before the stack trace and the final statistics) and the end of LOG.
report_failure() {
    local t="$1" log="$2" first
    echo "!! $t failed; see $log and fuzz/artifacts/$t" >&2
    first=$(grep -n -m1 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|deadly signal' "$log" | cut -d: -f1 || true)
    if [ -n "$first" ]; then
        echo "-- the cause ($log from line $((first > 3 ? first - 3 : 1))):" >&2
        sed -n "$((first > 3 ? first - 3 : 1)),$((first + 30))p" "$log" >&2
    fi
    echo "-- the end of $log:" >&2
    tail -n 30 "$log" >&2
}

# reproduces TARGET: true when one of TARGET's saved inputs fails again, run alone 3 times
# (and prints how).
reproduces() {
    local t="$1" a
    for a in fuzz/artifacts/"$t"/*; do
        [ -f "$a" ] || continue
        if ! cargo fuzz run --debug-assertions "$t" "$a" -- -runs=3 >"fuzz/corpus/$t.repro.log" 2>&1; then
            echo "-- $a, run alone:" >&2
            grep -m1 -A12 -E 'panicked at|ERROR: ' "fuzz/corpus/$t.repro.log" >&2 || tail -n 20 "fuzz/corpus/$t.repro.log" >&2
            return 0
        fi
    done
    return 1
}

status=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    seeds="fuzz/seeds/$t"
    [ -d "$seeds" ] || seeds=""
    echo "== $t: ${seconds}s"
    if ! run_target "$t" "fuzz/corpus/$t.log" $seeds; then
        report_failure "$t" "fuzz/corpus/$t.log"
        if ! reproduces "$t"; then
            echo "!! $t: the saved input does not fail when run alone (3 runs): the failure" \
                "depends on more than the input; still a failure" >&2
        fi
        status=1
        break
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE' "fuzz/corpus/$t.log" | tr '\n' ' '
    echo
done
exit $status
