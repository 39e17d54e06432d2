/*
 * test_extmap.c - the per-object extent map (libswapobj/index/extmap.c).
 *
 * Every case ends with extmap_check() so that a structural invariant broken
 * on the way fails the case that broke it. Memory targets are asserted on
 * the map's own byte counter, which is also checked against the allocator's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extmap.h"
#include "testutil.h"
#include "util.h"

#define DATA_U (REC_DATA_SIZE / ADDR_UNIT)
#define ZERO_U (REC_ZERO_SIZE / ADDR_UNIT)
#define FILL_U ((REC_FILL_SIZE + ADDR_UNIT - 1) / ADDR_UNIT)
#define PAGE_U (SWAPOBJ_PAGE_SIZE / ADDR_UNIT) /* a page out of line, in a split segment's data area */

static extslot D(uint64_t a)
{
	return extslot_make(EXT_DATA, a);
}
static extslot Z(uint64_t a)
{
	return extslot_make(EXT_ZERO, a);
}
static extslot F(uint64_t a)
{
	return extslot_make(EXT_FILL, a);
}

/*
 * ck_assert records a checkpoint (a write to a file) even when it passes;
 * loops that check thousands of pages use this, which only acts on failure.
 */
#define EXPECT(cond, ...)                                                                                              \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)

#define ASSERT_VALID(m)                                                                                                \
	do {                                                                                                           \
		int err_ = extmap_check(m);                                                                            \
		EXPECT(err_ == 0, "extmap_check: %s", swapobj_errmsg());                                               \
	} while (0)

/* ---- callback recorder ------------------------------------------------------- */

struct released {
	size_t n, cap;
	uint64_t *pg;
	extslot *old;
};

static void released_cb(void *ctx, uint64_t pgoff, extslot old)
{
	struct released *r = ctx;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->pg = realloc(r->pg, r->cap * sizeof(*r->pg));
		r->old = realloc(r->old, r->cap * sizeof(*r->old));
		ck_assert(r->pg && r->old);
	}
	r->pg[r->n] = pgoff;
	r->old[r->n++] = old;
}

static void released_free(struct released *r)
{
	free(r->pg);
	free(r->old);
	memset(r, 0, sizeof(*r));
}

/* ---- writing records back to back ------------------------------------------ */

/*
 * A log head: where the next record goes, in 16-byte units. split: pages
 * go out of line, back to back at head (a split segment's data area), the
 * other records into a stream elsewhere (stream, counting down).
 */
struct log {
	uint64_t head;
	bool split;
	uint64_t stream;
};

static extslot log_data(struct log *l)
{
	extslot s = D(l->head);
	l->head += l->split ? PAGE_U : DATA_U;
	return s;
}
static uint64_t log_small(struct log *l, uint64_t units)
{
	uint64_t a = l->head;
	if (l->split) {
		if (!l->stream)
			l->stream = l->head + (1ull << 30);
		l->stream -= units;
		return l->stream;
	}
	l->head += units;
	return a;
}
static extslot log_zero(struct log *l)
{
	return Z(log_small(l, ZERO_U));
}
static extslot log_fill(struct log *l)
{
	return F(log_small(l, FILL_U));
}

/* n DATA records back to back. */
static void lay_data(extslot *s, uint32_t n, struct log *l)
{
	for (uint32_t i = 0; i < n; i++)
		s[i] = log_data(l);
}

static void set_ok(struct extmap *m, uint64_t pgoff, uint32_t n, const extslot *s)
{
	ck_assert_int_eq(extmap_set(m, pgoff, n, s, NULL, NULL), 0);
}

static void expect_slots(const struct extmap *m, uint64_t pgoff, uint32_t n, const extslot *s)
{
	for (uint32_t i = 0; i < n; i++)
		EXPECT(extmap_get(m, pgoff + i) == s[i], "page %llu: got %#llx want %#llx",
		       (unsigned long long)(pgoff + i), (unsigned long long)extmap_get(m, pgoff + i),
		       (unsigned long long)s[i]);
}

/* ---- basics ------------------------------------------------------------------- */

START_TEST(test_extmap__empty_map_allocates_nothing)
{
	struct extmap m;
	uint64_t pg = 7, before = so_mem_used(SO_MEM_INDEX);
	extslot s = 9;

	ck_assert_uint_le(sizeof(struct extmap), 48);
	extmap_init(&m);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ck_assert_uint_eq(extmap_pages(&m), 0);
	ck_assert_uint_eq(extmap_extents(&m), 0);
	ck_assert_uint_eq(extmap_get(&m, 0), EXT_NONE);
	ck_assert_int_eq(extmap_next(&m, 0, &pg, &s), 0);
	ck_assert_uint_eq(pg, 7);
	extmap_clear(&m, 0, UINT64_MAX, NULL, NULL);
	/* Setting holes over holes maps nothing and allocates nothing. */
	extslot none[100] = {0};
	set_ok(&m, 5, 100, none);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX), before);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__set_get_clear_roundtrip)
{
	struct extmap m;
	extslot s[4] = {D(1000), Z(77), F(5000), D(123456789)};

	extmap_init(&m);
	set_ok(&m, 10, 4, s);
	expect_slots(&m, 10, 4, s);
	ck_assert_uint_eq(extmap_get(&m, 9), EXT_NONE);
	ck_assert_uint_eq(extmap_get(&m, 14), EXT_NONE);
	ck_assert_uint_eq(extmap_pages(&m), 4);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_DATA), 2);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_ZERO), 1);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_FILL), 1);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_NONE), 0);
	ASSERT_VALID(&m);

	extmap_clear(&m, 11, 2, NULL, NULL);
	ck_assert_uint_eq(extmap_get(&m, 10), D(1000));
	ck_assert_uint_eq(extmap_get(&m, 11), EXT_NONE);
	ck_assert_uint_eq(extmap_get(&m, 12), EXT_NONE);
	ck_assert_uint_eq(extmap_get(&m, 13), D(123456789));
	ck_assert_uint_eq(extmap_pages(&m), 2);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_ZERO), 0);
	ASSERT_VALID(&m);

	/* An EXT_NONE slot in a set clears its page. */
	extslot hole = EXT_NONE;
	set_ok(&m, 10, 1, &hole);
	ck_assert_uint_eq(extmap_get(&m, 10), EXT_NONE);
	ck_assert_uint_eq(extmap_pages(&m), 1);
	extmap_clear(&m, 0, 100, NULL, NULL);
	ck_assert_uint_eq(extmap_pages(&m), 0);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__callbacks_report_exactly_the_replaced_slots)
{
	struct extmap m;
	struct released r = {0};
	struct log l = {.head = 1 << 20};
	extslot s[8], t[8];

	extmap_init(&m);
	lay_data(s, 8, &l);
	ck_assert_int_eq(extmap_set(&m, 100, 8, s, released_cb, &r), 0);
	ck_assert_uint_eq(r.n, 0); /* nothing was mapped before */

	/* Same slot for 100 and 101, a new one for 102, a hole for 103, and 108 was a hole already. */
	memcpy(t, s, sizeof(t));
	t[2] = D(5);
	t[3] = EXT_NONE;
	ck_assert_int_eq(extmap_set(&m, 100, 4, t, released_cb, &r), 0);
	extslot h = EXT_NONE;
	ck_assert_int_eq(extmap_set(&m, 108, 1, &h, released_cb, &r), 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.pg[0], 102);
	ck_assert_uint_eq(r.old[0], s[2]);
	ck_assert_uint_eq(r.pg[1], 103);
	ck_assert_uint_eq(r.old[1], s[3]);

	r.n = 0;
	extmap_clear(&m, 101, 3, released_cb, &r); /* 101, 102 mapped; 103 a hole */
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.pg[0], 101);
	ck_assert_uint_eq(r.old[0], s[1]);
	ck_assert_uint_eq(r.pg[1], 102);
	ck_assert_uint_eq(r.old[1], D(5));

	r.n = 0;
	extmap_destroy(&m, released_cb, &r);
	ck_assert_uint_eq(r.n, 5);
	ck_assert_uint_eq(r.pg[0], 100);
	ck_assert_uint_eq(r.old[0], s[0]);
	for (unsigned i = 1; i < 5; i++) {
		ck_assert_uint_eq(r.pg[i], 103 + i);
		ck_assert_uint_eq(r.old[i], s[3 + i]);
	}
	ck_assert_uint_eq(extmap_mem(&m), 0);
	released_free(&r);
}
END_TEST

/* ---- runs ------------------------------------------------------------------------ */

