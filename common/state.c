#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* jansson's json_auto_t: json_t with a json_decref cleanup. */

static json_t *
strv_to_json (char **v)
{
  json_t *a = json_array ();
  for (char **p = v; a && p && *p; p++)
    json_array_append_new (a, json_string (*p));
  return a;
}

static char **
json_to_strv (json_t *a)
{
  size_t n = json_is_array (a) ? json_array_size (a) : 0;
  char **v = calloc (n + 1, sizeof *v);
  if (!v)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      const char *s = json_string_value (json_array_get (a, i));
      v[i] = strdup (s ? s : "");
      if (!v[i])
        {
          cage_strv_free (v);
          return NULL;
        }
    }
  return v;
}

int
state_json_write (json_t *o, const char *path, struct cage_error *err)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid ());
  /* 0600 whatever the umask (the daemon runs with umask 0) */
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cage_error_set (err, errno, "create `%s`", tmp);
  int rc = json_dumpfd (o, fd, JSON_INDENT (2));
  int e = errno ? errno : EIO;
  if (close (fd) < 0 && rc == 0)
    {
      rc = -1;
      e = errno;
    }
  if (rc < 0)
    {
      unlink (tmp);
      return cage_error_set (err, e, "write `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      e = errno;
      unlink (tmp);
      return cage_error_set (err, e, "rename `%s` to `%s`", tmp, path);
    }
  return 0;
}

int
state_write (const char *path, const struct cage_state *st, struct cage_error *err)
{
  json_auto_t *o = json_pack (
    "{s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o}",
    "version", 1, "project", st->project, "mountpoint", st->mountpoint,
    "pid", (json_int_t) st->pid, "mode", st->mode, "network", st->network,
    "user", st->user, "home", st->home,
    "host_uid", (json_int_t) st->host_uid, "host_gid", (json_int_t) st->host_gid,
    "cage_uid", (json_int_t) st->cage_uid, "cage_gid", (json_int_t) st->cage_gid,
    "packages", strv_to_json (st->packages), "closure", strv_to_json (st->closure));
  if (!o)
    return cage_error_set (err, ENOMEM, "state `%s`", path);
  if (st->store_mountpoint)
    json_object_set_new (o, "store_mountpoint", json_string (st->store_mountpoint));
  json_object_set_new (o, "closure_bytes", json_integer ((json_int_t) st->closure_bytes));
  json_object_set_new (o, "nix_daemon", json_boolean (st->nix_daemon));
  json_object_set_new (o, "nix_daemon_unsandboxed", json_boolean (st->nix_daemon_unsandboxed));
  if (st->cache)
    json_object_set_new (o, "cache", json_string (st->cache));
  json_object_set_new (o, "profile", json_string (st->profile ? st->profile : "standard"));
  json_object_set_new (o, "workspace",
                       json_string (st->workspace_readonly ? "read-only" : "read-write"));
  json_object_set_new (o, "home_mode",
                       json_string (st->home_mode ? st->home_mode : "persistent"));
  if (st->host_home)
    json_object_set_new (o, "host_home", json_string (st->host_home));
  json_object_set_new (o, "view", json_string (st->view ? st->view : "direct"));
  json_object_set_new (o, "scan", json_boolean (st->scan));
  if (st->allow.n > 0)
    {
      json_t *a = json_array ();
      for (size_t i = 0; a && i < st->allow.n; i++)
        json_array_append_new (a, json_pack ("{s:s, s:s?}", "entry", st->allow.v[i].text,
                                             "origin", st->allow.v[i].origin));
      if (!a || json_object_set_new (o, "allow", a) < 0)
        return cage_error_set (err, ENOMEM, "state `%s`", path);
    }
  return state_json_write (o, path, err);
}

static char *
dup_str (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  return strdup (s ? s : "");
}

