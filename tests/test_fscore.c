/*
 * test_fscore.c - what a file system front end needs from the library:
 * directory objects, aux data and rename, through the public API, plus the
 * replay rules for records lost in a crash (simulated by retiring chosen
 * records in the image, the way a torn write loses them).
 *
 * Keys are written as paths here: "a/b" is the key with components "a", "b".
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "swapobj.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u
#define SEG (1u << 20)
#define SO_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

static const struct swapobj_open_opts nockpt = {SWAPOBJ_OPEN_OPTS_VERSION, 0, UINT64_MAX, 0, 0, 0};

/*
 * No checkpoints here: the replay cases damage records of the log after
 * close and must see the whole log replayed (test_ckpt covers renames, aux
 * data and directories through a checkpoint).
 */
/* "a/b/c" -> key a, b, c */
static swapobj_key kp(const char *path)
{
	swapobj_key k;
	swapobj_key_init(&k);
	while (*path) {
		const char *e = strchr(path, '/');
		size_t n = e ? (size_t)(e - path) : strlen(path);
		ck_assert_int_eq(swapobj_key_push(&k, path, n), 0);
		path += n + (e != NULL);
	}
	return k;
}

static int open_flags(swapobj_store *st, const char *path, unsigned flags, swapobj_obj **out)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key k = kp(path);
	oo.flags = flags;
	oo.data_version = SWAPOBJ_VERSION_ANY;
	*out = NULL;
	return swapobj_obj_open(out, st, &k, &oo);
}

static swapobj_obj *mk(swapobj_store *st, const char *path, unsigned flags)
{
	swapobj_obj *o;
	int err = open_flags(st, path, SWAPOBJ_O_CREATE | flags, &o);
	ck_assert_msg(err == 0, "create %s: %s", path, swapobj_errmsg());
	return o;
}

static int try_open(swapobj_store *st, const char *path)
{
	swapobj_obj *o;
	int err = open_flags(st, path, 0, &o);
	if (err == 0)
		swapobj_obj_close(o);
	return err;
}

static uint64_t id_of(swapobj_store *st, const char *path)
{
	swapobj_obj *o;
	struct swapobj_obj_stat os;
	ck_assert_msg(open_flags(st, path, 0, &o) == 0, "open %s: %s", path, swapobj_errmsg());
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
	swapobj_obj_close(o);
	return os.id;
}

static int ren(swapobj_store *st, const char *from, const char *to, unsigned flags)
{
	swapobj_key f = kp(from), t = kp(to);
	return swapobj_rename(st, &f, &t, flags);
}

static int del(swapobj_store *st, const char *path)
{
	swapobj_key k = kp(path);
	return swapobj_delete(st, &k);
}

/* Write n pages tagged tag at page 0. */
static void fill(swapobj_obj *o, uint64_t tag, uint64_t n)
{
	uint8_t p[PG];
	for (uint64_t i = 0; i < n; i++) {
		tu_fill_page(p, tag, i, 1);
		ck_assert_int_eq(swapobj_obj_write(o, p, PG, i * PG), PG);
	}
}

/* The object at path holds n pages tagged tag. */
static void check_fill(swapobj_store *st, const char *path, uint64_t tag, uint64_t n)
{
	swapobj_obj *o;
	uint8_t p[PG], want[PG];
	ck_assert_msg(open_flags(st, path, 0, &o) == 0, "open %s: %s", path, swapobj_errmsg());
	for (uint64_t i = 0; i < n; i++) {
		tu_fill_page(want, tag, i, 1);
		ck_assert_int_eq(swapobj_obj_read(o, p, PG, i * PG, 0), PG);
		ck_assert_msg(memcmp(p, want, PG) == 0, "%s page %llu is not tag %llu", path, (unsigned long long)i,
		              (unsigned long long)tag);
	}
	swapobj_obj_close(o);
}

static void check_aux(swapobj_obj *o, const char *want)
{
	char buf[SWAPOBJ_AUX_MAX];
	int n = swapobj_obj_get_aux(o, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert(memcmp(buf, want, (size_t)n) == 0);
}

static void check_aux_at(swapobj_store *st, const char *path, const char *want)
{
	swapobj_obj *o;
	ck_assert_msg(open_flags(st, path, 0, &o) == 0, "open %s: %s", path, swapobj_errmsg());
	check_aux(o, want);
	swapobj_obj_close(o);
}

/* Children of path, as "name:type" joined by spaces in listing order, into out. */
static int list(swapobj_store *st, const char *path, char *out, size_t cap)
{
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	swapobj_key k = kp(path);
	int rc, n = 0;
	out[0] = 0;
	while ((rc = swapobj_list_next(&de, st, &k, &cur)) == 1) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%.*s:%c", n++ ? " " : "", (int)de.name_len, (const char *)de.name,
		         de.type == SWAPOBJ_DT_PREFIX ? 'P' : 'O');
	}
	return rc < 0 ? rc : n;
}

/*
 * Each variant starts from a blank file. A format over the previous
 * variant's image leaves its record stream blocks behind, and replay of a
 * split store takes those (checksums of another seed) for a lost region:
 * a library problem of its own, not what these tests are about.
 */
static void fresh_image(void)
{
	ck_assert(unlink(tu_img) == 0 || errno == ENOENT);
}

/*
 * Retire every record of the image of type `type` and object oid (in both
 * copies of a split segment's stream): what a crash does to a record whose
 * write tore.
 */
