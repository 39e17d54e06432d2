/*
 * test_cache.c - the cache class: CACHE objects evicted under space
 * pressure by the levels of swapobj_open_opts (run / cull / stop), least
 * recently used first; pinned CACHE objects and SWAP objects never; CACHE
 * writes refused with SWAPOBJ_ECACHEFULL below the stop level; SWAP writes
 * that evict instead of failing; what an eviction leaves (SWAPOBJ_ENOENT,
 * SWAPOBJ_ESTALE) across reopens and power cuts.
 *
 * SWAPOBJ_SEED moves the seeds of the randomized tests; SWAPOBJ_LONG=1
 * makes the power-cut sweep longer.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "io_fault.h"
#include "swapobj.h"
#include "testutil.h"

#define PG 4096u
#define MiB (1u << 20)

static struct swapobj_open_opts levels(unsigned flags, unsigned run, unsigned cull, unsigned stop)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = flags;
	oo.cache_run = run;
	oo.cache_cull = cull;
	oo.cache_stop = stop;
	return oo;
}

static struct swapobj_store_stat stat_of(swapobj_store *st)
{
	struct swapobj_store_stat s;
	ck_assert_int_eq(swapobj_store_stat(&s, sizeof(s), st), 0);
	return s;
}

static void key_of(swapobj_key *k, uint64_t id)
{
	swapobj_key_anon(k, 5, id);
}

/* Open (or create) object id; NULL with the error in *err if it cannot be opened. */
static swapobj_obj *try_open(swapobj_store *st, uint64_t id, enum swapobj_class cls, unsigned flags, int *err)
{
	swapobj_key k;
	swapobj_obj *h = NULL;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = flags;
	oo.cls = cls;
	key_of(&k, id);
	*err = swapobj_obj_open(&h, st, &k, &oo);
	return *err == 0 ? h : NULL;
}

static swapobj_obj *mkobj(swapobj_store *st, uint64_t id, enum swapobj_class cls, unsigned flags)
{
	int err;
	swapobj_obj *h = try_open(st, id, cls, SWAPOBJ_O_CREATE | flags, &err);
	ck_assert_msg(h, "create object %llu: %s", (unsigned long long)id, swapobj_errmsg());
	return h;
}

/* Write n pages of object id's content (tag id) at page 0; returns what the write returned. */
static int64_t fill(swapobj_obj *h, uint64_t id, uint32_t n)
{
	uint8_t *buf = malloc((size_t)n * PG);
	ck_assert_ptr_nonnull(buf);
	for (uint32_t p = 0; p < n; p++)
		tu_fill_page(buf + (size_t)p * PG, id, p, 1);
	int64_t w = swapobj_obj_write(h, buf, (size_t)n * PG, 0);
	free(buf);
	return w;
}

/* Object id holds exactly n pages of its content. */
static void expect_content(swapobj_obj *h, uint64_t id, uint32_t n)
{
	uint8_t got[PG], want[PG];
	for (uint32_t p = 0; p < n; p++) {
		ck_assert_int_eq(swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0), PG);
		tu_fill_page(want, id, p, 1);
		ck_assert_msg(memcmp(got, want, PG) == 0, "object %llu page %u differs", (unsigned long long)id, p);
	}
}

/*
 * Create objects first, first+1, ... of 64 pages each (class cls; pinned
 * with flags SWAPOBJ_O_PIN) until the store's cache state is no longer
 * `while_state`; handles into h (NULL: closed). Returns how many.
 */
static uint32_t fill_while(swapobj_store *st, enum swapobj_cache_state while_state, uint64_t first,
                           enum swapobj_class cls, unsigned flags, swapobj_obj **h)
{
	uint32_t n = 0;
	while (stat_of(st).cache_state == while_state) {
		ck_assert_uint_lt(n, 256);
		swapobj_obj *o = mkobj(st, first + n, cls, flags);
		ck_assert_int_eq(fill(o, first + n, 64), 64 * PG);
		if (h)
			h[n] = o;
		else
			swapobj_obj_close(o);
		n++;
	}
	return n;
}

static bool exists(swapobj_store *st, uint64_t id)
{
	int err;
	swapobj_obj *h = try_open(st, id, SWAPOBJ_CLASS_CACHE, 0, &err);
	if (h)
		swapobj_obj_close(h);
	ck_assert_msg(h || err == SWAPOBJ_ENOENT, "open %llu: %s", (unsigned long long)id, swapobj_errmsg());
	return h != NULL;
}

static uint64_t evicted(const struct swapobj_store_stat *s)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < SWAPOBJ_EVICT_REASONS; i++)
		n += s->evicted_objects[i];
	return n;
}

/* ------------------------------------------------------------------ */

