#!/usr/bin/env bash
# Availability under load against the real binaries (issue 11, items 1 and 2): a NEGOTIATE
# flood pipelined on one HTTP connection to http_server and a YR flood into one
# `ntlm squid-helper`, each with a legitimate logon during and right after it, and
# http_server under a 64-descriptor limit. See flood.py.
#
# Usage: tests/interop/hardening/run.sh [N_HTTP [N_HELPER]]
#   N_HELPER YR lines into the helper: default 263 144, the reflection guard's default
#   capacity (262 144) and then some: without the fix the guard fills and later YR get BH.
#   N_HTTP pipelined NEGOTIATEs: default 10 000 (a debug http_server answers ~2 000/s on the
#   2-core CI machine; the full 263 144 runs with NTLM_INTEROP_PROFILE=release). The full
#   count over HTTP is also proved in-process by tests/http/challenge_flood.rs.
# Bounded: every step has a timeout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
n_http="${1:-10000}"
n_helper="${2:-263144}"
command -v curl >/dev/null || { echo "hardening: curl not found" >&2; exit 2; }
command -v prlimit >/dev/null || { echo "hardening: prlimit not found (util-linux)" >&2; exit 2; }
profile="${NTLM_INTEROP_PROFILE:-debug}"
profile_flag=()
[ "$profile" = release ] && profile_flag=(--release)
(cd "$repo" && timeout 1500 cargo build "${profile_flag[@]}" --all-features --example http_server --bin ntlm >&2)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'CORP:alice:Secret1\n' > "$work/users.txt"
TMPDIR="$work" timeout 300 python3 "$here/flood.py" "$repo/target/$profile/examples/http_server" \
    "$repo/target/$profile/ntlm" "$work/users.txt" "$n_http" "$n_helper"
