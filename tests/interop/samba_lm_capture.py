#!/usr/bin/env python3
"""Captures Samba's LM responses for non-ASCII passwords (the [samba_lm] section of
test-vectors/extra-hashes.toml).

Runs `ntlm_auth --helper-protocol=ntlmssp-client-1` with LM enabled and NTLMv2 off, answers
its NEGOTIATE with a CHALLENGE without ESS (server challenge 0123456789abcdef) and prints
the LM and NT responses of its AUTHENTICATE for each password.

    python3 tests/interop/samba_lm_capture.py            # print them
    python3 tests/interop/samba_lm_capture.py --check    # compare with extra-hashes.toml
"""
import base64
import os
import struct
import subprocess
import sys
import tempfile

PASSWORDS = ["Pässwörd", "straße", "søster", "aäääääää", "P😀ss", "Ωmega", "Password12345678"]
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")


def smb_conf(work):
    for d in ("lock", "state", "cache", "private"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    path = os.path.join(work, "client.conf")
    with open(path, "w") as f:
        f.write("[global]\nworkgroup = CORP\nnetbios name = NTLMTEST\n"
                f"lock directory = {work}/lock\nstate directory = {work}/state\n"
                f"cache directory = {work}/cache\nprivate dir = {work}/private\n"
                f"pid directory = {work}\n"
                "client lanman auth = yes\nclient ntlmv2 auth = no\n")
    return path


def challenge():
    # UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN: no ESS, no target info (MS-NLMP 2.2.1.2).
    flags = 0x00000001 | 0x00000004 | 0x00000200 | 0x00008000
    target = "CORP".encode("utf-16-le")
    return (b"NTLMSSP\0" + struct.pack("<I", 2) + struct.pack("<HHI", len(target), len(target), 48)
            + struct.pack("<I", flags) + SERVER_CHALLENGE + bytes(8)
            + struct.pack("<HHI", 0, 0, 48 + len(target)) + target)


def field(message, at):
    length, _, offset = struct.unpack("<HHI", message[at:at + 8])
    return message[offset:offset + length]


def capture(conf, password):
    proc = subprocess.Popen(
        ["ntlm_auth", f"--configfile={conf}", "--helper-protocol=ntlmssp-client-1",
         "--username=alice", "--domain=CORP", f"--password={password}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        out, _ = proc.communicate(
            "YR\nTT " + base64.b64encode(challenge()).decode() + "\n", timeout=20)
    finally:
        proc.kill()
    reply = out.splitlines()[1]
    assert reply[:2] in ("AF", "KK"), reply
    auth = base64.b64decode(reply[3:])
    return field(auth, 12), field(auth, 20)


def recorded():
    """password -> (kind, hex) from the [samba_lm] section of extra-hashes.toml."""
    path = os.path.join(os.path.dirname(__file__), "../../test-vectors/extra-hashes.toml")
    section, values = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[samba_lm]" and "=" in line:
                key, value = (p.strip() for p in line.split("=", 1))
                values[key] = value.strip('"')
    out = {}
    for name in values["names"].split():
        kind = "lm" if f"{name}_lm" in values else "copy"
        out[values[name]] = (kind, values[f"{name}_{kind}"])
    return out


def main():
    check = "--check" in sys.argv[1:]
    want = recorded() if check else {}
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        conf = smb_conf(work)
        print(f'server_challenge = "{SERVER_CHALLENGE.hex()}"')
        for pw in PASSWORDS:
            lm, nt = capture(conf, pw)
            kind = "copy" if lm == nt else "lm"
            verdict = ""
            if check:
                ok = want.get(pw) == (kind, lm.hex())
                failures += not ok
                verdict = "  ok" if ok else f"  FAIL: recorded {want.get(pw)}"
            print(f'# {pw!r}: {kind} = "{lm.hex()}"{verdict}')
    if check and (failures or len(want) != len(PASSWORDS)):
        sys.exit(f"samba_lm_capture: {failures} differ from extra-hashes.toml")


if __name__ == "__main__":
    main()
