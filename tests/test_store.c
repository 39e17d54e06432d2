/*
 * test_store.c - the public API, behaviour by behaviour: formatting and
 * opening, keys and objects, data versions, reads and writes, zero and fill
 * pages, punch and truncate, delete, prefix invalidation, listing,
 * persistence across reopen, a crashed writer process, ENOSPC, the
 * cleaner, and on-disk corruption.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "swapobj.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u

static swapobj_obj *create(swapobj_store *st, uint64_t owner, uint64_t vma)
{
	swapobj_key k;
	swapobj_obj *o;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	swapobj_key_anon(&k, owner, vma);
	ck_assert_msg(swapobj_obj_open(&o, st, &k, &oo) == 0, "create: %s", swapobj_errmsg());
	return o;
}

static swapobj_obj *openk(swapobj_store *st, uint64_t owner, uint64_t vma, int *err)
{
	swapobj_key k;
	swapobj_obj *o = NULL;
	swapobj_key_anon(&k, owner, vma);
	*err = swapobj_obj_open(&o, st, &k, NULL);
	return o;
}

static void put_page(swapobj_obj *o, uint64_t pg, uint64_t tag, uint64_t ver)
{
	uint8_t p[PG];
	tu_fill_page(p, tag, pg, ver);
	ck_assert_int_eq(swapobj_obj_write(o, p, PG, pg * PG), PG);
}

static void check_page(swapobj_obj *o, uint64_t pg, uint64_t tag, uint64_t ver)
{
	uint8_t p[PG], q[PG];
	tu_fill_page(p, tag, pg, ver);
	int64_t n = swapobj_obj_read(o, q, PG, pg * PG, 0);
	ck_assert_msg(n == PG, "read of page %llu returned %lld: %s", (unsigned long long)pg, (long long)n,
	              swapobj_errmsg());
	ck_assert_msg(memcmp(p, q, PG) == 0, "page %llu differs", (unsigned long long)pg);
}

/* ---------------------------------------------------------------- */

START_TEST(test_store__format_rejects_bad_geometry)
{
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = 4 << 20;
	ck_assert_int_eq(swapobj_format(tu_paths, 1, &fo), SWAPOBJ_EINVAL); /* too small */
	fo.size = 64 << 20;
	fo.segment_size = 3 << 20;
	ck_assert_int_eq(swapobj_format(tu_paths, 1, &fo), SWAPOBJ_EINVAL); /* not a power of two */
	ck_assert_int_eq(swapobj_format(NULL, 1, &fo), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_format(tu_paths, 0, &fo), SWAPOBJ_EINVAL);
	fo.version = 99;
	ck_assert_int_eq(swapobj_format(tu_paths, 1, &fo), SWAPOBJ_EINVAL);
}
END_TEST

START_TEST(test_store__open_rejects_non_store_and_truncated_device)
{
	swapobj_store *st;
	int fd = open(tu_img, O_CREAT | O_RDWR, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 32 << 20), 0);
	close(fd);
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), SWAPOBJ_EFORMAT);
	ck_assert_ptr_nonnull(strstr(swapobj_errmsg(), "magic"));
	st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_store_close(st);
	ck_assert_int_eq(truncate(tu_img, 40 << 20), 0);
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), SWAPOBJ_EFORMAT);
	ck_assert_ptr_nonnull(strstr(swapobj_errmsg(), "truncated"));
	const char *missing[1] = {"/nonexistent/dir/x.img"};
	ck_assert_int_eq(swapobj_store_open(&st, missing, 1, NULL), SWAPOBJ_ENOENT);
}
END_TEST

