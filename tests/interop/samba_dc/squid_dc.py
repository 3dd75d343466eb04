#!/usr/bin/env python3
"""Samba's ntlm_auth client logging on through `ntlm squid-helper --dc`, and curl --ntlm
through `examples/http_server --dc` and `examples/axum_server --dc` (the tower layer)
(pass-through to the Samba AD DC that run.sh started): one helper process and one process of
each HTTP server for every case.

usage: squid_dc.py   (environment: NTLM, HTTP_SERVER, AXUM_SERVER, WORK, DC_DIR,
                      NTLM_DC_MACHINE_PASSWORD)

Right password: AF CORP\\alice / 200. Wrong password: NA NT_STATUS_LOGON_FAILURE / 401, each
counted by the DC (badPwdCount 0 -> 1). NTLMv1-ESS at level 5: NA without asking the DC. DC
stopped: BH / 503; started again: AF / 200 in the same processes. Exits 1 when a case
differs from its expectation.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "samba_squid"))
import peers  # noqa: E402  (Peer, smb_conf; its __main__ does not run)

NTLM, WORK, DC_DIR = os.environ["NTLM"], os.environ["WORK"], os.environ["DC_DIR"]
failures = 0


def dc(*args):
    out = subprocess.run(["bash", os.path.join(HERE, "dc.sh"), args[0], DC_DIR, *args[1:]],
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def row(case, got, want):
    global failures
    ok = got.startswith(want)
    failures += 0 if ok else 1
    print(f"| {case:<52} | {got[:44]:<44} | {'ok' if ok else 'FAIL (want ' + want + ')'}")


def logon(server, conf, user, password):
    """One handshake of a fresh ntlm_auth client against the long-lived `server`."""
    client = peers.Peer([
        "ntlm_auth", f"--configfile={conf}", "--helper-protocol=ntlmssp-client-1",
        f"--username={user}", "--domain=CORP", f"--password={password}",
    ])
    try:
        yr = client.ask("YR")
        tt = server.ask(yr)
        if not tt.startswith("TT "):
            return f"server: {tt}"
        kk = client.ask(tt)
        if not (kk.startswith("KK ") or kk.startswith("AF ")):
            return f"client: {kk}"
        return server.ask("KK " + kk[3:])
    finally:
        client.close()


def curl(port, user, password, path="/"):
    """`STATUS body` of one curl --ntlm request (a fresh connection each time)."""
    out = subprocess.run(
        ["curl", "-s", "--max-time", "15", "--ntlm", "-u", f"CORP\\{user}:{password}",
         "-w", "%{http_code} ", "-o", "/dev/stderr", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=30)
    return (out.stdout + out.stderr).strip()


def start_http(binary):
    """examples/http_server or axum_server --dc on a free port; returns (process, port)."""
    proc = subprocess.Popen([
        binary, "--listen", "127.0.0.1:0", "--level", "5", "--dc", "127.0.0.1",
        "--machine-account", "CORP\\WEB1$", "--machine-password-env", "NTLM_DC_MACHINE_PASSWORD",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "listening on http://" in line:
            return proc, int(line.split("http://", 1)[1].split()[0].rsplit(":", 1)[1])
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{binary} did not start")


def helper(level):
    return peers.Peer([
        NTLM, "squid-helper", "--level", str(level), "--dc", "127.0.0.1",
        "--machine-account", "CORP\\WEB1$", "--machine-password-env", "NTLM_DC_MACHINE_PASSWORD",
        "--dc-timeout", "3",
    ])


if __name__ == "__main__":
    for d in ("lock", "state", "cache", "private"):
        os.makedirs(os.path.join(WORK, "samba", d), exist_ok=True)
    v2 = peers.smb_conf("client-default.conf")
    v1 = peers.smb_conf("client-v1.conf", "client ntlmv2 auth = no\n")
    server = helper(3)
    # Each HTTP server with the user whose wrong password it checks is counted.
    https = [(name, *start_http(os.environ[env]), wrong_user) for name, env, wrong_user in
             (("http_server", "HTTP_SERVER", "ivy"), ("axum_server", "AXUM_SERVER", "jack"))]
    row("ntlm_auth alice, right password -> ours L3 --dc", logon(server, v2, "alice", "Alice-Pass-1"),
        "AF CORP\\alice")
    for name, _, port, user in https:
        row(f"curl --ntlm alice, right password -> {name} L5 --dc",
            curl(port, "alice", "Alice-Pass-1"), "200 authenticated as CORP\\alice")
        before = dc("show", user, "badPwdCount")
        row(f"curl --ntlm {user}, wrong password -> {name} --dc", curl(port, user, "wrong"), "401")
        row(f"  {user}'s badPwdCount before -> after",
            f"{before} -> {dc('show', user, 'badPwdCount')}", "0 -> 1")
    before = dc("show", "henry", "badPwdCount")
    row("ntlm_auth henry, wrong password -> ours L3 --dc", logon(server, v2, "henry", "wrong"),
        "NA NT_STATUS_LOGON_FAILURE")
    row("  henry's badPwdCount before -> after", f"{before} -> {dc('show', 'henry', 'badPwdCount')}",
        "0 -> 1")
    dc("stop")
    try:
        row("DC stopped: ntlm_auth alice -> ours L3 --dc", logon(server, v2, "alice", "Alice-Pass-1"),
            "BH DC unavailable")
        for name, _, port, _ in https:
            row(f"DC stopped: curl --ntlm alice -> {name} --dc",
                curl(port, "alice", "Alice-Pass-1"), "503")
    finally:
        dc("start")
    deadline, result = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        result = logon(server, v2, "alice", "Alice-Pass-1")
        if not result.startswith("BH"):
            break
        time.sleep(0.5)
    row("DC started again: same helper process", result, "AF CORP\\alice")
    for name, http, port, _ in https:
        row(f"DC started again: same {name} process", curl(port, "alice", "Alice-Pass-1"),
            "200 authenticated as CORP\\alice")
        if name == "axum_server":
            # The layer's metrics count the DC's refusal and the unavailable DC apart.
            metrics = curl(port, "alice", "Alice-Pass-1", "/metrics")
            for rule in ("refused by the DC", "DC unavailable"):
                line = next((l for l in metrics.splitlines() if f'rule="{rule}"' in l), "missing")
                row(f"  axum_server /metrics: {rule}", line.split()[-1], "1")
        http.kill()
        http.wait()
    print("|   helper stderr:", " / ".join(server.close().strip().splitlines()[-3:]))
    server = helper(5)
    row("ntlm_auth NTLMv1-ESS -> ours L5 --dc (no DC call)", logon(server, v1, "alice", "Alice-Pass-1"),
        "NA NTLMv1-ESS refused by server level 5")
    server.close()
    sys.exit(1 if failures else 0)
