/*
 * fsops.c - the FUSE low-level handlers of swapobjfs.
 *
 * Model: a directory is a key prefix, a file is an object. A directory made
 * here is a directory object (SWAPOBJ_O_DIR) that carries its attributes; a
 * prefix that exists only because keys below it exist (an "implicit"
 * directory, made by a program linking the library) has default attributes
 * until something changes them, which creates its directory object. File
 * attributes live in the object's aux data (fsattr.h).
 *
 * Every handler ends in exactly one reply. Node locking is described in
 * fs.h. The data path (read, write) takes n->olock shared, calls the
 * library straight on the kernel's buffer (write) or a per-thread buffer
 * (read), and allocates nothing.
 *
 * Times: mtime/ctime change on write, truncate and attribute changes;
 * atime follows relatime (updated when older than mtime/ctime or a day)
 * unless -o noatime. Times changed by the data path are written to aux
 * lazily: at flush (close), fsync, when the kernel forgets the file, and at
 * unmount; attribute changes (chmod, chown, utimens, xattrs) are written at
 * once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fslookup.h"
#include "fsnode.h"
#include "fsnotify.h"
#include "fsops.h"
#include "fsmem.h"
#include "fsutil.h"

#define PG SWAPOBJ_PAGE_SIZE
#define BLKSIZE (128u * 1024) /* st_blksize: what cp and stdio use per call */
#define RELATIME_SECS (24 * 3600)
#define MIN_U64(a, b) ((a) < (b) ? (a) : (b))
#define MAX_U64(a, b) ((a) > (b) ? (a) : (b))

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

/* Attributes for something made by the caller of req under parent p. */
static void attr_new(fuse_req_t req, struct fs_node *p, struct fsattr *a, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->uid = ctx->uid;
	a->gid = ctx->gid;
	pthread_mutex_lock(&p->alock);
	if (p->attr.mode & S_ISGID) { /* BSD group semantics on setgid directories */
		a->gid = p->attr.gid;
		if (S_ISDIR(mode))
			a->mode |= S_ISGID;
	}
	pthread_mutex_unlock(&p->alock);
	a->atime = a->mtime = a->ctime = fs_now();
}

/* A directory gained or lost an entry. */
static void touch_dir(struct fs_node *p)
{
	pthread_mutex_lock(&p->alock);
	p->attr.mtime = p->attr.ctime = fs_now();
	p->dirty = true;
	pthread_mutex_unlock(&p->alock);
}

static int node_stat(struct fs *fs, struct fs_node *n, struct stat *st)
{
	struct swapobj_obj_stat os;
	memset(st, 0, sizeof(*st));
	memset(&os, 0, sizeof(os));
	pthread_mutex_lock(&n->alock);
	bool dir = S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	uint32_t dir_nlink = dir ? fs_dir_nlink(fs, n) : 0; /* may list the directory: before the locks */
	pthread_rwlock_rdlock(&n->olock);
	int rc = n->obj ? swapobj_obj_stat(&os, sizeof(os), n->obj) : 0;
	pthread_mutex_lock(&n->alock);
	if (rc == 0 && n->stale)
		rc = SWAPOBJ_ESTALE;
	if (rc == 0) {
		st->st_ino = n->ino;
		st->st_mode = n->attr.mode;
		st->st_uid = n->attr.uid;
		st->st_gid = n->attr.gid;
		st->st_atim = n->attr.atime;
		st->st_mtim = n->attr.mtime;
		st->st_ctim = n->attr.ctime;
		st->st_blksize = BLKSIZE;
		st->st_rdev = (dev_t)n->attr.rdev;
		if (S_ISDIR(n->attr.mode)) {
			st->st_nlink = dir_nlink ? dir_nlink : 2; /* 0: the mode changed to a directory meanwhile */
			st->st_size = PG;
		} else if (S_ISLNK(n->attr.mode)) {
			st->st_nlink = 1;
			st->st_size = n->attr.link_len;
		} else {
			st->st_nlink = n->orphan ? 0 : 1;
			st->st_size = (off_t)os.size;
			st->st_blocks = (blkcnt_t)((os.stored_bytes + 511) / 512);
		}
	}
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	return rc < 0 ? fs_errno(rc) : 0;
}

static int node_entry(struct fs *fs, struct fs_node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	int err = node_stat(fs, n, &e->attr);
	if (err < 0)
		return err;
	e->ino = fs_nodeid(fs, n);
	e->generation = n->generation;
	e->attr_timeout = fs->o.attr_timeout;
	e->entry_timeout = fs->o.entry_timeout;
	return 0;
}

