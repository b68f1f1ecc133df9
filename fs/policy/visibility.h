/* visibility.h - what the agent may see and name in a view: the closure
   filter at the store's top level and the secret blacklist, decided at every
   lookup from the parent node and the name. */
#ifndef CAGE_VISIBILITY_H
#define CAGE_VISIBILITY_H

#include <stdbool.h>
#include <sys/stat.h>

#include "node.h"
#include "policy.h"

/* 0 when the entry PP (policy.h) may be looked up or listed; -ENOENT when
   it is hidden or outside the closure, or its name is not a single
   component. */
/* The same without the tracked view's set: 0 when only that hides PP. */
int visibility_check_untracked (const struct policy_path *pp);
int visibility_check_path (const struct policy_path *pp);

/* 0 when the real file ST (just stat'ed in VIEW) may be shown; -ENOENT when
   - VIEW shows only what is world-readable (the store of the non-writable
     modes and the host home view when root invokes: sessions the kernel
     does not check permissions on) and ST is not world-readable
     (a file without S_IROTH, a folder without S_IROTH | S_IXOTH; symlinks
     always are): the daemon reads as itself, so what not every user may
     read is hidden (Nix's canonical store modes are all world-readable;
     lock files such as /nix/store/NAME.lock, 0600, are not), or
   - it is a regular file and
   - it has several links and one of its names is hidden: then it is
     hidden under every name (hidden_inodes.h; costs nothing for a file
     with one link), or
   - the view scans contents and the file's start holds a private key or a
     token (scan_cache.h): it is read once per version.
   The file is NAME in the folder FD, or with NAME "" the O_PATH fd FD
   itself (only read when scanning). */
int visibility_check_inode (const struct view *view, int fd, const char *name,
                            const struct stat *st);

/* Does visibility_check_inode decide anything in VIEW?  (When not, callers
   skip the stat it needs.) */
bool visibility_checks_inodes (const struct view *view);

/* Would renaming the directory entry PP move a hidden entry to a path
   where the blacklist no longer covers it?  True when its name matches a
   non-final component of a hiding path pattern (".docker" for "**"
   "/.docker/config.json").  DEST: PP is the new name; then true when it
   matches a non-final component of a re-including ("!") pattern. */
bool visibility_guards_rename (const struct policy_path *pp, bool dest);

/* Protected files (cage.json's "protected" and its defaults: the project's
   own cage.json, .git/config, .git/hooks, shell rc files, .envrc, editor
   and MCP configuration): the agent may read them but not create, change,
   rename or delete them.  True when the workspace entry PP (a name in a
   folder, or an existing node) is one; a repository the agent made is not
   covered (agent_repos.h). */
bool visibility_protected_path (const struct policy_path *pp);
/* Would renaming the folder PP move a protected path (".git" for
   ".git/config")? */
bool visibility_guards_protected (const struct policy_path *pp);

#endif
