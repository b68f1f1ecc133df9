#!/usr/bin/env python3
"""bench/lib/gen-closure.py OUT SCALE - generate the benchmark closure's folder.

OUT receives (deterministic content, seed 5):
  big.bin            one large file (BIG_MIB MiB)
  data/dNNNN/fNN.dat SMALL small files, 1-16 KiB (log-uniform), in DIRS dirs
  lib/python3/...    a python-stdlib-like tree: top-level modules, deep
                     packages (up to 4 levels) with __init__.py and many .py
  bin/busybox, bin/true, bin/sh   (a static busybox and two applet links)
SCALE is "full" or "quick".  Prints the number of files and directories.

bench/lib/gen-closure.py OUT inodes-SCALE - a tree of many empty files
(100,000 in 1,000 directories; quick: 10,000 in 100), for the daemon's RSS.
"""
import os, random, shutil, sys

SCALES = {
    # big MiB, small files, small dirs, python packages
    "full": (256, 24000, 1500, 130),
    "quick": (32, 6000, 400, 30),
}

def main():
    out, scale = sys.argv[1], sys.argv[2]
    if scale.startswith("inodes-"):
        n = 100000 if scale == "inodes-full" else 10000
        for i in range(n):
            d = os.path.join(out, "d%03d" % (i // 100))
            if i % 100 == 0:
                os.makedirs(d)
            open(os.path.join(d, "e%02d" % (i % 100)), "w").close()
        print("files=%d dirs=%d" % (n, n // 100 + 1))
        return
    big_mib, nsmall, ndirs, npkg = SCALES[scale]
    rng = random.Random(5)
    os.makedirs(out)
    nfiles = ndirs_made = 0

    with open(os.path.join(out, "big.bin"), "wb") as f:
        for _ in range(big_mib):
            f.write(rng.randbytes(1 << 20))
    nfiles += 1

    per_dir = (nsmall + ndirs - 1) // ndirs
    pool = rng.randbytes(1 << 20)
    for i in range(nsmall):
        d = os.path.join(out, "data", "d%04d" % (i // per_dir))
        if i % per_dir == 0:
            os.makedirs(d)
            ndirs_made += 1
        size = int(1024 * 16 ** rng.random())          # 1..16 KiB, log-uniform
        off = rng.randrange(len(pool) - size)
        with open(os.path.join(d, "f%02d.dat" % (i % per_dir)), "wb") as f:
            f.write(pool[off:off + size])
        nfiles += 1

    words = ("def class return self import from if else for in while try except "
             "with as lambda yield None True False value result items key name "
             "path data buffer index count module object").split()
    def pysource():
        lines = ['"""Generated module."""', "import os", "import sys", ""]
        for _ in range(rng.randrange(20, 600)):
            depth = rng.randrange(0, 3)
            lines.append("    " * depth + " ".join(rng.choice(words) for _ in range(rng.randrange(3, 10))))
        return "\n".join(lines) + "\n"

    root = os.path.join(out, "lib", "python3")
    os.makedirs(root)
    ndirs_made += 1
    for m in range(npkg // 2):
        with open(os.path.join(root, "mod%03d.py" % m), "w") as f:
            f.write(pysource())
        nfiles += 1
    def package(path, depth):
        nonlocal nfiles, ndirs_made
        os.makedirs(path)
        ndirs_made += 1
        for name in ["__init__"] + ["m%02d" % k for k in range(rng.randrange(5, 30))]:
            with open(os.path.join(path, name + ".py"), "w") as f:
                f.write(pysource())
            nfiles += 1
        if depth < 4:
            for s in range(rng.randrange(0, 4 if depth < 2 else 2)):
                package(os.path.join(path, "sub%d" % s), depth + 1)
    for p in range(npkg):
        package(os.path.join(root, "pkg%03d" % p), 1)

    os.makedirs(os.path.join(out, "bin"))
    shutil.copy(os.environ.get("BUSYBOX", "/bin/busybox"), os.path.join(out, "bin", "busybox"))
    os.chmod(os.path.join(out, "bin", "busybox"), 0o555)
    for applet in ("true", "sh"):
        os.symlink("busybox", os.path.join(out, "bin", applet))
    print("files=%d dirs=%d" % (nfiles + 1, ndirs_made + 2))

main()
