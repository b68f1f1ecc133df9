/* tree.h - the daemon's one root tree, built from the views (tree.c). */
#ifndef CAGE_TREE_H
#define CAGE_TREE_H

#include <sys/types.h>

#include "blacklist.h"
#include "config.h"
#include "error.h"
#include "node.h"
#include "paths.h"
#include "state.h"
#include "store_mode.h"

struct fuse_session;

struct cagefs
{
  struct node *root;         /* the root tree's root (session 1) */
  struct node *store_root;   /* the store view's root: also the store
                                session's root */
  struct fuse_session *store_session; /* that session, once made */
  struct view workspace, store;
  struct view host_home;     /* home.host: the real home, read-only (root_fd -1: none) */
  struct blacklist blacklist;
  struct blacklist host_home_blacklist; /* the blacklist, and the state root */
  struct blacklist protect;  /* workspace files the agent may not change */
  uid_t host_uid, cage_uid;  /* attributes: host_uid is shown as cage_uid */
  gid_t host_gid, cage_gid;
};

extern struct cagefs cagefs;

/* Build the synthetic tree and views. */
int tree_build (struct cagefs *fs, const struct cage_config *cfg,
                const struct project_paths *pp, const struct cage_state *st,
                const struct store_setup *ss, struct cage_error *err);

/* Free what tree_build made (and what serve hung on it: the hidden
   inodes, the scan cache), after the sessions are gone. */
void tree_free (struct cagefs *fs);

#endif