START_TEST(test_store__second_opener_gets_ebusy)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL), *st2;
	ck_assert_int_eq(swapobj_store_open(&st2, tu_paths, 1, NULL), SWAPOBJ_EBUSY);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__superblock_copy_rescues_damaged_primary)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	put_page(o, 0, 1, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
	int fd = open(tu_img, O_RDWR);
	ck_assert_int_eq(pwrite(fd, "XXXXXXXX", 8, 40), 8);
	close(fd);
	int err;
	st = tu_reopen(NULL, NULL);
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	check_page(o, 0, 1, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__keys_validate_lengths)
{
	swapobj_key k;
	uint8_t big[300] = {0};
	swapobj_key_init(&k);
	ck_assert_int_eq(swapobj_key_push(&k, big, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_key_push(&k, big, 256), SWAPOBJ_ENAMETOOLONG);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(swapobj_key_push(&k, big, 255), 0);
	ck_assert_int_eq(swapobj_key_push(&k, big, 5), SWAPOBJ_ENAMETOOLONG); /* 1020 + 5 > 1024 */
	swapobj_key_init(&k);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(swapobj_key_push(&k, "a", 1), 0);
	ck_assert_int_eq(swapobj_key_push(&k, "a", 1), SWAPOBJ_ENAMETOOLONG);
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o;
	swapobj_key_init(&k);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), SWAPOBJ_EINVAL); /* no components */
	k.ncomp = 99;
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), SWAPOBJ_EINVAL); /* garbage key */
	ck_assert_int_eq(swapobj_obj_open(&o, st, NULL, NULL), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_obj_read(NULL, big, 1, 0, 0), SWAPOBJ_EINVAL);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__create_open_and_namespace_conflicts)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key k, k2;
	swapobj_obj *o, *o2;
	int err;
	o = openk(st, 7, 1, &err);
	ck_assert_int_eq(err, SWAPOBJ_ENOENT);
	o = create(st, 7, 1);
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_EXCL;
	swapobj_key_anon(&k, 7, 1);
	ck_assert_int_eq(swapobj_obj_open(&o2, st, &k, &oo), SWAPOBJ_EEXIST);
	/* anon/7/1 is an object: anon/7/1/x cannot exist, anon/7 cannot be an object */
	k2 = k;
	ck_assert_int_eq(swapobj_key_push(&k2, "x", 1), 0);
	oo.flags = SWAPOBJ_O_CREATE;
	ck_assert_int_eq(swapobj_obj_open(&o2, st, &k2, &oo), SWAPOBJ_ENOTDIR);
	swapobj_key_prefix(&k2, &k, 2);
	ck_assert_int_eq(swapobj_obj_open(&o2, st, &k2, &oo), SWAPOBJ_EISDIR);
	/* binary components with NUL, '/', 0xff */
	swapobj_key_init(&k2);
	ck_assert_int_eq(swapobj_key_push(&k2, "a/b\0\xff", 5), 0);
	ck_assert_int_eq(swapobj_obj_open(&o2, st, &k2, &oo), 0);
	swapobj_obj_close(o2);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__write_read_round_trip_with_partial_pages_and_holes)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	uint8_t buf[5 * PG], out[5 * PG];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* unaligned write spanning pages, beyond a hole */
	ck_assert_int_eq(swapobj_obj_write(o, buf, 3 * PG + 100, 10 * PG + 50), 3 * PG + 100);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
	ck_assert_uint_eq(os.size, 13 * PG + 150);
	ck_assert_uint_eq(os.pages, 4);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, 0, 0), PG); /* hole */
	for (unsigned i = 0; i < PG; i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, 3 * PG + 100, 10 * PG + 50, 0), 3 * PG + 100);
	ck_assert_int_eq(memcmp(out, buf, 3 * PG + 100), 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, 10, 10 * PG, 0), 10); /* bytes before the write in a written page */
	for (unsigned i = 0; i < 10; i++)
		ck_assert_uint_eq(out[i], 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, 5 * PG, 12 * PG, 0), PG + 150); /* short at EOF */
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, 20 * PG, 0), 0);            /* past EOF */
	/* overwrite the middle of a page */
	ck_assert_int_eq(swapobj_obj_write(o, "hello", 5, 11 * PG + 7), 5);
	ck_assert_int_eq(swapobj_obj_read(o, out, 5, 11 * PG + 7, 0), 5);
	ck_assert_int_eq(memcmp(out, "hello", 5), 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, 1, 11 * PG + 6, 0), 1);
	ck_assert_uint_eq(out[0], buf[PG - 50 + 6]);
	ck_assert_int_eq(swapobj_obj_write(o, buf, 1, SWAPOBJ_MAX_OBJECT_SIZE), SWAPOBJ_EFBIG);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__zero_and_fill_pages_take_no_data_space)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	uint8_t z[8 * PG] = {0}, f[PG], out[PG];
	for (unsigned i = 0; i < PG; i += 8)
		memcpy(f + i, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ck_assert_int_eq(swapobj_obj_write(o, z, sizeof(z), 0), sizeof(z));
	ck_assert_int_eq(swapobj_obj_write(o, f, PG, 8 * PG), PG);
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.pages, 9);
	ck_assert_uint_eq(os.zero_pages, 8);
	ck_assert_uint_eq(os.fill_pages, 1);
	ck_assert_uint_lt(os.stored_bytes, 512); /* create record + one 80-byte fill record */
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, 8 * PG, 0), PG);
	ck_assert_int_eq(memcmp(out, f, PG), 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, 3 * PG, 0), PG);
	for (unsigned i = 0; i < PG; i++)
		ck_assert_uint_eq(out[i], 0);
	swapobj_obj_close(o);
	st = tu_reopen(st, NULL);
	int err;
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.zero_pages, 8);
	ck_assert_uint_eq(os.fill_pages, 1);
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, 8 * PG, 0), PG);
	ck_assert_int_eq(memcmp(out, f, PG), 0);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__punch_and_truncate_drop_data_and_persist)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	uint8_t out[PG];
	for (uint64_t p = 0; p < 32; p++)
		put_page(o, p, 5, 1);
	ck_assert_int_eq(swapobj_obj_punch(o, 4 * PG + 100, 8 * PG), 0); /* pages 5..11 whole, 4 and 12 partly */
	ck_assert_int_eq(swapobj_obj_truncate(o, 20 * PG + 10), 0);
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.size, 20 * PG + 10);
	ck_assert_uint_eq(os.pages, 21 - 7);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(swapobj_obj_read(o, out, PG, 4 * PG, 0), PG);
		uint8_t want[PG];
		tu_fill_page(want, 5, 4, 1);
		ck_assert_int_eq(memcmp(out, want, 100), 0);
		for (unsigned i = 100; i < PG; i++)
			ck_assert_uint_eq(out[i], 0);
		ck_assert_int_eq(swapobj_obj_read(o, out, PG, 8 * PG, 0), PG);
		for (unsigned i = 0; i < PG; i++)
			ck_assert_uint_eq(out[i], 0);
		check_page(o, 13, 5, 1);
		ck_assert_int_eq(swapobj_obj_read(o, out, PG, 20 * PG, 0), 10);
		/* grow again: the tail past the old size reads as zeros */
		if (round == 0) {
			ck_assert_int_eq(swapobj_obj_truncate(o, 22 * PG), 0);
			ck_assert_int_eq(swapobj_obj_read(o, out, PG, 20 * PG, 0), PG);
			for (unsigned i = 10; i < PG; i++)
				ck_assert_uint_eq(out[i], 0);
			ck_assert_int_eq(swapobj_obj_truncate(o, 20 * PG + 10), 0);
			swapobj_obj_close(o);
			st = tu_reopen(st, NULL);
			int err;
			o = openk(st, 1, 1, &err);
			ck_assert_int_eq(err, 0);
			swapobj_obj_stat(&os, sizeof(os), o);
			ck_assert_uint_eq(os.size, 20 * PG + 10);
		}
	}
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__newer_version_replaces_and_older_is_stale)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key k;
	swapobj_obj *v1, *v2, *x;
	uint8_t out[PG];
	swapobj_key_fscache(&k, "vol", 3, "cookie", 6);
	oo.flags = SWAPOBJ_O_CREATE;
	oo.cls = SWAPOBJ_CLASS_CACHE;
	oo.data_version = 5;
	ck_assert_int_eq(swapobj_obj_open(&v1, st, &k, &oo), 0);
	put_page(v1, 0, 9, 5);
	oo.data_version = 4;
	ck_assert_int_eq(swapobj_obj_open(&x, st, &k, &oo), SWAPOBJ_ESTALE);
	oo.data_version = 6;
	oo.flags = 0;
	ck_assert_int_eq(swapobj_obj_open(&x, st, &k, &oo), SWAPOBJ_ENOENT);
	oo.flags = SWAPOBJ_O_CREATE;
	ck_assert_int_eq(swapobj_obj_open(&v2, st, &k, &oo), 0);
	ck_assert_int_eq(swapobj_obj_read(v1, out, PG, 0, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_write(v1, out, PG, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_read(v2, out, PG, 0, 0), 0);
	put_page(v2, 1, 9, 6);
	swapobj_obj_close(v1);
	swapobj_obj_close(v2);
	st = tu_reopen(st, NULL);
	oo.flags = 0;
	oo.data_version = SWAPOBJ_VERSION_ANY;
	ck_assert_int_eq(swapobj_obj_open(&x, st, &k, &oo), 0);
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), x);
	ck_assert_uint_eq(os.data_version, 6);
	ck_assert_uint_eq(os.cls, SWAPOBJ_CLASS_CACHE);
	ck_assert_uint_eq(os.pages, 1);
	check_page(x, 1, 9, 6);
	swapobj_obj_close(x);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__delete_makes_handles_stale_and_frees_key)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1), *o2;
	int err;
	put_page(o, 0, 1, 1);
	o2 = openk(st, 1, 1, &err);
	ck_assert_int_eq(swapobj_obj_delete(o), 0);
	ck_assert_int_eq(swapobj_obj_read(o2, NULL, 0, 0, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_delete(o), SWAPOBJ_ESTALE);
	swapobj_obj_close(o);
	swapobj_obj_close(o2);
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, SWAPOBJ_ENOENT);
	o = create(st, 1, 1);
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.size, 0);
	swapobj_obj_close(o);
	st = tu_reopen(st, NULL);
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.pages, 0);
	swapobj_obj_close(o);
	swapobj_key k;
	swapobj_key_anon(&k, 1, 1);
	ck_assert_int_eq(swapobj_delete(st, &k), 0);
	ck_assert_int_eq(swapobj_delete(st, &k), SWAPOBJ_ENOENT);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__invalidate_prefix_drops_subtree_durably)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *a = create(st, 1, 1), *b = create(st, 1, 2), *c = create(st, 2, 1);
	swapobj_key k, pre;
	int err;
	put_page(a, 0, 1, 1);
	put_page(b, 0, 2, 1);
	put_page(c, 0, 3, 1);
	swapobj_key_anon(&k, 1, 1);
	swapobj_key_prefix(&pre, &k, 2);
	ck_assert_int_eq(swapobj_invalidate(st, &pre), 0);
	ck_assert_int_eq(swapobj_obj_read(a, NULL, 0, 0, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_write(b, "x", 1, 0), SWAPOBJ_ESTALE);
	check_page(c, 0, 3, 1);
	ck_assert_int_eq(swapobj_invalidate(st, &pre), SWAPOBJ_ENOENT);
	swapobj_obj_close(a);
	swapobj_obj_close(b);
	/* a new object under the invalidated prefix is a new object and survives */
	a = create(st, 1, 7);
	put_page(a, 0, 4, 1);
	swapobj_obj_close(a);
	swapobj_obj_close(c);
	st = tu_reopen(st, NULL);
	a = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, SWAPOBJ_ENOENT);
	a = openk(st, 1, 7, &err);
	ck_assert_int_eq(err, 0);
	check_page(a, 0, 4, 1);
	swapobj_obj_close(a);
	c = openk(st, 2, 1, &err);
	ck_assert_int_eq(err, 0);
	check_page(c, 0, 3, 1);
	swapobj_obj_close(c);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_eq(ss.objects, 2);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__invalidate_is_constant_time_in_object_count)
{
	swapobj_store *st = tu_mkstore(256 << 20, 8 << 20, NULL);
	const unsigned n = (unsigned)tu_scale(20000, 50);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	for (unsigned i = 0; i < n; i++) {
		swapobj_key k;
		swapobj_obj *o;
		swapobj_key_fscache(&k, "big-volume", 10, &i, sizeof(i));
		ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), 0);
		swapobj_obj_close(o);
	}
	swapobj_key pre;
	swapobj_key_init(&pre);
	swapobj_key_push(&pre, "fscache", 7);
	swapobj_key_push(&pre, "big-volume", 10);
	ck_assert_int_eq(swapobj_invalidate(st, &pre), 0);
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	ck_assert_int_eq(swapobj_list_next(&de, st, NULL, &cur), 0); /* the root is empty at once */
	st = tu_reopen(st, NULL);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_eq(ss.objects, 0);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__listing_returns_each_child_once)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	for (uint64_t v = 0; v < 50; v++)
		swapobj_obj_close(create(st, 3, v));
	swapobj_obj_close(create(st, 4, 0));
	swapobj_key k, pre;
	swapobj_key_anon(&k, 3, 0);
	swapobj_key_prefix(&pre, &k, 2);
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	int seen[50] = {0}, n = 0, rc;
	while ((rc = swapobj_list_next(&de, st, &pre, &cur)) == 1) {
		ck_assert_uint_eq(de.type, SWAPOBJ_DT_OBJECT);
		ck_assert_uint_eq(de.name_len, 8);
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = (v << 8) | de.name[i];
		if (v == 1000)
			continue; /* created during the listing: may or may not appear */
		ck_assert_uint_lt(v, 50);
		ck_assert_int_eq(seen[v]++, 0);
		if (n++ == 10) /* concurrent change mid-listing */
			swapobj_obj_close(create(st, 3, 1000));
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(n, 50);
	swapobj_key_prefix(&pre, &k, 1);
	memset(&cur, 0, sizeof(cur));
	ck_assert_int_eq(swapobj_list_next(&de, st, &pre, &cur), 1);
	ck_assert_uint_eq(de.type, SWAPOBJ_DT_PREFIX);
	ck_assert_int_eq(swapobj_list_next(&de, st, &k, &cur), SWAPOBJ_ENOTDIR);
	swapobj_key_anon(&k, 99, 0);
	swapobj_key_prefix(&pre, &k, 2);
	ck_assert_int_eq(swapobj_list_next(&de, st, &pre, &cur), SWAPOBJ_ENOENT);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__ephemeral_objects_do_not_survive_restart_but_pins_do)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key k;
	swapobj_obj *o;
	int err;
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_EPHEMERAL;
	swapobj_key_anon(&k, 1, 1);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), 0);
	put_page(o, 0, 1, 1);
	swapobj_obj_close(o);
	o = create(st, 1, 2);
	ck_assert_int_eq(swapobj_obj_set_pin(o, 1), 0);
	swapobj_obj_close(o);
	st = tu_reopen(st, NULL);
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, SWAPOBJ_ENOENT);
	o = openk(st, 1, 2, &err);
	ck_assert_int_eq(err, 0);
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), o);
	ck_assert_uint_eq(os.flags & SWAPOBJ_O_PIN, SWAPOBJ_O_PIN);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__readonly_open_refuses_writes)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	put_page(o, 0, 1, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
	struct swapobj_open_opts op = SWAPOBJ_OPEN_OPTS_INIT;
	op.flags = SWAPOBJ_OPEN_RDONLY;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &op), 0);
	int err;
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	check_page(o, 0, 1, 1);
	ck_assert_int_eq(swapobj_obj_write(o, "x", 1, 0), SWAPOBJ_EROFS);
	swapobj_obj_close(o);
	swapobj_key k;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	swapobj_key_anon(&k, 5, 5);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), SWAPOBJ_EROFS);
	swapobj_store_close(st);
}
END_TEST

