/*
 * fsattr.c - encode and decode swapobjfs attributes (format in fsattr.h).
 *
 * The variable part (symlink target, then extended attributes) is kept
 * encoded in a->tail so that reading an attribute costs no decoding and a
 * change is one splice. Decoding treats the aux bytes as untrusted: every
 * length is checked against what is left, names must be non-empty, free of
 * NUL and unique.
 */
#include "fsattr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put_ts(uint8_t *p, const struct timespec *ts)
{
	put64(p, (uint64_t)(int64_t)ts->tv_sec);
	put32(p + 8, (uint32_t)ts->tv_nsec);
}
static int get_ts(const uint8_t *p, struct timespec *ts)
{
	ts->tv_sec = (time_t)(int64_t)get64(p);
	uint32_t ns = get32(p + 8);
	if (ns >= 1000000000u)
		return -EINVAL;
	ts->tv_nsec = (long)ns;
	return 0;
}

void fsattr_free(struct fsattr *a)
{
	free(a->tail);
	a->tail = NULL;
	a->tail_len = 0;
	a->nxattr = 0;
	a->link_len = 0;
}

int fsattr_copy(struct fsattr *dst, const struct fsattr *src)
{
	*dst = *src;
	dst->tail = NULL;
	if (src->tail_len) {
		dst->tail = malloc(src->tail_len);
		if (!dst->tail) {
			dst->tail_len = dst->nxattr = dst->link_len = 0;
			return -ENOMEM;
		}
		memcpy(dst->tail, src->tail, src->tail_len);
	}
	return 0;
}

static bool is_device(uint32_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode);
}

/* Bytes before the tail: the header, and rdev for a device. */
static size_t head_size(uint32_t mode)
{
	return FSATTR_HDR + (is_device(mode) ? FSATTR_RDEV_LEN : 0);
}

size_t fsattr_size(const struct fsattr *a)
{
	return head_size(a->mode) + a->tail_len;
}

/* Walk the xattr entries of a tail; checks every bound. Returns 0 or -EINVAL. */
static int walk_check(const uint8_t *x, size_t len, unsigned n)
{
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		if (len - off < FSATTR_XATTR_HDR)
			return -EINVAL;
		size_t nl = x[off], vl = get16(x + off + 1);
		if (nl == 0 || len - off - FSATTR_XATTR_HDR < nl + vl)
			return -EINVAL;
		const uint8_t *nm = x + off + FSATTR_XATTR_HDR;
		if (memchr(nm, 0, nl))
			return -EINVAL;
		/* unique names: compare with every earlier entry (n is small: the record is 3 KiB) */
		for (size_t o2 = 0; o2 < off;) {
			size_t nl2 = x[o2], vl2 = get16(x + o2 + 1);
			if (nl2 == nl && !memcmp(x + o2 + FSATTR_XATTR_HDR, nm, nl))
				return -EINVAL;
			o2 += FSATTR_XATTR_HDR + nl2 + vl2;
		}
		off += FSATTR_XATTR_HDR + nl + vl;
	}
	return off == len ? 0 : -EINVAL;
}

int fsattr_decode(struct fsattr *a, const void *aux, size_t len)
{
	const uint8_t *p = aux;
	memset(a, 0, sizeof(*a));
	if (len < 3 || p[0] != 'S' || p[1] != 'F')
		return -EINVAL;
	if (p[2] != FSATTR_VERSION)
		return -EPROTO;
	if (len < FSATTR_HDR || len > FSATTR_AUX_MAX)
		return -EINVAL;
	a->mode = get32(p + 4);
	a->uid = get32(p + 8);
	a->gid = get32(p + 12);
	if (get_ts(p + 16, &a->atime) < 0 || get_ts(p + 28, &a->mtime) < 0 || get_ts(p + 40, &a->ctime) < 0)
		return -EINVAL;
	a->link_len = get16(p + 52);
	a->nxattr = get16(p + 54);
	uint32_t t = S_IFMT & a->mode;
	if (t != S_IFREG && t != S_IFDIR && t != S_IFLNK && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR &&
	    t != S_IFBLK)
		return -EINVAL;
	if ((t == S_IFLNK) != (a->link_len > 0))
		return -EINVAL;
	/* the rdev field is there exactly for devices: a flipped type or flag cannot shift the tail unnoticed */
	if (is_device(t) != ((p[3] & FSATTR_F_RDEV) != 0))
		return -EINVAL;
	size_t head = head_size(t);
	if (len < head)
		return -EINVAL;
	if (is_device(t))
		a->rdev = get64(p + FSATTR_HDR);
	size_t tail = len - head;
	if (a->link_len > tail)
		return -EINVAL;
	if (walk_check(p + head + a->link_len, tail - a->link_len, a->nxattr) < 0)
		return -EINVAL;
	if (tail) {
		a->tail = malloc(tail);
		if (!a->tail)
			return -ENOMEM;
		memcpy(a->tail, p + head, tail);
		a->tail_len = (uint32_t)tail;
	}
	return 0;
}

