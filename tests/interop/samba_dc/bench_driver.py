#!/usr/bin/env python3
"""Serial Squid-protocol logons per second of one verifying helper (squid-2.5-ntlmssp:
YR -> TT, KK -> AF), the NTLM messages made by one `ntlm client-helper` process: the same
client driver for Samba's ntlm_auth through winbind and for `ntlm squid-helper --dc`.

usage: bench_driver.py NTLM N -- HELPER_COMMAND...   (environment: NTLM_DC_USER_PASSWORD)
Prints `logons/s CPU_S` (CPU: the helper's user+sys over the timed logons, from /proc).
Exits 1 on the first logon that is not AF.
"""

import os
import subprocess
import sys
import time


def ask(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def cpu(pid):
    """user+sys seconds of `pid` and its children that it waited for."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def main():
    ntlm, n = sys.argv[1], int(sys.argv[2])
    helper = sys.argv[sys.argv.index("--") + 1:]
    client = subprocess.Popen(
        [ntlm, "client-helper", "--level", "3", "--user", "CORP\\alice",
         "--password-env", "NTLM_DC_USER_PASSWORD", "--workstation", "PC1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server = subprocess.Popen(helper, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)

    def logon():
        tt = ask(server, ask(client, "YR"))
        if not tt.startswith("TT "):
            sys.exit(f"helper answered YR with {tt!r}")
        auth = ask(client, tt)
        af = ask(server, "KK " + auth[3:])
        if not af.startswith("AF "):
            sys.exit(f"helper answered KK with {af!r}")

    for _ in range(20):  # warm-up: the secure channel, winbindd's connections
        logon()
    c0, t0 = cpu(server.pid), time.monotonic()
    for _ in range(n):
        logon()
    elapsed, used = time.monotonic() - t0, cpu(server.pid) - c0
    print(f"{n / elapsed:.0f} {used:.2f}")
    for p in (client, server):
        p.stdin.close()
        p.wait(timeout=10)


if __name__ == "__main__":
    main()
