/*
 * test_ckpt.c - checkpoints: recovery from a checkpoint plus the tail,
 * fallback to the previous checkpoint and to a full-log replay when slots or
 * bodies are damaged, tombstones and invalidations in the tail, errors, and
 * the verification swapobj-fsck uses.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "format_format.h"
#include "io_fault.h"
#include "space.h"
#include "store_types.h"
#include "swapobj.h"
#include "testutil.h"

#define PG 4096u
#define NOBJ 6
#define NPG 48

/* Expected content: version of each page (0 = hole), and which objects exist. */
static uint32_t want[NOBJ][NPG];
static int alive[NOBJ];

static void setup(void)
{
	tu_store_setup();
	memset(want, 0, sizeof(want));
	memset(alive, 0, sizeof(alive));
}

/* Open without a checkpoint at close unless ckpt_at_close. */
static swapobj_store *open_store(int ckpt_at_close)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	if (!ckpt_at_close)
		oo.checkpoint_bytes = UINT64_MAX;
	return tu_store_open(&oo);
}

static void key_of(swapobj_key *k, int o)
{
	swapobj_key_anon(k, (uint64_t)(o % 2) + 1, (uint64_t)o);
}

/* Write version v of pages [pg, pg+n) of object o (creating it). */
static void put(swapobj_store *st, int o, int pg, int n, uint32_t v)
{
	struct swapobj_obj_opts op = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_obj *h;
	swapobj_key k;
	uint8_t buf[PG];
	op.flags = SWAPOBJ_O_CREATE;
	key_of(&k, o);
	ck_assert_msg(swapobj_obj_open(&h, st, &k, &op) == 0, "open obj: %s", swapobj_errmsg());
	for (int i = 0; i < n; i++) {
		tu_fill_page(buf, (uint64_t)o, (uint64_t)(pg + i), v);
		ck_assert_int_eq(swapobj_obj_write(h, buf, PG, (uint64_t)(pg + i) * PG), PG);
		want[o][pg + i] = v;
	}
	alive[o] = 1;
	swapobj_obj_close(h);
}

static void punch(swapobj_store *st, int o, int pg, int n)
{
	swapobj_obj *h;
	swapobj_key k;
	key_of(&k, o);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, NULL), 0);
	ck_assert_int_eq(swapobj_obj_punch(h, (uint64_t)pg * PG, (uint64_t)n * PG), 0);
	for (int i = 0; i < n; i++)
		want[o][pg + i] = 0;
	swapobj_obj_close(h);
}

static void check_all(swapobj_store *st)
{
	uint8_t got[PG], exp[PG];
	for (int o = 0; o < NOBJ; o++) {
		swapobj_obj *h;
		swapobj_key k;
		key_of(&k, o);
		int err = swapobj_obj_open(&h, st, &k, NULL);
		if (!alive[o]) {
			ck_assert_msg(err == SWAPOBJ_ENOENT, "object %d should be gone (%d)", o, err);
			continue;
		}
		ck_assert_msg(err == 0, "object %d missing: %s", o, swapobj_errmsg());
		for (int p = 0; p < NPG; p++) {
			int64_t n = swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0);
			ck_assert_msg(n >= 0, "read %d/%d: %s", o, p, swapobj_errmsg());
			if (n < (int64_t)PG)
				memset(got + (n > 0 ? n : 0), 0, PG - (size_t)(n > 0 ? n : 0));
			if (want[o][p])
				tu_fill_page(exp, (uint64_t)o, (uint64_t)p, want[o][p]);
			else
				memset(exp, 0, PG);
			ck_assert_msg(memcmp(got, exp, PG) == 0, "object %d page %d: wrong content (want version %u)",
			              o, p, want[o][p]);
		}
		swapobj_obj_close(h);
	}
}

static struct swapobj_store_stat stat_of(swapobj_store *st)
{
	struct swapobj_store_stat ss;
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	return ss;
}

/* Flip one byte of the image at off. */
static void flip(uint64_t off)
{
	int fd = open(tu_img, O_RDWR);
	uint8_t b;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/* The first segment number listed by checkpoint slot i. */
static uint32_t slot_first_seg(unsigned i)
{
	uint8_t blk[CKPT_SLOT_SIZE];
	int fd = open(tu_img, O_RDONLY);
	ck_assert_int_eq(pread(fd, blk, sizeof(blk), CKPT_SLOT_OFF(i)), (ssize_t)sizeof(blk));
	close(fd);
	return (uint32_t)blk[CS_SEGS] | (uint32_t)blk[CS_SEGS + 1] << 8 | (uint32_t)blk[CS_SEGS + 2] << 16 |
	       (uint32_t)blk[CS_SEGS + 3] << 24;
}

/*
 * An object of npg pages outside check_all's set, so that segments fill and
 * seal before a checkpoint (the store has two HOT lanes and a segment ready
 * for each: a few pages alone would leave every segment open).
 */
static void ballast(swapobj_store *st, unsigned npg)
{
	struct swapobj_obj_opts op = SWAPOBJ_OBJ_OPTS_INIT;
	static uint8_t page[PG];
	swapobj_obj *h;
	swapobj_key k;
	op.flags = SWAPOBJ_O_CREATE;
	swapobj_key_anon(&k, 9, 998);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, &op), 0);
	for (unsigned p = 0; p < npg; p++) {
		tu_fill_page(page, 998, p, 1);
		ck_assert_int_eq(swapobj_obj_write(h, page, PG, (uint64_t)p * PG), PG);
	}
	swapobj_obj_close(h);
}

