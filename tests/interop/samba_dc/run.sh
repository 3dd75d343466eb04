#!/usr/bin/env bash
# NTLM pass-through against a real Samba AD DC on loopback (issue 10): provisions a
# throwaway domain CORP.EXAMPLE.COM into a temporary directory, creates the verifier's
# computer account WEB1$ and test users, runs `ntlm dc-check`, Samba's ntlm_auth client
# through `ntlm squid-helper --dc` and curl --ntlm through http_server and axum_server --dc
# (squid_dc.py), pyspnego's NTLM and Negotiate and curl --negotiate through http_server --dc
# (pyspnego_http_dc.py), and tests/netlogon/netlogon_dc.rs against it (pyspnego's session key, and the
# differential: samba restarted under each `ntlm auth` / `lanman auth` setting, its verdicts
# against our levels'), and stops the DC on exit. Needs root (port 135) and Debian's samba,
# samba-ad-dc and samba-ad-provision, installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=tests/interop/samba_dc
start=$SECONDS
say() { printf -- '--- samba_dc: %s (t=%ss)\n' "$*" "$((SECONDS - start))"; }

if ! command -v samba >/dev/null || ! command -v samba-tool >/dev/null \
    || ! dpkg -s samba-ad-dc samba-ad-provision >/dev/null 2>&1; then
    say "installing samba, samba-ad-dc, samba-ad-provision"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
        samba samba-ad-dc samba-ad-provision >/dev/null
fi

dir="$(mktemp -d /tmp/ntlm-samba-dc.XXXXXX)"
cleanup() { bash "$here/dc.sh" stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT

say "provisioning CORP.EXAMPLE.COM into $dir"
bash "$here/dc.sh" provision "$dir"
say "starting samba"
bash "$here/dc.sh" start "$dir"
say "users, computer account WEB1, lockout threshold"
bash "$here/dc.sh" users "$dir"

export NTLM_DC_MACHINE_PASSWORD='Machine-Pass-1' NTLM_DC_ALICE_PASSWORD='Alice-Pass-1' NTLM_DC_WRONG='not-the-password'
cargo build -q --all-features --bin ntlm --example http_server --example axum_server
say "ntlm dc-check (expected to succeed)"
timeout 60 target/debug/ntlm dc-check --dc 127.0.0.1 --machine-account 'CORP\WEB1$' \
    --machine-password-env NTLM_DC_MACHINE_PASSWORD --user 'CORP\alice' --password-env NTLM_DC_ALICE_PASSWORD \
    | tee "$dir/dc-check.out"
grep -q 'equal to the one the client derived' "$dir/dc-check.out"

say "ntlm dc-check with a wrong machine password (expected to fail at NetrServerAuthenticate3)"
if timeout 60 target/debug/ntlm dc-check --dc 127.0.0.1 --machine-account 'CORP\WEB1$' \
    --machine-password-env NTLM_DC_WRONG > "$dir/dc-check-bad.out"; then
    echo "dc-check succeeded with a wrong machine password"; exit 1
fi
cat "$dir/dc-check-bad.out"
grep -q 'NetrServerAuthenticate3 refused' "$dir/dc-check-bad.out"

say "ntlm_auth through ntlm squid-helper --dc, curl --ntlm through http_server and axum_server --dc"
mkdir -p "$dir/work"
NTLM="$PWD/target/debug/ntlm" HTTP_SERVER="$PWD/target/debug/examples/http_server" \
    AXUM_SERVER="$PWD/target/debug/examples/axum_server" WORK="$dir/work" \
    DC_DIR="$dir" timeout 300 python3 "$here/squid_dc.py"
say "ntlm_auth gss-spnego-client through ntlm negotiate-helper --dc"
NTLM="$PWD/target/debug/ntlm" WORK="$dir/work" timeout 120 python3 "$here/negotiate_dc.py"
say "pyspnego (NTLM, Negotiate) and curl --negotiate through http_server --dc"
NTLM="$PWD/target/debug/ntlm" HTTP_SERVER="$PWD/target/debug/examples/http_server" WORK="$dir/work" DC_DIR="$dir" timeout 300 python3 "$here/pyspnego_http_dc.py"

say "cargo test --test netlogon netlogon_dc:: against the DC"
NTLM_DC_DIR="$dir" cargo test -q --all-features --test netlogon netlogon_dc:: -- --nocapture --test-threads=1
say "done"
