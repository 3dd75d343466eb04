#!/usr/bin/env python3
"""Serial Squid-protocol logons per second of one verifying helper (squid-2.5-ntlmssp:
YR -> TT, KK -> AF), the NTLM messages made by one `ntlm client-helper` process: the same
client driver for Samba's ntlm_auth through winbind and for `ntlm squid-helper --dc`.

usage: bench_driver.py NTLM N -- HELPER_COMMAND...
       bench_driver.py --measure N -- COMMAND...  (COMMAND's output, then the CPU per
                                                   logon of COMMAND and of the DC)
       (environment: NTLM_DC_USER_PASSWORD; DC_PID, the samba master's PID)
Prints `logons/s helper-CPU-ms/logon DC-CPU-ms/logon client-CPU-ms/logon`: user+sys time
over the timed logons, from /proc, of the helper, of the DC (samba and every descendant,
winbindd included) and of the client helper. Exits 1 on the first logon that is not AF.
"""

import os
import subprocess
import sys
import time


def ask(proc, line):
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu(pid):
    """user+sys seconds of `pid` and its children that it waited for."""
    return sum(int(x) for x in stat(pid)[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root):
    """cpu() of `root` and of every living descendant."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(stat(entry)[1])
            except (OSError, IndexError, ValueError):
                pass
    total = 0.0
    for pid in parents:
        p, depth = pid, 0
        while p not in (0, 1, root) and depth < 64:
            p, depth = parents.get(p, 0), depth + 1
        if p == root:
            try:
                total += cpu(pid)
            except OSError:
                pass
    return total


def measure(n, command):
    """Runs `command` (which makes `n` logons) and prints its output, then the CPU per
    logon of the command and of the DC (as above: user+sys, ms per logon)."""
    dc = int(os.environ["DC_PID"])
    before = tree_cpu(dc)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"{command[0]} failed: {out}")
    sys.stdout.write(out)
    own = (usage.ru_utime + usage.ru_stime) * 1000 / n
    print(f"cpu ms/logon: bench {own:.2f} DC {(tree_cpu(dc) - before) * 1000 / n:.2f}")


def main():
    if sys.argv[1] == "--measure":
        return measure(int(sys.argv[2]), sys.argv[sys.argv.index("--") + 1:])
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
    dc = int(os.environ["DC_PID"])
    before = (cpu(server.pid), tree_cpu(dc), cpu(client.pid))
    t0 = time.monotonic()
    for _ in range(n):
        logon()
    elapsed = time.monotonic() - t0
    after = (cpu(server.pid), tree_cpu(dc), cpu(client.pid))
    per = [f"{(a - b) * 1000 / n:.2f}" for a, b in zip(after, before)]
    print(f"{n / elapsed:.0f}", *per)
    for p in (client, server):
        p.stdin.close()
        p.wait(timeout=10)


if __name__ == "__main__":
    main()
