#!/usr/bin/env python3
"""Prints Markdown tables of criterion medians (*/new/estimates.json).

    python3 benches/report.py [GROUP ...]
        the crate's own benches ($CRITERION_HOME when set, else target/criterion): medians, and for every benchmark with a
        same-named entry in the `bound` group, its ratio to that bound;

    python3 benches/report.py --peers [DIR ...]
        the side-by-side benchmark (benches/peers, default DIR benches/peers/target/criterion):
        per operation, the median of each implementation and ours / fastest peer on the same
        work (PAIRS says which configuration of ours does the work of which peer). With
        several DIRs (copies of target/criterion from separate runs), each ratio is the
        median over the runs, and the per-run ratios are listed.
"""
import json, os, pathlib, statistics, sys

here = pathlib.Path(__file__).resolve().parent


def load(root):
    medians = {}
    for bench in pathlib.Path(root).glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        medians[meta["full_id"]] = est["median"]["point_estimate"]
    return medians


def fmt(ns):
    if ns >= 1e6: return f"{ns/1e6:.2f} ms"
    if ns >= 1e3: return f"{ns/1e3:.2f} µs"
    return f"{ns:.0f} ns"


def bound_report(groups):
    medians = load(os.environ.get("CRITERION_HOME") or here.parent / "target" / "criterion")
    groups = groups or sorted({k.split("/")[0] for k in medians if not k.startswith("bound/")})
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


# operation (criterion group under peers/) -> (what is compared, {peer: our function doing
# the same work}). See benches/README.md, "Against the other Rust implementations".
PAIRS = {
    "ntowf_v2": ("NT hash + NTOWFv2 from the password",
                 {"ntlmssp": "ours", "red_ntlm": "ours", "ntlmclient": "ours"}),
    "ntlmv2_response": ("NTLMv2 response + LMv2 + SessionBaseKey from the key",
                        {"red_ntlm": "ours"}),
    "ntlmv2_response_from_password": ("the same from the password, random client challenge",
                                      {"ntlmclient": "ours"}),
    "decode_challenge": ("decode the §4.2 CHALLENGE",
                         {"ntlmssp": "ours", "red_ntlm": "ours", "ntlmclient": "ours"}),
    "authenticate/lmv2": ("AUTHENTICATE, §4.2 CHALLENGE: LMv2, no MIC, no KEY_EXCH",
                          {"ntlmclient": "ours"}),
    "authenticate/mic": ("AUTHENTICATE, + timestamp: MIC, no KEY_EXCH (ntlmssp adds LMv2)",
                         {"ntlmssp": "ours+lmv2"}),
    "authenticate/kx_mic": ("AUTHENTICATE, + timestamp: MIC + KEY_EXCH (sspi adds LMv2)",
                            {"red_ntlm": "ours", "sspi": "ours+lmv2"}),
    "handshake_l3": ("full level-3 handshake, client + server, verified",
                     {"sspi": "ours"}),
}


def peers_report(dirs):
    dirs = dirs or [here / "peers" / "target" / "criterion"]
    runs = [load(d) for d in dirs]
    print(f"{len(runs)} run(s); medians of the last run; ratio = ours / fastest peer on "
          "the same work (below 1: ours faster), median over the runs\n")
    print("| operation | ours | fastest peer | peer median | ratio | per run |")
    print("|---|---:|---|---:|---:|---|")
    for group, (title, pairs) in PAIRS.items():
        per_run = []
        for m in runs:
            best = None
            for peer, ours in pairs.items():
                p, o = m.get(f"peers/{group}/{peer}"), m.get(f"peers/{group}/{ours}")
                if p is None or o is None:
                    continue
                # The fastest peer; where peers are paired with different configurations
                # of ours, the one ours is least ahead of (highest ratio).
                if best is None or o / p > best[3] / best[1]:
                    best = (peer, p, ours, o)
            if best:
                per_run.append(best)
        if not per_run:
            continue
        ratios = [o / p for (_, p, _, o) in per_run]
        peer, p, ours, o = per_run[-1]
        print(f"| {title} | {fmt(o)} ({ours}) | {peer} | {fmt(p)} | "
              f"**{statistics.median(ratios):.2f}** | {' '.join(f'{r:.2f}' for r in ratios)} |")
    print("\nEvery implementation, last run:\n")
    print("| benchmark | median |")
    print("|---|---:|")
    for k in sorted(k for k in runs[-1] if k.startswith("peers/")):
        print(f"| {k} | {fmt(runs[-1][k])} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--peers"]:
        peers_report(args[1:])
    else:
        bound_report(args)
