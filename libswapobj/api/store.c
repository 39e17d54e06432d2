/*
 * store.c - store lifecycle (format, open, close, sync), statistics, prefix
 * invalidation, listing, and the two background threads:
 *   flusher      writes out log buffers, keeps a READY segment for writers;
 *   maintenance  reaps invalidated subtrees and runs the cleaner when free
 *                segments run low.
 * Both are woken through the log's kick callback and also tick on a timer.
 */
#include <errno.h>
#include <time.h>

#include "api_int.h"
#include "invariants.h"
#include "ckpt.h"
#include "objrec.h"
#include "replay.h"
#include "tombreg.h"
#include "space.h"
#include "util.h"

#define BG_TICK_MS 100

int swapobj_format(const char *const *paths, unsigned npaths, const struct swapobj_format_opts *opts)
{
	return log_format(paths, npaths, opts);
}

static void store_kick(void *ctx, int what)
{
	struct swapobj_store *st = ctx;
	pthread_mutex_lock(&st->bg_mu);
	if (what & LOG_KICK_FLUSH) {
		st->flush_req = 1;
		pthread_cond_signal(&st->flush_cv);
	}
	if (what & LOG_KICK_CLEAN) {
		st->maint_req = 1;
		pthread_cond_signal(&st->maint_cv);
	}
	pthread_mutex_unlock(&st->bg_mu);
}

/* Wait for a request or a tick; returns false when stopping. */
static bool bg_wait(struct swapobj_store *st, pthread_cond_t *cv, unsigned *req)
{
	struct timespec ts;
	pthread_mutex_lock(&st->bg_mu);
	if (!*req && !st->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += BG_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(cv, &st->bg_mu, &ts);
	}
	*req = 0;
	bool go = !st->stop;
	pthread_mutex_unlock(&st->bg_mu);
	return go;
}

static void *flusher_main(void *arg)
{
	struct swapobj_store *st = arg;
	struct so_log *lg = &st->log;
	while (bg_wait(st, &st->flush_cv, &st->flush_req)) {
		while (log_background(lg))
			;
		/*
		 * After a quiet second, make the last sync's durability point itself
		 * durable (one SYNC record), so damage to that data is reported as
		 * damage and not mistaken for a torn write.
		 */
		uint64_t now = so_now_ns();
		if (__atomic_load_n(&lg->durable_seq, __ATOMIC_RELAXED) >
		        __atomic_load_n(&lg->sync_logged_seq, __ATOMIC_RELAXED) &&
		    now - __atomic_load_n(&lg->last_sync_ns, __ATOMIC_RELAXED) > 1000000000ull)
			log_sync(lg);
	}
	return NULL;
}

/*
 * Is a checkpoint due: enough log volume, or enough time with anything
 * written? After a failed attempt, not before a pause (maint_main).
 */
static bool ckpt_due(struct swapobj_store *st, uint64_t retry_ns)
{
	uint64_t written = log_device_bytes(&st->log) - __atomic_load_n(&st->ckpt_dev_bytes, __ATOMIC_RELAXED);
	uint64_t now = so_now_ns(), last = __atomic_load_n(&st->ckpt_ns, __ATOMIC_RELAXED);
	if (st->ckpt_every_bytes == UINT64_MAX || now < retry_ns)
		return false;
	return written >= st->ckpt_every_bytes || (written && now - last >= st->ckpt_every_ns);
}

static void *maint_main(void *arg)
{
	struct swapobj_store *st = arg;
	uint64_t retry_ns = 0, pause_ns = 0;
	while (bg_wait(st, &st->maint_cv, &st->maint_req)) {
		while (reaper_run(st, 4096) > 0)
			;
		/* Eviction first: what it frees is dead space the cleaner can then win back. */
		cull_background(st, false);
		if (space_want_clean(&st->log))
			cleaner_run(st, 0, false);
		/*
		 * A failure is sticky only for I/O errors; ENOSPC/ENOMEM mean a
		 * longer replay until one succeeds. ckpt_write counts it (for
		 * swapobj_store_stat) and has already asked the cleaner for room;
		 * retry after a pause that doubles from 1 s up to the time interval,
		 * rather than capture the whole index on every wake-up.
		 */
		if (ckpt_due(st, retry_ns)) {
			if (ckpt_write(st) < 0) {
				pause_ns = pause_ns ? SO_MIN(2 * pause_ns, st->ckpt_every_ns) : 1000000000ull;
				retry_ns = so_now_ns() + pause_ns;
			} else {
				pause_ns = retry_ns = 0;
			}
		}
	}
	return NULL;
}

