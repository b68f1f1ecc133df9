/* nixconf.c - the nix-daemon's sandbox setting, from `nix show-config`. */
#include "nixconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "run.h"

extern char **environ;

/* The value of NAME in TEXT ("NAME = VALUE" lines) into VAL; false when
   it is not there. */
static bool
setting (const char *text, const char *name, char *val, size_t size)
{
  size_t n = strlen (name);
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      while (*l == ' ' || *l == '\t')
        l++;
      if (strncmp (l, name, n) != 0)
        continue;
      const char *p = l + n;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        continue;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      size_t len = strcspn (p, "\n");
      while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
      snprintf (val, size, "%.*s", (int) len, p);
      return true;
    }
  return false;
}

bool
nix_config_sandboxed (const char *text, char *why, size_t why_size)
{
  char v[64];
  if (!setting (text, "sandbox", v, sizeof v))
    {
      snprintf (why, why_size, "no `sandbox` setting");
      return false;
    }
  if (strcmp (v, "true") != 0)
    {
      snprintf (why, why_size, "sandbox = %s", v);
      return false;
    }
  /* Nix's default for sandbox-fallback is true. */
  if (!setting (text, "sandbox-fallback", v, sizeof v) || strcmp (v, "false") != 0)
    {
      snprintf (why, why_size, "sandbox-fallback = %s", *v ? v : "true");
      return false;
    }
  return true;
}

/* Our environment without what configures only the client, and with
   NIX_USER_CONF_FILES pointing nowhere. */
static char **
daemon_env (void)
{
  size_t n = 0;
  while (environ[n])
    n++;
  char **env = calloc (n + 2, sizeof *env);
  if (!env)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp (environ[i], "NIX_CONFIG=", 11) && strncmp (environ[i], "NIX_CONF_DIR=", 13)
        && strncmp (environ[i], "NIX_USER_CONF_FILES=", 20))
      env[k++] = environ[i];
  env[k++] = (char *) "NIX_USER_CONF_FILES=/dev/null";
  env[k] = NULL;
  return env;
}

int
nix_daemon_sandboxed (bool *sandboxed, char *why, size_t why_size, struct cage_error *err)
{
  static char *const show_config[] = { "nix", "--extra-experimental-features", "nix-command",
                                       "show-config", NULL };
  static char *const config_show[] = { "nix", "--extra-experimental-features", "nix-command",
                                       "config", "show", NULL };
  autofree char **env = daemon_env ();
  if (!env)
    return cage_error_set (err, ENOMEM, "nix show-config");
  char *const *const tries[] = { show_config, config_show };
  autofree char *first_error = NULL;
  for (size_t t = 0; t < 2; t++)
    {
      struct nix_output o = { 0 };
      int status;
      if (run_capture_env (tries[t], env, NULL, 0, "is nix-bin installed? apt-get install nix-bin",
                           &o, &status, err) < 0)
        return -1;
      if (WIFEXITED (status) && WEXITSTATUS (status) == 0 && strstr (o.out, "sandbox"))
        {
          *sandboxed = nix_config_sandboxed (o.out, why, why_size);
          nix_output_free (&o);
          return 0;
        }
      if (!first_error)
        first_error = strdup (nix_error_line (o.errtext));
      nix_output_free (&o);
    }
  return cage_error_set (err, 0, "nix show-config failed: %s",
                         first_error ? first_error : "(out of memory)");
}