/* Reply with n's entry, counting the kernel's new reference. Drops the caller's ref. */
static void reply_entry_node(fuse_req_t req, struct fs *fs, struct fs_node *n)
{
	struct fuse_entry_param e;
	int err = node_entry(fs, n, &e);
	if (err < 0) {
		fs_reply_err(req, err);
	} else {
		fs_node_lookup_inc(fs, n);
		if (fuse_reply_entry(req, &e) < 0)
			fs_node_forget(fs, n, 1); /* interrupted: the kernel did not take it */
	}
	fs_node_put(fs, n);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	conn->max_write = FS_IO_MAX;
	conn->max_readahead = FS_IO_MAX;
	conn->time_gran = 1;
	if (conn->max_background < 64)
		conn->max_background = 64;
	if (conn->congestion_threshold < 48)
		conn->congestion_threshold = 48;
	/* The daemon is the store's only user: the kernel's caches stay valid
	 * until we say otherwise (version changes, invalidations). */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	if (fs->o.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		fs->o.writeback = 0;
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	fs_orphans_reap(fs); /* before the first request: nothing can be open */
}

static void fs_destroy(void *userdata)
{
	fs_node_flush_all(userdata);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fs_node *p = fs_node_of(fs, parent), *n;
	uint8_t comp[FSNAME_MAX];
	size_t len;
	uint64_t cookie;
	int err = fs_name_to_comp(fs, p, name, false, comp, &len, &cookie);
	if (err == 0)
		err = fs_child_get(fs, p, comp, len, cookie, &n);
	if (err < 0) /* ENAMETOOLONG too, past the key limits: as local file systems answer */
		fs_reply_err(req, err);
	else
		reply_entry_node(req, fs, n);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = fs_of(req);
	fs_node_forget(fs, fs_node_of(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);
	for (size_t i = 0; i < count; i++)
		fs_node_forget(fs, fs_node_of(fs, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	int err = node_stat(fs, fs_node_of(fs, ino), &st);
	if (err < 0)
		fs_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* ------------------------------------------------------------------------ */
/* Attributes: setattr                                                       */
/* ------------------------------------------------------------------------ */

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	struct timespec now = fs_now();
	int err = 0;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		pthread_rwlock_rdlock(&n->olock);
		if (!n->obj || !S_ISREG(n->attr.mode))
			err = S_ISDIR(n->attr.mode) ? -EISDIR : -EINVAL;
		else
			err = fs_errno(swapobj_obj_truncate(n->obj, (uint64_t)attr->st_size));
		if (err == 0) {
			pthread_mutex_lock(&n->alock);
			n->attr.mtime = n->attr.ctime = now;
			n->dirty = true;
			pthread_mutex_unlock(&n->alock);
		}
		pthread_rwlock_unlock(&n->olock);
		if (err < 0)
			goto done;
	}
	int meta = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME |
	           FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;
	if (to_set & meta) {
		struct fsattr a;
		if ((err = fs_node_attr_copy(n, &a)) < 0)
			goto done;
		if (to_set & FUSE_SET_ATTR_MODE)
			a.mode = (a.mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			a.uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			a.gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			a.atime = now;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			a.atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			a.mtime = now;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			a.mtime = attr->st_mtim;
		a.ctime = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : now;
		err = fs_node_set_attr(fs, n, &a);
	} else if (to_set & FUSE_SET_ATTR_SIZE) {
		err = fs_node_flush(fs, n);
	}
done:
	if (err < 0) {
		fs_reply_err(req, err);
		return;
	}
	struct stat st;
	err = node_stat(fs, n, &st);
	if (err < 0)
		fs_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* ------------------------------------------------------------------------ */
/* Making and removing names                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Create the object parent/name of type mode (S_IFREG, S_IFDIR, S_IFLNK
 * with target link, S_IFIFO, S_IFSOCK, S_IFCHR and S_IFBLK with rdev: an
 * object without data), attributes included atomically. Returns the node
 * with a ref.
 */
static int make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, const char *link, dev_t rdev,
                     struct fs_node **out)
{
	struct fs *fs = fs_of(req);
	struct fs_node *p = fs_node_of(fs, parent);
	uint8_t comp[FSNAME_MAX], buf[FSATTR_AUX_MAX];
	size_t len;
	uint64_t cookie;
	swapobj_key key;
	struct fsattr a;
	int err;
	if (fs->o.readonly)
		return -EROFS;
	if (fs_node_is_stale(p))
		return -ENOENT;
	if ((err = fs_name_to_comp(fs, p, name, true, comp, &len, &cookie)) < 0)
		return err;
	if (cookie)
		return -EEXIST; /* a digest name resolved: the entry exists */
	if ((err = fs_node_key(fs, p, comp, len, &key)) < 0)
		return err;
	attr_new(req, p, &a, mode);
	if (S_ISCHR(mode) || S_ISBLK(mode))
		a.rdev = (uint64_t)rdev;
	if (link && (err = fsattr_set_link(&a, link, strlen(link))) < 0) {
		fsattr_free(&a);
		return err;
	}
	int alen = fsattr_encode(&a, buf, sizeof(buf));
	if (alen < 0) {
		fsattr_free(&a);
		return alen;
	}
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_EXCL | (S_ISDIR(mode) ? SWAPOBJ_O_DIR : 0);
	oo.aux = buf;
	oo.aux_len = (size_t)alen;
	swapobj_obj *obj;
	int rc = swapobj_obj_open(&obj, fs->st, &key, &oo);
	if (rc < 0) {
		fsattr_free(&a);
		return rc == SWAPOBJ_EISDIR ? -EEXIST : fs_errno(rc);
	}
	struct fs_node *old = fs_node_find(fs, p, comp, len);
	if (old) { /* a node for a key that had vanished */
		fs_node_drop_stale(fs, old);
		fs_node_put(fs, old);
	}
	struct fs_node *fresh = fs_node_new(fs, comp, len);
	if (!fresh) {
		swapobj_obj_delete(obj);
		swapobj_obj_close(obj);
		fsattr_free(&a);
		return -ENOMEM;
	}
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), obj);
	fresh->obj = obj;
	fresh->attr = a;
	fresh->has_aux = true;
	fresh->ino = os.id + FS_INO_OBJ_BASE;
	fresh->nsub_valid = S_ISDIR(mode); /* a new directory has no subdirectory */
	*out = fs_node_insert(fs, p, fresh);
	touch_dir(p);
	if (S_ISDIR(mode))
		fs_node_subdirs_add(p, 1);
	return 0;
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct fs_node *n;
	mode_t t = mode & S_IFMT;
	if (t != S_IFREG && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR && t != S_IFBLK) {
		fs_reply_err(req, -EINVAL);
		return;
	}
	int err = make_node(req, parent, name, t | (mode & 07777), NULL, rdev, &n);
	if (err < 0)
		fs_reply_err(req, err);
	else
		reply_entry_node(req, fs_of(req), n);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs_node *n;
	int err = make_node(req, parent, name, S_IFDIR | (mode & 07777), NULL, 0, &n);
	if (err < 0)
		fs_reply_err(req, err);
	else
		reply_entry_node(req, fs_of(req), n);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs_node *n;
	int err = make_node(req, parent, name, S_IFLNK | 0777, link, 0, &n);
	if (err < 0)
		fs_reply_err(req, err);
	else
		reply_entry_node(req, fs_of(req), n);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	char buf[FSATTR_LINK_MAX + 1];
	pthread_mutex_lock(&n->alock);
	int ok = S_ISLNK(n->attr.mode) && n->attr.link_len > 0;
	if (ok) {
		memcpy(buf, n->attr.tail, n->attr.link_len);
		buf[n->attr.link_len] = 0;
	}
	pthread_mutex_unlock(&n->alock);
	if (!ok)
		fs_reply_err(req, -EINVAL);
	else
		fuse_reply_readlink(req, buf);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fs_reply_err(req, -EPERM); /* one key, one object: no hard links */
}

/* Remove parent/name: a file (dir = false) or a directory. */
static int remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fs *fs = fs_of(req);
	struct fs_node *p = fs_node_of(fs, parent), *n = NULL;
	uint8_t comp[FSNAME_MAX];
	size_t len;
	uint64_t cookie;
	swapobj_key key;
	int err;
	if (fs->o.readonly)
		return -EROFS;
	if ((err = fs_name_to_comp(fs, p, name, false, comp, &len, &cookie)) < 0)
		return err;
	if ((err = fs_child_get(fs, p, comp, len, cookie, &n)) < 0)
		return err;
	if ((err = fs_node_key(fs, p, comp, len, &key)) < 0)
		goto done;
	pthread_mutex_lock(&n->alock);
	bool isdir = S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	if (isdir != dir) {
		err = dir ? -ENOTDIR : -EISDIR;
		goto done;
	}
	pthread_rwlock_rdlock(&n->olock);
	bool implicit = !n->obj;
	pthread_rwlock_unlock(&n->olock);
	if (implicit) {
		/* exists only through its children */
		err = fs_has_children(fs, &key) > 0 ? -ENOTEMPTY : -ENOENT;
		goto done;
	}
	if (!dir) {
		/* kept as an orphan while open */
		if ((err = fs_node_remove_file(fs, n, &key)) < 0)
			goto done;
	} else {
		int rc = swapobj_delete(fs->st, &key);
		err = rc == SWAPOBJ_EISDIR || rc == SWAPOBJ_ENOTEMPTY ? -ENOTEMPTY : fs_errno(rc);
		if (err < 0)
			goto done;
		fs_node_drop_stale(fs, n);
		fs_node_subdirs_add(p, -1);
	}
	touch_dir(p);
	fs_keep_parent(fs, p);
done:
	fs_node_put(fs, n);
	return err;
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_reply_err(req, remove_name(req, parent, name, false));
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_reply_err(req, remove_name(req, parent, name, true));
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct fs_node *p = fs_node_of(fs, parent), *np = fs_node_of(fs, newparent);
	struct fs_node *n = NULL, *victim = NULL;
	uint8_t comp[FSNAME_MAX], ncomp[FSNAME_MAX];
	size_t len, nlen;
	uint64_t cookie, ncookie;
	swapobj_key from, to;
	int err;
	if (flags & ~RENAME_NOREPLACE) {
		err = -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
		goto done;
	}
	if (fs->o.readonly) {
		err = -EROFS;
		goto done;
	}
	if ((err = fs_name_to_comp(fs, p, name, false, comp, &len, &cookie)) < 0)
		goto done;
	if ((err = fs_name_to_comp(fs, np, newname, true, ncomp, &nlen, &ncookie)) < 0)
		goto done;
	if (fs_node_is_stale(np)) {
		err = -ENOENT;
		goto done;
	}
	if ((err = fs_child_get(fs, p, comp, len, cookie, &n)) < 0)
		goto done;
	if ((err = fs_node_key(fs, p, comp, len, &from)) < 0 || (err = fs_node_key(fs, np, ncomp, nlen, &to)) < 0)
		goto done;
	if (from.ncomp == to.ncomp && from.nbytes == to.nbytes && !memcmp(from.len, to.len, from.ncomp) &&
	    !memcmp(from.buf, to.buf, from.nbytes))
		goto done; /* same name: nothing to do */
	victim = fs_node_find(fs, np, ncomp, nlen);
	pthread_mutex_lock(&n->alock);
	bool isdir = S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	bool victim_dir = false, victim_orphaned = false;
	if (victim && victim != n) {
		pthread_mutex_lock(&victim->alock);
		victim_dir = S_ISDIR(victim->attr.mode);
		pthread_mutex_unlock(&victim->alock);
		/* an open file being replaced is kept as an orphan, moved away
		 * first (between the two renames the target name is absent) */
		if (!isdir && !victim_dir && !(flags & RENAME_NOREPLACE))
			victim_orphaned = fs_node_orphan_if_open(fs, victim, &to) > 0;
	}
	int rc = swapobj_rename(fs->st, &from, &to, (flags & RENAME_NOREPLACE) ? SWAPOBJ_RENAME_NOREPLACE : 0);
	err = rc == SWAPOBJ_ENOTSUP ? -EXDEV : fs_errno(rc); /* ENOTSUP: a directory with entries, or
	                                                      * one that exists only through them: mv
	                                                      * copies and deletes instead */
	if (err < 0 && victim_orphaned && fs_node_unorphan(fs, victim, np, ncomp, nlen, &to) < 0)
		fs_log(LOG_WARNING, "rename failed, and the open file it was to replace could not be put back: %s",
		       swapobj_errmsg());
	if (err < 0)
		goto done;
	if (victim && victim != n && !victim_orphaned)
		fs_node_drop_stale(fs, victim);
	if (isdir && p != np) {
		fs_node_subdirs_add(p, -1);
		fs_node_subdirs_add(np, 1);
	}
	if (victim_dir)
		fs_node_subdirs_add(np, -1);
	fs_node_move(fs, n, np, ncomp, nlen);
	n->cookie = ncookie;
	/* The handle follows the object; reopen by the new key if the library
	 * gave the object a new identity. */
	struct swapobj_obj_stat os;
	pthread_rwlock_wrlock(&n->olock);
	if (n->obj && swapobj_obj_stat(&os, sizeof(os), n->obj) == SWAPOBJ_ESTALE) {
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		oo.data_version = SWAPOBJ_VERSION_ANY;
		swapobj_obj_close(n->obj);
		if (swapobj_obj_open(&n->obj, fs->st, &to, &oo) < 0)
			n->obj = NULL;
	}
	pthread_rwlock_unlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	n->attr.ctime = fs_now();
	n->dirty = true;
	pthread_mutex_unlock(&n->alock);
	touch_dir(p);
	if (np != p)
		touch_dir(np);
	fs_keep_parent(fs, p);
done:
	fs_node_put(fs, n);
	fs_node_put(fs, victim);
	fs_reply_err(req, err);
}

/* ------------------------------------------------------------------------ */
/* Files: open, read, write, sync                                            */
/* ------------------------------------------------------------------------ */

static void fill_open(struct fs *fs, struct fuse_file_info *fi)
{
	/*
	 * An O_DIRECT open (a loop device with direct I/O, under kernel swap)
	 * bypasses the page cache anyway; FOPEN_DIRECT_IO also keeps its writes
	 * off the kernel's buffered-write path, which asks us for
	 * security.capability (one more round trip) before every write. Not
	 * under the writeback cache: there an O_DIRECT read must first see the
	 * dirty pages the kernel still holds, which only that path flushes.
	 */
	bool odirect = (fi->flags & O_DIRECT) && !fs->o.writeback;
	fi->direct_io = fs->o.direct_io || odirect ? 1 : 0;
	fi->keep_cache = fs->o.direct_io ? 0 : 1; /* only the kernel changes data, we invalidate what we change */
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n;
	struct fuse_entry_param e;
	int err = make_node(req, parent, name, S_IFREG | (mode & 07777), NULL, 0, &n);
	if (err < 0) {
		fs_reply_err(req, err);
		return;
	}
	err = node_entry(fs, n, &e);
	if (err == 0)
		err = fs_node_open(fs, n);
	if (err < 0) {
		fs_reply_err(req, err);
	} else {
		fill_open(fs, fi);
		fs_node_lookup_inc(fs, n);
		if (fuse_reply_create(req, &e, fi) < 0) { /* interrupted: no release will come */
			fs_node_close(fs, n);
			fs_node_forget(fs, n, 1);
		}
	}
	fs_node_put(fs, n);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	int err = 0;
	pthread_rwlock_rdlock(&n->olock);
	if (!n->obj || fs_node_is_stale(n))
		err = -ESTALE;
	else if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		err = fs_errno(swapobj_obj_truncate(n->obj, 0));
		if (err == 0) {
			pthread_mutex_lock(&n->alock);
			n->attr.mtime = n->attr.ctime = fs_now();
			n->dirty = true;
			pthread_mutex_unlock(&n->alock);
		}
	}
	pthread_rwlock_unlock(&n->olock);
	if (err == 0)
		err = fs_node_open(fs, n); /* counted: unlinked while open, the file is kept */
	if (err < 0) {
		fs_reply_err(req, err);
		return;
	}
	fill_open(fs, fi);
	if (fuse_reply_open(req, fi) < 0)
		fs_node_close(fs, n); /* interrupted: no release will come */
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	uint8_t *buf = fs_iobuf();
	if (!buf) {
		fs_reply_err(req, -ENOMEM);
		return;
	}
	if (size > FS_IO_MAX)
		size = FS_IO_MAX;
	pthread_rwlock_rdlock(&n->olock);
	int64_t r = n->obj ? swapobj_obj_read(n->obj, buf, size, (uint64_t)off, 0) : SWAPOBJ_ESTALE;
	if (r >= 0 && !fs->o.noatime) {
		struct timespec t = fs_now();
		pthread_mutex_lock(&n->alock);
		struct timespec *at = &n->attr.atime;
		if (at->tv_sec <= n->attr.mtime.tv_sec || at->tv_sec <= n->attr.ctime.tv_sec ||
		    t.tv_sec - at->tv_sec >= RELATIME_SECS) {
			*at = t;
			n->dirty = true;
		}
		pthread_mutex_unlock(&n->alock);
	}
	pthread_rwlock_unlock(&n->olock);
	if (r < 0)
		fs_reply_err(req, fs_errno((int)r));
	else
		fuse_reply_buf(req, (const char *)buf, (size_t)r);
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	pthread_rwlock_rdlock(&n->olock);
	int64_t w = n->obj ? swapobj_obj_write(n->obj, buf, size, (uint64_t)off) : SWAPOBJ_ESTALE;
	if (w > 0 && !fs->o.writeback) { /* with the writeback cache the kernel keeps mtime */
		struct timespec t = fs_now();
		pthread_mutex_lock(&n->alock);
		n->attr.mtime = n->attr.ctime = t;
		n->dirty = true;
		pthread_mutex_unlock(&n->alock);
	}
	pthread_rwlock_unlock(&n->olock);
	if (w < 0)
		fs_reply_err(req, fs_errno((int)w));
	else if (w == 0 && size > 0)
		fs_reply_err(req, -ENOSPC);
	else
		fuse_reply_write(req, (size_t)w);
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	fs_reply_err(req, fs_node_flush(fs, fs_node_of(fs, ino)));
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	fs_node_flush(fs, n);
	fs_node_close(fs, n); /* the last handle of an unlinked file deletes it */
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	int err = fs_node_flush(fs, fs_node_of(fs, ino));
	if (err == 0 && !fs->o.readonly)
		err = fs_errno(swapobj_store_sync(fs->st));
	fs_reply_err(req, err);
}