/*
 * A split 1 MiB segment (256 blocks) holds 242 pages: 2 header blocks, the
 * pages, and 6 pairs of stream blocks of 48 headers each (the first also
 * holds the SEGHDR's copy).
 */
#define SPLIT_1M_PAGES 242u

START_TEST(test_ckpt__reopen_uses_checkpoint_and_replays_only_the_tail)
{
	tu_format(64u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	for (int o = 0; o < NOBJ; o++)
		put(st, o, 0, NPG, 1);
	ballast(st, 2000);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	/* The tail: overwrites, a punch, a truncate-free delete, a new object, all synced. */
	put(st, 0, 5, 10, 2);
	punch(st, 1, 0, 8);
	swapobj_key k;
	key_of(&k, 2);
	ck_assert_int_eq(swapobj_delete(st, &k), 0);
	alive[2] = 0;
	memset(want[2], 0, sizeof(want[2]));
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	struct swapobj_store_stat s1 = stat_of(st);
	ck_assert_uint_eq(s1.checkpoints_written, 1);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	st = open_store(0);
	struct swapobj_store_stat s2 = stat_of(st);
	ck_assert_uint_eq(s2.from_checkpoint, 1);
	ck_assert_uint_eq(s2.checkpoint_fallbacks, 0);
	/* Only the segments written after the cut were read: far less than the store holds. */
	ck_assert_uint_lt(s2.replay_bytes, s1.used_bytes);
	ck_assert_uint_eq(s2.objects, NOBJ - 1 + 1); /* the ballast too */
	/*
	 * Segments the tail did not read keep a complete summary (the checkpoint
	 * says so), so the cleaner may free them unread once nothing in them is
	 * live.
	 */
	unsigned sealed = 0, known = 0;
	for (uint64_t i = 0; i < st->log.nsegs; i++) {
		const struct log_seg *g = &st->log.segs[i];
		if (g->state != SEG_SEALED || g->stream == SEG_STREAM_CKPT)
			continue;
		sealed++;
		known += g->known;
	}
	ck_assert_uint_gt(sealed, 0);
	ck_assert_uint_eq(known, sealed);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__tail_invalidation_and_cleaning_after_the_cut)
{
	tu_format(24u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	for (int o = 0; o < NOBJ; o++)
		put(st, o, 0, NPG, 1);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	/* Invalidate owner 1 (objects 0, 2, 4) and churn so the cleaner moves what the snapshot points at. */
	swapobj_key pfx;
	swapobj_key_init(&pfx);
	swapobj_key_push(&pfx, "anon", 4);
	swapobj_key_push_u64(&pfx, 1);
	ck_assert_int_eq(swapobj_invalidate(st, &pfx), 0);
	for (int o = 0; o < NOBJ; o += 2) {
		alive[o] = 0;
		memset(want[o], 0, sizeof(want[o]));
	}
	for (uint32_t v = 2; v < 40; v++) {
		put(st, 1, (int)(v % 7), 6, v);
		put(st, 3, (int)(v % 5), 4, v);
		if (v % 8 == 0)
			ck_assert_int_ge(swapobj_store_clean(st, 2), 0);
	}
	ck_assert_int_ge(swapobj_store_clean(st, 4), 0);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_uint_gt(stat_of(st).segments_cleaned, 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	st = open_store(0);
	ck_assert_uint_eq(stat_of(st).from_checkpoint, 1);
	check_all(st);
	/* Objects created under the prefix after the invalidation are new ones and stay. */
	put(st, 0, 0, 2, 77);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	st = open_store(1);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__damaged_newest_slot_falls_back_then_full_replay)
{
	tu_format(64u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	for (int o = 0; o < NOBJ; o++)
		put(st, o, 0, NPG, 1);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0); /* no 1: slot 1 */
	put(st, 3, 0, 4, 2);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0); /* no 2: slot 0 */
	put(st, 4, 4, 4, 3);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	flip(CKPT_SLOT_OFF(0) + 20); /* inside ckpt_no: the slot checksum fails */
	st = open_store(0);
	struct swapobj_store_stat ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 1);
	ck_assert_uint_eq(ss.checkpoint_fallbacks, 1);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	/* Damage the remaining checkpoint's body: no checkpoint left, the whole log is replayed. */
	uint32_t seg = slot_first_seg(1);
	flip((1u << 20) + (uint64_t)seg * (1u << 20) + 160); /* inside the first body record */
	st = open_store(0);
	ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 0);
	ck_assert_uint_eq(ss.checkpoint_fallbacks, 2);
	check_all(st);
	/* A new checkpoint is written over the damaged slot, and used. */
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	st = open_store(0);
	ck_assert_uint_eq(stat_of(st).from_checkpoint, 1);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__verify_reports_slots_and_bodies)
{
	tu_format(32u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	struct ckpt_check cc[2];
	ck_assert_int_eq(ckpt_verify(st, cc), 0);
	ck_assert_int_eq(cc[0].state, CKCHK_EMPTY);
	ck_assert_int_eq(cc[1].state, CKCHK_EMPTY);
	put(st, 0, 0, 8, 1);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	ck_assert_int_eq(ckpt_verify(st, cc), 0);
	ck_assert_int_eq(cc[1].state, CKCHK_OK);
	ck_assert_uint_eq(cc[1].no, 1);
	ck_assert_int_eq(cc[0].state, CKCHK_EMPTY);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	flip(CKPT_SLOT_OFF(0) + 100); /* garbage in the unused slot */
	uint32_t seg = slot_first_seg(1);
	flip((1u << 20) + (uint64_t)seg * (1u << 20) + 200);
	st = open_store(0);
	ck_assert_int_eq(ckpt_verify(st, cc), 0);
	ck_assert_int_eq(cc[0].state, CKCHK_BAD_SLOT);
	ck_assert_int_eq(cc[1].state, CKCHK_BAD_BODY);
	ck_assert_int_eq(ckpt_clear_slot(st, 0), 0);
	ck_assert_int_eq(ckpt_verify(st, cc), 0);
	ck_assert_int_eq(cc[0].state, CKCHK_EMPTY);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__errors_rdonly_and_full_store)
{
	tu_format(20u << 20, 1u << 20); /* 19 segments of 1 MiB */
	swapobj_store *st = open_store(0);
	ck_assert_int_eq(swapobj_store_checkpoint(NULL), SWAPOBJ_EINVAL);
	/* Fill until the store refuses. */
	struct swapobj_obj_opts op = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_obj *h;
	swapobj_key k;
	uint8_t buf[PG];
	op.flags = SWAPOBJ_O_CREATE;
	key_of(&k, 0);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, &op), 0);
	int64_t w = 0;
	for (uint64_t p = 0; w >= 0; p++) {
		tu_fill_page(buf, 0, p, 1);
		w = swapobj_obj_write(h, buf, PG, p * PG);
		if (w != PG)
			break;
	}
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	/* Full to its usable capacity, the store still has the room held for a checkpoint body. */
	int err = swapobj_store_checkpoint(st);
	ck_assert_msg(err == 0, "checkpoint on a full store: %d %s", err, swapobj_errmsg());
	/* The store goes on: sync works, the data reads back after reopen. */
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	ck_assert_int_eq(swapobj_store_open(&st, tu_paths, 1, &oo), 0);
	ck_assert_int_eq(swapobj_store_checkpoint(st), SWAPOBJ_EROFS);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, NULL), 0);
	ck_assert_int_eq(swapobj_obj_read(h, buf, PG, 0, 0), PG);
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

