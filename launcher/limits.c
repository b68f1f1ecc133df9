/* limits.c - the cage's memory, cpus, pids and open files.

   Where the machine lets us, the cage's pid 1 (and so every process of
   the cage) goes into a fresh cgroup cagefs-<pid of the outer cage>, made
   by the outer cage before pid 1 goes and removed after it is gone; the
   outer cage stays outside, so going over the memory limit kills a
   process of the cage (the kernel's OOM killer, inside that cgroup), never
   the launcher, the daemon or the host.

     cgroup v2  our own cgroup in the cgroup2 hierarchy, when its
                cgroup.subtree_control already has the controllers we need
                and we may write there (a delegated cgroup);
     cgroup v1  else, per controller (memory, cpu, pids), our own cgroup
                in that controller's hierarchy when we may write there
                (a v1 or hybrid machine run by root);
     rlimits    else: memory as RLIMIT_AS (address space, stricter than
                resident memory), pids as RLIMIT_NPROC; cpus cannot be
                limited without a cgroup.  nofile is always RLIMIT_NOFILE.

   rlimits are set in the agent just before exec, so pid 1 (the reaper)
   never runs short.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_hint.h"
#include "cgroup_path.h"
#include "launcher.h"

#define CPU_PERIOD_US 100000

enum { V1_MEMORY, V1_CPU, V1_PIDS, V1_N };
static const char *const v1_names[V1_N] = { "memory", "cpu", "pids" };

/* ---- finding our cgroups ------------------------------------------------ */

/* Our cgroup in the hierarchy with controller CTL ("" for v2) per
   /proc/self/cgroup, into BUF.  */
static bool
own_cgroup (const char *ctl, char *buf, size_t size)
{
  return cgroup_path_of ("/proc/self/cgroup", ctl, buf, size);
}

/* The mount point of the cgroup hierarchy with controller CTL ("" for v2),
   per /proc/self/mountinfo, into BUF.  */
static bool
hierarchy_mount (const char *ctl, char *buf, size_t size)
{
  return cgroup_mount_of ("/proc/self/mountinfo", ctl, buf, size);
}

/* The directory of our cgroup for CTL ("" for v2), if we may create
   children in it.  */
static bool
writable_own_cgroup (const char *ctl, char *buf, size_t size)
{
  char mnt[1024], path[2048];
  if (!hierarchy_mount (ctl, mnt, sizeof mnt) || !own_cgroup (ctl, path, sizeof path))
    return false;
  if ((size_t) snprintf (buf, size, "%s%s", mnt, strcmp (path, "/") == 0 ? "" : path) >= size)
    return false;
  return access (buf, W_OK) == 0;
}

/* ---- the plan ------------------------------------------------------------ */

int
limits_plan_make (const struct cage_limits *want, pid_t outer_pid, struct limits_plan *lp,
                  struct cage_error *err)
{
  memset (lp, 0, sizeof *lp);
  lp->want = *want;
  bool need[V1_N] = { want->memory > 0, want->cpus > 0, want->pids > 0 };
  enum limit_via *via[V1_N] = { &lp->memory, &lp->cpus, &lp->pids };
  bool any = need[V1_MEMORY] || need[V1_CPU] || need[V1_PIDS];
  char dir[4096];

  if (any && writable_own_cgroup ("", dir, sizeof dir))
    {
      bool all = true;
      for (int i = 0; i < V1_N; i++)
        if (need[i] && !cgroup_has_controller (dir, v1_names[i]))
          all = false;
      if (all)
        {
          if (asprintf (&lp->cgroup2, "%s/cagefs-%d", dir, (int) outer_pid) < 0)
            return cage_error_set (err, ENOMEM, "plan the limits");
          for (int i = 0; i < V1_N; i++)
            if (need[i])
              *via[i] = LIMIT_CGROUP2;
        }
    }
  for (int i = 0; i < V1_N; i++)
    {
      if (!need[i] || *via[i] != LIMIT_NONE)
        continue;
      if (writable_own_cgroup (v1_names[i], dir, sizeof dir))
        {
          if (asprintf (&lp->cgroup1[i], "%s/cagefs-%d", dir, (int) outer_pid) < 0)
            {
              lp->cgroup1[i] = NULL;
              limits_plan_free (lp);
              return cage_error_set (err, ENOMEM, "plan the limits");
            }
          *via[i] = LIMIT_CGROUP1;
        }
      else
        *via[i] = i == V1_CPU ? LIMIT_UNAVAILABLE : LIMIT_RLIMIT;
    }
  if (want->nofile)
    lp->nofile = LIMIT_RLIMIT;
  return 0;
}

void
limits_plan_free (struct limits_plan *lp)
{
  free (lp->cgroup2);
  for (int i = 0; i < V1_N; i++)
    free (lp->cgroup1[i]);
  memset (lp, 0, sizeof *lp);
}