START_TEST(test_cache__levels_are_checked_and_reported)
{
	static const unsigned bad[][3] = {{10, 10, 3}, {10, 7, 7}, {7, 10, 3}, {100, 7, 3}, {5, 7, 3}, {10, 3, 7}};
	swapobj_store *st;
	tu_format(32 * MiB, MiB);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct swapobj_open_opts oo = levels(0, bad[i][0], bad[i][1], bad[i][2]);
		ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), SWAPOBJ_EINVAL);
	}
	/* Defaults 10 / 7 / 3 percent of the usable bytes, in bytes of free space. */
	st = tu_store_open(NULL);
	struct swapobj_store_stat s = stat_of(st);
	ck_assert_uint_eq(s.culling, 1);
	ck_assert_uint_eq(s.cache_run_bytes, s.usable_bytes / 100 * 10);
	ck_assert_uint_eq(s.cache_cull_bytes, s.usable_bytes / 100 * 7);
	ck_assert_uint_eq(s.cache_stop_bytes, s.usable_bytes / 100 * 3);
	ck_assert_uint_eq(s.cache_state, SWAPOBJ_CACHE_OK);
	swapobj_store_close(st);
	/* A version 1 struct (no levels) gets the defaults; stop may be 0. */
	struct {
		unsigned version, flags;
		uint64_t checkpoint_bytes;
	} v1 = {1, 0, 0};
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, (const struct swapobj_open_opts *)(void *)&v1), 0);
	ck_assert_uint_eq(stat_of(st).cache_cull_bytes, stat_of(st).usable_bytes / 100 * 7);
	swapobj_store_close(st);
	struct swapobj_open_opts oo = levels(0, 20, 5, 0);
	st = tu_store_open(&oo);
	s = stat_of(st);
	ck_assert_uint_eq(s.cache_stop_bytes, 0);
	ck_assert_uint_eq(s.cache_run_bytes, s.usable_bytes / 100 * 20);
	swapobj_store_close(st);
	/* Off: no levels, nothing evicted; read-only: nothing may be. */
	oo = levels(SWAPOBJ_OPEN_NO_CULL, 0, 0, 0);
	st = tu_store_open(&oo);
	s = stat_of(st);
	ck_assert_uint_eq(s.culling, 0);
	ck_assert_uint_eq(s.cache_run_bytes + s.cache_cull_bytes + s.cache_stop_bytes, 0);
	swapobj_store_close(st);
	oo = levels(SWAPOBJ_OPEN_RDONLY, 0, 0, 0);
	st = tu_store_open(&oo);
	ck_assert_uint_eq(stat_of(st).culling, 0);
	swapobj_store_close(st);
	ck_assert_int_eq(swapobj_errno(SWAPOBJ_ECACHEFULL), ENOBUFS);
	ck_assert_str_ne(swapobj_strerror(SWAPOBJ_ECACHEFULL), "unknown error");
}
END_TEST

/*
 * Objects of 64 pages, created in order 0, 1, 2, ... until free space is
 * below the cull level; then 0 and 1 are read (the most recently used
 * now). A cleaning call (the manual mode's background work) evicts the
 * least recently used until the run level is free: 2, 3, ... in order,
 * never 0 or 1.
 */
START_TEST(test_cache__below_cull_evicts_least_recently_used_until_run)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 60, 50, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	swapobj_obj *h[256];
	uint8_t page[PG];
	uint32_t n = fill_while(st, SWAPOBJ_CACHE_OK, 0, SWAPOBJ_CLASS_CACHE, 0, h);
	ck_assert_uint_ge(n, 4);
	struct swapobj_store_stat s = stat_of(st);
	ck_assert_uint_eq(s.cache_state, SWAPOBJ_CACHE_CULLING);
	ck_assert_uint_eq(evicted(&s), 0); /* nothing runs by itself in manual mode */
	ck_assert_int_eq(swapobj_obj_read(h[0], page, PG, 0, 0), PG);
	ck_assert_int_eq(swapobj_obj_read(h[1], page, PG, 0, 0), PG);
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	s = stat_of(st);
	ck_assert_uint_eq(s.cache_state, SWAPOBJ_CACHE_OK);
	ck_assert_uint_ge(s.usable_bytes - s.live_bytes, s.cache_run_bytes);
	uint64_t gone = s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD];
	ck_assert_uint_gt(gone, 0);
	ck_assert_uint_lt(gone, n - 2);
	ck_assert_uint_gt(s.evicted_bytes[SWAPOBJ_EVICT_THRESHOLD], gone * 64 * PG);
	ck_assert(exists(st, 0) && exists(st, 1));
	for (uint32_t i = 2; i < n; i++) {
		bool ev = i < 2 + gone;
		ck_assert_msg(exists(st, i) == !ev, "object %u: evicted %d, expected %d (LRU order)", i, !exists(st, i),
		              ev);
		/* A handle to an evicted object says so: ESTALE, never data. */
		if (ev)
			ck_assert_int_eq(swapobj_obj_read(h[i], page, PG, 0, 0), SWAPOBJ_ESTALE);
		else
			expect_content(h[i], i, 64);
	}
	expect_content(h[0], 0, 64);
	for (uint32_t i = 0; i < n; i++)
		swapobj_obj_close(h[i]);
	swapobj_store_close(st);
}
END_TEST