int
state_read (const char *path, struct cage_state *st, struct cage_error *err)
{
  memset (st, 0, sizeof *st);
  json_error_t je;
  json_auto_t *o = json_load_file (path, 0, &je);
  if (!o)
    {
      if (access (path, F_OK) < 0)
        return cage_error_set (err, errno, "state file `%s`", path);
      return cage_error_set (err, EINVAL, "state file %s:%d:%d: %s", path, je.line,
                             je.column, je.text);
    }
  st->project = dup_str (o, "project");
  st->mountpoint = dup_str (o, "mountpoint");
  st->store_mountpoint = dup_str (o, "store_mountpoint");
  st->pid = (pid_t) json_integer_value (json_object_get (o, "pid"));
  st->mode = dup_str (o, "mode");
  st->network = dup_str (o, "network");
  st->view = json_is_string (json_object_get (o, "view")) ? dup_str (o, "view") : strdup ("direct");
  st->user = dup_str (o, "user");
  st->home = dup_str (o, "home");
  st->host_uid = (uid_t) json_integer_value (json_object_get (o, "host_uid"));
  st->host_gid = (gid_t) json_integer_value (json_object_get (o, "host_gid"));
  st->cage_uid = (uid_t) json_integer_value (json_object_get (o, "cage_uid"));
  st->cage_gid = (gid_t) json_integer_value (json_object_get (o, "cage_gid"));
  st->packages = json_to_strv (json_object_get (o, "packages"));
  st->closure = json_to_strv (json_object_get (o, "closure"));
  st->closure_bytes = (long long) json_integer_value (json_object_get (o, "closure_bytes"));
  st->nix_daemon = json_is_true (json_object_get (o, "nix_daemon"));
  st->nix_daemon_unsandboxed = json_is_true (json_object_get (o, "nix_daemon_unsandboxed"));
  if (json_is_string (json_object_get (o, "cache")))
    st->cache = dup_str (o, "cache");
  st->profile = strdup (json_is_string (json_object_get (o, "profile"))
                        ? json_string_value (json_object_get (o, "profile")) : "standard");
  st->workspace_readonly = json_is_string (json_object_get (o, "workspace"))
    && strcmp (json_string_value (json_object_get (o, "workspace")), "read-only") == 0;
  st->home_mode = strdup (json_is_string (json_object_get (o, "home_mode"))
                          ? json_string_value (json_object_get (o, "home_mode")) : "persistent");
  if (json_is_string (json_object_get (o, "host_home")))
    st->host_home = dup_str (o, "host_home");
  st->scan = json_is_true (json_object_get (o, "scan"));
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (o, "allow"), i, e)
    {
      const char *entry = json_string_value (json_object_get (e, "entry"));
      if (net_policy_add (&st->allow, entry ? entry : "",
                          json_string_value (json_object_get (e, "origin")), err) < 0)
        {
          int errnum = err ? err->errnum : 0;
          state_free (st);
          if (errnum)
            return cage_error_set (err, errnum, "state file `%s`", path);
          return cage_error_prefix (err, "state file `%s`: allow[%zu]", path, i);
        }
    }
  if (!st->project || !st->mountpoint || !st->store_mountpoint || !st->mode || !st->network || !st->view || !st->user
      || !st->home || !st->packages || !st->closure || !st->profile || !st->home_mode)
    {
      state_free (st);
      return cage_error_set (err, ENOMEM, "state file `%s`", path);
    }
  return 0;
}

void
state_free (struct cage_state *st)
{
  free (st->project);
  free (st->mountpoint);
  free (st->cache);
  free (st->store_mountpoint);
  free (st->mode);
  free (st->network);
  free (st->view);
  free (st->user);
  free (st->home);
  free (st->profile);
  free (st->home_mode);
  free (st->host_home);
  cage_strv_free (st->packages);
  cage_strv_free (st->closure);
  net_policy_free (&st->allow);
  memset (st, 0, sizeof *st);
}

void
state_cage_identity (struct cage_state *st)
{
  st->host_uid = geteuid ();
  st->host_gid = getegid ();
  if (st->host_uid == 0)
    {
      st->cage_uid = CAGE_NOBODY_ID;
      st->cage_gid = CAGE_NOBODY_ID;
    }
  else
    {
      st->cage_uid = st->host_uid;
      st->cage_gid = st->host_gid;
    }
  const char *name = "agent";
  struct passwd *pw = st->host_uid ? getpwuid (st->host_uid) : NULL;
  if (pw && pw->pw_name && pw->pw_name[0])
    name = pw->pw_name;
  free (st->user);
  st->user = strdup (name);
  free (st->home);
  st->home = NULL;
  if (st->user && asprintf (&st->home, "/home/%s", st->user) < 0)
    st->home = NULL;
}

