#!/usr/bin/env python3
"""Captures the NTLM messages of two old clients for test-vectors/old-clients.toml.

GNU wget (Debian's, NTLM built in) is pointed at a loopback HTTP server (this script) that
answers its NEGOTIATE with a fixed CHALLENGE: OEM, no extended session security, server
challenge 0123456789abcdef, target name CORP, no target info. The `ntlm-client` npm
package (0.1.1) gets the same CHALLENGE through its own decodeType2Message and answers with
createType3Message, its NTLMv1 path, which writes MS-NLMP's earlier 52-byte AUTHENTICATE.

Usage: capture.py NODE_MODULES_DIR   (a directory where `npm install ntlm-client@0.1.1` ran)
Prints TOML sections on stdout. Every step is bounded in time; the server is stopped.
"""
import base64
import http.server
import json
import socket
import struct
import subprocess
import sys
import threading

SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
TARGET = b"CORP"
# NEGOTIATE_OEM | REQUEST_TARGET | NEGOTIATE_NTLM | TARGET_TYPE_DOMAIN
FLAGS = 0x00000002 | 0x00000004 | 0x00000200 | 0x00010000


def challenge() -> bytes:
    header = b"NTLMSSP\0" + struct.pack("<I", 2)
    header += struct.pack("<HHI", len(TARGET), len(TARGET), 48)
    header += struct.pack("<I", FLAGS) + SERVER_CHALLENGE + bytes(8)
    header += struct.pack("<HHI", 0, 0, 48 + len(TARGET))
    return header + TARGET


seen = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, header=None, body=b""):
        self.send_response(status)
        if header:
            self.send_header("WWW-Authenticate", header)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("NTLM "):
            return self.reply(401, "NTLM")
        token = base64.b64decode(auth[5:])
        seen.append(token)
        if token[8] == 1:
            return self.reply(401, "NTLM " + base64.b64encode(challenge()).decode())
        return self.reply(200, body=b"ok")

    def log_message(self, *args):
        pass


def section(name, peer, negotiate, authenticate, note):
    print(f"[{name}]")
    print(f"peer = {json.dumps(peer)}")
    print(f"note = {json.dumps(note)}")
    print('password = "Secret1"')
    print(f'server_challenge = "{SERVER_CHALLENGE.hex()}"')
    print(f'negotiate = "{negotiate.hex()}"')
    print(f'challenge = "{challenge().hex()}"')
    print(f'authenticate = "{authenticate.hex()}"')
    print()


def main():
    modules = sys.argv[1]
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        version = subprocess.run(["wget", "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.splitlines()[0]
        subprocess.run(["wget", "-q", "-O", "/dev/null", "--user", "CORP\\alice",
                        "--password", "Secret1", f"http://127.0.0.1:{port}/"],
                       check=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    negotiate = next(t for t in seen if t[8] == 1)
    authenticate = next(t for t in seen if t[8] == 3)
    section("wget", version, negotiate, authenticate,
            "wget --user 'CORP\\alice' --password Secret1 against the fixed CHALLENGE")

    script = """
const ntlm = require('ntlm-client/lib/ntlm');
const t1 = ntlm.createType1Message('WS', '');
const t2 = ntlm.decodeType2Message('NTLM ' + process.argv[1]);
const t3 = ntlm.createType3Message(t2, 'alice', 'Secret1', 'WS', 'CORP');
console.log(t1.slice(5)); console.log(t3.slice(5));
"""
    # Node 17+ needs the legacy provider for the DES of ntlm-client's LM response.
    out = subprocess.run(["node", "--openssl-legacy-provider", "-e", script,
                          base64.b64encode(challenge()).decode()],
                         cwd=modules, capture_output=True, text=True, timeout=30, check=True)
    t1, t3 = (base64.b64decode(line) for line in out.stdout.split())
    section("ntlm_client_npm", "ntlm-client 0.1.1 (npm), NTLMv1 path", t1, t3,
            "createType1Message('WS', '') then createType3Message(challenge, 'alice', "
            "'Secret1', 'WS', 'CORP'): the 52-byte header")


if __name__ == "__main__":
    main()
