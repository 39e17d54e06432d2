/*
 * test_seek.c - swapobj_obj_next_data: finding data and holes from the
 * index alone (what lseek SEEK_DATA / SEEK_HOLE are built on).
 *
 * Every case compares the call, at every interesting offset, with a plain
 * array saying which pages are mapped, so an answer off by a page, below
 * off, or past EOF fails.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swapobj.h"
#include "testutil.h"

#define PG 4096u
#define NPG 64u /* pages the model tracks; the objects here stay below */

/* What the object should look like: which pages are mapped, and its size. */
struct model {
	bool mapped[NPG];
	uint64_t size;
};

enum pgkind { P_DATA, P_ZERO, P_FILL };

static void put(swapobj_obj *o, struct model *m, uint64_t pg, enum pgkind k, size_t len)
{
	uint8_t page[PG];
	if (k == P_DATA)
		tu_fill_page(page, 7, pg, 1);
	else if (k == P_ZERO)
		memset(page, 0, PG);
	else
		for (unsigned i = 0; i < PG / 8; i++)
			memcpy(page + 8 * i, &(uint64_t){0x0123456789abcdefull}, 8);
	ck_assert_int_eq(swapobj_obj_write(o, page, len, pg * PG), (int64_t)len);
	m->mapped[pg] = true;
	if (pg * PG + len > m->size)
		m->size = pg * PG + len;
}

static int64_t want_of(const struct model *m, uint64_t off, int hole)
{
	if (off >= m->size)
		return SWAPOBJ_ENOENT;
	for (uint64_t pg = off / PG; pg * PG < m->size; pg++)
		if (m->mapped[pg] != !!hole)
			return (int64_t)(pg * PG > off ? pg * PG : off);
	return hole ? (int64_t)m->size : SWAPOBJ_ENOENT;
}

static void expect_at(swapobj_obj *o, const struct model *m, uint64_t off)
{
	for (int hole = 0; hole < 2; hole++) {
		int64_t got = swapobj_obj_next_data(o, off, hole), want = want_of(m, off, hole);
		ck_assert_msg(got == want, "%s from %llu: got %lld want %lld (%s)", hole ? "hole" : "data",
		              (unsigned long long)off, (long long)got, (long long)want,
		              got < 0 ? swapobj_errmsg() : "");
	}
}

/* Every page start, second byte and last byte, the size's neighbours, and far beyond. */
static void expect_all(swapobj_obj *o, const struct model *m)
{
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
	ck_assert_uint_eq(os.size, m->size);
	for (uint64_t pg = 0; pg < NPG; pg++) {
		expect_at(o, m, pg * PG);
		expect_at(o, m, pg * PG + 1);
		expect_at(o, m, pg * PG + PG - 1);
	}
	if (m->size) {
		expect_at(o, m, m->size - 1);
		expect_at(o, m, m->size);
	}
	expect_at(o, m, m->size + 1);
	expect_at(o, m, UINT64_MAX);
	expect_at(o, m, SWAPOBJ_MAX_OBJECT_SIZE);
}