static void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fs_fsync(req, ino, datasync, fi);
}

/* ------------------------------------------------------------------------ */
/* fallocate and lseek                                                       */
/* ------------------------------------------------------------------------ */

static void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	struct swapobj_obj_stat os;
	int err = 0;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		fs_reply_err(req, -EOPNOTSUPP); /* collapse, insert, unshare */
		return;
	}
	if (off < 0 || len <= 0) {
		fs_reply_err(req, -EINVAL);
		return;
	}
	uint64_t end = (uint64_t)off + (uint64_t)len;
	bool changed = false;
	pthread_rwlock_rdlock(&n->olock);
	if (!n->obj) {
		err = -ESTALE;
		goto unlock;
	}
	if ((err = fs_errno(swapobj_obj_stat(&os, sizeof(os), n->obj))) < 0)
		goto unlock;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		err = fs_errno(swapobj_obj_punch(n->obj, (uint64_t)off, (uint64_t)len));
		changed = true;
	} else if (mode & FALLOC_FL_ZERO_RANGE) {
		if ((uint64_t)off < os.size)
			err = fs_errno(swapobj_obj_punch(n->obj, (uint64_t)off, (uint64_t)len));
		if (err == 0 && !(mode & FALLOC_FL_KEEP_SIZE) && end > os.size)
			err = fs_errno(swapobj_obj_truncate(n->obj, end));
		changed = true;
	} else {
		/* A log-structured store cannot set space aside for later
		 * writes: check that it is free now, and extend the size. */
		struct swapobj_store_stat ss;
		swapobj_store_stat(&ss, sizeof(ss), fs->st);
		uint64_t avail = ss.capacity_bytes > ss.live_bytes ? ss.capacity_bytes - ss.live_bytes : 0;
		uint64_t want = end > os.size ? end - MAX_U64((uint64_t)off, os.size) : 0;
		if (want > avail)
			err = -ENOSPC;
		else if (!(mode & FALLOC_FL_KEEP_SIZE) && end > os.size) {
			err = fs_errno(swapobj_obj_truncate(n->obj, end));
			changed = true;
		}
	}
	if (err == 0 && changed) {
		pthread_mutex_lock(&n->alock);
		n->attr.mtime = n->attr.ctime = fs_now();
		n->dirty = true;
		pthread_mutex_unlock(&n->alock);
	}