static int zap(uint8_t type, uint64_t oid)
{
	return (int)tu_zap_records(tu_img, type, oid);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_errors__new_codes_have_text_and_errno)
{
	ck_assert_str_eq(swapobj_strerror(SWAPOBJ_ENOTEMPTY), "directory object has children");
	ck_assert_int_eq(swapobj_errno(SWAPOBJ_ENOTEMPTY), ENOTEMPTY);
	ck_assert_int_eq(swapobj_errno(SWAPOBJ_ENOTSUP), EOPNOTSUPP);
	ck_assert_str_ne(swapobj_strerror(SWAPOBJ_ENOTSUP), "unknown error");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Format                                                              */
/* ------------------------------------------------------------------ */

/* Seal a record of the given type and payload at buf; returns the verdict of decoding it back. */
static enum rec_verdict reseal(uint8_t *buf, uint8_t type, uint64_t oid, uint64_t lpos, const uint8_t *payload,
                               uint32_t plen, struct rec *out)
{
	struct rec r = {0};
	uint32_t sz;
	r.type = type;
	r.oid = oid;
	r.lpos = lpos;
	r.seq = 7;
	r.payload_len = plen;
	memmove(buf + REC_HDR_LEN, payload, plen);
	rec_seal(buf, &r, 42);
	return rec_decode(buf, REC_HDR_LEN + NAME_REC_MAX + REC_ALIGN, 42, true, out, &sz);
}

START_TEST(test_format__name_and_aux_records_round_trip_and_bad_ones_are_rejected)
{
	static uint8_t buf[REC_HDR_LEN + NAME_REC_MAX + REC_ALIGN], pl[NAME_REC_MAX], aux[AUX_MAX];
	struct rec r;
	struct name_rec nr;
	swapobj_key k = kp("fs/dir/file"), k2;
	memset(aux, 0xa5, sizeof(aux));
	uint32_t n = name_rec_encode(pl, SWAPOBJ_CLASS_CACHE, CREATE_F_DIR | CREATE_F_PIN, 9, &k, aux, AUX_MAX);
	ck_assert_int_eq(reseal(buf, REC_RENAME, 5, 3, pl, n, &r), REC_OK);
	ck_assert_int_eq(name_rec_decode(r.payload, r.payload_len, &nr, &k2), 0);
	ck_assert_uint_eq(nr.auxlen, AUX_MAX);
	ck_assert_uint_eq(nr.version, 9);
	ck_assert_uint_eq(nr.flags, CREATE_F_DIR | CREATE_F_PIN);
	ck_assert(k2.ncomp == 3 && memcmp(k2.buf, "fsdirfile", 9) == 0);
	ck_assert(memcmp(nr.aux, aux, AUX_MAX) == 0);
	/* Records written before aux data existed (reserved zero, no aux bytes) read the same. */
	n = name_rec_encode(pl, SWAPOBJ_CLASS_SWAP, 0, 0, &k, NULL, 0);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, pl, n, &r), REC_OK);
	/* Impossible header fields for the type. */
	ck_assert_int_eq(reseal(buf, REC_RENAME, 5, 5, pl, n, &r), REC_BAD_PAYLOAD); /* replaces itself */
	ck_assert_int_eq(reseal(buf, REC_RENAME, 5, UINT64_MAX, pl, n, &r), REC_BAD_PAYLOAD);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 3, pl, n, &r), REC_BAD_PAYLOAD); /* only RENAME replaces */
	ck_assert_int_eq(reseal(buf, REC_RENAME, 0, 3, pl, n, &r), REC_BAD_PAYLOAD);
	ck_assert_int_eq(reseal(buf, REC_AUX, 5, 0, aux, AUX_MAX, &r), REC_OK);
	ck_assert_int_eq(reseal(buf, REC_AUX, 5, 0, aux, 0, &r), REC_OK);
	ck_assert_int_eq(reseal(buf, REC_AUX, 5, 0, pl, AUX_MAX + 1, &r), REC_BAD_PAYLOAD);
	ck_assert_int_eq(reseal(buf, REC_AUX, 0, 0, aux, 4, &r), REC_BAD_PAYLOAD);
	/* Lengths that do not add up, unknown flags, oversize aux. */
	uint8_t bad[NAME_REC_MAX];
	memcpy(bad, pl, n);
	so_put_le32(bad + CREATE_AUXLEN, 1);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, bad, n, &r), REC_BAD_PAYLOAD);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, bad, n + 1, &r), REC_OK); /* one aux byte after the key */
	so_put_le32(bad + CREATE_AUXLEN, AUX_MAX + 1);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, bad, n + AUX_MAX + 1, &r), REC_BAD_PAYLOAD);
	so_put_le32(bad + CREATE_AUXLEN, UINT32_MAX); /* would wrap a 32-bit sum */
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, bad, n, &r), REC_BAD_PAYLOAD);
	memcpy(bad, pl, n);
	bad[CREATE_FLAGS] = 0x80;
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, bad, n, &r), REC_BAD_PAYLOAD);
	ck_assert_int_eq(reseal(buf, REC_CREATE, 5, 0, pl, CREATE_KEY - 1, &r), REC_BAD_PAYLOAD);
	/* Random damage to a valid payload (checksums made to match): rejected or consistent, never a crash. */
	struct tu_rng rng;
	tu_rng_init(&rng, tu_seed(5));
	n = name_rec_encode(pl, SWAPOBJ_CLASS_SWAP, 0, 1, &k, aux, 40);
	for (int i = 0; i < 20000; i++) {
		memcpy(bad, pl, n);
		for (int f = 0; f < 1 + (int)tu_rng_below(&rng, 4); f++)
			bad[tu_rng_below(&rng, n)] ^= (uint8_t)(1u << tu_rng_below(&rng, 8));
		uint32_t len = n - (uint32_t)tu_rng_below(&rng, 3);
		if (reseal(buf, (uint8_t)(tu_rng_below(&rng, 2) ? REC_CREATE : REC_RENAME), 5, 0, bad, len, &r) ==
		    REC_OK) {
			ck_assert_int_eq(name_rec_decode(r.payload, r.payload_len, &nr, &k2), 0);
			ck_assert_uint_eq((uint64_t)CREATE_KEY + nr.keylen + nr.auxlen, r.payload_len);
			ck_assert_uint_le(nr.auxlen, AUX_MAX);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Directory objects                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_dir__created_at_an_implicit_prefix_it_attaches_there)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	char l[256];
	swapobj_obj *f = mk(st, "a/b", 0), *d = mk(st, "a", SWAPOBJ_O_DIR);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), d), 0);
	ck_assert_uint_eq(os.flags & SWAPOBJ_O_DIR, SWAPOBJ_O_DIR);
	ck_assert_int_eq(list(st, "", l, sizeof(l)), 1);
	ck_assert_str_eq(l, "a:P");
	ck_assert_int_eq(list(st, "a", l, sizeof(l)), 1);
	ck_assert_str_eq(l, "b:O");
	/* The child keeps working, and the directory object outlives it. */
	fill(f, 7, 2);
	ck_assert_int_eq(swapobj_obj_delete(f), 0);
	ck_assert_int_eq(list(st, "a", l, sizeof(l)), 0);
	ck_assert_int_eq(list(st, "", l, sizeof(l)), 1);
	ck_assert_str_eq(l, "a:P");
	ck_assert_int_eq(try_open(st, "a"), 0);
	swapobj_obj_close(f);
	swapobj_obj_close(d);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__keys_go_under_a_directory_object_but_not_under_a_file)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *o;
	swapobj_obj_close(mk(st, "d", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "d/x", 0));
	swapobj_obj_close(mk(st, "d/sub", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "d/sub/y/z", 0)); /* implicit prefix below a directory object */
	swapobj_obj_close(mk(st, "f", 0));
	ck_assert_int_eq(open_flags(st, "f/x", SWAPOBJ_O_CREATE, &o), SWAPOBJ_ENOTDIR);
	ck_assert_int_eq(open_flags(st, "f/x", SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR, &o), SWAPOBJ_ENOTDIR);
	/* A file cannot be created where keys lie below (no O_DIR), as before. */
	ck_assert_int_eq(open_flags(st, "d/sub/y", SWAPOBJ_O_CREATE, &o), SWAPOBJ_EISDIR);
	ck_assert_int_eq(try_open(st, "d/sub/y"), SWAPOBJ_EISDIR);
	ck_assert_int_eq(try_open(st, "d/x"), 0);
	ck_assert_int_eq(try_open(st, "d/sub/y/z"), 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__open_flags_on_existing_objects_give_documented_errors)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *o, *d = mk(st, "d", SWAPOBJ_O_DIR);
	swapobj_obj_close(mk(st, "f", 0));
	ck_assert_int_eq(open_flags(st, "f", SWAPOBJ_O_DIR, &o), SWAPOBJ_ENOTDIR);
	ck_assert_int_eq(open_flags(st, "f", SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR, &o), SWAPOBJ_EEXIST);
	ck_assert_int_eq(open_flags(st, "d", SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR | SWAPOBJ_O_EXCL, &o), SWAPOBJ_EEXIST);
	/* An existing directory object opens with or without O_DIR, with or without O_CREATE. */
	struct swapobj_obj_stat a, b;
	ck_assert_int_eq(swapobj_obj_stat(&a, sizeof(a), d), 0);
	unsigned variants[] = {0, SWAPOBJ_O_DIR, SWAPOBJ_O_CREATE, SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR};
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(open_flags(st, "d", variants[i], &o), 0);
		ck_assert_int_eq(swapobj_obj_stat(&b, sizeof(b), o), 0);
		ck_assert_uint_eq(a.id, b.id);
		swapobj_obj_close(o);
	}
	ck_assert_int_eq(open_flags(st, "nothing", SWAPOBJ_O_DIR, &o), SWAPOBJ_ENOENT);
	swapobj_obj_close(d);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__data_operations_on_a_directory_object_are_eisdir)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *d = mk(st, "d", SWAPOBJ_O_DIR);
	uint8_t p[PG] = {1};
	ck_assert_int_eq(swapobj_obj_write(d, p, PG, 0), SWAPOBJ_EISDIR);
	ck_assert_int_eq(swapobj_obj_read(d, p, PG, 0, 0), SWAPOBJ_EISDIR);
	ck_assert_int_eq(swapobj_obj_punch(d, 0, PG), SWAPOBJ_EISDIR);
	ck_assert_int_eq(swapobj_obj_truncate(d, PG), SWAPOBJ_EISDIR);
	/* Not data: pin, aux and stat work. */
	ck_assert_int_eq(swapobj_obj_set_pin(d, 1), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(d, "mode=0755", 9), 0);
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), d), 0);
	ck_assert_uint_eq(os.flags, SWAPOBJ_O_DIR | SWAPOBJ_O_PIN);
	ck_assert_uint_eq(os.size, 0);
	swapobj_obj_close(d);
	st = tu_reopen(st, &nockpt);
	check_aux_at(st, "d", "mode=0755");
	ck_assert_int_eq(open_flags(st, "d", SWAPOBJ_O_DIR, &d), 0);
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), d), 0);
	ck_assert_uint_eq(os.flags, SWAPOBJ_O_DIR | SWAPOBJ_O_PIN);
	swapobj_obj_close(d);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__deleting_one_with_children_is_enotempty)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *d = mk(st, "d", SWAPOBJ_O_DIR), *x = mk(st, "d/x", 0);
	ck_assert_int_eq(swapobj_obj_delete(d), SWAPOBJ_ENOTEMPTY);
	ck_assert_int_eq(del(st, "d"), SWAPOBJ_ENOTEMPTY);
	ck_assert_int_eq(try_open(st, "d"), 0); /* still there */
	/* Replacing it by a newer version would delete it: refused the same way. */
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_obj *o;
	swapobj_key k = kp("d");
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR;
	oo.data_version = 5;
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), SWAPOBJ_ENOTEMPTY);
	ck_assert_int_eq(swapobj_obj_delete(x), 0);
	ck_assert_int_eq(swapobj_obj_delete(d), 0);
	ck_assert_int_eq(try_open(st, "d"), SWAPOBJ_ENOENT);
	ck_assert_int_eq(swapobj_obj_set_aux(d, "x", 1), SWAPOBJ_ESTALE);
	swapobj_obj_close(d);
	swapobj_obj_close(x);
	st = tu_reopen(st, &nockpt);
	ck_assert_int_eq(try_open(st, "d"), SWAPOBJ_ENOENT);
	ck_assert_int_eq(try_open(st, "d/x"), SWAPOBJ_ENOENT);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__listing_shows_directory_objects_as_prefixes_even_when_empty)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	char l[256];
	swapobj_obj_close(mk(st, "r/e", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "r/f", 0));
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(list(st, "r", l, sizeof(l)), 2);
		ck_assert_msg(strstr(l, "e:P") && strstr(l, "f:O"), "listing: %s", l);
		ck_assert_int_eq(list(st, "r/e", l, sizeof(l)), 0);
		ck_assert_int_eq(list(st, "r/f", l, sizeof(l)), SWAPOBJ_ENOTDIR);
		st = tu_reopen(st, &nockpt);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_dir__invalidation_drops_directory_objects_in_and_at_the_prefix)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *v = mk(st, "v", SWAPOBJ_O_DIR), *sub = mk(st, "v/sub", SWAPOBJ_O_DIR);
	swapobj_obj *a = mk(st, "v/a", 0), *z = mk(st, "v/sub/z", 0);
	swapobj_obj_close(mk(st, "w", SWAPOBJ_O_DIR));
	fill(a, 1, 2);
	swapobj_key k = kp("v");
	ck_assert_int_eq(swapobj_invalidate(st, &k), 0);
	swapobj_obj *hs[] = {v, sub, a, z};
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(swapobj_obj_set_aux(hs[i], "x", 1), SWAPOBJ_ESTALE);
		swapobj_obj_close(hs[i]);
	}
	ck_assert_int_eq(try_open(st, "v"), SWAPOBJ_ENOENT);
	for (int round = 0; round < 2; round++) {
		char l[64];
		ck_assert_int_eq(list(st, "", l, sizeof(l)), 1);
		ck_assert_str_eq(l, "w:P");
		ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		st = tu_reopen(st, &nockpt);
		ck_assert_int_eq(try_open(st, "v"), SWAPOBJ_ENOENT);
		ck_assert_int_eq(try_open(st, "v/sub/z"), SWAPOBJ_ENOENT);
	}
	/* Recreated under the prefix: new objects. */
	swapobj_obj_close(mk(st, "v", SWAPOBJ_O_DIR));
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Aux data                                                            */
/* ------------------------------------------------------------------ */

