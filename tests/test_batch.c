/*
 * test_batch.c - swapobj_read_batch: many ranges across objects in one
 * call. Every case compares the batch with swapobj_obj_read of the same
 * ranges (the single-range path is tested on its own elsewhere), so a
 * range served from the wrong record, a page off by one or a result
 * mixed up between requests fails.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swapobj.h"
#include "io_fault.h"
#include "store_types.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u
#define NOBJ 4u
#define OBJ_PAGES 300u

/*
 * Fill object i with a mix: data pages (some written in order, so their
 * records lie back to back, some rewritten at random), all-zero pages,
 * repeated-word pages, holes, and a size that ends inside a page.
 */
static void populate(swapobj_obj *o, unsigned i, struct tu_rng *rng)
{
	uint8_t page[PG];
	for (unsigned p = 0; p < OBJ_PAGES; p++) {
		unsigned kind = (unsigned)tu_rng_below(rng, 10);
		if (kind == 0)
			continue; /* hole */
		if (kind == 1)
			memset(page, 0, PG);
		else if (kind == 2)
			for (unsigned w = 0; w < PG / 8; w++)
				memcpy(page + 8 * w, &(uint64_t){0x0102030405060700ull + p}, 8);
		else
			tu_fill_page(page, i, p, 1);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, (uint64_t)p * PG), PG);
	}
	for (unsigned n = 0; n < 60; n++) {
		unsigned p = (unsigned)tu_rng_below(rng, OBJ_PAGES);
		tu_fill_page(page, i, p, 2);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, (uint64_t)p * PG), PG);
	}
	ck_assert_int_eq(swapobj_obj_truncate(o, (uint64_t)OBJ_PAGES * PG - 1000), 0);
}

/* Random ranges: single pages, runs, unaligned starts and ends, ranges past the end. */
static void random_req(struct tu_rng *rng, swapobj_obj **objs, struct swapobj_read_req *r, uint8_t *buf)
{
	unsigned shape = (unsigned)tu_rng_below(rng, 4);
	uint64_t max = (uint64_t)OBJ_PAGES * PG;
	r->obj = objs[tu_rng_below(rng, NOBJ)];
	r->buf = buf;
	if (shape == 0) {
		r->off = tu_rng_below(rng, OBJ_PAGES) * PG;
		r->len = PG;
	} else if (shape == 1) {
		r->off = tu_rng_below(rng, OBJ_PAGES) * PG;
		r->len = (1 + tu_rng_below(rng, 80)) * PG;
	} else if (shape == 2) {
		r->off = tu_rng_below(rng, max);
		r->len = 1 + tu_rng_below(rng, 5 * PG);
	} else {
		r->off = max - tu_rng_below(rng, 3 * PG);
		r->len = 4 * PG;
	}
	r->result = 12345;
}

static void check_like_single(swapobj_store *st, swapobj_obj **objs, struct tu_rng *rng, unsigned n)
{
	const size_t slot = 81u * PG;
	uint8_t *bufs = malloc(n * slot), *want = malloc(slot);
	struct swapobj_read_req *reqs = calloc(n, sizeof(*reqs));
	for (unsigned i = 0; i < n; i++)
		random_req(rng, objs, &reqs[i], bufs + i * slot);
	ck_assert_int_eq(swapobj_read_batch(st, reqs, n, 0), 0);
	for (unsigned i = 0; i < n; i++) {
		int64_t got = swapobj_obj_read(reqs[i].obj, want, reqs[i].len, reqs[i].off, 0);
		ck_assert_int_ge(got, 0);
		ck_assert_msg(reqs[i].result == got, "request %u (off %llu len %zu): %lld, single read %lld", i,
		              (unsigned long long)reqs[i].off, reqs[i].len, (long long)reqs[i].result, (long long)got);
		ck_assert_msg(memcmp(reqs[i].buf, want, (size_t)got) == 0, "request %u: bytes differ", i);
	}
	free(reqs);
	free(bufs);
	free(want);
}