/* A child process writes, syncs, writes more, and dies without closing. */
START_TEST(test_store__synced_data_survives_a_killed_writer)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_store_close(st);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		swapobj_store *s;
		if (swapobj_store_open(&s, tu_paths, 1, NULL) < 0)
			_exit(2);
		swapobj_obj *o = create(s, 1, 1);
		for (uint64_t p = 0; p < 200; p++)
			put_page(o, p, 1, 1);
		if (swapobj_store_sync(s) < 0)
			_exit(3);
		for (uint64_t p = 0; p < 300; p++)
			put_page(o, p, 1, 2); /* unsynced: may or may not survive, page by page */
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	st = tu_reopen(NULL, NULL);
	int err;
	swapobj_obj *o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	uint8_t out[PG], v1[PG], v2[PG];
	for (uint64_t p = 0; p < 300; p++) {
		int64_t n = swapobj_obj_read(o, out, PG, p * PG, 0);
		tu_fill_page(v1, 1, p, 1);
		tu_fill_page(v2, 1, p, 2);
		if (p < 200) {
			ck_assert_int_eq(n, PG);
			ck_assert_msg(!memcmp(out, v1, PG) || !memcmp(out, v2, PG), "page %llu garbage",
			              (unsigned long long)p);
		} else if (n == PG) {
			int zero = 1;
			for (unsigned i = 0; i < PG; i++)
				zero &= out[i] == 0;
			ck_assert_msg(zero || !memcmp(out, v2, PG), "unsynced page %llu garbage",
			              (unsigned long long)p);
		}
	}
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__full_store_gives_enospc_and_recovers_after_delete)
{
	swapobj_store *st = tu_mkstore(24 << 20, 1 << 20, NULL); /* 23 segments */
	swapobj_obj *o = create(st, 1, 1);
	uint8_t p[PG];
	int64_t n = 0;
	uint64_t pg;
	for (pg = 0; pg < 100000; pg++) {
		tu_fill_page(p, 1, pg, 1);
		n = swapobj_obj_write(o, p, PG, pg * PG);
		if (n != PG)
			break;
	}
	ck_assert_int_eq(n, SWAPOBJ_ENOSPC);
	ck_assert_uint_gt(pg, 2000); /* most of the ~5000 pages of capacity were usable */
	/* the store is still consistent and usable: read back, then free space and write again */
	check_page(o, pg / 2, 1, 1);
	ck_assert_int_eq(swapobj_obj_delete(o), 0);
	swapobj_obj_close(o);
	/* Writes stop at the usable capacity, before the free segments run out: force the cleaning. */
	ck_assert_int_ge(swapobj_store_clean(st, 64), 1);
	o = create(st, 2, 2);
	for (uint64_t q = 0; q < 1000; q++)
		put_page(o, q, 2, 1);
	swapobj_obj_close(o);
	st = tu_reopen(st, NULL);
	int err;
	o = openk(st, 2, 2, &err);
	ck_assert_int_eq(err, 0);
	for (uint64_t q = 0; q < 1000; q += 97)
		check_page(o, q, 2, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__cleaner_reclaims_overwrites_many_times_capacity)
{
	swapobj_store *st = tu_mkstore(32 << 20, 1 << 20, NULL); /* 31 MiB of segments */
	swapobj_obj *o = create(st, 1, 1);
	const uint64_t npages = 2000; /* ~8.3 MiB live */
	struct tu_rng r;
	uint32_t *ver = calloc(npages, sizeof(*ver));
	tu_rng_init(&r, tu_seed(42));
	for (uint64_t p = 0; p < npages; p++)
		put_page(o, p, 1, ver[p] = 1);
	uint64_t rounds = tu_scale(20000, 10); /* ~80 MiB of overwrites: 2.5x capacity */
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t p = tu_rng_below(&r, npages);
		put_page(o, p, 1, ++ver[p]);
	}
	for (uint64_t p = 0; p < npages; p++)
		check_page(o, p, 1, ver[p]);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_gt(ss.segments_cleaned, 5);
	swapobj_obj_close(o);
	st = tu_reopen(st, NULL);
	int err;
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	for (uint64_t p = 0; p < npages; p++)
		check_page(o, p, 1, ver[p]);
	swapobj_obj_close(o);
	free(ver);
	swapobj_store_close(st);
}
END_TEST

