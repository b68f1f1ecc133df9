/* git_guard.h - no file the agent writes becomes a program git runs on the
   host.

   The agent may make repositories of its own (clone, init, worktrees), so
   git's files cannot all be protected by name.  Instead these hold in
   every folder of every writable view, whatever the repository and
   however git reaches it (a .git folder, a gitdir: or commondir
   indirection, a bare repository, a submodule's modules/ folder):

   - a file named "config" or "config.worktree" never holds a key that
     makes git run a program (gitconfig.h).  Every write, truncation and
     rename onto such a name is checked against the content it would
     leave; fallocate and copy_file_range into one are refused;
   - a file named like a git hook ("pre-commit", ...) in a folder named
     "hooks" is never executable: created without its x bits, a chmod
     adding one is refused, and neither a rename of an executable file
     nor of a folder holding one may bring it there;
   - none of those, and nothing named ".git" or "hooks", is a symlink
     (git would follow it to a file nobody checked), and none of those
     files has a second link (a name nobody checks to write through).

   A refusal is EACCES with a reason for the audit log.  Checks and the
   changes they allow happen under one lock: held alone by renames, chmods
   that add an x bit and writes to a config, shared by every other write,
   so no rename, chmod or write slips between a check and its change. */
#ifndef CAGE_GIT_GUARD_H
#define CAGE_GIT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node.h"
#include "policy.h"

#define GIT_GUARD_WHY 320

/* Serialize a check and the change it allows (alone, or shared with the
   other writes that need no check). */
void git_guard_lock (void);
void git_guard_lock_shared (void);
void git_guard_unlock (void);

/* Does git run or read as config the entry PP (policy.h: an existing
   node, or a name in a folder)?  Cheap: names only. */
bool git_guard_path (const struct policy_path *pp);

/* A new entry PP of type and mode *MODE (S_IFREG, S_IFDIR, S_IFLNK, ...):
   0, with a hook's x bits cleared from *MODE, or -EACCES and WHY. */
int git_guard_new (const struct policy_path *pp, mode_t *mode, char *why);

/* A hard link of the node SRC as DST. */
int git_guard_link (const struct policy_path *src, const struct policy_path *dst, char *why);

/* The entry EFD (an O_PATH fd of the file, folder or symlink; -1: none)
   is renamed to DST (a RENAME_EXCHANGE is two such moves).  The caller
   holds git_guard_lock until the rename is done. */
int git_guard_move (int efd, const struct policy_path *dst, char *why);

/* A chmod of the node PP (FD its O_PATH fd) to MODE. */
int git_guard_chmod (const struct policy_path *pp, int fd, mode_t mode, char *why);

/* Writing SIZE bytes DATA at OFF into the node PP (FD its O_PATH fd); with
   DATA NULL a truncation to OFF. */
int git_guard_write (const struct policy_path *pp, int fd, const char *data, size_t size, off_t off,
                     char *why);

/* The same rules for a file at rest: REL (a path beneath DIRFD, where its
   content is read) of type and mode MODE, as `cagefs accept` is about to
   apply it.  0, or -EACCES and WHY. */
int git_guard_file (int dirfd, const char *rel, mode_t mode, char *why);

#endif