START_TEST(test_batch__ranges_across_objects_read_as_single_reads_do)
{
	swapobj_store *st = tu_mkstore(256u << 20, 1u << 20, NULL);
	swapobj_obj *objs[NOBJ];
	struct tu_rng rng;
	char name[16];
	tu_rng_init(&rng, tu_seed(7));
	for (unsigned i = 0; i < NOBJ; i++) {
		snprintf(name, sizeof(name), "o%u", i);
		objs[i] = tu_obj_named(st, name, 0);
		populate(objs[i], i, &rng);
	}
	/* Some records still in the log's buffers, then all of them on the device. */
	check_like_single(st, objs, &rng, 64);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	for (unsigned i = 0; i < NOBJ; i++)
		swapobj_obj_close(objs[i]);
	st = tu_reopen(st, NULL);
	for (unsigned i = 0; i < NOBJ; i++) {
		swapobj_key k;
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		snprintf(name, sizeof(name), "o%u", i);
		swapobj_key_init(&k);
		swapobj_key_push(&k, name, strlen(name));
		ck_assert_int_eq(swapobj_obj_open(&objs[i], st, &k, &oo), 0);
	}
	for (unsigned round = 0; round < 8; round++)
		check_like_single(st, objs, &rng, round == 0 ? 1 : round == 1 ? SWAPOBJ_READ_BATCH_MAX : 100);
	/* The same page many times over, and an empty batch. */
	struct swapobj_read_req same[32];
	uint8_t *b = malloc(32 * PG), want[PG];
	for (unsigned i = 0; i < 32; i++)
		same[i] = (struct swapobj_read_req){objs[1], b + i * PG, 7 * PG, PG, -1};
	ck_assert_int_eq(swapobj_read_batch(st, same, 32, 0), 0);
	ck_assert_int_eq(swapobj_obj_read(objs[1], want, PG, 7 * PG, 0), PG);
	for (unsigned i = 0; i < 32; i++) {
		ck_assert_int_eq(same[i].result, PG);
		ck_assert_int_eq(memcmp(b + i * PG, want, PG), 0);
	}
	ck_assert_int_eq(swapobj_read_batch(st, NULL, 0, 0), 0);
	free(b);
	for (unsigned i = 0; i < NOBJ; i++)
		swapobj_obj_close(objs[i]);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_batch__bad_requests_fail_alone_and_bad_calls_read_nothing)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	char *dir2 = tu_mkdtemp("batch2");
	char *img2 = tu_path(dir2, "img");
	const char *paths2[1] = {img2};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = 32u << 20;
	fo.segment_size = 1u << 20;
	ck_assert_int_eq(swapobj_format(paths2, 1, &fo), 0);
	swapobj_store *other = NULL;
	ck_assert_int_eq(swapobj_store_open(&other, paths2, 1, NULL), 0);
	swapobj_obj *o = tu_obj_named(st, "f", 0), *d = tu_obj_named(st, "d", SWAPOBJ_O_DIR),
	            *gone = tu_obj_named(st, "g", 0);
	swapobj_obj *foreign = tu_obj_named(other, "f", 0);
	uint8_t page[PG], out[8][PG];
	tu_fill_page(page, 1, 0, 1);
	ck_assert_int_eq(swapobj_obj_write(o, page, PG, 0), PG);
	ck_assert_int_eq(swapobj_obj_write(gone, page, PG, 0), PG);
	ck_assert_int_eq(swapobj_obj_write(foreign, page, PG, 0), PG);
	ck_assert_int_eq(swapobj_obj_delete(gone), 0);

	struct swapobj_read_req r[7] = {
	    {o, out[0], 0, PG, 0}, {NULL, out[1], 0, PG, 0}, {foreign, out[2], 0, PG, 0}, {o, NULL, 0, PG, 0},
	    {d, out[4], 0, PG, 0}, {gone, out[5], 0, PG, 0}, {o, out[6], 10 * PG, PG, 0}, /* past the end: 0 bytes */
	};
	ck_assert_int_eq(swapobj_read_batch(st, r, 7, 0), 5);
	ck_assert_int_eq(r[0].result, PG);
	ck_assert_int_eq(memcmp(out[0], page, PG), 0);
	ck_assert_int_eq(r[1].result, SWAPOBJ_EINVAL);
	ck_assert_int_eq(r[2].result, SWAPOBJ_EINVAL);
	ck_assert_int_eq(r[3].result, SWAPOBJ_EINVAL);
	ck_assert_int_eq(r[4].result, SWAPOBJ_EISDIR);
	ck_assert_int_eq(r[5].result, SWAPOBJ_ESTALE);
	ck_assert_int_eq(r[6].result, 0);

	/* Refused calls touch no request. */
	r[0].result = 777;
	ck_assert_int_eq(swapobj_read_batch(NULL, r, 1, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_read_batch(st, NULL, 1, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_read_batch(st, r, 1, 0x80), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_read_batch(st, r, SWAPOBJ_READ_BATCH_MAX + 1, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(r[0].result, 777);

	swapobj_obj_close(foreign);
	ck_assert_int_eq(swapobj_store_close(other), 0);
	swapobj_obj_close(o);
	swapobj_obj_close(d);
	swapobj_obj_close(gone);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	unlink(img2);
	tu_rmdir(dir2);
	free(img2);
	free(dir2);
}
END_TEST

START_TEST(test_batch__a_damaged_page_fails_its_request_only)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0), *p = tu_obj_named(st, "p", 0);
	uint8_t page[PG], out[4][3 * PG];
	for (unsigned i = 0; i < 3; i++) {
		tu_fill_page(page, 9, i, 1);
		if (i == 1)
			memcpy(page, "BATCH-MARKER-001", 16);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, (uint64_t)i * PG), PG);
		tu_fill_page(page, 8, i, 1);
		ck_assert_int_eq(swapobj_obj_write(p, page, PG, (uint64_t)i * PG), PG);
	}
	swapobj_obj_close(o);
	swapobj_obj_close(p);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	tu_damage_after_marker("BATCH-MARKER-001");
	st = tu_reopen(NULL, NULL);
	o = tu_obj_named(st, "f", 0);
	p = tu_obj_named(st, "p", 0);
	struct swapobj_read_req r[4] = {
	    {o, out[0], 0, 3 * PG, 0}, /* covers the damaged page */
	    {o, out[1], 0, PG, 0},     /* its neighbours are fine */
	    {o, out[2], 2 * PG, PG, 0},
	    {p, out[3], 0, 3 * PG, 0},
	};
	ck_assert_int_eq(swapobj_read_batch(st, r, 4, 0), 1);
	ck_assert_int_eq(r[0].result, SWAPOBJ_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(swapobj_errmsg(), "segment"));
	ck_assert_int_eq(r[1].result, PG);
	ck_assert_int_eq(r[2].result, PG);
	ck_assert_int_eq(r[3].result, 3 * PG);
	tu_fill_page(page, 9, 0, 1);
	ck_assert_int_eq(memcmp(out[1], page, PG), 0);
	tu_fill_page(page, 9, 2, 1);
	ck_assert_int_eq(memcmp(out[2], page, PG), 0);
	for (unsigned i = 0; i < 3; i++) {
		tu_fill_page(page, 8, i, 1);
		ck_assert_int_eq(memcmp(out[3] + i * PG, page, PG), 0);
	}
	swapobj_obj_close(o);
	swapobj_obj_close(p);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_batch__exclusive_releases_what_was_read_and_survives_reopen)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0), *p = tu_obj_named(st, "p", 0);
	uint8_t page[PG], out[4][2 * PG], want[2 * PG];
	for (unsigned i = 0; i < 6; i++) {
		tu_fill_page(page, 1, i, 1);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, (uint64_t)i * PG), PG);
		ck_assert_int_eq(swapobj_obj_write(p, page, PG, (uint64_t)i * PG), PG);
	}
	struct swapobj_read_req r[4] = {
	    {o, out[0], 0, 2 * PG, 0},
	    {o, out[1], PG, 2 * PG, 0}, /* overlaps the first: reads the data too */
	    {p, out[2], 4 * PG, PG + 100, 0},
	    {p, out[3], 5 * PG + 100, 200, 0}, /* a partial page is read and kept */
	};
	ck_assert_int_eq(swapobj_read_batch(st, r, 4, SWAPOBJ_READ_EXCLUSIVE), 0);
	for (unsigned i = 0; i < 2; i++) {
		tu_fill_page(want, 1, i, 1);
		tu_fill_page(want + PG, 1, i + 1, 1);
		ck_assert_int_eq(r[i].result, 2 * PG);
		ck_assert_int_eq(memcmp(out[i], want, 2 * PG), 0);
	}
	ck_assert_int_eq(r[2].result, PG + 100);
	ck_assert_int_eq(r[3].result, 200);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	swapobj_obj_close(o);
	swapobj_obj_close(p);
	st = tu_reopen(st, NULL);
	o = tu_obj_named(st, "f", 0);
	p = tu_obj_named(st, "p", 0);
	/* o: pages 0..2 released, 3.. kept; p: page 4 released, 5 kept (partial ranges). */
	for (unsigned i = 0; i < 6; i++) {
		ck_assert_int_eq(swapobj_obj_read(o, page, PG, (uint64_t)i * PG, 0), PG);
		tu_fill_page(want, 1, i, 1);
		if (i < 3)
			memset(want, 0, PG);
		ck_assert_msg(memcmp(page, want, PG) == 0, "o page %u", i);
		ck_assert_int_eq(swapobj_obj_read(p, page, PG, (uint64_t)i * PG, 0), PG);
		tu_fill_page(want, 1, i, 1);
		if (i == 4)
			memset(want, 0, PG);
		ck_assert_msg(memcmp(page, want, PG) == 0, "p page %u", i);
	}
	swapobj_obj_close(o);
	swapobj_obj_close(p);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_batch__allocates_nothing_once_warm)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0);
	uint8_t page[PG];
	static uint8_t out[64][PG];
	struct swapobj_read_req r[64];
	for (unsigned i = 0; i < 512; i++) {
		tu_fill_page(page, 3, i, 1);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, (uint64_t)i * PG), PG);
	}
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	struct tu_rng rng;
	tu_rng_init(&rng, 3);
	uint64_t before = 0;
	for (unsigned round = 0; round < 50; round++) {
		if (round == 1)
			before = so_alloc_count();
		for (unsigned i = 0; i < 64; i++)
			r[i] = (struct swapobj_read_req){o, out[i], tu_rng_below(&rng, 512) * PG, PG, 0};
		ck_assert_int_eq(swapobj_read_batch(st, r, 64, 0), 0);
	}
	ck_assert_int_eq(so_alloc_count() - before, 0);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * Batches racing writers and the cleaner: two writers rewrite pages of
 * their own objects with growing versions in a small store (so the cleaner
 * relocates records under the readers) while a reader batches random
 * pages of both. Every page read must be exactly some version of itself,
 * never garbage or another page. Run under TSan by the test script.
 */
