#!/usr/bin/env python3
"""bench/lib/report.py RAW OUT.md OUT.png BIGBYTES "HEADER" - tables and chart.

RAW holds "VIEW<TAB>WORKLOAD<TAB>VALUE" lines, one per run (seconds, or MiB
for rss_*).  The median of the runs is shown with its ratio to the "native"
row of the same table (time ratio: >1 is slower; for MB/s columns too, so
1.25x means 1/1.25 of native's MB/s).  Writes OUT.md and, through gnuplot,
OUT.png (views x workloads, time ratio to native, log scale); prints OUT.md.
"""
import os, statistics, subprocess, sys

raw, out_md, out_png, big_bytes, header = sys.argv[1:6]
big_bytes = int(big_bytes)
runs, views = {}, []
for line in open(raw):
    view, work, value = line.rstrip("\n").split("\t")
    if view not in views:
        views.append(view)
    runs.setdefault((view, work), []).append(float(value))
med = {k: statistics.median(v) for k, v in runs.items()}
nruns = {k: len(v) for k, v in runs.items()}

# (key, column title, kind): kind t = seconds, m = MB/s from seconds, r = MiB
TABLES = [
    ("Closure views (read-only store path)", [
        ("walk_cold", "cold walk s", "t"), ("walk_warm", "warm walk s", "t"),
        ("big_cold", "big file cold MB/s", "m"), ("big_warm", "big file warm MB/s", "m"),
        ("small_cold", "read all small files cold s", "t"), ("small_warm", "read all small files warm s", "t"),
        ("neg_cold", "20k neg. lookups cold s", "t"), ("neg_warm", "20k neg. lookups warm s", "t"),
        ("rss_walk", "daemon RSS after walk MiB", "r"), ("rss_forget", "RSS after forget MiB", "r")]),
    ("Workspace views (project dir, read-write)", [
        ("ws_untar", "untar s", "t"), ("ws_git", "git status s", "t"), ("ws_build", "build 5000 files s", "t")]),
    ("Starting a cage", [
        ("exec", "run `true` s", "t"), ("mount", "mount s", "t"), ("umount", "umount s", "t")]),
]

def cell(view, key, kind, base):
    v = med.get((view, key))
    if v is None:
        return "", None
    if kind == "r":
        return "%.1f" % v, None
    ratio = v / base if base else None
    shown = ("%.0f" % (big_bytes / v / 1e6)) if kind == "m" else ("%.3f" % v if v < 10 else "%.2f" % v)
    return (shown + (" (%.2f×)" % ratio if ratio is not None else "")), ratio

md = [header, ""]
chart = []                                   # (view, [(title, ratio)])
for title, cols in TABLES:
    tviews = [v for v in views if any((v, c[0]) in med for c in cols)]
    if not tviews:
        continue
    md += ["### " + title, "", "| view | " + " | ".join(c[1] for c in cols) + " |",
           "|---|" + "---:|" * len(cols)]
    for v in tviews:
        cells = []
        for key, ctitle, kind in cols:
            base = med.get((tviews[0], key)) if kind != "r" else None
            text, ratio = cell(v, key, kind, base)
            cells.append(text)
            if ratio is not None and v != tviews[0]:
                chart.append((v, ctitle, ratio))
        md.append("| %s | %s |" % (v, " | ".join(cells)))
    md.append("")
md.append("The first row of each table is the baseline of its ratios (×: time relative to it, "
          ">1 is slower; MB/s columns too, 2.00× is half the MB/s).")
text = "\n".join(md) + "\n"
open(out_md, "w").write(text)
print(text)

# Chart: one cluster per view, one bar per workload.
works = []
for _, w, _ in chart:
    if w not in works:
        works.append(w)
cviews = []
for v, _, _ in chart:
    if v not in cviews:
        cviews.append(v)
val = {(v, w): r for v, w, r in chart}
dat = out_png[:-4] + ".dat"
with open(dat, "w") as f:
    f.write("view\t" + "\t".join('"%s"' % w for w in works) + "\n")
    for v in cviews:
        f.write('"%s"\t' % v + "\t".join("%.4f" % val[(v, w)] if (v, w) in val else "?" for w in works) + "\n")
gp = """set terminal pngcairo size 1800,800 font ",10"
set output "%s"
set title "cagefs bench/views: time relative to native (log scale, lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set datafile missing "?"
set logscale y
set yrange [0.1:*]
set ylabel "× native"
set grid ytics
set key outside right top vertical
set xtics rotate by -30 left
plot for [i=2:%d] "%s" using i:xtic(1) title columnhead(i), 1 with lines lw 2 lc rgb "black" notitle
""" % (out_png, len(works) + 1, dat)
subprocess.run(["gnuplot"], input=gp.encode(), check=True)
os.unlink(dat)
