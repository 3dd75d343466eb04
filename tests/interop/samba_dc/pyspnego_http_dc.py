#!/usr/bin/env python3
"""pyspnego (tests/interop/http/pyspnego_http_client.py) logging on over HTTP through
`examples/http_server --dc` (pass-through to the Samba AD DC that run.sh started), with NTLM
and with Negotiate (SPNEGO wrapping NTLM), and curl --negotiate (MIT GSS-API with Debian's
gss-ntlmssp) when that mechanism is installed.

usage: pyspnego_http_dc.py   (environment: NTLM, HTTP_SERVER, WORK, DC_DIR,
                              NTLM_DC_MACHINE_PASSWORD)

For each client: a wrong password for alice gets 401 and is counted by the DC (badPwdCount
0 -> 1); then her right password gets 200 `authenticated as CORP\\alice` (for Negotiate, the
client accepts our final token: its mechListMIC is made with the DC's session key), and that
logon resets her badPwdCount to 0, so the lockout threshold (3) is never reached. Six more
Negotiate logons all complete (the session key the DC returns is right on every logon). Exits 1
when a case differs from its expectation.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
CLIENT = os.path.join(ROOT, "tests", "interop", "http", "pyspnego_http_client.py")
import squid_dc  # noqa: E402  (dc, row; its __main__ does not run)

dc, row = squid_dc.dc, squid_dc.row


def start_http(log):
    """examples/http_server --dc on a free port, its stderr in `log`; returns (process, port)."""
    proc = subprocess.Popen([
        os.environ["HTTP_SERVER"], "--listen", "127.0.0.1:0", "--level", "5", "--dc", "127.0.0.1",
        "--machine-account", "CORP\\WEB1$", "--machine-password-env", "NTLM_DC_MACHINE_PASSWORD",
    ], stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    for _ in range(200):
        with open(log) as f:
            for line in f:
                if "listening on http://" in line:
                    return proc, int(line.split("http://", 1)[1].split()[0].rsplit(":", 1)[1])
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("http_server did not start")


def last_status(text):
    """`STATUS body` of the last answer pyspnego_http_client.py printed."""
    lines = [line[len("status: "):] for line in text.splitlines() if line.startswith("status: ")]
    return lines[-1] if lines else "no answer: " + " / ".join(text.strip().splitlines()[-2:])


def pyspnego(vpy, port, proto, password):
    out = subprocess.run([vpy, CLIENT, "127.0.0.1", str(port), "CORP\\alice", password, proto],
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    return last_status(text), "context complete: True" in text


def curl_negotiate(port, password):
    users = os.path.join(os.environ["WORK"], "gss-users.txt")
    with open(users, "w") as f:
        f.write(f"CORP:alice:{password}\n")
    out = subprocess.run(
        ["curl", "-s", "--max-time", "15", "--negotiate", "-u", ":", "-w", "%{http_code} ",
         "-o", "/dev/stderr", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "NTLM_USER_FILE": users})
    os.unlink(users)
    return (out.stdout + out.stderr).strip()


def wrong_then_right(client, logon):
    """alice's wrong password (401, counted) then her right one (200, count reset)."""
    before = dc("show", "alice", "badPwdCount")
    row(f"{client} alice, wrong password -> http_server --dc", logon("wrong"), "401")
    after = dc("show", "alice", "badPwdCount")
    row(f"{client} alice -> http_server L5 --dc", logon("Alice-Pass-1"),
        "200 authenticated as CORP\\alice")
    row("  alice's badPwdCount before -> wrong -> right",
        f"{before} -> {after} -> {dc('show', 'alice', 'badPwdCount')}", "0 -> 1 -> 0")


if __name__ == "__main__":
    setup = subprocess.run(["bash", os.path.join(ROOT, "tests", "interop", "setup-pyspnego.sh")],
                           capture_output=True, text=True, timeout=600, check=True)
    vpy = setup.stdout.strip().splitlines()[-1]
    log = os.path.join(os.environ["WORK"], "pyspnego_http_dc.log")
    http, port = start_http(log)
    try:
        for proto in ("ntlm", "negotiate"):
            complete = []

            def logon(password, proto=proto, complete=complete):
                status, done = pyspnego(vpy, port, proto, password)
                complete.append(done)
                return status

            wrong_then_right(f"pyspnego {proto}", logon)
            row(f"  pyspnego {proto}: client's context complete", str(complete[-1]), "True")
        # Logons over every secure channel the server holds: the DC encrypts the session key
        # with its newest channel's key for WEB1$, so a second channel breaks the MIC.
        ok = sum(pyspnego(vpy, port, "negotiate", "Alice-Pass-1")[1] for _ in range(6))
        row("pyspnego negotiate alice 6 times: context complete", f"{ok}/6", "6/6")
        if os.path.exists("/etc/gss/mech.d/mech.ntlmssp.conf"):
            wrong_then_right("curl --negotiate (gss-ntlmssp)", lambda pw: curl_negotiate(port, pw))
        else:
            print("| curl --negotiate: skipped (gss-ntlmssp not installed)")
    finally:
        http.kill()
        http.wait()
        if squid_dc.failures:
            with open(log) as f:
                print("|   http_server stderr:", " / ".join(f.read().strip().splitlines()[-4:]))
    sys.exit(1 if squid_dc.failures else 0)