/* Flip bytes inside a data record on disk: the read reports corruption, never wrong bytes. */
START_TEST(test_store__corrupt_record_reads_as_ecorrupt)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	uint8_t page[PG], out[PG];
	memset(page, 'Q', PG);
	memcpy(page, "MARKER-PAGE-0001", 16);
	put_page(o, 0, 1, 1);
	ck_assert_int_eq(swapobj_obj_write(o, page, PG, PG), PG);
	put_page(o, 2, 1, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
	tu_damage_after_marker("MARKER-PAGE-0001"); /* a byte of the page */
	st = tu_reopen(NULL, NULL);
	int err;
	o = openk(st, 1, 1, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(swapobj_obj_read(o, out, PG, PG, 0), SWAPOBJ_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(swapobj_errmsg(), "segment"));
	check_page(o, 0, 1, 1); /* neighbours unaffected */
	check_page(o, 2, 1, 1);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

START_TEST(test_store__result_structs_are_size_tagged_and_misuse_is_einval)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	swapobj_obj *o = create(st, 1, 1);
	put_page(o, 3, 1, 1);
	/* A caller built against a newer header (a bigger struct): the tail it alone knows comes back zeroed. */
	struct {
		struct swapobj_store_stat s;
		uint64_t newer[4];
	} big;
	memset(&big, 0xAB, sizeof(big));
	ck_assert_int_eq(swapobj_store_stat(&big.s, sizeof(big), st), 0);
	ck_assert_uint_eq(big.s.segment_size, 1 << 20);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(big.newer[i], 0);
	/* Smaller than the first released struct: refused, nothing written. */
	struct swapobj_store_stat ss;
	memset(&ss, 0xAB, sizeof(ss));
	ck_assert_int_eq(swapobj_store_stat(&ss, 16, st), SWAPOBJ_EINVAL);
	ck_assert_uint_eq(ss.capacity_bytes, 0xABABABABABABABABull);
	ck_assert_int_eq(swapobj_store_stat(NULL, sizeof(ss), st), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), NULL), SWAPOBJ_EINVAL);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
	ck_assert_uint_eq(os.size, 4 * PG);
	ck_assert_int_eq(swapobj_obj_stat(&os, 8, o), SWAPOBJ_EINVAL);
	/* What swapobj_obj_next_data looks for is an enum: anything else is misuse. */
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_DATA), 3 * PG);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, SWAPOBJ_SEEK_HOLE), 0);
	ck_assert_int_eq(swapobj_obj_next_data(o, 0, (enum swapobj_seek)7), SWAPOBJ_EINVAL);
	/* Unknown read flags are misuse too (there is no "verify only" flag: reads always verify). */
	uint8_t buf[PG];
	ck_assert_int_eq(swapobj_obj_read(o, buf, PG, 0, 0x100), SWAPOBJ_EINVAL);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

