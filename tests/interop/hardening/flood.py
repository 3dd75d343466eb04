#!/usr/bin/env python3
"""Availability under load (issue 11, items 1 and 2), against the real binaries:

1. HTTP: N NEGOTIATEs pipelined on one connection to `http_server`; `curl --ntlm` with the
   right password must get 200 during the flood and right after it.
2. Squid helper: N `YR` lines into one `ntlm squid-helper`; a legitimate YR/KK exchange
   (tokens from `ntlm client-helper`) must get `AF` in the middle and right after.
3. Descriptors: `http_server` under `prlimit --nofile=64:64`, 200 idle connections held;
   the server keeps running, curl gets 200 while they are held and after they go away.

    flood.py HTTP_SERVER NTLM_BIN USERS_FILE N_HTTP N_HELPER

Every step is bounded in time; every process started is stopped. Prints one line of
figures per step; exits 1 when a check fails.
"""
import os, socket, subprocess, sys, threading, time

server_bin, ntlm_bin, users = sys.argv[1:4]
n_http, n_helper = int(sys.argv[4]), int(sys.argv[5])
env = dict(os.environ, NTLM_FLOOD_PASSWORD="Secret1")
failures = []
started = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(prefix=()):
    port = free_port()
    log = open(f"{os.environ.get('TMPDIR', '/tmp')}/hardening-server-{port}.log", "w")
    p = subprocess.Popen([*prefix, server_bin, "--listen", f"127.0.0.1:{port}", "--users",
                          users, "--level", "3"], stderr=log)
    started.append(p)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("http_server did not start")


def curl(port):
    t = time.monotonic()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                        "10", "--ntlm", "-u", "CORP\\alice:Secret1", f"http://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=20)
    return r.stdout.strip(), time.monotonic() - t


class ClientHelper:
    """Our ntlmssp-client-1 helper: NEGOTIATE and AUTHENTICATE tokens for alice."""

    def __init__(self):
        self.p = subprocess.Popen([ntlm_bin, "client-helper", "--level", "3", "--user",
                                   "CORP\\alice", "--password-env", "NTLM_FLOOD_PASSWORD"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=env)
        started.append(self.p)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()


def http_flood(n):
    proc, port = start_server()
    negotiate = ClientHelper().ask("YR").split()[1]
    request = (f"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: NTLM {negotiate}\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30)

    def writer():
        sent = 0
        while sent < n:
            batch = min(1000, n - sent)
            s.sendall(request * batch)
            sent += batch

    w = threading.Thread(target=writer, daemon=True)
    t0 = time.monotonic()
    w.start()
    buf, answered, challenges, during = b"", 0, 0, None
    marker = b"authentication required\n"
    curl_thread = None
    while answered < n:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
        parts = buf.split(marker)
        buf = parts.pop()
        for part in parts:
            answered += 1
            if b"ntlm tlrmtvntuaaca" in part.lower():
                challenges += 1
        if during is None and answered >= n // 2:
            during = {}
            curl_thread = threading.Thread(target=lambda: during.update(r=curl(port)))
            curl_thread.start()
    elapsed = time.monotonic() - t0
    curl_thread.join(30)
    after = curl(port)
    s.close()
    check(answered == n and challenges == n,
          f"http flood: {challenges}/{n} NEGOTIATEs on one connection got a CHALLENGE "
          f"({elapsed:.1f} s, {n / elapsed:.0f}/s)")
    code, t = during.get("r", ("none", 0))
    check(code == "200", f"http flood: curl --ntlm during the flood: {code} in {t * 1000:.0f} ms")
    check(after[0] == "200", f"http flood: curl --ntlm right after: {after[0]} in {after[1] * 1000:.0f} ms")
    check(proc.poll() is None, "http flood: http_server still running")
    proc.terminate()
    proc.wait(10)


def helper_flood(n):
    helper = subprocess.Popen([ntlm_bin, "squid-helper", "--level", "3", "--users", users],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    started.append(helper)
    client = ClientHelper()
    yr = "YR " + client.ask("YR").split()[1] + "\n"

    def flood(count):
        w = threading.Thread(target=lambda: (helper.stdin.write(yr * count), helper.stdin.flush()),
                             daemon=True)
        w.start()
        tt = sum(helper.stdout.readline().startswith("TT ") for _ in range(count))
        w.join(30)
        return tt

    def logon():
        t = time.monotonic()
        negotiate = client.ask("YR").split()[1]
        helper.stdin.write(f"YR {negotiate}\n")
        helper.stdin.flush()
        challenge = helper.stdout.readline().split()
        authenticate = client.ask(f"TT {challenge[1]}").split()[1]
        helper.stdin.write(f"KK {authenticate}\n")
        helper.stdin.flush()
        return helper.stdout.readline().strip(), time.monotonic() - t

    t0 = time.monotonic()
    first = flood(n // 2)
    during = logon()
    second = flood(n - n // 2)
    elapsed = time.monotonic() - t0
    after = logon()
    check(first + second == n, f"squid-helper flood: {first + second}/{n} YR lines got TT "
          f"({elapsed:.1f} s, {n / elapsed:.0f}/s)")
    check(during[0] == "AF CORP\\alice", f"squid-helper flood: logon during: {during[0]!r} in {during[1] * 1000:.0f} ms")
    check(after[0] == "AF CORP\\alice", f"squid-helper flood: logon right after: {after[0]!r} in {after[1] * 1000:.0f} ms")
    helper.stdin.close()
    helper.wait(10)


def descriptor_limit():
    proc, port = start_server(prefix=("prlimit", "--nofile=64:64"))
    held = []
    for _ in range(200):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    time.sleep(1)
    during = curl(port)
    alive = proc.poll() is None
    for c in held:
        c.close()
    time.sleep(0.5)
    after = curl(port)
    check(alive and proc.poll() is None,
          f"prlimit 64: http_server still running with {len(held)} idle connections held")
    check(during[0] == "200", f"prlimit 64: curl --ntlm while they are held: {during[0]} in {during[1] * 1000:.0f} ms")
    check(after[0] == "200", f"prlimit 64: curl --ntlm after they went away: {after[0]} in {after[1] * 1000:.0f} ms")
    proc.terminate()
    proc.wait(10)


try:
    http_flood(n_http)
    helper_flood(n_helper)
    descriptor_limit()
finally:
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()
sys.exit(1 if failures else 0)
