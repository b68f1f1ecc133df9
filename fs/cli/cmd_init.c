/* cmd_init.c - `cagefs init [--preset NAME] [PROJECT]`: write a starting
   cage.json; `cagefs init --list-presets`: the agents' presets. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "presets.h"

static const char template_json[] =
  "{\n"
  "  \"profile\": \"standard\",\n"
  "  \"store\": {\n"
  "    \"mode\": \"readonly\",\n"
  "    \"packages\": []\n"
  "  },\n"
  "  \"blacklist\": [],\n"
  "  \"network\": \"off\"\n"
  "}\n";

/* An agent talks to its provider: network filtered, with the preset's
   hosts (and the package registries) allowed; "allow" adds more.  Its
   packages, home paths and variables come from the preset too (`cagefs
   config` shows them). */
static char *
preset_json (const struct preset *p)
{
  char *s = NULL;
  if (asprintf (&s,
                "{\n"
                "  \"preset\": \"%s\",\n"
                "  \"profile\": \"standard\",\n"
                "  \"store\": {\n"
                "    \"mode\": \"readonly\",\n"
                "    \"with\": [],\n"
                "    \"packages\": []\n"
                "  },\n"
                "  \"blacklist\": [],\n"
                "  \"network\": {\"mode\": \"filtered\", \"allow\": []},\n"
                "  \"env\": {\"pass\": []},\n"
                "  \"home\": {\"writable\": []}\n"
                "}\n",
                p->name)
      < 0)
    return NULL;
  return s;
}

static json_t *
strs_json (const char *const *v)
{
  json_t *a = json_array ();
  for (; a && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static void
print_strs (const char *label, const char *const *v)
{
  printf ("    %-9s", label);
  for (const char *const *s = v; *s; s++)
    printf ("%s%s", s == v ? "" : " ", *s);
  printf ("\n");
}

static int
list_presets (bool json)
{
  if (json)
    {
      json_t *a = json_array ();
      for (const struct preset *p = presets; a && p->name; p++)
        json_array_append_new (a, json_pack ("{s:s, s:s, s:o, s:o, s:o}", "name", p->name,
                                             "description", p->description, "packages",
                                             strs_json (p->packages), "home",
                                             strs_json (p->home), "env", strs_json (p->env)));
      cli_print_json (json_pack ("{s:o}", "presets", a));
      return 0;
    }
  for (const struct preset *p = presets; p->name; p++)
    {
      printf ("%-12s %s\n", p->name, p->description);
      print_strs ("packages", p->packages);
      print_strs ("home", p->home);
      print_strs ("env", p->env);
    }
  return 0;
}

int
cmd_init (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "preset", required_argument, NULL, 'p' },
    { "list-presets", no_argument, NULL, 'l' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, list = false;
  const char *preset_name = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "jp:lh", opts, NULL)) != -1)
    {
      if (c == 'j')
        json = true;
      else if (c == 'p')
        preset_name = optarg;
      else if (c == 'l')
        list = true;
      else if (c == 'h')
        {
          printf ("usage: cagefs init [--preset NAME] [--json] [PROJECT]\n"
                  "       cagefs init --list-presets [--json]\n"
                  "writes PROJECT/cage.json (default: the current folder); --preset names an\n"
                  "agent's preset: its packages (store.with), home paths and variables\n");
          return 0;
        }
      else
        return cli_bad_option ("init", argv);
    }
  if (list)
    {
      if (preset_name || optind < argc)
        return cli_usage_error ("init", "--list-presets takes no PROJECT and no --preset");
      return list_presets (json);
    }
  if (argc - optind > 1)
    return cli_usage_error ("init", "expected at most one PROJECT directory");
  struct cage_error err = { 0 };
  const struct preset *p = NULL;
  if (preset_name && !(p = preset_find (preset_name, &err)))
    {
      cage_error_prefix (&err, "--preset");
      cage_error_print (&err, "cagefs", json);
      return 2;
    }
  autofree char *text = p ? preset_json (p) : strdup (template_json);
  if (!text)
    {
      cage_error_set (&err, ENOMEM, "init");
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  const char *dir = optind < argc ? argv[optind] : ".";
  char path[4096];
  snprintf (path, sizeof path, "%s/cage.json", dir);
  autoclose int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    {
      if (errno == EEXIST)
        cage_error_set (&err, 0, "%s already exists; edit it or remove it first", path);
      else
        cage_error_set (&err, errno, "create `%s`", path);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  size_t len = strlen (text);
  if (write (fd, text, len) != (ssize_t) len || fsync (fd) < 0)
    {
      cage_error_set (&err, errno, "write `%s`", path);
      unlink (path);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  if (json)
    cli_print_json (json_pack ("{s:s, s:s?}", "config", path, "preset", p ? p->name : NULL));
  else
    printf ("wrote %s%s%s\n", path, p ? " with the preset " : "", p ? p->name : "");
  return 0;
}