/*
 * Neither the swap-in nor the swap-out path allocates per call (swap runs
 * when the machine is short of memory), counted at the library's one
 * allocation wrapper. Once the reading thread has its bounce buffer and
 * its I/O ring (set up at its first device read), reading pages in random
 * order makes no allocation. Once the object's
 * pages are mapped and have been overwritten, and every log buffer has been
 * used once (they are allocated on first use), overwriting pages in random
 * order makes none either: the extent map rewrites its chunks in place.
 */
START_TEST(test_store__swap_in_and_swap_out_allocate_nothing_in_steady_state)
{
	enum { NPAGES = 2048, OPS = 20000 };
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.checkpoint_bytes = UINT64_MAX; /* a checkpoint allocates its body: not the data path */
	swapobj_store *st = tu_mkstore(256 << 20, 1 << 20, &oo);
	swapobj_obj *o = create(st, 7, 7);
	struct tu_rng r;
	tu_rng_init(&r, 42);
	uint8_t page[PG];
	/* Sequential, then random (more than the log's buffers hold): the map reaches its shape. */
	for (uint64_t pass = 0; pass < 5; pass++)
		for (uint64_t i = 0; i < NPAGES; i++) {
			uint64_t pg = pass ? tu_rng_below(&r, NPAGES) : i;
			tu_fill_page(page, 7, pg, pass + 1);
			ck_assert_int_eq(swapobj_obj_write(o, page, PG, pg * PG), PG);
			ck_assert_int_eq(swapobj_obj_read(o, page, PG, pg * PG, 0), PG);
		}
	/*
	 * Reads from the device too: the reads above may all have found their
	 * records still in the log's buffers, and a thread's first device read
	 * sets up its I/O ring.
	 */
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	for (uint64_t i = 0; i < NPAGES; i++)
		ck_assert_int_eq(swapobj_obj_read(o, page, PG, tu_rng_below(&r, NPAGES) * PG, 0), PG);
	uint64_t before = so_alloc_count();
	for (uint64_t i = 0; i < OPS; i++)
		ck_assert_int_eq(swapobj_obj_read(o, page, PG, tu_rng_below(&r, NPAGES) * PG, 0), PG);
	uint64_t allocs = so_alloc_count() - before;
	ck_assert_msg(allocs == 0, "%llu allocations in %d page reads", (unsigned long long)allocs, OPS);
	before = so_alloc_count();
	for (uint64_t i = 0; i < OPS; i++) {
		uint64_t pg = tu_rng_below(&r, NPAGES);
		tu_fill_page(page, 7, pg, 3 + i);
		ck_assert_int_eq(swapobj_obj_write(o, page, PG, pg * PG), PG);
	}
	allocs = so_alloc_count() - before;
	ck_assert_msg(allocs == 0, "%llu allocations in %d page writes", (unsigned long long)allocs, OPS);
	swapobj_obj_close(o);
	swapobj_store_close(st);
}
END_TEST

