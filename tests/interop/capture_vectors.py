#!/usr/bin/env python3
"""Captures NTLM exchanges between real peers and this crate into test-vectors/peers.toml.

usage: tests/interop/capture_vectors.py NTLM_BIN PYSPNEGO_PYTHON > test-vectors/peers.toml

Peers as clients, our `ntlm squid-helper` (level 3, domain CORP, computer NTLMSRV) as server:
  * pyspnego (its NTLM client at LM_COMPAT_LEVEL 0, 1, 2, 3),
  * Samba `ntlm_auth --helper-protocol=ntlmssp-client-1` (default smb.conf, and with
    `client ntlmv2 auth = no`),
  * curl `--ntlm` against a one-connection HTTP bridge to the same helper.
Our `ntlm client-helper` (level 3) as client, the peer as server:
  * pyspnego's NTLM server, Samba `ntlm_auth --helper-protocol=squid-2.5-ntlmssp`.

Each section records the three messages as hex, the credentials, and the verdict of the side
that verified the AUTHENTICATE. tests/interop_peers/peer_vectors.rs replays them. Every step is bounded
(10 s per line, 20 s per curl run); the script exits non-zero if any exchange fails.
Needs the Debian packages winbind and curl, and the venv of setup-pyspnego.sh.
"""

import base64
import http.server
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
NTLM, PYTHON = sys.argv[1], sys.argv[2]
WORK = tempfile.mkdtemp(prefix="ntlm-capture.")
os.environ.update(NTLM=NTLM, WORK=WORK)
sys.path.insert(0, os.path.join(HERE, "samba_squid"))
from peers import Peer, smb_conf  # noqa: E402  (reads NTLM and WORK at import)

DOMAIN, USER, PASSWORD = "CORP", "alice", "Secret1"
USERS = os.path.join(WORK, "users")
with open(USERS, "w") as f:
    f.write(f"{DOMAIN}:{USER}:{PASSWORD}\n")
for d in ("lock", "state", "cache", "private"):
    os.makedirs(os.path.join(WORK, "samba", d), exist_ok=True)

SERVER_ARGS = ["squid-helper", "--level", "3", "--users", USERS, "--domain", DOMAIN,
               "--computer", "NTLMSRV"]


def hexb64(token):
    return base64.b64decode(token).hex()


def our_server():
    return Peer([NTLM] + SERVER_ARGS)


def our_client():
    env = dict(os.environ, NTLM_PW=PASSWORD)
    return Peer([NTLM, "client-helper", "--level", "3", "--user", f"{DOMAIN}\\{USER}",
                 "--password-env", "NTLM_PW", "--workstation", "WS1"], env=env)


def expect(reply, prefix, who):
    if not reply.startswith(prefix):
        raise RuntimeError(f"{who}: {reply!r}, expected {prefix!r}")
    return reply[len(prefix):].strip()


def pyspnego(role, level=None):
    argv = [PYTHON, os.path.join(HERE, "pyspnego_peer.py"), role, "--protocol", "ntlm",
            "--workstation", "WS1"]
    if level is not None:
        argv += ["--lm-compat-level", str(level)]
    env = dict(os.environ, NTLM_USER_FILE=USERS, NTLM_PEER_USER=f"{DOMAIN}\\{USER}",
               NTLM_PEER_PASSWORD=PASSWORD)
    return Peer(argv, env=env)


def helper_client_to_our_server(client, first, extra):
    """A peer client speaking TOKEN/YR lines to our squid-helper. A pyspnego client's DONE
    line (with its ExportedSessionKey) goes into `extra` as peer_done."""
    server = our_server()
    try:
        neg = first(client)
        chal = expect(server.ask("YR " + neg), "TT ", "squid-helper")
        auth = client_reply(client, chal)
        if client.argv[0] == PYTHON:
            extra["peer_done"] = expect(client.read("DONE"), "DONE ", "pyspnego client")
        verdict = server.ask("KK " + auth)
        return neg, chal, auth, verdict
    finally:
        client.close()
        server.close()


def client_reply(client, chal):
    reply = client.ask(("TOKEN " if client.argv[0] == PYTHON else "TT ") + chal)
    for prefix in ("TOKEN ", "KK ", "AF "):
        if reply.startswith(prefix):
            return reply[len(prefix):].strip()
    raise RuntimeError(f"{client.argv[0]}: {reply!r}")


def first_pyspnego(client):
    return expect(client.read(), "TOKEN ", "pyspnego client")


def first_samba(client):
    return expect(client.ask("YR"), "YR ", "ntlm_auth client")


