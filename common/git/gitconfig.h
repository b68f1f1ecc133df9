/* gitconfig.h - read a file as git reads its config, and find the keys that
   make git run a program (core.fsmonitor, a hook path, a pager, an editor,
   a diff or merge driver, a filter, a credential helper, an alias with
   "!", include files, ...).

   The parser follows git's own (config.c: get_next_char, get_base_var,
   get_extended_base_var, get_value, parse_value) step by step: what git
   cannot parse it refuses as a whole ("fatal: bad config line"), so such
   a file runs nothing and is not reported. */
#ifndef CAGE_GITCONFIG_H
#define CAGE_GITCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Is the git config text BUF (LEN bytes) free of keys that run a program?
   true: it is (or git would refuse it whole).  false: KEY (KEY_SIZE bytes,
   may be NULL) holds the first such key as git names it
   ("core.fsmonitor", "diff.x.textconv", "alias.st"). */
bool gitconfig_runs_nothing (const char *buf, size_t len, char *key, size_t key_size);

/* Does the full key NAME (section[.subsection].key as git spells it:
   section and key lower case) with VALUE (NULL: a bare key, true) make git
   run a program, read another file as config, or act outside the
   repository? */
bool gitconfig_key_runs (const char *name, const char *value);

#endif