static swapobj_key k1(const char *a)
{
	swapobj_key k;
	swapobj_key_init(&k);
	swapobj_key_push(&k, a, strlen(a));
	return k;
}

static swapobj_key k2(const char *a, const char *b)
{
	swapobj_key k = k1(a);
	swapobj_key_push(&k, b, strlen(b));
	return k;
}

static uint64_t id_of(swapobj_store *st, swapobj_key k)
{
	swapobj_obj *h;
	struct swapobj_obj_stat os;
	if (swapobj_obj_open(&h, st, &k, NULL) != 0)
		return 0;
	swapobj_obj_stat(&os, sizeof(os), h);
	swapobj_obj_close(h);
	return os.id;
}

static void aux_is(swapobj_store *st, swapobj_key k, const char *want_aux)
{
	swapobj_obj *h;
	char buf[64] = {0};
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, NULL), 0);
	int n = swapobj_obj_get_aux(h, buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, (int)strlen(want_aux));
	ck_assert_str_eq(buf, want_aux);
	swapobj_obj_close(h);
}

START_TEST(test_ckpt__directories_aux_and_renames_through_snapshot_and_tail)
{
	tu_format(32u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	struct swapobj_obj_opts dopt = SWAPOBJ_OBJ_OPTS_INIT, file = SWAPOBJ_OBJ_OPTS_INIT;
	dopt.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR;
	dopt.aux = "dir-attrs";
	dopt.aux_len = 9;
	file.flags = SWAPOBJ_O_CREATE;
	swapobj_obj *h;
	uint8_t page[PG];
	tu_fill_page(page, 9, 0, 1);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &(swapobj_key){0}, &dopt), SWAPOBJ_EINVAL);
	swapobj_key kd = k1("d");
	ck_assert_int_eq(swapobj_obj_open(&h, st, &kd, &dopt), 0);
	swapobj_obj_close(h);
	const char *names[] = {"a", "b", "c", "x"};
	uint64_t ids[4];
	for (int i = 0; i < 4; i++) {
		swapobj_key k = k2("d", names[i]);
		ck_assert_int_eq(swapobj_obj_open(&h, st, &k, &file), 0);
		ck_assert_int_eq(swapobj_obj_write(h, page, PG, 0), PG);
		ck_assert_int_eq(swapobj_obj_set_aux(h, names[i], 1), 0);
		swapobj_obj_close(h);
		ids[i] = id_of(st, k);
	}
	/* In the snapshot: a rename and an aux change. */
	ck_assert_int_eq(swapobj_rename(st, &(swapobj_key){0}, &kd, 0), SWAPOBJ_EINVAL);
	swapobj_key ka = k2("d", "a"), kb = k2("d", "b"), kc = k2("d", "c"), kx = k2("d", "x"), kz = k2("d", "z");
	ck_assert_int_eq(swapobj_rename(st, &kx, &kz, 0), 0);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &kc, NULL), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(h, "c2", 2), 0);
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	/* In the tail: a rename over another object, an aux change, a new directory. */
	ck_assert_int_eq(swapobj_rename(st, &ka, &kb, 0), 0);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &kz, NULL), 0);
	ck_assert_int_eq(swapobj_obj_set_aux(h, "z3", 2), 0);
	swapobj_obj_close(h);
	swapobj_key ke = k2("d", "e");
	ck_assert_int_eq(swapobj_obj_open(&h, st, &ke, &dopt), 0);
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	for (int round = 0; round < 2; round++) {
		st = open_store(round); /* the second round's close takes a checkpoint: the third open uses it */
		ck_assert_uint_eq(stat_of(st).from_checkpoint, 1);
		ck_assert_uint_eq(id_of(st, ka), 0);
		ck_assert_uint_eq(id_of(st, kb), ids[0]); /* a replaced b */
		ck_assert_uint_eq(id_of(st, kc), ids[2]);
		ck_assert_uint_eq(id_of(st, kx), 0);
		ck_assert_uint_eq(id_of(st, kz), ids[3]);
		aux_is(st, kb, "a");
		aux_is(st, kc, "c2");
		aux_is(st, kz, "z3");
		aux_is(st, kd, "dir-attrs");
		swapobj_key kd2 = kd;
		ck_assert_int_eq(swapobj_delete(st, &kd2), SWAPOBJ_ENOTEMPTY);
		ck_assert_int_eq(swapobj_obj_open(&h, st, &ke, NULL), 0);
		struct swapobj_obj_stat os;
		swapobj_obj_stat(&os, sizeof(os), h);
		ck_assert(os.flags & SWAPOBJ_O_DIR);
		swapobj_obj_close(h);
		ck_assert_int_eq(swapobj_obj_open(&h, st, &kb, NULL), 0);
		uint8_t got[PG];
		ck_assert_int_eq(swapobj_obj_read(h, got, PG, 0, 0), PG);
		ck_assert_int_eq(memcmp(got, page, PG), 0);
		swapobj_obj_close(h);
		ck_assert_int_eq(swapobj_store_close(st), 0);
	}
	st = open_store(0);
	ck_assert_uint_eq(id_of(st, kb), ids[0]);
	aux_is(st, kz, "z3");
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * Churn: write an object of most of the usable capacity, sync, delete it,
 * again, several times the capacity over. Every segment then holds dead
 * data and only the segments user writes never take are free, which is
 * where checkpoints used to stop for want of a segment for their body.
 */