#define RACE_PAGES 256u
struct race {
	swapobj_store *st;
	swapobj_obj *objs[2];
	int stop;
	uint64_t batches;
};

static void *race_writer(void *arg)
{
	struct race *rc = ((void **)arg)[0];
	unsigned w = (unsigned)(uintptr_t)((void **)arg)[1];
	uint8_t page[PG];
	struct tu_rng rng;
	tu_rng_init(&rng, 100 + w);
	for (uint32_t ver = 2; !__atomic_load_n(&rc->stop, __ATOMIC_RELAXED); ver++) {
		uint64_t p = tu_rng_below(&rng, RACE_PAGES);
		tu_vpage_fill(page, w, p, ver);
		ck_assert_int_eq(swapobj_obj_write(rc->objs[w], page, PG, p * PG), PG);
	}
	return NULL;
}

/* Sequential 16 KiB reads through the writer's own handle (read-ahead windows under rewrites). */
static void *race_seq_reader(void *arg)
{
	struct race *rc = arg;
	static uint8_t buf[4 * PG];
	while (!__atomic_load_n(&rc->stop, __ATOMIC_RELAXED))
		for (uint64_t p = 0; p < RACE_PAGES; p += 4) {
			ck_assert_int_eq(swapobj_obj_read(rc->objs[0], buf, sizeof(buf), p * PG, 0), sizeof(buf));
			for (unsigned i = 0; i < 4; i++)
				ck_assert_msg(tu_vpage_version(buf + i * PG, 0, p + i) >= 1,
				              "sequential read: page %llu", (unsigned long long)(p + i));
		}
	return NULL;
}

