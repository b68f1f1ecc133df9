/* cli.h - the cagefs subcommands. Each returns the process exit status. */
#ifndef CAGE_CLI_H
#define CAGE_CLI_H

#include <jansson.h>
#include <stdbool.h>

int cmd_mount (int argc, char **argv);
int cmd_umount (int argc, char **argv);
int cmd_status (int argc, char **argv);
int cmd_init (int argc, char **argv);

/* Print J (stolen) as one compact line on stdout. */
void cli_print_json (json_t *j);
/* Report a usage problem: one line, exit status 2. */
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