/*
 * More candidates than one walk keeps (1024): 3000 one-page objects, the
 * first ten read afterwards. A pass that must evict more than a batch
 * walks again, and still goes in LRU order: the evicted ones are exactly
 * the oldest untouched, the ten read ones stay.
 */
START_TEST(test_cache__eviction_beyond_one_batch_keeps_lru_order)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 95, 90, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	enum { N = 3000 };
	uint8_t page[PG];
	for (uint32_t i = 0; i < N; i++) {
		swapobj_obj *h = mkobj(st, i, SWAPOBJ_CLASS_CACHE, 0);
		ck_assert_int_eq(fill(h, i, 1), PG);
		swapobj_obj_close(h);
	}
	for (uint32_t i = 0; i < 10; i++) {
		int err;
		swapobj_obj *h = try_open(st, i, SWAPOBJ_CLASS_CACHE, 0, &err);
		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(swapobj_obj_read(h, page, PG, 0, 0), PG);
		swapobj_obj_close(h);
	}
	ck_assert_uint_eq(stat_of(st).cache_state, SWAPOBJ_CACHE_CULLING);
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	struct swapobj_store_stat s = stat_of(st);
	uint64_t gone = s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD];
	ck_assert_uint_gt(gone, 1024); /* more than one batch */
	ck_assert_uint_lt(gone, N - 10);
	ck_assert_uint_ge(s.usable_bytes - s.live_bytes, s.cache_run_bytes);
	for (uint32_t i = 0; i < 10; i++)
		ck_assert(exists(st, i));
	for (uint32_t i = 10; i < N; i++)
		ck_assert_msg(exists(st, i) == (i >= 10 + gone), "object %u: LRU order broken (%llu evicted)", i,
		              (unsigned long long)gone);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_cache__pinned_and_swap_objects_are_never_evicted)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 60, 50, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	swapobj_obj *h[256];
	uint32_t n = 0;
	while (stat_of(st).cache_state == SWAPOBJ_CACHE_OK) { /* pinned CACHE and SWAP objects, alternating */
		ck_assert_uint_lt(n, 256);
		h[n] = n % 2 ? mkobj(st, n, SWAPOBJ_CLASS_SWAP, 0) : mkobj(st, n, SWAPOBJ_CLASS_CACHE, SWAPOBJ_O_PIN);
		ck_assert_int_eq(fill(h[n], n, 64), 64 * PG);
		n++;
	}
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	struct swapobj_store_stat s = stat_of(st);
	ck_assert_uint_eq(evicted(&s), 0);
	ck_assert_uint_eq(s.cache_state, SWAPOBJ_CACHE_CULLING);
	for (uint32_t i = 0; i < n; i++)
		expect_content(h[i], i, 64);
	/* Unpinned, the oldest pinned one is the first to go. */
	ck_assert_int_eq(swapobj_obj_set_pin(h[0], 0), 0);
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	s = stat_of(st);
	ck_assert_uint_eq(s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD], 1);
	ck_assert(!exists(st, 0));
	for (uint32_t i = 1; i < n; i++)
		expect_content(h[i], i, 64);
	for (uint32_t i = 0; i < n; i++)
		swapobj_obj_close(h[i]);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_cache__below_stop_cache_writes_fail_with_ecachefull)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 60, 50, 40);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	swapobj_obj *sw[256];
	uint32_t n = fill_while(st, SWAPOBJ_CACHE_OK, 100, SWAPOBJ_CLASS_SWAP, 0, sw);
	n += fill_while(st, SWAPOBJ_CACHE_CULLING, 100 + n, SWAPOBJ_CLASS_SWAP, 0, sw + n);
	ck_assert_uint_eq(stat_of(st).cache_state, SWAPOBJ_CACHE_STOPPED);
	swapobj_obj *c = mkobj(st, 1, SWAPOBJ_CLASS_CACHE, 0);
	ck_assert_int_eq(fill(c, 1, 4), SWAPOBJ_ECACHEFULL);
	struct swapobj_store_stat s = stat_of(st);
	ck_assert_uint_eq(s.cache_writes_refused, 1);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), c), 0);
	ck_assert_uint_eq(os.size, 0); /* nothing of it was written */
	/* SWAP writes go on below the stop level. */
	swapobj_obj *more = mkobj(st, 99, SWAPOBJ_CLASS_SWAP, 0);
	ck_assert_int_eq(fill(more, 99, 4), 4 * PG);
	/* Room again: CACHE writes are taken. */
	for (uint32_t i = 0; i < n; i += 2)
		ck_assert_int_eq(swapobj_obj_delete(sw[i]), 0);
	ck_assert_uint_ne(stat_of(st).cache_state, SWAPOBJ_CACHE_STOPPED);
	ck_assert_int_eq(fill(c, 1, 4), 4 * PG);
	expect_content(c, 1, 4);
	for (uint32_t i = 0; i < n; i++)
		swapobj_obj_close(sw[i]);
	swapobj_obj_close(more);
	swapobj_obj_close(c);
	swapobj_store_close(st);
}
END_TEST

