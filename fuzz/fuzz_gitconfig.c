/* fuzz_gitconfig.c - libFuzzer target: common/git/gitconfig.c against git itself.

   For any bytes, besides ASan/UBSan: when the real git (git config -f FILE
   --list -z) reads from them a key that gitconfig_key_runs() says makes git
   run a program, gitconfig_runs_nothing() must have refused the bytes.  A
   parser that reads less than git does would let such a key through: this
   is the check that it does not.  Without git on PATH only the sanitizers
   check. */
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gitconfig.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

extern char **environ;

static char file[64];
static bool have_git = true;

/* git's --list -z output of FILE into BUF; its length, or -1. */
static ssize_t
git_list (char *buf, size_t cap)
{
  int fds[2];
  if (pipe (fds) < 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, fds[1], 1);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", 0, 0);
  posix_spawn_file_actions_addclose (&fa, fds[0]);
  char *argv[] = { "git", "config", "-f", file, "--list", "-z", NULL };
  char *envp[] = { "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1", "PATH=/usr/bin:/bin", NULL };
  pid_t pid;
  int r = posix_spawnp (&pid, "git", &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  close (fds[1]);
  if (r != 0)
    {
      close (fds[0]);
      have_git = false;
      return -1;
    }
  size_t len = 0;
  ssize_t n;
  while (len < cap && (n = read (fds[0], buf + len, cap - len)) > 0)
    len += (size_t) n;
  close (fds[0]);
  int status;
  waitpid (pid, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return -1; /* git refused the file: nothing of it runs */
  return (ssize_t) len;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char key[256];
  bool safe = gitconfig_runs_nothing ((const char *) data, size, key, sizeof key);
  if (!have_git || size > 4096)
    return 0;
  if (!file[0])
    snprintf (file, sizeof file, "/tmp/fuzz-gitconfig-%d", (int) getpid ());
  FILE *f = fopen (file, "w");
  if (!f)
    return 0;
  fwrite (data, 1, size, f);
  fclose (f);
  static char out[1 << 16];
  ssize_t len = git_list (out, sizeof out - 1);
  if (len < 0)
    return 0;
  out[len] = '\0';
  /* entries "key\nvalue\0" or "key\0" (a bare key) */
  for (char *e = out; e < out + len;)
    {
      size_t elen = strlen (e);
      char *next = e + elen + 1;
      char *nl = memchr (e, '\n', elen);
      const char *value = NULL;
      if (nl)
        {
          *nl = '\0';
          value = nl + 1;
        }
      if (safe && gitconfig_key_runs (e, value))
        {
          fprintf (stderr, "fuzz_gitconfig: git reads %s (= %s) that runs a program, but the "
                   "parser passed the file\n", e, value ? value : "(bare)");
          abort ();
        }
      e = next;
    }
  return 0;
}