START_TEST(test_aux__set_get_clear_and_limits)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *o = mk(st, "f", 0);
	char big[SWAPOBJ_AUX_MAX + 1], buf[8];
	memset(big, 'q', sizeof(big));
	ck_assert_int_eq(swapobj_obj_get_aux(o, NULL, 0), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "hello world", 11), 0);
	check_aux(o, "hello world");
	/* A small buffer gets a prefix and the full length. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(swapobj_obj_get_aux(o, buf, 5), 11);
	ck_assert(memcmp(buf, "hello\0", 6) == 0);
	ck_assert_int_eq(swapobj_obj_get_aux(o, NULL, 0), 11);
	ck_assert_int_eq(swapobj_obj_get_aux(o, NULL, 3), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_obj_set_aux(o, big, sizeof(big)), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_obj_set_aux(o, NULL, 3), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_obj_set_aux(NULL, "x", 1), SWAPOBJ_EINVAL);
	check_aux(o, "hello world"); /* failed calls changed nothing */
	ck_assert_int_eq(swapobj_obj_set_aux(o, big, SWAPOBJ_AUX_MAX), 0);
	ck_assert_int_eq(swapobj_obj_get_aux(o, NULL, 0), (int)SWAPOBJ_AUX_MAX);
	ck_assert_int_eq(swapobj_obj_set_aux(o, NULL, 0), 0);
	ck_assert_int_eq(swapobj_obj_get_aux(o, NULL, 0), 0);
	swapobj_obj_close(o);
	st = tu_reopen(st, &nockpt);
	check_aux_at(st, "f", "");
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_aux__given_at_create_and_kept_across_reopen)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_obj *o;
	swapobj_key k = kp("c/with-aux");
	oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_EXCL;
	oo.aux = "uid=1 gid=2";
	oo.aux_len = 11;
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), 0);
	check_aux(o, "uid=1 gid=2");
	swapobj_obj_close(o);
	/* Ignored when the object exists. */
	oo.flags = SWAPOBJ_O_CREATE;
	oo.aux = "other";
	oo.aux_len = 5;
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), 0);
	check_aux(o, "uid=1 gid=2");
	swapobj_obj_close(o);
	oo.aux_len = SWAPOBJ_AUX_MAX + 1;
	k = kp("c/too-big");
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), SWAPOBJ_EINVAL);
	oo.aux = NULL;
	oo.aux_len = 1;
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, &oo), SWAPOBJ_EINVAL);
	ck_assert_int_eq(try_open(st, "c/too-big"), SWAPOBJ_ENOENT);
	/* A version 1 options struct (no aux fields) is still accepted. */
	struct {
		unsigned version, flags;
		enum swapobj_class cls;
		uint64_t data_version;
	} v1 = {1, SWAPOBJ_O_CREATE, SWAPOBJ_CLASS_CACHE, 3};
	k = kp("c/v1");
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, (const struct swapobj_obj_opts *)(const void *)&v1), 0);
	check_aux(o, "");
	swapobj_obj_close(o);
	/* Set after create, set then pinned (the new CREATE carries it), cleared. */
	o = mk(st, "c/set", 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "v1", 2), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "v2", 2), 0);
	swapobj_obj_close(o);
	o = mk(st, "c/pinned", 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "before pin", 10), 0);
	ck_assert_int_eq(swapobj_obj_set_pin(o, 1), 0);
	swapobj_obj_close(o);
	o = mk(st, "c/cleared", 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "gone", 4), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "", 0), 0);
	swapobj_obj_close(o);
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(st, &nockpt);
		check_aux_at(st, "c/with-aux", "uid=1 gid=2");
		check_aux_at(st, "c/set", "v2");
		check_aux_at(st, "c/pinned", "before pin");
		check_aux_at(st, "c/cleared", "");
		check_aux_at(st, "c/v1", "");
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/* Sum of stored_bytes (plus zero-page charges) over the objects of a flat namespace "p/N" equals live_bytes. */
static void check_accounting(swapobj_store *st, int n)
{
	struct swapobj_store_stat ss;
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		char path[32];
		swapobj_obj *o;
		struct swapobj_obj_stat os;
		snprintf(path, sizeof(path), "p/%d", i);
		if (open_flags(st, path, 0, &o) != 0)
			continue;
		ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
		sum += os.stored_bytes + os.zero_pages * 16;
		swapobj_obj_close(o);
	}
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_msg(sum == ss.live_bytes, "objects store %llu bytes, the usage table says %llu",
	              (unsigned long long)sum, (unsigned long long)ss.live_bytes);
}

