/*
 * fsnode.h - nodes (fsnode.c): the table of nodeids the kernel holds, and
 * each node's attributes, loaded from and written to its object's aux data.
 * Uses fsattr, fsname and fsutil; never the handlers.
 */
#ifndef SWAPOBJFS_FSNODE_H
#define SWAPOBJFS_FSNODE_H

#include "fs.h"
#include "fsutil.h"

#define FS_INO_OBJ_BASE 2            /* object ids map to st_ino id + 2 (1 is the root) */
#define FS_INO_IMPLICIT (1ull << 63) /* implicit directories: hash of the key, top bit set */
/*
 * The first component of the orphan prefix: files unlinked while open live
 * under it until their last handle is released. A NUL byte first, so no
 * program naming its keys in text collides; the namespace never shows it.
 */
#define FS_ORPHAN_COMP "\0swapobjfs.orphans"
#define FS_ORPHAN_COMP_LEN (sizeof(FS_ORPHAN_COMP) - 1)

/* ---- the table ---- */
int fs_table_init(struct fs *fs);
/* Release every node and the table (at unmount, after the last request). */
void fs_table_destroy(struct fs *fs);
struct fs_node *fs_node_of(struct fs *fs, fuse_ino_t ino);
fuse_ino_t fs_nodeid(struct fs *fs, struct fs_node *n);
/* Key of n (plus component comp if comp_len > 0). -ENAMETOOLONG past the key limits. */
int fs_node_key(struct fs *fs, struct fs_node *n, const uint8_t *comp, size_t comp_len, swapobj_key *key);
/*
 * The hashed node (parent, comp) with a ref taken, or NULL.
 */
struct fs_node *fs_node_find(struct fs *fs, struct fs_node *parent, const uint8_t *comp, size_t len);
/*
 * Install fresh: if (parent, comp) already has a node, that one is returned
 * (with a ref) and fresh is freed; otherwise fresh is hashed (with a ref for
 * the caller).
 */
struct fs_node *fs_node_insert(struct fs *fs, struct fs_node *parent, struct fs_node *fresh);
struct fs_node *fs_node_new(struct fs *fs, const uint8_t *comp, size_t len);
/* Free a node that was never inserted (closing its handle). */
void fs_node_discard(struct fs *fs, struct fs_node *n);
void fs_node_get(struct fs *fs, struct fs_node *n);
/* Drop a ref (freeing the node once nothing holds it). */
void fs_node_put(struct fs *fs, struct fs_node *n);
/* Kernel reference counting. */
void fs_node_lookup_inc(struct fs *fs, struct fs_node *n);
void fs_node_forget(struct fs *fs, struct fs_node *n, uint64_t nlookup);
/* Take n out of the table (its key no longer names it) and mark it stale. */
void fs_node_unhash(struct fs *fs, struct fs_node *n);
/* Move n to (parent, comp) after a rename. */
void fs_node_move(struct fs *fs, struct fs_node *n, struct fs_node *parent, const uint8_t *comp, size_t len);
/*
 * Collect, with a ref each, the hashed nodes strictly below dir (all of
 * them; dir's own children are flagged in *is_child). Returns the count or
 * -ENOMEM; *out is malloc'd.
 */
long fs_node_collect_below(struct fs *fs, struct fs_node *dir, struct fs_node ***out, bool **is_child);
/* Write every node's unsaved attributes (at unmount). */
void fs_node_flush_all(struct fs *fs);

/* ---- open files and orphans ---- */
/* Is (parent, comp) the orphan prefix (to be hidden from the namespace)? */
bool fs_is_orphan_comp(struct fs *fs, struct fs_node *parent, const uint8_t *comp, size_t len);
/* Count an open handle of n (open, create); -ESTALE if n's object is gone. */
int fs_node_open(struct fs *fs, struct fs_node *n);
/* The kernel released a handle of n; the last one of an orphan deletes its object. */
void fs_node_close(struct fs *fs, struct fs_node *n);
/*
 * Remove file n, named key: delete its object, or, while it is open, make
 * it an orphan (if that fails: delete it, its handles then get ESTALE).
 * 0 or -errno; n is out of the table either way.
 */
int fs_node_remove_file(struct fs *fs, struct fs_node *n, const swapobj_key *key);
/* Before a rename replaces file n (named key): if it is open, make it an orphan. 1 if so, else 0. */
int fs_node_orphan_if_open(struct fs *fs, struct fs_node *n, const swapobj_key *key);
/* Undo fs_node_orphan_if_open (the rename failed): n is named key, (parent, comp), again. */
int fs_node_unorphan(struct fs *fs, struct fs_node *n, struct fs_node *parent, const uint8_t *comp, size_t len,
                     const swapobj_key *key);
/* At mount: delete the orphans a crash left (logged). */
void fs_orphans_reap(struct fs *fs);

/* ---- subdirectory counts (st_nlink of directories), kept once counted ---- */
/* A directory gained (delta > 0) or lost subdirectories. */
void fs_node_subdirs_add(struct fs_node *n, int delta);
/* The count is no longer known (many changed at once). */
void fs_node_subdirs_forget(struct fs_node *n);
/* The count if known (true); *gen to pass to fs_node_subdirs_set after counting. */
bool fs_node_subdirs_get(struct fs_node *n, uint32_t *count, uint32_t *gen);
/* Keep a count made by listing, unless the directory changed since fs_node_subdirs_get gave gen. */
void fs_node_subdirs_set(struct fs_node *n, uint32_t count, uint32_t gen);

/* ---- attributes ---- */
/* The attributes of the root, of implicit directories and of objects without any. */
void fs_attr_default(struct fs *fs, struct fsattr *a, bool dir);
/*
 * Load n's attributes and st_ino from its object (n->obj set, n not yet
 * shared). 0, or -errno (-ENOMEM; an unreadable record makes n foreign).
 */
int fs_node_load(struct fs *fs, struct fs_node *n, bool dir);
/* Copy of n's attributes, to edit and pass to fs_node_set_attr. */
int fs_node_attr_copy(struct fs_node *n, struct fsattr *a);
/* Replace n's attributes by *a (consumed), written to aux at once. */
int fs_node_set_attr(struct fs *fs, struct fs_node *n, struct fsattr *a);
/* Make implicit directory n a directory object with attributes *a (consumed on success). Caller holds olock exclusive.
 */
int fs_materialize_locked(struct fs *fs, struct fs_node *n, struct fsattr *a);
bool fs_node_is_stale(struct fs_node *n);
/* Unhash n, mark it stale, close its handle. */
void fs_node_drop_stale(struct fs *fs, struct fs_node *n);
/* Close the node's handle (under olock) after writing unsaved attributes. */
void fs_node_release_obj(struct fs *fs, struct fs_node *n);
/* Write unsaved attributes to aux; 0 or -errno. */
int fs_node_flush(struct fs *fs, struct fs_node *n);

#endif
