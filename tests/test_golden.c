/*
 * test_golden.c - the golden store images (tests/golden): store (split
 * layout) and store-classic (written by the release before the split
 * layout existed). This version opens each and reads back exactly its
 * manifest; each checks clean; corrupt variants made from them fail with
 * the documented error or are reported by the checker; the classic one,
 * opened for writing, is upgraded and its records move into split
 * segments as the cleaner relocates them, nothing read back changing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "extmap.h"
#include "format.h"
#include "fsck.h"
#include "store_types.h"
#include "swapobj.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u

static uint8_t *golden;
static size_t golden_len;
static const char *golden_name; /* "store" or "store-classic" */

/* The store fixture, with the image decompressed into its device. */
static void setup_named(const char *name)
{
	tu_store_setup();
	size_t zlen;
	char path[512];
	golden_name = name;
	snprintf(path, sizeof(path), "%s/golden/%s.img.zst", SWAPOBJ_TESTS_SRC, name);
	uint8_t *z = tu_read_file(path, &zlen);
	unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
	ck_assert_msg(n != ZSTD_CONTENTSIZE_ERROR && n != ZSTD_CONTENTSIZE_UNKNOWN && n < (1ull << 30),
	              "golden image: no content size in the zstd frame");
	golden = malloc(n);
	ck_assert_ptr_nonnull(golden);
	size_t got = ZSTD_decompress(golden, n, z, zlen);
	ck_assert_msg(!ZSTD_isError(got) && got == n, "golden image: %s", ZSTD_getErrorName(got));
	golden_len = n;
	free(z);
	tu_write_file(tu_img, golden, golden_len);
}

static void setup(void)
{
	setup_named("store");
}

static void setup_classic(void)
{
	setup_named("store-classic");
}

static void teardown(void)
{
	tu_store_teardown();
	free(golden);
}

/* ------------------------------------------------------------------ */
/* The manifest                                                        */
/* ------------------------------------------------------------------ */

static void key_text(const swapobj_key *k, char *out, size_t len)
{
	size_t o = 0;
	for (uint32_t i = 0; i < k->ncomp; i++) {
		o += (size_t)snprintf(out + o, len - o, "/");
		for (uint32_t b = 0; b < k->len[i]; b++) {
			uint8_t c = k->buf[k->off[i] + b];
			if (c > 0x20 && c < 0x7f && c != '%' && c != '/' && c != '=')
				o += (size_t)snprintf(out + o, len - o, "%c", c);
			else
				o += (size_t)snprintf(out + o, len - o, "%%%02x", c);
		}
	}
}

struct lines {
	char *l[256];
	int n;
};

static void walk(swapobj_store *st, swapobj_key *prefix, struct lines *out)
{
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	int rc;
	while ((rc = swapobj_list_next(&de, st, prefix, &cur)) == 1) {
		swapobj_key k = *prefix;
		ck_assert_int_eq(swapobj_key_push(&k, de.name, de.name_len), 0);
		if (de.type == SWAPOBJ_DT_PREFIX) {
			walk(st, &k, out);
			continue;
		}
		swapobj_obj *o;
		struct swapobj_obj_stat os;
		ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), 0);
		ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), o), 0);
		uint8_t *data = malloc(os.size + 1);
		ck_assert_int_eq(swapobj_obj_read(o, data, os.size, 0, 0), (int64_t)os.size);
		swapobj_obj_close(o);
		char ks[2048];
		key_text(&k, ks, sizeof(ks));
		ck_assert_int_lt(out->n, 256);
		ck_assert_int_ge(
		    asprintf(&out->l[out->n++], "key=%s class=%s version=%llu size=%llu pinned=%d xxh3=%016llx", ks,
		             os.cls == SWAPOBJ_CLASS_CACHE ? "cache" : "swap", (unsigned long long)os.data_version,
		             (unsigned long long)os.size, (os.flags & SWAPOBJ_O_PIN) != 0,
		             (unsigned long long)XXH3_64bits(data, os.size)),
		    0);
		free(data);
	}
	ck_assert_int_eq(rc, 0);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The store reads back exactly as the manifest says. */