START_TEST(test_aux__survives_the_cleaner_and_is_charged_like_the_name_record)
{
	/* 19 segments of 1 MiB (9 usable); 24 objects churned so that every segment gets cleaned many times. */
	swapobj_store *st = tu_mkstore(20 << 20, SEG, &nockpt);
	enum { N = 24 };
	swapobj_obj *h[N];
	char want[N][64];
	struct tu_rng r;
	uint8_t p[PG];
	tu_rng_init(&r, tu_seed(99));
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "p/%d", i);
		h[i] = mk(st, path, i % 6 == 0 ? SWAPOBJ_O_DIR : 0);
		snprintf(want[i], sizeof(want[i]), "aux of %d, first", i);
		ck_assert_int_eq(swapobj_obj_set_aux(h[i], want[i], strlen(want[i])), 0);
	}
	struct swapobj_obj_stat os;
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), h[1]), 0);
	uint64_t before = os.stored_bytes;
	ck_assert_int_eq(swapobj_obj_set_aux(h[1], "0123456789abcdef0123456789abcdef", 32), 0);
	ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), h[1]), 0);
	ck_assert_uint_eq(os.stored_bytes, before + 16); /* AUX record: 64 + 32 instead of 64 + 16 */
	snprintf(want[1], sizeof(want[1]), "0123456789abcdef0123456789abcdef");
	check_accounting(st, N);
	uint64_t rounds = tu_scale(6000, 10);
	for (uint64_t n = 0; n < rounds; n++) {
		int i = (int)tu_rng_below(&r, N);
		uint64_t what = tu_rng_below(&r, 10);
		if (what < 7 && i % 6) {
			tu_fill_page(p, (uint64_t)i, n, 1);
			ck_assert_int_eq(swapobj_obj_write(h[i], p, PG, tu_rng_below(&r, 32) * PG), PG);
		} else if (what < 9) {
			snprintf(want[i], sizeof(want[i]), "aux of %d at %llu", i, (unsigned long long)n);
			ck_assert_int_eq(swapobj_obj_set_aux(h[i], want[i], strlen(want[i])), 0);
		} else {
			ck_assert_int_eq(swapobj_obj_set_pin(h[i], (int)(n & 1)), 0);
		}
		if (n % 500 == 499) {
			ck_assert_int_ge(swapobj_store_clean(st, 2), 0);
			check_accounting(st, N);
		}
	}
	struct swapobj_store_stat ss;
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_ge(ss.segments_cleaned, 10);
	for (int i = 0; i < N; i++) {
		check_aux(h[i], want[i]);
		swapobj_obj_close(h[i]);
	}
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(st, &nockpt);
		check_accounting(st, N);
		for (int i = 0; i < N; i++) {
			char path[32];
			snprintf(path, sizeof(path), "p/%d", i);
			check_aux_at(st, path, want[i]);
		}
		ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rename                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_rename__moves_data_aux_and_keeps_handles)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *o = mk(st, "a/one", 0);
	fill(o, 11, 3);
	ck_assert_int_eq(swapobj_obj_set_aux(o, "attrs", 5), 0);
	uint64_t id = id_of(st, "a/one");
	ck_assert_int_eq(ren(st, "a/one", "b/c/two", 0), 0);
	ck_assert_int_eq(try_open(st, "a/one"), SWAPOBJ_ENOENT);
	ck_assert_int_eq(try_open(st, "a"), SWAPOBJ_ENOENT); /* the emptied prefix is gone */
	ck_assert_uint_eq(id_of(st, "b/c/two"), id);
	check_fill(st, "b/c/two", 11, 3);
	/* The handle still works, on the moved object. */
	uint8_t p[PG];
	tu_fill_page(p, 11, 3, 1);
	ck_assert_int_eq(swapobj_obj_write(o, p, PG, 3 * PG), PG);
	check_fill(st, "b/c/two", 11, 4);
	check_aux(o, "attrs");
	/* Same key: nothing to do. */
	ck_assert_int_eq(ren(st, "b/c/two", "b/c/two", 0), 0);
	ck_assert_int_eq(ren(st, "b/c/none", "b/c/none", 0), SWAPOBJ_ENOENT);
	swapobj_obj_close(o);
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(st, &nockpt);
		ck_assert_int_eq(try_open(st, "a/one"), SWAPOBJ_ENOENT);
		ck_assert_uint_eq(id_of(st, "b/c/two"), id);
		check_fill(st, "b/c/two", 11, 4);
		check_aux_at(st, "b/c/two", "attrs");
		struct swapobj_store_stat ss;
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.objects, 1);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_rename__error_cases)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj_close(mk(st, "f", 0));
	swapobj_obj_close(mk(st, "g", 0));
	swapobj_obj_close(mk(st, "d", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "e", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "full", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "full/x", 0));
	swapobj_obj_close(mk(st, "imp/y", 0));
	swapobj_key a = kp("f"), b = kp("g");
	ck_assert_int_eq(swapobj_rename(NULL, &a, &b, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_rename(st, NULL, &b, 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(swapobj_rename(st, &a, &b, 0x80), SWAPOBJ_EINVAL);
	ck_assert_int_eq(ren(st, "nothing", "x", 0), SWAPOBJ_ENOENT);
	ck_assert_int_eq(ren(st, "imp", "x", 0), SWAPOBJ_ENOTSUP);
	ck_assert_int_eq(ren(st, "full", "x", 0), SWAPOBJ_ENOTSUP);
	ck_assert_int_eq(ren(st, "d", "d/inner", 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(ren(st, "f", "f/inner", 0), SWAPOBJ_EINVAL);
	ck_assert_int_eq(ren(st, "f", "g", SWAPOBJ_RENAME_NOREPLACE), SWAPOBJ_EEXIST);
	ck_assert_int_eq(ren(st, "d", "e", SWAPOBJ_RENAME_NOREPLACE), SWAPOBJ_EEXIST);
	ck_assert_int_eq(ren(st, "f", "d", 0), SWAPOBJ_EISDIR);
	ck_assert_int_eq(ren(st, "d", "f", 0), SWAPOBJ_ENOTDIR);
	ck_assert_int_eq(ren(st, "d", "full", 0), SWAPOBJ_ENOTEMPTY);
	ck_assert_int_eq(ren(st, "f", "imp", 0), SWAPOBJ_EISDIR);
	ck_assert_int_eq(ren(st, "d", "imp", 0), SWAPOBJ_EISDIR);
	ck_assert_int_eq(ren(st, "f", "g/under", 0), SWAPOBJ_ENOTDIR);
	ck_assert_int_eq(ren(st, "full/x", "full", 0), SWAPOBJ_EISDIR); /* its own parent directory object */
	ck_assert_int_eq(ren(st, "imp/y", "imp", 0), SWAPOBJ_EISDIR);   /* its own implicit parent */
	/* Nothing changed. */
	const char *all[] = {"f", "g", "d", "e", "full", "full/x", "imp/y"};
	for (unsigned i = 0; i < SO_ARRAY_SIZE_(all); i++)
		ck_assert_msg(try_open(st, all[i]) == 0, "%s disappeared", all[i]);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_eq(ss.objects, 7);
	/* Read-only store. */
	ck_assert_int_eq(swapobj_store_close(st), 0);
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), 0);
	ck_assert_int_eq(ren(st, "f", "h", 0), SWAPOBJ_EROFS);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_rename__replaces_the_target_and_makes_its_handles_stale)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *a = mk(st, "a", 0), *b = mk(st, "b", 0);
	fill(a, 1, 2);
	fill(b, 2, 5);
	uint64_t ida = id_of(st, "a");
	ck_assert_int_eq(ren(st, "a", "b", 0), 0);
	uint8_t p[PG];
	ck_assert_int_eq(swapobj_obj_read(b, p, PG, 0, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_write(b, p, PG, 0), SWAPOBJ_ESTALE);
	ck_assert_int_eq(swapobj_obj_set_aux(b, "x", 1), SWAPOBJ_ESTALE);
	ck_assert_uint_eq(id_of(st, "b"), ida);
	check_fill(st, "b", 1, 2);
	ck_assert_int_eq(try_open(st, "a"), SWAPOBJ_ENOENT);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_eq(ss.objects, 1);
	ck_assert_uint_eq(ss.pages, 2);
	/* Directory objects: an empty one over an empty one; then children go under it. */
	swapobj_obj_close(mk(st, "d1", SWAPOBJ_O_DIR));
	swapobj_obj *d2 = mk(st, "d2", SWAPOBJ_O_DIR);
	ck_assert_int_eq(swapobj_obj_set_aux(d2, "d2", 2), 0);
	check_aux_at(st, "d1", "");
	ck_assert_int_eq(ren(st, "d1", "d2", 0), 0);
	ck_assert_int_eq(swapobj_obj_get_aux(d2, NULL, 0), SWAPOBJ_ESTALE);
	check_aux_at(st, "d2", "");
	swapobj_obj_close(mk(st, "d2/child", 0));
	ck_assert_int_eq(ren(st, "b", "d2/child", 0), 0);
	check_fill(st, "d2/child", 1, 2);
	swapobj_obj_close(a);
	swapobj_obj_close(b);
	swapobj_obj_close(d2);
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(st, &nockpt);
		ck_assert_int_eq(try_open(st, "a"), SWAPOBJ_ENOENT);
		ck_assert_int_eq(try_open(st, "b"), SWAPOBJ_ENOENT);
		ck_assert_int_eq(try_open(st, "d1"), SWAPOBJ_ENOENT);
		ck_assert_uint_eq(id_of(st, "d2/child"), ida);
		check_fill(st, "d2/child", 1, 2);
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.objects, 2);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * Renames, replacements and deletes, then heavy cleaning: no replaced object,
 * no old name and no deleted object may come back on reopen; moved objects
 * keep their data and aux through relocation of their RENAME records.
 */
START_TEST(test_rename__then_delete_then_clean_then_reopen_resurrects_nothing)
{
	swapobj_store *st = tu_mkstore(13 << 20, SEG, &nockpt);
	enum { N = 16 };
	uint8_t p[PG];
	/* a/i, with data; rename a/i over b/i (replacing it) for even i, to c/i for odd i. */
	for (int i = 0; i < N; i++) {
		char pa[16], pb[16];
		snprintf(pa, sizeof(pa), "a/%d", i);
		snprintf(pb, sizeof(pb), "b/%d", i);
		swapobj_obj *o = mk(st, pa, 0), *v = mk(st, pb, 0);
		fill(o, 100 + (uint64_t)i, 4);
		fill(v, 200 + (uint64_t)i, 4);
		ck_assert_int_eq(swapobj_obj_set_aux(o, pa, strlen(pa)), 0);
		swapobj_obj_close(o);
		swapobj_obj_close(v);
	}
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	for (int i = 0; i < N; i++) {
		char pa[16], pb[16], pc[16];
		snprintf(pa, sizeof(pa), "a/%d", i);
		snprintf(pb, sizeof(pb), "b/%d", i);
		snprintf(pc, sizeof(pc), "c/%d", i);
		ck_assert_int_eq(ren(st, pa, i % 2 ? pc : pb, 0), 0);
		if (i % 4 == 0) /* then delete the moved object too */
			ck_assert_int_eq(del(st, pb), 0);
	}
	/* Churn so that every segment holding the old records is cleaned. */
	swapobj_obj *churn = mk(st, "churn", 0);
	for (int n = 0; n < 6000; n++) {
		tu_fill_page(p, 9, (uint64_t)n, 1);
		ck_assert_int_eq(swapobj_obj_write(churn, p, PG, (uint64_t)(n % 64) * PG), PG);
		if (n % 1000 == 999)
			ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	}
	swapobj_obj_close(churn);
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	ck_assert_uint_gt(ss.segments_cleaned, 10);
	for (int round = 0; round < 3; round++) {
		st = tu_reopen(st, &nockpt);
		for (int i = 0; i < N; i++) {
			char pa[16], pb[16], pc[16];
			snprintf(pa, sizeof(pa), "a/%d", i);
			snprintf(pb, sizeof(pb), "b/%d", i);
			snprintf(pc, sizeof(pc), "c/%d", i);
			ck_assert_msg(try_open(st, pa) == SWAPOBJ_ENOENT, "%s came back", pa);
			if (i % 2) {
				check_fill(st, pc, 100 + (uint64_t)i, 4);
				check_aux_at(st, pc, pa);
				check_fill(st, pb, 200 + (uint64_t)i, 4); /* not replaced */
			} else if (i % 4 == 0) {
				ck_assert_msg(try_open(st, pb) == SWAPOBJ_ENOENT, "%s came back", pb);
			} else {
				check_fill(st, pb, 100 + (uint64_t)i, 4);
				check_aux_at(st, pb, pa);
			}
		}
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.objects, 1 + N + N / 4); /* churn, odd: two each, 2 mod 4: one */
		ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * The replaced objects' dead records stay in a segment the cleaner leaves
 * alone (almost all live), while the segment holding the RENAMEs, whose
 * moved objects are deleted too, is cleaned: the RENAMEs must be carried
 * along as the replaced objects' tombstones, or those come back on reopen.
 */
START_TEST(test_rename__replaced_objects_stay_gone_while_their_old_records_remain)
{
	swapobj_store *st = tu_mkstore(13 << 20, SEG, &nockpt);
	enum { N = 8 };
	uint8_t p[PG];
	for (int i = 0; i < N; i++) {
		char pv[16], pm[16];
		snprintf(pv, sizeof(pv), "v/%d", i);
		snprintf(pm, sizeof(pm), "m/%d", i);
		swapobj_obj_close(mk(st, pv, 0));
		swapobj_obj_close(mk(st, pm, 0));
	}
	/* Fill the rest of the first segment with data that stays live. */
	swapobj_obj *keep = mk(st, "keep", 0);
	fill(keep, 5, 256); /* 251 pages fit after the CREATEs: the rest spills over */
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	for (int i = 0; i < N; i++) {
		char pv[16], pm[16];
		snprintf(pv, sizeof(pv), "v/%d", i);
		snprintf(pm, sizeof(pm), "m/%d", i);
		ck_assert_int_eq(ren(st, pm, pv, 0), 0);
		ck_assert_int_eq(del(st, pv), 0);
	}
	swapobj_obj *churn = mk(st, "churn", 0);
	for (int n = 0; n < 4000; n++) {
		tu_fill_page(p, 9, (uint64_t)n, 1);
		ck_assert_int_eq(swapobj_obj_write(churn, p, PG, (uint64_t)(n % 16) * PG), PG);
		if (n % 500 == 499)
			ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
	}
	swapobj_obj_close(churn);
	swapobj_obj_close(keep);
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(st, &nockpt);
		char l[64];
		ck_assert_int_eq(list(st, "", l, sizeof(l)), 2);
		ck_assert_msg(strstr(l, "keep:O") && strstr(l, "churn:O"), "root holds %s", l);
		check_fill(st, "keep", 5, 256);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * A renamed object killed by invalidating its new prefix: its CREATE under
 * the old key sits in a segment the cleaner leaves alone, its RENAME in one
 * that gets cleaned. It must not come back under the old key. Round 0: the
 * reaper logs its DELETE; round 1: that DELETE is lost (retired in the
 * image), so replay must queue it again.
 */
START_TEST(test_rename__an_invalidated_renamed_object_does_not_come_back_under_its_old_key)
{
	for (int variant = 0; variant < 2; variant++) {
		fresh_image();
		swapobj_store *st = tu_mkstore(13 << 20, SEG, &nockpt);
		uint8_t p[PG];
		swapobj_obj *m = mk(st, "old/m", 0), *keep = mk(st, "keep", 0);
		fill(keep, 5, 256); /* the rest of the first segment: stays live */
		ck_assert_int_eq(swapobj_obj_set_aux(m, "m", 1), 0);
		uint64_t idm = id_of(st, "old/m");
		ck_assert_int_eq(swapobj_store_sync(st), 0);
		ck_assert_int_eq(ren(st, "old/m", "new/m", 0), 0);
		swapobj_key k = kp("new");
		ck_assert_int_eq(swapobj_invalidate(st, &k), 0);
		ck_assert_int_ge(swapobj_store_clean(st, 1), 0); /* reaps now */
		if (variant == 1) {
			swapobj_obj_close(m);
			swapobj_obj_close(keep);
			ck_assert_int_eq(swapobj_store_close(st), 0);
			ck_assert_int_eq(zap(REC_DELETE, idm), 1);
			st = tu_reopen(NULL, &nockpt);
			keep = mk(st, "keep", 0);
			m = NULL;
		}
		swapobj_obj *churn = mk(st, "churn", 0);
		for (int n = 0; n < 4000; n++) {
			tu_fill_page(p, 9, (uint64_t)n, 1);
			ck_assert_int_eq(swapobj_obj_write(churn, p, PG, (uint64_t)(n % 16) * PG), PG);
			if (n % 500 == 499)
				ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		}
		swapobj_obj_close(churn);
		swapobj_obj_close(keep);
		if (m)
			swapobj_obj_close(m);
		for (int round = 0; round < 2; round++) {
			st = tu_reopen(st, &nockpt);
			ck_assert_msg(try_open(st, "old/m") == SWAPOBJ_ENOENT, "variant %d: back under the old key",
			              variant);
			ck_assert_int_eq(try_open(st, "new/m"), SWAPOBJ_ENOENT);
			struct swapobj_store_stat ss;
			swapobj_store_stat(&ss, sizeof(ss), st);
			ck_assert_uint_eq(ss.objects, 2);
			ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		}
		ck_assert_int_eq(swapobj_store_close(st), 0);
	}
}
END_TEST

/*
 * The same through a checkpoint taken while the renamed object waits for its
 * DELETE: the checkpoint must carry it as doomed, or the store opened from it
 * never logs the DELETE, the cleaner drops the dead RENAME, and a later full
 * replay (both checkpoints lost) brings the object back under its old key.
 * Also a loaded object renamed and invalidated in the tail.
 */
START_TEST(test_rename__an_invalidated_renamed_object_stays_gone_through_a_checkpoint)
{
	static const struct swapobj_open_opts manual = {
	    SWAPOBJ_OPEN_OPTS_VERSION, SWAPOBJ_OPEN_MANUAL_CLEAN, UINT64_MAX, 0, 0, 0};
	for (int variant = 0; variant < 2; variant++) {
		fresh_image();
		swapobj_store *st = tu_mkstore(13 << 20, SEG, &nockpt);
		uint8_t p[PG];
		ck_assert_int_eq(swapobj_store_close(st), 0);
		ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &manual), 0); /* no reaper behind our back */
		swapobj_obj *m = mk(st, "old/m", 0), *keep = mk(st, "keep", 0);
		fill(keep, 5, 256); /* the rest of the first segment: stays live */
		ck_assert_int_eq(swapobj_obj_set_aux(m, "m", 1), 0);
		ck_assert_int_eq(swapobj_store_sync(st), 0);
		if (variant == 1)
			ck_assert_int_eq(swapobj_store_checkpoint(st), 0); /* m is loaded, renamed in the tail */
		ck_assert_int_eq(ren(st, "old/m", "new/m", 0), 0);
		swapobj_key k = kp("new");
		ck_assert_int_eq(swapobj_invalidate(st, &k), 0);
		if (variant == 0)
			ck_assert_int_eq(swapobj_store_checkpoint(st), 0); /* m detached, not reaped */
		else
			ck_assert_int_eq(swapobj_store_sync(st), 0);
		swapobj_obj_close(m);
		swapobj_obj_close(keep);
		ck_assert_int_eq(swapobj_store_close(st), 0); /* no checkpoint at close (nor a reap) */

		st = tu_reopen(NULL, &nockpt);
		struct swapobj_store_stat ss;
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.from_checkpoint, 1);
		ck_assert_uint_eq(ss.objects, 1);
		ck_assert_int_eq(try_open(st, "old/m"), SWAPOBJ_ENOENT);
		ck_assert_int_eq(try_open(st, "new/m"), SWAPOBJ_ENOENT);
		swapobj_obj *churn = mk(st, "churn", 0);
		for (int n = 0; n < 4000; n++) {
			tu_fill_page(p, 9, (uint64_t)n, 1);
			ck_assert_int_eq(swapobj_obj_write(churn, p, PG, (uint64_t)(n % 16) * PG), PG);
			if (n % 500 == 499)
				ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		}
		/* Every segment cleaned, the one with the RENAME too (the first, keep's, stays: all live). */
		ck_assert_int_ge(swapobj_store_clean(st, 64), 0);
		swapobj_obj_close(churn);
		ck_assert_int_eq(swapobj_store_close(st), 0);

		/* Both checkpoint slots lost: the whole log is replayed. */
		int fd = open(tu_img, O_RDWR);
		ck_assert_int_ge(fd, 0);
		memset(p, 0, PG);
		ck_assert_int_eq(pwrite(fd, p, PG, CKPT_SLOT_OFF(0)), PG);
		ck_assert_int_eq(pwrite(fd, p, PG, CKPT_SLOT_OFF(1)), PG);
		close(fd);
		st = tu_reopen(NULL, &nockpt);
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.from_checkpoint, 0);
		ck_assert_msg(try_open(st, "old/m") == SWAPOBJ_ENOENT, "variant %d: back under the old key", variant);
		ck_assert_int_eq(try_open(st, "new/m"), SWAPOBJ_ENOENT);
		ck_assert_uint_eq(ss.objects, 2);
		ck_assert_int_eq(swapobj_store_close(st), 0);
	}
}
END_TEST