#define CHURN_CKPT_BYTES (2ull << 20) /* checkpoint interval (open option) */
#define CHURN_ROUNDS 8

struct churn_report {
	int err;      /* 0, or the SWAPOBJ_E* code of the step that failed */
	int line;     /* where */
	uint64_t pgs; /* pages of the last churn object (kept) */
	int paced;    /* the writer waited for the checkpoints all along (no wait timed out) */
	struct swapobj_store_stat ss;
};

/*
 * Keep the writer from outrunning the maintenance thread, as a store that is
 * not overloaded would: after each interval written, sync (so that the
 * interval is on the device, which is what makes a checkpoint due) and wait
 * (at most 10 s: a loaded CI machine) for a checkpoint newer than the last one seen. Timing out
 * stops the pacing (no checkpoints come: the test fails, quickly).
 */
static int churn_pace(swapobj_store *st, uint64_t *seen, int *paced)
{
	struct swapobj_store_stat ss;
	int err = swapobj_store_sync(st);
	for (int i = 0; err == 0 && *paced && i < 10000; i++) {
		if ((err = swapobj_store_stat(&ss, sizeof(ss), st)) < 0)
			return err;
		if (ss.checkpoints_written > *seen) {
			*seen = ss.checkpoints_written;
			return 0;
		}
		usleep(1000);
	}
	*paced = 0;
	return 0;
}

