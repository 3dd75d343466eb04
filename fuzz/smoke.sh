#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 20) from the seed corpus and
# dictionary; exits non-zero on the first crash, leak, timeout or build failure.
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

status=0
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    seeds="fuzz/seeds/$t"
    [ -d "$seeds" ] || seeds=""
    echo "== $t: ${seconds}s"
    if ! cargo fuzz run --debug-assertions "$t" "fuzz/corpus/$t" $seeds -- \
        -max_total_time="$seconds" -dict=fuzz/ntlm.dict -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 2>"fuzz/corpus/$t.log"; then
        echo "!! $t failed; see fuzz/corpus/$t.log and fuzz/artifacts/$t" >&2
        tail -n 40 "fuzz/corpus/$t.log" >&2
        status=1
        break
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE' "fuzz/corpus/$t.log" | tr '\n' ' '
    echo
done
exit $status