static int start_threads(struct swapobj_store *st)
{
	int rc;
	if ((rc = pthread_create(&st->flusher, NULL, flusher_main, st)) != 0)
		return so_err(SWAPOBJ_ENOMEM, "cannot start flusher thread: %s", strerror(rc));
	if (st->manual_clean) {
		st->threads_started = true;
		return 0;
	}
	if ((rc = pthread_create(&st->maint, NULL, maint_main, st)) != 0) {
		pthread_mutex_lock(&st->bg_mu);
		st->stop = true;
		pthread_cond_broadcast(&st->flush_cv);
		pthread_mutex_unlock(&st->bg_mu);
		pthread_join(st->flusher, NULL);
		return so_err(SWAPOBJ_ENOMEM, "cannot start maintenance thread: %s", strerror(rc));
	}
	st->threads_started = true;
	return 0;
}

static void stop_threads(struct swapobj_store *st)
{
	if (!st->threads_started)
		return;
	pthread_mutex_lock(&st->bg_mu);
	st->stop = true;
	pthread_cond_broadcast(&st->flush_cv);
	pthread_cond_broadcast(&st->maint_cv);
	pthread_mutex_unlock(&st->bg_mu);
	/* The cleaner first: it may still need write-out (it also writes out by itself when buffers run short). */
	if (!st->manual_clean)
		pthread_join(st->maint, NULL);
	pthread_join(st->flusher, NULL);
	st->threads_started = false;
}

static void store_free(struct swapobj_store *st)
{
	for (size_t i = 0; i < st->ndoomed; i++)
		obj_put(st->doomed[i]); /* still in the oid table, which holds no reference of its own */
	so_free(SO_MEM_INDEX, st->doomed);
	oidmap_destroy(&st->tombs);
	pthread_mutex_destroy(&st->tomb_mu);
	index_destroy(&st->ix, NULL, NULL);
	log_close(&st->log);
	if (st->clean_buf)
		so_free_aligned(SO_MEM_BUFFER, st->clean_buf, st->log.seg_size);
	pthread_mutex_destroy(&st->bg_mu);
	pthread_cond_destroy(&st->flush_cv);
	pthread_cond_destroy(&st->maint_cv);
	pthread_mutex_destroy(&st->clean_mu);
	pthread_mutex_destroy(&st->ckpt_mu);
	cull_destroy(st);
	so_free(SO_MEM_OTHER, st);
}

