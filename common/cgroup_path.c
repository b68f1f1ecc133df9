#include "cgroup_path.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "cleanup.h"

/* Is CTL one of the comma-separated names of LIST? */
static bool
in_list (const char *list, const char *ctl)
{
  size_t n = strlen (ctl);
  for (const char *p = list; *p; p += strcspn (p, ","), p += *p == ',')
    if (strncmp (p, ctl, n) == 0 && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

bool
cgroup_path_of (const char *proc_file, const char *ctl, char *buf, size_t size)
{
  autofclose FILE *f = fopen (proc_file, "re");
  if (!f)
    return false;
  char line[4096];
  while (fgets (line, sizeof line, f))
    {
      /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
      line[strcspn (line, "\n")] = '\0';
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (!c2)
        continue;
      *c2 = '\0';
      const char *ctls = c1 + 1, *path = c2 + 1;
      bool match = !*ctl ? strncmp (line, "0:", 2) == 0 && !*ctls : in_list (ctls, ctl);
      if (match && (size_t) snprintf (buf, size, "%s", path) < size)
        return true;
    }
  return false;
}

bool
cgroup_has_controller (const char *dir, const char *ctl)
{
  char path[4200], text[1024];
  if ((size_t) snprintf (path, sizeof path, "%s/cgroup.subtree_control", dir) >= sizeof path)
    return false;
  autoclose int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read (fd, text, sizeof text - 1);
  if (n <= 0)
    return false;
  text[n] = '\0';
  for (char *save = NULL, *w = strtok_r (text, " \n", &save); w; w = strtok_r (NULL, " \n", &save))
    if (strcmp (w, ctl) == 0)
      return true;
  return false;
}

bool
cgroup_mount_of (const char *mountinfo, const char *ctl, char *buf, size_t size)
{
  autofclose FILE *f = fopen (mountinfo, "re");
  if (!f)
    return false;
  char line[4096];
  while (fgets (line, sizeof line, f))
    {
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS */
      char root[1024], mnt[1024], fstype[64], superopts[1024];
      const char *dash = strstr (line, " - ");
      if (!dash || sscanf (line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2
          || sscanf (dash + 3, "%63s %*s %1023s", fstype, superopts) != 2)
        continue;
      if (strcmp (root, "/") != 0 || strchr (mnt, '\\'))
        continue; /* a bind of a subtree, or an escaped name */
      bool match = !*ctl ? strcmp (fstype, "cgroup2") == 0
                         : strcmp (fstype, "cgroup") == 0 && in_list (superopts, ctl);
      if (match && (size_t) snprintf (buf, size, "%s", mnt) < size)
        return true;
    }
  return false;
}
