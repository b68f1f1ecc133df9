/* cmd_check.c - `cagefs check PROJECT [--blacklist GLOB]... [--scan]
   [--json]`: which files of the workspace the blacklist hides, and which
   pattern decides each (the last that matches, as in gitignore); with the
   scan on ("blacklist": {"scan": true} or --scan), also the files the
   daemon hides for their content, shown with the pattern "(content:
   KIND)".  Walks beneath the project's fd (*at() calls, symlinks never
   followed; files read as the daemon reads them, fs/policy/scan_cache.h); a
   hidden folder is listed once, as the view hides everything below it.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_repos.h"
#include "blacklist.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "paths.h"
#include "scan_cache.h"
#include "term_escape.h"

#define CMD "check"

struct walk
{
  const struct blacklist *bl;
  json_t *list;          /* --json: the hidden entries */
  size_t hidden;
  bool scan;             /* also look into regular files */
  size_t scanned;
};

/* One hidden entry: PATTERN decided, or with KIND the content did. */
static void
report (struct walk *w, const char *path, bool is_dir, const char *pattern, const char *kind)
{
  char shown[64];
  if (kind)
    {
      snprintf (shown, sizeof shown, "(content: %s)", kind);
      pattern = shown;
    }
  w->hidden++;
  if (w->list)
    {
      json_t *o = json_pack ("{s:s, s:b, s:s}", "path", path, "dir", is_dir, "pattern", pattern);
      if (o && kind)
        json_object_set_new (o, "content", json_string (kind));
      json_array_append_new (w->list, o);
    }
  else if (kind)
    printf ("%s\t%s\n", path, pattern);
  else
    printf ("%s%s\t(pattern \"%s\")\n", path, is_dir ? "/" : "", pattern);
}

/* With the scan on: does the regular file NAME of DIR_FD (PATH) hold a
   secret?  Its kind, or NULL.  A file that cannot be read is named in a
   warning (the daemon hides it while that lasts). */