int swapobj_store_open(swapobj_store **out, const char *const *paths, unsigned npaths,
                       const struct swapobj_open_opts *opts)
{
	struct swapobj_open_opts def = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_store *st;
	int err;

	if (!out)
		return so_err(SWAPOBJ_EINVAL, "NULL out pointer");
	*out = NULL;
	if (!opts)
		opts = &def;
	if (opts->version != SWAPOBJ_OPEN_OPTS_VERSION && opts->version != 1)
		return so_err(SWAPOBJ_EINVAL, "open options version %u unknown (use SWAPOBJ_OPEN_OPTS_INIT)",
		              opts->version);
	if (opts->flags &
	    ~(SWAPOBJ_OPEN_RDONLY | SWAPOBJ_OPEN_NO_DIRECT | SWAPOBJ_OPEN_MANUAL_CLEAN | SWAPOBJ_OPEN_DISCARD |
	      SWAPOBJ_OPEN_NO_IO_URING | SWAPOBJ_OPEN_NO_UPGRADE | SWAPOBJ_OPEN_NO_CULL))
		return so_err(SWAPOBJ_EINVAL, "unknown open flags 0x%x", opts->flags);
	/* A version 1 struct ends before the cache levels: defaults. */
	bool v2 = opts->version >= 2;
	st = so_zalloc(SO_MEM_OTHER, sizeof(*st));
	if (!st)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	st->rdonly = opts->flags & SWAPOBJ_OPEN_RDONLY;
	if ((err = cull_setup(st, opts->flags, v2 ? opts->cache_run : 0, v2 ? opts->cache_cull : 0,
	                      v2 ? opts->cache_stop : 0)) < 0) {
		so_free(SO_MEM_OTHER, st);
		return err;
	}
	pthread_mutex_init(&st->bg_mu, NULL);
	pthread_cond_init(&st->flush_cv, NULL);
	pthread_cond_init(&st->maint_cv, NULL);
	pthread_mutex_init(&st->clean_mu, NULL);
	pthread_mutex_init(&st->tomb_mu, NULL);
	pthread_mutex_init(&st->ckpt_mu, NULL);
	oidmap_init(&st->tombs);
	st->manual_clean = opts->flags & SWAPOBJ_OPEN_MANUAL_CLEAN;
	if ((err = log_open(&st->log, paths, npaths, st->rdonly, opts->flags & SWAPOBJ_OPEN_NO_DIRECT)) < 0) {
		pthread_mutex_destroy(&st->bg_mu);
		pthread_cond_destroy(&st->flush_cv);
		pthread_cond_destroy(&st->maint_cv);
		pthread_mutex_destroy(&st->clean_mu);
		pthread_mutex_destroy(&st->tomb_mu);
		pthread_mutex_destroy(&st->ckpt_mu);
		oidmap_destroy(&st->tombs);
		cull_destroy(st);
		so_free(SO_MEM_OTHER, st);
		return err;
	}
	if (opts->flags & SWAPOBJ_OPEN_NO_IO_URING)
		for (unsigned d = 0; d < st->log.ndevs; d++)
			st->log.devs[d].uring = false;
	/* FORMAT.md: unknown read-only-compatible features (none are known yet) allow reading, not writing. */
	for (unsigned d = 0; d < st->log.ndevs; d++)
		if (st->log.sbs[d].ro_compat)
			st->rdonly = st->log.rdonly = true;
	if (st->rdonly)
		st->cull.on = false;
	if (!st->rdonly && !st->log.split && !(opts->flags & SWAPOBJ_OPEN_NO_UPGRADE) &&
	    (err = log_upgrade_split(&st->log)) < 0) {
		log_close(&st->log);
		so_free(SO_MEM_OTHER, st);
		return err;
	}
	if ((err = index_init(&st->ix)) < 0) {
		log_close(&st->log);
		so_free(SO_MEM_OTHER, st);
		return err;
	}
	uint64_t t0 = so_now_ns();
	if ((err = replay_run(st)) < 0)
		goto fail;
	st->replay_ns = so_now_ns() - t0;
	inv_store(st, "open");
	/* Default: a checkpoint per 256 MiB of log (less on small stores, never under 32 MiB) or 30 s. */
	uint64_t cap = st->log.nsegs * st->log.seg_size;
	st->ckpt_every_bytes = opts->checkpoint_bytes
	                           ? opts->checkpoint_bytes
	                           : SO_MAX((uint64_t)32 << 20, SO_MIN((uint64_t)256 << 20, cap / 4));
	st->ckpt_every_ns = 30ull * 1000000000ull;
	st->ckpt_dev_bytes = log_device_bytes(&st->log);
	st->ckpt_ns = so_now_ns();
	st->log.manual_clean = st->manual_clean;
	st->log.discard = (opts->flags & SWAPOBJ_OPEN_DISCARD) != 0;
	if (!st->rdonly) {
		st->log.kick = store_kick;
		st->log.kick_ctx = st;
		if ((err = start_threads(st)) < 0) {
			st->log.kick = NULL;
			goto fail;
		}
		store_kick(st, LOG_KICK_FLUSH | LOG_KICK_CLEAN);
	}
	*out = st;
	return 0;
fail:
	store_free(st);
	return err;
}

