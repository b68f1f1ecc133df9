/* policy.h - one policy gate: each request builds the agent-visible path of
   what it names once, under one node_lock acquisition (a rename: both ends
   in the same one), and asks one function for one verdict.

   A struct policy_path holds what the rules need to know about an entry:
   its path relative to its view's root, the name of the folder holding it
   (git's "hooks"), whether that folder is the view's root, and whether it
   lies beneath a ".git" the agent made (agent_repos.h).  Every name-based
   rule reads it from there: the blacklist and the closure filter
   (visibility.h), protected files, the tracked set (tracked.h), git's
   names (git_guard.h), and the audit log (audit.h), which logs the path
   the verdict was made on.  The checks that need a file's data (a git
   config's content, a hook's mode, hidden inodes, the content scan, a
   folder-only pattern's "is it a folder?") still read it, fed the
   precomputed names.

   Counters: per request kind, the requests served and the node_lock
   acquisitions made to build paths while serving them (the builders here,
   and any node_relpath / node_relpath_child still called, e.g. by the cow
   view's own path needs in cow.c).  With $CAGEFS_POLICY_STATS=FILE in the
   daemon's environment (an absolute path; read once), the daemon rewrites
   FILE after each counted request (to FILE.tmp, renamed over FILE) with

     {"lookup":{"requests":N,"path_locks":M},"create":{...},...}

   `cagefs status` has no channel to the daemon's memory, so this file is
   how tests read them. */
#ifndef CAGE_POLICY_H
#define CAGE_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "node.h"

struct policy_path
{
  /* The folder holding the entry: the request's parent (PARENT/NAME), or
     the node's parent (a node; NULL for a view root or a synthetic node). */
  struct node *dir;
  struct node *node;       /* the entry itself when built from a node */
  struct view *view;       /* DIR's view (the node's) */
  bool real;               /* beneath a view (DIR, or the node, is NODE_REAL) */
  bool top;                /* DIR is its view's root */
  bool agent_repo;         /* DIR is, or is beneath, a ".git" the agent made
                              (the workspace with protected files only) */
  int err;                 /* 0, or -ENAMETOOLONG: REL is not valid */
  int dir_err;             /* the same for DIR's part */
  const char *name;        /* the entry's name */
  size_t dir_len;          /* REL's first DIR_LEN bytes: DIR's path */
  char dir_name[NAME_MAX + 1]; /* DIR's own name, "" at the view root */
  char own_name[NAME_MAX + 1]; /* a node's name (NAME points here) */
  char rel[PATH_MAX];      /* DIR/NAME relative to the view's root */
};

/* Builders, each one node_lock acquisition.  PARENT/NAME (NAME is kept by
   reference: the request's), a node N, the two ends of a rename, or a
   node and a new name for it (link). */
void policy_path_at (struct policy_path *pp, struct node *parent, const char *name);
void policy_path_node (struct policy_path *pp, struct node *n);
void policy_path_pair (struct policy_path *from, struct node *p, const char *name,
                       struct policy_path *to, struct node *np, const char *newname);
void policy_path_link (struct policy_path *src, struct node *n, struct policy_path *dst,
                       struct node *np, const char *newname);
/* Another entry NAME of the same folder (a listing): no lock. */
void policy_path_name (struct policy_path *pp, const char *name);

/* Verdicts: 0, or a negative errno (the audit log's result: -ENOENT
   hidden, -EACCES denied, -EROFS read-only).  WHY (GIT_GUARD_WHY bytes)
   gets git's reason. */

/* May PP be looked up or listed? (blacklist, closure, tracked set) */
int policy_lookup (const struct policy_path *pp);
/* May the agent change the existing entry PP (a node: open for writing,
   setattr, xattrs)?  -EROFS, -EACCES (protected) or 0. */
int policy_write (const struct policy_path *pp);
/* May a new entry be named PP (create, mkdir, rename's target)?  Its folder
   writable, the name neither hidden, nor protected, nor an existing file
   hidden by another of its names, nor the cow view's own. */
int policy_new_name (const struct policy_path *pp);
/* policy_new_name, no device nodes, and git's rules for a new entry of type
   and mode *MODE (a hook's x bits are cleared from *MODE). */
int policy_make (const struct policy_path *pp, mode_t *mode, char *why);
/* A hard link of the node SRC as DST. */
int policy_link (const struct policy_path *src, const struct policy_path *dst, char *why);
/* May PP be unlinked or removed? */
int policy_remove (const struct policy_path *pp);
/* May FROM be renamed to TO (FLAGS: renameat2's)?  The caller holds
   git_guard_lock until the rename is done. */
int policy_rename (const struct policy_path *from, const struct policy_path *to,
                   unsigned flags, char *why);
/* Of a refused rename (R), is the target the side to blame? */
bool policy_rename_blames_target (const struct policy_path *from, const struct policy_path *to,
                                  int r);

/* Request kinds counted. */
enum policy_kind
{
  POLICY_LOOKUP,
  POLICY_READDIR,
  POLICY_CREATE,
  POLICY_MKNOD,
  POLICY_MKDIR,
  POLICY_SYMLINK,
  POLICY_LINK,
  POLICY_UNLINK,
  POLICY_RMDIR,
  POLICY_RENAME,
  POLICY_OPEN,
  POLICY_SETATTR,
  POLICY_WRITE,
  POLICY_KINDS
};

/* This thread serves a request of KIND until policy_end. */
void policy_begin (enum policy_kind kind);
void policy_end (void);

struct policy_stats
{
  unsigned long long requests, path_locks;
};
void policy_stats (enum policy_kind kind, struct policy_stats *out);
const char *policy_kind_name (enum policy_kind kind);

#endif
