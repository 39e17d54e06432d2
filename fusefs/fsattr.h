/*
 * fsattr.h - file attributes of swapobjfs, kept in an object's aux data.
 *
 * Encoding, version 1 (all fields little-endian; docs/swapobjfs.md is the
 * reference):
 *
 *   off size field
 *     0    2 magic "SF" (0x53 0x46)
 *     2    1 version (1)
 *     3    1 flags: bit 0 FSATTR_F_RDEV (see below); readers ignore bits
 *              they do not know
 *     4    4 st_mode, file type bits included (S_IFREG, S_IFDIR, S_IFLNK,
 *              S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK)
 *     8    4 uid
 *    12    4 gid
 *    16   12 atime: s64 seconds, u32 nanoseconds
 *    28   12 mtime
 *    40   12 ctime
 *    52    2 link_len: bytes of symlink target that follow (0 unless S_IFLNK)
 *    54    2 nxattr: extended attributes that follow the target
 *    56    8 rdev: only with FSATTR_F_RDEV, which is set exactly for
 *              character and block devices (st_rdev as the kernel gives it)
 *    56/64 . target bytes, then nxattr entries of
 *              u8 name_len (1..255), u16 value_len, name (no NUL), value
 *
 * FIFOs, sockets and device nodes were added without a new version: a
 * reader that predates them rejects such a record by its file type (and so
 * never misreads the rdev field as the target).
 *
 * The whole record is at most FSATTR_AUX_MAX (3072) bytes, the library's
 * aux limit: that bounds symlink targets and extended attributes together.
 *
 * Functions return 0 or a negative errno value (this is the file-system
 * side of the daemon, where errno is what the kernel gets).
 */
#ifndef SWAPOBJFS_FSATTR_H
#define SWAPOBJFS_FSATTR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FSATTR_VERSION 1
#define FSATTR_AUX_MAX 3072u
#define FSATTR_HDR 56u
#define FSATTR_XATTR_HDR 3u /* per entry: name_len, value_len */
#define FSATTR_RDEV_LEN 8u  /* the rdev field of device records */
#define FSATTR_F_RDEV 0x01u
/* Longest symlink target: everything after the header. */
#define FSATTR_LINK_MAX (FSATTR_AUX_MAX - FSATTR_HDR)

struct fsattr {
	uint32_t mode; /* st_mode with type */
	uint32_t uid, gid;
	uint64_t rdev; /* device number of S_IFCHR, S_IFBLK; 0 otherwise */
	struct timespec atime, mtime, ctime;
	uint16_t link_len; /* symlink target bytes at the start of tail */
	uint16_t nxattr;
	uint32_t tail_len; /* target + encoded xattr entries */
	uint8_t *tail;     /* heap, NULL when tail_len is 0 */
};

/* Decode aux bytes; -EINVAL if malformed, -EPROTO for an unknown version, -ENOMEM. */
int fsattr_decode(struct fsattr *a, const void *aux, size_t len);
/* Encode into buf (cap bytes, FSATTR_AUX_MAX is always enough); returns the length or -ENOSPC. */
int fsattr_encode(const struct fsattr *a, void *buf, size_t cap);
/* Size of the encoding. */
size_t fsattr_size(const struct fsattr *a);
void fsattr_free(struct fsattr *a);
/* Deep copy (dst is overwritten, not freed). */
int fsattr_copy(struct fsattr *dst, const struct fsattr *src);

/* The value of xattr name, or -ENODATA. *val points into a->tail until the next change. */
int fsattr_xattr_get(const struct fsattr *a, const char *name, const uint8_t **val, size_t *vlen);
/*
 * Set xattr name (flags: XATTR_CREATE, XATTR_REPLACE). -EEXIST / -ENODATA
 * for the flags, -ERANGE for an empty or too long name, -E2BIG if the
 * value could not fit even alone, -ENOSPC if it does not fit beside the
 * others, -ENOMEM.
 */
int fsattr_xattr_set(struct fsattr *a, const char *name, const void *val, size_t vlen, int flags);
/* -ENODATA if absent. */
int fsattr_xattr_remove(struct fsattr *a, const char *name);
/* Write the NUL-separated names into buf (cap bytes); returns the size needed. */
size_t fsattr_xattr_list(const struct fsattr *a, char *buf, size_t cap);
/* Set the symlink target (1..FSATTR_LINK_MAX bytes); -ENAMETOOLONG, -ENOSPC, -ENOMEM. */
int fsattr_set_link(struct fsattr *a, const void *target, size_t len);

#endif