static void expect_manifest(unsigned flags)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	swapobj_store *st;
	swapobj_key root;
	struct lines got = {.n = 0};
	oo.flags = flags;
	ck_assert_msg(swapobj_store_open(&st, tu_paths, 1, &oo) == 0, "open: %s", swapobj_errmsg());
	swapobj_key_init(&root);
	walk(st, &root, &got);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	qsort(got.l, (size_t)got.n, sizeof(*got.l), line_cmp);

	size_t mlen;
	char path[512];
	snprintf(path, sizeof(path), "%s/golden/%s.manifest", SWAPOBJ_TESTS_SRC, golden_name);
	uint8_t *m = tu_read_file(path, &mlen);
	m = realloc(m, mlen + 1);
	m[mlen] = 0;
	char *save, *line = strtok_r((char *)m, "\n", &save);
	unsigned fmt;
	ck_assert_msg(line && sscanf(line, "format %u", &fmt) == 1, "manifest: no format line");
	ck_assert_msg(fmt == SO_FORMAT_VERSION,
	              "the golden image is format %u, this version writes %u: regenerate it "
	              "(tests/golden/README)",
	              fmt, SO_FORMAT_VERSION);
	int i = 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		ck_assert_msg(i < got.n, "object missing from the store: %s", line);
		ck_assert_msg(strcmp(line, got.l[i]) == 0, "manifest: %s\nstore:    %s", line, got.l[i]);
		i++;
	}
	ck_assert_msg(i == got.n, "the store has an object the manifest does not: %s", got.l[i]);
	ck_assert_int_gt(i, 3);
	for (int j = 0; j < got.n; j++)
		free(got.l[j]);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Corrupt variants                                                    */
/* ------------------------------------------------------------------ */

/* Set a superblock field in both copies (or one), re-checksummed unless told not to. */
static void sb_set(unsigned copies, unsigned off, unsigned size, uint64_t v, bool fix_csum)
{
	tu_write_file(tu_img, golden, golden_len);
	uint8_t *im = malloc(golden_len);
	memcpy(im, golden, golden_len);
	for (unsigned c = 0; c < SO_SB_COPIES; c++) {
		if (!(copies & (1u << c)))
			continue;
		uint8_t *b = im + c * SO_SB_SIZE;
		if (size == 4)
			so_put_le32(b + off, (uint32_t)v);
		else
			so_put_le64(b + off, v);
		if (fix_csum)
			so_put_le64(b + SB_CSUM, so_hash64(b, SB_CSUM, 0));
	}
	tu_write_file(tu_img, im, golden_len);
	free(im);
}

static void expect_open_fails(int want, const char *msg)
{
	swapobj_store *st = NULL;
	int err = swapobj_store_open(&st, tu_paths, 1, NULL);
	ck_assert_msg(err == want, "open: got %d (%s), want %d", err, swapobj_errmsg(), want);
	ck_assert_msg(strstr(swapobj_errmsg(), msg), "open message '%s' lacks '%s'", swapobj_errmsg(), msg);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), want);
	ck_assert_msg(strstr(swapobj_errmsg(), msg), "fsck message '%s' lacks '%s'", swapobj_errmsg(), msg);
	fsck_result_free(&r);
}

static void this_version_reads_the_manifest(void)
{
	expect_manifest(SWAPOBJ_OPEN_RDONLY);
	expect_manifest(0);
	expect_manifest(0); /* after a read-write open wrote to it */
}

START_TEST(test_golden__this_version_reads_the_manifest)
{
	this_version_reads_the_manifest();
}
END_TEST

START_TEST(test_golden__classic_this_version_reads_the_manifest)
{
	this_version_reads_the_manifest();
}
END_TEST

