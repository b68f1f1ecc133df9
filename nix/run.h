/* run.h - running the real Nix tools (nix-store, nix) and collecting what
   they print: stdout in full, stderr's first error line for messages. */
#ifndef CAGE_NIX_RUN_H
#define CAGE_NIX_RUN_H

#include <stddef.h>

#include "error.h"

struct nix_output
{
  char *out;      /* stdout, NUL-terminated */
  size_t out_len;
  char *errtext;  /* stderr, NUL-terminated */
};

/* Run any program ARGV (argv[0] looked up in PATH) with IN (IN_LEN bytes,
   may be NULL) on its stdin and collect its stdout and stderr into OUT
   (free with nix_output_free) and its wait status into *STATUS.  -1 with
   ERR only when it could not be run or read (HINT: how to install it). */
int run_capture (char *const *argv, const char *in, size_t in_len, const char *hint,
                 struct nix_output *out, int *status, struct cage_error *err);

/* The same with the environment ENVP instead of ours. */
int run_capture_env (char *const *argv, char *const *envp, const char *in, size_t in_len,
                     const char *hint, struct nix_output *out, int *status,
                     struct cage_error *err);

/* Run ARGV (argv[0] looked up in PATH) with IN (IN_LEN bytes, may be NULL)
   on its stdin.  Returns 0 when it exits 0; otherwise -1 with ERR saying
   "ARGV[0] ARGV[1] failed: <first error line of stderr>".  OUT (may be
   NULL) receives the output either way; free with nix_output_free.  */
int nix_run (char *const *argv, const char *in, size_t in_len, struct nix_output *out,
             struct cage_error *err);
void nix_output_free (struct nix_output *o);

/* First line of TEXT that starts with "error: " (without it), else the
   first non-empty line; TEXT is modified. */
const char *nix_error_line (char *text);

#endif
