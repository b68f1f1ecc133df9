#!/usr/bin/env python3
"""bench/lib/netprobe.py MODE HOST PORT N - one network measurement, run the
same on the host and in a cage (bench/network).  Prints one number.

  (HOST is resolved once, before the timing.)
  connect   N times: connect, read the server's first line (the echo
            server's greeting), close; the median, in ms
  ttfb      N times: connect, GET /hello.txt, read the first byte; the
            median, in ms
  parallel  N GETs of /hello.txt at once, one thread each; the wall time
            of all, in ms (every reply checked)"""
import socket
import statistics
import sys
import threading
import time


def connect_once(host, port):
    t = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as s:
        f = s.makefile("rb")
        if not f.readline().startswith(b"SSH-2.0-"):
            raise SystemExit("no greeting")
    return time.perf_counter() - t


def get(host, port, first_byte_only):
    t = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if first_byte_only:
            if not s.recv(1):
                raise SystemExit("no reply")
            return time.perf_counter() - t
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        if b"hello from upstream" not in data:
            raise SystemExit("bad reply")
    return time.perf_counter() - t


def main():
    mode, name, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # (resolved once: what is timed is the connection, on both sides; in a
    # cage the name's made-up address is stable)
    host = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    if mode == "connect":
        print("%.3f" % (statistics.median(connect_once(host, port) for _ in range(n)) * 1000))
    elif mode == "ttfb":
        print("%.3f" % (statistics.median(get(host, port, True) for _ in range(n)) * 1000))
    elif mode == "parallel":
        errors = []

        def one():
            try:
                get(host, port, False)
            except BaseException as e:  # noqa: BLE001 - any failure fails the run
                errors.append(e)

        t = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise SystemExit("%d of %d failed: %r" % (len(errors), n, errors[0]))
        print("%.3f" % ((time.perf_counter() - t) * 1000))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