/*
 * Close and reopen at once, many times, after writes went out through the
 * store's batches: the lock must be free the moment close returns (io_uring
 * may let go of its file references a little after its requests complete).
 */
START_TEST(test_store__a_store_reopened_right_after_close_is_never_busy)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = SWAPOBJ_OPEN_DISCARD; /* segments punched out: their writes allocate blocks again */
	swapobj_store *st = tu_mkstore(32 << 20, 1 << 20, &oo);
	for (uint64_t round = 0; round < 60; round++) {
		swapobj_obj *o = round ? openk(st, 5, 5, &(int){0}) : create(st, 5, 5);
		for (uint64_t p = 0; p < 400; p++) /* more than a segment: the flusher writes out meanwhile */
			put_page(o, (round * 400 + p) % 2000, 5, round + 1);
		swapobj_obj_close(o);
		ck_assert_int_eq(swapobj_store_close(st), 0);
		ck_assert_msg(swapobj_store_open(&st, tu_paths, 1, &oo) == 0, "round %llu: %s",
		              (unsigned long long)round, swapobj_errmsg());
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * A process killed (SIGKILL) while its writes are in flight through
 * io_uring: the kernel tears its ring down after the process is gone, with
 * references to the store's file. The store must open again at once, as a
 * restarted VM monitor would open it, not be "in use" by a dead process.
 */
START_TEST(test_store__a_store_opens_at_once_after_its_writer_is_killed)
{
	swapobj_store *st = tu_mkstore(64 << 20, 1 << 20, NULL);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	for (int round = 0; round < 6; round++) {
		int fds[2];
		ck_assert_int_eq(pipe(fds), 0);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			swapobj_store *cs = NULL;
			if (swapobj_store_open(&cs, tu_paths, 1, NULL) != 0)
				_exit(2);
			swapobj_obj *o = create(cs, 6, (uint64_t)round + 1);
			uint8_t page[PG];
			for (uint64_t p = 0;; p++) {
				tu_fill_page(page, 6, p % 4000, 1);
				if (swapobj_obj_write(o, page, PG, (p % 4000) * PG) != PG)
					_exit(3);
				if (p == 1000 && write(fds[1], "x", 1) != 1) /* writing out by now */
					_exit(4);
			}
		}
		close(fds[1]);
		char c;
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
		close(fds[0]);
		usleep(1000 * (round % 3));
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status));
		int err = swapobj_store_open(&st, tu_paths, 1, NULL);
		ck_assert_msg(err == 0, "round %d: reopen after kill -9: %s", round, swapobj_errmsg());
		ck_assert_int_eq(swapobj_store_close(st), 0);
	}
}
END_TEST