START_TEST(test_extmap__sequential_writes_form_runs)
{
	struct extmap m;
	struct log l = {.head = 4096};
	extslot s[256];
	uint64_t pg = 0;

	extmap_init(&m);
	/* 64 and 256-page writes, every one laid right after the previous. */
	for (int i = 0; i < 8; i++) {
		uint32_t n = i % 2 ? 256 : 64;
		uint64_t start = l.head;
		lay_data(s, n, &l);
		set_ok(&m, pg, n, s);
		ck_assert_uint_eq(extmap_get(&m, pg), D(start));
		ck_assert_uint_eq(extmap_get(&m, pg + n - 1), D(start + (uint64_t)(n - 1) * DATA_U));
		pg += n;
	}
	ck_assert_uint_eq(extmap_extents(&m), 1);
	ck_assert_uint_eq(extmap_pages(&m), pg);
	for (uint64_t p = 0; p < pg; p++)
		ck_assert_uint_eq(extmap_get(&m, p), D(4096 + p * DATA_U));
	/* One 32-byte run chunk per 64 pages, plus one node with 20 children (168 bytes). */
	ck_assert_uint_le(extmap_mem(&m), (pg / 64) * 32 + 176);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__runs_extend_across_set_calls)
{
	struct extmap m;
	struct log l = {.head = 1ull << 30};
	extslot s[64];
	uint64_t pg = 3, mem_one_chunk;

	extmap_init(&m);
	/* Pieces of 1, 2, 3, ... pages, each one laid where the previous one ended. */
	for (uint32_t n = 1; pg + n <= 64; n++) {
		lay_data(s, n, &l);
		set_ok(&m, pg, n, s);
		pg += n;
		ASSERT_VALID(&m);
	}
	mem_one_chunk = extmap_mem(&m);
	ck_assert_uint_eq(mem_one_chunk, 32); /* one RUN chunk, never a list of pages */
	ck_assert_uint_eq(extmap_extents(&m), 1);

	/* Keep going one page at a time over several chunks. */
	for (int i = 0; i < 200; i++) {
		s[0] = log_data(&l);
		set_ok(&m, pg++, 1, s);
	}
	ck_assert_uint_eq(extmap_extents(&m), 1);
	for (uint64_t p = 3; p < pg; p++)
		ck_assert_uint_eq(extmap_get(&m, p), D((1ull << 30) + (p - 3) * DATA_U));
	ck_assert_uint_le(extmap_mem(&m), 5 * 32 + 64); /* five chunks, a root node with five children */

	/* A piece that starts at the right page but not at the run's end is a new extent. */
	l.head += 1;
	s[0] = log_data(&l);
	set_ok(&m, pg, 1, s);
	ck_assert_uint_eq(extmap_extents(&m), 2);
	ck_assert_uint_eq(extmap_get(&m, pg), s[0]);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__zero_pages_join_runs_as_single_and_shared_records)
{
	struct extmap m;
	struct log l = {.head = 800};
	extslot s[64];

	extmap_init(&m);
	/* D: data record, Z: a new zero record, z: the same zero record as the page before. */
	const char *pat = "DZDZzzDDZDDDZzZDZzzzzzzzzzzzzzzzzzD";
	uint32_t n = (uint32_t)strlen(pat), nzero = 0;
	for (uint32_t i = 0; i < n; i++) {
		s[i] = pat[i] == 'D' ? log_data(&l) : pat[i] == 'Z' ? log_zero(&l) : s[i - 1];
		nzero += pat[i] != 'D';
	}
	set_ok(&m, 64, n, s);
	expect_slots(&m, 64, n, s);
	ck_assert_uint_eq(extmap_extents(&m), 1);
	ck_assert_uint_eq(extmap_mem(&m), 48); /* many zero records: the mask form */
	ASSERT_VALID(&m);

	/* One zero page in a 64-page write keeps the 32-byte form. */
	for (uint32_t i = 0; i < 64; i++)
		s[i] = i == 40 ? log_zero(&l) : log_data(&l);
	set_ok(&m, 256, 64, s);
	expect_slots(&m, 256, 64, s);
	ck_assert_uint_eq(extmap_extents(&m), 2);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_ZERO), nzero + 1);

	/* A zero record spanning a chunk boundary, written in two pieces. */
	for (uint32_t i = 0; i < 60; i++)
		s[i] = log_data(&l);
	s[60] = log_zero(&l);
	for (uint32_t i = 61; i < 64; i++)
		s[i] = s[60];
	set_ok(&m, 1024, 64, s);
	extslot t[8];
	for (int i = 0; i < 5; i++)
		t[i] = s[60];
	t[5] = log_data(&l);
	t[6] = log_zero(&l);
	t[7] = log_data(&l);
	set_ok(&m, 1088, 8, t);
	expect_slots(&m, 1024, 64, s);
	expect_slots(&m, 1088, 8, t);
	ck_assert_uint_eq(extmap_extents(&m), 3);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__fill_pages_break_runs)
{
	struct extmap m;
	struct log l = {.head = 0};
	extslot s[12];

	extmap_init(&m);
	for (int i = 0; i < 12; i++)
		s[i] = i == 5 ? log_fill(&l) : log_data(&l);
	set_ok(&m, 0, 12, s);
	expect_slots(&m, 0, 12, s);
	ck_assert_uint_eq(extmap_extents(&m), 3);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_FILL), 1);

	/* A fill page is not a run start either: data laid after it starts a new extent. */
	for (int i = 0; i < 12; i++)
		s[i] = i % 2 ? log_fill(&l) : log_data(&l);
	set_ok(&m, 64, 12, s);
	expect_slots(&m, 64, 12, s);
	ck_assert_uint_eq(extmap_extents(&m), 3 + 12);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__clearing_inside_a_run_keeps_the_other_pages)
{
	struct extmap m;
	struct log l = {.head = 1000};
	struct released r = {0};
	extslot s[64], more[64];
	uint64_t mem;

	extmap_init(&m);
	for (int i = 0; i < 64; i++)
		s[i] = i % 7 == 3 ? log_zero(&l) : log_data(&l);
	set_ok(&m, 128, 48, s);
	mem = extmap_mem(&m);

	/* Clearing must not allocate: make every allocation fail while clearing. */
	extmap_inject_enomem(0);
	extmap_clear(&m, 128 + 10, 1, released_cb, &r);
	extmap_clear(&m, 128 + 20, 6, released_cb, &r);
	extmap_clear(&m, 128 + 0, 1, released_cb, &r);
	extmap_clear(&m, 128 + 47, 1, released_cb, &r);
	extmap_inject_enomem(-1);
	ck_assert_uint_eq(extmap_mem(&m), mem);
	ck_assert_uint_eq(r.n, 9);
	ck_assert_uint_eq(extmap_pages(&m), 48 - 9);
	for (int i = 0; i < 48; i++) {
		bool gone = i == 0 || i == 10 || (i >= 20 && i < 26) || i == 47;
		ck_assert_uint_eq(extmap_get(&m, 128 + i), gone ? EXT_NONE : s[i]);
	}
	ck_assert_uint_eq(extmap_extents(&m), 3);
	ASSERT_VALID(&m);

	/* The run still extends from its end, although its last page is gone. */
	memcpy(more, s + 48, 16 * sizeof(extslot));
	set_ok(&m, 128 + 48, 16, more);
	ck_assert_uint_eq(extmap_mem(&m), mem);
	for (int i = 48; i < 64; i++)
		ck_assert_uint_eq(extmap_get(&m, 128 + i), s[i]);
	/* Putting a cleared page back at its old address makes it part of the run again. */
	set_ok(&m, 128 + 10, 1, &s[10]);
	ck_assert_uint_eq(extmap_mem(&m), mem);
	ck_assert_uint_eq(extmap_get(&m, 128 + 10), s[10]);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	released_free(&r);
}
END_TEST

START_TEST(test_extmap__overwriting_one_page_of_a_run_changes_only_that_page)
{
	struct extmap m;
	struct log l = {.head = 77777};
	struct released r = {0};
	extslot s[256], nw;

	extmap_init(&m);
	for (int i = 0; i < 256; i++)
		s[i] = i % 50 == 7 ? log_zero(&l) : log_data(&l);
	set_ok(&m, 0, 256, s);
	for (int k = 0; k < 40; k++) {
		unsigned p = (unsigned)(k * 37 + 5) % 256;
		nw = k % 3 == 2 ? F(9000000 + k) : D(9000000 + (uint64_t)k * DATA_U * 3);
		r.n = 0;
		ck_assert_int_eq(extmap_set(&m, p, 1, &nw, released_cb, &r), 0);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_uint_eq(r.pg[0], p);
		ck_assert_uint_eq(r.old[0], s[p]);
		s[p] = nw;
		expect_slots(&m, 0, 256, s);
		ASSERT_VALID(&m);
	}
	/* Sparse overwrites keep the run chunks: far less than four dense chunks. */
	ck_assert_uint_lt(extmap_mem(&m), 4 * 400);
	ck_assert_uint_eq(extmap_pages(&m), 256);
	extmap_destroy(&m, NULL, NULL);
	released_free(&r);
}
END_TEST