static void image_checks_clean(void)
{
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors + r.warnings, 0);
	ck_assert_uint_eq(r.objects, 6); /* the manifest's objects */
	fsck_result_free(&r);
	fo.flags = FSCK_REPAIR;
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert(!r.modified);
	fsck_result_free(&r);
}

START_TEST(test_golden__image_checks_clean)
{
	image_checks_clean();
}
END_TEST

START_TEST(test_golden__classic_image_checks_clean)
{
	image_checks_clean();
}
END_TEST

static void corrupt_superblocks_fail_cleanly(void)
{
	sb_set(3, SB_MAGIC, 8, 0x4a4b4c4d4e4f5051ull, true);
	expect_open_fails(SWAPOBJ_EFORMAT, "bad magic");
	sb_set(3, SB_INCOMPAT, 8, 1ull << 17, true);
	expect_open_fails(SWAPOBJ_EFORMAT, "unknown incompatible features");
	sb_set(3, SB_VERSION, 4, SO_FORMAT_VERSION + 1, true);
	expect_open_fails(SWAPOBJ_EFORMAT, "unsupported format version");
	sb_set(3, SB_NSEGS, 4, 3, false);
	expect_open_fails(SWAPOBJ_EFORMAT, "checksum mismatch");
	sb_set(3, SB_NDEVS, 4, 2, true);
	expect_open_fails(SWAPOBJ_EFORMAT, "store of 2 devices");
	sb_set(3, SB_SEG_SIZE, 4, 3u << 20, true);
	expect_open_fails(SWAPOBJ_EFORMAT, "bad segment size");
	tu_write_file(tu_img, golden, golden_len);
	ck_assert_int_eq(truncate(tu_img, (off_t)golden_len / 2), 0);
	expect_open_fails(SWAPOBJ_EFORMAT, "truncated");
	/* One damaged copy: the store opens from the other, the checker reports the damaged one. */
	sb_set(1, SB_NSEGS, 4, 3, false);
	expect_manifest(SWAPOBJ_OPEN_RDONLY);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors, 1);
	ck_assert_int_eq(r.problems[0].kind, FSCK_SB_BAD);
	fsck_result_free(&r);
}

START_TEST(test_golden__corrupt_superblocks_fail_cleanly)
{
	corrupt_superblocks_fail_cleanly();
}
END_TEST

START_TEST(test_golden__classic_corrupt_superblocks_fail_cleanly)
{
	corrupt_superblocks_fail_cleanly();
}
END_TEST

static void unknown_ro_compat_feature_opens_read_only(void)
{
	sb_set(3, SB_RO_COMPAT, 8, 1ull << 40, true);
	expect_manifest(0);
	swapobj_store *st;
	swapobj_obj *o;
	swapobj_key k;
	uint8_t p[PG] = {1};
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), 0);
	swapobj_key_anon(&k, 1, 100);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), 0);
	ck_assert_int_eq(swapobj_obj_write(o, p, PG, 0), SWAPOBJ_EROFS);
	struct swapobj_store_stat ss;
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_uint_eq(ss.readonly, 1);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	/* Checked, not repaired. */
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors, 0);
	fsck_result_free(&r);
	fo.flags = FSCK_REPAIR;
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), SWAPOBJ_EFORMAT);
	fsck_result_free(&r);
}

START_TEST(test_golden__unknown_ro_compat_feature_opens_read_only)
{
	unknown_ro_compat_feature_opens_read_only();
}
END_TEST

START_TEST(test_golden__classic_unknown_ro_compat_feature_opens_read_only)
{
	unknown_ro_compat_feature_opens_read_only();
}
END_TEST

struct first_data {
	swapobj_key key;
	uint64_t oid, off;
};

