/*
 * fsnotify.h - kernel dentry invalidations, queued by handlers and sent from
 * a thread of their own (fsnotify.c).
 */
#ifndef SWAPOBJFS_FSNOTIFY_H
#define SWAPOBJFS_FSNOTIFY_H

#include "fs.h"

int fs_notify_start(struct fs *fs);
void fs_notify_stop(struct fs *fs);
/* Queue "drop the dentry (parent, name)" for the kernel. */
void fs_notify_entry(struct fs *fs, fuse_ino_t parent, const char *name);

#endif