START_TEST(test_extmap__extents_follow_the_run_rule)
{
	struct extmap m;
	extslot s[10];

	extmap_init(&m);
	s[0] = D(100);
	s[1] = D(100 + DATA_U);                  /* continues */
	s[2] = Z(100 + 2 * DATA_U);              /* new zero record, continues */
	s[3] = Z(100 + 2 * DATA_U);              /* same zero record, continues */
	s[4] = D(100 + 2 * DATA_U + ZERO_U);     /* continues */
	s[5] = D(100);                           /* jumps back: new extent */
	s[6] = Z(100);                           /* zero after data at the same address: new extent */
	s[7] = Z(100 + ZERO_U);                  /* new zero record right after: continues */
	s[8] = D(100 + 2 * ZERO_U);              /* continues */
	s[9] = D(100 + 2 * ZERO_U + DATA_U + 1); /* off by one unit: new extent */
	set_ok(&m, 1000, 10, s);
	expect_slots(&m, 1000, 10, s);
	ck_assert_uint_eq(extmap_extents(&m), 4);
	/* A gap in pgoff splits an extent even when the records are adjacent. */
	extslot t = D(100 + 2 * ZERO_U + 2 * DATA_U + 1);
	set_ok(&m, 1011, 1, &t);
	ck_assert_uint_eq(extmap_extents(&m), 5);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

/*
 * A chunk's block never shrinks while the chunk maps pages: rewriting a
 * randomly written chunk as one run re-encodes it in place, so the random
 * overwrites that may follow need no allocation either.
 */
START_TEST(test_extmap__chunk_rewritten_sequentially_keeps_its_block)
{
	struct extmap m;
	struct log l = {.head = 5};
	extslot s[64];
	uint64_t mem, allocs;

	extmap_init(&m);
	for (unsigned i = 0; i < 64; i++) {
		s[0] = D(1000000 + (uint64_t)((i * 29) % 64) * 1000);
		set_ok(&m, (i * 29) % 64, 1, s);
	}
	mem = extmap_mem(&m);
	ck_assert_uint_gt(mem, 64); /* far more than a run's 32 bytes */
	allocs = so_alloc_count();
	lay_data(s, 64, &l);
	set_ok(&m, 0, 64, s);
	expect_slots(&m, 0, 64, s);
	ck_assert_uint_eq(extmap_mem(&m), mem);
	s[0] = D(1000000);
	set_ok(&m, 17, 1, s);
	ck_assert_uint_eq(so_alloc_count(), allocs);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

/*
 * Pages written in random order are packed into fields as wide as their
 * addresses need: 4 KiB-aligned records in a 4 GiB window cost 20 bits a
 * page, and every kind and any address (0, ADDR_MAX) still round-trips as
 * the chunk's fields widen.
 */
START_TEST(test_extmap__packed_fields_hold_any_kind_and_address)
{
	struct tu_rng rng;
	struct extmap m;
	extslot s[64], x;

	tu_rng_init(&rng, tu_seed(0xf1e1d));
	extmap_init(&m);
	for (unsigned i = 0; i < 64; i++) {
		s[(i * 29) % 64] = D((1ull << 30) + tu_rng_below(&rng, 1ull << 20) * 256);
		set_ok(&m, (i * 29) % 64, 1, &s[(i * 29) % 64]);
	}
	expect_slots(&m, 0, 64, s);
	/* 16-byte header, 64 fields of at most 20 bits, the allocator's 8 bytes. */
	ck_assert_uint_le(extmap_mem(&m), 16 + 64 * 20 / 8 + 8 + 8);
	ASSERT_VALID(&m);
	for (unsigned k = 0; k < 12; k++) {
		unsigned p = (k * 37 + 3) % 64;
		switch (k % 4) {
		case 0:
			x = Z(s[p] >> 2);
			break;
		case 1:
			x = F(ADDR_MAX);
			break;
		case 2:
			x = D(0);
			break;
		default:
			x = D(s[(p + 1) % 64] >> 2); /* an address another page has */
		}
		set_ok(&m, p, 1, &x);
		s[p] = x;
		expect_slots(&m, 0, 64, s);
		ASSERT_VALID(&m);
	}
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_ZERO), 3);
	ck_assert_uint_eq(extmap_pages_kind(&m, EXT_FILL), 3);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__holes_written_through_set_free_empty_chunks)
{
	struct extmap m;
	struct log l = {.head = 64};
	struct released r = {0};
	extslot s[64], none[64] = {0};

	extmap_init(&m);
	/* A run chunk, unmapped by a set of holes. */
	lay_data(s, 64, &l);
	set_ok(&m, 640, 64, s);
	ck_assert_int_eq(extmap_set(&m, 640, 64, none, released_cb, &r), 0);
	ck_assert_uint_eq(r.n, 64);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ck_assert_uint_eq(extmap_pages(&m), 0);

	/* A dense chunk: clear most of it, then the last pages go one small set at a time. */
	for (unsigned i = 0; i < 64; i++)
		s[i] = D(100000 + 1000 * (uint64_t)((i * 37) % 64));
	for (unsigned i = 0; i < 64; i++)
		set_ok(&m, 640 + (i * 37) % 64, 1, &s[(i * 37) % 64]);
	uint64_t mem = extmap_mem(&m);
	extmap_clear(&m, 640, 60, NULL, NULL);
	ck_assert_uint_eq(extmap_mem(&m), mem);
	set_ok(&m, 640 + 60, 1, &s[60]); /* the same slot: nothing changes */
	set_ok(&m, 640 + 60, 2, none);
	ASSERT_VALID(&m);
	r.n = 0;
	ck_assert_int_eq(extmap_set(&m, 640 + 62, 2, none, released_cb, &r), 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.old[1], s[63]);
	ck_assert_uint_eq(extmap_mem(&m), 0);

	/* A list chunk and a run with exceptions, emptied page by page. */
	for (unsigned i = 0; i < 5; i++) {
		extslot x = D(7 + 1000 * i);
		set_ok(&m, 3 * i, 1, &x);
	}
	lay_data(s, 10, &l);
	set_ok(&m, 64, 10, s);
	for (unsigned i = 0; i < 3; i++) {
		extslot x = F(9 + i);
		set_ok(&m, 80 + 2 * i, 1, &x);
	}
	ASSERT_VALID(&m);
	for (unsigned p = 0; p < 128; p++)
		set_ok(&m, p, 1, none);
	ck_assert_uint_eq(extmap_pages(&m), 0);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	released_free(&r);
}
END_TEST

/* ---- offsets and ranges -------------------------------------------------------------- */

START_TEST(test_extmap__huge_sparse_offsets_work)
{
	struct extmap m;
	const uint64_t top = EXTMAP_PGOFF_LIMIT - 1, tib = 1ull << 28;
	uint64_t pg;
	extslot s;

	extmap_init(&m);
	s = D(ADDR_MAX - DATA_U);
	set_ok(&m, top, 1, &s);
	ck_assert_uint_eq(extmap_get(&m, top), s);
	ck_assert_uint_eq(extmap_get(&m, top - 1), EXT_NONE);
	ck_assert_uint_eq(extmap_get(&m, EXTMAP_PGOFF_LIMIT), EXT_NONE);
	ck_assert_uint_eq(extmap_get(&m, UINT64_MAX), EXT_NONE);
	ck_assert_uint_eq(extmap_mem(&m), 32);
	s = Z(3);
	set_ok(&m, 0, 1, &s);
	s = F(4);
	set_ok(&m, tib, 1, &s);
	ck_assert_uint_eq(extmap_get(&m, 0), Z(3));
	ck_assert_uint_eq(extmap_get(&m, tib), F(4));
	ck_assert_uint_eq(extmap_get(&m, top), D(ADDR_MAX - DATA_U));
	ck_assert_int_eq(extmap_next(&m, 1, &pg, &s), 1);
	ck_assert_uint_eq(pg, tib);
	ck_assert_int_eq(extmap_next(&m, tib + 1, &pg, &s), 1);
	ck_assert_uint_eq(pg, top);
	ck_assert_int_eq(extmap_next(&m, top + 1, &pg, &s), 0);
	ASSERT_VALID(&m);

	/* Removing the outliers shrinks the tree back to a single chunk. */
	extmap_clear(&m, tib, 1, NULL, NULL);
	extmap_clear(&m, top, 1, NULL, NULL);
	ck_assert_uint_eq(extmap_mem(&m), 32);
	ck_assert_uint_eq(extmap_get(&m, 0), Z(3));
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	ck_assert_uint_eq(extmap_mem(&m), 0);
}
END_TEST

