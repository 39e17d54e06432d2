/*
 * fsnode.c - nodes: the table of nodeids the kernel holds, found by
 * (parent, component) so that a key has exactly one nodeid at a time; and
 * each node's attributes, kept in its object's aux data (fsattr.h).
 *
 * Attributes changed by the data path (times) are only marked dirty and
 * written lazily (fs_node_flush: at close, fsync, when the node is freed,
 * at unmount); attribute changes (fs_node_set_attr) are written at once.
 *
 * Invariants (under fs->tlock):
 *  1. A hashed node is reachable from the bucket of hash(parent, name), and
 *     no two hashed nodes have the same (parent, name).
 *  2. n->refs counts the hashed-or-not children whose parent is n plus every
 *     internal holder (fs_node_get); n->nlookup counts the kernel's lookups.
 *  3. A node is freed exactly when nlookup and refs both reach 0; it then
 *     drops its ref on its parent. The root is never freed.
 * The library is never called with tlock held; closing a freed node's
 * handle happens after the node left the table.
 */
#include <errno.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fsnode.h"

static size_t bucket_of(struct fs *fs, struct fs_node *parent, const uint8_t *name, size_t len)
{
	return (size_t)(XXH3_64bits_withSeed(name, len, (uint64_t)(uintptr_t)parent) & (fs->nbuckets - 1));
}

int fs_table_init(struct fs *fs)
{
	pthread_mutex_init(&fs->tlock, NULL);
	fs->nbuckets = 1024;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	if (!fs->buckets)
		return -ENOMEM;
	struct fs_node *r = &fs->root;
	memset(r, 0, sizeof(*r));
	pthread_rwlock_init(&r->olock, NULL);
	pthread_mutex_init(&r->alock, NULL);
	r->nlookup = 1;
	r->refs = 1;
	r->ino = FUSE_ROOT_ID;
	fs->next_generation = 1;
	return 0;
}

static void node_free(struct fs *fs, struct fs_node *n)
{
	fs_node_release_obj(fs, n);
	fsattr_free(&n->attr);
	pthread_rwlock_destroy(&n->olock);
	pthread_mutex_destroy(&n->alock);
	free(n);
}

struct fs_node *fs_node_new(struct fs *fs, const uint8_t *comp, size_t len)
{
	struct fs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	pthread_rwlock_init(&n->olock, NULL);
	pthread_mutex_init(&n->alock, NULL);
	memcpy(n->name, comp, len);
	n->name_len = (uint8_t)len;
	return n;
}

void fs_node_discard(struct fs *fs, struct fs_node *n)
{
	node_free(fs, n);
}

struct fs_node *fs_node_of(struct fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct fs_node *)(uintptr_t)ino;
}

fuse_ino_t fs_nodeid(struct fs *fs, struct fs_node *n)
{
	return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

int fs_node_key(struct fs *fs, struct fs_node *n, const uint8_t *comp, size_t comp_len, swapobj_key *key)
{
	const struct fs_node *chain[SWAPOBJ_KEY_MAX_COMPONENTS + 1];
	unsigned depth = 0;
	int err = 0;
	swapobj_key_init(key);
	pthread_mutex_lock(&fs->tlock);
	if (n->orphan)
		err = -ESTALE; /* its name is gone; its key is no business of the caller's */
	for (const struct fs_node *p = n; !err && p && p != &fs->root; p = p->parent) {
		if (depth == SWAPOBJ_KEY_MAX_COMPONENTS) {
			err = -ENAMETOOLONG;
			break;
		}
		chain[depth++] = p;
	}
	while (!err && depth > 0) {
		const struct fs_node *p = chain[--depth];
		if (swapobj_key_push(key, p->name, p->name_len) < 0)
			err = -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&fs->tlock);
	if (!err && comp_len && swapobj_key_push(key, comp, comp_len) < 0)
		err = -ENAMETOOLONG;
	return err;
}

static struct fs_node *find_locked(struct fs *fs, struct fs_node *parent, const uint8_t *comp, size_t len)
{
	for (struct fs_node *n = fs->buckets[bucket_of(fs, parent, comp, len)]; n; n = n->hnext)
		if (n->parent == parent && n->name_len == len && !memcmp(n->name, comp, len))
			return n;
	return NULL;
}

struct fs_node *fs_node_find(struct fs *fs, struct fs_node *parent, const uint8_t *comp, size_t len)
{
	pthread_mutex_lock(&fs->tlock);
	struct fs_node *n = find_locked(fs, parent, comp, len);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&fs->tlock);
	return n;
}