int fsattr_encode(const struct fsattr *a, void *buf, size_t cap)
{
	size_t len = fsattr_size(a);
	if (len > cap || len > FSATTR_AUX_MAX)
		return -ENOSPC;
	uint8_t *p = buf;
	p[0] = 'S';
	p[1] = 'F';
	p[2] = FSATTR_VERSION;
	p[3] = is_device(a->mode) ? FSATTR_F_RDEV : 0;
	put32(p + 4, a->mode);
	put32(p + 8, a->uid);
	put32(p + 12, a->gid);
	put_ts(p + 16, &a->atime);
	put_ts(p + 28, &a->mtime);
	put_ts(p + 40, &a->ctime);
	put16(p + 52, a->link_len);
	put16(p + 54, a->nxattr);
	size_t head = head_size(a->mode);
	if (is_device(a->mode))
		put64(p + FSATTR_HDR, a->rdev);
	if (a->tail_len)
		memcpy(p + head, a->tail, a->tail_len);
	return (int)len;
}

/* Offset in tail of entry name (or -1), with its total entry size. */
static long xattr_find(const struct fsattr *a, const char *name, size_t *esize)
{
	size_t nl = strlen(name), off = a->link_len;
	for (unsigned i = 0; i < a->nxattr; i++) {
		const uint8_t *e = a->tail + off;
		size_t enl = e[0], evl = get16(e + 1);
		if (enl == nl && !memcmp(e + FSATTR_XATTR_HDR, name, nl)) {
			*esize = FSATTR_XATTR_HDR + enl + evl;
			return (long)off;
		}
		off += FSATTR_XATTR_HDR + enl + evl;
	}
	return -1;
}

int fsattr_xattr_get(const struct fsattr *a, const char *name, const uint8_t **val, size_t *vlen)
{
	size_t es;
	long off = xattr_find(a, name, &es);
	if (off < 0)
		return -ENODATA;
	const uint8_t *e = a->tail + off;
	*val = e + FSATTR_XATTR_HDR + e[0];
	*vlen = get16(e + 1);
	return 0;
}

/* Replace tail bytes [off, off+cut) with add (addlen bytes). */
static int splice_tail(struct fsattr *a, size_t off, size_t cut, const uint8_t *add, size_t addlen)
{
	size_t nlen = a->tail_len - cut + addlen;
	uint8_t *n = NULL;
	if (nlen) {
		n = malloc(nlen);
		if (!n)
			return -ENOMEM;
		if (off)
			memcpy(n, a->tail, off);
		if (addlen)
			memcpy(n + off, add, addlen);
		if (a->tail_len - off - cut)
			memcpy(n + off + addlen, a->tail + off + cut, a->tail_len - off - cut);
	}
	free(a->tail);
	a->tail = n;
	a->tail_len = (uint32_t)nlen;
	return 0;
}

int fsattr_xattr_set(struct fsattr *a, const char *name, const void *val, size_t vlen, int flags)
{
	size_t nl = strlen(name), es = 0;
	if (nl == 0 || nl > 255)
		return -ERANGE;
	if (FSATTR_HDR + FSATTR_XATTR_HDR + nl + vlen > FSATTR_AUX_MAX)
		return -E2BIG;
	long off = xattr_find(a, name, &es);
	if (off >= 0 && (flags & XATTR_CREATE))
		return -EEXIST;
	if (off < 0 && (flags & XATTR_REPLACE))
		return -ENODATA;
	size_t entry = FSATTR_XATTR_HDR + nl + vlen;
	if (fsattr_size(a) - es + entry > FSATTR_AUX_MAX)
		return -ENOSPC;
	uint8_t e[FSATTR_AUX_MAX];
	e[0] = (uint8_t)nl;
	put16(e + 1, (uint16_t)vlen);
	memcpy(e + FSATTR_XATTR_HDR, name, nl);
	if (vlen)
		memcpy(e + FSATTR_XATTR_HDR + nl, val, vlen);
	int err;
	if (off >= 0)
		err = splice_tail(a, (size_t)off, es, e, entry);
	else
		err = splice_tail(a, a->tail_len, 0, e, entry);
	if (err < 0)
		return err;
	if (off < 0)
		a->nxattr++;
	return 0;
}

int fsattr_xattr_remove(struct fsattr *a, const char *name)
{
	size_t es;
	long off = xattr_find(a, name, &es);
	if (off < 0)
		return -ENODATA;
	int err = splice_tail(a, (size_t)off, es, NULL, 0);
	if (err < 0)
		return err;
	a->nxattr--;
	return 0;
}

size_t fsattr_xattr_list(const struct fsattr *a, char *buf, size_t cap)
{
	size_t need = 0, off = a->link_len;
	for (unsigned i = 0; i < a->nxattr; i++) {
		const uint8_t *e = a->tail + off;
		size_t enl = e[0];
		if (need + enl + 1 <= cap) {
			memcpy(buf + need, e + FSATTR_XATTR_HDR, enl);
			buf[need + enl] = 0;
		}
		need += enl + 1;
		off += FSATTR_XATTR_HDR + enl + get16(e + 1);
	}
	return need;
}

int fsattr_set_link(struct fsattr *a, const void *target, size_t len)
{
	if (len == 0 || len > FSATTR_LINK_MAX)
		return -ENAMETOOLONG;
	if (FSATTR_HDR + a->tail_len - a->link_len + len > FSATTR_AUX_MAX)
		return -ENOSPC;
	int err = splice_tail(a, 0, a->link_len, target, len);
	if (err < 0)
		return err;
	a->link_len = (uint16_t)len;
	return 0;
}