unlock:
	pthread_rwlock_unlock(&n->olock);
	fs_reply_err(req, err);
}

/*
 * SEEK_DATA / SEEK_HOLE, exact and without reading: the library answers
 * from its index (swapobj_obj_next_data). Data is every page written and
 * not punched or truncated away since, a written page of zeros included;
 * a hole is a page never written (or punched) and the end of the file.
 */
static void fs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node *n = fs_node_of(fs, ino);
	int64_t r;
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fs_reply_err(req, -EINVAL);
		return;
	}
	if (fs->o.writeback) {
		/* Dirty data may still be in the kernel's cache, unseen here, and a
		 * FUSE daemon cannot make the kernel write it back: let the kernel
		 * answer itself (ENOSYS: everything up to its size is data). */
		fs_reply_err(req, -ENOSYS);
		return;
	}
	if (off < 0) {
		fs_reply_err(req, -ENXIO);
		return;
	}
	pthread_rwlock_rdlock(&n->olock);
	r = n->obj ? swapobj_obj_next_data(n->obj, (uint64_t)off,
	                                   (whence == SEEK_HOLE) ? SWAPOBJ_SEEK_HOLE : SWAPOBJ_SEEK_DATA)
	           : SWAPOBJ_ESTALE;
	pthread_rwlock_unlock(&n->olock);
	if (r == SWAPOBJ_ENOENT)
		fs_reply_err(req, -ENXIO); /* at or past EOF, or no data after off */
	else if (r < 0)
		fs_reply_err(req, fs_errno((int)r));
	else
		fuse_reply_lseek(req, (off_t)r);
}