START_TEST(test_batch__batches_race_writers_and_the_cleaner)
{
	struct race rc = {0};
	rc.st = tu_mkstore(24u << 20, 1u << 20, NULL);
	rc.objs[0] = tu_obj_named(rc.st, "w0", 0);
	rc.objs[1] = tu_obj_named(rc.st, "w1", 0);
	uint8_t page[PG];
	for (unsigned w = 0; w < 2; w++)
		for (uint64_t p = 0; p < RACE_PAGES; p++) {
			tu_vpage_fill(page, w, p, 1);
			ck_assert_int_eq(swapobj_obj_write(rc.objs[w], page, PG, p * PG), PG);
		}
	pthread_t th[2];
	void *args[2][2] = {{&rc, (void *)0}, {&rc, (void *)1}};
	for (unsigned w = 0; w < 2; w++)
		ck_assert_int_eq(pthread_create(&th[w], NULL, race_writer, args[w]), 0);
	pthread_t seq;
	ck_assert_int_eq(pthread_create(&seq, NULL, race_seq_reader, &rc), 0);
	static uint8_t out[64][PG];
	uint64_t which[64];
	struct swapobj_read_req r[64];
	struct tu_rng rng;
	tu_rng_init(&rng, 5);
	unsigned rounds = (unsigned)tu_scale(300, 10);
	for (unsigned round = 0; round < rounds; round++) {
		for (unsigned i = 0; i < 64; i++) {
			which[i] = tu_rng_below(&rng, 2 * RACE_PAGES);
			r[i] = (struct swapobj_read_req){rc.objs[which[i] / RACE_PAGES], out[i],
			                                 (which[i] % RACE_PAGES) * PG, PG, 0};
		}
		ck_assert_int_eq(swapobj_read_batch(rc.st, r, 64, 0), 0);
		if (round % 16 == 0) { /* stat reads segment states while the writers fill them */
			struct swapobj_store_stat mid;
			ck_assert_int_eq(swapobj_store_stat(&mid, sizeof(mid), rc.st), 0);
		}
		for (unsigned i = 0; i < 64; i++)
			ck_assert_msg(tu_vpage_version(out[i], which[i] / RACE_PAGES, which[i] % RACE_PAGES) >= 1,
			              "round %u request %u: not a version of its page", round, i);
	}
	__atomic_store_n(&rc.stop, 1, __ATOMIC_RELAXED);
	for (unsigned w = 0; w < 2; w++)
		pthread_join(th[w], NULL);
	pthread_join(seq, NULL);
	struct swapobj_store_stat ss;
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), rc.st), 0);
	ck_assert_msg(ss.segments_cleaned > 0, "the cleaner never ran: the race tested nothing");
	swapobj_obj_close(rc.objs[0]);
	swapobj_obj_close(rc.objs[1]);
	ck_assert_int_eq(swapobj_store_close(rc.st), 0);
}
END_TEST

