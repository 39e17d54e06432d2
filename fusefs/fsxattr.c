/*
 * fsxattr.c - extended attributes of swapobjfs.
 *
 *  user.*, trusted.*  stored in the object's aux data with the other
 *                     attributes (fsattr.h); the aux limit bounds them
 *                     (E2BIG for a value that can never fit, ENOSPC when
 *                     the others leave no room).
 *  swapobj.*          virtual: the object's class, data version, pin,
 *                     persistence and space figures (on the root: the
 *                     store's, and the daemon's memory); setting version, pin,
 *                     class or ephemeral acts on the object; on a
 *                     directory, swapobj.invalidate drops everything below
 *                     it in O(1). Not listed by listxattr, so that copying
 *                     tools (cp -a, rsync -X) do not carry them elsewhere.
 *  anything else      EOPNOTSUPP (no ACLs, no security labels).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "fsnode.h"
#include "fsmem.h"
#include "fsnotify.h"
#include "fsops.h"
#include "fsutil.h"

#define SO_PREFIX "swapobj."
#define SO_PREFIX_LEN 8
#define VAL_MAX 1024

static bool stored_name(const char *name)
{
	return !strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8);
}

/* Reply to getxattr/listxattr with len bytes of val (size 0 asks for the length). */
static void reply_value(fuse_req_t req, const void *val, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

/* Value of a swapobj.* attribute into out (VAL_MAX); returns its length or -errno. */
static int so_get(struct fs *fs, struct fs_node *n, const char *attr, char *out)
{
	if (n == &fs->root && !strcmp(attr, "store")) {
		struct swapobj_store_stat s;
		swapobj_store_stat(&s, sizeof(s), fs->st);
		return snprintf(out, VAL_MAX,
		                "capacity_bytes=%" PRIu64 " used_bytes=%" PRIu64 " live_bytes=%" PRIu64
		                " free_bytes=%" PRIu64 " objects=%" PRIu64 " pages=%" PRIu64 " segments=%" PRIu64
		                " segments_free=%" PRIu64 " user_bytes_written=%" PRIu64
		                " device_bytes_written=%" PRIu64 " index_bytes=%" PRIu64 " buffer_bytes=%" PRIu64
		                " readonly=%u usable_bytes=%" PRIu64 " live_cache_bytes=%" PRIu64
		                " cache_run_bytes=%" PRIu64 " cache_cull_bytes=%" PRIu64 " cache_stop_bytes=%" PRIu64
		                " cache_state=%s evicted_objects=%" PRIu64 " evicted_bytes=%" PRIu64
		                " evicted_for_swap=%" PRIu64 " cache_writes_refused=%" PRIu64,
		                s.capacity_bytes, s.used_bytes, s.live_bytes, s.free_bytes, s.objects, s.pages,
		                s.segments, s.segments_free, s.user_bytes_written, s.device_bytes_written,
		                s.index_bytes, s.buffer_bytes, s.readonly, s.usable_bytes, s.live_cache_bytes,
		                s.cache_run_bytes, s.cache_cull_bytes, s.cache_stop_bytes,
		                s.cache_state == SWAPOBJ_CACHE_STOPPED   ? "stopped"
		                : s.cache_state == SWAPOBJ_CACHE_CULLING ? "culling"
		                                                         : "ok",
		                s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD] + s.evicted_objects[SWAPOBJ_EVICT_SWAP] +
		                    s.evicted_objects[SWAPOBJ_EVICT_CLEANER],
		                s.evicted_bytes[SWAPOBJ_EVICT_THRESHOLD] + s.evicted_bytes[SWAPOBJ_EVICT_SWAP] +
		                    s.evicted_bytes[SWAPOBJ_EVICT_CLEANER],
		                s.evicted_objects[SWAPOBJ_EVICT_SWAP], s.cache_writes_refused);
	}
	if (n == &fs->root && !strcmp(attr, "memory"))
		return fs_mem_stat(out, VAL_MAX);
	struct swapobj_obj_stat os;
	pthread_rwlock_rdlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	bool file = n->obj && !S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	int rc = file ? swapobj_obj_stat(&os, sizeof(os), n->obj) : 0;
	pthread_rwlock_unlock(&n->olock);
	if (!file)
		return -ENODATA; /* directories have no data: only swapobj.invalidate, write-only */
	if (rc < 0)
		return fs_errno(rc);
	const char *cls = os.cls == SWAPOBJ_CLASS_CACHE ? "cache" : "swap";
	int pin = (os.flags & SWAPOBJ_O_PIN) != 0, eph = (os.flags & SWAPOBJ_O_EPHEMERAL) != 0;
	if (!strcmp(attr, "class"))
		return snprintf(out, VAL_MAX, "%s", cls);
	if (!strcmp(attr, "version"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.data_version);
	if (!strcmp(attr, "pin"))
		return snprintf(out, VAL_MAX, "%d", pin);
	if (!strcmp(attr, "ephemeral"))
		return snprintf(out, VAL_MAX, "%d", eph);
	if (!strcmp(attr, "stored_bytes"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.stored_bytes);
	if (!strcmp(attr, "pages"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.pages);
	if (!strcmp(attr, "zero_pages"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.zero_pages);
	if (!strcmp(attr, "fill_pages"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.fill_pages);
	if (!strcmp(attr, "extents"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.extents);
	if (!strcmp(attr, "id"))
		return snprintf(out, VAL_MAX, "%" PRIu64, os.id);
	if (!strcmp(attr, "stat"))
		return snprintf(out, VAL_MAX,
		                "size=%" PRIu64 " stored_bytes=%" PRIu64 " pages=%" PRIu64 " zero_pages=%" PRIu64
		                " fill_pages=%" PRIu64 " extents=%" PRIu64 " version=%" PRIu64 " id=%" PRIu64
		                " class=%s pin=%d ephemeral=%d",
		                os.size, os.stored_bytes, os.pages, os.zero_pages, os.fill_pages, os.extents,
		                os.data_version, os.id, cls, pin, eph);
	return -ENODATA;
}

/* The value as a C string; a trailing newline (echo) is dropped. */
static int value_str(const char *value, size_t size, char *out, size_t cap)
{
	if (size && value[size - 1] == '\n')
		size--;
	if (size == 0 || size >= cap || memchr(value, 0, size))
		return -EINVAL;
	memcpy(out, value, size);
	out[size] = 0;
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

/*
 * Replace n's object by a new empty one with data version version, class cls
 * and flags (SWAPOBJ_O_PIN, SWAPOBJ_O_EPHEMERAL), keeping the attributes.
 * The old data is gone at once (the library's version semantics); the
 * kernel's cached pages of the file are dropped.
 */
static int replace_object(struct fs *fs, struct fs_node *n, uint64_t version, enum swapobj_class cls, unsigned flags)
{
	swapobj_key key;
	uint8_t buf[FSATTR_AUX_MAX];
	int err = fs_node_key(fs, n, NULL, 0, &key);
	if (err < 0)
		return err;
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	int len = 0;
	if (!n->obj || n->stale)
		err = -ESTALE;
	else if (n->foreign)
		len = swapobj_obj_get_aux(n->obj, buf, sizeof(buf)); /* keep what we cannot read */
	else if (n->has_aux || n->dirty)
		len = fsattr_encode(&n->attr, buf, sizeof(buf));
	if (err == 0 && (len < 0 || (size_t)len > sizeof(buf)))
		err = len < 0 && len > -4096 ? len : -EIO;
	if (err == 0) {
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		swapobj_obj *nobj;
		oo.flags = SWAPOBJ_O_CREATE | flags;
		oo.cls = cls;
		oo.data_version = version;
		oo.aux = len ? buf : NULL;
		oo.aux_len = (size_t)len;
		int rc = swapobj_obj_open(&nobj, fs->st, &key, &oo);
		if (rc < 0) {
			err = rc == SWAPOBJ_ESTALE ? -EINVAL : fs_errno(rc);
		} else {
			swapobj_obj_close(n->obj);
			n->obj = nobj;
			n->attr.mtime = n->attr.ctime = fs_now();
			n->dirty = true;
		}
	}
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	if (err == 0)
		fuse_lowlevel_notify_inval_inode(fs->se, fs_nodeid(fs, n), 0, 0);
	return err;
}

/*
 * Drop everything below directory n (swapobj_invalidate: O(1) in the store),
 * keep the directory itself (as a directory object with its attributes),
 * forget the nodes below and tell the kernel to drop their dentries.
 */
static int invalidate_dir(fuse_req_t req, struct fs *fs, struct fs_node *n)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	swapobj_key key;
	struct fsattr saved;
	int err;
	if (n == &fs->root)
		return -EPERM; /* the root is no prefix the library can invalidate */
	if ((err = fs_node_attr_copy(n, &saved)) < 0)
		return err;
	if (ctx->uid != 0 && ctx->uid != saved.uid) {
		fsattr_free(&saved);
		return -EPERM; /* like a sticky directory: only its owner empties it wholesale */
	}
	if ((err = fs_node_key(fs, n, NULL, 0, &key)) < 0) {
		fsattr_free(&saved);
		return err;
	}
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	int rc = swapobj_invalidate(fs->st, &key);
	if (rc < 0 && rc != SWAPOBJ_ENOENT) {
		err = fs_errno(rc);
	} else {
		if (n->obj)
			swapobj_obj_close(n->obj);
		n->obj = NULL;
		saved.mtime = saved.ctime = fs_now();
		err = fs_materialize_locked(fs, n, &saved);
		if (err < 0)
			fs_log(LOG_WARNING, "invalidated directory could not be kept: %s", strerror(-err));
	}
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	if (err < 0)
		fsattr_free(&saved);
	if (rc < 0 && rc != SWAPOBJ_ENOENT)
		return err;
	fs_node_subdirs_forget(n); /* none left: counted again when asked */
	struct fs_node **v;
	bool *child;
	long cnt = fs_node_collect_below(fs, n, &v, &child);
	for (long i = 0; i < cnt; i++) {
		fs_node_drop_stale(fs, v[i]);
		if (child[i]) {
			char name[FSNAME_MAX + 1];
			fsname_encode(name, v[i]->name, v[i]->name_len, v[i]->cookie);
			fs_notify_entry(fs, fs_nodeid(fs, n), name);
		}
		fs_node_put(fs, v[i]);
	}
	if (cnt >= 0) { /* allocated even when nothing was below */
		free(v);
		free(child);
	}
	return 0;
}

static int so_set(fuse_req_t req, struct fs *fs, struct fs_node *n, const char *attr, const char *value, size_t size,
                  int flags)
{
	char v[64];
	uint64_t x;
	struct swapobj_obj_stat os;
	if (flags & XATTR_CREATE)
		return -EEXIST; /* they always exist */
	if (fs->o.readonly)
		return -EROFS;
	pthread_mutex_lock(&n->alock);
	bool dir = S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	if (!strcmp(attr, "invalidate"))
		return dir ? invalidate_dir(req, fs, n) : -ENOTDIR;
	if (dir)
		return -EISDIR;
	int err = value_str(value, size, v, sizeof(v));
	if (err < 0)
		return err;
	pthread_rwlock_rdlock(&n->olock);
	int rc = n->obj ? swapobj_obj_stat(&os, sizeof(os), n->obj) : SWAPOBJ_ESTALE;
	if (rc == 0 && !strcmp(attr, "pin")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			rc = SWAPOBJ_EINVAL;
		else
			rc = swapobj_obj_set_pin(n->obj, v[0] == '1');
		pthread_rwlock_unlock(&n->olock);
		return fs_errno(rc);
	}
	pthread_rwlock_unlock(&n->olock);
	if (rc < 0)
		return fs_errno(rc);
	unsigned keep = os.flags & (SWAPOBJ_O_PIN | SWAPOBJ_O_EPHEMERAL);
	if (!strcmp(attr, "version")) {
		if ((err = parse_u64(v, &x)) < 0 || x == SWAPOBJ_VERSION_ANY)
			return -EINVAL;
		if (x == os.data_version)
			return 0;
		if (x < os.data_version)
			return -EINVAL; /* versions only move forward */
		return replace_object(fs, n, x, os.cls, keep);
	}
	if (!strcmp(attr, "class") || !strcmp(attr, "ephemeral")) {
		enum swapobj_class cls = os.cls;
		unsigned fl = keep;
		if (!strcmp(attr, "class")) {
			if (!strcmp(v, "swap"))
				cls = SWAPOBJ_CLASS_SWAP;
			else if (!strcmp(v, "cache"))
				cls = SWAPOBJ_CLASS_CACHE;
			else
				return -EINVAL;
		} else {
			if (strcmp(v, "0") && strcmp(v, "1"))
				return -EINVAL;
			fl = v[0] == '1' ? (fl | SWAPOBJ_O_EPHEMERAL) : (fl & ~SWAPOBJ_O_EPHEMERAL);
		}
		if (cls == os.cls && fl == keep)
			return 0;
		if (os.size != 0 || os.pages != 0)
			return -EBUSY; /* fixed at creation: only an empty file can be made anew */
		return replace_object(fs, n, os.data_version + 1, cls, fl);
	}
	if (!strcmp(attr, "stat") || !strcmp(attr, "stored_bytes") || !strcmp(attr, "pages") ||
	    !strcmp(attr, "zero_pages") || !strcmp(attr, "fill_pages") || !strcmp(attr, "extents") ||
	    !strcmp(attr, "id") || !strcmp(attr, "store") || !strcmp(attr, "memory"))
		return -EPERM; /* read-only figures */
	return -EOPNOTSUPP;
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fs_node *n = fs_node_of(fs, ino);
	if (!strncmp(name, SO_PREFIX, SO_PREFIX_LEN)) {
		char v[VAL_MAX];
		int len = so_get(fs, n, name + SO_PREFIX_LEN, v);
		if (len < 0)
			fs_reply_err(req, len);
		else
			reply_value(req, v, (size_t)len, size);
		return;
	}
	if (!stored_name(name)) {
		fs_reply_err(req, -EOPNOTSUPP);
		return;
	}
	uint8_t v[FSATTR_AUX_MAX];
	const uint8_t *val;
	size_t vlen = 0;
	pthread_mutex_lock(&n->alock);
	int err = fsattr_xattr_get(&n->attr, name, &val, &vlen);
	if (err == 0)
		memcpy(v, val, vlen);
	pthread_mutex_unlock(&n->alock);
	if (err < 0)
		fs_reply_err(req, err);
	else
		reply_value(req, v, vlen, size);
}

void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fs_node *n = fs_node_of(fs, ino);
	int err;
	if (!strncmp(name, SO_PREFIX, SO_PREFIX_LEN)) {
		fs_reply_err(req, so_set(req, fs, n, name + SO_PREFIX_LEN, value, size, flags));
		return;
	}
	if (!stored_name(name) || n == &fs->root) {
		fs_reply_err(req, -EOPNOTSUPP);
		return;
	}
	struct fsattr a;
	if ((err = fs_node_attr_copy(n, &a)) == 0) {
		if ((err = fsattr_xattr_set(&a, name, value, size, flags)) < 0) {
			fsattr_free(&a);
		} else {
			a.ctime = fs_now();
			err = fs_node_set_attr(fs, n, &a);
		}
	}
	fs_reply_err(req, err);
}

void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fs_node *n = fs_node_of(fs, ino);
	int err;
	if (!strncmp(name, SO_PREFIX, SO_PREFIX_LEN)) {
		fs_reply_err(req, -EPERM);
		return;
	}
	if (!stored_name(name) || n == &fs->root) {
		fs_reply_err(req, stored_name(name) ? -ENODATA : -EOPNOTSUPP);
		return;
	}
	struct fsattr a;
	if ((err = fs_node_attr_copy(n, &a)) == 0) {
		if ((err = fsattr_xattr_remove(&a, name)) < 0) {
			fsattr_free(&a);
		} else {
			a.ctime = fs_now();
			err = fs_node_set_attr(fs, n, &a);
		}
	}
	fs_reply_err(req, err);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fuse_req_userdata(req);
	struct fs_node *n = fs_node_of(fs, ino);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char all[FSATTR_AUX_MAX], out[FSATTR_AUX_MAX];
	pthread_mutex_lock(&n->alock);
	size_t len = fsattr_xattr_list(&n->attr, all, sizeof(all));
	pthread_mutex_unlock(&n->alock);
	/* trusted.* is for the privileged only, as on local file systems */
	size_t o = 0;
	for (size_t i = 0; i < len && len <= sizeof(all);) {
		size_t l = strlen(all + i) + 1;
		if (ctx->uid == 0 || strncmp(all + i, "trusted.", 8)) {
			memcpy(out + o, all + i, l);
			o += l;
		}
		i += l;
	}
	reply_value(req, out, o, size);
}