START_TEST(test_seek__data_zero_and_fill_pages_are_data_holes_are_not)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0);
	struct model m = {{false}, 0};
	struct swapobj_obj_stat os;

	expect_all(o, &m); /* empty: ENOENT everywhere */
	put(o, &m, 0, P_DATA, PG);
	put(o, &m, 1, P_DATA, PG);
	put(o, &m, 3, P_ZERO, PG);
	put(o, &m, 4, P_ZERO, PG);
	put(o, &m, 10, P_FILL, PG);
	put(o, &m, 11, P_DATA, PG);
	put(o, &m, 12, P_ZERO, PG);
	put(o, &m, 20, P_DATA, 100); /* a partial last page: EOF inside it */
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
	ck_assert_uint_eq(os.zero_pages, 3);
	ck_assert_uint_eq(os.fill_pages, 1);
	expect_all(o, &m);
	/* A few answers spelled out, so that the model itself is checked too. */
	ck_assert_int_eq(swapobj_obj_next_data(o, 2 * PG + 5, SWAPOBJ_SEEK_DATA), 3 * PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 3 * PG + 5, SWAPOBJ_SEEK_DATA), 3 * PG + 5);
	ck_assert_int_eq(swapobj_obj_next_data(o, 3 * PG + 5, SWAPOBJ_SEEK_HOLE), 5 * PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 13 * PG, SWAPOBJ_SEEK_DATA), 20 * PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 20 * PG + 50, SWAPOBJ_SEEK_HOLE), 20 * PG + 100);
	ck_assert_int_eq(swapobj_obj_next_data(o, 20 * PG + 100, SWAPOBJ_SEEK_DATA), SWAPOBJ_ENOENT);

	/* Grown by truncate: a hole up to the new EOF, no data there. */
	ck_assert_int_eq(swapobj_obj_truncate(o, 40 * PG + 7), 0);
	m.size = 40 * PG + 7;
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_next_data(o, 21 * PG, SWAPOBJ_SEEK_DATA), SWAPOBJ_ENOENT);
	ck_assert_int_eq(swapobj_obj_next_data(o, 20 * PG, SWAPOBJ_SEEK_HOLE),
	                 21 * PG); /* the old EOF page is data now */

	/* The index is rebuilt from the log on reopen: same answers. */
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), 0);
	o = tu_obj_named(st, "f", 0);
	expect_all(o, &m);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_seek__punch_and_truncate_move_the_answers)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0);
	struct model m = {{false}, 0};

	for (uint64_t pg = 0; pg < 32; pg++)
		put(o, &m, pg, pg % 5 == 4 ? P_ZERO : P_DATA, PG);
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), 32 * PG); /* data to EOF: the hole at EOF */

	/* Whole pages punched become holes; partly punched pages stay data (zeroed in place). */
	ck_assert_int_eq(swapobj_obj_punch(o, 5 * PG, 3 * PG), 0);
	m.mapped[5] = m.mapped[6] = m.mapped[7] = false;
	ck_assert_int_eq(swapobj_obj_punch(o, 10 * PG + 1, 2 * PG), 0); /* page 11 whole; 10 and 12 partly */
	m.mapped[11] = false;
	ck_assert_int_eq(swapobj_obj_punch(o, 20 * PG + 8, 100), 0); /* inside one page */
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_next_data(o, 5 * PG + 9, SWAPOBJ_SEEK_DATA), 8 * PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), 5 * PG);

	/* Shrunk mid-page: the last page stays data, EOF moves, offsets past it are gone. */
	ck_assert_int_eq(swapobj_obj_truncate(o, 25 * PG + 10), 0);
	for (uint64_t pg = 26; pg < 32; pg++)
		m.mapped[pg] = false;
	m.size = 25 * PG + 10;
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_next_data(o, 25 * PG, SWAPOBJ_SEEK_HOLE), 25 * PG + 10);
	ck_assert_int_eq(swapobj_obj_next_data(o, 25 * PG + 10, SWAPOBJ_SEEK_DATA), SWAPOBJ_ENOENT);
	ck_assert_int_eq(swapobj_obj_next_data(o, 25 * PG + 10, SWAPOBJ_SEEK_HOLE), SWAPOBJ_ENOENT);

	/* Punching everything: no data at all, the whole object is one hole. */
	ck_assert_int_eq(swapobj_obj_punch(o, 0, m.size), 0);
	for (uint64_t pg = 0; pg < NPG; pg++)
		m.mapped[pg] = false;
	m.mapped[25] = true; /* the partial last page is zeroed, not dropped */
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_truncate(o, 25 * PG), 0);
	m.mapped[25] = false;
	m.size = 25 * PG;
	expect_all(o, &m);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_DATA), SWAPOBJ_ENOENT);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), 0);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_seek__huge_sparse_objects_answer_without_scanning)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *o = tu_obj_named(st, "f", 0);
	const uint64_t far = SWAPOBJ_MAX_OBJECT_SIZE - 2 * PG;
	uint8_t *buf = malloc(4u << 20);

	ck_assert_ptr_nonnull(buf);
	for (unsigned i = 0; i < 1024; i++)
		tu_fill_page(buf + (size_t)i * PG, 3, i, 1);
	/* 4 MiB of data, then a hole of nearly 2^50 bytes, then one page before the last. */
	ck_assert_int_eq(swapobj_obj_write(o, buf, 4u << 20, 0), 4 << 20);
	ck_assert_int_eq(swapobj_obj_write(o, buf, PG, far), PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), 4 << 20);
	ck_assert_int_eq(swapobj_obj_next_data(o, 12345, SWAPOBJ_SEEK_HOLE), 4 << 20);
	ck_assert_int_eq(swapobj_obj_next_data(o, 4 << 20, SWAPOBJ_SEEK_DATA), (int64_t)far);
	ck_assert_int_eq(swapobj_obj_next_data(o, far + 5, SWAPOBJ_SEEK_HOLE), (int64_t)(far + PG));
	ck_assert_int_eq(swapobj_obj_next_data(o, far + PG - 1, SWAPOBJ_SEEK_DATA), (int64_t)(far + PG - 1));
	ck_assert_int_eq(swapobj_obj_next_data(o, far + PG, SWAPOBJ_SEEK_DATA), SWAPOBJ_ENOENT); /* at EOF */
	ck_assert_int_eq(swapobj_obj_next_data(o, far + PG, SWAPOBJ_SEEK_HOLE), SWAPOBJ_ENOENT);
	/* Data right up to the largest size: the hole is at EOF. */
	ck_assert_int_eq(swapobj_obj_write(o, buf, PG, far + PG), PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, far, SWAPOBJ_SEEK_HOLE), (int64_t)SWAPOBJ_MAX_OBJECT_SIZE);
	ck_assert_int_eq(swapobj_obj_next_data(o, SWAPOBJ_MAX_OBJECT_SIZE - 1, SWAPOBJ_SEEK_DATA),
	                 (int64_t)SWAPOBJ_MAX_OBJECT_SIZE - 1);
	ck_assert_int_eq(swapobj_obj_next_data(o, SWAPOBJ_MAX_OBJECT_SIZE, SWAPOBJ_SEEK_HOLE), SWAPOBJ_ENOENT);
	free(buf);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_seek__bad_handles_directories_and_stale_objects_fail)
{
	swapobj_store *st = tu_mkstore(64u << 20, 1u << 20, NULL);
	swapobj_obj *d = tu_obj_named(st, "d", SWAPOBJ_O_DIR), *o = tu_obj_named(st, "f", 0);
	uint8_t page[PG];

	ck_assert_int_eq(swapobj_obj_next_data(NULL, 0, SWAPOBJ_SEEK_DATA), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_obj_next_data(d, 0, SWAPOBJ_SEEK_DATA), SWAPOBJ_EISDIR);
	ck_assert_int_eq(swapobj_obj_next_data(d, 0, SWAPOBJ_SEEK_HOLE), SWAPOBJ_EISDIR);
	tu_fill_page(page, 1, 0, 1);
	ck_assert_int_eq(swapobj_obj_write(o, page, PG, 0), PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_DATA), 0);
	ck_assert_int_eq(swapobj_obj_delete(o), 0);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_DATA), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), SWAPOBJ_ESTALE);
	swapobj_obj_close(o);
	swapobj_obj_close(d);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("seek");
	const struct tu_case_opts opts_seek = {.setup = tu_store_setup, .teardown = tu_store_teardown, .timeout = 60};
	tu_add(s, test_seek__data_zero_and_fill_pages_are_data_holes_are_not, &opts_seek);
	tu_add(s, test_seek__punch_and_truncate_move_the_answers, &opts_seek);
	tu_add(s, test_seek__huge_sparse_objects_answer_without_scanning, &opts_seek);
	tu_add(s, test_seek__bad_handles_directories_and_stale_objects_fail, &opts_seek);
	return tu_run(s, argc, argv);
}
