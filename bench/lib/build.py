#!/usr/bin/env python3
"""bench/lib/build.py DIR N - a "build": write N small files (1-4 KiB) in
DIR/obj/NN/ (100 per directory), like a compiler writing objects.  Prints the
seconds it took."""
import os, sys, time

root, n = sys.argv[1], int(sys.argv[2])
blob = bytes(range(256)) * 16
t0 = time.perf_counter()
for i in range(n):
    d = os.path.join(root, "obj", "%02d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "o%05d.o" % i), "wb") as f:
        f.write(blob[: 1024 + (i * 37) % 3072])
print("%.6f" % (time.perf_counter() - t0))
