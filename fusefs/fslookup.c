/*
 * fslookup.c - from names to nodes: what a key is in the store, the
 * component a file name stands for under a directory, and the node of a
 * child (from the table, else made from the store).
 *
 * Used by the handlers; uses the node table and attributes (fsnode.h) and
 * the name encoding (fsname.h). Holds no state of its own.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fslookup.h"

/* What key names in the store; opens the object if it is one. */
int fs_probe(struct fs *fs, const swapobj_key *key, swapobj_obj **obj)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	struct swapobj_obj_stat os;
	oo.data_version = SWAPOBJ_VERSION_ANY;
	*obj = NULL;
	if (key->ncomp == 0)
		return FS_PROBE_IMPLICIT;
	int rc = swapobj_obj_open(obj, fs->st, key, &oo);
	if (rc == 0) {
		rc = swapobj_obj_stat(&os, sizeof(os), *obj);
		if (rc < 0) {
			swapobj_obj_close(*obj);
			*obj = NULL;
			return rc == SWAPOBJ_ESTALE ? FS_PROBE_NONE : fs_errno(rc);
		}
		return (os.flags & SWAPOBJ_O_DIR) ? FS_PROBE_DIROBJ : FS_PROBE_FILE;
	}
	if (rc == SWAPOBJ_EISDIR)
		return FS_PROBE_IMPLICIT;
	if (rc == SWAPOBJ_ENOENT || rc == SWAPOBJ_ENOTDIR || rc == SWAPOBJ_ESTALE)
		return FS_PROBE_NONE;
	return fs_errno(rc);
}

/* Does prefix key have any child? 1, 0, or -errno. */
int fs_has_children(struct fs *fs, const swapobj_key *key)
{
	struct swapobj_cursor c = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent d;
	int rc = swapobj_list_next(&d, fs->st, key, &c);
	if (rc == SWAPOBJ_ENOENT || rc == SWAPOBJ_ENOTDIR)
		return 0;
	return rc < 0 ? fs_errno(rc) : rc;
}

/*
 * Find the digest-named child of dirkey (the name carries the listing
 * cookie, so this is a seek plus the few siblings sharing that cookie).
 */
static int resolve_digest(struct fs *fs, const swapobj_key *dirkey, const struct fsname_decoded *d, uint8_t *comp,
                          size_t *len)
{
	struct swapobj_cursor c = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent ent;
	c.started = 1;
	c.hash = d->cookie;
	c.name_len = 0; /* before every name with that cookie */
	for (;;) {
		int rc = swapobj_list_next(&ent, fs->st, dirkey, &c);
		if (rc <= 0 || ent.cookie != d->cookie)
			return rc < 0 && rc != SWAPOBJ_ENOENT ? fs_errno(rc) : -ENOENT;
		if (fsname_needs_digest(ent.name, ent.name_len) &&
		    fsname_digest_hash(ent.name, ent.name_len) == d->hash) {
			memcpy(comp, ent.name, ent.name_len);
			*len = ent.name_len;
			return 0;
		}
	}
}

/*
 * The component a name under p stands for. for_create: a name that is not
 * any component's canonical name is EINVAL (it would alias another key), a
 * digest name that names nothing is EINVAL too (it cannot be made); for a
 * lookup both are simply ENOENT. The orphan prefix is neither found nor
 * made.
 */
int fs_name_to_comp(struct fs *fs, struct fs_node *p, const char *name, bool for_create, uint8_t *comp, size_t *len,
                    uint64_t *cookie)
{
	struct fsname_decoded d;
	*cookie = 0;
	if (strlen(name) > FSNAME_MAX)
		return -ENAMETOOLONG;
	if (fsname_decode(&d, name) < 0)
		return for_create ? -EINVAL : -ENOENT;
	if (d.kind == FSNAME_PLAIN) {
		if (fs_is_orphan_comp(fs, p, d.comp, d.len))
			return for_create ? -EINVAL : -ENOENT; /* hidden, and not to be made */
		memcpy(comp, d.comp, d.len);
		*len = d.len;
		return 0;
	}
	swapobj_key dk;
	int err = fs_node_key(fs, p, NULL, 0, &dk);
	if (err < 0)
		return err;
	err = resolve_digest(fs, &dk, &d, comp, len);
	*cookie = d.cookie;
	if (err == -ENOENT && for_create)
		return -EINVAL;
	return err;
}

