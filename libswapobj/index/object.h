/*
 * object.h - in-memory objects and the store-wide index that names them.
 *
 * Locking (the whole library's order, outermost first):
 *     obj->lock  ->  ix->lock (rwlock)  ->  log stream locks  ->  log.mu
 * obj->lock guards the object's map, size and record addresses; ix->lock
 * guards the namespace tree, the oid table, obj->node and next_oid. dead and
 * refs are atomics readable without locks. No thread waits for free space
 * while holding obj->lock (writers call log_space_wait first), so the
 * cleaner, which takes obj->lock, can always progress.
 */
#ifndef SO_OBJECT_H
#define SO_OBJECT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "extmap.h"
#include "ns.h"
#include "oidmap.h"

struct so_obj {
	pthread_mutex_t lock;
	uint64_t oid;
	uint32_t refs;   /* atomic; the index holds one while the object is linked */
	uint8_t dead;    /* atomic; set once, when deleted, replaced or reaped */
	uint8_t cls;     /* enum swapobj_class */
	uint8_t flags;   /* CREATE_F_* (CREATE_F_DIR: a directory object, no data) */
	uint8_t renamed; /* older name records, maybe under another key, may remain on disk (see reaper_run) */
	uint64_t version;
	uint64_t size;
	uint64_t create_addr; /* addr16 of the live name record (CREATE or RENAME) */
	uint64_t create_seq;
	uint32_t create_bytes; /* size of that record (charged to its segment) */
	uint32_t atime;        /* atomic: the store's recency clock when last read or written (space/cull.c) */
	uint64_t meta_addr;    /* addr16 of the newest record carrying the size */
	uint64_t meta_seq;
	/*
	 * Aux data. aux/aux_len: the current bytes (aux is a SO_MEM_INDEX
	 * allocation, NULL iff aux_len is 0). They were set by the record with
	 * seq aux_seq: an AUX record at aux_addr, of aux_bytes bytes, charged to
	 * its segment like the name record; or, when aux_addr is 0, the name
	 * record at create_addr, which carries them in its payload (then
	 * aux_seq == create_seq and aux_bytes is 0).
	 */
	uint8_t *aux;
	uint32_t aux_len;
	uint64_t aux_addr;
	uint64_t aux_seq;
	uint32_t aux_bytes;
	uint64_t inval_seen;  /* ix->inval_epoch when last found alive */
	struct ns_node *node; /* guarded by ix->lock; NULL once unlinked */
	struct extmap map;
};

struct so_index {
	pthread_rwlock_t lock;
	struct ns ns;
	struct oidmap oids;
	uint64_t next_oid;
	uint64_t inval_epoch; /* atomic: bumped by every prefix invalidation */
	uint64_t pages;       /* atomic: pages mapped by all linked objects */
	/* Detached subtrees waiting for the reaper (guarded by lock). */
	struct ns_node **detached;
	size_t ndetached, cap_detached;
};

int index_init(struct so_index *ix);
/* Free everything; objects' maps are destroyed with cb (may be NULL). */
void index_destroy(struct so_index *ix, extmap_cb cb, void *ctx);

/* A new object with one reference (the caller's). NULL on ENOMEM. */
struct so_obj *obj_new(uint64_t oid);
static inline void obj_get(struct so_obj *o)
{
	__atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}
/* Drop a reference; the last one frees the object (its map must be empty by then). */
void obj_put(struct so_obj *o);

/* Object by id with a reference taken, or NULL. */
struct so_obj *index_get(struct so_index *ix, uint64_t oid);

/*
 * Is the object gone (deleted, replaced, or under an invalidated prefix)?
 * Caller holds o->lock. Cheap unless an invalidation happened since the
 * last check.
 */
bool obj_is_dead(struct so_index *ix, struct so_obj *o);

/* The store's page count changed from before to after pages (an object's map grew or shrank). */
static inline void index_pages_account(struct so_index *ix, uint64_t before, uint64_t after)
{
	if (after > before)
		__atomic_add_fetch(&ix->pages, after - before, __ATOMIC_RELAXED);
	else if (before > after)
		__atomic_sub_fetch(&ix->pages, before - after, __ATOMIC_RELAXED);
}

#endif