START_TEST(test_extmap__clear_with_huge_npages_truncates)
{
	struct extmap m;
	struct released r = {0};
	extslot s;
	uint64_t pgs[] = {0, 1, 63, 64, 4095, 4096, 1ull << 20, 1ull << 30, EXTMAP_PGOFF_LIMIT - 1};
	const unsigned n = sizeof(pgs) / sizeof(pgs[0]);

	extmap_init(&m);
	for (unsigned i = 0; i < n; i++) {
		s = D(1000 * i + 1);
		set_ok(&m, pgs[i], 1, &s);
	}
	extmap_clear(&m, 4096, UINT64_MAX - 4096, released_cb, &r);
	ck_assert_uint_eq(r.n, 4);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_uint_eq(r.pg[i], pgs[5 + i]);
	ck_assert_uint_eq(extmap_pages(&m), 5);
	ck_assert_uint_eq(extmap_get(&m, 4095), D(4001));
	ASSERT_VALID(&m);
	/* Past the limit: nothing to clear, and it must not wrap around. */
	extmap_clear(&m, UINT64_MAX - 5, UINT64_MAX, NULL, NULL);
	extmap_clear(&m, EXTMAP_PGOFF_LIMIT, 10, NULL, NULL);
	ck_assert_uint_eq(extmap_pages(&m), 5);
	extmap_clear(&m, 0, UINT64_MAX, NULL, NULL);
	ck_assert_uint_eq(extmap_pages(&m), 0);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	released_free(&r);
}
END_TEST

START_TEST(test_extmap__next_skips_empty_ranges)
{
	struct extmap m;
	uint64_t pgs[] = {5, 6, 200, 4160, 1ull << 24, (1ull << 24) + 63, (1ull << 36) + 1};
	const unsigned n = sizeof(pgs) / sizeof(pgs[0]);
	uint64_t pg, from = 0;
	extslot s;
	unsigned i = 0;

	extmap_init(&m);
	for (unsigned k = 0; k < n; k++) {
		s = extslot_make((enum ext_kind)(1 + k % 3), 10 * k + 10);
		set_ok(&m, pgs[k], 1, &s);
	}
	while (extmap_next(&m, from, &pg, &s)) {
		ck_assert_uint_lt(i, n);
		ck_assert_uint_eq(pg, pgs[i]);
		ck_assert_uint_eq(s, extslot_make((enum ext_kind)(1 + i % 3), 10 * i + 10));
		from = pg + 1;
		i++;
	}
	ck_assert_uint_eq(i, n);
	/* From the middle of a gap, from before the root's range, from a mapped page. */
	ck_assert_int_eq(extmap_next(&m, 201, &pg, &s), 1);
	ck_assert_uint_eq(pg, 4160);
	ck_assert_int_eq(extmap_next(&m, 4160, &pg, &s), 1);
	ck_assert_uint_eq(pg, 4160);
	extmap_clear(&m, 0, 1ull << 24, NULL, NULL);
	ck_assert_int_eq(extmap_next(&m, 0, &pg, &s), 1);
	ck_assert_uint_eq(pg, 1ull << 24);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__next_hole_skips_mapped_runs)
{
	struct extmap m;
	struct log l = {.head = 77};
	const uint64_t lim = EXTMAP_PGOFF_LIMIT, big = 3 * 4096 + 7;
	extslot *s = malloc(big * sizeof(*s));

	ck_assert_ptr_nonnull(s);
	extmap_init(&m);
	/* Empty: every page is a hole, the limit and beyond included. */
	ck_assert_uint_eq(extmap_next_hole(&m, 0), 0);
	ck_assert_uint_eq(extmap_next_hole(&m, 12345), 12345);
	ck_assert_uint_eq(extmap_next_hole(&m, lim), lim);
	ck_assert_uint_eq(extmap_next_hole(&m, UINT64_MAX), UINT64_MAX);

	/* One chunk far up (a height-0 tree with a prefix): below and above its span. */
	s[0] = log_data(&l);
	set_ok(&m, 1ull << 30, 1, s);
	ck_assert_uint_eq(extmap_next_hole(&m, 5), 5);
	ck_assert_uint_eq(extmap_next_hole(&m, (1ull << 30) - 1), (1ull << 30) - 1);
	ck_assert_uint_eq(extmap_next_hole(&m, 1ull << 30), (1ull << 30) + 1);
	ck_assert_uint_eq(extmap_next_hole(&m, (1ull << 30) + 64), (1ull << 30) + 64);

	/* A run across chunk and level-1 node boundaries, of every kind of page. */
	lay_data(s, (uint32_t)big, &l);
	s[300] = log_zero(&l);
	s[301] = s[300];
	s[4095] = log_fill(&l);
	set_ok(&m, 100, (uint32_t)big, s);
	ck_assert_uint_eq(extmap_next_hole(&m, 0), 0);
	ck_assert_uint_eq(extmap_next_hole(&m, 99), 99);
	for (uint64_t from = 100; from < 100 + big; from += 61)
		EXPECT(extmap_next_hole(&m, from) == 100 + big, "from %llu: %llu", (unsigned long long)from,
		       (unsigned long long)extmap_next_hole(&m, from));
	ck_assert_uint_eq(extmap_next_hole(&m, 100 + big), 100 + big);

	/* Clearing inside the run opens a hole there; a cleared whole chunk too. */
	extmap_clear(&m, 4200, 1, NULL, NULL);
	ck_assert_uint_eq(extmap_next_hole(&m, 100), 4200);
	ck_assert_uint_eq(extmap_next_hole(&m, 4200), 4200);
	ck_assert_uint_eq(extmap_next_hole(&m, 4201), 100 + big);
	extmap_clear(&m, 64, 128, NULL, NULL);
	ck_assert_uint_eq(extmap_next_hole(&m, 100), 100);
	ck_assert_uint_eq(extmap_next_hole(&m, 192), 4200);

	/* Mapped up to the limit: the limit is the first hole. */
	lay_data(s, 70, &l);
	set_ok(&m, lim - 70, 70, s);
	ck_assert_uint_eq(extmap_next_hole(&m, lim - 71), lim - 71);
	ck_assert_uint_eq(extmap_next_hole(&m, lim - 70), lim);
	ck_assert_uint_eq(extmap_next_hole(&m, lim - 1), lim);
	ck_assert_uint_eq(extmap_next_hole(&m, 4201), 100 + big);
	ck_assert_uint_eq(extmap_next_hole(&m, (1ull << 30)), (1ull << 30) + 1);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	free(s);
}
END_TEST

/* Bytes the map holds per mapped page. */
static double per_page(const struct extmap *m)
{
	return (double)extmap_mem(m) / (double)extmap_pages(m);
}

/* ---- allocations in steady state ------------------------------------------------------ */

/*
 * A store's log as the extent map sees it: records back to back in a device
 * of SS_DEV units, wrapping to its start (as a cleaner that reuses segments
 * makes it), so that once it has wrapped the live pages' addresses span the
 * device.
 */
#define SS_PAGES 4096u
#define SS_DEV (1ull << 22) /* 64 MiB: the log wraps every ~16,000 page writes */
#define SS_OPS 20000u

static extslot wrap_rec(struct log *l, enum ext_kind k)
{
	uint64_t u = k == EXT_DATA ? DATA_U : k == EXT_ZERO ? ZERO_U : FILL_U;
	if (l->head + u > SS_DEV)
		l->head = 0;
	l->head += u;
	return extslot_make(k, l->head - u);
}

/* A kind for a page: mostly DATA; with `kinds`, one in four ZERO or FILL. */
static enum ext_kind pick_kind(struct tu_rng *rng, bool kinds)
{
	unsigned d = kinds ? (unsigned)tu_rng_below(rng, 8) : 0;
	return d == 0 ? EXT_ZERO : d == 1 ? EXT_FILL : EXT_DATA;
}

enum ss_style { SS_RANDOM, SS_SEQUENTIAL, SS_MIXED, SS_HOT };

struct ss_case {
	const char *name;
	enum ss_style style;
	uint32_t piece; /* pages per sequential write */
	bool kinds;     /* pages change kind DATA <-> ZERO <-> FILL */
};

/* One overwrite of mapped pages [0, SS_PAGES), noted in want; returns the pages written. */
static uint32_t ss_step(struct extmap *m, const struct ss_case *c, struct tu_rng *rng, struct log *l, uint64_t *cursor,
                        extslot *want)
{
	extslot s[128];
	uint32_t n = 1;
	uint64_t pg;
	bool seq = c->style == SS_SEQUENTIAL || (c->style == SS_MIXED && tu_rng_below(rng, 8) == 0);

	if (c->style == SS_HOT) { /* pages 5 and 40 of every chunk, nothing else */
		pg = tu_rng_below(rng, SS_PAGES / 64) * 64 + (tu_rng_below(rng, 2) ? 5 : 40);
		s[0] = wrap_rec(l, pick_kind(rng, c->kinds));
	} else if (!seq) {
		pg = tu_rng_below(rng, SS_PAGES);
		s[0] = wrap_rec(l, pick_kind(rng, c->kinds));
	} else {
		pg = *cursor;
		n = (uint32_t)SO_MIN(c->piece, SS_PAGES - pg);
		for (uint32_t i = 0; i < n; i++) {
			/* Zero pages sometimes share the record of the zero page before them. */
			enum ext_kind k = pick_kind(rng, c->kinds);
			s[i] = k == EXT_ZERO && i > 0 && extslot_kind(s[i - 1]) == EXT_ZERO ? s[i - 1] : wrap_rec(l, k);
		}
		*cursor = (pg + n) % SS_PAGES;
	}
	set_ok(m, pg, n, s);
	memcpy(want + pg, s, n * sizeof(*s));
	return n;
}

