#!/usr/bin/env python3
"""Self-check of pyspnego_peer.py: pyspnego client driver <-> pyspnego server driver.

Usage (with the venv python from setup-pyspnego.sh):
    self_check.py [--protocol ntlm|negotiate|both] [--password PW] [--verbose]

For each (client LM_COMPAT_LEVEL, server LM_COMPAT_LEVEL) in 0..5 x 0..5 it runs
the handshake through two driver processes, then compares the exported session
keys and exercises WRAP/UNWRAP and SIGN/VERIFY in both directions (twice, so the
sequence numbers / RC4 streams advance). Prints a matrix:
    ok    handshake, equal session keys, all wrap/sign checks passed
    KEY   handshake completed but the session keys differ
    MSG   equal keys but a wrap/unwrap/sign/verify check failed
    rej   the server (or client) refused the handshake
Not used by CI.
"""

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "pyspnego_peer.py")
TIMEOUT = 20.0


class Peer:
    def __init__(self, role, env, extra):
        self.role = role
        self.p = subprocess.Popen(
            [sys.executable, PEER, role] + extra,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True, bufsize=1,
        )
        # A reader thread, since select() cannot see lines already buffered
        # by the TextIOWrapper (e.g. TOKEN and DONE arriving in one read).
        self.lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def recv(self):
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise TimeoutError("%s peer silent for %ss" % (self.role, TIMEOUT))
        if line is None:
            raise EOFError("%s peer closed stdout: %s" % (self.role, self.p.stderr.read().strip()[-300:]))
        return line

    def close(self):
        try:
            if self.p.poll() is None:
                self.send("QUIT")
                self.p.stdin.close()
            self.p.wait(timeout=TIMEOUT)
        except Exception:
            self.p.kill()
            self.p.wait()
        for f in (self.p.stderr,):
            try:
                f.close()
            except Exception:
                pass


def parse_done(line):
    fields = {}
    for part in line.split(" ")[1:]:
        k, _, v = part.partition("=")
        fields[k] = v
    return fields


def handshake(client, server):
    """Relays tokens until both sides said DONE (or one said ERROR)."""
    done = {}
    # The client speaks first; afterwards whoever just received a token answers.
    speaker, listener = client, server
    while len(done) < 2:
        line = speaker.recv()
        if line.startswith("ERROR"):
            return None, "%s: %s" % (speaker.role, line)
        if line.startswith("DONE"):
            done[speaker.role] = parse_done(line)
            if len(done) == 2:
                break
            # The other side may still owe a token, or its DONE.
            speaker, listener = listener, speaker
            continue
        if not line.startswith("TOKEN "):
            return None, "%s: unexpected %r" % (speaker.role, line)
        listener.send(line)
        if listener.role not in done:
            speaker, listener = listener, speaker
    return done, None


def request(peer, line):
    peer.send(line)
    ans = peer.recv()
    if not ans.startswith("OK"):
        raise RuntimeError("%s %s -> %s" % (peer.role, line.split(" ")[0], ans))
    return ans[3:]


def messages(client, server):
    import base64
    for rnd in range(2):
        for a, b in ((client, server), (server, client)):
            data = base64.b64encode(("hello %s round %d" % (a.role, rnd)).encode() * 3).decode()
            wrapped = request(a, "WRAP " + data)
            plain = request(b, "UNWRAP " + wrapped)
            if plain != data:
                raise RuntimeError("%s->%s unwrap gave different data" % (a.role, b.role))
            sig = request(a, "SIGN " + data)
            request(b, "VERIFY %s %s" % (data, sig))


def run_pair(clevel, slevel, protocol, userfile, password, verbose):
    base = dict(os.environ)
    base.pop("NTLM_PEER_DEBUG", None) if not verbose else None
    cenv = dict(base, LM_COMPAT_LEVEL=str(clevel), NTLM_PEER_USER="TESTDOM\\testuser",
                NTLM_PEER_PASSWORD=password, NETBIOS_COMPUTER_NAME="CLIENTWS")
    cenv.pop("NTLM_USER_FILE", None)
    senv = dict(base, LM_COMPAT_LEVEL=str(slevel), NTLM_USER_FILE=userfile)
    extra = ["--protocol", protocol, "--spn", "HTTP/server.example.com"]
    client = Peer("client", cenv, extra)
    server = Peer("server", senv, extra)
    try:
        done, err = handshake(client, server)
        if err:
            return "rej", err
        c, s = done["client"], done["server"]
        info = "flags c=%s s=%s user=%s\\%s" % (c["flags"], s["flags"], s["domain"], s["user"])
        if c["session_key"] != s["session_key"]:
            return "KEY", "%s keys c=%s s=%s" % (info, c["session_key"], s["session_key"])
        try:
            messages(client, server)
        except Exception as e:
            return "MSG", "%s: %s" % (info, e)
        return "ok", info
    except Exception as e:
        return "rej", "driver: %s: %s" % (type(e).__name__, e)
    finally:
        client.close()
        server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["ntlm", "negotiate", "both"], default="both")
    ap.add_argument("--password", default="Password01")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    protocols = ["ntlm", "negotiate"] if args.protocol == "both" else [args.protocol]
    with tempfile.TemporaryDirectory() as tmp:
        userfile = os.path.join(tmp, "users")
        with open(userfile, "w", encoding="utf-8") as f:
            f.write("# comment lines are ignored\n")
            f.write("TESTDOM:testuser:%s\n" % args.password)
        all_ok = True
        for protocol in protocols:
            results = {}
            for c in range(6):
                for s in range(6):
                    results[(c, s)] = run_pair(c, s, protocol, userfile, args.password, args.verbose)
            print("protocol=%s password=%r  (rows: client LM_COMPAT_LEVEL, cols: server)" % (protocol, args.password))
            print("      " + "".join("srv%-4d" % s for s in range(6)))
            for c in range(6):
                print("cli%d  " % c + "".join("%-7s" % results[(c, s)][0] for s in range(6)))
            print("details:")
            for (c, s), (res, why) in sorted(results.items()):
                print("  c%d s%d %-3s %s" % (c, s, res, why))
            print()
            all_ok &= all(r[0] in ("ok", "rej") for r in results.values())
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
