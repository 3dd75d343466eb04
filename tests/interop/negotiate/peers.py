#!/usr/bin/env python3
"""Drives `ntlm negotiate-helper` (Squid's `auth_param negotiate` protocol) with real
SPNEGO initiators, line by line, as Squid would relay them:

a: Samba's `ntlm_auth --helper-protocol=gss-spnego-client` (YR -> YR <init>, TT <tok> ->
   KK <tok>, AF/NA <tok> -> its verdict), NTLMv2 and (with `client ntlmv2 auth = no`)
   NTLMv1-ESS, right and wrong passwords, against our levels 2, 3 and 5.
b: pyspnego's Negotiate client (spnego.client(protocol="negotiate")), pyspnego checking our
   final token (mechListMIC) itself; NTLMv2 and, with LM_COMPAT_LEVEL=2, NTLMv1.
Audit mode: level 2 with --audit-level 5 accepts NTLMv1 and logs the finding on stderr.

Usage: peers.py NTLM_BIN USERS_FILE PYTHON_WITH_PYSPNEGO
Prints a result table; exits 1 when any check fails, 2 when a peer is missing.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

NTLM, USERS, VPY = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = tempfile.mkdtemp(prefix="ntlm-negotiate-")
failures = 0


def row(case, got, want, detail=""):
    global failures
    ok = got == want
    if not ok:
        failures += 1
    print(f"| {case:<62} | {got:<10} | {'ok' if ok else 'FAIL (want ' + want + ')':<6} | {detail[:70]}")


class Lines:
    """A helper process, one line in, one line out, bounded in time."""

    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"{self.proc.args[0]} closed its output")
        return reply.rstrip("\n")

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
        return self.proc.stderr.read()


def helper(level, *extra):
    return Lines([NTLM, "negotiate-helper", "--level", str(level), "--users", USERS,
                  "--domain", "CORP", *extra])


def smb_conf(name, extra=""):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write("[global]\nworkgroup = CORP\nnetbios name = NTLMCLIENT\n"
                f"lock directory = {WORK}\nstate directory = {WORK}\n"
                f"cache directory = {WORK}\nprivate dir = {WORK}\npid directory = {WORK}\n"
                + extra)
    return path


def samba_case(conf, password, level, *extra):
    """One handshake Samba client -> our helper. Returns (our verdict word, Samba's verdict
    on our final token, our stderr)."""
    client = Lines(["ntlm_auth", f"--configfile={conf}", "--helper-protocol=gss-spnego-client",
                    "--username=alice", "--domain=CORP", f"--password={password}"])
    server = helper(level, *extra)
    ours = samba = "-"
    try:
        init = client.ask("YR")
        if not init.startswith("YR "):
            return f"client {init[:20]}", "-", server.close()
        tt = server.ask("YR " + init.split(" ", 1)[1])
        if not tt.startswith("TT "):
            return tt[:10], "-", server.close()
        kk = client.ask(tt)
        if not kk.startswith("KK "):
            return f"client {kk[:20]}", "-", server.close()
        verdict = server.ask("KK " + kk.split(" ", 1)[1])
        words = verdict.split(" ")
        ours = words[0]
        if ours in ("AF", "NA") and len(words) >= 3:
            # Samba's client checks our final (or reject) token.
            samba = client.ask(f"{words[0]} {words[1]}").split(" ")[0]
        if ours == "AF":
            ours = "AF " + words[2]
        elif ours == "NA":
            ours = "NA " + " ".join(words[2:])
    finally:
        client.close()
    return ours, samba, server.close()


def pyspnego_case(password, level, lm_compat, *extra):
    """One handshake pyspnego -> our helper, in a child interpreter with the pinned pyspnego.
    Returns (our verdict, pyspnego's context state, our stderr)."""
    server = helper(level, *extra)
    code = r"""
import base64, json, sys, spnego
ctx = spnego.client("CORP\\alice", sys.argv[1], hostname="proxy", service="HTTP", protocol="negotiate")
token = ctx.step()
print(json.dumps({"out": "YR " + base64.b64encode(token).decode()}), flush=True)
for line in sys.stdin:
    words = line.split()
    if words[0] == "TT":
        token = ctx.step(base64.b64decode(words[1]))
        print(json.dumps({"out": "KK " + base64.b64encode(token).decode()}), flush=True)
    elif words[0] == "AF":
        ctx.step(base64.b64decode(words[1]))
        print(json.dumps({"done": "complete" if ctx.complete else "incomplete"}), flush=True)
        break
    else:
        print(json.dumps({"done": "not logged on"}), flush=True)
        break
"""
    env = dict(os.environ, LM_COMPAT_LEVEL=str(lm_compat))
    client = subprocess.Popen([VPY, "-c", code, password], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    verdict, state = "-", "-"
    try:
        for _ in range(4):
            msg = json.loads(client.stdout.readline())
            if "done" in msg:
                state = msg["done"]
                break
            reply = server.ask(msg["out"])
            words = reply.split(" ")
            if words[0] in ("AF", "NA"):
                verdict = words[0] + " " + " ".join(words[2:])
            elif words[0] == "BH":
                verdict = reply[:40]
            client.stdin.write(reply + "\n")
            client.stdin.flush()
    except Exception as e:  # a crash of either side is a failed row, not a hang
        verdict = f"error {e}"[:40]
    finally:
        try:
            client.stdin.close()
        except OSError:
            pass
        try:
            client.wait(timeout=10)
        except subprocess.TimeoutExpired:
            client.kill()
    return verdict, state, server.close()


def main():
    if shutil.which("ntlm_auth") is None:
        print("peers.py: ntlm_auth not found (apt-get install winbind)", file=sys.stderr)
        return 2
    print(f"| {'case':<62} | {'got':<10} | check  | detail")
    default = smb_conf("client.conf")
    v1 = smb_conf("client-v1.conf", "client ntlmv2 auth = no\n")
    for level in (3, 5):
        ours, samba, log = samba_case(default, "Secret1", level)
        row(f"a ntlm_auth gss-spnego-client (NTLMv2) -> ours L{level}", ours, "AF CORP\\alice",
            f"Samba on our final token: {samba}")
        row(f"a   ... Samba accepts our final token (mechListMIC)", samba, "AF")
        ours, samba, log = samba_case(default, "wrong", level)
        row(f"a ntlm_auth gss-spnego-client wrong pw -> ours L{level}", ours,
            "NA NT_STATUS_LOGON_FAILURE", f"Samba on our reject token: {samba}")
    ours, samba, log = samba_case(v1, "Secret1", 5)
    row("a ntlm_auth (client ntlmv2 auth = no) -> ours L5", ours,
        "NA NTLMv1-ESS refused by server level 5")
    ours, samba, log = samba_case(v1, "Secret1", 2, "--audit-level", "5")
    row("a ntlm_auth (NTLMv1-ESS) -> ours L2 --audit-level 5", ours, "AF CORP\\alice")
    found = [l for l in log.splitlines() if "audit: logon accepted" in l]
    row("a   ... audit event with rule and user on stderr",
        "yes" if found and "rule=NTLMv1-ESS refused by server level 5" in found[0]
        and "user=alice" in found[0] else "no", "yes", found[0].split(": ", 1)[-1] if found else "")
    counted = [l for l in log.splitlines() if "end of input" in l]
    row("a   ... counters at end of input: audit_would_refuse=1",
        "yes" if counted and "audit_would_refuse=1" in counted[0] else "no", "yes")

    for level in (3, 5):
        verdict, state, log = pyspnego_case("Secret1", level, 3)
        row(f"b pyspnego Negotiate (NTLMv2) -> ours L{level}", verdict, "AF CORP\\alice",
            f"pyspnego context: {state}")
        row("b   ... pyspnego completes on our final token", state, "complete")
    verdict, state, log = pyspnego_case("wrong", 5, 3)
    row("b pyspnego Negotiate wrong pw -> ours L5", verdict, "NA NT_STATUS_LOGON_FAILURE")
    verdict, state, log = pyspnego_case("Secret1", 5, 2)
    row("b pyspnego Negotiate (LM_COMPAT_LEVEL=2) -> ours L5", verdict.split(" refused")[0],
        "NA NTLMv1-ESS", verdict)
    verdict, state, log = pyspnego_case("Secret1", 2, 2, "--audit-level", "5")
    row("b pyspnego Negotiate (LM_COMPAT_LEVEL=2) -> ours L2 --audit-level 5", verdict,
        "AF CORP\\alice", state)
    row("b   ... audit event on stderr",
        "yes" if "audit: logon accepted that the audit level would refuse" in log else "no", "yes")
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
