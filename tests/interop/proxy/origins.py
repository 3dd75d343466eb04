#!/usr/bin/env python3
"""Local origins for tests/interop/proxy/run.sh (loopback only).

  origins.py tls PORT DIR CERT KEY   serve DIR over HTTPS (HTTP/1.1) until killed
  origins.py http PORT DIR           serve DIR over HTTP/1.1 until killed
                                     (POST answers "<length> <sha256>" of the body)
  origins.py index DIR               build a simple index (PEP 503) with one tiny wheel
"""
import base64
import hashlib
import http.server
import os
import ssl
import sys
import zipfile


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go in two writes: without this, Nagle holds the body until the
    # (delayed, ~40 ms) ACK of the headers on a kept-alive connection from Squid.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        """Answers with the length and SHA-256 of the body (Content-Length or chunked)."""
        digest = hashlib.sha256()
        size = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = self.rfile.read(n)
                self.rfile.readline()
                digest.update(chunk)
                size += len(chunk)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                left -= len(chunk)
        body = f"{size} {digest.hexdigest()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(port, directory, cert=None, key=None):
    handler = lambda *a, **k: Handler(*a, directory=directory, **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler)
    server.daemon_threads = True
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def index(directory):
    name, version = "ntlmproxyprobe", "0.1"
    wheel = f"{name}-{version}-py3-none-any.whl"
    files = {
        f"{name}/__init__.py": b"VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            "Summary: a wheel built by the ntlm proxy interop test\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: ntlm-interop\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ).encode(),
    }
    record = "".join(record_line(n, d) for n, d in files.items())
    record += f"{name}-{version}.dist-info/RECORD,,\n"
    files[f"{name}-{version}.dist-info/RECORD"] = record.encode()
    os.makedirs(os.path.join(directory, "packages"), exist_ok=True)
    path = os.path.join(directory, "packages", wheel)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(os.path.join(directory, "simple", name), exist_ok=True)
    with open(os.path.join(directory, "simple", "index.html"), "w") as f:
        f.write(f'<!DOCTYPE html><html><body><a href="{name}/">{name}</a></body></html>\n')
    with open(os.path.join(directory, "simple", name, "index.html"), "w") as f:
        f.write(
            f'<!DOCTYPE html><html><body><a href="../../packages/{wheel}#sha256={sha}">{wheel}</a>'
            "</body></html>\n"
        )


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "tls":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "http":
        serve(sys.argv[2], sys.argv[3])
    elif cmd == "index":
        index(sys.argv[2])
    else:
        sys.exit(__doc__)
