/*
 * test_faults.c - device errors injected under a store.
 *
 * The fault-injecting backend (io_fault.h) passes I/O through to the image
 * file and fails exactly one call: the N-th write (EIO, ENOSPC, or a short
 * write that stores part of its data and then fails), the N-th fsync (EIO),
 * the N-th read (EIO) or the N-th discard (EIO, with SWAPOBJ_OPEN_DISCARD).
 * A random workload with periodic syncs runs over it, for many N. Then:
 *  - the call that meets the fault returns a clear error (EIO, ENOSPC), or
 *    EROFS if a background thread met it first;
 *  - after a write or sync fault the store is read-only for good: every
 *    later modifying call returns SWAPOBJ_EROFS with a message saying so;
 *    reads keep working;
 *  - closing works; reopening without the fault works, every page holds
 *    what the last acknowledged sync left or a version written after it
 *    (or zeros, if punched after it), never anything else, and the store
 *    checks without errors.
 * A read fault must not corrupt anything either: the call that meets it
 * fails with EIO and the store stays consistent. A discard is a hint: its
 * failure fails no call, leaves the store writable and stops discards on
 * that device.
 *
 * SWAPOBJ_SEED moves the seeds; SWAPOBJ_LONG=1 tries 10x more fault points.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsck.h"
#include "io.h"
#include "io_fault.h"
#include "store_types.h"
#include "swapobj.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u
#define NOBJ 4
#define NPAGES 192
#define NOPS 400

/* ------------------------------------------------------------------ */
/* Workload and model                                                  */
/* ------------------------------------------------------------------ */

static struct tu_pstate pages[NOBJ][NPAGES];
static uint32_t next_ver;
static int objs_synced;

static struct {
	uint64_t runs, fired, failed_calls, sticky_checked, open_failed;
	uint64_t lost_accepted; /* reopens that found regions lost in both copies: swapobj-fsck -y accepted them */
} stats;
static uint64_t reads_at_open; /* device reads the last open made */
static unsigned open_flags;    /* SWAPOBJ_OPEN_DISCARD for the discard faults */

static uint8_t *base;
static size_t base_len;

/* Pages of object obj carry tag obj + 100. */
static void page_of(uint8_t *p, int obj, uint64_t pg, uint32_t ver)
{
	tu_vpage_fill(p, (uint64_t)obj + 100, pg, ver);
}

static void ack_sync(void)
{
	for (int o = 0; o < NOBJ; o++)
		tu_pstate_ack(pages[o], NPAGES);
}

static void setup(void)
{
	tu_store_setup();
	tu_format(16 << 20, 1 << 20);
	base = tu_read_file(tu_img, &base_len);
}

static void teardown(void)
{
	tu_store_teardown();
	free(base);
}

/* An error a faulty device may cause. */
static bool device_error(int err)
{
	return err == SWAPOBJ_EIO || err == SWAPOBJ_ENOSPC || err == SWAPOBJ_EROFS;
}

/* Every modifying call of a store turned read-only gets EROFS, with a message; reads still work. */
static void assert_sticky(swapobj_store *st, swapobj_obj **h, const char *ctx)
{
	uint8_t p[PG];
	swapobj_key k;
	swapobj_obj *o;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	struct swapobj_store_stat ss;
	memset(p, 7, PG);
	int64_t rc[9];
	rc[0] = swapobj_obj_write(h[0], p, PG, 0);
	rc[1] = swapobj_obj_punch(h[1], 0, PG);
	rc[2] = swapobj_obj_truncate(h[2], PG);
	rc[3] = swapobj_obj_set_pin(h[3], 1);
	rc[4] = swapobj_store_sync(st);
	oo.flags = SWAPOBJ_O_CREATE;
	swapobj_key_anon(&k, 77, 77);
	rc[5] = swapobj_obj_open(&o, st, &k, &oo);
	swapobj_key_anon(&k, 1, 0);
	swapobj_key pre;
	swapobj_key_prefix(&pre, &k, 2);
	rc[6] = swapobj_invalidate(st, &pre);
	rc[7] = swapobj_store_clean(st, 1);
	rc[8] = swapobj_obj_delete(h[0]);
	for (int i = 0; i < 9; i++) {
		ck_assert_msg(rc[i] == SWAPOBJ_EROFS,
		              "%s: modifying call %d after the failure returned %lld, not EROFS", ctx, i,
		              (long long)rc[i]);
	}
	ck_assert_msg(strstr(swapobj_errmsg(), "read-only"), "%s: message '%s'", ctx, swapobj_errmsg());
	ck_assert_int_eq(swapobj_store_stat(&ss, sizeof(ss), st), 0);
	ck_assert_msg(ss.readonly == 1, "%s: stat does not say read-only", ctx);
	int64_t n = swapobj_obj_read(h[1], p, PG, 0, 0);
	ck_assert_msg(n >= 0, "%s: read after the failure: %s", ctx, swapobj_errmsg());
}