static void first_data_cb(void *ctx, uint64_t off, uint32_t size, const struct rec *r, int verdict)
{
	struct first_data *fd = ctx;
	swapobj_key k;
	(void)size;
	(void)verdict;
	if (r->type == REC_CREATE && key_decode(r->payload + CREATE_KEY, r->payload_len - CREATE_KEY, &k) == 0 &&
	    k.nbytes == fd->key.nbytes && memcmp(k.buf, fd->key.buf, k.nbytes) == 0)
		fd->oid = r->oid;
	/* The shmem object's page 0 (written once, never rewritten): its only copy. */
	if (fd->oid && !fd->off && r->type == REC_DATA && r->oid == fd->oid && r->lpos == 0 &&
	    !(r->flags & (REC_F_ZERO | REC_F_FILL)))
		fd->off = off;
}

START_TEST(test_golden__damaged_record_is_reported_not_returned)
{
	struct first_data fd = {.oid = 0, .off = 0};
	swapobj_key_shmem(&fd.key, 3, 7, 1);
	/* Twice: the CREATE naming the object may come after its data in the log. */
	ck_assert_int_gt(tu_walk_records(golden, golden_len, first_data_cb, &fd), 0);
	ck_assert_int_gt(tu_walk_records(golden, golden_len, first_data_cb, &fd), 0);
	ck_assert_uint_gt(fd.off, 0);
	golden[fd.off + REC_HDR_LEN + 100] ^= 0x40;
	tu_write_file(tu_img, golden, golden_len);
	swapobj_store *st;
	swapobj_obj *o;
	swapobj_key k;
	uint8_t p[PG];
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), 0);
	swapobj_key_shmem(&k, 3, 7, 1);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), 0);
	ck_assert_int_eq(swapobj_obj_read(o, p, PG, 0, 0), SWAPOBJ_ECORRUPT);
	ck_assert_msg(strstr(swapobj_errmsg(), "segment"), "message: %s", swapobj_errmsg());
	ck_assert_int_eq(swapobj_obj_read(o, p, PG, PG, 0), PG);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors, 1);
	ck_assert_int_eq(r.problems[0].kind, FSCK_PAGE_DAMAGED);
	fsck_result_free(&r);
}
END_TEST

/*
 * Split image: a damaged page (a byte of its 4 KiB in the data area) reads
 * as corruption, named by segment and offset; its neighbour reads fine.
 */
START_TEST(test_golden__split_damaged_page_is_reported_not_returned)
{
	swapobj_store *st;
	swapobj_obj *o;
	swapobj_key k;
	uint8_t p[PG];
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), 0);
	ck_assert(st->log.split);
	swapobj_key_shmem(&k, 3, 7, 1);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), 0);
	extslot sl = extmap_get(&o->o->map, 0);
	ck_assert_int_eq(extslot_kind(sl), EXT_DATA);
	const struct log_seg *seg = log_seg_of(&st->log, extslot_addr(sl));
	ck_assert(seg && seg->split);
	uint64_t devoff = log_seg_devoff(&st->log, seg) + log_seg_off(&st->log, extslot_addr(sl));
	ck_assert_uint_eq(devoff % PG, 0);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	golden[devoff + 100] ^= 0x40;
	tu_write_file(tu_img, golden, golden_len);

	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, NULL), 0);
	ck_assert_int_eq(swapobj_obj_open(&o, st, &k, NULL), 0);
	ck_assert_int_eq(swapobj_obj_read(o, p, PG, 0, 0), SWAPOBJ_ECORRUPT);
	ck_assert_msg(strstr(swapobj_errmsg(), "segment"), "message: %s", swapobj_errmsg());
	ck_assert_int_eq(swapobj_obj_read(o, p, PG, PG, 0), PG);
	swapobj_obj_close(o);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors, 1);
	ck_assert_int_eq(r.problems[0].kind, FSCK_PAGE_DAMAGED);
	fsck_result_free(&r);
}
END_TEST

/* Superblock copy 0 of the device. */
static void read_sb0(uint8_t *sb)
{
	size_t len;
	uint8_t *im = tu_read_file(tu_img, &len);
	ck_assert_uint_ge(len, SO_SB_SIZE);
	memcpy(sb, im, SO_SB_SIZE);
	free(im);
}