/* Concurrent renames, replacing renames, writes, aux updates and cleaning. */
#define TN_KEYS 12
#define TN_OBJS 8
struct tshared {
	swapobj_store *st;
	swapobj_obj *h[TN_OBJS];
	int stop, failed;
	char msg[256];
};

static void tfail(struct tshared *t, const char *what, int err)
{
	if (!__atomic_exchange_n(&t->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(t->msg, sizeof(t->msg), "%s: %d (%s)", what, err, swapobj_errmsg());
}

static void *renamer(void *a)
{
	struct tshared *t = a;
	struct tu_rng r;
	tu_rng_init(&r, (uint64_t)(uintptr_t)&r);
	for (int n = 0; n < 3000 && !t->failed; n++) {
		char f[16], to[16];
		snprintf(f, sizeof(f), "t/%d", (int)tu_rng_below(&r, TN_KEYS));
		snprintf(to, sizeof(to), "t/%d", (int)tu_rng_below(&r, TN_KEYS));
		/* Now and then one replaces its target (whose handle then goes stale). */
		int err = ren(t->st, f, to, n % 16 ? SWAPOBJ_RENAME_NOREPLACE : 0);
		if (err != 0 && err != SWAPOBJ_ENOENT && err != SWAPOBJ_EEXIST)
			tfail(t, "rename", err);
	}
	return NULL;
}

static void *scribbler(void *a)
{
	struct tshared *t = a;
	struct tu_rng r;
	uint8_t p[PG];
	tu_rng_init(&r, (uint64_t)(uintptr_t)&r);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) && !t->failed) {
		int i = (int)tu_rng_below(&r, TN_OBJS);
		tu_fill_page(p, (uint64_t)i, 0, 1);
		int64_t w = swapobj_obj_write(t->h[i], p, PG, tu_rng_below(&r, 8) * PG);
		if (w != PG && w != SWAPOBJ_ESTALE)
			tfail(t, "write", (int)w);
		char aux[16];
		int n = snprintf(aux, sizeof(aux), "obj %d", i), err = swapobj_obj_set_aux(t->h[i], aux, (size_t)n);
		if (err != 0 && err != SWAPOBJ_ESTALE)
			tfail(t, "aux", err);
		if (tu_rng_below(&r, 200) == 0 && swapobj_store_clean(t->st, 1) < 0)
			tfail(t, "clean", 0);
	}
	return NULL;
}