START_TEST(test_extmap__overwrites_allocate_nothing_in_steady_state)
{
	static const struct ss_case cases[] = {
	    {"random pages", SS_RANDOM, 1, false},
	    {"random pages changing kind", SS_RANDOM, 1, true},
	    {"sequential, 1-page writes", SS_SEQUENTIAL, 1, false},
	    {"sequential, 16-page writes, kinds change", SS_SEQUENTIAL, 16, true},
	    {"sequential, 64-page writes", SS_SEQUENTIAL, 64, false},
	    {"sequential, 100-page writes, kinds change", SS_SEQUENTIAL, 100, true},
	    {"random pages and 64-page sequential writes", SS_MIXED, 64, true},
	    {"two hot pages per chunk", SS_HOT, 1, true},
	};
	uint64_t seed = tu_seed(0x57ead);

	for (unsigned ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct ss_case *c = &cases[ci];
		struct tu_rng rng;
		struct log l = {.head = 0};
		struct extmap m;
		uint64_t cursor = 0, written = 0, allocs, before = so_mem_used(SO_MEM_INDEX);
		static extslot want[SS_PAGES];

		tu_rng_init(&rng, seed + ci);
		extmap_init(&m);
		for (uint64_t pg = 0; pg < SS_PAGES; pg += 64) { /* first writes may allocate */
			for (unsigned i = 0; i < 64; i++)
				want[pg + i] = wrap_rec(&l, EXT_DATA);
			set_ok(&m, pg, 64, want + pg);
		}
		while (written < 2 * SS_PAGES) /* warm-up: every chunk is overwritten and takes its shape */
			written += ss_step(&m, c, &rng, &l, &cursor, want);
		allocs = so_alloc_count();
		for (written = 0; written < SS_OPS;)
			written += ss_step(&m, c, &rng, &l, &cursor, want);
		allocs = so_alloc_count() - allocs;
		printf("extmap: %s: %llu allocations in %llu page overwrites, %.3f bytes/page\n", c->name,
		       (unsigned long long)allocs, (unsigned long long)written, per_page(&m));
		ck_assert_msg(allocs == 0, "%s: %llu allocations in %llu page overwrites (seed %llu)", c->name,
		              (unsigned long long)allocs, (unsigned long long)written, (unsigned long long)seed);
		ck_assert_uint_eq(extmap_pages(&m), SS_PAGES);
		if (c->style == SS_HOT) /* runs with two exceptions each: far from packed */
			ck_assert_msg(per_page(&m) < 2.0, "%s: %.3f bytes/page", c->name, per_page(&m));
		expect_slots(&m, 0, SS_PAGES, want);
		ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX) - before, extmap_mem(&m));
		ASSERT_VALID(&m);
		extmap_destroy(&m, NULL, NULL);
	}
}
END_TEST

/*
 * First writes of new pages grow the map, but not on every call: a chunk's
 * block grows by a bin that holds several more pages.
 */
START_TEST(test_extmap__first_writes_allocate_on_few_calls)
{
	uint64_t seed = tu_seed(0xf1257), allocs, calls = 0;
	uint32_t *order = malloc(SS_PAGES * sizeof(*order));
	struct tu_rng rng;
	struct log l = {.head = 0};
	struct extmap m;

	ck_assert_ptr_nonnull(order);
	tu_rng_init(&rng, seed);
	for (uint32_t i = 0; i < SS_PAGES; i++)
		order[i] = i;
	for (uint32_t i = SS_PAGES - 1; i > 0; i--) {
		uint32_t j = (uint32_t)tu_rng_below(&rng, i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	extmap_init(&m);
	allocs = so_alloc_count();
	for (uint32_t i = 0; i < SS_PAGES; i++, calls++) {
		extslot s = wrap_rec(&l, EXT_DATA);
		set_ok(&m, order[i], 1, &s);
	}
	allocs = so_alloc_count() - allocs;
	printf("extmap: first writes in random order: %llu allocations in %llu calls\n", (unsigned long long)allocs,
	       (unsigned long long)calls);
	ck_assert_msg(allocs * 3 <= calls, "%llu allocations in %llu calls (seed %llu)", (unsigned long long)allocs,
	              (unsigned long long)calls, (unsigned long long)seed);
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	free(order);
}
END_TEST

/* ---- memory targets ----------------------------------------------------------------- */

/*
 * Write npages sequentially in pieces of `piece` pages, records back to back
 * within a piece; between pieces the log head jumps unless `contiguous`.
 * Page i is a zero page when i % 90 == 45 (and 46, 47 share its record when
 * `multi_zero`).
 */
static void write_sequential(struct extmap *m, uint64_t npages, uint32_t piece, bool contiguous, bool multi_zero,
                             bool split)
{
	struct log l = {12345, split, 0};
	extslot *s = malloc(piece * sizeof(*s));
	ck_assert_ptr_nonnull(s);
	for (uint64_t pg = 0; pg < npages; pg += piece) {
		uint32_t n = (uint32_t)SO_MIN(piece, npages - pg);
		if (!contiguous)
			l.head += 1000 + pg % 977;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t p = pg + i;
			if (p % 90 == 45)
				s[i] = log_zero(&l);
			else if (multi_zero && (p % 90 == 46 || p % 90 == 47) && i > 0 &&
			         extslot_kind(s[i - 1]) == EXT_ZERO)
				s[i] = s[i - 1];
			else
				s[i] = log_data(&l);
		}
		set_ok(m, pg, n, s);
	}
	free(s);
}

START_TEST(test_extmap__sequential_pages_cost_under_one_byte_each)
{
	static const struct {
		uint32_t piece;
		bool contiguous, multi_zero, split;
	} cases[] = {{256, false, false, false}, {64, false, true, false}, {256, true, true, false},
	             {16, true, false, false},   {1, true, false, false},  {256, false, false, true},
	             {64, true, true, true},     {1, true, false, true}};
	const uint64_t npages = 16384; /* a 64 MiB object */

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct extmap m;
		uint64_t before = so_mem_used(SO_MEM_INDEX);
		extmap_init(&m);
		write_sequential(&m, npages, cases[c].piece, cases[c].contiguous, cases[c].multi_zero, cases[c].split);
		ck_assert_uint_eq(extmap_pages(&m), npages);
		ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX) - before, extmap_mem(&m));
		printf("extmap: sequential, %u-page writes%s%s%s: %.3f bytes/page (%llu bytes, %llu extents)\n",
		       cases[c].piece, cases[c].contiguous ? ", contiguous" : "",
		       cases[c].multi_zero ? ", multi-page zero records" : "",
		       cases[c].split ? ", pages out of line (split)" : "", per_page(&m),
		       (unsigned long long)extmap_mem(&m), (unsigned long long)extmap_extents(&m));
		ck_assert_msg(per_page(&m) <= 1.0, "%.3f bytes/page", per_page(&m));
		ASSERT_VALID(&m);
		extmap_destroy(&m, NULL, NULL);
	}
}
END_TEST

/*
 * Pages written in random order cost what their fields need: records from
 * a 64 MiB stretch of the log (24-bit offsets) under 4 bytes a page,
 * records 2^40 units apart under 6.
 */