static void unlink_bucket(struct fs *fs, struct fs_node *n)
{
	struct fs_node **pp = &fs->buckets[bucket_of(fs, n->parent, n->name, n->name_len)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	n->hashed = false;
	fs->nnodes--;
}

/* Double the buckets when the table is full (best effort: stays as is without memory). */
static void maybe_grow(struct fs *fs)
{
	if (fs->nnodes < fs->nbuckets)
		return;
	size_t nb = fs->nbuckets * 2;
	struct fs_node **b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	struct fs_node **old = fs->buckets;
	size_t oldn = fs->nbuckets;
	fs->buckets = b;
	fs->nbuckets = nb;
	for (size_t i = 0; i < oldn; i++) {
		for (struct fs_node *n = old[i], *next; n; n = next) {
			next = n->hnext;
			size_t k = bucket_of(fs, n->parent, n->name, n->name_len);
			n->hnext = b[k];
			b[k] = n;
		}
	}
	free(old);
}

static void hash_in(struct fs *fs, struct fs_node *n)
{
	size_t k = bucket_of(fs, n->parent, n->name, n->name_len);
	n->hnext = fs->buckets[k];
	fs->buckets[k] = n;
	n->hashed = true;
	fs->nnodes++;
	maybe_grow(fs);
}

struct fs_node *fs_node_insert(struct fs *fs, struct fs_node *parent, struct fs_node *fresh)
{
	pthread_mutex_lock(&fs->tlock);
	struct fs_node *n = find_locked(fs, parent, fresh->name, fresh->name_len);
	if (n) {
		n->refs++;
		pthread_mutex_unlock(&fs->tlock);
		node_free(fs, fresh);
		return n;
	}
	fresh->parent = parent;
	parent->refs++;
	fresh->refs = 1;
	fresh->generation = fs->next_generation++;
	fresh->all_next = fs->all;
	if (fs->all)
		fs->all->all_prev = fresh;
	fs->all = fresh;
	hash_in(fs, fresh);
	pthread_mutex_unlock(&fs->tlock);
	return fresh;
}

void fs_node_get(struct fs *fs, struct fs_node *n)
{
	pthread_mutex_lock(&fs->tlock);
	n->refs++;
	pthread_mutex_unlock(&fs->tlock);
}

static void all_remove(struct fs *fs, struct fs_node *n)
{
	if (n->all_prev)
		n->all_prev->all_next = n->all_next;
	else
		fs->all = n->all_next;
	if (n->all_next)
		n->all_next->all_prev = n->all_prev;
	n->all_prev = n->all_next = NULL;
}

/*
 * Drop one ref or lookup of n and free what became unused, walking up the
 * parents. Called with tlock held; returns with it released.
 */
static void release_locked(struct fs *fs, struct fs_node *n)
{
	struct fs_node *dead[SWAPOBJ_KEY_MAX_COMPONENTS + 2];
	unsigned ndead = 0;
	while (n && n != &fs->root && n->refs == 0 && n->nlookup == 0) {
		struct fs_node *p = n->parent;
		if (n->hashed)
			unlink_bucket(fs, n);
		all_remove(fs, n);
		dead[ndead++] = n;
		n->parent = NULL;
		if (!p)
			break;
		p->refs--;
		n = p;
		if (ndead == SWAPOBJ_KEY_MAX_COMPONENTS + 2)
			break;
	}
	pthread_mutex_unlock(&fs->tlock);
	for (unsigned i = 0; i < ndead; i++)
		node_free(fs, dead[i]);
}

void fs_node_put(struct fs *fs, struct fs_node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&fs->tlock);
	n->refs--;
	release_locked(fs, n);
}

void fs_node_lookup_inc(struct fs *fs, struct fs_node *n)
{
	pthread_mutex_lock(&fs->tlock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->tlock);
}

void fs_node_forget(struct fs *fs, struct fs_node *n, uint64_t nlookup)
{
	if (n == &fs->root)
		return;
	pthread_mutex_lock(&fs->tlock);
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	release_locked(fs, n);
}