/*
 * Run the workload with the fault armed. Returns the calls of each class
 * the run made (for calibration), through *counts.
 */
static void workload(uint64_t seed, enum iofault_kind kind, uint64_t at, const char *ctx, struct iofault_counts *counts)
{
	struct tu_rng r;
	swapobj_store *st;
	swapobj_obj *h[NOBJ];
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	uint8_t buf[8 * PG];
	tu_rng_init(&r, seed);
	memset(pages, 0, sizeof(pages));
	next_ver = 1;
	objs_synced = 0;
	tu_write_file(tu_img, base, base_len);
	iofault_arm(kind, at);
	iofault_install();
	struct swapobj_open_opts op = SWAPOBJ_OPEN_OPTS_INIT;
	op.flags = open_flags;
	int err = swapobj_store_open(&st, tu_paths, 1, &op);
	stats.runs++;
	if (err != 0) {
		ck_assert_msg(iofault_fired() && device_error(err), "%s: open failed without the fault: %s", ctx,
		              swapobj_errmsg());
		stats.open_failed++;
		goto out;
	}
	struct iofault_counts at_open;
	iofault_get_counts(&at_open);
	reads_at_open = at_open.reads;
	oo.flags = SWAPOBJ_O_CREATE;
	int nh = 0;
	for (; nh < NOBJ; nh++) {
		swapobj_key k;
		swapobj_key_anon(&k, 1, (uint64_t)nh);
		if ((err = swapobj_obj_open(&h[nh], st, &k, &oo)) != 0)
			break;
	}
	if (err == 0 && (err = swapobj_store_sync(st)) == 0) {
		ack_sync();
		objs_synced = 1;
	}
	int failed_at = -1;
	for (int i = 0; i < NOPS && err == 0; i++) {
		int o = (int)tu_rng_below(&r, NOBJ);
		uint64_t what = tu_rng_below(&r, 100);
		if (what < 60) {
			/* Enough volume that older segments are written out and reads reach the device. */
			uint64_t pg = tu_rng_below(&r, NPAGES - 8), n = 1 + tu_rng_below(&r, 8);
			uint32_t v0 = next_ver;
			for (uint64_t j = 0; j < n; j++)
				page_of(buf + j * PG, o, pg + j, next_ver++);
			int64_t w = swapobj_obj_write(h[o], buf, n * PG, pg * PG);
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_write(&pages[o][pg + j], v0 + (uint32_t)j, w == (int64_t)(n * PG));
			err = w == (int64_t)(n * PG) ? 0 : w < 0 ? (int)w : SWAPOBJ_EIO;
		} else if (what < 70) {
			uint64_t pg = tu_rng_below(&r, NPAGES - 8), n = 1 + tu_rng_below(&r, 8);
			err = swapobj_obj_punch(h[o], pg * PG, n * PG);
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_punch(&pages[o][pg + j], err == 0);
		} else if (what < 80) {
			/* Reads: what the model says, or EIO from an injected read fault. */
			for (int j = 0; j < 4; j++) {
				uint64_t pg = tu_rng_below(&r, NPAGES);
				int64_t n = swapobj_obj_read(h[o], buf, PG, pg * PG, 0);
				if (n < 0) {
					ck_assert_msg(n == SWAPOBJ_EIO && iofault_fired(), "%s: read failed: %s", ctx,
					              swapobj_errmsg());
					stats.failed_calls++;
					continue; /* a failed read changes nothing */
				}
				uint8_t want[PG];
				if (pages[o][pg].cur)
					page_of(want, o, pg, pages[o][pg].cur);
				else
					memset(want, 0, PG);
				if (n < (int64_t)PG)
					memset(buf + n, 0, PG - (size_t)n);
				ck_assert_msg(memcmp(buf, want, PG) == 0, "%s: object %d page %llu reads wrong data",
				              ctx, o, (unsigned long long)pg);
			}
		} else if (what < 92) {
			if ((err = swapobj_store_sync(st)) == 0)
				ack_sync();
		} else {
			int c = swapobj_store_clean(st, 1);
			err = c < 0 ? c : 0;
			if (err == SWAPOBJ_EIO && kind == IOFAULT_READ_EIO)
				err = 0; /* the cleaner met the read fault: it gives up this pass, nothing is lost */
		}
		if (err)
			failed_at = i;
	}
	if (err) {
		stats.failed_calls++;
		ck_assert_msg(iofault_fired(), "%s: op %d failed without the fault: %s", ctx, failed_at,
		              swapobj_errmsg());
		ck_assert_msg(device_error(err), "%s: op %d failed with %d (%s), not a device error", ctx, failed_at,
		              err, swapobj_errmsg());
	}
	if (kind == IOFAULT_DISCARD_EIO) {
		/* A discard is a hint: its failure stops discards on the device, and fails nothing. */
		struct iofault_counts c;
		iofault_get_counts(&c);
		ck_assert_msg(err == 0, "%s: a call failed after a failed discard: %s", ctx, swapobj_errmsg());
		ck_assert_msg(!__atomic_load_n(&st->log.sticky_err, __ATOMIC_ACQUIRE),
		              "%s: a failed discard made the store read-only", ctx);
		ck_assert_msg(!iofault_fired() || c.discards == at, "%s: %llu discards after the failed one", ctx,
		              (unsigned long long)(c.discards - at));
	} else if (iofault_fired() && kind != IOFAULT_READ_EIO && nh == NOBJ) {
		/* A write or sync failure, here or in a background thread: read-only from now on. */
		for (int i = 0; i < 200 && !__atomic_load_n(&st->log.sticky_err, __ATOMIC_ACQUIRE); i++)
			usleep(5000);
		if (__atomic_load_n(&st->log.sticky_err, __ATOMIC_ACQUIRE)) {
			assert_sticky(st, h, ctx);
			stats.sticky_checked++;
		} else
			ck_assert_msg(err == 0, "%s: the store failed but is not read-only", ctx);
	}
	for (int i = 0; i < nh; i++)
		swapobj_obj_close(h[i]);
	if (swapobj_store_close(st) == 0 && !iofault_fired())
		ack_sync();
out:
	iofault_uninstall();
	stats.fired += iofault_fired();
	if (counts)
		iofault_get_counts(counts);
}