/*
 * A store filled with CACHE data up to where CACHE writes are refused;
 * then SWAP data worth most of the store: every SWAP write succeeds, CACHE
 * objects make way (by the background or by the writes themselves), and
 * what remains of both reads back exactly.
 */
static void swap_pushes_cache_out(unsigned flags)
{
	struct swapobj_open_opts oo = levels(flags, 4, 3, 1);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	swapobj_obj *c[512], *w[512];
	uint32_t nc = 0, nw = 0;
	for (;;) {
		ck_assert_uint_lt(nc, 512);
		c[nc] = mkobj(st, nc, SWAPOBJ_CLASS_CACHE, 0);
		int64_t r = fill(c[nc], nc, 32);
		nc++;
		if (r != 32 * PG) {
			ck_assert_int_eq(r, SWAPOBJ_ECACHEFULL);
			break;
		}
	}
	struct swapobj_store_stat s = stat_of(st);
	uint64_t target = s.usable_bytes * 3 / 4;
	while ((uint64_t)nw * 32 * PG < target) {
		ck_assert_uint_lt(nw, 512);
		w[nw] = mkobj(st, 1000 + nw, SWAPOBJ_CLASS_SWAP, 0);
		int64_t r = fill(w[nw], 1000 + nw, 32);
		if (r == SWAPOBJ_ENOSPC && (flags & SWAPOBJ_OPEN_MANUAL_CLEAN)) {
			/* Manual mode: no free segment until the caller cleans (which evicts, then frees). */
			ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
			r = fill(w[nw], 1000 + nw, 32);
		}
		ck_assert_msg(r == 32 * PG, "SWAP write %u failed: %s", nw, swapobj_errmsg());
		nw++;
	}
	s = stat_of(st);
	ck_assert_uint_gt(evicted(&s), 0);
	if (flags & SWAPOBJ_OPEN_MANUAL_CLEAN)
		ck_assert_uint_gt(s.evicted_objects[SWAPOBJ_EVICT_SWAP], 0);
	for (uint32_t i = 0; i < nw; i++)
		expect_content(w[i], 1000 + i, 32);
	uint32_t left = 0;
	for (uint32_t i = 0; i + 1 < nc; i++) {
		uint8_t page[PG];
		int64_t r = swapobj_obj_read(c[i], page, PG, 0, 0);
		ck_assert(r == PG || r == SWAPOBJ_ESTALE);
		if (r == PG) {
			expect_content(c[i], i, 32);
			left++;
		}
	}
	ck_assert_uint_lt(left, nc - 1);
	for (uint32_t i = 0; i < nc; i++)
		swapobj_obj_close(c[i]);
	for (uint32_t i = 0; i < nw; i++)
		swapobj_obj_close(w[i]);
	swapobj_store_close(st);
}

START_TEST(test_cache__swap_writes_evict_cache_instead_of_enospc)
{
	swap_pushes_cache_out(0);
}
END_TEST

START_TEST(test_cache__swap_writes_evict_cache_in_manual_mode)
{
	swap_pushes_cache_out(SWAPOBJ_OPEN_MANUAL_CLEAN);
}
END_TEST

/*
 * CACHE data fills the store to the last byte (written with culling off);
 * reopened with culling on (manual cleaning: nothing evicts by itself), a
 * SWAP object is still created and written: both make room by eviction.
 */
