/*
 * cull.c - evicting CACHE objects when free space runs short.
 *
 * Free space is usable - live (log.h): the live bytes writes may still add
 * before the store is full. The levels (swapobj_open_opts.cache_run, _cull,
 * _stop) are percentages of the usable bytes, as cachefilesd's brun, bcull
 * and bstop are of a file system's blocks:
 *   - below cull, the maintenance thread evicts until run is free again
 *     (SWAPOBJ_EVICT_THRESHOLD); the gap between the two is the hysteresis
 *     that keeps it from running on every write;
 *   - below stop, writes to CACHE objects are refused at once with
 *     SWAPOBJ_ECACHEFULL (api/obj.c), while a SWAP write that finds the
 *     store full evicts what it needs itself (SWAPOBJ_EVICT_SWAP).
 * Only unpinned CACHE objects that are not directories are ever evicted;
 * SWAP objects never.
 *
 * Eviction is of whole objects, as cachefilesd culls whole files: the
 * object is deleted exactly as swapobj_obj_delete does it (a DELETE
 * record, which may use the cleaner's reserve since it frees space), so
 * opening its key then gives SWAPOBJ_ENOENT and handles to it
 * SWAPOBJ_ESTALE: "not cached", never zeros passed off as data. Its
 * segments come back through the cleaner like any dead space. A crash
 * before the DELETE is durable brings the object back whole, with the data
 * it had; a key created again after the eviction is newer than the DELETE
 * and replays as the new object (the same rules as any delete).
 *
 * Recency: every object keeps atime, a 32-bit copy of the store's clock
 * taken whenever it is opened, read or written (a relaxed store into the
 * object's own word: no lock, nothing shared written on the read path).
 * The clock advances by one per open and per write call (cull_tick), so it
 * counts store activity, not wall time. Age is clock - atime modulo 2^32.
 * The word sits in what was padding of struct so_obj: no RAM per object,
 * none per page.
 *
 * A pass (cull_evict) walks the index under its read lock and keeps the
 * CULL_BATCH oldest live CACHE objects in a heap (an array allocated at
 * open: a pass allocates nothing, so a SWAP write that must evict does not
 * either), sorts them oldest first, then takes them in that order: under
 * the object's lock it must still be an unpinned, live CACHE object not
 * touched since it was gathered; then it is deleted and its live bytes
 * count as freed. Objects touched meanwhile are skipped (they are no
 * longer the least recently used). If the batch did not free enough, the
 * next walk gathers the next oldest. O(n log CULL_BATCH) per walk.
 *
 * Invariants:
 *  1. Only objects of class CACHE that are neither pinned nor directories
 *     are ever deleted here; SWAP objects never.
 *  2. An object is deleted only if its stamp is the one the pass gathered:
 *     nothing used after the walk is evicted by it.
 *  3. Lock order: cull.mu, then an object's lock, then the index lock
 *     (taken inside objrec_delete) — the order of a caller's delete, with
 *     cull.mu outermost; nothing holding an object's or the index lock
 *     takes cull.mu.
 *  4. The eviction counters only grow, and count exactly the deletes made
 *     here and by the cleaner (cull_note).
 */
#include <stdlib.h>

#include "objrec.h"
#include "space.h"
#include "util.h"

#define CULL_DEFAULT_RUN 10
#define CULL_DEFAULT_CULL 7
#define CULL_DEFAULT_STOP 3

int cull_setup(struct swapobj_store *st, unsigned flags, unsigned run, unsigned cull, unsigned stop)
{
	struct cull *c = &st->cull;
	if (run == 0 && cull == 0 && stop == 0) {
		run = CULL_DEFAULT_RUN;
		cull = CULL_DEFAULT_CULL;
		stop = CULL_DEFAULT_STOP;
	}
	if (!(stop < cull && cull < run && run < 100))
		return so_err(SWAPOBJ_EINVAL,
		              "cache levels run %u%%, cull %u%%, stop %u%%: need 0 <= stop < cull < run < 100", run,
		              cull, stop);
	c->run = run;
	c->cull = cull;
	c->stop = stop;
	c->on = !(flags & SWAPOBJ_OPEN_NO_CULL) && !st->rdonly;
	if (c->on && !(c->cand = so_alloc(SO_MEM_OTHER, CULL_BATCH * sizeof(*c->cand))))
		return so_err(SWAPOBJ_ENOMEM, "out of memory for the cache culler");
	pthread_mutex_init(&c->mu, NULL);
	return 0;
}

