/*
 * fs.h - swapobjfs internals shared by the node table (fsnode.c), the FUSE
 * handlers (fsops.c) and the daemon (swapobjfs.c).
 *
 * swapobjfs uses only the public libswapobj API. Inside the daemon errors
 * are negative errno values: that is what every FUSE reply carries; library
 * codes are turned into them in one place (fs_errno).
 */
#ifndef SWAPOBJFS_FS_H
#define SWAPOBJFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsattr.h"
#include "fsname.h"
#include "swapobj.h"

#define FS_IO_MAX (1u << 20) /* max_write and the read buffer */

struct fs_opts {
	const char *devices[SWAPOBJ_MAX_DEVICES];
	unsigned ndevices;
	int foreground, debug, single_thread;
	int writeback;  /* kernel writeback cache */
	int mlock;      /* mlockall once running */
	int direct_io;  /* FOPEN_DIRECT_IO on every open: no page cache */
	int readonly;   /* -o ro: the store is opened read-only too */
	int noatime;    /* no atime updates at all */
	int no_odirect; /* SWAPOBJ_OPEN_NO_DIRECT */
	int clone_fd;
	unsigned threads; /* worker threads, kept alive (no churn under memory pressure) */
	unsigned rtprio;  /* SCHED_RR priority of every thread, 0: not real-time */
	double entry_timeout, attr_timeout;
	uid_t uid; /* owner of objects without attributes, implicit directories, the root */
	gid_t gid;
	unsigned fmode, dmode;
	char *mountpoint;
};

/*
 * A node: one inode the kernel knows (nodeid = its address; the root is
 * FUSE_ROOT_ID). Nodes are found by (parent, component) in a hash table so
 * that one key always has one nodeid while the kernel holds it.
 *
 * Locking: fs->tlock guards the table fields (parent, name, hnext, hashed,
 * nlookup, refs). n->olock guards the object handle: data operations hold
 * it shared while they use obj, replacing or closing the handle takes it
 * exclusive. n->alock guards the attribute fields. Order: tlock is never
 * held while calling the library; olock before alock.
 */
struct fs_node {
	/* table (fs->tlock) */
	struct fs_node *parent; /* holds a ref; NULL for the root */
	struct fs_node *hnext;
	uint64_t nlookup; /* kernel references */
	uint32_t refs;    /* children and internal users */
	bool hashed;
	struct fs_node *all_prev, *all_next; /* every live node but the root */
	uint8_t name_len;
	uint8_t name[SWAPOBJ_COMPONENT_MAX];
	uint64_t cookie; /* listing cookie, kept for components whose name is a digest (fsname.h) */
	uint64_t generation;

	pthread_rwlock_t olock;
	swapobj_obj *obj; /* file, symlink or directory object; NULL for an implicit directory */

	pthread_mutex_t alock;
	bool stale;   /* deleted, replaced or invalidated: operations get ESTALE */
	bool dirty;   /* attr changed since it was last written to aux */
	bool has_aux; /* attr came from (or has been written to) aux */
	bool foreign; /* aux is not ours (unknown version): attributes are read-only */
	uint64_t ino;
	struct fsattr attr;
};

struct fs_notify; /* kernel cache invalidations, sent from their own thread */

struct fs {
	struct fs_opts o;
	swapobj_store *st;
	struct fuse_session *se;
	struct timespec mount_time;
	struct fs_node root;

	pthread_mutex_t tlock;
	struct fs_node **buckets;
	size_t nbuckets, nnodes;
	struct fs_node *all; /* list of every live node but the root */
	uint64_t next_generation;

	struct fs_notify *notify;
};

/* ---- fsnode.c ---- */
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

/* ---- fsops.c ---- */
extern const struct fuse_lowlevel_ops fs_ops;
int fs_errno(int swapobj_err);
void fs_reply_err(fuse_req_t req, int err);
struct timespec fs_now(void);
/* The calling worker thread's FS_IO_MAX buffer (NULL without memory). */
uint8_t *fs_iobuf(void);
/* How many of those buffers exist (one per worker thread that has read). */
unsigned fs_iobuf_count(void);
void fs_attr_default(struct fs *fs, struct fsattr *a, bool dir);
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

/* ---- fsxattr.c ---- */
void fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- fsmem.c ---- */
/* Before the store is opened: thread stack sizes, and with mlock the malloc arenas and thresholds. */
void fs_mem_prepare(bool mlock);
/* Lock the daemon's memory (-o mlock; after daemonizing) and ask to be an I/O flusher; failures are logged. */
void fs_mem_lock(void);
/* Attributes for a thread of the daemon's own (a deliberate stack size); 0 or -errno. */
int fs_thread_attr(pthread_attr_t *attr);
/* The daemon's memory figures on one line (VmLck, VmRSS, stacks, buffers); length or -ERANGE. */
int fs_mem_stat(char *out, size_t cap);

/* ---- fsnotify.c ---- */
int fs_notify_start(struct fs *fs);
void fs_notify_stop(struct fs *fs);
/* Queue "drop the dentry (parent, name)" for the kernel. */
void fs_notify_entry(struct fs *fs, fuse_ino_t parent, const char *name);

/* Log a message (stderr in the foreground, syslog when daemonized). */
void fs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
