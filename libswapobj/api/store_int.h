/*
 * store_int.h - the store handle: the log, the index, background threads.
 */
#ifndef SO_STORE_INT_H
#define SO_STORE_INT_H

#include <pthread.h>

#include "ckpt.h"
#include "log.h"
#include "object.h"

struct swapobj_store {
	struct so_log log;
	struct so_index ix;
	bool rdonly;
	uint64_t replay_ns;
	uint64_t damaged_records; /* found by replay: damaged headers or payloads of durable records */

	/* background threads: flusher (write-out, READY segments) and maintenance (cleaner, reaper) */
	pthread_t flusher, maint;
	bool threads_started;
	pthread_mutex_t bg_mu;
	pthread_cond_t flush_cv, maint_cv;
	unsigned flush_req, maint_req;
	bool stop;

	/*
	 * Tombstone registry: seq -> address of the one copy that counts. A
	 * relocated tombstone keeps its seq, and a copy left behind by an
	 * interrupted cleaning pass must be recognised as a duplicate and dropped,
	 * or duplicates would be carried (and multiply) forever.
	 */
	pthread_mutex_t tomb_mu;
	struct oidmap tombs;

	/* Checkpoints (recovery/ckpt.c), guarded by ckpt_mu. */
	pthread_mutex_t ckpt_mu;
	struct ckpt_ref ckpts[2];   /* [0] newest, [1] the one before; no == 0: none */
	uint64_t ckpt_dev_bytes;    /* device bytes written when the last checkpoint was taken */
	uint64_t ckpt_ns;           /* when (so_now_ns) */
	uint64_t ckpt_every_bytes;  /* take one after this much log volume ... */
	uint64_t ckpt_every_ns;     /* ... or this much time with anything written */
	uint64_t ckpts_written;     /* since open (atomic) */
	uint64_t ckpt_last_bytes;   /* body size of the last one written or loaded */
	uint64_t replay_tail_bytes; /* bytes of log the open replayed */
	uint32_t ckpt_loaded;       /* the open started from a checkpoint */
	uint32_t ckpt_fallbacks;    /* damaged checkpoints the open skipped */

	/*
	 * Objects dropped by a prefix invalidation that had been renamed, waiting
	 * for the reaper to log a DELETE of each (see reaper_run in cleaner.c).
	 * Until then they stay in the oid table with their name record live.
	 * Guarded by ix.lock; each entry holds a reference.
	 */
	struct so_obj **doomed;
	size_t ndoomed, cap_doomed;

	pthread_mutex_t clean_mu; /* one cleaner (or reaper) at a time */
	uint8_t *clean_buf;       /* seg_size, aligned; guarded by clean_mu */
	bool manual_clean;        /* SWAPOBJ_OPEN_MANUAL_CLEAN: no maintenance thread */
	uint64_t live_cls[3];     /* atomic: live bytes per class (index = enum swapobj_class), space/usage.c */
};

struct swapobj_obj {
	struct swapobj_store *st;
	struct so_obj *o;
};

/* space/cleaner.c: clean up to max victims (0 = while worthwhile). Returns segments freed or error. */
int cleaner_run(struct swapobj_store *st, unsigned max, bool force);
/* Free detached subtrees (bounded work); returns objects freed. */
size_t reaper_run(struct swapobj_store *st, size_t budget);
/* Queue o (reference passed) for the reaper's DELETE; caller holds ix.lock (write). */
int doomed_push(struct swapobj_store *st, struct so_obj *o);
/* recovery/replay.c: rebuild the index from the log. */
int replay_run(struct swapobj_store *st);
/*
 * At open: an object dropped by a prefix invalidation that was renamed goes
 * into the oid table (not the namespace) and the reaper's queue, its name
 * record live, to have its DELETE logged once the store runs (see
 * reaper_run in cleaner.c). Used by replay and the checkpoint loader.
 */
int replay_doom(struct swapobj_store *st, uint64_t oid, uint8_t cls, uint8_t flags, uint64_t create_addr,
                uint64_t create_seq, uint32_t create_bytes);

/* Register where the tombstone with this seq lives (0 = forget it). */
void tomb_set(struct swapobj_store *st, uint64_t seq, uint64_t addr16);
uint64_t tomb_get(struct swapobj_store *st, uint64_t seq);

/* api/obj.c: write pages of an object; caller holds o->lock and has waited for space. */
int64_t obj_write_locked(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off);
/*
 * Log a DELETE for o and unlink it (caller holds o->lock; takes ix->lock).
 * SWAPOBJ_ENOTEMPTY (nothing logged) if o is a directory object with children.
 */
int obj_delete_locked(struct swapobj_store *st, struct so_obj *o);
/*
 * Log a name record (type REC_CREATE or REC_RENAME) stating o's identity
 * under key, and, for a RENAME, that the object victim (0: none) is gone.
 * Makes it o's live name record (the previous one dies) and the holder of
 * its aux data. Caller holds o->lock and ix->lock (so that the record is
 * ordered with prefix invalidations), or owns o exclusively (replay).
 */
int obj_log_name(struct swapobj_store *st, struct so_obj *o, const swapobj_key *key, uint8_t type, uint64_t victim);
/* Drop an unlinked object's data, name and aux records from the index and the usage table (o->lock held). */
void obj_release_data(struct swapobj_store *st, struct so_obj *o);

#endif
