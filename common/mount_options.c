#include "mount_options.h"

#include <string.h>

const struct mount_option mount_options[] = {
  { "package", 'p', true, "STOREPATH" },
  { "with", 'W', true, "NAME[,NAME...]" },
  { "profile", 'P', true, "strict|standard|relaxed" },
  { "mode", 'm', true, "readonly|shared|copy|isolated" },
  { "cache", MOUNT_OPT_CACHE, false, "URL" },
  { "nix-daemon", 'D', true, NULL },
  { "nix-daemon-unsandboxed", MOUNT_OPT_NIX_DAEMON_UNSANDBOXED, false, NULL },
  { "blacklist", 'b', true, "GLOB" },
  { "scan", 'S', true, NULL },
  { "network", 'n', true, "off|host|filtered" },
  { "allow", MOUNT_OPT_ALLOW, false, "HOST[:PORT]|ADDR[/PREFIX]" },
  { "workspace-view", MOUNT_OPT_WORKSPACE_VIEW, false, "direct|cow|tracked" },
  { NULL, 0, false, NULL },
};

const struct mount_option *
mount_option_find (const char *a, bool *inline_value)
{
  if (inline_value)
    *inline_value = false;
  for (const struct mount_option *o = mount_options; o->name; o++)
    {
      if (a[0] == '-' && a[1] != '-' && o->has_short && a[1] == o->key && a[2] == '\0')
        return o;
      if (strncmp (a, "--", 2) != 0)
        continue;
      size_t n = strlen (o->name);
      if (strncmp (a + 2, o->name, n) == 0 && (a[2 + n] == '\0' || a[2 + n] == '='))
        {
          if (inline_value)
            *inline_value = a[2 + n] == '=';
          return o;
        }
    }
  return NULL;
}