START_TEST(test_cache__a_store_full_of_cache_data_still_takes_swap_objects)
{
	struct swapobj_open_opts off = levels(SWAPOBJ_OPEN_NO_CULL, 0, 0, 0);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &off);
	uint32_t nc = 0;
	for (;; nc++) {
		ck_assert_uint_lt(nc, 1024);
		int err;
		swapobj_obj *h = try_open(st, nc, SWAPOBJ_CLASS_CACHE, SWAPOBJ_O_CREATE, &err);
		if (!h) {
			ck_assert_int_eq(err, SWAPOBJ_ENOSPC);
			break;
		}
		int64_t r = fill(h, nc, 16);
		swapobj_obj_close(h);
		if (r != 16 * PG) {
			ck_assert(r == SWAPOBJ_ENOSPC || (r > 0 && r < 16 * PG));
			break;
		}
	}
	struct swapobj_store_stat s = stat_of(st);
	ck_assert_uint_lt(s.usable_bytes - s.live_bytes, 16 * PG);
	struct swapobj_open_opts on = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 0, 0, 0);
	st = tu_reopen(st, &on);
	ck_assert_uint_eq(stat_of(st).cache_state, SWAPOBJ_CACHE_STOPPED);
	swapobj_obj *w = mkobj(st, 5000, SWAPOBJ_CLASS_SWAP, 0);
	int64_t r = fill(w, 5000, 64);
	if (r == SWAPOBJ_ENOSPC) { /* manual mode: no free segment until the caller cleans */
		ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		r = fill(w, 5000, 64);
	}
	ck_assert_int_eq(r, 64 * PG);
	expect_content(w, 5000, 64);
	s = stat_of(st);
	ck_assert_uint_gt(s.evicted_objects[SWAPOBJ_EVICT_SWAP], 0);
	/* A CACHE object's create in the full store is refused as not cached, not ENOSPC. */
	st = tu_reopen(st, &off);
	for (uint64_t id = 5001;; id++) { /* SWAP data up to the last byte (new objects: overwrites would not fill) */
		ck_assert_uint_lt(id, 6000);
		int e;
		swapobj_obj *more = try_open(st, id, SWAPOBJ_CLASS_SWAP, SWAPOBJ_O_CREATE, &e);
		if (!more)
			break;
		int64_t rr = fill(more, id, 16);
		swapobj_obj_close(more);
		if (rr != 16 * PG)
			break;
	}
	st = tu_reopen(st, &on);
	int err;
	swapobj_obj *c = try_open(st, 6000, SWAPOBJ_CLASS_CACHE, SWAPOBJ_O_CREATE, &err);
	ck_assert_msg(c || err == SWAPOBJ_ECACHEFULL, "CACHE create in a full store: %d", err);
	if (c)
		ck_assert_int_eq(fill(c, 6000, 4), SWAPOBJ_ECACHEFULL);
	if (c)
		swapobj_obj_close(c);
	swapobj_obj_close(w);
	swapobj_store_close(st);
}
END_TEST

/*
 * After a culling pass, the cleaner meets cold CACHE objects in its
 * victims: it drops them instead of relocating them; SWAP data and CACHE
 * objects used since are relocated and read back intact.
 */