int swapobj_store_close(swapobj_store *st)
{
	int err = 0;
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	stop_threads(st);
	/*
	 * A checkpoint makes the next open fast; if it cannot be taken for want
	 * of space or memory (ckpt_write runs the cleaner for room first) the
	 * next open replays more, nothing is lost. Then sync twice: the second
	 * makes durable the SYNC record naming what the first made durable.
	 */
	if (!st->rdonly && !__atomic_load_n(&st->log.sticky_err, __ATOMIC_ACQUIRE) &&
	    st->ckpt_every_bytes != UINT64_MAX && log_device_bytes(&st->log) != st->ckpt_dev_bytes) {
		err = ckpt_write(st);
		if (err == SWAPOBJ_ENOSPC || err == SWAPOBJ_ENOMEM)
			err = 0;
	}
	if (err == 0 && !st->rdonly && !__atomic_load_n(&st->log.sticky_err, __ATOMIC_ACQUIRE) &&
	    (err = log_sync(&st->log)) == 0)
		err = log_sync(&st->log);
	st->log.kick = NULL;
	inv_store(st, "close");
	store_free(st);
	return err;
}

int swapobj_store_sync(swapobj_store *st)
{
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if (st->rdonly)
		return 0;
	return log_sync(&st->log);
}

int swapobj_store_checkpoint(swapobj_store *st)
{
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if (st->rdonly)
		return so_err(SWAPOBJ_EROFS, "store is open read-only");
	return ckpt_write(st);
}

int swapobj_store_clean(swapobj_store *st, unsigned max_segments)
{
	int err;
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if ((err = log_check_writable(&st->log)) < 0)
		return err;
	reaper_run(st, 1u << 16);               /* bounded: a huge invalidated prefix is freed over several calls */
	int64_t ev = cull_background(st, true); /* with SWAPOBJ_OPEN_MANUAL_CLEAN, the only background eviction */
	if (ev < 0)
		return (int)ev;
	return cleaner_run(st, max_segments, max_segments > 0);
}

/*
 * The size of struct swapobj_store_stat as first released (0.1): callers
 * built against that header or a later one may ask. When fields are
 * appended, this stays what it is.
 */
#define STORE_STAT_SIZE_V1 (offsetof(struct swapobj_store_stat, discard) + sizeof(uint32_t))

static void store_stat_fill(struct swapobj_store_stat *out, swapobj_store *st);

int swapobj_store_stat(struct swapobj_store_stat *out, size_t out_size, swapobj_store *st)
{
	struct swapobj_store_stat full;
	if (!st || !out)
		return so_err(SWAPOBJ_EINVAL, "NULL argument");
	if (out_size < STORE_STAT_SIZE_V1)
		return so_err(SWAPOBJ_EINVAL, "struct swapobj_store_stat of %zu bytes (at least %zu)", out_size,
		              (size_t)STORE_STAT_SIZE_V1);
	store_stat_fill(&full, st);
	memset(out, 0, out_size);
	memcpy(out, &full, SO_MIN(out_size, sizeof(full)));
	return 0;
}

