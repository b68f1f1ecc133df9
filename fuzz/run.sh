#!/usr/bin/env bash
# fuzz/run.sh SECONDS TARGET... - run libFuzzer targets one after another.
#
# Each build/fuzz/fuzz_TARGET runs for SECONDS on one core, from the seeds
# in fuzz/corpus/TARGET and what earlier runs kept in build/fuzz/corpus/TARGET
# (new inputs go there, never into the committed seeds), in a scratch
# folder of its own (TMPDIR: /dev/shm when writable), with the
# dictionary fuzz/TARGET.dict when there is one.  Prints one line per
# target: executions, speed, corpus size.  A crash, leak, sanitizer report
# or timeout fails the run: the log's report is printed with the crashing
# input's file (build/fuzz/artifacts/).  Exits nonzero when any target
# failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS TARGET..." >&2
  exit 2
fi
seconds=$1
shift

out=build/fuzz
scratch_base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && scratch_base=/dev/shm
mkdir -p "$out/artifacts" "$out/logs"
rc=0
for t in "$@"; do
  bin=$out/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz/run.sh: $bin not found; run: make fuzz-build" >&2; exit 1; }
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz/run.sh: fuzz/corpus/$t is missing" >&2; exit 1; }
  work=$out/corpus/$t
  log=$out/logs/$t.log
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$out/artifacts/$t-")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  # A scratch folder (fuzz_nar unpacks there), removed even after a crash.
  scratch=$(mktemp -d "$scratch_base/cagefs-fuzz-$t.XXXXXX")
  status=0
  TMPDIR=$scratch "$bin" "${args[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  chmod -R u+w "$scratch" && rm -rf "$scratch"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$status" = 0 ]; then
    echo "fuzz_$t: ok, ${execs:-?} executions in ${seconds} s (${speed:-?}/s)," \
      "corpus $corpus inputs"
  else
    rc=1
    echo "fuzz_$t: FAILED (exit $status) after ${execs:-?} executions; log: $log"
    report='^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+: |.*runtime error|artifact_prefix|Test unit)'
    grep -E "$report" "$log" | head -n 20 | sed 's/^/  /'
  fi
done
exit $rc
