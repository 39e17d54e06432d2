/*
 * store_int.h - the store handle: the log, the index, background threads.
 */
#ifndef SO_STORE_INT_H
#define SO_STORE_INT_H

#include <pthread.h>

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
/* recovery/replay.c: rebuild the index from the log. */
int replay_run(struct swapobj_store *st);

/* Register where the tombstone with this seq lives (0 = forget it). */
void tomb_set(struct swapobj_store *st, uint64_t seq, uint64_t addr16);
uint64_t tomb_get(struct swapobj_store *st, uint64_t seq);

/* api/obj.c: write pages of an object; caller holds o->lock and has waited for space. */
int64_t obj_write_locked(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off);
/* Log a DELETE for o and unlink it (caller holds o->lock; takes ix->lock). */
int obj_delete_locked(struct swapobj_store *st, struct so_obj *o);

#endif