START_TEST(test_extmap__random_dense_pages_cost_under_4_bytes_each_from_a_log)
{
	const uint64_t npages = 16384;
	uint64_t seed = tu_seed(0xe71a9), *order = malloc(npages * sizeof(*order));
	struct tu_rng rng;
	struct extmap m;
	struct log l = {.head = 999};

	ck_assert_ptr_nonnull(order);
	tu_rng_init(&rng, seed);
	for (uint64_t i = 0; i < npages; i++)
		order[i] = i;
	for (uint64_t i = npages - 1; i > 0; i--) {
		uint64_t j = tu_rng_below(&rng, i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (int pass = 0; pass < 2; pass++) {
		extmap_init(&m);
		for (uint64_t i = 0; i < npages; i++) {
			/* Pass 0: random addresses; pass 1: the log's order, i.e. random pages, sequential addresses.
			 */
			extslot s = pass == 0 ? D(tu_rng_below(&rng, 1ull << 40)) : log_data(&l);
			set_ok(&m, order[i], 1, &s);
		}
		ck_assert_uint_eq(extmap_pages(&m), npages);
		printf("extmap: random order, dense, %s addresses: %.3f bytes/page (seed %llu)\n",
		       pass ? "log-order" : "random", per_page(&m), (unsigned long long)seed);
		ck_assert_msg(per_page(&m) <= (pass ? 4.0 : 6.0), "%.3f bytes/page, seed %llu", per_page(&m),
		              (unsigned long long)seed);
		ASSERT_VALID(&m);
		extmap_destroy(&m, NULL, NULL);
	}
	free(order);
}
END_TEST

/*
 * The index's cost at scale: a million pages mapped sequentially, in random
 * order over a million-page range, and in random order over a 4-million-page
 * range (a quarter of the pages mapped), each record taken from a log in
 * write order. Prints bytes per page. Random order over a dense range stays
 * within 4 bytes a page; over a quarter-full range the 64-page chunks hold
 * 16 pages each and their fixed costs (a 16-byte header, the allocator's 8
 * bytes, the parent's 8-byte pointer) add 2 bytes a page to the fields, so
 * that bound is the measured figure with a margin, as is the sequential one
 * (a block of 32 bytes and a pointer per chunk: 0.63).
 */
START_TEST(test_extmap__a_million_pages_cost)
{
	enum { N = 1u << 20, RANGE = 4u << 20 };
	static const struct {
		const char *name;
		uint32_t range; /* 0: sequential */
		double max;
	} cases[] = {{"sequential", 0, 0.7}, {"random over 1M pages", N, 4.0}, {"random over 4M pages", RANGE, 6.1}};
	uint32_t *order = malloc(RANGE * sizeof(*order));
	uint64_t seed = tu_seed(0x1e6);
	struct tu_rng rng;

	ck_assert_ptr_nonnull(order);
	tu_rng_init(&rng, seed);
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct log l = {.head = 1 << 16};
		struct extmap m;
		extslot s[256];

		extmap_init(&m);
		if (!cases[c].range) {
			for (uint32_t pg = 0; pg < N; pg += 256) {
				lay_data(s, 256, &l);
				set_ok(&m, pg, 256, s);
			}
		} else {
			/* The first N of a random permutation of the range. */
			for (uint32_t i = 0; i < cases[c].range; i++)
				order[i] = i;
			for (uint32_t i = 0; i < N; i++) {
				uint32_t j = i + (uint32_t)tu_rng_below(&rng, cases[c].range - i), x = order[i];
				order[i] = order[j];
				order[j] = x;
				s[0] = log_data(&l);
				set_ok(&m, order[i], 1, s);
			}
		}
		ck_assert_uint_eq(extmap_pages(&m), N);
		printf("extmap: 1M pages, %s: %.3f bytes/page (seed %llu)\n", cases[c].name, per_page(&m),
		       (unsigned long long)seed);
		ck_assert_msg(per_page(&m) <= cases[c].max, "%s: %.3f bytes/page, seed %llu", cases[c].name,
		              per_page(&m), (unsigned long long)seed);
		ASSERT_VALID(&m);
		extmap_destroy(&m, NULL, NULL);
	}
	free(order);
}
END_TEST

START_TEST(test_extmap__sparse_pages_cost_under_24_bytes_each_plus_64)
{
	uint64_t seed = tu_seed(0x5ba5e);
	struct tu_rng rng;
	struct extmap m;
	extslot s;

	tu_rng_init(&rng, seed);
	for (int trial = 0; trial < 50; trial++) {
		/* 10 random pages of a 1 MiB object. */
		extmap_init(&m);
		while (extmap_pages(&m) < 10) {
			s = D(tu_rng_below(&rng, 1ull << 40));
			set_ok(&m, tu_rng_below(&rng, 256), 1, &s);
		}
		if (trial == 0)
			printf("extmap: 10 random pages of 1 MiB: %llu bytes (%.1f bytes/page)\n",
			       (unsigned long long)extmap_mem(&m), per_page(&m));
		ck_assert_msg(extmap_mem(&m) <= 24 * 10 + 64, "%llu bytes, seed %llu",
		              (unsigned long long)extmap_mem(&m), (unsigned long long)seed);
		ASSERT_VALID(&m);
		extmap_destroy(&m, NULL, NULL);
	}
	extmap_init(&m);
	s = D(42);
	set_ok(&m, 1ull << 28, 1, &s);
	printf("extmap: one page at 1 TiB: %llu bytes\n", (unsigned long long)extmap_mem(&m));
	ck_assert_uint_le(extmap_mem(&m), 24 + 64);
	extmap_destroy(&m, NULL, NULL);
}
END_TEST

START_TEST(test_extmap__memory_returns_to_zero_after_destroy)
{
	uint64_t before = so_mem_used(SO_MEM_INDEX);
	struct extmap m;
	struct tu_rng rng;

	tu_rng_init(&rng, tu_seed(7));
	extmap_init(&m);
	write_sequential(&m, 5000, 100, false, true, false);
	for (int i = 0; i < 3000; i++) {
		extslot s = extslot_make((enum ext_kind)(1 + tu_rng_below(&rng, 3)), tu_rng_below(&rng, 1ull << 44));
		set_ok(&m, tu_rng_below(&rng, 1ull << 30), 1, &s);
		if (i % 500 == 0)
			ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX) - before, extmap_mem(&m));
	}
	extmap_clear(&m, 1000, 2000, NULL, NULL);
	ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX) - before, extmap_mem(&m));
	ASSERT_VALID(&m);
	extmap_destroy(&m, NULL, NULL);
	ck_assert_uint_eq(extmap_mem(&m), 0);
	ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX), before);
}
END_TEST

START_TEST(test_extmap__failed_allocation_changes_nothing)
{
	struct extmap m;
	struct released r = {0};
	struct log l = {.head = 500};
	extslot s[8], x;
	uint64_t mem;

	extmap_init(&m);
	/*
	 * A list of three pages far apart in the log (so that packed fields would
	 * be wider) fills its block: a fourth needs a bigger one.
	 */
	for (unsigned i = 0; i < 3; i++) {
		x = F(10 + ((uint64_t)i << 40));
		set_ok(&m, 10 * i, 1, &x);
	}
	/* A run with one exception fills its block too. */
	lay_data(s, 8, &l);
	set_ok(&m, 64, 8, s);
	x = F(99);
	set_ok(&m, 66, 1, &x);
	mem = extmap_mem(&m);
	ASSERT_VALID(&m);

	for (long budget = 0; budget < 3; budget++) {
		static const uint64_t pages[] = {35, 69, 1ull << 30, 4096};
		for (unsigned k = 0; k < 4; k++) {
			x = F(1000 + k);
			r.n = 0;
			extmap_inject_enomem(budget);
			int err = extmap_set(&m, pages[k], 1, &x, released_cb, &r);
			extmap_inject_enomem(-1);
			if (budget == 0) /* every one of them needs memory */
				ck_assert_int_eq(err, SWAPOBJ_ENOMEM);
			if (err == 0) {
				/* Enough budget: undo, so the next round starts from the same map. */
				ck_assert_uint_eq(extmap_get(&m, pages[k]), x);
				extmap_clear(&m, pages[k], 1, NULL, NULL);
				if (pages[k] == 69)
					set_ok(&m, 69, 1, &s[5]);
				continue;
			}
			ck_assert_int_eq(err, SWAPOBJ_ENOMEM);
			ck_assert_uint_eq(r.n, 0);
			ck_assert_uint_eq(extmap_get(&m, pages[k]), pages[k] == 69 ? s[5] : EXT_NONE);
			ck_assert_uint_eq(extmap_pages(&m), 11);
			ASSERT_VALID(&m);
		}
	}
	ck_assert_uint_le(extmap_mem(&m), mem + 64);
	extmap_destroy(&m, NULL, NULL);
	released_free(&r);
}
END_TEST

/* ---- randomized model test --------------------------------------------------------- */

/*
 * The model is a plain array of slots over three windows of pages, in
 * increasing pgoff order: pages [0, W0); WF far pages scattered between
 * 2^20 and the top window, some sharing a chunk; the top W1 pages below
 * EXTMAP_PGOFF_LIMIT (the tallest tree).
 */
#define W0 4096u
#define WF 64u
#define W1 1024u
#define NM (W0 + WF + W1)

struct model {
	extslot s[NM];
	uint64_t far[WF];
	uint64_t seed;
	struct log l;      /* records of random writes */
	struct log seq;    /* records of sequential writes */
	unsigned last_end; /* model index after the last sequential write */
};

static uint64_t model_pg(const struct model *md, unsigned i)
{
	if (i < W0)
		return i;
	if (i < W0 + WF)
		return md->far[i - W0];
	return EXTMAP_PGOFF_LIMIT - W1 + (i - W0 - WF);
}

