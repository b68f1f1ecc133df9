/* tracked.h - the tracked workspace view: only what git tracks is visible
   (`git -C PROJECT ls-files -z` at mount time, and the folders holding
   those files), plus what the agent creates during the session.  Untracked
   and ignored files are hidden like secrets: ENOENT, never listed, never
   created over.  Files git starts tracking later show after a remount. */
#ifndef CAGE_TRACKED_H
#define CAGE_TRACKED_H

#include "error.h"
#include "node.h"

/* Read the tracked set of PROJECT for VIEW.  One error line when PROJECT
   is no git work tree or git is missing. */
int tracked_init (struct view *view, const char *project, struct cage_error *err);
void tracked_fini (void);

/* 0 when PARENT/NAME may be seen (tracked, created by the agent, or not
   there at all); -ENOENT when it is an untracked host entry.  0 for every
   view but the tracked one.  REL: its path in the view (policy.h), NULL
   when too long. */
int tracked_check (struct node *parent, const char *name, const char *rel);
/* The agent created PARENT/NAME, path REL (or renamed a file to it). */
void tracked_created (struct node *parent, const char *name, const char *rel);
/* The agent makes the folder PARENT/NAME (path REL) where the host has an
   untracked EMPTY folder (git tracks no folder, only files: an empty one
   is never in the tracked set, and git itself makes them, e.g.
   objects/pack): it becomes the agent's, as if its mkdir had made it.  1
   when so (the caller answers as for a new folder), 0 otherwise. */
int tracked_adopt_empty_dir (struct node *parent, const char *name, const char *rel);
/* Renaming a folder would carry untracked entries to a new name: -EXDEV
   (tools then copy what they see).  0 otherwise. */
int tracked_rename_check (struct node *parent, const char *name);

#endif
