#!/usr/bin/env python3
"""Samba's `ntlm_auth --helper-protocol=gss-spnego-client` logging on through
`ntlm negotiate-helper --dc` (SPNEGO wrapping NTLM, pass-through to the Samba AD DC that
run.sh started), relayed line by line as Squid's `auth_param negotiate` would: a wrong
password gets NA <reject> NT_STATUS_LOGON_FAILURE, the right one AF <token> CORP\\alice,
and Samba's client accepts our final token (its mechListMIC, made with the session key the
DC returned). alice's wrong password is followed by a logon, which resets her badPwdCount.

usage: negotiate_dc.py   (environment: NTLM, WORK, NTLM_DC_MACHINE_PASSWORD)
Exits 1 when a case differs from its expectation.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "samba_squid"))
import peers  # noqa: E402  (Peer, smb_conf; its __main__ does not run)

failures = 0


def row(case, got, want):
    global failures
    ok = got == want
    failures += 0 if ok else 1
    print(f"| {case:<52} | {got[:44]:<44} | {'ok' if ok else 'FAIL (want ' + want + ')'}")


def logon(server, conf, password):
    """One SPNEGO handshake of a fresh ntlm_auth client: (our verdict without its token,
    the client's verdict on our final or reject token)."""
    client = peers.Peer([
        "ntlm_auth", f"--configfile={conf}", "--helper-protocol=gss-spnego-client",
        "--username=alice", "--domain=CORP", f"--password={password}",
    ])
    try:
        init = client.ask("YR")
        tt = server.ask("YR " + init.split(" ", 1)[-1])
        if not tt.startswith("TT "):
            return f"server: {tt}", "-"
        kk = client.ask(tt)
        if not kk.startswith("KK "):
            return f"client: {kk}", "-"
        words = server.ask("KK " + kk[3:]).split(" ")
        if words[0] not in ("AF", "NA") or len(words) < 3:
            return " ".join(words), "-"
        return f"{words[0]} {' '.join(words[2:])}", client.ask(f"{words[0]} {words[1]}").split(" ")[0]
    finally:
        client.close()


if __name__ == "__main__":
    for d in ("lock", "state", "cache", "private"):
        os.makedirs(os.path.join(os.environ["WORK"], "samba", d), exist_ok=True)
    conf = peers.smb_conf("client-negotiate.conf")
    server = peers.Peer([
        os.environ["NTLM"], "negotiate-helper", "--level", "5", "--dc", "127.0.0.1",
        "--machine-account", "CORP\\WEB1$", "--machine-password-env", "NTLM_DC_MACHINE_PASSWORD",
        "--dc-timeout", "3",
    ])
    ours, _ = logon(server, conf, "wrong")
    row("gss-spnego-client alice, wrong pw -> negotiate-helper --dc", ours,
        "NA NT_STATUS_LOGON_FAILURE")
    ours, samba = logon(server, conf, "Alice-Pass-1")
    row("gss-spnego-client alice -> negotiate-helper L5 --dc", ours, "AF CORP\\alice")
    row("  ntlm_auth on our final token (mechListMIC)", samba, "AF")
    print("|   helper stderr:", " / ".join(server.close().strip().splitlines()[-3:]))
    sys.exit(1 if failures else 0)