static void store_stat_fill(struct swapobj_store_stat *out, swapobj_store *st)
{
	struct so_log *lg = &st->log;
	memset(out, 0, sizeof(*out));
	out->segment_size = lg->seg_size;
	out->ndevices = lg->ndevs;
	out->segments = lg->nsegs;
	out->capacity_bytes = lg->nsegs * lg->seg_size;
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		const struct log_seg *s = &lg->segs[i];
		uint64_t live = __atomic_load_n(&s->live, __ATOMIC_RELAXED);
		out->live_bytes += live;
		/* READY segments hold nothing but their header: free space set aside for the next open. */
		if (s->state == SEG_FREE || s->state == SEG_READY) {
			out->segments_free++;
			continue;
		}
		if (s->state == SEG_OPEN)
			out->segments_open++;
		out->segments_used++;
		uint64_t hold = s->state == SEG_OPEN ? __atomic_load_n(&s->fill, __ATOMIC_RELAXED) : lg->seg_size;
		out->dead_bytes += hold > SEGHDR_REC_SIZE + live ? hold - SEGHDR_REC_SIZE - live : 0;
		unsigned b = (unsigned)(live * SWAPOBJ_UTIL_BUCKETS / lg->seg_size);
		out->util_histogram[b < SWAPOBJ_UTIL_BUCKETS ? b : SWAPOBJ_UTIL_BUCKETS - 1]++;
	}
	pthread_mutex_unlock(&lg->mu);
	out->free_bytes = out->segments_free * lg->seg_size;
	out->used_bytes = out->capacity_bytes - out->free_bytes;
	out->usable_bytes = log_usable(lg);
	pthread_mutex_lock(&lg->mu);
	uint64_t keep = log_user_keep_locked(lg);
	pthread_mutex_unlock(&lg->mu);
	out->reserved_bytes = SO_MIN(keep, out->segments_free) * lg->seg_size;
	out->live_swap_bytes = objrec_class_live(st, SWAPOBJ_CLASS_SWAP);
	out->live_cache_bytes = objrec_class_live(st, SWAPOBJ_CLASS_CACHE);
	out->segments_erased = __atomic_load_n(&lg->segs_erased, __ATOMIC_RELAXED);
	out->segments_discarded = __atomic_load_n(&lg->segs_discarded, __ATOMIC_RELAXED);
	out->manual_clean = st->manual_clean;
	out->discard = lg->discard;
	pthread_rwlock_rdlock(&st->ix.lock);
	out->objects = oidmap_count(&st->ix.oids) - st->ndoomed;
	pthread_rwlock_unlock(&st->ix.lock);
	out->pages = __atomic_load_n(&st->ix.pages, __ATOMIC_RELAXED);
	out->user_bytes_written = __atomic_load_n(&lg->user_bytes, __ATOMIC_RELAXED);
	for (unsigned d = 0; d < lg->ndevs; d++)
		out->device_bytes_written += __atomic_load_n(&lg->devs[d].bytes_written, __ATOMIC_RELAXED);
	out->index_bytes = so_mem_used(SO_MEM_INDEX);
	out->layout = lg->split ? SWAPOBJ_LAYOUT_SPLIT : SWAPOBJ_LAYOUT_CLASSIC;
	out->lost_regions = lg->lost_regions;
	out->resynced_blocks = st->resynced_blocks;
	out->culling = st->cull.on;
	out->cache_run_bytes = cull_level(st, st->cull.run);
	out->cache_cull_bytes = cull_level(st, st->cull.cull);
	out->cache_stop_bytes = cull_level(st, st->cull.stop);
	out->cache_state = cull_state(st);
	for (unsigned i = 0; i < SWAPOBJ_EVICT_REASONS; i++) {
		out->evicted_objects[i] = __atomic_load_n(&st->cull.objects[i], __ATOMIC_RELAXED);
		out->evicted_bytes[i] = __atomic_load_n(&st->cull.bytes[i], __ATOMIC_RELAXED);
	}
	out->cache_writes_refused = __atomic_load_n(&st->cull.refused, __ATOMIC_RELAXED);
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		const struct log_seg *g = &lg->segs[i];
		if (g->csum)
			out->page_check_bytes += lg->seg_size / SO_BLOCK * sizeof(uint32_t);
		out->split_segments_used += g->split && (g->state == SEG_OPEN || g->state == SEG_SEALED);
	}
	pthread_mutex_unlock(&lg->mu);
	out->buffer_bytes = so_mem_used(SO_MEM_BUFFER);
	out->segments_cleaned = __atomic_load_n(&lg->segs_cleaned, __ATOMIC_RELAXED);
	out->bytes_relocated = __atomic_load_n(&lg->bytes_relocated, __ATOMIC_RELAXED);
	out->replay_ns = st->replay_ns;
	out->replay_bytes = st->replay_tail_bytes;
	out->from_checkpoint = st->ckpt_loaded;
	out->checkpoint_fallbacks = st->ckpt_fallbacks;
	out->checkpoints_written = __atomic_load_n(&st->ckpts_written, __ATOMIC_RELAXED);
	out->checkpoint_bytes = __atomic_load_n(&st->ckpt_last_bytes, __ATOMIC_RELAXED);
	out->checkpoint_time_ns = __atomic_load_n(&st->ckpt_wall_ns, __ATOMIC_RELAXED);
	out->checkpoint_failures = __atomic_load_n(&st->ckpt_failures, __ATOMIC_RELAXED);
	out->checkpoint_last_error = __atomic_load_n(&st->ckpt_last_err, __ATOMIC_RELAXED);
	out->damaged_records = st->damaged_records;
	out->next_seq = __atomic_load_n(&lg->next_seq, __ATOMIC_RELAXED);
	out->readonly = st->rdonly || __atomic_load_n(&lg->sticky_err, __ATOMIC_RELAXED) != 0;
	out->direct_io = 1;
	out->io_uring = 1;
	for (unsigned d = 0; d < lg->ndevs; d++) {
		if (!lg->devs[d].direct)
			out->direct_io = 0;
		if (!lg->devs[d].uring)
			out->io_uring = 0;
		out->device_bytes_read += __atomic_load_n(&lg->devs[d].bytes_read, __ATOMIC_RELAXED);
	}
}

