/*
 * fs.h - the state every part of swapobjfs shares: options, the node, the
 * mounted file system. Declarations only of data; the functions are in the
 * header of the file that owns them. Layers, each using only those below:
 *
 *   swapobjfs.c                 main: options, daemonizing, the session
 *   fsops.c, fsxattr.c          FUSE handlers (fsops.h)
 *   fslookup.c                  names to nodes: probing keys, resolving names
 *   fsnotify.c                  kernel invalidations from their own thread
 *   fsnode.c                    nodes and their attributes in aux (fsnode.h)
 *   fsname.c, fsattr.c          names and attribute records (pure)
 *   fsutil.c                    logging, errno mapping, the clock
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
	int writeback;                              /* kernel writeback cache */
	int mlock;                                  /* mlockall once running */
	int direct_io;                              /* FOPEN_DIRECT_IO on every open: no page cache */
	int readonly;                               /* -o ro: the store is opened read-only too */
	int noatime;                                /* no atime updates at all */
	int no_odirect;                             /* SWAPOBJ_OPEN_NO_DIRECT */
	int no_cull;                                /* SWAPOBJ_OPEN_NO_CULL */
	unsigned cache_run, cache_cull, cache_stop; /* swapobj_open_opts' levels (all 0: the library's defaults) */
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
 * exclusive. n->alock guards the attribute fields. Order: olock, alock,
 * tlock; tlock is never held while calling the library.
 *
 * An open file whose name is removed (unlink, rename over it) becomes an
 * orphan: its object is renamed to FS_ORPHAN_COMP/<object id>, a key the
 * namespace never shows, the node leaves the table, and the object is
 * deleted when the last handle is released (or the node is freed). Orphans
 * a crash left behind are deleted at the next mount.
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
	bool stale;      /* deleted, replaced or invalidated: operations get ESTALE */
	bool dirty;      /* attr changed since it was last written to aux */
	bool has_aux;    /* attr came from (or has been written to) aux */
	bool foreign;    /* aux is not ours (unknown version): attributes are read-only */
	bool orphan;     /* unlinked while open: the object lives under the orphan prefix (also under tlock) */
	uint32_t nopen;  /* open file handles the kernel holds (open, create minus release) */
	bool nsub_valid; /* nsub counts the subdirectories (directories; kept up to date once counted) */
	uint32_t nsub;
	uint32_t nsub_gen; /* bumped by every change, so that a count racing with one is not kept */
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

#endif