static const char *
content_secret (struct walk *w, int dir_fd, const char *name, const char *path,
                unsigned char type)
{
  if (!w->scan || (type != DT_REG && type != DT_UNKNOWN))
    return NULL;
  struct stat st, now;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != ENOENT)
        cage_warn ("cannot stat `%s`: %s", path, strerror (errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    return NULL;
  enum secret_kind kind = SECRET_NONE;
  int r = scan_file (dir_fd, name, &st, &now, &kind);
  if (r == -ESTALE)
    return NULL; /* replaced meanwhile */
  if (r < 0)
    {
      cage_warn ("cannot read `%s`: %s; the daemon hides it while it cannot be read", path,
                 strerror (-r));
      return NULL;
    }
  w->scanned++;
  return kind == SECRET_NONE ? NULL : secret_kind_name (kind);
}

static int
walk (struct walk *w, int dir_fd, const char *rel, int depth, struct cage_error *err)
{
  if (depth > 256)
    return cage_error_set (err, ELOOP, "`%s`: folders nested too deep", rel);
  int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open `%s`", *rel ? rel : ".");
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "open `%s`", *rel ? rel : ".");
    }
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    {
      const char *name = de->d_name;
      if (!strcmp (name, ".") || !strcmp (name, ".."))
        continue;
      char path[4096];
      if ((size_t) snprintf (path, sizeof path, "%s%s%s", rel, *rel ? "/" : "", name)
          >= sizeof path)
        return cage_error_set (err, ENAMETOOLONG, "`%s/%s`", rel, name);
      bool is_dir = de->d_type == DT_DIR;
      if (de->d_type == DT_UNKNOWN)
        {
          struct stat st;
          if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return cage_error_set (err, errno, "stat `%s`", path);
          is_dir = S_ISDIR (st.st_mode);
        }
      long r = blacklist_which (w->bl, path, is_dir);
      if (r >= 0 && !w->bl->rules[r].negate)
        {
          report (w, path, is_dir, w->bl->rules[r].source, NULL);
          continue;
        }
      if (!is_dir)
        {
          const char *kind = content_secret (w, dirfd (d), name, path, de->d_type);
          if (kind)
            report (w, path, false, NULL, kind);
          continue;
        }
      autoclose int sub = openat (dirfd (d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        {
          if (errno == EACCES)
            {
              cage_warn ("cannot read `%s`: %s", path, strerror (errno));
              continue;
            }
          return cage_error_set (err, errno, "open `%s`", path);
        }
      if (walk (w, sub, path, depth + 1, err) < 0)
        return -1;
    }
  if (errno)
    return cage_error_set (err, errno, "read `%s`", *rel ? rel : ".");
  return 0;
}

int
cmd_check (int argc, char **argv)
{
  static const struct option opts[] = {
    { "blacklist", required_argument, NULL, 'b' }, { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },        { "help", no_argument, NULL, 'h' },
    { "scan", no_argument, NULL, 'S' },           { NULL, 0, NULL, 0 },
  };
  struct cage_config flags;
  config_init (&flags);
  bool json = false;
  int c, rc = 1;
  optind = 1;
  while ((c = getopt_long (argc, argv, "b:Sjvh", opts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        if (config_add_blacklist (&flags, optarg) < 0)
          {
            config_free (&flags);
            return 1;
          }
        break;
      case 'S': flags.blacklist_scan = true; break;
      case 'j': json = true; break;
      case 'v': cage_log_verbose++; break;
      case 'h':
        printf ("usage: cagefs check PROJECT [--blacklist GLOB]... [--scan] [--json]\n"
                "  list what the blacklist hides in PROJECT's workspace, and the pattern\n"
                "  that decides each (cage.json's blacklist, the defaults, --blacklist);\n"
                "  with the scan on (cage.json's \"blacklist\": {\"scan\": true}, or --scan)\n"
                "  also the files hidden for their content: \"(content: private key)\" ...\n");
        config_free (&flags);
        return 0;
      default:
        config_free (&flags);
        return cli_bad_option (CMD, argv);
      }
  if (optind != argc - 1)
    {
      config_free (&flags);
      return cli_usage_error (CMD, "expected exactly one PROJECT directory");
    }
  struct cage_error err = { 0 };
  struct project_paths pp;
  struct cage_config cfg;
  struct blacklist bl = { 0 };
  config_init (&cfg);
  bool have_pp = false;
  autoclose int root = -1;
  if (paths_project (argv[optind], false, &pp, &err) < 0)
    goto out;
  have_pp = true;
  if (config_load_project (&cfg, pp.project, &err) < 0)
    goto out;
  for (size_t i = 0; i < flags.n_blacklist; i++)
    if (config_add_blacklist (&cfg, flags.blacklist[i]) < 0)
      {
        cage_error_set (&err, ENOMEM, "blacklist");
        goto out;
      }
  if (blacklist_init (&bl, cfg.blacklist, !cfg.blacklist_no_defaults, &err) < 0)
    goto out;
  root = open (pp.project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    {
      cage_error_set (&err, errno, "open the project `%s`", pp.project);
      goto out;
    }
  struct walk w = { .bl = &bl, .list = json ? json_array () : NULL,
                    .scan = cfg.blacklist_scan || flags.blacklist_scan };
  if (walk (&w, root, "", 0, &err) < 0)
    {
      json_decref (w.list);
      goto out;
    }
  json_t *repos = agent_repos_list (pp.state, pp.project);
  if (!repos)
    {
      json_decref (w.list);
      cage_error_set (&err, ENOMEM, "check");
      goto out;
    }
  if (json)
    cli_print_json (json_pack ("{s:s, s:I, s:b, s:b, s:o, s:o}", "project", pp.project, "count",
                               (json_int_t) w.hidden, "defaults", !cfg.blacklist_no_defaults,
                               "scan", w.scan, "hidden", w.list, "agent_repositories", repos));
  else
    {
      if (w.scan)
        printf ("%zu hidden in %s (%zu files scanned)\n", w.hidden, pp.project, w.scanned);
      else
        printf ("%zu hidden in %s\n", w.hidden, pp.project);
      size_t i;
      json_t *r;
      json_array_foreach (repos, i, r)
        {
          fputs ("repository made by the agent: ", stdout);
          term_fputs (json_string_value (r), 0, stdout);
          putchar ('\n');
        }
      json_decref (repos);
    }
  rc = 0;
out:
  if (rc)
    cage_error_print (&err, "cagefs", json);
  blacklist_free (&bl);
  config_free (&cfg);
  config_free (&flags);
  if (have_pp)
    paths_free (&pp);
  return rc;
}