/* Keep the image for a post-mortem (swapobj-fsck, swapobj-dump) of a failed run. */
static void keep_image(const char *ctx)
{
	size_t len;
	uint8_t *im = tu_read_file(tu_img, &len);
	char *keep;
	const char *t = getenv("TMPDIR");
	if (asprintf(&keep, "%s/swapobj-faults-failed.img", t && *t ? t : "/tmp") < 0)
		abort();
	tu_write_file(keep, im, len);
	fprintf(stderr, "%s: image kept as %s\n", ctx, keep);
	free(keep);
	free(im);
}

/* Reopened without the fault: acknowledged data intact, nothing garbage, and the checker finds no error. */
static void verify(const char *ctx)
{
	swapobj_store *st;
	uint8_t got[PG];
	int err = swapobj_store_open(&st, tu_paths, 1, NULL);
	ck_assert_msg(err == 0, "%s: reopen failed: %s", ctx, swapobj_errmsg());
	if (st->log.lost_regions) {
		/*
		 * Regions of a split segment's stream the failed writes left
		 * illegible in both copies, which replay cannot tell from damage
		 * below the durable point: the store refuses reads until the
		 * checker's repair retires them. After it, nothing synced may be
		 * missing (what was lost was never acknowledged).
		 */
		struct fsck_result r;
		struct fsck_opts fo = {0};
		fo.flags = FSCK_SERIAL | FSCK_REPAIR;
		ck_assert_int_eq(swapobj_store_close(st), 0);
		ck_assert_msg(fsck_run(tu_paths, 1, &fo, &r) == 0, "%s: repair failed: %s", ctx, swapobj_errmsg());
		/* (A lost region for the checker, or bytes in one copy where the other is blank, which replay counts
		 * too.) */
		ck_assert_msg(r.errors > 0 && fsck_errors_left(&r) == 0,
		              "%s: the library lost regions; the checker reports %llu errors, %llu left", ctx,
		              (unsigned long long)r.errors, (unsigned long long)fsck_errors_left(&r));
		fsck_result_free(&r);
		stats.lost_accepted++;
		err = swapobj_store_open(&st, tu_paths, 1, NULL);
		ck_assert_msg(err == 0, "%s: reopen after the repair failed: %s", ctx, swapobj_errmsg());
		ck_assert_msg(!st->log.lost_regions, "%s: lost regions left after the repair", ctx);
	}
	for (int o = 0; o < NOBJ; o++) {
		swapobj_key k;
		swapobj_obj *h;
		swapobj_key_anon(&k, 1, (uint64_t)o);
		err = swapobj_obj_open(&h, st, &k, NULL);
		if (err == SWAPOBJ_ENOENT && !objs_synced)
			continue;
		ck_assert_msg(err == 0, "%s: object %d lost: %s", ctx, o, swapobj_errmsg());
		for (int p = 0; p < NPAGES; p++) {
			struct tu_pstate *ps = &pages[o][p];
			int64_t n = swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0);
			if (n < 0) {
				char msg[300];
				snprintf(msg, sizeof(msg), "%s", swapobj_errmsg());
				keep_image(ctx);
				ck_abort_msg("%s: object %d page %d: %s", ctx, o, p, msg);
			}
			if (n < (int64_t)PG)
				memset(got + n, 0, PG - (size_t)n);
			int64_t v = tu_vpage_version(got, (uint64_t)o + 100, (uint64_t)p);
			ck_assert_msg(v >= 0, "%s: object %d page %d holds garbage", ctx, o, p);
			ck_assert_msg(tu_pstate_allows(ps, (uint32_t)v),
			              "%s: object %d page %d is version %u; synced %u, written since up to %u", ctx, o,
			              p, (uint32_t)v, ps->synced, ps->maxver);
		}
		swapobj_obj_close(h);
	}
	ck_assert_int_eq(swapobj_store_close(st), 0);
	struct fsck_result r;
	struct fsck_opts fo = {0};
	fo.flags = FSCK_SERIAL;
	ck_assert_msg(fsck_run(tu_paths, 1, &fo, &r) == 0, "%s: check failed: %s", ctx, swapobj_errmsg());
	if (r.errors) {
		keep_image(ctx);
		for (uint64_t i = 0; i < r.nproblems; i++)
			fprintf(stderr, "  %s: %s\n", fsck_kind_name(r.problems[i].kind), r.problems[i].msg);
		ck_abort_msg("%s: the checker finds %llu errors", ctx, (unsigned long long)r.errors);
	}
	fsck_result_free(&r);
}

