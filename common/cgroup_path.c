#include "cgroup_path.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "cleanup.h"

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
      bool match = false;
      if (!*ctl)
        match = strncmp (line, "0:", 2) == 0 && !*ctls;
      else
        for (const char *p = ctls; *p && !match; p += strcspn (p, ","), p += *p == ',')
          match = strncmp (p, ctl, strlen (ctl)) == 0
                  && (p[strlen (ctl)] == ',' || p[strlen (ctl)] == '\0');
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
