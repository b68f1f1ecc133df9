#!/usr/bin/env python3
"""bench/lib/neglookup.py DIR N - stat N names that do not exist under DIR.

The names are spread over DIR/data/*/ (missing-I.dat); the same N names are
looked up twice.  Prints "COLD WARM": the seconds of each pass.
"""
import os, sys, time

root, n = sys.argv[1], int(sys.argv[2])
dirs = sorted(os.listdir(os.path.join(root, "data")))
names = [os.path.join(root, "data", dirs[i % len(dirs)], "missing-%d.dat" % i) for i in range(n)]
times = []
for _ in range(2):
    t0 = time.perf_counter()
    for p in names:
        try:
            os.stat(p)
        except FileNotFoundError:
            pass
        else:
            sys.exit("neglookup: %s exists" % p)
    times.append(time.perf_counter() - t0)
print("%.6f %.6f" % tuple(times))