def our_client_to_server(server, yr_prefix, tt_prefix, kk_prefix):
    client = our_client()
    try:
        neg = expect(client.ask("YR"), "YR ", "client-helper")
        chal = expect(server.ask(yr_prefix + neg), tt_prefix, "peer server")
        auth = client_reply(client, chal)  # `AF <token>`, as ntlm_auth's client says it
        verdict = server.ask(kk_prefix + auth)
        return neg, chal, auth, verdict
    finally:
        client.close()
        server.close()


class Bridge(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 NTLM in front of our squid-helper, for curl; records the tokens."""
    protocol_version = "HTTP/1.1"
    tokens = []
    helper = None

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        status, header = 401, "NTLM"
        if auth.startswith("NTLM "):
            token = auth[5:].strip()
            self.tokens.append(token)
            if len(self.tokens) == 1:
                header = "NTLM " + expect(self.helper.ask("YR " + token), "TT ", "helper")
                self.tokens.append(header[5:])
            else:
                verdict = self.helper.ask("KK " + token)
                self.tokens.append(verdict)
                status = 200 if verdict.startswith("AF ") else 401
        body = b"ok\n" if status == 200 else b""
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", header)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def curl_exchange():
    Bridge.helper = our_server()
    Bridge.tokens = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Bridge)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        subprocess.run(["curl", "-sS", "--max-time", "20", "--ntlm", "-u",
                        f"{DOMAIN}\\{USER}:{PASSWORD}", "-o", "/dev/null", url],
                       check=True, timeout=30)
    finally:
        httpd.shutdown()
        Bridge.helper.close()
    if len(Bridge.tokens) != 4:
        raise RuntimeError(f"curl exchange incomplete: {Bridge.tokens!r}")
    return tuple(Bridge.tokens)


def version(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    return out.splitlines()[0].strip() if out else "?"


def emit(name, peer, role, neg, chal, auth, verdict, **extra):
    print(f"[{name}]")
    print(f'peer = "{peer}"')
    print(f'peer_role = "{role}"')
    for key, value in extra.items():
        print(f'{key} = "{value}"')
    print(f'verdict = "{verdict.replace(chr(92), "/")}"')
    print(f'negotiate = "{hexb64(neg)}"')
    print(f'challenge = "{hexb64(chal)}"')
    print(f'authenticate = "{hexb64(auth)}"')
    print()


def main():
    pyspnego_version = subprocess.run(
        [PYTHON, "-c", "import importlib.metadata as m; print(m.version('pyspnego'))"],
        capture_output=True, text=True, timeout=20).stdout.strip()
    samba = version(["ntlm_auth", "--version"])
    curl = version(["curl", "--version"]).split(" (")[0]
    print("# NTLM exchanges captured from real peers by tests/interop/capture_vectors.py;")
    print("# replayed by tests/interop_peers/peer_vectors.rs. Credentials: CORP\\alice, password Secret1.")
    print("# peer_role = client: the peer sent NEGOTIATE and AUTHENTICATE, our squid-helper")
    print("# (level 3, --domain CORP --computer NTLMSRV) sent the CHALLENGE and the verdict.")
    print("# peer_role = server: our client-helper (level 3, workstation WS1) sent NEGOTIATE and")
    print("# AUTHENTICATE, the peer sent the CHALLENGE and the verdict.")
    print()
    for level in (0, 1, 2, 3):
        extra = {"peer_level": level}
        ex = helper_client_to_our_server(pyspnego("client", level), first_pyspnego, extra)
        emit(f"pyspnego_client_l{level}", f"pyspnego {pyspnego_version}", "client", *ex,
             **extra)
    for variant, extra in (("default", ""), ("ntlmv2_off", "client ntlmv2 auth = no\n")):
        conf = smb_conf(f"client-{variant}.conf", extra)
        client = Peer(["ntlm_auth", f"--configfile={conf}", "--helper-protocol=ntlmssp-client-1",
                       f"--username={USER}", f"--domain={DOMAIN}", f"--password={PASSWORD}"])
        ex = helper_client_to_our_server(client, first_samba, {})
        emit(f"samba_client_{variant}", f"Samba ntlm_auth {samba} ({variant} smb.conf)",
             "client", *ex)
    neg, chal, auth, verdict = curl_exchange()
    emit("curl_client", curl, "client", neg, chal, auth, verdict)
    ex = our_client_to_server(pyspnego("server"), "TOKEN ", "TOKEN ", "TOKEN ")
    emit("pyspnego_server", f"pyspnego {pyspnego_version}", "server", *ex)
    conf = smb_conf("server.conf")
    server = Peer(["ntlm_auth", f"--configfile={conf}", "--helper-protocol=squid-2.5-ntlmssp",
                   f"--password={PASSWORD}"])
    ex = our_client_to_server(server, "YR ", "TT ", "KK ")
    emit("samba_server", f"Samba ntlm_auth {samba}", "server", *ex)


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", WORK], check=False)