#define CHURN_TRY(x)                                                                                                   \
	do {                                                                                                           \
		int64_t rc_ = (x);                                                                                     \
		if (rc_ < 0) {                                                                                         \
			rep->err = (int)rc_;                                                                           \
			rep->line = __LINE__;                                                                          \
			goto done;                                                                                     \
		}                                                                                                      \
	} while (0)

static void churn_key(swapobj_key *k)
{
	swapobj_key_anon(k, 9, 999); /* not one of check_all's objects */
}

/* Runs in a child that is then killed: no Check assertions here, the report says what went wrong. */
static void churn(struct churn_report *rep)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_obj_opts op = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_store *st = NULL;
	swapobj_obj *h;
	swapobj_key k;
	static uint8_t buf[64 * PG];
	oo.checkpoint_bytes = CHURN_CKPT_BYTES;
	op.flags = SWAPOBJ_O_CREATE;
	memset(rep, 0, sizeof(*rep));
	CHURN_TRY(swapobj_store_open(&st, tu_paths, 1, &oo));
	/* A small object that lives through it all (check_all's object 5, pages 0..3, version 1). */
	key_of(&k, 5);
	CHURN_TRY(swapobj_obj_open(&h, st, &k, &op));
	for (unsigned i = 0; i < 4; i++) {
		tu_fill_page(buf, 5, i, 1);
		CHURN_TRY(swapobj_obj_write(h, buf, PG, (uint64_t)i * PG));
	}
	swapobj_obj_close(h);
	CHURN_TRY(swapobj_store_stat(&rep->ss, sizeof(rep->ss), st));
	/* Three quarters of the usable capacity, in records of 4160 bytes, whole 64-page writes. */
	uint64_t npg = rep->ss.usable_bytes * 3 / 4 / (PG + 64) / 64 * 64, seen = 0, since = 0;
	rep->paced = 1;
	churn_key(&k);
	for (int round = 0; round < CHURN_ROUNDS; round++) {
		CHURN_TRY(swapobj_obj_open(&h, st, &k, &op));
		for (uint64_t p = 0; p < npg; p += 64) {
			for (unsigned i = 0; i < 64; i++)
				tu_fill_page(buf + i * PG, 0, p + i, (uint64_t)round + 1);
			CHURN_TRY(swapobj_obj_write(h, buf, sizeof(buf), p * PG));
			if ((since += sizeof(buf)) >= CHURN_CKPT_BYTES) {
				CHURN_TRY(churn_pace(st, &seen, &rep->paced));
				since = 0;
			}
		}
		swapobj_obj_close(h);
		CHURN_TRY(swapobj_store_sync(st));
		if (round + 1 < CHURN_ROUNDS)
			CHURN_TRY(swapobj_delete(st, &k));
	}
	rep->pgs = npg;
	CHURN_TRY(swapobj_store_sync(st));
	CHURN_TRY(swapobj_store_stat(&rep->ss, sizeof(rep->ss), st));
done:
	return; /* no close: the caller is killed with the store open */
}