/*
 * The classic image opened for writing: its superblock gets the split
 * feature bit, and once the cleaner has relocated every segment in use,
 * all live records are in split segments; the manifest reads back the same
 * before and after a reopen, and the store checks clean. With
 * SWAPOBJ_OPEN_NO_UPGRADE it stays classic.
 */
START_TEST(test_golden__classic_store_is_upgraded_and_cleaned_into_split_segments)
{
	swapobj_store *st;
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = SWAPOBJ_OPEN_NO_UPGRADE | SWAPOBJ_OPEN_MANUAL_CLEAN;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), 0);
	ck_assert(!st->log.split);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	expect_manifest(SWAPOBJ_OPEN_NO_UPGRADE);
	uint8_t sb[SO_SB_SIZE];
	read_sb0(sb);
	ck_assert_uint_eq(so_get_le64(sb + SB_INCOMPAT) & SB_INCOMPAT_SPLIT, 0);

	oo.flags = SWAPOBJ_OPEN_MANUAL_CLEAN;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), 0);
	ck_assert(st->log.split);
	unsigned classic = 0;
	for (uint64_t i = 0; i < st->log.nsegs; i++)
		classic += st->log.segs[i].state == SEG_SEALED && !st->log.segs[i].split &&
		           st->log.segs[i].stream != SEG_STREAM_CKPT && st->log.segs[i].live > 0;
	ck_assert_uint_gt(classic, 0);
	/* Clean until no classic segment holds live records. */
	for (int pass = 0; pass < 20 && classic; pass++) {
		ck_assert_int_ge(swapobj_store_clean(st, (unsigned)st->log.nsegs), 0);
		ck_assert_int_eq(swapobj_store_sync(st), 0);
		classic = 0;
		for (uint64_t i = 0; i < st->log.nsegs; i++)
			classic += st->log.segs[i].state == SEG_SEALED && !st->log.segs[i].split &&
			           st->log.segs[i].stream != SEG_STREAM_CKPT && st->log.segs[i].live > 0;
	}
	ck_assert_uint_eq(classic, 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	read_sb0(sb);
	ck_assert_uint_eq(so_get_le64(sb + SB_INCOMPAT) & SB_INCOMPAT_SPLIT, SB_INCOMPAT_SPLIT);
	expect_manifest(SWAPOBJ_OPEN_RDONLY);
	expect_manifest(0);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	ck_assert_int_eq(fsck_run(tu_paths, 1, &fo, &r), 0);
	ck_assert_uint_eq(r.errors + r.warnings, 0);
	fsck_result_free(&r);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("golden");
	const struct tu_case_opts opts_golden = {.setup = setup, .teardown = teardown};
	const struct tu_case_opts opts_classic = {.setup = setup_classic, .teardown = teardown};
	tu_add(s, test_golden__this_version_reads_the_manifest, &opts_golden);
	tu_add(s, test_golden__image_checks_clean, &opts_golden);
	tu_add(s, test_golden__corrupt_superblocks_fail_cleanly, &opts_golden);
	tu_add(s, test_golden__unknown_ro_compat_feature_opens_read_only, &opts_golden);
	tu_add(s, test_golden__classic_this_version_reads_the_manifest, &opts_classic);
	tu_add(s, test_golden__classic_image_checks_clean, &opts_classic);
	tu_add(s, test_golden__classic_corrupt_superblocks_fail_cleanly, &opts_classic);
	tu_add(s, test_golden__classic_unknown_ro_compat_feature_opens_read_only, &opts_classic);
	tu_add(s, test_golden__damaged_record_is_reported_not_returned, &opts_classic);
	tu_add(s, test_golden__split_damaged_page_is_reported_not_returned, &opts_golden);
	tu_add(s, test_golden__classic_store_is_upgraded_and_cleaned_into_split_segments, &opts_classic);
	return tu_run(s, argc, argv);
}