void cull_destroy(struct swapobj_store *st)
{
	so_free(SO_MEM_OTHER, st->cull.cand);
	st->cull.cand = NULL;
	pthread_mutex_destroy(&st->cull.mu);
}

uint64_t cull_free_bytes(struct swapobj_store *st)
{
	uint64_t usable = __atomic_load_n(&st->log.usable, __ATOMIC_RELAXED);
	uint64_t live = __atomic_load_n(&st->log.live_total, __ATOMIC_RELAXED);
	return usable > live ? usable - live : 0;
}

uint64_t cull_level(struct swapobj_store *st, unsigned pct)
{
	if (!st->cull.on)
		return 0;
	return __atomic_load_n(&st->log.usable, __ATOMIC_RELAXED) / 100 * pct;
}

enum swapobj_cache_state cull_state(struct swapobj_store *st)
{
	if (!st->cull.on)
		return SWAPOBJ_CACHE_OK;
	uint64_t free = cull_free_bytes(st);
	if (free < cull_level(st, st->cull.stop))
		return SWAPOBJ_CACHE_STOPPED;
	return free < cull_level(st, st->cull.cull) ? SWAPOBJ_CACHE_CULLING : SWAPOBJ_CACHE_OK;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cull_cand *x = a, *y = b;
	if (x->age != y->age)
		return x->age > y->age ? -1 : 1; /* oldest first */
	return x->oid < y->oid ? -1 : x->oid > y->oid;
}

/* Could o be evicted at all (read without its lock: fields set at creation, or atomic)? */
static bool evictable(const struct so_obj *o)
{
	return o->cls == SWAPOBJ_CLASS_CACHE && !__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE) &&
	       !(__atomic_load_n(&o->flags, __ATOMIC_RELAXED) & (CREATE_F_PIN | CREATE_F_DIR));
}

/* Age of a stamp against the clock now0; a stamp taken after now0 (during the walk) is the youngest. */
static uint32_t age_at(uint32_t now0, uint32_t atime)
{
	return (int32_t)(atime - now0) > 0 ? 0 : now0 - atime;
}

