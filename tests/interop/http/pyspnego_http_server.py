#!/usr/bin/env python3
"""A small HTTP server that authenticates with pyspnego (NTLM and Negotiate).

Usage: NTLM_USER_FILE=users.txt pyspnego_http_server.py PORT

GET / answers 401 with `WWW-Authenticate: Negotiate` and `WWW-Authenticate: NTLM`
until a handshake on the connection completes, then 200 with
`authenticated as <principal> via <scheme>`. One security context per connection
(HTTP/1.1 keep-alive: the handler object lives as long as the connection).
Each completed handshake and each failure is logged to stderr.
"""
import base64
import http.server
import sys

import spnego


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.ctx = None
        self.scheme = None
        self.principal = None

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def initial(self):
        self.ctx = None
        self.send(401, "authentication required\n",
                  [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])

    def do_GET(self):
        auth = self.headers.get("Authorization")
        if not auth:
            if self.principal:
                return self.send(200, "authenticated as %s via %s\n" % (self.principal, self.scheme))
            return self.initial()
        scheme, _, token = auth.partition(" ")
        proto = {"ntlm": "ntlm", "negotiate": "negotiate"}.get(scheme.lower())
        if proto is None:
            sys.stderr.write("pyspnego-server: unsupported scheme %r\n" % scheme)
            return self.initial()
        try:
            raw = base64.b64decode(token)
            if self.ctx is None or self.scheme != scheme:
                self.ctx = spnego.server(protocol=proto)
                self.scheme = scheme
            out = self.ctx.step(raw)
        except Exception as e:  # noqa: BLE001 - every failure is a 401 with its reason logged
            sys.stderr.write("pyspnego-server: refused (%s): %s: %s\n" % (scheme, type(e).__name__, e))
            return self.initial()
        headers = [("WWW-Authenticate", "%s %s" % (scheme, base64.b64encode(out).decode()))] if out else []
        if not self.ctx.complete:
            return self.send(401, "continue\n", headers)
        self.principal = self.ctx.client_principal
        sys.stderr.write("pyspnego-server: authenticated %s via %s\n" % (self.principal, scheme))
        self.send(200, "authenticated as %s via %s\n" % (self.principal, scheme), headers)


if __name__ == "__main__":
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    sys.stderr.write("pyspnego-server: listening on 127.0.0.1:%d\n" % port)
    server.serve_forever()