START_TEST(test_cache__the_cleaner_drops_cold_cache_objects_instead_of_relocating_them)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 60, 50, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	swapobj_obj *h[256], *sw[64];
	uint8_t page[PG];
	/* CACHE objects interleaved with SWAP ones, so that every segment holds both. */
	uint32_t n = 0, nsw = 0;
	while (stat_of(st).cache_state == SWAPOBJ_CACHE_OK) {
		ck_assert_uint_lt(n, 256);
		h[n] = mkobj(st, n, SWAPOBJ_CLASS_CACHE, 0);
		ck_assert_int_eq(fill(h[n], n, 32), 32 * PG);
		n++;
		if (n % 4 == 0 && nsw < 64) {
			sw[nsw] = mkobj(st, 1000 + nsw, SWAPOBJ_CLASS_SWAP, 0);
			ck_assert_int_eq(fill(sw[nsw], 1000 + nsw, 8), 8 * PG);
			nsw++;
		}
	}
	/* A culling pass (from a clean call) sets the horizon: free is back at the run level. */
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	struct swapobj_store_stat s = stat_of(st);
	uint64_t thr = s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD];
	ck_assert_uint_gt(thr, 0);
	/* Below the run level again, not yet at cull: a few more objects, the newest read. */
	while (stat_of(st).usable_bytes - stat_of(st).live_bytes >= stat_of(st).cache_run_bytes) {
		ck_assert_uint_lt(n, 256);
		h[n] = mkobj(st, n, SWAPOBJ_CLASS_CACHE, 0);
		ck_assert_int_eq(fill(h[n], n, 32), 32 * PG);
		n++;
	}
	ck_assert_uint_eq(stat_of(st).cache_state, SWAPOBJ_CACHE_OK);
	ck_assert_int_eq(swapobj_obj_read(h[n - 1], page, PG, 0, 0), PG);
	/* Forced cleaning of the oldest segments: the cold CACHE objects there are dropped. */
	ck_assert_int_ge(swapobj_store_clean(st, 8), 0);
	s = stat_of(st);
	ck_assert_uint_gt(s.evicted_objects[SWAPOBJ_EVICT_CLEANER], 0);
	ck_assert_uint_eq(s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD], thr);
	for (uint32_t i = 0; i < nsw; i++)
		expect_content(sw[i], 1000 + i, 8);
	expect_content(h[n - 1], n - 1, 32);
	uint32_t left = 0;
	for (uint32_t i = 0; i < n; i++) {
		int64_t r = swapobj_obj_read(h[i], page, PG, 0, 0);
		ck_assert(r == PG || r == SWAPOBJ_ESTALE);
		if (r == PG) {
			expect_content(h[i], i, 32);
			left++;
		}
	}
	ck_assert_uint_eq(left + s.evicted_objects[SWAPOBJ_EVICT_CLEANER] + thr, n);
	/* What the cleaner dropped stays dropped across a reopen. */
	for (uint32_t i = 0; i < n; i++)
		swapobj_obj_close(h[i]);
	for (uint32_t i = 0; i < nsw; i++)
		swapobj_obj_close(sw[i]);
	st = tu_reopen(st, &oo);
	uint32_t present = 0;
	for (uint32_t i = 0; i < n; i++)
		present += exists(st, i);
	ck_assert_uint_eq(present, left);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_cache__background_culls_without_being_asked)
{
	struct swapobj_open_opts oo = levels(0, 60, 50, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	uint32_t n = fill_while(st, SWAPOBJ_CACHE_OK, 0, SWAPOBJ_CLASS_CACHE, 0, NULL);
	struct timespec ts = {0, 20 * 1000 * 1000};
	struct swapobj_store_stat s;
	for (int i = 0; i < 500; i++) {
		s = stat_of(st);
		if (s.cache_state == SWAPOBJ_CACHE_OK && s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD] > 0)
			break;
		nanosleep(&ts, NULL);
	}
	ck_assert_uint_eq(s.cache_state, SWAPOBJ_CACHE_OK);
	ck_assert_uint_gt(s.evicted_objects[SWAPOBJ_EVICT_THRESHOLD], 0);
	ck_assert(!exists(st, 0));
	ck_assert(exists(st, n - 1));
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_cache__an_evicted_object_stays_gone_and_can_be_fetched_again)
{
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN, 60, 50, 10);
	swapobj_store *st = tu_mkstore(48 * MiB, MiB, &oo);
	uint32_t n = fill_while(st, SWAPOBJ_CACHE_OK, 0, SWAPOBJ_CLASS_CACHE, 0, NULL);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_ge(swapobj_store_clean(st, 0), 0); /* evicts 0, 1, ... and syncs */
	ck_assert(!exists(st, 0));
	st = tu_reopen(st, &oo);
	ck_assert(!exists(st, 0));
	ck_assert(exists(st, n - 1));
	/* Fetched again: a new object under the same key, with what is written now. */
	swapobj_obj *h = mkobj(st, 0, SWAPOBJ_CLASS_CACHE, 0);
	ck_assert_int_eq(fill(h, 0, 8), 8 * PG);
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	st = tu_reopen(st, &oo);
	int err;
	h = try_open(st, 0, SWAPOBJ_CLASS_CACHE, 0, &err);
	ck_assert_ptr_nonnull(h);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), h), 0);
	ck_assert_uint_eq(os.size, 8 * PG);
	expect_content(h, 0, 8);
	swapobj_obj_close(h);
	swapobj_store_close(st);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Power cuts with eviction running                                    */
/* ------------------------------------------------------------------ */

/*
 * CACHE and SWAP objects in a small store whose levels keep eviction
 * busy; the workload notices an eviction when a handle says ESTALE, and
 * fetches the object again (a new, empty one). After a cut: a SWAP object
 * is there, holding per page its content at the last acknowledged sync or
 * something written since; a CACHE object may be missing (evicted, durably
 * or not), but if it is there and was not evicted and created again since
 * the last sync, its pages obey the same rule: an evicted incarnation
 * never comes back once its replacement was synced, and no page is ever
 * anything but a version written to it.
 */
enum { PNOBJ = 8, PNPG = 96 };

struct pobj {
	bool cache;
	bool synced;  /* its creation was acknowledged by a sync */
	bool touched; /* created again (after an eviction) since the last sync */
	struct tu_pstate pg[PNPG];
};

static struct pobj pobjs[PNOBJ];
static uint32_t pver;
static uint64_t pevictions; /* evictions the workloads' stores reported before the cut or close */

static void ppage(uint8_t *p, int o, uint64_t pg, uint32_t ver)
{
	tu_vpage_fill(p, (uint64_t)o + 300, pg, ver);
}

static swapobj_obj *popen_obj(swapobj_store *st, int o, int create)
{
	int err;
	return try_open(st, (uint64_t)o + 300, pobjs[o].cache ? SWAPOBJ_CLASS_CACHE : SWAPOBJ_CLASS_SWAP,
	                create ? SWAPOBJ_O_CREATE : 0, &err);
}