/* ------------------------------------------------------------------ */
/* Prefix invalidation and listing                                     */
/* ------------------------------------------------------------------ */

int swapobj_invalidate(swapobj_store *st, const swapobj_key *prefix)
{
	uint8_t payload[KEYENC_MAX];
	struct so_index *ix;
	int err;
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if ((err = key_check(prefix, 1)) < 0)
		return err;
	if ((err = log_check_writable(&st->log)) < 0)
		return err;
	/* Let the cleaner make room first (no lock held); if it cannot, the record may use the reserve. */
	(void)log_space_wait(&st->log, IO_ALIGN, false);
	ix = &st->ix;
	pthread_rwlock_wrlock(&ix->lock);
	struct ns_node *n = ns_lookup(&ix->ns, prefix, prefix->ncomp);
	if (!n) {
		err = so_err(SWAPOBJ_ENOENT, "nothing stored under the prefix");
		goto done;
	}
	if (ix->ndetached == ix->cap_detached) {
		size_t cap = ix->cap_detached ? 2 * ix->cap_detached : 8;
		void *p = so_realloc(SO_MEM_INDEX, ix->detached, cap * sizeof(*ix->detached));
		if (!p) {
			err = so_err(SWAPOBJ_ENOMEM, "out of memory");
			goto done;
		}
		ix->detached = p;
		ix->cap_detached = cap;
	}
	struct rec r = {0};
	r.type = REC_INVALIDATE;
	uint32_t plen = key_encode(payload, prefix, prefix->ncomp);
	uint64_t taddr;
	if ((err = log_append(&st->log, LOG_HOT, LOG_URGENT, &r, payload, plen, &taddr)) < 0)
		goto done;
	tombreg_set(st, r.seq, taddr);
	struct ns_node *sub = ns_detach(&ix->ns, prefix, prefix->ncomp);
	ix->detached[ix->ndetached++] = sub;
	__atomic_add_fetch(&ix->inval_epoch, 1, __ATOMIC_RELEASE);
done:
	pthread_rwlock_unlock(&ix->lock);
	if (err == 0 && st->log.kick)
		st->log.kick(st->log.kick_ctx, LOG_KICK_CLEAN);
	return err;
}

int swapobj_list_next(struct swapobj_dirent *out, swapobj_store *st, const swapobj_key *prefix,
                      struct swapobj_cursor *cursor)
{
	int err;
	if (!st || !cursor || !out)
		return so_err(SWAPOBJ_EINVAL, "NULL argument");
	swapobj_key root;
	if (!prefix) {
		swapobj_key_init(&root);
		prefix = &root;
	}
	if ((err = key_check(prefix, 0)) < 0)
		return err;
	if (cursor->name_len > SWAPOBJ_COMPONENT_MAX)
		return so_err(SWAPOBJ_EINVAL, "corrupt cursor");
	pthread_rwlock_rdlock(&st->ix.lock);
	struct ns_node *dir = ns_lookup(&st->ix.ns, prefix, prefix->ncomp);
	struct ns_node *child = NULL;
	if (!dir) {
		err = so_err(SWAPOBJ_ENOENT, "no such prefix");
	} else if (!ns_node_takes_children(dir)) {
		err = so_err(SWAPOBJ_ENOTDIR, "prefix names a non-directory object");
	} else {
		err = ns_next_child(dir, cursor->started != 0, cursor->hash, cursor->name, cursor->name_len, &child);
		if (err == 1) {
			out->type =
			    ns_node_is_prefix(child) || ns_node_is_dir(child) ? SWAPOBJ_DT_PREFIX : SWAPOBJ_DT_OBJECT;
			out->name_len = child->name_len;
			memcpy(out->name, child->name, child->name_len);
			out->cookie = child->hash;
			cursor->started = 1;
			cursor->hash = child->hash;
			cursor->name_len = child->name_len;
			memcpy(cursor->name, child->name, child->name_len);
		}
	}
	pthread_rwlock_unlock(&st->ix.lock);
	return err;
}