void fs_node_unhash(struct fs *fs, struct fs_node *n)
{
	pthread_mutex_lock(&fs->tlock);
	if (n->hashed)
		unlink_bucket(fs, n);
	pthread_mutex_unlock(&fs->tlock);
	pthread_mutex_lock(&n->alock);
	n->stale = true;
	pthread_mutex_unlock(&n->alock);
}

void fs_node_move(struct fs *fs, struct fs_node *n, struct fs_node *parent, const uint8_t *comp, size_t len)
{
	pthread_mutex_lock(&fs->tlock);
	if (n->hashed)
		unlink_bucket(fs, n);
	struct fs_node *old = n->parent;
	parent->refs++;
	n->parent = parent;
	memcpy(n->name, comp, len);
	n->name_len = (uint8_t)len;
	hash_in(fs, n);
	old->refs--;
	release_locked(fs, old); /* unlocks */
}

static bool below(struct fs_node *n, struct fs_node *dir, bool *child)
{
	*child = n->parent == dir;
	for (struct fs_node *p = n->parent; p; p = p->parent)
		if (p == dir)
			return true;
	return false;
}

long fs_node_collect_below(struct fs *fs, struct fs_node *dir, struct fs_node ***out, bool **is_child)
{
	pthread_mutex_lock(&fs->tlock);
	size_t cap = fs->nnodes ? fs->nnodes : 1;
	struct fs_node **v = malloc(cap * sizeof(*v));
	bool *c = malloc(cap * sizeof(*c));
	long n = 0;
	if (!v || !c) {
		pthread_mutex_unlock(&fs->tlock);
		free(v);
		free(c);
		return -ENOMEM;
	}
	for (size_t b = 0; b < fs->nbuckets; b++) {
		for (struct fs_node *x = fs->buckets[b]; x; x = x->hnext) {
			bool ch;
			if ((size_t)n < cap && below(x, dir, &ch)) {
				x->refs++;
				c[n] = ch;
				v[n++] = x;
			}
		}
	}
	pthread_mutex_unlock(&fs->tlock);
	*out = v;
	*is_child = c;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Open files and orphans                                                    */
/* ------------------------------------------------------------------------ */

/* Delete an orphan's object (its last user is gone). */
static void orphan_delete(swapobj_obj *obj)
{
	int rc = swapobj_obj_delete(obj);
	if (rc < 0 && rc != SWAPOBJ_ESTALE)
		fs_log(LOG_WARNING, "could not delete an unlinked file (removed at the next mount): %s",
		       swapobj_errmsg());
}

static void orphan_prefix(swapobj_key *key)
{
	swapobj_key_init(key);
	swapobj_key_push(key, FS_ORPHAN_COMP, FS_ORPHAN_COMP_LEN);
}

bool fs_is_orphan_comp(struct fs *fs, struct fs_node *parent, const uint8_t *comp, size_t len)
{
	return parent == &fs->root && len == FS_ORPHAN_COMP_LEN && !memcmp(comp, FS_ORPHAN_COMP, len);
}

int fs_node_open(struct fs *fs, struct fs_node *n)
{
	int err = 0;
	pthread_rwlock_rdlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	if (!n->obj || n->stale)
		err = -ESTALE;
	else
		n->nopen++;
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	return err;
}

void fs_node_close(struct fs *fs, struct fs_node *n)
{
	pthread_mutex_lock(&n->alock);
	bool orphan = n->orphan;
	if (!orphan && n->nopen > 0)
		n->nopen--;
	pthread_mutex_unlock(&n->alock);
	if (!orphan)
		return;
	/* exclusive: no read or write is using the object, and an open of the
	 * same inode (through /proc/PID/fd) waits and then finds it stale */
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	if (n->nopen > 0)
		n->nopen--;
	bool last = n->nopen == 0 && !n->stale && !fs->o.readonly;
	n->stale |= last;
	pthread_mutex_unlock(&n->alock);
	if (last && n->obj) {
		orphan_delete(n->obj);
		swapobj_obj_close(n->obj);
		n->obj = NULL;
	}
	pthread_rwlock_unlock(&n->olock);
}

/*
 * Move n's object (named key) to the orphan prefix and take n out of the
 * table. Caller holds n->olock exclusive. 0 or -errno.
 */
static int orphan_locked(struct fs *fs, struct fs_node *n, const swapobj_key *key)
{
	struct swapobj_obj_stat os;
	swapobj_key okey;
	int rc = swapobj_obj_stat(&os, sizeof(os), n->obj);
	if (rc < 0)
		return fs_errno(rc);
	orphan_prefix(&okey);
	swapobj_key_push_u64(&okey, os.id); /* unique while the object lives */
	rc = swapobj_rename(fs->st, key, &okey, SWAPOBJ_RENAME_NOREPLACE);
	if (rc < 0)
		return fs_errno(rc);
	pthread_mutex_lock(&n->alock);
	pthread_mutex_lock(&fs->tlock);
	n->orphan = true;
	if (n->hashed)
		unlink_bucket(fs, n);
	pthread_mutex_unlock(&fs->tlock);
	n->attr.ctime = fs_now();
	pthread_mutex_unlock(&n->alock);
	return 0;
}

int fs_node_remove_file(struct fs *fs, struct fs_node *n, const swapobj_key *key)
{
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	bool open = n->nopen > 0 && n->obj && !n->stale;
	pthread_mutex_unlock(&n->alock);
	if (open) {
		int err = orphan_locked(fs, n, key);
		if (err == 0) {
			pthread_rwlock_unlock(&n->olock);
			return 0;
		}
		fs_log(LOG_WARNING, "unlinked file kept open could not be kept (its descriptors get ESTALE): %s",
		       strerror(-err));
	}
	int rc = swapobj_delete(fs->st, key);
	pthread_rwlock_unlock(&n->olock);
	if (rc == SWAPOBJ_EISDIR || rc == SWAPOBJ_ENOTEMPTY)
		return -EISDIR;
	if (rc < 0)
		return fs_errno(rc);
	fs_node_drop_stale(fs, n);
	return 0;
}

int fs_node_orphan_if_open(struct fs *fs, struct fs_node *n, const swapobj_key *key)
{
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	bool open = n->nopen > 0 && n->obj && !n->stale && !S_ISDIR(n->attr.mode);
	pthread_mutex_unlock(&n->alock);
	int err = open ? orphan_locked(fs, n, key) : 0;
	pthread_rwlock_unlock(&n->olock);
	if (err < 0) {
		fs_log(LOG_WARNING, "file replaced while open could not be kept (its descriptors get ESTALE): %s",
		       strerror(-err));
		return 0;
	}
	return open;
}

int fs_node_unorphan(struct fs *fs, struct fs_node *n, struct fs_node *parent, const uint8_t *comp, size_t len,
                     const swapobj_key *key)
{
	struct swapobj_obj_stat os;
	swapobj_key okey;
	pthread_rwlock_wrlock(&n->olock);
	int rc = n->obj ? swapobj_obj_stat(&os, sizeof(os), n->obj) : SWAPOBJ_ESTALE;
	if (rc == 0) {
		orphan_prefix(&okey);
		swapobj_key_push_u64(&okey, os.id);
		rc = swapobj_rename(fs->st, &okey, key, SWAPOBJ_RENAME_NOREPLACE);
	}
	if (rc == 0) {
		pthread_mutex_lock(&n->alock);
		pthread_mutex_lock(&fs->tlock);
		n->orphan = false;
		pthread_mutex_unlock(&fs->tlock);
		pthread_mutex_unlock(&n->alock);
	}
	pthread_rwlock_unlock(&n->olock);
	if (rc < 0)
		return fs_errno(rc);
	fs_node_move(fs, n, parent, comp, len);
	return 0;
}

void fs_orphans_reap(struct fs *fs)
{
	swapobj_key key;
	struct swapobj_cursor c = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent d;
	unsigned long count = 0;
	if (fs->o.readonly)
		return;
	orphan_prefix(&key);
	while (swapobj_list_next(&d, fs->st, &key, &c) > 0)
		count++;
	if (count == 0)
		return;
	int rc = swapobj_invalidate(fs->st, &key);
	if (rc < 0 && rc != SWAPOBJ_ENOENT)
		fs_log(LOG_WARNING, "could not delete %lu files unlinked while open before a crash: %s", count,
		       swapobj_errmsg());
	else
		fs_log(LOG_NOTICE, "deleted %lu files unlinked while open before a crash", count);
}

/* ------------------------------------------------------------------------ */
/* Subdirectory counts                                                       */
/* ------------------------------------------------------------------------ */

void fs_node_subdirs_add(struct fs_node *n, int delta)
{
	pthread_mutex_lock(&n->alock);
	n->nsub_gen++;
	if (n->nsub_valid) {
		if (delta < 0 && n->nsub < (uint32_t)-delta)
			n->nsub_valid = false; /* out of step: count again */
		else
			n->nsub = (uint32_t)((int64_t)n->nsub + delta);
	}
	pthread_mutex_unlock(&n->alock);
}

void fs_node_subdirs_forget(struct fs_node *n)
{
	pthread_mutex_lock(&n->alock);
	n->nsub_gen++;
	n->nsub_valid = false;
	pthread_mutex_unlock(&n->alock);
}

bool fs_node_subdirs_get(struct fs_node *n, uint32_t *count, uint32_t *gen)
{
	pthread_mutex_lock(&n->alock);
	bool valid = n->nsub_valid;
	*count = n->nsub;
	*gen = n->nsub_gen;
	pthread_mutex_unlock(&n->alock);
	return valid;
}

void fs_node_subdirs_set(struct fs_node *n, uint32_t count, uint32_t gen)
{
	pthread_mutex_lock(&n->alock);
	if (n->nsub_gen == gen) { /* nothing changed while counting */
		n->nsub = count;
		n->nsub_valid = true;
	}
	pthread_mutex_unlock(&n->alock);
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

void fs_attr_default(struct fs *fs, struct fsattr *a, bool dir)
{
	memset(a, 0, sizeof(*a));
	a->mode = dir ? (S_IFDIR | fs->o.dmode) : (S_IFREG | fs->o.fmode);
	a->uid = fs->o.uid;
	a->gid = fs->o.gid;
	a->atime = a->mtime = a->ctime = fs->mount_time;
}

/*
 * Load n's attributes from its object's aux (n->obj set, n not yet shared).
 * No aux: defaults; aux we cannot read: defaults, and the node is
 * "foreign" so that we never overwrite what a newer swapobjfs wrote.
 */
int fs_node_load(struct fs *fs, struct fs_node *n, bool dir)
{
	uint8_t buf[FSATTR_AUX_MAX];
	struct swapobj_obj_stat os;
	int rc = swapobj_obj_stat(&os, sizeof(os), n->obj);
	if (rc < 0)
		return fs_errno(rc);
	n->ino = os.id + FS_INO_OBJ_BASE;
	rc = swapobj_obj_get_aux(n->obj, buf, sizeof(buf));
	if (rc < 0)
		return fs_errno(rc);
	fs_attr_default(fs, &n->attr, dir);
	if (rc == 0)
		return 0;
	struct fsattr a;
	int err = (size_t)rc > sizeof(buf) ? -EINVAL : fsattr_decode(&a, buf, (size_t)rc);
	if (err == 0 && (S_ISDIR(a.mode) != dir)) {
		fsattr_free(&a);
		err = -EINVAL;
	}
	if (err < 0) {
		if (err != -ENOMEM)
			n->foreign = true;
		return err == -ENOMEM ? err : 0;
	}
	n->attr = a;
	n->has_aux = true;
	return 0;
}

int fs_node_flush(struct fs *fs, struct fs_node *n)
{
	uint8_t buf[FSATTR_AUX_MAX];
	int rc = 0;
	pthread_rwlock_rdlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	if (n->dirty && n->obj && !n->foreign && !n->stale && !n->orphan && !fs->o.readonly) {
		int len = fsattr_encode(&n->attr, buf, sizeof(buf));
		rc = len < 0 ? len : swapobj_obj_set_aux(n->obj, buf, (size_t)len);
		if (rc == 0) {
			n->dirty = false;
			n->has_aux = true;
		} else if (rc == SWAPOBJ_ESTALE) {
			n->dirty = false;
			rc = 0;
		} else if (rc < -1000 || rc > 0) {
			rc = -EIO;
		} else if (len >= 0) {
			rc = fs_errno(rc);
		}
	}
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	return rc;
}

void fs_node_release_obj(struct fs *fs, struct fs_node *n)
{
	fs_node_flush(fs, n);
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	bool doomed = n->orphan && !n->stale && !fs->o.readonly;
	n->stale |= doomed;
	pthread_mutex_unlock(&n->alock);
	if (n->obj && doomed)
		orphan_delete(n->obj);
	if (n->obj)
		swapobj_obj_close(n->obj);
	n->obj = NULL;
	pthread_rwlock_unlock(&n->olock);
}

/* Write a (n's new attributes) to aux now; on success they replace n->attr. Caller holds olock. */
static int node_store_attr_locked(struct fs *fs, struct fs_node *n, struct fsattr *a)
{
	uint8_t buf[FSATTR_AUX_MAX];
	int len = fsattr_encode(a, buf, sizeof(buf));
	if (len < 0)
		return len;
	int rc = swapobj_obj_set_aux(n->obj, buf, (size_t)len);
	if (rc < 0)
		return fs_errno(rc);
	fsattr_free(&n->attr);
	n->attr = *a;
	n->has_aux = true;
	n->dirty = false;
	return 0;
}

/*
 * Make implicit directory n a directory object carrying attributes a.
 * Caller holds n->olock exclusive.
 */
int fs_materialize_locked(struct fs *fs, struct fs_node *n, struct fsattr *a)
{
	swapobj_key key;
	uint8_t buf[FSATTR_AUX_MAX];
	int err = fs_node_key(fs, n, NULL, 0, &key);
	if (err < 0)
		return err;
	int len = fsattr_encode(a, buf, sizeof(buf));
	if (len < 0)
		return len;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR;
	oo.aux = buf;
	oo.aux_len = (size_t)len;
	swapobj_obj *obj;
	int rc = swapobj_obj_open(&obj, fs->st, &key, &oo);
	if (rc < 0)
		return fs_errno(rc);
	n->obj = obj;
	fsattr_free(&n->attr);
	n->attr = *a;
	n->has_aux = true;
	n->dirty = false;
	return 0;
}

/* Replace n's attributes by a, in aux (making a directory object if n is implicit). Takes the locks. */
int fs_node_set_attr(struct fs *fs, struct fs_node *n, struct fsattr *a)
{
	int err;
	if (n == &fs->root) {
		fsattr_free(a);
		return -EPERM; /* the root has no key, so nowhere to keep attributes */
	}
	pthread_rwlock_wrlock(&n->olock);
	pthread_mutex_lock(&n->alock);
	if (n->stale)
		err = -ESTALE;
	else if (n->foreign)
		err = -EOPNOTSUPP;
	else if (fs->o.readonly)
		err = -EROFS;
	else if (!n->obj)
		err = fs_materialize_locked(fs, n, a);
	else
		err = node_store_attr_locked(fs, n, a);
	pthread_mutex_unlock(&n->alock);
	pthread_rwlock_unlock(&n->olock);
	if (err < 0)
		fsattr_free(a);
	return err;
}

/* A copy of n's attributes to edit. */
int fs_node_attr_copy(struct fs_node *n, struct fsattr *a)
{
	pthread_mutex_lock(&n->alock);
	int err = fsattr_copy(a, &n->attr);
	pthread_mutex_unlock(&n->alock);
	return err;
}

bool fs_node_is_stale(struct fs_node *n)
{
	pthread_mutex_lock(&n->alock);
	bool s = n->stale;
	pthread_mutex_unlock(&n->alock);
	return s;
}

void fs_node_drop_stale(struct fs *fs, struct fs_node *n)
{
	fs_node_unhash(fs, n);
	fs_node_release_obj(fs, n);
}

void fs_node_flush_all(struct fs *fs)
{
	struct fs_node **v;
	bool *c;
	long n = fs_node_collect_below(fs, &fs->root, &v, &c);
	if (n < 0)
		return;
	for (long i = 0; i < n; i++) {
		fs_node_flush(fs, v[i]);
		fs_node_put(fs, v[i]);
	}
	free(v);
	free(c);
}

void fs_table_destroy(struct fs *fs)
{
	/* Whatever the kernel still held (it sends no forgets at unmount),
	 * unlinked nodes included. No request runs any more. */
	while (fs->all) {
		struct fs_node *n = fs->all;
		all_remove(fs, n);
		node_free(fs, n);
	}
	fs_node_release_obj(fs, &fs->root);
	fsattr_free(&fs->root.attr);
	free(fs->buckets);
	fs->buckets = NULL;
}
