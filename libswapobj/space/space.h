/*
 * space.h - the space manager: where user writes go, when and what to
 * clean, the reaper of detached subtrees, and a recount of the usage table
 * from the index (the check that the table is exact). Per-object and
 * per-class charges are kept below, in core/objrec.h.
 *
 * The usage table itself (live bytes, tombstone bytes, age stamp per
 * segment) lives in log/log.h; cleaner.c relocates, usage.c decides and
 * counts.
 */
#ifndef SO_SPACE_H
#define SO_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_types.h"

struct swapobj_store;

/* Background cleaning keeps LOG_CLEAN_AHEAD segments available to user streams (log.h). */
#define SPACE_CLEAN_AHEAD LOG_CLEAN_AHEAD

/* Should the background cleaner run now? */
bool space_want_clean(struct so_log *lg);

/*
 * Stream for a batch of user pages whose current slots are old[0..n)
 * (EXT_NONE: a new page). A page whose current copy has lived longer than
 * the store takes to write its live data once is rewritten rarely: such
 * pages go to WARM, the rest (and new pages) to HOT, so that segments of
 * often-rewritten pages empty fast and cheaply. HOT means the object's
 * HOT lane (log_hot_lane(oid)).
 */
int space_stream_for(struct swapobj_store *st, uint64_t oid, const extslot *old, uint32_t n);

/*
 * Records the cleaner relocates go to FROZEN if their seq is below this
 * (written longer ago than the same horizon), to COLD otherwise. Records
 * caught young by the cleaner are mostly pages about to be rewritten; old
 * ones mostly stay.
 */
uint64_t space_frozen_below(struct swapobj_store *st);

/*
 * Recount the usage table from the index: seg_live[nsegs] gets every
 * segment's live bytes, cls_live[0..3) every class's (index = class), as
 * the index references them now. Holds the cleaner's lock (no relocation
 * or reaping meanwhile); callers make sure no other thread modifies the
 * store (tests, fsck). SWAPOBJ_ENOMEM possible.
 */
int space_recount(struct swapobj_store *st, uint64_t *seg_live, uint64_t cls_live[3]);
/*
 * Compare the usage table and the class totals with a recount, holding the
 * cleaner's lock throughout (the background cleaner and reaper wait; user
 * operations must not run meanwhile). 0 if they agree, SWAPOBJ_ECORRUPT
 * with a message naming the first difference.
 */
int space_check(struct swapobj_store *st);

/*
 * space/cleaner.c: clean up to max victims (0 = while worthwhile; force:
 * even when not worthwhile, for manual cleaning). Returns segments freed or
 * a negative error.
 */
int cleaner_run(struct swapobj_store *st, unsigned max, bool force);
/* Free detached subtrees and log the DELETEs of doomed objects (bounded work); returns objects freed. */
size_t reaper_run(struct swapobj_store *st, size_t budget);

/*
 * space/cull.c: evicting CACHE objects when free space (usable - live)
 * runs short. cull_setup checks and sets the levels (percent of usable
 * bytes free; all 0: defaults) at open.
 */
int cull_setup(struct swapobj_store *st, unsigned flags, unsigned run, unsigned cull, unsigned stop);
void cull_destroy(struct swapobj_store *st);
/* usable - live, 0 if live is larger. */
uint64_t cull_free_bytes(struct swapobj_store *st);
/* A level (percent of usable bytes) in bytes; 0 when culling is off. */
uint64_t cull_level(struct swapobj_store *st, unsigned pct);
/* Where free space stands against the levels (SWAPOBJ_CACHE_OK when culling is off). */
enum swapobj_cache_state cull_state(struct swapobj_store *st);
/* Is free space below the cull level (and culling on)? */
bool cull_wanted(struct swapobj_store *st);
/*
 * Evict unpinned CACHE objects, least recently used first, until want
 * live bytes are freed or none is left. Returns the bytes freed (> 0), 0
 * if nothing could be evicted, or the log's error that stopped the pass.
 */
int64_t cull_evict(struct swapobj_store *st, uint64_t want, enum swapobj_evict_reason why);
/*
 * The maintenance thread's pass (asked: swapobj_store_clean's): below the
 * cull level, evict until the run level is free. After a pass that could
 * evict nothing, the thread's passes pause for 100 ms; asked ones do not.
 */
int64_t cull_background(struct swapobj_store *st, bool asked);
/*
 * The cleaner, about to relocate a record of o (o->lock held): evict o
 * instead? (Free space below the run level, o evictable and at least a quarter
 * as old as the youngest object the last culling pass evicted.)
 */
bool cull_drop(struct swapobj_store *st, struct so_obj *o);
/* Count one eviction of bytes live bytes, for reason why. */
void cull_note(struct swapobj_store *st, enum swapobj_evict_reason why, uint64_t bytes);
/* Wake the maintenance thread (cleaner, reaper, eviction), if the store runs one. */
static inline void space_kick(struct swapobj_store *st)
{
	if (st->log.kick)
		st->log.kick(st->log.kick_ctx, LOG_KICK_CLEAN);
}
/* Advance the recency clock (an open, a write call). */
static inline void cull_tick(struct swapobj_store *st)
{
	__atomic_add_fetch(&st->cull.clock, 1, __ATOMIC_RELAXED);
}
/* o was opened, read or written: it is the most recently used now. */
static inline void cull_touch(struct swapobj_store *st, struct so_obj *o)
{
	uint32_t now = __atomic_load_n(&st->cull.clock, __ATOMIC_RELAXED);
	if (__atomic_load_n(&o->atime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&o->atime, now, __ATOMIC_RELAXED);
}

#endif
