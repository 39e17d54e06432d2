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

#endif
