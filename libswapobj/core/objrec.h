/*
 * objrec.h - an object's records and charges as the whole store sees them:
 * class accounting, name records, release of an unlinked object's records,
 * the queue of doomed objects. See objrec.c for the invariants.
 */
#ifndef SO_OBJREC_H
#define SO_OBJREC_H

#include <stdint.h>

#include "extslot.h"
#include "log.h"
#include "object.h"

struct swapobj_store;

/* Live bytes o is charged in the usage table: its mapped pages and its name record. Caller holds o->lock. */
uint64_t objrec_charge(const struct so_obj *o);
/* o's charge changed from before to objrec_charge(o): move its class total (o->lock held). */
void objrec_account(struct swapobj_store *st, const struct so_obj *o, uint64_t before);
/* Charge of one class in bytes, as kept by objrec_account (0 for an unknown class). */
uint64_t objrec_class_live(struct swapobj_store *st, unsigned cls);

/* Extent-map callback context: which object's slots are being released. */
struct objrec_rel {
	struct so_log *lg;
	uint64_t oid;
};
/* Extent-map callback: a slot was replaced or cleared, its record died; ctx is a struct objrec_rel. */
void objrec_slot_released(void *ctx, uint64_t pgoff, extslot old);

/*
 * Log a name record (type REC_CREATE or REC_RENAME) stating o's identity
 * under key, and, for a RENAME, that the object victim (0: none) is gone.
 * Makes it o's live name record (the previous one dies) and the holder of
 * its aux data. Caller holds o->lock and ix->lock (so that the record is
 * ordered with prefix invalidations), or owns o exclusively (replay).
 * SWAPOBJ_ENOSPC for a new object in a full store; the log's errors.
 */
int objrec_log_name(struct swapobj_store *st, struct so_obj *o, const swapobj_key *key, uint8_t type, uint64_t victim);
/* Drop an unlinked object's data, name and aux records from the index and the usage table (o->lock held). */
void objrec_release(struct swapobj_store *st, struct so_obj *o);
/*
 * Delete o (o->lock held, o not dead): log its DELETE (which may use the
 * cleaner's reserve: it frees space), unlink it from the index, mark it
 * dead and release its records. SWAPOBJ_ENOTEMPTY for a directory object
 * with children; the log's errors.
 */
int objrec_delete(struct swapobj_store *st, struct so_obj *o);
/*
 * Queue o (reference passed) for the reaper's DELETE (space/cleaner.c,
 * reaper_run); caller holds ix.lock (write). SWAPOBJ_ENOMEM: not queued,
 * the caller keeps the reference.
 */
int objrec_doom(struct swapobj_store *st, struct so_obj *o);

#endif