/* Model pages i-1 and i are neighbours in pgoff. */
static bool model_adjacent(const struct model *md, unsigned i)
{
	return i > 0 && i < NM && model_pg(md, i) == model_pg(md, i - 1) + 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void model_init(struct model *md, uint64_t seed, struct tu_rng *rng)
{
	memset(md, 0, sizeof(*md));
	md->seed = seed;
	md->l.head = 1000;
	md->seq.head = 1ull << 40;
	md->last_end = NM;
	for (;;) {
		for (unsigned k = 0; k < WF; k++) {
			if (k % 4 == 3) /* a neighbour in the same chunk or the next */
				md->far[k] = md->far[k - 1] + 1 + tu_rng_below(rng, 70);
			else
				md->far[k] = (1ull << 20) + tu_rng_below(rng, EXTMAP_PGOFF_LIMIT - (1ull << 21));
		}
		qsort(md->far, WF, sizeof(md->far[0]), cmp_u64);
		bool dup = false;
		for (unsigned k = 1; k < WF; k++)
			dup |= md->far[k] == md->far[k - 1];
		if (!dup)
			break;
	}
}

static void model_compare(const struct model *md, const struct extmap *m, unsigned lo, unsigned hi)
{
	uint64_t cnt[4] = {0};
	for (unsigned i = lo; i < hi; i++)
		EXPECT(extmap_get(m, model_pg(md, i)) == md->s[i], "seed %llu: page %llu is %#llx, model %#llx",
		       (unsigned long long)md->seed, (unsigned long long)model_pg(md, i),
		       (unsigned long long)extmap_get(m, model_pg(md, i)), (unsigned long long)md->s[i]);
	for (unsigned i = 0; i < NM; i++)
		cnt[extslot_kind(md->s[i])]++;
	for (int k = 1; k < 4; k++)
		EXPECT(extmap_pages_kind(m, (enum ext_kind)k) == cnt[k], "seed %llu: kind %d count %llu, model %llu",
		       (unsigned long long)md->seed, k, (unsigned long long)extmap_pages_kind(m, (enum ext_kind)k),
		       (unsigned long long)cnt[k]);
	EXPECT(extmap_pages(m) == cnt[1] + cnt[2] + cnt[3], "seed %llu: pages", (unsigned long long)md->seed);
}

/* Full comparison, including next() iteration and extents. */
static void model_compare_all(const struct model *md, const struct extmap *m)
{
	uint64_t pg, from = 0, extents = 0;
	extslot s, prev = EXT_NONE;
	unsigned i = 0;

	model_compare(md, m, 0, NM);
	while (extmap_next(m, from, &pg, &s)) {
		while (i < NM && !md->s[i])
			i++;
		EXPECT(i < NM && pg == model_pg(md, i) && s == md->s[i], "seed %llu: next gave page %llu",
		       (unsigned long long)md->seed, (unsigned long long)pg);
		from = pg + 1;
		i++;
	}
	while (i < NM && !md->s[i])
		i++;
	EXPECT(i == NM, "seed %llu: next missed page %llu", (unsigned long long)md->seed,
	       (unsigned long long)model_pg(md, i));

	/* next_hole from every model page, and from the page after it (a hole unless a model page). */
	for (unsigned j = 0, k = 0; j < NM; j++) {
		uint64_t want, got = extmap_next_hole(m, model_pg(md, j));
		if (k < j)
			k = j;
		while (k < NM && md->s[k] && model_adjacent(md, k + 1))
			k++;
		want = !md->s[j] ? model_pg(md, j) : md->s[k] ? model_pg(md, k) + 1 : model_pg(md, k);
		EXPECT(got == want, "seed %llu: next_hole(%llu) = %llu, want %llu", (unsigned long long)md->seed,
		       (unsigned long long)model_pg(md, j), (unsigned long long)got, (unsigned long long)want);
		if (md->s[j] && !model_adjacent(md, j + 1))
			EXPECT(extmap_next_hole(m, model_pg(md, j) + 1) == model_pg(md, j) + 1,
			       "seed %llu: next_hole after page %llu", (unsigned long long)md->seed,
			       (unsigned long long)model_pg(md, j));
	}

	for (i = 0; i < NM; i++) {
		extslot c = md->s[i];
		bool cont = false;
		if (!c) {
			prev = EXT_NONE;
			continue;
		}
		if (prev && model_adjacent(md, i) &&
		    (extslot_kind(prev) == EXT_DATA || extslot_kind(prev) == EXT_ZERO)) {
			uint64_t end = extslot_addr(prev) + (extslot_kind(prev) == EXT_DATA ? DATA_U : ZERO_U);
			if (extslot_kind(c) == EXT_DATA)
				cont = extslot_addr(c) == end;
			else if (extslot_kind(c) == EXT_ZERO)
				cont = extslot_addr(c) == end ||
				       (extslot_kind(prev) == EXT_ZERO && extslot_addr(c) == extslot_addr(prev));
			/* Or pages out of line back to back (split segments). */
			if (extslot_kind(prev) == EXT_DATA && extslot_kind(c) == EXT_DATA &&
			    extslot_addr(c) == extslot_addr(prev) + PAGE_U)
				cont = true;
		}
		extents += !cont;
		prev = c;
	}
	EXPECT(extmap_extents(m) == extents, "seed %llu: %llu extents, model %llu", (unsigned long long)md->seed,
	       (unsigned long long)extmap_extents(m), (unsigned long long)extents);
}

/* v, but no more than max (a function: SO_MIN would draw v twice). */
static unsigned at_most(uint64_t v, unsigned max)
{
	return v < max ? (unsigned)v : max;
}

static extslot random_slot(struct tu_rng *rng)
{
	return extslot_make((enum ext_kind)(1 + tu_rng_below(rng, 3)), tu_rng_below(rng, 1ull << 44));
}

/* Slots of records written back to back: data, with zero pages (some sharing a record) and fill pages. */
static void gen_sequential(struct tu_rng *rng, struct log *l, unsigned n, extslot *s)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned dice = (unsigned)tu_rng_below(rng, 100);
		if (dice < 4)
			s[i] = log_zero(l);
		else if (dice < 8 && i > 0 && extslot_kind(s[i - 1]) == EXT_ZERO)
			s[i] = s[i - 1];
		else if (dice < 9)
			s[i] = log_fill(l);
		else
			s[i] = log_data(l);
	}
}

/* Slots of one mixed set operation over model pages [lo, lo+n). */
static void gen_mixed(struct model *md, struct tu_rng *rng, unsigned lo, unsigned n, extslot *s)
{
	unsigned style = (unsigned)tu_rng_below(rng, 8);
	if (style >= 4) {
		gen_sequential(rng, &md->l, n, s);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned dice = (unsigned)tu_rng_below(rng, 100);
		if (style == 0) /* holes mixed in */
			s[i] = dice < 40 ? EXT_NONE : dice < 70 ? random_slot(rng) : log_data(&md->l);
		else if (style == 1) /* the current slots again: changes nothing */
			s[i] = md->s[lo + i];
		else if (style == 2)
			s[i] = random_slot(rng);
		else /* only holes: unmaps through extmap_set */
			s[i] = EXT_NONE;
	}
}

struct expect {
	unsigned n;
	uint64_t pg[NM];
	extslot old[NM];
};

static void expect_cb(const struct model *md, struct expect *e, unsigned i, extslot old, extslot nw)
{
	if (old && old != nw) {
		e->pg[e->n] = model_pg(md, i);
		e->old[e->n++] = old;
	}
}

static void compare_cb(const struct model *md, const struct expect *e, const struct released *r)
{
	EXPECT(r->n == e->n, "seed %llu: %zu callbacks, expected %u", (unsigned long long)md->seed, r->n, e->n);
	for (unsigned k = 0; k < e->n; k++)
		EXPECT(r->pg[k] == e->pg[k] && r->old[k] == e->old[k],
		       "seed %llu: callback %u reported page %llu old %#llx, expected page %llu old %#llx",
		       (unsigned long long)md->seed, k, (unsigned long long)r->pg[k], (unsigned long long)r->old[k],
		       (unsigned long long)e->pg[k], (unsigned long long)e->old[k]);
}

static void model_clear(struct model *md, struct extmap *m, struct tu_rng *rng, bool enomem, unsigned lo, unsigned whi,
                        struct expect *e, struct released *r)
{
	bool huge = tu_rng_below(rng, 10) == 0, far = lo >= W0 && lo < W0 + WF;
	unsigned hi = huge  ? NM
	              : far ? at_most(lo + 1 + tu_rng_below(rng, 4), whi)
	                    : at_most(lo + 1 + tu_rng_below(rng, 600), whi);
	uint64_t pg = model_pg(md, lo), npages = huge ? UINT64_MAX - pg : model_pg(md, hi - 1) + 1 - pg;
	uint64_t mem = extmap_mem(m);

	for (unsigned i = lo; i < hi; i++) {
		expect_cb(md, e, i, md->s[i], EXT_NONE);
		md->s[i] = EXT_NONE;
	}
	if (enomem)
		extmap_inject_enomem(0); /* clearing must not need memory */
	extmap_clear(m, pg, npages, released_cb, r);
	extmap_inject_enomem(-1);
	EXPECT(extmap_mem(m) <= mem, "seed %llu: clearing allocated", (unsigned long long)md->seed);
	compare_cb(md, e, r);
	model_compare(md, m, lo, hi);
}

/*
 * One random operation on map and model. With enomem, allocations may fail:
 * then every page of the range must hold its old or its new slot, and the
 * callbacks must name exactly the pages that changed.
 */
static int model_step(struct model *md, struct extmap *m, struct tu_rng *rng, bool enomem, struct expect *e,
                      struct released *r)
{
	static extslot s[NM];
	unsigned op = (unsigned)tu_rng_below(rng, 100), win = (unsigned)tu_rng_below(rng, 8), wlo, whi, lo, n;
	int err;

