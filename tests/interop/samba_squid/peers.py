#!/usr/bin/env python3
"""Pipes helper-protocol lines between Samba's ntlm_auth and our `ntlm` helpers.

usage: peers.py a|b   (environment: NTLM, WORK, set by run.sh)

a: ntlm_auth --helper-protocol=ntlmssp-client-1  ->  ntlm squid-helper (our levels 3, 5)
b: ntlm client-helper (our levels 0..5)  ->  ntlm_auth --helper-protocol=squid-2.5-ntlmssp

Each handshake is bounded: 4 lines, 10 s per line, processes killed afterwards.
Prints one table row per case; exits 1 when a case differs from its expectation.
"""

import os
import select
import subprocess
import sys
import time

NTLM = os.environ["NTLM"]
WORK = os.environ["WORK"]
USERS = os.path.join(WORK, "users")
PASSWORD = "Secret1"
LINE_TIMEOUT = 10.0


class Peer:
    def __init__(self, argv, env=None):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.pending = b""

    def ask(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.read(line)

    def read(self, line=""):
        """The peer's next line (bounded by LINE_TIMEOUT); `line` names the request in errors."""
        deadline = time.monotonic() + LINE_TIMEOUT
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.argv[0]}: no reply to {line[:20]!r} in {LINE_TIMEOUT}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"{self.argv[0]}: exited before replying to {line[:20]!r}")
            self.pending += chunk
        out, self.pending = self.pending.split(b"\n", 1)
        return out.decode().strip()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")


def smb_conf(name, extra=""):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(
            "[global]\n"
            "workgroup = CORP\n"
            "netbios name = NTLMTEST\n"
            "security = user\n"
            f"lock directory = {WORK}/samba/lock\n"
            f"state directory = {WORK}/samba/state\n"
            f"cache directory = {WORK}/samba/cache\n"
            f"private dir = {WORK}/samba/private\n"
            f"pid directory = {WORK}/samba\n"
            f"log file = {WORK}/samba/log.%m\n"
            + extra
        )
    return path


def handshake(client, server):
    """YR -> YR tok -> TT tok -> AF/KK tok -> result. Returns (result, authenticate b64)."""
    try:
        yr = client.ask("YR")
        if not yr.startswith("YR "):
            return f"client: {yr}", None
        tt = server.ask(yr)
        if not tt.startswith("TT "):
            return f"server: {tt}", None
        kk = client.ask(tt)
        if not (kk.startswith("KK ") or kk.startswith("AF ")):
            return f"client: {kk}", None
        token = kk[3:]
        result = server.ask("KK " + token)
        return result, (kk[:2], token)
    finally:
        client.close()
        server.close()


def decode_kinds(token):
    out = subprocess.run([NTLM, "decode", token], capture_output=True, text=True, timeout=10)
    lm = nt = mic = "?"
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("LmChallengeResponse:"):
            lm = line.split(",", 1)[1].split(":")[0].strip()
        elif line.startswith("NtChallengeResponse:"):
            nt = line.split(",", 1)[1].split(":")[0].strip()
        elif line.startswith("MIC:"):
            mic = line.split(":", 1)[1].split(",")[0].strip()
    return f"LM={lm} NT={nt} MIC={mic}"


failures = 0


def row(case, got, want):
    global failures
    ok = got.startswith(want)
    if not ok:
        failures += 1
    print(f"| {case:<58} | {got[:48]:<48} | {'ok' if ok else 'FAIL (want ' + want + ')'}")


def part_a():
    # ntlm_auth's client as Samba ships it, and with NTLMv2 off (it then sends NTLMv1-ESS).
    variants = [
        ("default", smb_conf("client-default.conf")),
        ("client ntlmv2 auth=no", smb_conf("client-v1.conf", "client ntlmv2 auth = no\n")),
    ]
    for variant, conf in variants:
        for level in (3, 5):
            for password, good in ((PASSWORD, True), ("wrong", False)):
                client = Peer([
                    "ntlm_auth", f"--configfile={conf}", "--helper-protocol=ntlmssp-client-1",
                    "--username=alice", "--domain=CORP", f"--password={password}",
                ])
                server = Peer([NTLM, "squid-helper", "--level", str(level), "--users", USERS])
                result, auth = handshake(client, server)
                sent = decode_kinds(auth[1]) if auth else "-"
                v1 = variant != "default"
                if not good:
                    want = "NA"
                elif v1 and level == 5:
                    want = "NA NTLMv1-ESS refused by server level 5"
                else:
                    want = "AF CORP\\alice"
                pw = "right" if good else "wrong"
                row(f"a ntlm_auth client ({variant}, {pw} pw) -> ours L{level}",
                    f"{result}", want)
                if good:
                    print(f"|   ntlm_auth client ({variant}) reply word {auth[0] if auth else '-'}, sent {sent}")


def part_b():
    # ntlm_auth --password checks with ntlm_password_check(lanman_auth=true, NTLM_AUTH_ON)
    # (source3/utils/ntlm_auth.c, local_pw_check_send): smb.conf's `ntlm auth` and
    # `lanman auth` do not apply to it, so every level is accepted with either file.
    variants = [
        ("default smb.conf", smb_conf("server-default.conf")),
        ("ntlm auth=ntlmv2-only", smb_conf("server-v2.conf", "ntlm auth = ntlmv2-only\nlanman auth = no\n")),
    ]
    for variant, conf in variants:
        for level in range(6):
            for password, good in ((PASSWORD, True), ("wrong", False)):
                env = dict(os.environ, NTLM_PW=password)
                client = Peer([NTLM, "client-helper", "--level", str(level),
                               "--user", "CORP\\alice", "--password-env", "NTLM_PW"], env=env)
                server = Peer([
                    "ntlm_auth", f"--configfile={conf}", "--helper-protocol=squid-2.5-ntlmssp",
                    f"--password={PASSWORD}",
                ])
                result, auth = handshake(client, server)
                want = "AF CORP\\alice" if good else "NA"
                pw = "right" if good else "wrong"
                row(f"b ours L{level} ({pw} pw) -> ntlm_auth server ({variant})", result, want)
                if good and auth:
                    print(f"|   our L{level} client sent {decode_kinds(auth[1])}")


if __name__ == "__main__":
    os.makedirs(os.path.join(WORK, "samba", "lock"), exist_ok=True)
    for d in ("state", "cache", "private"):
        os.makedirs(os.path.join(WORK, "samba", d), exist_ok=True)
    {"a": part_a, "b": part_b}[sys.argv[1]]()
    sys.exit(1 if failures else 0)