START_TEST(test_ckpt__churned_store_keeps_checkpointing_so_reopen_after_kill_replays_one_interval)
{
	tu_format(32u << 20, 1u << 20);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static struct churn_report rep;
		close(fds[0]);
		churn(&rep);
		if (write(fds[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(3);
		kill(getpid(), SIGKILL); /* kill -9: no close, no checkpoint at close, nothing flushed */
		_exit(4);
	}
	close(fds[1]);
	struct churn_report rep;
	ssize_t got = read(fds[0], &rep, sizeof(rep));
	close(fds[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child did not die by SIGKILL (%d)", status);
	ck_assert_int_eq(got, (ssize_t)sizeof(rep));
	ck_assert_msg(rep.err == 0, "churn failed at line %d: %d", rep.line, rep.err);
	ck_assert_msg(rep.paced, "the writer waited more than 10 s for a checkpoint");
	/* Several times the capacity went through the store. */
	ck_assert_uint_ge(rep.ss.user_bytes_written, 3 * rep.ss.capacity_bytes);
	ck_assert_uint_gt(rep.ss.segments_cleaned, rep.ss.segments);
	/* Checkpoints went on all along (by volume: one per interval), and none failed. */
	ck_assert_uint_gt(rep.ss.checkpoints_written, rep.ss.device_bytes_written / CHURN_CKPT_BYTES / 2);
	ck_assert_uint_eq(rep.ss.checkpoint_failures, 0);
	ck_assert_int_eq(rep.ss.checkpoint_last_error, 0);
	ck_assert_uint_gt(rep.ss.checkpoint_time_ns, 0);

	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.checkpoint_bytes = UINT64_MAX;
	swapobj_store *st = tu_store_open(&oo);
	struct swapobj_store_stat ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 1);
	ck_assert_uint_eq(ss.checkpoint_fallbacks, 0);
	/*
	 * The tail: about one checkpoint interval. At most what was written
	 * since the cut of the newest checkpoint, which began after the last
	 * pause: two intervals, with the segments open at the cut read whole.
	 */
	ck_assert_msg(ss.replay_bytes <= 2 * CHURN_CKPT_BYTES + 4 * ss.segment_size, "replayed %llu bytes of log",
	              (unsigned long long)ss.replay_bytes);
	/* Everything synced is there: the small object and the last churn object. */
	want[5][0] = want[5][1] = want[5][2] = want[5][3] = 1;
	alive[5] = 1;
	check_all(st);
	swapobj_obj *h;
	swapobj_key k;
	uint8_t got_pg[PG], exp[PG];
	churn_key(&k);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, NULL), 0);
	for (uint64_t p = 0; p < rep.pgs; p += 97) {
		ck_assert_int_eq(swapobj_obj_read(h, got_pg, PG, p * PG, 0), PG);
		tu_fill_page(exp, 0, p, CHURN_ROUNDS);
		ck_assert_msg(memcmp(got_pg, exp, PG) == 0, "churn object page %llu", (unsigned long long)p);
	}
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__failed_checkpoint_is_counted_with_its_error_and_time_of_last_kept)
{
	tu_format(32u << 20, 1u << 20);
	iofault_install();
	swapobj_store *st = open_store(0);
	put(st, 0, 0, 8, 1);
	struct swapobj_store_stat ss = stat_of(st);
	ck_assert_uint_eq(ss.checkpoint_time_ns, 0); /* a fresh store has none */
	ck_assert_uint_eq(ss.checkpoint_failures, 0);
	ck_assert_int_eq(ss.checkpoint_last_error, 0);

	struct timespec t0, t1;
	clock_gettime(CLOCK_REALTIME, &t0);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	clock_gettime(CLOCK_REALTIME, &t1);
	uint64_t made = stat_of(st).checkpoint_time_ns;
	ck_assert_uint_ge(made, (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec);
	ck_assert_uint_le(made, (uint64_t)t1.tv_sec * 1000000000u + (uint64_t)t1.tv_nsec);

	/* The device fails the checkpoint's sync: the attempt fails, is counted, and keeps its error. */
	put(st, 1, 0, 8, 1);
	iofault_arm(IOFAULT_SYNC_EIO, 1);
	int err = swapobj_store_checkpoint(st);
	ck_assert(iofault_fired());
	/* EIO, or EROFS if a background sync met the fault first: the checkpoint failed either way. */
	ck_assert_msg(err == SWAPOBJ_EIO || err == SWAPOBJ_EROFS, "checkpoint: %d", err);
	ss = stat_of(st);
	ck_assert_uint_eq(ss.checkpoint_failures, 1);
	ck_assert_int_eq(ss.checkpoint_last_error, err);
	ck_assert_uint_eq(ss.checkpoint_time_ns, made); /* still the last one taken */
	ck_assert_uint_eq(ss.readonly, 1);
	/* A store that is read-only is not asked again (readonly says why): no new failure. */
	ck_assert_int_eq(swapobj_store_checkpoint(st), SWAPOBJ_EROFS);
	ss = stat_of(st);
	ck_assert_uint_eq(ss.checkpoint_failures, 1);
	ck_assert_int_eq(ss.checkpoint_last_error, err);
	swapobj_store_close(st);
	iofault_arm(IOFAULT_NONE, 0);
	iofault_uninstall();

	/* The open loads that checkpoint and reports when it was taken; a new open has no failures. */
	st = open_store(0);
	ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 1);
	ck_assert_uint_eq(ss.checkpoint_time_ns, made);
	ck_assert_uint_eq(ss.checkpoint_failures, 0);
	ck_assert_int_eq(ss.checkpoint_last_error, 0);
	alive[0] = 1;
	for (int p = 0; p < 8; p++)
		want[0][p] = 1;
	alive[1] = 0; /* not synced before the failure: may or may not be there; not checked */
	swapobj_obj *h;
	uint8_t got[PG], exp[PG];
	swapobj_key k;
	key_of(&k, 0);
	ck_assert_int_eq(swapobj_obj_open(&h, st, &k, NULL), 0);
	for (int p = 0; p < 8; p++) {
		ck_assert_int_eq(swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0), PG);
		tu_fill_page(exp, 0, (uint64_t)p, 1);
		ck_assert_int_eq(memcmp(got, exp, PG), 0);
	}
	swapobj_obj_close(h);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * Many small objects with large aux data make a checkpoint body larger than
 * the room first held for it (1/512 of the store: one segment here). The
 * checkpoint still goes through, the room grows to the body (so the next
 * one finds it), the usable capacity shrinks to keep three bodies out of
 * what users may fill, and the next open, loading that body, holds as much.
 */
START_TEST(test_ckpt__a_body_larger_than_its_room_grows_the_room_and_shrinks_usable)
{
	tu_format(32u << 20, 1u << 20); /* 31 segments of 1 MiB */
	swapobj_store *st = open_store(0);
	struct swapobj_store_stat s0 = stat_of(st);
	uint64_t payload = SPLIT_1M_PAGES * REC_DATA_SIZE;
	ck_assert_uint_eq(st->log.ckpt_body, 1);
	ck_assert_uint_eq(s0.usable_bytes, (31 - LOG_RESERVE_SEGS - LOG_CLEAN_AHEAD - LOG_NSTREAMS - 3) * payload);
	static char aux[AUX_MAX];
	struct swapobj_obj_opts op = SWAPOBJ_OBJ_OPTS_INIT;
	uint8_t page[PG];
	op.flags = SWAPOBJ_O_CREATE;
	op.aux = aux;
	op.aux_len = 3000;
	for (unsigned i = 0; i < 800; i++) {
		swapobj_obj *h;
		swapobj_key k;
		swapobj_key_anon(&k, 7, i);
		memset(aux, (int)(i & 0xff), sizeof(aux));
		ck_assert_msg(swapobj_obj_open(&h, st, &k, &op) == 0, "object %u: %s", i, swapobj_errmsg());
		tu_fill_page(page, 7, i, 1);
		ck_assert_int_eq(swapobj_obj_write(h, page, PG, 0), PG);
		swapobj_obj_close(h);
	}
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	struct swapobj_store_stat s1 = stat_of(st);
	uint64_t body = st->log.ckpt_body;
	ck_assert_uint_gt(s1.checkpoint_bytes, 2u << 20); /* over two segments' worth */
	ck_assert_uint_ge(body, 3);
	ck_assert_uint_eq(s1.usable_bytes,
	                  (31 - LOG_RESERVE_SEGS - LOG_CLEAN_AHEAD - LOG_NSTREAMS - 3 * body) * payload);
	ck_assert_uint_eq(s1.checkpoint_failures, 0);
	/* The room is held free again for the next one, and it goes through too. */
	ck_assert_uint_eq(s1.reserved_bytes, (LOG_RESERVE_SEGS + body) << 20);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);

	st = open_store(0);
	struct swapobj_store_stat s2 = stat_of(st);
	ck_assert_uint_eq(s2.from_checkpoint, 1);
	ck_assert_uint_eq(s2.objects, 800);
	ck_assert_uint_eq(st->log.ckpt_body, body);
	ck_assert_uint_eq(s2.usable_bytes, s1.usable_bytes);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

/*
 * A checkpointed segment whose header is damaged (media damage after the
 * cut) must stay in use: the loaded index still points into it. Freed, the
 * next writes would take it and overwrite live pages.
 */
/*
 * A split segment's header has copies in block 1 and at the head of its
 * record stream (both copies of it, in the last two blocks): damage to
 * some of them loses nothing; with all four damaged the segment is kept in
 * use as above.
 */
static void damaged_header(bool all)
{
	tu_format(64u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	for (int o = 0; o < NOBJ; o++)
		put(st, o, 0, NPG, 1);
	ballast(st, 1000);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	uint64_t devoff = 0;
	uint32_t segno = 0;
	for (uint64_t i = 0; i < st->log.nsegs && !devoff; i++) {
		const struct log_seg *g = &st->log.segs[i];
		if (g->state == SEG_SEALED && g->stream != SEG_STREAM_CKPT && g->live > 0 && g->split) {
			devoff = log_seg_devoff(&st->log, g);
			segno = g->segno;
		}
	}
	ck_assert_uint_gt(devoff, 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	flip(devoff + RH_SEG_GEN); /* the SEGHDR record's header no longer checks out */
	if (all) {
		flip(devoff + IO_ALIGN + RH_SEG_GEN);
		flip(devoff + (1u << 20) - 2 * IO_ALIGN + RH_SEG_GEN);
		flip(devoff + (1u << 20) - IO_ALIGN + RH_SEG_GEN);
	}

	st = open_store(0);
	struct swapobj_store_stat ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 1);
	if (all)
		ck_assert_uint_ge(ss.damaged_records, 1);
	else
		ck_assert_uint_eq(ss.damaged_records, 0);
	ck_assert_uint_eq(st->log.segs[segno].state, SEG_SEALED);
	ck_assert_msg(space_check(st) == 0, "%s", swapobj_errmsg());
	check_all(st);
	/* Churn several times the free space: the damaged segment is never handed out while live. */
	for (uint32_t v = 2; v < 40; v++)
		put(st, NOBJ - 1, 0, NPG, v);
	ck_assert_int_eq(swapobj_store_sync(st), 0);
	ck_assert_msg(space_check(st) == 0, "%s", swapobj_errmsg());
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	st = open_store(0);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}

/*
 * After an open from a checkpoint a sealed split segment's page checks are
 * read from its stream on the first read of one of its pages: with copy A
 * of the stream damaged there, copy B serves, and every page reads back.
 */
START_TEST(test_ckpt__page_checks_load_from_copy_b_when_copy_a_is_damaged)
{
	tu_format(64u << 20, 1u << 20);
	swapobj_store *st = open_store(0);
	for (int o = 0; o < NOBJ; o++)
		put(st, o, 0, NPG, 1);
	ballast(st, 1000);
	ck_assert_int_eq(swapobj_store_checkpoint(st), 0);
	uint64_t devoff = 0;
	for (uint64_t i = 0; i < st->log.nsegs && !devoff; i++) {
		const struct log_seg *g = &st->log.segs[i];
		if (g->state == SEG_SEALED && g->stream != SEG_STREAM_CKPT && g->live > 0 && g->split)
			devoff = log_seg_devoff(&st->log, g);
	}
	ck_assert_uint_gt(devoff, 0);
	ck_assert_int_eq(swapobj_store_close(st), 0);
	/* Copy A of the stream's first block: every record header in its first 4 KiB. */
	for (uint32_t off = SEGHDR_REC_SIZE; off < IO_ALIGN; off += REC_ALIGN)
		flip(devoff + (1u << 20) - 2 * IO_ALIGN + off + 4);
	st = open_store(0);
	struct swapobj_store_stat ss = stat_of(st);
	ck_assert_uint_eq(ss.from_checkpoint, 1);
	check_all(st);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}
END_TEST

START_TEST(test_ckpt__damaged_segment_header_keeps_the_checkpointed_segment_in_use)
{
	damaged_header(true);
}
END_TEST

START_TEST(test_ckpt__a_damaged_segment_header_is_replaced_by_its_copy)
{
	damaged_header(false);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("ckpt");
	const struct tu_case_opts opts_ckpt = {.setup = setup, .teardown = tu_store_teardown, .timeout = 300};
	tu_add(s, test_ckpt__reopen_uses_checkpoint_and_replays_only_the_tail, &opts_ckpt);
	tu_add(s, test_ckpt__tail_invalidation_and_cleaning_after_the_cut, &opts_ckpt);
	tu_add(s, test_ckpt__damaged_newest_slot_falls_back_then_full_replay, &opts_ckpt);
	tu_add(s, test_ckpt__verify_reports_slots_and_bodies, &opts_ckpt);
	tu_add(s, test_ckpt__errors_rdonly_and_full_store, &opts_ckpt);
	tu_add(s, test_ckpt__directories_aux_and_renames_through_snapshot_and_tail, &opts_ckpt);
	tu_add(s, test_ckpt__damaged_segment_header_keeps_the_checkpointed_segment_in_use, &opts_ckpt);
	tu_add(s, test_ckpt__a_damaged_segment_header_is_replaced_by_its_copy, &opts_ckpt);
	tu_add(s, test_ckpt__page_checks_load_from_copy_b_when_copy_a_is_damaged, &opts_ckpt);
	tu_add(s, test_ckpt__churned_store_keeps_checkpointing_so_reopen_after_kill_replays_one_interval, &opts_ckpt);
	tu_add(s, test_ckpt__failed_checkpoint_is_counted_with_its_error_and_time_of_last_kept, &opts_ckpt);
	tu_add(s, test_ckpt__a_body_larger_than_its_room_grows_the_room_and_shrinks_usable, &opts_ckpt);
	return tu_run(s, argc, argv);
}
