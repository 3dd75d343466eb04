#!/bin/sh
# Runs the side-by-side benchmark RUNS times (default 3), keeps each run's criterion
# directory under target/runs/, and prints the report (medians of the per-run ratios).
#   sh benches/peers/run.sh [RUNS]      (from anywhere; nice it on a shared machine)
set -eu
cd "$(dirname "$0")"
runs=${1:-3}
rm -rf target/runs
mkdir -p target/runs
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$runs" ]; do
    rm -rf target/criterion
    cargo bench --bench peers -- --warm-up-time 1 --measurement-time 2 --noplot
    cp -r target/criterion "target/runs/$i"
    echo "load average after run $i: $(cut -d' ' -f1-3 /proc/loadavg)"
    i=$((i + 1))
done
python3 ../report.py --peers target/runs/*
