/*
 * store_types.h - the store's shared state: struct swapobj_store holds the
 * log, the index, the tombstone registry, the queue of doomed objects, the
 * checkpoint references, the per-class live bytes and the background
 * threads' state. Every layer above log/ and index/ (core, space, recovery,
 * check, api) includes this one header to reach them; it holds no logic.
 * The registries that keep parts of it consistent live beside it in core/
 * (tombreg.h, objrec.h); the functions that act on the whole store live in
 * the layer that owns the action (space/, recovery/, api/).
 *
 * Locks of this struct within the library's order (index/object.h has the
 * rest): clean_mu (one cleaner or reaper) is taken before any obj->lock;
 * tomb_mu is a leaf; bg_mu guards only the background threads' requests;
 * ckpt_mu (one checkpoint writer, recovery/ckpt.c) is taken before clean_mu:
 * a checkpoint short of room runs the cleaner.
 */
#ifndef SO_STORE_TYPES_H
#define SO_STORE_TYPES_H

#include <pthread.h>

#include "log.h"
#include "object.h"

/* A checkpoint referenced by a slot (recovery/ckpt.c). no == 0: none. */
struct ckpt_ref {
	uint64_t no, cut_seq;
	uint32_t nsegs;
	uint32_t segs[CKPT_MAX_SEGS];
	uint32_t gens[CKPT_MAX_SEGS];
};

struct swapobj_store {
	struct so_log log;
	struct so_index ix;
	bool rdonly;
	uint64_t replay_ns;
	uint64_t damaged_records; /* found by replay: damaged headers or payloads of durable records */
	uint64_t resynced_blocks; /* split streams' blocks replay found with a record in one copy, rewritten whole */

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
	uint64_t ckpt_dev_bytes;    /* device bytes written when the last checkpoint was taken (atomic) */
	uint64_t ckpt_ns;           /* when (so_now_ns; atomic) */
	uint64_t ckpt_every_bytes;  /* take one after this much log volume ... */
	uint64_t ckpt_every_ns;     /* ... or this much time with anything written */
	uint64_t ckpts_written;     /* since open (atomic) */
	uint64_t ckpt_last_bytes;   /* body size of the last one written or loaded (atomic) */
	uint64_t ckpt_wall_ns;      /* wall-clock time of the newest one, written or loaded; 0: none (atomic) */
	uint64_t ckpt_failures;     /* attempts that failed since open (atomic) */
	int ckpt_last_err;          /* SWAPOBJ_E* code of the last failed attempt; 0: none (atomic) */
	uint64_t replay_tail_bytes; /* bytes of log the open replayed */
	uint32_t ckpt_loaded;       /* the open started from a checkpoint */
	uint32_t ckpt_fallbacks;    /* damaged checkpoints the open skipped */

	/*
	 * Objects dropped by a prefix invalidation that had been renamed, waiting
	 * for the reaper to log a DELETE of each (objrec_doom; reaper_run in space/cleaner.c).
	 * Until then they stay in the oid table with their name record live.
	 * Guarded by ix.lock; each entry holds a reference.
	 */
	struct so_obj **doomed;
	size_t ndoomed, cap_doomed;

	pthread_mutex_t clean_mu; /* one cleaner (or reaper) at a time */
	uint8_t *clean_buf;       /* seg_size, aligned; guarded by clean_mu */
	bool manual_clean;        /* SWAPOBJ_OPEN_MANUAL_CLEAN: no maintenance thread */
	uint64_t live_cls[3];     /* atomic: live bytes per class (index = enum swapobj_class), core/objrec.c */

	/* Cache culling (space/cull.c); CULL_BATCH: the oldest objects one walk of the index gathers. */
#define CULL_BATCH 1024
	struct cull {
		struct cull_cand {
			uint32_t age, atime;
			uint64_t oid;
		} * cand; /* CULL_BATCH entries, a pass's working set (under mu); NULL when culling is off */
		bool on;  /* CACHE objects may be evicted */
		unsigned run, cull, stop;                /* levels, percent of usable bytes free */
		uint32_t clock;                          /* atomic: the recency clock (so_obj.atime) */
		pthread_mutex_t mu;                      /* one eviction pass at a time */
		uint64_t objects[SWAPOBJ_EVICT_REASONS]; /* atomic: evicted since open, by reason */
		uint64_t bytes[SWAPOBJ_EVICT_REASONS];   /* atomic: their live bytes */
		uint64_t refused;                        /* atomic: CACHE writes refused (SWAPOBJ_ECACHEFULL) */
		uint64_t idle_until; /* atomic: so_now_ns before which a background pass is not retried */
		uint32_t horizon;    /* atomic: age of the youngest object the last pass evicted (0: none yet) */
	} cull;
};

struct obj_ra; /* a handle's read-ahead window (api/batch.c) */

/* The public object handle: the store and a reference to the object. */
struct swapobj_obj {
	struct swapobj_store *st;
	struct so_obj *o;
	uint64_t ra_next;  /* atomic: where this handle's last read ended (a read starting there is sequential) */
	uint32_t ra_seq;   /* atomic: reads in a row that each started where the one before ended */
	struct obj_ra *ra; /* atomic pointer, set once; its contents are guarded by o->lock */
};

#endif