/* Note CACHE objects whose handles say they were evicted; create them again, empty. */
static bool pnote_evictions(swapobj_store *st, swapobj_obj **h)
{
	for (int o = 0; o < PNOBJ; o++) {
		struct pobj *c = &pobjs[o];
		uint8_t b;
		if (!c->cache || !h[o] || swapobj_obj_read(h[o], &b, 1, 0, 0) != SWAPOBJ_ESTALE)
			continue;
		c->touched = true;
		swapobj_obj_close(h[o]);
		if (!(h[o] = popen_obj(st, o, 1)))
			return false;
		for (int p = 0; p < PNPG; p++)
			c->pg[p].cur = 0;
	}
	return true;
}

static void pack_sync(void)
{
	for (int o = 0; o < PNOBJ; o++) {
		pobjs[o].synced = true;
		pobjs[o].touched = false;
		tu_pstate_ack(pobjs[o].pg, PNPG);
	}
}

static void pworkload(uint64_t seed, uint64_t nops, unsigned flags)
{
	struct tu_rng r;
	swapobj_store *st;
	swapobj_obj *h[PNOBJ] = {0};
	struct swapobj_open_opts oo = levels(flags, 85, 75, 40); /* of 4.8 MiB usable: culling from 1.2 MiB live */
	uint8_t buf[4 * PG];
	tu_rng_init(&r, seed);
	memset(pobjs, 0, sizeof(pobjs));
	for (int o = 0; o < PNOBJ; o++)
		pobjs[o].cache = o % 4 != 0;
	if (swapobj_store_open(&st, tu_paths, 1, &oo) != 0)
		return;
	for (int o = 0; o < PNOBJ; o++)
		if (!(h[o] = popen_obj(st, o, 1)))
			goto out;
	if (swapobj_store_sync(st) != 0)
		goto out;
	pack_sync();
	for (uint64_t i = 0; i < nops && !iofault_power_is_cut(); i++) {
		int o = (int)tu_rng_below(&r, PNOBJ);
		struct pobj *c = &pobjs[o];
		uint64_t kind = tu_rng_below(&r, 100);
		if (kind < 70) {
			uint64_t pg = tu_rng_below(&r, PNPG - 4), n = 1 + tu_rng_below(&r, 4);
			uint32_t v0 = pver + 1;
			for (uint64_t j = 0; j < n; j++)
				ppage(buf + j * PG, o, pg + j, ++pver);
			int64_t w = swapobj_obj_write(h[o], buf, n * PG, pg * PG);
			bool ok = w == (int64_t)(n * PG);
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_write(&c->pg[pg + j], v0 + (uint32_t)j, ok);
			if (!ok && c->cache && (w == SWAPOBJ_ECACHEFULL || w == SWAPOBJ_ESTALE))
				continue; /* not cached, or evicted meanwhile: fine for a cache */
			if (!ok)
				break;
		} else if (kind < 76) {
			uint64_t pg = tu_rng_below(&r, PNPG - 4), n = 1 + tu_rng_below(&r, 4);
			int err = swapobj_obj_punch(h[o], pg * PG, n * PG);
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_punch(&c->pg[pg + j], err == 0);
			if (err && !(c->cache && err == SWAPOBJ_ESTALE))
				break;
		} else if (kind < 88) {
			if (!pnote_evictions(st, h) || swapobj_store_sync(st) != 0)
				break;
			pack_sync();
		} else {
			if (swapobj_store_clean(st, (unsigned)(1 + tu_rng_below(&r, 2))) < 0)
				break;
		}
		if (!pnote_evictions(st, h))
			break;
	}
out:
	for (int o = 0; o < PNOBJ; o++)
		if (h[o])
			swapobj_obj_close(h[o]);
	struct swapobj_store_stat ss = stat_of(st);
	for (unsigned k = 0; k < SWAPOBJ_EVICT_REASONS; k++)
		pevictions += ss.evicted_objects[k];
	if (swapobj_store_close(st) == 0 && !iofault_power_is_cut())
		pack_sync();
}

