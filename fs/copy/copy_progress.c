/* copy_progress.c - progress of a copy: one rewritten line on a TTY
   (paths, files, bytes, rate, ETA) or NDJSON events (--json):
     {"event":"copy-progress","files_done":..,"files_total":..,
      "bytes_done":..,"bytes_total":..,"paths_total":..,"rate_bytes_s":..,
      "eta_s":..}
   at most every 200 ms (TTY) or 500 ms (JSON), and one "copy-done".  */
#include <stdio.h>
#include <time.h>

#include "copy_impl.h"

double
copy_seconds_since (const struct timespec *t0)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - t0->tv_sec) + (double) (now.tv_nsec - t0->tv_nsec) / 1e9;
}

void
copy_progress_start (struct copy_progress *pg, FILE *out, unsigned flags)
{
  pg->out = out;
  pg->flags = flags;
  clock_gettime (CLOCK_MONOTONIC, &pg->start);
  pg->last = pg->start;
}

void
copy_progress_tick (struct copy_progress *pg, const struct copy_run *run, bool final)
{
  if (!pg->out || !(pg->flags & (COPY_PROGRESS | COPY_JSON)))
    return;
  double every = (pg->flags & COPY_JSON) ? 0.5 : 0.2;
  if (!final && copy_seconds_since (&pg->last) < every)
    return;
  clock_gettime (CLOCK_MONOTONIC, &pg->last);
  double t = copy_seconds_since (&pg->start);
  uint64_t files = atomic_load (&run->files_done), bytes = atomic_load (&run->bytes_done);
  double rate = t > 0 ? (double) bytes / t : 0;
  double eta = rate > 0 && run->total_bytes > bytes ? (double) (run->total_bytes - bytes) / rate : 0;
  size_t todo = 0;
  for (size_t i = 0; i < run->npaths; i++)
    todo += !run->paths[i].skip;
  if (pg->flags & COPY_JSON)
    fprintf (pg->out,
             "{\"event\":\"%s\",\"paths_total\":%zu,\"files_done\":%llu,\"files_total\":%zu,"
             "\"bytes_done\":%llu,\"bytes_total\":%llu,\"rate_bytes_s\":%.0f,\"eta_s\":%.1f,"
             "\"seconds\":%.3f}\n",
             final ? "copy-done" : "copy-progress", todo, (unsigned long long) files, run->nfiles,
             (unsigned long long) bytes, (unsigned long long) run->total_bytes, rate, eta, t);
  else
    fprintf (pg->out, "\rcopy: %zu paths, %llu/%zu files, %.1f/%.1f MiB, %.0f MiB/s, ETA %.0f s %s",
             todo, (unsigned long long) files, run->nfiles, (double) bytes / 1048576.0,
             (double) run->total_bytes / 1048576.0, rate / 1048576.0, eta, final ? "\n" : "");
  fflush (pg->out);
}