/*
 * Read-ahead: a handle read sequentially is served from a 1 MiB window
 * filled by one large read, and the window never serves a page whose
 * mapping changed since it was read (overwrite, punch, exclusive read,
 * truncation, relocation by the cleaner), nor starts for reads that are
 * not sequential.
 */
static void expect_page(swapobj_obj *h, uint64_t p, uint64_t tag, uint32_t ver)
{
	uint8_t got[PG], want[PG];
	ck_assert_int_eq(swapobj_obj_read(h, got, PG, p * PG, 0), PG);
	if (ver)
		tu_fill_page(want, tag, p, ver);
	else
		memset(want, 0, PG);
	ck_assert_msg(memcmp(got, want, PG) == 0, "page %llu is not version %u", (unsigned long long)p, ver);
}

static uint64_t dev_reads(void)
{
	struct iofault_counts c;
	iofault_get_counts(&c);
	return c.reads;
}

START_TEST(test_batch__sequential_reads_are_read_ahead_and_never_stale)
{
	iofault_install();
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *w = tu_obj_named(st, "f", 0);
	uint8_t page[PG];
	static uint8_t chunk[4 * PG];
	for (unsigned p = 0; p < 1024; p++) {
		tu_fill_page(page, 5, p, 1);
		ck_assert_int_eq(swapobj_obj_write(w, page, PG, (uint64_t)p * PG), PG);
	}
	swapobj_obj_close(w);
	st = tu_reopen(st, NULL);
	swapobj_obj *h = tu_obj_named(st, "f", 0), *o = tu_obj_named(st, "f", 0);

	/* 2 MiB in 16 KiB reads: a handful of device reads, not one per call. */
	uint64_t r0 = dev_reads();
	for (unsigned p = 0; p < 512; p += 4) {
		ck_assert_int_eq(swapobj_obj_read(h, chunk, sizeof(chunk), (uint64_t)p * PG, 0), sizeof(chunk));
		for (unsigned i = 0; i < 4; i++) {
			tu_fill_page(page, 5, p + i, 1);
			ck_assert_msg(memcmp(chunk + i * PG, page, PG) == 0, "page %u", p + i);
		}
	}
	/*
	 * Windows of 256 pages in reads of up to 64, cut at segment ends (a
	 * 1 MiB split segment holds 242 pages), plus one read of each segment's
	 * record stream for its page checks (the open was from a checkpoint).
	 */
	uint64_t nreads = dev_reads() - r0;
	ck_assert_msg(nreads <= 40, "%llu device reads for 128 sequential calls (one each without read-ahead)",
	              (unsigned long long)nreads);
	ck_assert_ptr_nonnull(h->ra);

	/* A window over pages 512.. is read; then other handles change pages inside it. */
	for (unsigned p = 512; p < 520; p++)
		expect_page(h, p, 5, 1);
	tu_fill_page(page, 5, 530, 2);
	ck_assert_int_eq(swapobj_obj_write(o, page, PG, 530 * PG), PG);
	ck_assert_int_eq(swapobj_obj_punch(o, 540 * PG, PG), 0);
	ck_assert_int_eq(swapobj_obj_read(o, page, PG, 550 * PG, SWAPOBJ_READ_EXCLUSIVE), PG);
	ck_assert_int_ge(swapobj_store_clean(st, 64), 0); /* may relocate pages of the window: their slots change */
	for (unsigned p = 520; p < 700; p++)
		expect_page(h, p, 5, p == 530 ? 2 : p == 540 || p == 550 ? 0 : 1);
	/* Truncated below the window and written again past the old end: zeros, then the new data. */
	ck_assert_int_eq(swapobj_obj_truncate(o, 600 * PG), 0);
	ck_assert_int_eq(swapobj_obj_truncate(o, 1024 * PG), 0);
	for (unsigned p = 700; p < 760; p++)
		expect_page(h, p, 5, 0);

	/* Reads that are never three in a row sequential start no window. */
	swapobj_obj *q = tu_obj_named(st, "f", 0);
	for (unsigned p = 0; p < 400; p += 7) {
		expect_page(q, p, 5, 1);
		expect_page(q, p + 1, 5, 1);
	}
	ck_assert_ptr_null(q->ra);
	swapobj_obj_close(q);
	swapobj_obj_close(h);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	iofault_uninstall();
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("batch");
	const struct tu_case_opts opts = {.setup = tu_store_setup, .teardown = tu_store_teardown, .timeout = 120};
	tu_add(s, test_batch__ranges_across_objects_read_as_single_reads_do, &opts);
	tu_add(s, test_batch__bad_requests_fail_alone_and_bad_calls_read_nothing, &opts);
	tu_add(s, test_batch__a_damaged_page_fails_its_request_only, &opts);
	tu_add(s, test_batch__exclusive_releases_what_was_read_and_survives_reopen, &opts);
	tu_add(s, test_batch__allocates_nothing_once_warm, &opts);
	tu_add(s, test_batch__sequential_reads_are_read_ahead_and_never_stale, &opts);
	const struct tu_case_opts opts_threads = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "threads", .timeout = 600};
	tu_add(s, test_batch__batches_race_writers_and_the_cleaner, &opts_threads);
	return tu_run(s, argc, argv);
}