static void pverify(uint64_t seed, uint64_t cut, uint64_t *missing)
{
	swapobj_store *st;
	uint8_t got[PG];
	struct swapobj_open_opts oo = levels(SWAPOBJ_OPEN_MANUAL_CLEAN | SWAPOBJ_OPEN_NO_CULL, 0, 0, 0);
	int err = swapobj_store_open(&st, tu_paths, 1, &oo);
	ck_assert_msg(err == 0, "seed %llu cut %llu: reopen failed: %s", (unsigned long long)seed,
	              (unsigned long long)cut, swapobj_errmsg());
	for (int o = 0; o < PNOBJ; o++) {
		struct pobj *c = &pobjs[o];
		swapobj_obj *h = popen_obj(st, o, 0);
		if (!h) {
			ck_assert_msg(c->cache || !c->synced, "seed %llu cut %llu: SWAP object %d lost",
			              (unsigned long long)seed, (unsigned long long)cut, o);
			*missing += c->cache && c->synced;
			continue;
		}
		for (int p = 0; p < PNPG; p++) {
			int64_t n = swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0);
			ck_assert_msg(n >= 0, "seed %llu cut %llu: object %d page %d: %s", (unsigned long long)seed,
			              (unsigned long long)cut, o, p, swapobj_errmsg());
			if (n < (int64_t)PG)
				memset(got + n, 0, PG - (size_t)n);
			int64_t vv = tu_vpage_version(got, (uint64_t)o + 300, (uint64_t)p);
			ck_assert_msg(vv >= 0, "seed %llu cut %llu: object %d page %d garbage",
			              (unsigned long long)seed, (unsigned long long)cut, o, p);
			if (c->touched)
				continue; /* created again since the sync: any version of its own */
			ck_assert_msg(tu_pstate_allows(&c->pg[p], (uint32_t)vv),
			              "seed %llu cut %llu: %s object %d page %d holds version %lld",
			              (unsigned long long)seed, (unsigned long long)cut, c->cache ? "CACHE" : "SWAP", o,
			              p, (long long)vv);
		}
		swapobj_obj_close(h);
	}
	swapobj_store_close(st);
}

static uint64_t pdev_ops(void)
{
	struct iofault_counts c;
	iofault_get_counts(&c);
	return c.ops;
}

START_TEST(test_cache__power_cuts_with_eviction_lose_and_resurrect_nothing)
{
	uint64_t seed0 = tu_seed(7207), npoints = tu_scale(60, 30), missing = 0;
	struct tu_rng r;
	tu_rng_init(&r, seed0 ^ 0xcace);
	tu_format(16 * MiB, MiB);
	size_t len;
	uint8_t *base = tu_read_file(tu_img, &len);
	const uint64_t nops = 400;
	for (int variant = 0; variant < 2; variant++) {
		unsigned flags = variant ? SWAPOBJ_OPEN_MANUAL_CLEAN : 0;
		iofault_install();
		iofault_power_start(tu_img, base, len, 0);
		pworkload(seed0, nops, flags);
		uint64_t total = pdev_ops();
		ck_assert_uint_gt(total, 50);
		for (uint64_t k = 0; k < npoints; k++) {
			uint64_t seed = seed0 + k % 5, cut = 1 + tu_rng_below(&r, total + total / 4);
			iofault_power_start(tu_img, base, len, cut);
			pworkload(seed, nops, flags);
			iofault_power_restore(tu_img, IOFAULT_CUT_TORN, tu_rng_draw, &r);
			iofault_uninstall();
			pverify(seed, cut, &missing);
			iofault_install();
		}
		iofault_uninstall();
		iofault_free();
	}
	printf("cache power cuts: %llu cut points, %llu evictions before them, %llu CACHE objects missing after "
	       "them\n",
	       (unsigned long long)(2 * npoints), (unsigned long long)pevictions, (unsigned long long)missing);
	ck_assert_uint_gt(pevictions, 0); /* eviction ran in the workloads the cuts interrupted */
	free(base);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("cache");
	const struct tu_case_opts opts = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "cache", .timeout = 600};
	const struct tu_case_opts opts_powercut = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "powercut long", .timeout = 1800};
	tu_add(s, test_cache__levels_are_checked_and_reported, &opts);
	tu_add(s, test_cache__below_cull_evicts_least_recently_used_until_run, &opts);
	tu_add(s, test_cache__eviction_beyond_one_batch_keeps_lru_order, &opts);
	tu_add(s, test_cache__pinned_and_swap_objects_are_never_evicted, &opts);
	tu_add(s, test_cache__below_stop_cache_writes_fail_with_ecachefull, &opts);
	tu_add(s, test_cache__swap_writes_evict_cache_instead_of_enospc, &opts);
	tu_add(s, test_cache__swap_writes_evict_cache_in_manual_mode, &opts);
	tu_add(s, test_cache__a_store_full_of_cache_data_still_takes_swap_objects, &opts);
	tu_add(s, test_cache__the_cleaner_drops_cold_cache_objects_instead_of_relocating_them, &opts);
	tu_add(s, test_cache__background_culls_without_being_asked, &opts);
	tu_add(s, test_cache__an_evicted_object_stays_gone_and_can_be_fetched_again, &opts);
	tu_add(s, test_cache__power_cuts_with_eviction_lose_and_resurrect_nothing, &opts_powercut);
	return tu_run(s, argc, argv);
}
