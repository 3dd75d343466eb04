#!/usr/bin/env python3
"""Load for tests/interop/proxy/bench.sh.

  load.py small PROXY_PORT URL SECONDS CLIENTS
      CLIENTS threads, each sending `GET URL` through the proxy on a NEW connection per
      request (as curl does), for SECONDS; prints "<ok> <failed> <requests/s>".
"""
import socket
import sys
import threading
import time


def one(port, url, host):
    """One request as curl sends it through a proxy (keep-alive asked for, then the
    connection closed after the response), on a new connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(
            f"GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: load.py\r\n"
            "Accept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None:
            return False
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                return False
            body += chunk
        return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    finally:
        s.close()


def small(port, url, seconds, clients):
    host = url.split("/")[2]
    ok = [0] * clients
    bad = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i):
        while time.monotonic() < stop:
            try:
                if one(port, url, host):
                    ok[i] += 1
                else:
                    bad[i] += 1
            except OSError:
                bad[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    print(f"{sum(ok)} {sum(bad)} {sum(ok) / elapsed:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "small":
        small(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
