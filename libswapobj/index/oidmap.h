/*
 * oidmap.h - hash map from 64-bit object ids to pointers.
 *
 * Open addressing with Robin Hood linear probing in one array of (oid, value)
 * pairs: 16 bytes a slot, kept between 7/12 and 7/8 full while it grows, so
 * about 18 to 28 bytes an entry. Deletion shifts the following entries back
 * instead of leaving tombstones, so slots freed by deletes are reused at once
 * and churn never degrades lookups or forces a rehash. The table grows by half
 * when 7/8 full and shrinks when under 1/4 full.
 *
 * Oid 0 marks empty slots and UINT64_MAX is reserved; neither is a valid oid.
 * Values may be any pointer but NULL (oidmap_get returns NULL for "absent").
 *
 * Locking: none; the caller serialises calls on one map (concurrent
 * oidmap_get/oidmap_count/oidmap_next calls may share a lock).
 * Memory: one so_alloc(SO_MEM_INDEX) block, none before the first put (a
 * map emptied by deletes keeps a minimal 16-slot table until destroyed).
 */
#ifndef SO_OIDMAP_H
#define SO_OIDMAP_H

#include <stdint.h>

#include "swapobj.h"

#define OIDMAP_EMPTY 0ull
#define OIDMAP_RESERVED UINT64_MAX

struct oidmap_slot {
	uint64_t oid; /* OIDMAP_EMPTY if free */
	void *val;
};

struct oidmap {
	struct oidmap_slot *slots; /* NULL while cap is 0 */
	uint64_t cap;              /* slots */
	uint64_t count;            /* entries */
	uint64_t salt;             /* this map's hash seed (oidmap_init), so no two maps order keys alike */
};

/** Initialise an empty map; allocates nothing, so never SWAPOBJ_ENOMEM. Errors: SWAPOBJ_EINVAL (m NULL). */
int oidmap_init(struct oidmap *m);

/** Free the table (not the values). The map is empty and reusable afterwards. */
void oidmap_destroy(struct oidmap *m);

/**
 * Map oid to val, replacing any previous value. May grow the table (an
 * O(count) rehash, amortised O(1)).
 * Errors: SWAPOBJ_EINVAL (oid 0 or UINT64_MAX, val NULL, m NULL),
 * SWAPOBJ_ENOMEM (the map is then unchanged).
 */
int oidmap_put(struct oidmap *m, uint64_t oid, void *val);

/** The value mapped to oid, or NULL. */
void *oidmap_get(const struct oidmap *m, uint64_t oid);

/**
 * Remove oid; returns its value, or NULL if absent. May shrink the table; if
 * that allocation fails the table just stays larger. Never fails otherwise.
 */
void *oidmap_del(struct oidmap *m, uint64_t oid);

/** Number of entries. */
uint64_t oidmap_count(const struct oidmap *m);

/**
 * Iterate: set *pos to 0, then call until it returns 0; each call returning
 * 1 sets *oid and *val to the next entry (in no particular order). Any put or
 * del invalidates the iteration (entries move): collect first, then modify.
 */
int oidmap_next(const struct oidmap *m, uint64_t *pos, uint64_t *oid, void **val);

/*
 * Test hook (process-wide, not thread-safe): the next `after` table
 * allocations succeed and later ones fail, until called with -1.
 */
void oidmap_test_fail_alloc(long after);
/* The longest probe a lookup of a present oid makes (slots looked at); 0 for an empty map. */
uint64_t oidmap_longest_probe(const struct oidmap *m);

#endif