/*
 * swapobj_store_stat says whether the store's I/O goes through io_uring:
 * yes wherever the kernel allows it, no with SWAPOBJ_OPEN_NO_IO_URING or
 * SWAPOBJ_IO=sync; and data written without it reads back after a reopen.
 * device_bytes_read counts what the open read.
 */
START_TEST(test_store__stat_reports_io_uring_unless_turned_off_and_the_fallback_keeps_data)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_store_stat ss;
	swapobj_store *st = tu_mkstore(32 << 20, 1 << 20, NULL);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_eq(ss.io_uring, io_uring_usable() ? 1 : 0);
	if (!io_uring_usable())
		fprintf(stderr, "test_store: the kernel refuses io_uring here: only the fallback is checked\n");
	ck_assert_uint_ge(ss.device_bytes_read, 4096); /* superblocks at least */

	oo.flags = SWAPOBJ_OPEN_NO_IO_URING;
	st = tu_reopen(st, &oo);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_eq(ss.io_uring, 0);
	swapobj_obj *o = create(st, 3, 3);
	for (uint64_t p = 0; p < 600; p++) /* a few segments' worth: write-out of sealed and open ones */
		put_page(o, p, 3, 1);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_ge(ss.device_bytes_written, 600 * PG);
	swapobj_obj_close(o);

	ck_assert_int_eq(setenv("SWAPOBJ_IO", "sync", 1), 0);
	st = tu_reopen(st, NULL);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_eq(ss.io_uring, 0);
	ck_assert_int_eq(unsetenv("SWAPOBJ_IO"), 0);

	st = tu_reopen(st, NULL);
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_eq(ss.io_uring, io_uring_usable() ? 1 : 0);
	int err;
	o = openk(st, 3, 3, &err);
	ck_assert_int_eq(err, 0);
	uint8_t out[PG], want[PG];
	for (uint64_t p = 0; p < 600; p++) {
		ck_assert_int_eq(swapobj_obj_read(o, out, PG, p * PG, 0), PG);
		tu_fill_page(want, 3, p, 1);
		ck_assert_msg(!memcmp(out, want, PG), "page %llu", (unsigned long long)p);
	}
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("store");
	const struct tu_case_opts opts_api = {.setup = tu_store_setup, .teardown = tu_store_teardown, .timeout = 600};
	tu_add(s, test_store__format_rejects_bad_geometry, &opts_api);
	tu_add(s, test_store__open_rejects_non_store_and_truncated_device, &opts_api);
	tu_add(s, test_store__second_opener_gets_ebusy, &opts_api);
	tu_add(s, test_store__superblock_copy_rescues_damaged_primary, &opts_api);
	tu_add(s, test_store__keys_validate_lengths, &opts_api);
	tu_add(s, test_store__create_open_and_namespace_conflicts, &opts_api);
	tu_add(s, test_store__write_read_round_trip_with_partial_pages_and_holes, &opts_api);
	tu_add(s, test_store__zero_and_fill_pages_take_no_data_space, &opts_api);
	tu_add(s, test_store__punch_and_truncate_drop_data_and_persist, &opts_api);
	tu_add(s, test_store__newer_version_replaces_and_older_is_stale, &opts_api);
	tu_add(s, test_store__delete_makes_handles_stale_and_frees_key, &opts_api);
	tu_add(s, test_store__invalidate_prefix_drops_subtree_durably, &opts_api);
	tu_add(s, test_store__invalidate_is_constant_time_in_object_count, &opts_api);
	tu_add(s, test_store__listing_returns_each_child_once, &opts_api);
	tu_add(s, test_store__ephemeral_objects_do_not_survive_restart_but_pins_do, &opts_api);
	tu_add(s, test_store__readonly_open_refuses_writes, &opts_api);
	tu_add(s, test_store__synced_data_survives_a_killed_writer, &opts_api);
	tu_add(s, test_store__full_store_gives_enospc_and_recovers_after_delete, &opts_api);
	tu_add(s, test_store__cleaner_reclaims_overwrites_many_times_capacity, &opts_api);
	tu_add(s, test_store__corrupt_record_reads_as_ecorrupt, &opts_api);
	tu_add(s, test_store__result_structs_are_size_tagged_and_misuse_is_einval, &opts_api);
	tu_add(s, test_store__swap_in_and_swap_out_allocate_nothing_in_steady_state, &opts_api);
	tu_add(s, test_store__a_store_reopened_right_after_close_is_never_busy, &opts_api);
	tu_add(s, test_store__a_store_opens_at_once_after_its_writer_is_killed, &opts_api);
	tu_add(s, test_store__stat_reports_io_uring_unless_turned_off_and_the_fallback_keeps_data, &opts_api);
	return tu_run(s, argc, argv);
}
