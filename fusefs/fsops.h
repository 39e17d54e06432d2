/*
 * fsops.h - the FUSE handlers: fsops.c (the table and every handler but
 * the extended attributes) and fsxattr.c.
 */
#ifndef SWAPOBJFS_FSOPS_H
#define SWAPOBJFS_FSOPS_H

#include "fs.h"

extern const struct fuse_lowlevel_ops fs_ops;

/* ---- fsxattr.c ---- */
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