/* ------------------------------------------------------------------------ */
/* Directories                                                               */
/* ------------------------------------------------------------------------ */

/*
 * An open directory. Offsets given to the kernel: "." 1, ".." 2, an entry
 * (cookie >> 2) + 3 (positive, never 0..2). To resume exactly after an
 * entry, the cursors of the last reply are kept; an offset from elsewhere
 * (seekdir to an old telldir) resumes after every entry with that offset.
 */
struct fs_dirh {
	pthread_mutex_t lock;
	size_t n, cap;
	off_t *offs;
	struct swapobj_cursor *curs;
};

static off_t cookie_off(uint64_t cookie)
{
	return (off_t)((cookie >> 2) + 3);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirh *d = calloc(1, sizeof(*d));
	if (!d) {
		fs_reply_err(req, -ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	fi->fh = (uint64_t)(uintptr_t)d;
	fuse_reply_open(req, fi);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;
	pthread_mutex_destroy(&d->lock);
	free(d->offs);
	free(d->curs);
	free(d);
	fuse_reply_err(req, 0);
}

/*
 * Type and st_ino of a child for plain readdir (d_ino must not be 0: libc
 * skips such entries). From the node table, else from the store.
 */
static void entry_info(struct fs *fs, struct fs_node *dir, const swapobj_key *dirkey, const struct swapobj_dirent *ent,
                       struct stat *st)
{
	st->st_mode = ent->type == SWAPOBJ_DT_PREFIX ? S_IFDIR : S_IFREG;
	struct fs_node *n = fs_node_find(fs, dir, ent->name, ent->name_len);
	if (n) {
		pthread_mutex_lock(&n->alock);
		st->st_mode = n->attr.mode & S_IFMT;
		st->st_ino = n->ino;
		pthread_mutex_unlock(&n->alock);
		fs_node_put(fs, n);
		return;
	}
	swapobj_key key = *dirkey;
	swapobj_obj *obj = NULL;
	struct swapobj_obj_stat os;
	uint8_t buf[FSATTR_AUX_MAX];
	if (swapobj_key_push(&key, ent->name, ent->name_len) < 0)
		return;
	st->st_ino = (XXH3_64bits(key.buf, key.nbytes) ^ key.ncomp) | FS_INO_IMPLICIT;
	int kind = fs_probe(fs, &key, &obj);
	if (obj && swapobj_obj_stat(&os, sizeof(os), obj) == 0)
		st->st_ino = os.id + FS_INO_OBJ_BASE;
	if (kind == FS_PROBE_FILE) {
		int len = swapobj_obj_get_aux(obj, buf, sizeof(buf));
		struct fsattr a;
		if (len > 0 && (size_t)len <= sizeof(buf) && fsattr_decode(&a, buf, (size_t)len) == 0) {
			st->st_mode = a.mode & S_IFMT;
			fsattr_free(&a);
		}
	}
	if (obj)
		swapobj_obj_close(obj);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct fs_node *dir = fs_node_of(fs, ino);
	struct fs_dirh *d = (struct fs_dirh *)(uintptr_t)fi->fh;
	swapobj_key key;
	size_t pos = 0, nb = 0, cap = size / 24 + 4;
	int err = 0;
	char *buf = malloc(size);
	off_t *offs = malloc(cap * sizeof(*offs));
	struct swapobj_cursor *curs = malloc(cap * sizeof(*curs));
	if (!buf || !offs || !curs) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = fs_node_key(fs, dir, NULL, 0, &key)) < 0)
		goto out;
	pthread_mutex_lock(&d->lock);
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct stat st;
	memset(&st, 0, sizeof(st));
	if (off > 2) {
		size_t i;
		for (i = 0; i < d->n && d->offs[i] != off; i++)
			;
		if (i < d->n) {
			cur = d->curs[i];
		} else { /* after every entry whose offset is off */
			cur.started = 1;
			cur.hash = ((uint64_t)(off - 3) << 2) | 3;
			cur.name_len = SWAPOBJ_COMPONENT_MAX;
			memset(cur.name, 0xff, SWAPOBJ_COMPONENT_MAX);
		}
	}
	for (off_t dot = off; dot < 2; dot++) {
		const char *nm = dot == 0 ? "." : "..";
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		e.attr.st_mode = S_IFDIR;
		e.attr.st_ino =
		    dot == 0 || dir == &fs->root ? dir->ino : (dir->parent ? dir->parent->ino : FUSE_ROOT_ID);
		size_t need = plus ? fuse_add_direntry_plus(req, buf + pos, size - pos, nm, &e, dot + 1)
		                   : fuse_add_direntry(req, buf + pos, size - pos, nm, &e.attr, dot + 1);
		if (need > size - pos)
			goto reply;
		pos += need;
	}
	for (;;) {
		struct swapobj_cursor next = cur;
		struct swapobj_dirent ent;
		char name[FSNAME_MAX + 1];
		int rc = swapobj_list_next(&ent, fs->st, &key, &next);
		if (rc <= 0) {
			if (rc < 0 && rc != SWAPOBJ_ENOENT && pos == 0)
				err = fs_errno(rc);
			break;
		}
		if (fs_is_orphan_comp(fs, dir, ent.name, ent.name_len)) {
			cur = next; /* files unlinked while open: never shown */
			continue;
		}
		fsname_encode(name, ent.name, ent.name_len, ent.cookie);
		off_t eoff = cookie_off(ent.cookie);
		if (plus) {
			size_t need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
			if (need > size - pos)
				break;
			struct fs_node *n;
			struct fuse_entry_param e;
			uint64_t ck = fsname_needs_digest(ent.name, ent.name_len) ? ent.cookie : 0;
			if (fs_child_get(fs, dir, ent.name, ent.name_len, ck, &n) < 0) {
				cur = next; /* vanished meanwhile */
				continue;
			}
			if (node_entry(fs, n, &e) < 0) {
				fs_node_put(fs, n);
				cur = next;
				continue;
			}
			fs_node_lookup_inc(fs, n);
			pos += fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, eoff);
			fs_node_put(fs, n);
		} else {
			memset(&st, 0, sizeof(st));
			entry_info(fs, dir, &key, &ent, &st);
			size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
			if (need > size - pos)
				break;
			pos += fuse_add_direntry(req, buf + pos, size - pos, name, &st, eoff);
		}
		if (nb < cap) {
			offs[nb] = eoff;
			curs[nb++] = next;
		}
		cur = next;
	}