static const char *
via_name (enum limit_via v)
{
  switch (v)
    {
    case LIMIT_NONE: return "none";
    case LIMIT_CGROUP2: return "cgroup2";
    case LIMIT_CGROUP1: return "cgroup1";
    case LIMIT_RLIMIT: return "rlimit";
    case LIMIT_UNAVAILABLE: return "unavailable";
    }
  return "unknown";
}

static json_t *
limit_json (enum limit_via via, const char *cgroup, const char *rlimit)
{
  json_t *o = json_pack ("{s:s}", "via", via_name (via));
  if (o && via == LIMIT_CGROUP1 && cgroup)
    json_object_set_new (o, "cgroup", json_string (cgroup));
  if (o && via == LIMIT_CGROUP2 && cgroup)
    json_object_set_new (o, "cgroup", json_string (cgroup));
  if (o && via == LIMIT_RLIMIT)
    json_object_set_new (o, "rlimit", json_string (rlimit));
  if (o && via == LIMIT_UNAVAILABLE)
    json_object_set_new (o, "note", json_string ("needs a writable cgroup; not enforced"));
  return o;
}

json_t *
limits_plan_json (const struct limits_plan *lp)
{
  json_t *o = json_object ();
  json_t *l;
  if (!o)
    return NULL;
  if (lp->memory)
    {
      l = limit_json (lp->memory, lp->cgroup2 ? lp->cgroup2 : lp->cgroup1[V1_MEMORY], "RLIMIT_AS");
      json_object_set_new (l, "bytes", json_integer ((json_int_t) lp->want.memory));
      json_object_set_new (o, "memory", l);
    }
  if (lp->cpus)
    {
      l = limit_json (lp->cpus, lp->cgroup2 ? lp->cgroup2 : lp->cgroup1[V1_CPU], NULL);
      json_object_set_new (l, "cpus", json_real (lp->want.cpus));
      json_object_set_new (o, "cpus", l);
    }
  if (lp->pids)
    {
      l = limit_json (lp->pids, lp->cgroup2 ? lp->cgroup2 : lp->cgroup1[V1_PIDS], "RLIMIT_NPROC");
      json_object_set_new (l, "max", json_integer ((json_int_t) lp->want.pids));
      json_object_set_new (o, "pids", l);
    }
  if (lp->nofile)
    {
      l = limit_json (lp->nofile, NULL, "RLIMIT_NOFILE");
      json_object_set_new (l, "max", json_integer ((json_int_t) lp->want.nofile));
      json_object_set_new (o, "nofile", l);
    }
  return o;
}

void
limits_describe (const struct limits_plan *lp, char *buf, size_t size)
{
  size_t o = 0;
  buf[0] = '\0';
#define ADD(...)                                                                                \
  do                                                                                            \
    {                                                                                           \
      int w_ = snprintf (buf + o, size - o, __VA_ARGS__);                                       \
      if (w_ > 0 && (size_t) w_ < size - o)                                                     \
        o += (size_t) w_;                                                                       \
    }                                                                                           \
  while (0)
  if (lp->memory)
    ADD ("%smemory %llu bytes (%s)", o ? ", " : "", lp->want.memory, via_name (lp->memory));
  if (lp->cpus)
    ADD ("%scpus %g (%s)", o ? ", " : "", lp->want.cpus, via_name (lp->cpus));
  if (lp->pids)
    ADD ("%spids %lu (%s)", o ? ", " : "", lp->want.pids, via_name (lp->pids));
  if (lp->nofile)
    ADD ("%snofile %lu (%s)", o ? ", " : "", lp->want.nofile, via_name (lp->nofile));
  if (!o)
    ADD ("none");
#undef ADD
}

/* ---- cgroups --------------------------------------------------------------- */