static void sweep(enum iofault_kind kind)
{
	uint64_t seed0 = tu_seed(777);
	struct iofault_counts counts;
	char ctx[160];
	open_flags = kind == IOFAULT_DISCARD_EIO ? SWAPOBJ_OPEN_DISCARD : 0;
	/* Calibrate: how many calls of each class does a run without faults make? */
	snprintf(ctx, sizeof(ctx), "seed %llu, no fault", (unsigned long long)seed0);
	workload(seed0, IOFAULT_NONE, 0, ctx, &counts);
	verify(ctx);
	uint64_t total = kind == IOFAULT_SYNC_EIO      ? counts.syncs
	                 : kind == IOFAULT_READ_EIO    ? counts.reads
	                 : kind == IOFAULT_DISCARD_EIO ? counts.discards
	                                               : counts.writes;
	/* Read faults: a few at open, the rest where the workload reads from the device. */
	uint64_t first = kind == IOFAULT_READ_EIO ? reads_at_open : 0;
	ck_assert_uint_gt(total, first + 5);
	uint64_t npoints = tu_scale(12, 10);
	struct tu_rng r;
	tu_rng_init(&r, seed0 ^ (uint64_t)kind);
	memset(&stats, 0, sizeof(stats));
	for (uint64_t i = 0; i < npoints; i++) {
		/* The first calls, then spread over the run. */
		uint64_t at = i < 3 ? i + 1 : first + 1 + tu_rng_below(&r, total - first);
		uint64_t seed = seed0 + i % 3;
		snprintf(ctx, sizeof(ctx), "seed %llu, %s at call %llu of %llu", (unsigned long long)seed,
		         iofault_kind_name(kind), (unsigned long long)at, (unsigned long long)total);
		workload(seed, kind, at, ctx, NULL);
		verify(ctx);
	}
	fprintf(stderr,
	        "%s: %llu runs, fault met in %llu, a call failed in %llu, open failed in %llu, read-only checked "
	        "in %llu, lost regions accepted by a repair in %llu\n",
	        iofault_kind_name(kind), (unsigned long long)stats.runs, (unsigned long long)stats.fired,
	        (unsigned long long)stats.failed_calls, (unsigned long long)stats.open_failed,
	        (unsigned long long)stats.sticky_checked, (unsigned long long)stats.lost_accepted);
	ck_assert_uint_gt(stats.fired, npoints / 2);
}

