/* cli.h - the cagefs subcommands. Each returns the process exit status. */
#ifndef CAGE_CLI_H
#define CAGE_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "net_policy.h"

int cmd_mount (int argc, char **argv);
int cmd_umount (int argc, char **argv);
int cmd_status (int argc, char **argv);
int cmd_init (int argc, char **argv);
int cmd_copy (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_list (int argc, char **argv);
int cmd_destroy (int argc, char **argv);
int cmd_audit (int argc, char **argv);
int cmd_config (int argc, char **argv);
int cmd_diff (int argc, char **argv);
int cmd_accept (int argc, char **argv);
int cmd_discard (int argc, char **argv);
int cmd_doctor (int argc, char **argv);

/* Parse `CMD [--json] [-v] PROJECT`.  Returns 0 with *PROJECT set, or
   the exit status of a usage error. */
int cli_parse_project (int argc, char **argv, const char *cmd, bool *json, const char **project);

/* A JSON array of the strings of V (NULL-terminated, may be NULL). */
json_t *cli_strv_json (char **v);
/* [{"entry": TEXT, "origin": ORIGIN}, ...] (origin null when unknown). */
json_t *cli_allow_json (const struct net_policy *p);
size_t cli_strv_len (char **v);

/* Print J (stolen) as one compact line on stdout. */
void cli_print_json (json_t *j);
/* An unknown option (after getopt_long returned '?'): one line, status 2. */
int cli_bad_option (const char *cmd, char **argv);
/* Report a usage problem: one line, exit status 2. */
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
