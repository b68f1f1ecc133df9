/* cgroup_path.h - which cgroup a process is in, read from /proc/PID/cgroup
   (shared by the launcher's limits and cagefs doctor's check of them). */
#ifndef CAGE_CGROUP_PATH_H
#define CAGE_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* The path of the cgroup PROC_FILE ("/proc/self/cgroup") names in the
   hierarchy with controller CTL ("memory", ...; "" for cgroup v2) into BUF.
   false when there is none (or it does not fit). */
bool cgroup_path_of (const char *proc_file, const char *ctl, char *buf, size_t size);

/* The mount point of the cgroup hierarchy with controller CTL ("" for v2)
   that MOUNTINFO ("/proc/self/mountinfo") lists into BUF; false when none. */
bool cgroup_mount_of (const char *mountinfo, const char *ctl, char *buf, size_t size);

/* Does the cgroup folder DIR enable controller CTL for its children
   (DIR/cgroup.subtree_control names it)? */
bool cgroup_has_controller (const char *dir, const char *ctl);

#endif