/* Write TEXT to DIR/NAME; MISSING_OK: a file this kernel lacks is fine. */
static int
cg_write (const char *dir, const char *name, const char *text, bool missing_ok,
          struct cage_error *err)
{
  char path[4200];
  if ((size_t) snprintf (path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return cage_error_set (err, ENAMETOOLONG, "cgroup `%s`", dir);
  autoclose int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (missing_ok && errno == ENOENT)
        return 0;
      cage_error_set (err, errno, "open `%s`", path);
      return cage_error_doctor_hint (err);
    }
  ssize_t n = write (fd, text, strlen (text));
  if (n < 0)
    {
      cage_error_set (err, errno, "write \"%s\" to `%s`", text, path);
      return cage_error_doctor_hint (err);
    }
  return 0;
}

static int
cg_make (const char *dir, bool *created, struct cage_error *err)
{
  /* A cage killed before it could remove its cgroup leaves it behind,
     empty, under its pid's name; a later cage with that pid reuses the
     name: the stale one goes first (rmdir takes only an empty cgroup). */
  if (mkdir (dir, 0755) < 0 && !(errno == EEXIST && rmdir (dir) == 0 && mkdir (dir, 0755) == 0))
    {
      cage_error_set (err, errno, "create the cgroup `%s`", dir);
      return cage_error_doctor_hint (err);
    }
  *created = true;
  return 0;
}

int
limits_cgroups_enter (struct limits_plan *lp, pid_t pid, struct cage_error *err)
{
  char num[64], pidtext[32];
  snprintf (pidtext, sizeof pidtext, "%d", (int) pid);
  const struct cage_limits *w = &lp->want;
  if (lp->cgroup2)
    {
      const char *d = lp->cgroup2;
      if (cg_make (d, &lp->created2, err) < 0)
        return -1;
      if (lp->memory == LIMIT_CGROUP2)
        {
          snprintf (num, sizeof num, "%llu", w->memory);
          if (cg_write (d, "memory.max", num, false, err) < 0
              || cg_write (d, "memory.swap.max", "0", true, err) < 0)
            return -1;
        }
      if (lp->cpus == LIMIT_CGROUP2)
        {
          snprintf (num, sizeof num, "%llu %d",
                    (unsigned long long) (w->cpus * CPU_PERIOD_US + 0.5), CPU_PERIOD_US);
          if (cg_write (d, "cpu.max", num, false, err) < 0)
            return -1;
        }
      if (lp->pids == LIMIT_CGROUP2)
        {
          snprintf (num, sizeof num, "%lu", w->pids);
          if (cg_write (d, "pids.max", num, false, err) < 0)
            return -1;
        }
      if (cg_write (d, "cgroup.procs", pidtext, false, err) < 0)
        return -1;
    }
  for (int i = 0; i < V1_N; i++)
    {
      const char *d = lp->cgroup1[i];
      if (!d)
        continue;
      if (cg_make (d, &lp->created1[i], err) < 0)
        return -1;
      int rc = 0;
      switch (i)
        {
        case V1_MEMORY:
          snprintf (num, sizeof num, "%llu", w->memory);
          /* memory first, then memory+swap (which must not be lower) */
          rc = cg_write (d, "memory.limit_in_bytes", num, false, err);
          if (rc == 0)
            rc = cg_write (d, "memory.memsw.limit_in_bytes", num, true, err);
          break;
        case V1_CPU:
          snprintf (num, sizeof num, "%llu", (unsigned long long) (w->cpus * CPU_PERIOD_US + 0.5));
          rc = cg_write (d, "cpu.cfs_period_us", "100000", false, err);
          if (rc == 0)
            rc = cg_write (d, "cpu.cfs_quota_us", num, false, err);
          break;
        case V1_PIDS:
          snprintf (num, sizeof num, "%lu", w->pids);
          rc = cg_write (d, "pids.max", num, false, err);
          break;
        }
      if (rc < 0 || cg_write (d, "cgroup.procs", pidtext, false, err) < 0)
        return -1;
    }
  return 0;
}

static void
cg_remove (const char *dir, bool *created)
{
  if (!*created)
    return;
  /* The cage's processes are gone once pid 1 is reaped; a cgroup may
     still be busy for a moment while the kernel lets go of it.  */
  for (int i = 0; i < 100 && rmdir (dir) < 0 && errno == EBUSY; i++)
    usleep (10000);
  *created = false;
}

void
limits_cgroups_remove (struct limits_plan *lp)
{
  if (lp->cgroup2)
    cg_remove (lp->cgroup2, &lp->created2);
  for (int i = 0; i < V1_N; i++)
    if (lp->cgroup1[i])
      cg_remove (lp->cgroup1[i], &lp->created1[i]);
}

/* ---- rlimits --------------------------------------------------------------- */

static int
set_rlimit (int resource, const char *name, unsigned long long v, struct cage_error *err)
{
  struct rlimit rl;
  if (getrlimit (resource, &rl) < 0)
    return cage_error_set (err, errno, "getrlimit(%s)", name);
  /* Never above the hard limit we were given: we cannot raise it. */
  if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max)
    v = rl.rlim_max;
  rl.rlim_cur = rl.rlim_max = (rlim_t) v;
  if (setrlimit (resource, &rl) < 0)
    return cage_error_set (err, errno, "setrlimit(%s, %llu)", name, v);
  return 0;
}

int
limits_apply_rlimits (const struct limits_plan *lp, struct cage_error *err)
{
  if (lp->memory == LIMIT_RLIMIT && set_rlimit (RLIMIT_AS, "RLIMIT_AS", lp->want.memory, err) < 0)
    return -1;
  if (lp->pids == LIMIT_RLIMIT && set_rlimit (RLIMIT_NPROC, "RLIMIT_NPROC", lp->want.pids, err) < 0)
    return -1;
  if (lp->nofile == LIMIT_RLIMIT
      && set_rlimit (RLIMIT_NOFILE, "RLIMIT_NOFILE", lp->want.nofile, err) < 0)
    return -1;
  return 0;
}
