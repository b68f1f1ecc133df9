/* safe_open.h - open a path beneath a directory fd without ever leaving it
   or following a symlink: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
   RESOLVE_NO_MAGICLINKS), or, where openat2 is missing (kernels before 5.6,
   valgrind), a walk of O_PATH | O_NOFOLLOW fds one component at a time. */
#ifndef CAGE_SAFE_OPEN_H
#define CAGE_SAFE_OPEN_H

/* FLAGS are open(2) flags; O_NOFOLLOW and O_CLOEXEC are always added.
   Returns an fd or -1 with errno set (ELOOP for a symlink on the way,
   EXDEV/EINVAL-like refusals as EPERM for "..").  */
int safe_openat (int dirfd, const char *path, int flags);

#endif
