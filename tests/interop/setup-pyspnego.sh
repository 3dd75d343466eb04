#!/usr/bin/env bash
# Install a pinned pyspnego into a private venv for the interop tests.
#
# Usage: tests/interop/setup-pyspnego.sh
#
# Environment:
#   NTLM_PYSPNEGO_VENV     venv directory (default: <repo>/target/pyspnego-venv)
#   NTLM_PYSPNEGO_VERSION  pyspnego version to install (default: pinned below)
#   PYTHON                 interpreter used to create the venv (default: python3)
#
# Idempotent: if the venv already has the pinned pyspnego importable (with a
# working RC4 from `cryptography`), nothing is downloaded.
# Exits non-zero with a message on any failure. On success the LAST line of
# stdout is the absolute path of the venv's python interpreter.
set -euo pipefail

PYSPNEGO_VERSION="${NTLM_PYSPNEGO_VERSION:-0.12.4}"
PYTHON="${PYTHON:-python3}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${NTLM_PYSPNEGO_VENV:-$repo/target/pyspnego-venv}"
vpy="$venv/bin/python"

die() { echo "setup-pyspnego: ERROR: $*" >&2; exit 1; }
log() { echo "setup-pyspnego: $*" >&2; }

# Run with a wall-clock bound when coreutils `timeout` exists.
bounded() {
    local secs="$1"; shift
    if command -v timeout >/dev/null 2>&1; then
        timeout --kill-after=10 "$secs" "$@"
    else
        "$@"
    fi
}

# Checks that the pinned pyspnego imports and that its NTLM crypto (MD4, DES,
# RC4 via cryptography) works end to end.
verify() {
    "$vpy" - "$PYSPNEGO_VERSION" <<'EOF'
import sys
want = sys.argv[1]
import spnego, spnego._ntlm  # noqa: F401
from spnego._version import __version__ as have
if have != want:
    sys.exit("pyspnego %s installed, want %s" % (have, want))
from spnego._ntlm_raw.crypto import ntowfv1, lmowfv1, rc4k
# Known answers: MS-NLMP 4.2.2.1 "Password" test vectors.
assert ntowfv1("Password").hex() == "a4f49c406510bdcab6824ee7c30fd852", "NTOWFv1"
assert lmowfv1("Password").hex() == "e52cac67419a9a224a3b108f3fa6cb6d", "LMOWFv1"
assert rc4k(b"\x55" * 16, b"\x00" * 4) is not None
EOF
}

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (install python3)"

if [ -x "$vpy" ] && verify >/dev/null 2>&1; then
    log "pyspnego $PYSPNEGO_VERSION already installed in $venv"
else
    if [ ! -x "$vpy" ]; then
        log "creating venv $venv"
        mkdir -p "$(dirname "$venv")"
        bounded 300 "$PYTHON" -m venv "$venv" \
            || die "'$PYTHON -m venv $venv' failed (on Debian: apt-get install python3-venv)"
    fi
    [ -x "$vpy" ] || die "venv has no python at $vpy"
    log "installing pyspnego==$PYSPNEGO_VERSION"
    PIP_DISABLE_PIP_VERSION_CHECK=1 bounded 900 "$vpy" -m pip install \
        --timeout 60 --retries 3 --no-input --quiet \
        "pyspnego==$PYSPNEGO_VERSION" >&2 \
        || die "pip install pyspnego==$PYSPNEGO_VERSION failed"
    verify >&2 || die "pyspnego $PYSPNEGO_VERSION does not import or its NTLM crypto is broken"
fi

echo "$vpy"