START_TEST(test_faults__write_eio_makes_the_store_read_only_and_loses_nothing_synced)
{
	sweep(IOFAULT_WRITE_EIO);
}
END_TEST

START_TEST(test_faults__write_enospc_makes_the_store_read_only_and_loses_nothing_synced)
{
	sweep(IOFAULT_WRITE_ENOSPC);
}
END_TEST

START_TEST(test_faults__short_write_makes_the_store_read_only_and_loses_nothing_synced)
{
	sweep(IOFAULT_WRITE_SHORT);
}
END_TEST

START_TEST(test_faults__fsync_eio_makes_the_store_read_only_and_loses_nothing_synced)
{
	sweep(IOFAULT_SYNC_EIO);
}
END_TEST

START_TEST(test_faults__read_eio_fails_the_call_and_corrupts_nothing)
{
	sweep(IOFAULT_READ_EIO);
}
END_TEST

START_TEST(test_faults__discard_eio_stops_discarding_and_fails_nothing)
{
	sweep(IOFAULT_DISCARD_EIO);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("faults");
	const struct tu_case_opts opts_faults = {
	    .setup = setup, .teardown = teardown, .tags = "long", .timeout = tu_long() ? 7200 : 900};
	tu_add(s, test_faults__write_eio_makes_the_store_read_only_and_loses_nothing_synced, &opts_faults);
	tu_add(s, test_faults__write_enospc_makes_the_store_read_only_and_loses_nothing_synced, &opts_faults);
	tu_add(s, test_faults__short_write_makes_the_store_read_only_and_loses_nothing_synced, &opts_faults);
	tu_add(s, test_faults__fsync_eio_makes_the_store_read_only_and_loses_nothing_synced, &opts_faults);
	tu_add(s, test_faults__read_eio_fails_the_call_and_corrupts_nothing, &opts_faults);
	tu_add(s, test_faults__discard_eio_stops_discarding_and_fails_nothing, &opts_faults);
	return tu_run(s, argc, argv);
}