/* Heap of the CULL_BATCH oldest candidates: the root is the youngest kept, the one an older object replaces. */
static void sift_down(struct cull_cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && h[l].age < h[m].age)
			m = l;
		if (l + 1 < n && h[l + 1].age < h[m].age)
			m = l + 1;
		if (m == i)
			return;
		struct cull_cand t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(struct cull_cand *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].age > h[i].age) {
		struct cull_cand t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/*
 * The up to CULL_BATCH oldest candidates into c->cand, oldest first
 * (cull.mu held: the array is the pass's, allocated at open, so a pass
 * allocates nothing, not even on a SWAP write that must evict). Returns
 * how many.
 */
static size_t gather(struct swapobj_store *st)
{
	struct cull_cand *h = st->cull.cand;
	size_t cnt = 0;
	uint64_t pos = 0, oid;
	void *val;
	uint32_t now0 = __atomic_load_n(&st->cull.clock, __ATOMIC_RELAXED);
	pthread_rwlock_rdlock(&st->ix.lock);
	while (oidmap_next(&st->ix.oids, &pos, &oid, &val)) {
		struct so_obj *o = val;
		if (!evictable(o))
			continue;
		uint32_t at = __atomic_load_n(&o->atime, __ATOMIC_RELAXED);
		struct cull_cand c = {age_at(now0, at), at, oid};
		if (cnt < CULL_BATCH) {
			h[cnt] = c;
			sift_up(h, cnt++);
		} else if (c.age > h[0].age) {
			h[0] = c;
			sift_down(h, cnt, 0);
		}
	}
	pthread_rwlock_unlock(&st->ix.lock);
	/*
	 * Ages against the clock read after the walk: every stamp gathered was
	 * taken before it, so none is in the future (a clock read first would
	 * make an object touched during the walk look the oldest of all).
	 */
	uint32_t now = __atomic_load_n(&st->cull.clock, __ATOMIC_RELAXED);
	for (size_t i = 0; i < cnt; i++)
		h[i].age = now - h[i].atime;
	if (cnt)
		qsort(h, cnt, sizeof(*h), cand_cmp);
	return cnt;
}

/* Evict candidate c if it still qualifies; its live bytes in *freed. 1: skipped. */
static int evict_one(struct swapobj_store *st, const struct cull_cand *c, uint64_t *freed)
{
	struct so_obj *o = index_get(&st->ix, c->oid);
	int err = 1;
	if (!o)
		return 1;
	pthread_mutex_lock(&o->lock);
	if (evictable(o) && !obj_is_dead(&st->ix, o) && __atomic_load_n(&o->atime, __ATOMIC_RELAXED) == c->atime) {
		uint64_t bytes = objrec_charge(o);
		err = objrec_delete(st, o);
		if (err == 0)
			*freed = bytes;
	}
	pthread_mutex_unlock(&o->lock);
	obj_put(o);
	return err;
}

int64_t cull_evict(struct swapobj_store *st, uint64_t want, enum swapobj_evict_reason why)
{
	struct cull *c = &st->cull;
	uint64_t freed = 0, objs = 0;
	uint32_t youngest = 0;
	int err = 0;
	if (!c->on || want == 0)
		return 0;
	pthread_mutex_lock(&c->mu);
	/*
	 * Batches of the CULL_BATCH oldest: what one batch evicts is dead for the
	 * next walk, what it skipped was touched (young now), so each walk takes
	 * the next oldest. A batch that evicts nothing ends the pass.
	 */
	while (freed < want && err == 0) {
		size_t n = gather(st);
		uint64_t before = objs;
		for (size_t i = 0; i < n && freed < want; i++) {
			uint64_t b = 0;
			int rc = evict_one(st, &c->cand[i], &b);
			if (rc < 0) {
				err = rc; /* the log failed (read-only, I/O): stop */
				break;
			}
			if (rc == 0) {
				freed += b;
				objs++;
				youngest = c->cand[i].age;
			}
		}
		if (objs == before || n < CULL_BATCH)
			break;
	}
	if (objs)
		__atomic_store_n(&c->horizon, youngest ? youngest : 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->objects[why], objs, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->bytes[why], freed, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->mu);
	if (objs)
		space_kick(st); /* their segments are dead space now */
	return freed ? (int64_t)freed : err;
}

bool cull_wanted(struct swapobj_store *st)
{
	return st->cull.on && cull_free_bytes(st) < cull_level(st, st->cull.cull);
}

/*
 * The cleaner's question, for an object one of whose records it is about
 * to relocate (o->lock held): drop it instead? Yes when culling is on, free
 * space is below the run level (eviction is due anyway), the object could
 * be evicted at all, and it is at least a quarter as old as the youngest object
 * the last culling pass evicted: relocating it would rewrite data the
 * culler is about to throw away.
 */
bool cull_drop(struct swapobj_store *st, struct so_obj *o)
{
	struct cull *c = &st->cull;
	if (!c->on || !evictable(o) || cull_free_bytes(st) >= cull_level(st, c->run))
		return false;
	uint32_t horizon = __atomic_load_n(&c->horizon, __ATOMIC_RELAXED);
	uint32_t age = __atomic_load_n(&c->clock, __ATOMIC_RELAXED) - __atomic_load_n(&o->atime, __ATOMIC_RELAXED);
	return horizon && age >= horizon / 4;
}

void cull_note(struct swapobj_store *st, enum swapobj_evict_reason why, uint64_t bytes)
{
	__atomic_add_fetch(&st->cull.objects[why], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->cull.bytes[why], bytes, __ATOMIC_RELAXED);
}

/* After a background pass that found nothing to evict, wait this long before the next. */
#define CULL_IDLE_NS 100000000ull

int64_t cull_background(struct swapobj_store *st, bool asked)
{
	if (!cull_wanted(st) || objrec_class_live(st, SWAPOBJ_CLASS_CACHE) == 0 ||
	    (!asked && so_now_ns() < __atomic_load_n(&st->cull.idle_until, __ATOMIC_RELAXED)))
		return 0;
	uint64_t run = cull_level(st, st->cull.run), free = cull_free_bytes(st);
	int64_t n = run > free ? cull_evict(st, run - free, SWAPOBJ_EVICT_THRESHOLD) : 0;
	if (n == 0) /* only pinned or just-touched objects: do not rescan on every wake-up */
		__atomic_store_n(&st->cull.idle_until, so_now_ns() + CULL_IDLE_NS, __ATOMIC_RELAXED);
	return n;
}