	wlo = win < 4 ? 0 : win < 6 ? W0 : W0 + WF;
	whi = win < 4 ? W0 : win < 6 ? W0 + WF : NM;
	lo = wlo + (unsigned)tu_rng_below(rng, whi - wlo);
	if (wlo == W0) /* far pages are not neighbours: one page at a time */
		whi = lo + 1;
	e->n = 0;
	r->n = 0;
	if (op < 20) {
		model_clear(md, m, rng, enomem, lo, win >= 4 && win < 6 ? W0 + WF : whi, e, r);
		return 0;
	}
	if (op < 55) {
		/* A sequential write, often continuing the previous one. */
		if (model_adjacent(md, md->last_end) && tu_rng_below(rng, 2)) {
			lo = md->last_end;
			whi = lo < W0 ? W0 : lo < W0 + WF ? lo + 1 : NM;
		} else {
			md->seq.head += tu_rng_below(rng, 5000);
		}
		n = at_most(1 + tu_rng_below(rng, tu_rng_below(rng, 8) ? 100 : 1500), whi - lo);
		md->seq.split = tu_rng_below(rng, 2); /* either layout, switching between writes */
		gen_sequential(rng, &md->seq, n, s);
		md->last_end = lo + n;
	} else if (op < 75) {
		/* One random page. */
		n = 1;
		s[0] = tu_rng_below(rng, 10) == 0 ? EXT_NONE
		       : tu_rng_below(rng, 4)     ? random_slot(rng)
		                                  : log_data(&md->l);
	} else if (op < 85) {
		/* The page next to a mapped one, in a record that continues it or that it continues. */
		unsigned k = lo;
		while (k < NM && !md->s[k])
			k++;
		n = 1;
		if (k < NM && tu_rng_below(rng, 2) && model_adjacent(md, k + 1)) {
			uint64_t stride = tu_rng_below(rng, 2) ? DATA_U : PAGE_U;
			uint64_t end = extslot_addr(md->s[k]) + (extslot_kind(md->s[k]) == EXT_DATA ? stride : ZERO_U);
			lo = k + 1;
			s[0] = tu_rng_below(rng, 4) ? D(end) : Z(end);
		} else if (k < NM && model_adjacent(md, k) && extslot_addr(md->s[k]) >= DATA_U) {
			lo = k - 1;
			s[0] = D(extslot_addr(md->s[k]) - (tu_rng_below(rng, 2) ? DATA_U : PAGE_U));
		} else {
			s[0] = random_slot(rng);
		}
	} else {
		n = at_most(1 + tu_rng_below(rng, 200), whi - lo);
		gen_mixed(md, rng, lo, n, s);
	}
	if (enomem && tu_rng_below(rng, 3) == 0)
		extmap_inject_enomem((long)tu_rng_below(rng, 6));
	err = extmap_set(m, model_pg(md, lo), n, s, released_cb, r);
	extmap_inject_enomem(-1);
	EXPECT(err == 0 || (enomem && err == SWAPOBJ_ENOMEM), "seed %llu: extmap_set returned %d",
	       (unsigned long long)md->seed, err);
	for (unsigned i = 0; i < n; i++) {
		extslot now = err ? extmap_get(m, model_pg(md, lo + i)) : s[i], old = md->s[lo + i];
		EXPECT(now == old || now == s[i], "seed %llu: page %llu is neither old nor new",
		       (unsigned long long)md->seed, (unsigned long long)model_pg(md, lo + i));
		expect_cb(md, e, lo + i, old, now);
		md->s[lo + i] = now;
	}
	compare_cb(md, e, r);
	model_compare(md, m, lo > 64 ? lo - 64 : 0, SO_MIN(NM, lo + n + 64));
	return err;
}

/* Returns the number of set calls that failed with ENOMEM. */
static uint64_t model_run(uint64_t seed, uint64_t ops, bool enomem)
{
	struct model *md = malloc(sizeof(*md));
	struct expect *e = malloc(sizeof(*e));
	struct released r = {0};
	struct tu_rng rng;
	struct extmap m;
	uint64_t before = so_mem_used(SO_MEM_INDEX), failures = 0;

	ck_assert(md && e);
	tu_rng_init(&rng, seed);
	model_init(md, seed, &rng);
	extmap_init(&m);
	for (uint64_t k = 0; k < ops; k++) {
		int err = model_step(md, &m, &rng, enomem, e, &r);
		failures += err != 0;
		err = extmap_check(&m);
		EXPECT(err == 0, "seed %llu op %llu: %s", (unsigned long long)seed, (unsigned long long)k,
		       swapobj_errmsg());
		if (k % 97 == 0) {
			model_compare_all(md, &m);
			EXPECT(so_mem_used(SO_MEM_INDEX) - before == extmap_mem(&m), "seed %llu: mem counter",
			       (unsigned long long)seed);
		}
	}
	model_compare_all(md, &m);
	r.n = 0;
	extmap_destroy(&m, released_cb, &r);
	ck_assert_uint_eq(so_mem_used(SO_MEM_INDEX), before);
	for (size_t k = 0, i = 0; k < r.n; k++, i++) {
		while (i < NM && !md->s[i])
			i++;
		EXPECT(i < NM && r.pg[k] == model_pg(md, i) && r.old[k] == md->s[i],
		       "seed %llu: destroy reported page %llu", (unsigned long long)seed, (unsigned long long)r.pg[k]);
	}
	released_free(&r);
	free(e);
	free(md);
	return failures;
}

START_TEST(test_extmap__matches_a_plain_array_under_random_operations)
{
	uint64_t seed = tu_seed(20240601);
	for (uint64_t k = 0; k < 3; k++)
		model_run(seed + k, tu_scale(2500, 20), false);
}
END_TEST

START_TEST(test_extmap__out_of_memory_leaves_each_page_old_or_new)
{
	uint64_t seed = tu_seed(31337), failures = model_run(seed, tu_scale(3000, 20), true);
	printf("extmap: %llu extmap_set calls failed with ENOMEM, each left a valid map\n",
	       (unsigned long long)failures);
	ck_assert_uint_gt(failures, 50);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	Suite *s = suite_create("extmap");
	const struct tu_case_opts opts_extmap = {.timeout = 120};
	tu_add(s, test_extmap__empty_map_allocates_nothing, &opts_extmap);
	tu_add(s, test_extmap__set_get_clear_roundtrip, &opts_extmap);
	tu_add(s, test_extmap__callbacks_report_exactly_the_replaced_slots, &opts_extmap);
	tu_add(s, test_extmap__sequential_writes_form_runs, &opts_extmap);
	tu_add(s, test_extmap__runs_extend_across_set_calls, &opts_extmap);
	tu_add(s, test_extmap__zero_pages_join_runs_as_single_and_shared_records, &opts_extmap);
	tu_add(s, test_extmap__fill_pages_break_runs, &opts_extmap);
	tu_add(s, test_extmap__clearing_inside_a_run_keeps_the_other_pages, &opts_extmap);
	tu_add(s, test_extmap__overwriting_one_page_of_a_run_changes_only_that_page, &opts_extmap);
	tu_add(s, test_extmap__extents_follow_the_run_rule, &opts_extmap);
	tu_add(s, test_extmap__chunk_rewritten_sequentially_keeps_its_block, &opts_extmap);
	tu_add(s, test_extmap__packed_fields_hold_any_kind_and_address, &opts_extmap);
	tu_add(s, test_extmap__overwrites_allocate_nothing_in_steady_state, &opts_extmap);
	tu_add(s, test_extmap__first_writes_allocate_on_few_calls, &opts_extmap);
	tu_add(s, test_extmap__holes_written_through_set_free_empty_chunks, &opts_extmap);
	tu_add(s, test_extmap__huge_sparse_offsets_work, &opts_extmap);
	tu_add(s, test_extmap__clear_with_huge_npages_truncates, &opts_extmap);
	tu_add(s, test_extmap__next_skips_empty_ranges, &opts_extmap);
	tu_add(s, test_extmap__next_hole_skips_mapped_runs, &opts_extmap);
	tu_add(s, test_extmap__sequential_pages_cost_under_one_byte_each, &opts_extmap);
	tu_add(s, test_extmap__random_dense_pages_cost_under_4_bytes_each_from_a_log, &opts_extmap);
	tu_add(s, test_extmap__a_million_pages_cost, &opts_extmap);
	tu_add(s, test_extmap__sparse_pages_cost_under_24_bytes_each_plus_64, &opts_extmap);
	tu_add(s, test_extmap__memory_returns_to_zero_after_destroy, &opts_extmap);
	tu_add(s, test_extmap__failed_allocation_changes_nothing, &opts_extmap);
	tu_add(s, test_extmap__matches_a_plain_array_under_random_operations, &opts_extmap);
	tu_add(s, test_extmap__out_of_memory_leaves_each_page_old_or_new, &opts_extmap);
	return tu_run(s, argc, argv);
}
