#!/usr/bin/env python3
"""pyspnego's Negotiate (or NTLM) client over one raw http.client connection.

Usage: pyspnego_http_client.py HOST PORT 'DOMAIN\\user' PASSWORD [negotiate|ntlm]

Prints each status line; exits 0 when the final answer is 200 and (Negotiate) the
server's final token completed the context, 1 otherwise.
"""
import base64
import http.client
import sys

import spnego

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
proto = sys.argv[5] if len(sys.argv) > 5 else "negotiate"
scheme = "Negotiate" if proto == "negotiate" else "NTLM"

conn = http.client.HTTPConnection(host, port, timeout=10)
conn.request("GET", "/")
r = conn.getresponse()
r.read()
print("first:", r.status, r.getheader("WWW-Authenticate"))
if r.status != 401:
    sys.exit(1)
offered = [v.split(" ")[0].lower() for v in r.headers.get_all("WWW-Authenticate")]
if scheme.lower() not in offered:
    print("server did not offer", scheme, offered)
    sys.exit(1)
ctx = spnego.client(user, password, hostname=host, service="HTTP", protocol=proto)
token = ctx.step()
for _ in range(4):
    conn.request("GET", "/", headers={"Authorization": "%s %s" % (scheme, base64.b64encode(token).decode())})
    r = conn.getresponse()
    body = r.read().decode()
    print("status:", r.status, body.strip())
    header = r.getheader("WWW-Authenticate") or ""
    in_token = None
    if header.lower().startswith(scheme.lower() + " "):
        in_token = base64.b64decode(header.split(" ", 1)[1])
    if r.status == 200:
        if in_token and not ctx.complete:
            ctx.step(in_token)
        print("context complete:", ctx.complete)
        sys.exit(0 if ctx.complete else 1)
    if r.status != 401 or in_token is None:
        sys.exit(1)
    token = ctx.step(in_token)
sys.exit(1)
