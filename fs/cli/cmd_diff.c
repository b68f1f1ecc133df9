/* cmd_diff.c - `cagefs diff PROJECT [--stat] [--json] [PATH...]`: what the
   agent changed in the cow view, as a unified diff against the project
   (diff -u of diffutils for the text). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blacklist.h"
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "cow_changes.h"
#include "log.h"
#include "run.h"
#include "safe_open.h"
#include "term_escape.h"


static const char *
type_name (mode_t m)
{
  return S_ISDIR (m) ? "dir" : S_ISLNK (m) ? "symlink" : S_ISREG (m) ? "file" : "other";
}

/* Open a regular file REL beneath ROOT for diff(1): inheritable. */
static int
open_for_diff (int root, const char *rel)
{
  int fd = safe_openat (root, rel, O_RDONLY);
  if (fd >= 0)
    fcntl (fd, F_SETFD, 0);
  return fd;
}

static bool
binary (int fd)
{
  if (fd < 0)
    return false;
  char buf[8192];
  ssize_t n = pread (fd, buf, sizeof buf, 0);
  return n > 0 && memchr (buf, '\0', (size_t) n) != NULL;
}

/* diff -u of the fds A and B (-1: /dev/null) into *OUT. */
static int
run_diff (int a, int b, const char *la, const char *lb, char **out, struct cage_error *err)
{
  char pa[64], pb[64];
  snprintf (pa, sizeof pa, a >= 0 ? "/dev/fd/%d" : "/dev/null", a);
  snprintf (pb, sizeof pb, b >= 0 ? "/dev/fd/%d" : "/dev/null", b);
  char *argv[] = { (char *) "diff", (char *) "-u", (char *) "--label", (char *) la,
                   (char *) "--label", (char *) lb, pa, pb, NULL };
  struct nix_output o;
  int status;
  if (run_capture (argv, NULL, 0, "apt-get install diffutils", &o, &status, err) < 0)
    return -1;
  /* diff exits 1 when the files differ */
  if (!WIFEXITED (status) || WEXITSTATUS (status) > 1)
    {
      nix_output_free (&o);
      return cage_error_set (err, 0, "diff -u %s %s failed", la, lb);
    }
  *out = steal_ptr (&o.out);
  nix_output_free (&o);
  return 0;
}

/* Is PATH (or a folder on its way) hidden by the blacklist? */
static bool
secret (const struct blacklist *bl, const char *path, mode_t mode)
{
  char prefix[4096];
  snprintf (prefix, sizeof prefix, "%s", path);
  for (char *p = prefix;; p++)
    if (*p == '/' || *p == '\0')
      {
        char c = *p;
        *p = '\0';
        bool last = c == '\0';
        if (blacklist_match (bl, prefix, !last || S_ISDIR (mode)))
          return true;
        if (last)
          return false;
        *p = c;
      }
}

struct file_diff
{
  char *text;      /* the whole text for this change */
  bool binary;
  long ins, del;
};