START_TEST(test_rename__concurrent_renames_keep_each_object_once_or_replaced)
{
	static struct tshared t;
	pthread_t rn[3], wr[2];
	memset(&t, 0, sizeof(t));
	t.st = tu_mkstore(24 << 20, SEG, &nockpt);
	for (int i = 0; i < TN_OBJS; i++) {
		char path[16];
		snprintf(path, sizeof(path), "t/%d", i);
		t.h[i] = mk(t.st, path, 0);
	}
	for (int i = 0; i < 3; i++)
		pthread_create(&rn[i], NULL, renamer, &t);
	for (int i = 0; i < 2; i++)
		pthread_create(&wr[i], NULL, scribbler, &t);
	for (int i = 0; i < 3; i++)
		pthread_join(rn[i], NULL);
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(wr[i], NULL);
	ck_assert_msg(!t.failed, "%s", t.msg);
	for (int round = 0; round < 2; round++) {
		/* Each object is under exactly one key, its handle follows it, its data and aux are its own. */
		int seen[TN_OBJS] = {0};
		for (int k = 0; k < TN_KEYS; k++) {
			char path[16], aux[16];
			swapobj_obj *o;
			snprintf(path, sizeof(path), "t/%d", k);
			int err = open_flags(t.st, path, 0, &o);
			if (err == SWAPOBJ_ENOENT)
				continue;
			ck_assert_int_eq(err, 0);
			int n = swapobj_obj_get_aux(o, aux, sizeof(aux) - 1);
			ck_assert_int_gt(n, 4);
			aux[n] = 0;
			int i = atoi(aux + 4);
			ck_assert(i >= 0 && i < TN_OBJS && !seen[i]);
			seen[i] = 1;
			uint8_t p[PG], want[PG];
			tu_fill_page(want, (uint64_t)i, 0, 1);
			for (uint64_t pg = 0; pg < 8; pg++)
				if (swapobj_obj_read(o, p, PG, pg * PG, 0) == PG && p[0])
					ck_assert_msg(memcmp(p, want, PG) == 0, "object %d page %llu", i,
					              (unsigned long long)pg);
			if (round == 0) {
				struct swapobj_obj_stat a, b;
				ck_assert_int_eq(swapobj_obj_stat(&a, sizeof(a), o), 0);
				ck_assert_int_eq(swapobj_obj_stat(&b, sizeof(b), t.h[i]), 0);
				ck_assert_uint_eq(a.id, b.id);
			}
			swapobj_obj_close(o);
		}
		int alive = 0;
		for (int i = 0; i < TN_OBJS; i++) {
			/* Not found under any key: it was replaced, and its handle says so. */
			if (round == 0 && !seen[i])
				ck_assert_int_eq(swapobj_obj_get_aux(t.h[i], NULL, 0), SWAPOBJ_ESTALE);
			alive += seen[i];
		}
		struct swapobj_store_stat ss;
		swapobj_store_stat(&ss, sizeof(ss), t.st);
		ck_assert_uint_eq(ss.objects, (uint64_t)alive);
		ck_assert_int_gt(alive, 0);
		if (round == 0)
			for (int i = 0; i < TN_OBJS; i++)
				swapobj_obj_close(t.h[i]);
		t.st = tu_reopen(t.st, &nockpt);
	}
	ck_assert_int_eq(swapobj_store_close(t.st), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Replay after lost records                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_replay__a_rename_is_all_or_nothing)
{
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *a = mk(st, "a", 0), *b = mk(st, "b", 0);
	fill(a, 1, 2);
	fill(b, 2, 2);
	uint64_t ida = id_of(st, "a"), idb = id_of(st, "b");
	ck_assert_int_eq(ren(st, "a", "b", 0), 0);
	swapobj_obj_close(a);
	swapobj_obj_close(b);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	/* The RENAME lost: both objects as before. */
	ck_assert_int_eq(zap(REC_RENAME, ida), 1);
	st = tu_reopen(NULL, &nockpt);
	ck_assert_uint_eq(id_of(st, "a"), ida);
	ck_assert_uint_eq(id_of(st, "b"), idb);
	check_fill(st, "a", 1, 2);
	check_fill(st, "b", 2, 2);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	(void)idb;
}
END_TEST

START_TEST(test_replay__a_lost_delete_undoes_the_rename_onto_its_key)
{
	/* rm k; mv y k -- the DELETE lost, the RENAME kept: both objects stay where they were. */
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *x = mk(st, "k", 0), *y = mk(st, "y", 0);
	fill(x, 1, 2);
	fill(y, 2, 3);
	uint64_t idx = id_of(st, "k"), idy = id_of(st, "y");
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_eq(swapobj_obj_delete(x), 0);
	ck_assert_int_eq(ren(st, "y", "k", 0), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(y, "after", 5), 0);
	swapobj_obj_close(x);
	swapobj_obj_close(y);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	ck_assert_int_eq(zap(REC_DELETE, idx), 1);
	for (int round = 0; round < 3; round++) {
		st = tu_reopen(round ? st : NULL, &nockpt);
		if (round < 2) {
			ck_assert_uint_eq(id_of(st, "k"), idx);
			check_fill(st, "k", 1, 2);
		}
		ck_assert_uint_eq(id_of(st, "y"), idy);
		check_fill(st, "y", 2, 3);
		check_aux_at(st, "y", "after"); /* the AUX record after the RENAME still counts */
		if (round == 1) {
			/* The restated name must hold even once the k object is gone for good. */
			ck_assert_int_eq(del(st, "k"), 0);
			ck_assert_int_ge(swapobj_store_clean(st, 0), 0);
		}
		if (round == 2)
			ck_assert_int_eq(try_open(st, "k"), SWAPOBJ_ENOENT);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_replay__a_lost_rename_away_keeps_the_object_over_a_newer_one)
{
	/* mv a c; create a -- the RENAME lost: the old object stays at a, the new one is dropped. */
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *m = mk(st, "a", 0);
	fill(m, 1, 2);
	uint64_t idm = id_of(st, "a");
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_eq(ren(st, "a", "c", 0), 0);
	swapobj_obj *n = mk(st, "a", 0);
	fill(n, 2, 2);
	swapobj_obj_close(m);
	swapobj_obj_close(n);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	ck_assert_int_eq(zap(REC_RENAME, idm), 1);
	for (int round = 0; round < 2; round++) {
		st = tu_reopen(round ? st : NULL, &nockpt);
		ck_assert_uint_eq(id_of(st, "a"), idm);
		check_fill(st, "a", 1, 2);
		ck_assert_int_eq(try_open(st, "c"), SWAPOBJ_ENOENT);
		struct swapobj_store_stat ss;
		swapobj_store_stat(&ss, sizeof(ss), st);
		ck_assert_uint_eq(ss.objects, 1);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_replay__a_lost_rmdir_keeps_the_directory_and_drops_what_replaced_it)
{
	/* rmdir d; create file d; -- the DELETE lost. Also: a child under a file whose DELETE was lost. */
	swapobj_store *st = tu_mkstore(16 << 20, SEG, &nockpt);
	swapobj_obj *d = mk(st, "d", SWAPOBJ_O_DIR), *f = mk(st, "f", 0);
	uint64_t idd = id_of(st, "d"), idf = id_of(st, "f");
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_eq(swapobj_obj_delete(d), 0);
	swapobj_obj_close(mk(st, "d", 0));
	ck_assert_int_eq(swapobj_obj_delete(f), 0);
	swapobj_obj_close(mk(st, "f", SWAPOBJ_O_DIR));
	swapobj_obj_close(mk(st, "f/child", 0));
	swapobj_obj_close(d);
	swapobj_obj_close(f);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	ck_assert_int_eq(zap(REC_DELETE, idd), 1);
	ck_assert_int_eq(zap(REC_DELETE, idf), 1);
	st = tu_reopen(NULL, &nockpt);
	ck_assert_uint_eq(id_of(st, "d"), idd);
	ck_assert_int_eq(open_flags(st, "d", SWAPOBJ_O_DIR, &d), 0);
	swapobj_obj_close(d);
	ck_assert_uint_eq(id_of(st, "f"), idf);
	ck_assert_int_eq(try_open(st, "f/child"), SWAPOBJ_ENOENT);
	char l[64];
	ck_assert_int_eq(list(st, "", l, sizeof(l)), 2);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("fscore");
	const struct tu_case_opts opts_dir = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "dir", .timeout = 300};
	const struct tu_case_opts opts_aux = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "aux", .timeout = 300};
	const struct tu_case_opts opts_rename = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "rename", .timeout = 300};
	const struct tu_case_opts opts_replay = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "replay", .timeout = 300};
	tu_add(s, test_errors__new_codes_have_text_and_errno, &opts_dir);
	tu_add(s, test_format__name_and_aux_records_round_trip_and_bad_ones_are_rejected, &opts_dir);
	tu_add(s, test_dir__created_at_an_implicit_prefix_it_attaches_there, &opts_dir);
	tu_add(s, test_dir__keys_go_under_a_directory_object_but_not_under_a_file, &opts_dir);
	tu_add(s, test_dir__open_flags_on_existing_objects_give_documented_errors, &opts_dir);
	tu_add(s, test_dir__data_operations_on_a_directory_object_are_eisdir, &opts_dir);
	tu_add(s, test_dir__deleting_one_with_children_is_enotempty, &opts_dir);
	tu_add(s, test_dir__listing_shows_directory_objects_as_prefixes_even_when_empty, &opts_dir);
	tu_add(s, test_dir__invalidation_drops_directory_objects_in_and_at_the_prefix, &opts_dir);
	tu_add(s, test_aux__set_get_clear_and_limits, &opts_aux);
	tu_add(s, test_aux__given_at_create_and_kept_across_reopen, &opts_aux);
	tu_add(s, test_aux__survives_the_cleaner_and_is_charged_like_the_name_record, &opts_aux);
	tu_add(s, test_rename__moves_data_aux_and_keeps_handles, &opts_rename);
	tu_add(s, test_rename__error_cases, &opts_rename);
	tu_add(s, test_rename__replaces_the_target_and_makes_its_handles_stale, &opts_rename);
	tu_add(s, test_rename__then_delete_then_clean_then_reopen_resurrects_nothing, &opts_rename);
	tu_add(s, test_rename__replaced_objects_stay_gone_while_their_old_records_remain, &opts_rename);
	tu_add(s, test_rename__an_invalidated_renamed_object_does_not_come_back_under_its_old_key, &opts_rename);
	tu_add(s, test_rename__an_invalidated_renamed_object_stays_gone_through_a_checkpoint, &opts_rename);
	tu_add(s, test_rename__concurrent_renames_keep_each_object_once_or_replaced, &opts_rename);
	tu_add(s, test_replay__a_rename_is_all_or_nothing, &opts_replay);
	tu_add(s, test_replay__a_lost_delete_undoes_the_rename_onto_its_key, &opts_replay);
	tu_add(s, test_replay__a_lost_rename_away_keeps_the_object_over_a_newer_one, &opts_replay);
	tu_add(s, test_replay__a_lost_rmdir_keeps_the_directory_and_drops_what_replaced_it, &opts_replay);
	return tu_run(s, argc, argv);
}