static bool node_alive(struct fs *fs, struct fs_node *n)
{
	if (fs_node_is_stale(n))
		return false;
	struct swapobj_obj_stat os;
	pthread_rwlock_rdlock(&n->olock);
	bool ok = !n->obj || swapobj_obj_stat(&os, sizeof(os), n->obj) == 0;
	pthread_rwlock_unlock(&n->olock);
	return ok;
}

/* The node of child comp of p, made from the store if the table has none; with a ref. */
int fs_child_get(struct fs *fs, struct fs_node *p, const uint8_t *comp, size_t len, uint64_t cookie,
                 struct fs_node **out)
{
	struct fs_node *n = fs_node_find(fs, p, comp, len);
	if (n) {
		if (node_alive(fs, n)) {
			*out = n;
			return 0;
		}
		fs_node_drop_stale(fs, n);
		fs_node_put(fs, n);
	}
	swapobj_key key;
	int err = fs_node_key(fs, p, comp, len, &key);
	if (err < 0)
		return err;
	swapobj_obj *obj;
	int kind = fs_probe(fs, &key, &obj);
	if (kind < 0)
		return kind;
	if (kind == FS_PROBE_NONE)
		return -ENOENT;
	struct fs_node *fresh = fs_node_new(fs, comp, len);
	if (!fresh) {
		if (obj)
			swapobj_obj_close(obj);
		return -ENOMEM;
	}
	fresh->cookie = cookie;
	fresh->obj = obj;
	if (kind == FS_PROBE_IMPLICIT) {
		fs_attr_default(fs, &fresh->attr, true);
		fresh->ino = (XXH3_64bits(key.buf, key.nbytes) ^ key.ncomp) | FS_INO_IMPLICIT;
	} else if ((err = fs_node_load(fs, fresh, kind == FS_PROBE_DIROBJ)) < 0) {
		fs_node_discard(fs, fresh);
		return err;
	}
	*out = fs_node_insert(fs, p, fresh);
	return 0;
}

/*
 * After p lost an entry: if p is an implicit directory that is now empty,
 * make it a directory object so that it does not vanish under the shell
 * that just emptied it (rm a/b/last must leave a/b).
 */
void fs_keep_parent(struct fs *fs, struct fs_node *p)
{
	if (p == &fs->root)
		return;
	pthread_rwlock_wrlock(&p->olock);
	if (!p->obj && !fs_node_is_stale(p)) {
		swapobj_key key;
		uint8_t buf[FSATTR_AUX_MAX];
		if (fs_node_key(fs, p, NULL, 0, &key) == 0 && fs_has_children(fs, &key) == 0) {
			pthread_mutex_lock(&p->alock);
			int len = fsattr_encode(&p->attr, buf, sizeof(buf));
			pthread_mutex_unlock(&p->alock);
			struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
			oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR;
			oo.aux = buf;
			oo.aux_len = len > 0 ? (size_t)len : 0;
			int rc = swapobj_obj_open(&p->obj, fs->st, &key, &oo);
			if (rc < 0) {
				p->obj = NULL;
				fs_log(LOG_WARNING, "could not keep emptied directory: %s", swapobj_errmsg());
			} else {
				pthread_mutex_lock(&p->alock);
				p->has_aux = true;
				p->dirty = false;
				pthread_mutex_unlock(&p->alock);
			}
		}
	}
	pthread_rwlock_unlock(&p->olock);
}

uint32_t fs_dir_nlink(struct fs *fs, struct fs_node *n)
{
	uint32_t count, gen;
	if (fs_node_subdirs_get(n, &count, &gen))
		return 2 + count;
	swapobj_key key;
	struct swapobj_cursor c = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent d;
	int rc;
	if (fs_node_key(fs, n, NULL, 0, &key) < 0)
		return 2;
	count = 0;
	/* a child is a PREFIX exactly when it is a directory (keys never lie under a file) */
	while ((rc = swapobj_list_next(&d, fs->st, &key, &c)) > 0)
		if (d.type == SWAPOBJ_DT_PREFIX && !fs_is_orphan_comp(fs, n, d.name, d.name_len) &&
		    count < UINT32_MAX - 2)
			count++;
	if (rc == 0 || rc == SWAPOBJ_ENOENT)
		fs_node_subdirs_set(n, count, gen);
	return 2 + count;
}
