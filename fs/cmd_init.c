/* cmd_init.c - `cagefs init [PROJECT]`: write a starting cage.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"

static const char template_json[] =
  "{\n"
  "  \"store\": {\n"
  "    \"mode\": \"readonly\",\n"
  "    \"packages\": []\n"
  "  },\n"
  "  \"blacklist\": [],\n"
  "  \"network\": \"off\"\n"
  "}\n";

int
cmd_init (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "j", opts, NULL)) != -1)
    {
      if (c == 'j')
        json = true;
      else
        return cli_usage_error ("init", "bad option");
    }
  if (argc - optind > 1)
    return cli_usage_error ("init", "expected at most one PROJECT directory");
  const char *dir = optind < argc ? argv[optind] : ".";
  char path[4096];
  snprintf (path, sizeof path, "%s/cage.json", dir);
  struct cage_error err = { 0 };
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
  size_t len = strlen (template_json);
  if (write (fd, template_json, len) != (ssize_t) len || fsync (fd) < 0)
    {
      cage_error_set (&err, errno, "write `%s`", path);
      unlink (path);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  if (json)
    cli_print_json (json_pack ("{s:s}", "config", path));
  else
    printf ("wrote %s\n", path);
  return 0;
}
