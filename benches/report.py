#!/usr/bin/env python3
"""Prints a Markdown table of criterion medians (target/criterion/*/*/new/estimates.json) and,
for every benchmark with a same-named entry in the `bound` group, its ratio to that bound.

    python3 benches/report.py [GROUP ...]

Reads $CRITERION_HOME when set (criterion writes there too), else target/criterion.
"""
import json, os, pathlib, sys

root = pathlib.Path(os.environ.get("CRITERION_HOME") or
                    pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion")
medians = {}
for bench in root.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    medians[meta["full_id"]] = est["median"]["point_estimate"]

def fmt(ns):
    if ns >= 1e6: return f"{ns/1e6:.2f} ms"
    if ns >= 1e3: return f"{ns/1e3:.2f} µs"
    return f"{ns:.0f} ns"

groups = sys.argv[1:] or sorted({k.split("/")[0] for k in medians if not k.startswith("bound/")})
print("| benchmark | median | bound median | ratio |")
print("|---|---:|---:|---:|")
for g in groups:
    for k in sorted(x for x in medians if x.startswith(g + "/")):
        name = k[len(g) + 1:]
        bound = medians.get("bound/" + name)
        if bound is None and "/" in name:  # e.g. ntlm_v2_proof+base_key/keyed
            bound = medians.get("bound/" + name.rsplit("/", 1)[0])
        if bound is None and name.endswith("/core_only"):
            bound = medians.get("bound/" + name[: -len("/core_only")])
        ratio = f"{medians[k]/bound:.2f}" if bound else "–"
        print(f"| {k} | {fmt(medians[k])} | {fmt(bound) if bound else '–'} | {ratio} |")