bool
state_is_fuse_mount (const char *mountpoint)
{
  autofclose FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (!found && getline (&line, &cap, f) > 0)
    {
      /* id parent maj:min root mountpoint opts ... - fstype source super */
      char mp[4096], fstype[256];
      if (sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1)
        continue;
      char *dash = strstr (line, " - ");
      if (!dash || sscanf (dash + 3, "%255s", fstype) != 1)
        continue;
      /* mountinfo escapes space, tab, newline and backslash as \ooo */
      char un[4096];
      size_t j = 0;
      for (size_t i = 0; mp[i] && j + 1 < sizeof un; i++)
        {
          if (mp[i] == '\\' && mp[i + 1] && mp[i + 2] && mp[i + 3])
            {
              un[j++] = (char) (((mp[i + 1] - '0') << 6) | ((mp[i + 2] - '0') << 3) | (mp[i + 3] - '0'));
              i += 3;
            }
          else
            un[j++] = mp[i];
        }
      un[j] = '\0';
      if (strcmp (un, mountpoint) == 0 && strncmp (fstype, "fuse", 4) == 0)
        found = true;
    }
  free (line);
  return found;
}

bool
state_pid_running (pid_t pid)
{
  if (pid <= 0 || (kill (pid, 0) < 0 && errno == ESRCH))
    return false;
  /* A dead daemon may linger as a zombie until its parent reaps it. */
  char p[64];
  snprintf (p, sizeof p, "/proc/%d/stat", (int) pid);
  FILE *f = fopen (p, "re");
  if (f)
    {
      char state = '?';
      int ok = fscanf (f, "%*d (%*[^)]) %c", &state);
      fclose (f);
      if (ok == 1 && (state == 'Z' || state == 'X'))
        return false;
    }
  return true;
}

bool
state_daemon_alive (const struct cage_state *st)
{
  if (!state_pid_running (st->pid))
    return false;
  char p[64], exe[4096];
  /* The pid may have been reused: check it runs our program (an argv
     word named cagefs*, so a daemon under valgrind counts too). */
  snprintf (p, sizeof p, "/proc/%d/cmdline", (int) st->pid);
  FILE *cf = fopen (p, "re");
  if (cf)
    {
      size_t n = fread (exe, 1, sizeof exe - 1, cf);
      fclose (cf);
      exe[n] = '\0';
      bool ours = false;
      for (size_t i = 0; i < n; i += strlen (exe + i) + 1)
        {
          const char *base = strrchr (exe + i, '/');
          base = base ? base + 1 : exe + i;
          if (strncmp (base, "cagefs", 6) == 0)
            ours = true;
        }
      if (!ours)
        return false;
    }
  return state_is_fuse_mount (st->mountpoint);
}

long long
state_process_uptime (pid_t pid)
{
  char p[64], buf[1024];
  snprintf (p, sizeof p, "/proc/%d/stat", (int) pid);
  FILE *f = fopen (p, "re");
  if (!f)
    return -1;
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  /* Field 22, starttime (clock ticks after boot), counted after the ")"
     that ends the command name (which may hold spaces). */
  char *s = strrchr (buf, ')');
  if (!s)
    return -1;
  unsigned long long start = 0;
  int field = 2;
  for (char *t = strtok (s + 1, " "); t; t = strtok (NULL, " "))
    if (++field == 22)
      {
        start = strtoull (t, NULL, 10);
        break;
      }
  if (field != 22)
    return -1;
  struct timespec now;
  if (clock_gettime (CLOCK_BOOTTIME, &now) < 0)
    return -1;
  long hz = sysconf (_SC_CLK_TCK);
  if (hz <= 0)
    return -1;
  long long up = (long long) now.tv_sec - (long long) (start / (unsigned long long) hz);
  return up < 0 ? 0 : up;
}