reply:
	free(d->offs);
	free(d->curs);
	d->offs = offs;
	d->curs = curs;
	d->n = nb;
	offs = NULL;
	curs = NULL;
	pthread_mutex_unlock(&d->lock);
out:
	if (err < 0)
		fs_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
	free(offs);
	free(curs);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct swapobj_store_stat ss;
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	swapobj_store_stat(&ss, sizeof(ss), fs->st);
	/*
	 * Free: what writes may still add (usable less live). Available: what
	 * is free above the cache's stop level, below which writes to cache
	 * files are refused; a cache client that culls by statfs (cachefilesd)
	 * sees the same room the store's own culling acts on.
	 */
	uint64_t free = ss.usable_bytes > ss.live_bytes ? ss.usable_bytes - ss.live_bytes : 0;
	uint64_t avail = free > ss.cache_stop_bytes ? free - ss.cache_stop_bytes : 0;
	sv.f_bsize = PG;
	sv.f_frsize = PG;
	sv.f_blocks = ss.capacity_bytes / PG;
	sv.f_bfree = free / PG;
	sv.f_bavail = avail / PG;
	/* every object needs at least one record: free "inodes" follow free space */
	sv.f_ffree = free / PG;
	sv.f_favail = sv.f_ffree;
	sv.f_files = ss.objects + sv.f_ffree;
	sv.f_namemax = FSNAME_MAX;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = fs_init,
    .destroy = fs_destroy,
    .lookup = fs_lookup,
    .forget = fs_forget,
    .forget_multi = fs_forget_multi,
    .getattr = fs_getattr,
    .setattr = fs_setattr,
    .readlink = fs_readlink,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .flush = fs_flush,
    .release = fs_release,
    .fsync = fs_fsync,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
    .fsyncdir = fs_fsyncdir,
    .statfs = fs_statfs,
    .setxattr = fs_setxattr,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .removexattr = fs_removexattr,
    .create = fs_create,
    .fallocate = fs_fallocate,
    .lseek = fs_lseek,
};