static int
append (char **s, size_t *len, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static int
append (char **s, size_t *len, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *add = NULL;
  int n = vasprintf (&add, fmt, ap);
  va_end (ap);
  if (n < 0)
    return -1;
  char *ns = realloc (*s, *len + (size_t) n + 1);
  if (!ns)
    {
      free (add);
      return -1;
    }
  memcpy (ns + *len, add, (size_t) n + 1);
  *len += (size_t) n;
  *s = ns;
  free (add);
  return 0;
}

static void
link_target (int root, const char *rel, char *buf, size_t size)
{
  buf[0] = '\0';
  char parent[4096];
  const char *slash = strrchr (rel, '/');
  snprintf (parent, sizeof parent, "%.*s", slash ? (int) (slash - rel) : 0, rel);
  autoclose int pfd = parent[0] ? safe_openat (root, parent, O_PATH | O_DIRECTORY)
                                : openat (root, ".", O_PATH | O_CLOEXEC);
  ssize_t n = pfd < 0 ? -1 : readlinkat (pfd, slash ? slash + 1 : rel, buf, size - 1);
  buf[n < 0 ? 0 : n] = '\0';
}

/* Text for people (HUMAN) shows the agent's names, link targets and file
   contents escaped (term_escape.h): a newline in a name starts no line, an
   escape sequence reaches no terminal.  --json gets them exact. */
static int
describe (const struct cow_changes *cs, const struct cow_change *ch, const struct blacklist *bl,
          bool human, struct file_diff *fd, struct cage_error *err)
{
  memset (fd, 0, sizeof *fd);
  size_t len = 0;
  const char *old = ch->kind == COW_RENAMED ? ch->from : ch->path;
  char *e_old = human ? term_escape_str (old, 0) : (char *) old;
  char *e_path = human ? term_escape_str (ch->path, 0) : ch->path;
  char *e_from = human && ch->from ? term_escape_str (ch->from, 0) : ch->from;
  char la[4200], lb[4200];
  snprintf (la, sizeof la, "a/%s", e_old);
  snprintf (lb, sizeof lb, "b/%s", e_path);
  if (human)
    {
      term_escape_free (e_old);
      term_escape_free (e_path);
    }
  bool ok = append (&fd->text, &len, "diff --cagefs %s %s\n", la, lb) == 0;
  switch (ch->kind)
    {
    case COW_CREATED:
      ok = ok && append (&fd->text, &len, "new %s mode %06o\n", S_ISDIR (ch->mode) ? "directory" : "file",
                         (unsigned) ch->mode) == 0;
      break;
    case COW_DELETED:
      ok = ok && append (&fd->text, &len, "deleted %s mode %06o\n",
                         S_ISDIR (ch->mode) ? "directory" : "file", (unsigned) ch->mode) == 0;
      break;
    case COW_MODIFIED:
      if ((ch->mode & 07777) != (ch->old_mode & 07777) || (ch->mode & S_IFMT) != (ch->old_mode & S_IFMT))
        ok = ok && append (&fd->text, &len, "old mode %06o\nnew mode %06o\n",
                           (unsigned) ch->old_mode, (unsigned) ch->mode) == 0;
      break;
    case COW_RENAMED:
      ok = ok && append (&fd->text, &len, "rename from %s\nrename to %s\n", e_from, lb + 2) == 0;
      break;
    }
  if (human && e_from)
    term_escape_free (e_from);
  if (!ok)
    return cage_error_set (err, ENOMEM, "diff");
  if (S_ISDIR (ch->mode))
    return 0;
  /* A secret moved with its folder: say so, never show it. */
  if (secret (bl, ch->path, ch->mode) || (ch->from && secret (bl, ch->from, ch->mode)))
    return append (&fd->text, &len, "(hidden by the blacklist: content not shown)\n") < 0
             ? cage_error_set (err, ENOMEM, "diff") : 0;
  bool a_side = ch->kind != COW_CREATED, b_side = ch->kind != COW_DELETED;
  if (S_ISLNK (ch->mode) || !S_ISREG (ch->mode))
    {
      char ta[PATH_MAX] = "", tb[PATH_MAX] = "";
      if (a_side && S_ISLNK (ch->kind == COW_DELETED ? ch->mode : ch->old_mode ? ch->old_mode : ch->mode))
        link_target (cs->lower_fd, old, ta, sizeof ta);
      if (b_side && S_ISLNK (ch->mode))
        link_target (cs->upper_fd, ch->path, tb, sizeof tb);
      if (human)
        {
          char *ea = term_escape_str (ta, 0), *eb = term_escape_str (tb, 0);
          snprintf (ta, sizeof ta, "%s", ea);
          snprintf (tb, sizeof tb, "%s", eb);
          term_escape_free (ea);
          term_escape_free (eb);
        }
      if ((ta[0] || tb[0])
          && append (&fd->text, &len, "--- %s\n+++ %s\n%s%s%s%s%s%s", a_side ? la : "/dev/null",
                     b_side ? lb : "/dev/null", ta[0] ? "-symlink to " : "", ta, ta[0] ? "\n" : "",
                     tb[0] ? "+symlink to " : "", tb, tb[0] ? "\n" : "") < 0)
        return cage_error_set (err, ENOMEM, "diff");
      fd->ins = tb[0] ? 1 : 0;
      fd->del = ta[0] ? 1 : 0;
      return 0;
    }
  autoclose int a = a_side ? open_for_diff (cs->lower_fd, old) : -1;
  autoclose int b = b_side ? open_for_diff (cs->upper_fd, ch->path) : -1;
  if ((a_side && a < 0) || (b_side && b < 0))
    {
      /* not a regular file on that side (a type change): no text */
      return 0;
    }
  if (binary (a) || binary (b))
    {
      fd->binary = true;
      return append (&fd->text, &len, "Binary files %s and %s differ\n", a_side ? la : "/dev/null",
                     b_side ? lb : "/dev/null") < 0 ? cage_error_set (err, ENOMEM, "diff") : 0;
    }
  autofree char *out = NULL;
  if (run_diff (a, b, a_side ? la : "/dev/null", b_side ? lb : "/dev/null", &out, err) < 0)
    return -1;
  /* count the lines, past the two header lines */
  int headers = 0;
  for (const char *p = out; *p;)
    {
      const char *nl = strchr (p, '\n');
      if (headers < 2 && (strncmp (p, "---", 3) == 0 || strncmp (p, "+++", 3) == 0))
        headers++;
      else if (*p == '+')
        fd->ins++;
      else if (*p == '-')
        fd->del++;
      p = nl ? nl + 1 : p + strlen (p);
    }
  char *shown = human ? term_escape_str (out, TERM_KEEP_NEWLINE | TERM_KEEP_TAB) : out;
  int r = append (&fd->text, &len, "%s", shown);
  if (human)
    term_escape_free (shown);
  if (r < 0)
    return cage_error_set (err, ENOMEM, "diff");
  return 0;
}

int
cmd_diff (int argc, char **argv)
{
  static const struct option opts[] = {
    { "stat", no_argument, NULL, 's' },
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, stat = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "sjvh", opts, NULL)) != -1)
    switch (c)
      {
      case 's': stat = true; break;
      case 'j': json = true; break;
      case 'v': cage_log_verbose++; break;
      case 'h':
        printf ("usage: cagefs diff PROJECT [--stat] [--json] [PATH...]\n");
        return 0;
      default: return cli_bad_option ("diff", argv);
      }
  if (optind >= argc)
    return cli_usage_error ("diff", "expected a PROJECT directory");
  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (argv[optind], false, &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  char **sel = argv + optind + 1;
  struct cow_changes cs = { .upper_fd = -1, .lower_fd = -1 };
  struct cage_config cfg;
  config_init (&cfg);
  struct blacklist bl = { 0 };
  int rc = 1;
  json_t *arr = json ? json_array () : NULL;
  long tins = 0, tdel = 0;
  size_t nfiles = 0;
  if (config_load_project (&cfg, pp.project, &err) < 0
      || blacklist_init (&bl, cfg.blacklist, !cfg.blacklist_no_defaults, &err) < 0
      || cow_normalise_paths (sel, pp.project, &err) < 0 || cow_changes_collect (&pp, &cs, &err) < 0)
    goto out;
  for (size_t i = 0; i < cs.n; i++)
    {
      const struct cow_change *ch = &cs.v[i];
      if (!cow_selected (ch->path, sel) && !(ch->from && cow_selected (ch->from, sel)))
        continue;
      struct file_diff fd;
      if (describe (&cs, ch, &bl, !json, &fd, &err) < 0)
        {
          free (fd.text);
          goto out;
        }
      nfiles++;
      tins += fd.ins;
      tdel += fd.del;
      if (json)
        {
          json_t *o = json_pack ("{s:s, s:s, s:s, s:b, s:I, s:I, s:s}", "path", ch->path, "status",
                                 cow_kind_name (ch->kind), "type", type_name (ch->mode), "binary",
                                 fd.binary, "insertions", (json_int_t) fd.ins, "deletions",
                                 (json_int_t) fd.del, "diff", fd.text ? fd.text : "");
          if (o && ch->from)
            json_object_set_new (o, "from", json_string (ch->from));
          json_array_append_new (arr, o);
        }
      else if (stat)
        {
          putchar (' ');
          if (ch->kind == COW_RENAMED)
            {
              term_fputs (ch->from, 0, stdout);
              fputs (" => ", stdout);
            }
          term_fputs (ch->path, 0, stdout);
          if (ch->kind != COW_RENAMED && S_ISDIR (ch->mode))
            putchar ('/');
          if (fd.binary)
            printf (" | Bin\n");
          else
            {
              printf (" | %ld ", fd.ins + fd.del);
              for (long k = 0; k < fd.ins && k < 40; k++)
                putchar ('+');
              for (long k = 0; k < fd.del && k < 40; k++)
                putchar ('-');
              printf (" (%s)\n", cow_kind_name (ch->kind));
            }
        }
      else
        fputs (fd.text, stdout);
      free (fd.text);
    }
  if (json)
    cli_print_json (json_pack ("{s:s, s:o, s:I, s:I, s:I}", "project", pp.project, "changes", arr,
                               "files", (json_int_t) nfiles, "insertions", (json_int_t) tins,
                               "deletions", (json_int_t) tdel));
  else if (stat)
    printf (" %zu %s changed, %ld insertions(+), %ld deletions(-)\n", nfiles,
            nfiles == 1 ? "entry" : "entries", tins, tdel);
  arr = NULL;
  rc = 0;
out:
  json_decref (arr);
  if (rc != 0)
    cage_error_print (&err, "cagefs", json);
  cow_changes_free (&cs);
  blacklist_free (&bl);
  config_free (&cfg);
  paths_free (&pp);
  return rc;
}
