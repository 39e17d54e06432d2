/*
 * test_iofault.c - the fault and power-cut backend itself
 * (libswapobj/io/testsupport/io_fault.h), below any store.
 *
 * The crash and fault suites are only as strong as this backend: if a cut
 * applied every pending write, or a torn write mixed in bytes that were
 * never written, they would pass without testing anything. So each promise
 * of io_fault.h is checked here on a bare device: what a cut keeps in each
 * mode, sector by sector; that nothing reaches the device after the cut;
 * that a discard not made durable may or may not have happened, and one
 * made durable has; that each armed fault fails exactly the N-th call of
 * its class with the documented error, and a short write leaves exactly the
 * first half of its sectors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "io_fault.h"
#include "testutil.h"

#define BLK 4096u
#define NBLK 16u
#define LEN (NBLK * BLK)
#define SECTOR 512u

static uint8_t *image; /* the device's content at the start of a run */
static uint8_t *buf;   /* one BLK-aligned block */

static void setup(void)
{
	tu_store_setup();
	image = malloc(LEN);
	buf = aligned_alloc(BLK, BLK);
	ck_assert(image && buf);
	memset(image, 0xee, LEN);
	tu_write_file(tu_img, image, LEN);
}

static void teardown(void)
{
	iofault_free();
	free(image);
	free(buf);
	tu_store_teardown();
}

/* Open the image through the backend (buffered I/O: these tests are about the backend, not O_DIRECT). */
static void dev_open(struct io_dev *d)
{
	iofault_install();
	ck_assert_msg(io_open(d, tu_img, false, false, true, false) == 0, "open: %s", swapobj_errmsg());
	iofault_uninstall();
}

/* Block blk with every byte set to val. */
static int put(struct io_dev *d, unsigned blk, uint8_t val)
{
	memset(buf, val, BLK);
	return io_pwrite(d, buf, BLK, (uint64_t)blk * BLK);
}

/* The image file now. */
static uint8_t *file(void)
{
	size_t len;
	uint8_t *f = tu_read_file(tu_img, &len);
	ck_assert_uint_eq(len, LEN);
	return f;
}

/* How a block of the file compares with two candidate byte values, sector by sector. */
struct blkfate {
	unsigned old, new, other; /* sectors */
};

static struct blkfate fate_of(const uint8_t *f, unsigned blk, uint8_t oldval, uint8_t newval)
{
	struct blkfate r = {0, 0, 0};
	for (unsigned s = 0; s < BLK / SECTOR; s++) {
		const uint8_t *p = f + (size_t)blk * BLK + (size_t)s * SECTOR;
		int all_old = 1, all_new = 1;
		for (unsigned i = 0; i < SECTOR; i++) {
			all_old &= p[i] == oldval;
			all_new &= p[i] == newval;
		}
		r.old += (unsigned)all_old;
		r.new += (unsigned)all_new;
		r.other += (unsigned)(!all_old && !all_new);
	}
	return r;
}

START_TEST(test_iofault__synced_writes_survive_a_cut_and_pending_ones_are_lost_in_lose_all_mode)
{
	struct io_dev d;
	struct tu_rng r;
	tu_rng_init(&r, 1);
	iofault_power_start(tu_img, image, LEN, 0);
	dev_open(&d);
	ck_assert_int_eq(put(&d, 0, 0x11), 0);
	ck_assert_int_eq(io_sync(&d), 0);
	ck_assert_int_eq(put(&d, 1, 0x22), 0);
	ck_assert_int_eq(put(&d, 0, 0x33), 0);
	io_close(&d);
	ck_assert_uint_eq(iofault_power_restore(tu_img, IOFAULT_CUT_LOSE_ALL, tu_rng_draw, &r), 2);
	uint8_t *f = file();
	ck_assert_uint_eq(fate_of(f, 0, 0x11, 0x33).old, BLK / SECTOR);
	ck_assert_uint_eq(fate_of(f, 1, 0xee, 0x22).old, BLK / SECTOR);
	ck_assert_uint_eq(fate_of(f, 2, 0xee, 0xee).old, BLK / SECTOR);
	free(f);
}
END_TEST

START_TEST(test_iofault__nothing_reaches_the_device_after_the_cut)
{
	struct io_dev d;
	struct iofault_counts c;
	iofault_power_start(tu_img, image, LEN, 3); /* write, sync, then the power goes at the next write */
	dev_open(&d);
	ck_assert_int_eq(put(&d, 0, 0x11), 0);
	ck_assert_int_eq(io_sync(&d), 0);
	ck_assert(!iofault_power_is_cut());
	ck_assert_int_eq(put(&d, 1, 0x22), SWAPOBJ_EIO);
	ck_assert(iofault_power_is_cut());
	ck_assert(strstr(swapobj_errmsg(), "power cut"));
	ck_assert_int_eq(put(&d, 2, 0x33), SWAPOBJ_EIO);
	ck_assert_int_eq(io_sync(&d), SWAPOBJ_EIO);
	ck_assert_int_eq(io_discard(&d, 0, BLK), SWAPOBJ_EIO);
	ck_assert_int_eq(io_pread(&d, buf, BLK, 0), SWAPOBJ_EIO);
	iofault_get_counts(&c);
	ck_assert_uint_eq(c.ops, 3);
	ck_assert_uint_eq(c.writes, 1);
	ck_assert_uint_eq(c.syncs, 1);
	io_close(&d);
	uint8_t *f = file(); /* the refused calls did not reach the file either */
	ck_assert_uint_eq(fate_of(f, 1, 0xee, 0x22).old, BLK / SECTOR);
	ck_assert_uint_eq(fate_of(f, 2, 0xee, 0x33).old, BLK / SECTOR);
	free(f);
	struct tu_rng r;
	tu_rng_init(&r, 2);
	ck_assert_uint_eq(iofault_power_restore(tu_img, IOFAULT_CUT_TORN, tu_rng_draw, &r), 0);
	f = file();
	ck_assert_uint_eq(fate_of(f, 0, 0xee, 0x11).new, BLK / SECTOR);
	free(f);
}
END_TEST

/*
 * Many pending writes, one block each, then a cut: in TORN mode each block
 * is old, new, or a mix of whole old and new sectors, and over many blocks
 * all three happen; in WHOLE_OR_NOT mode never a mix.
 */
static void pending_fates(enum iofault_cut_mode mode, unsigned *nold, unsigned *nnew, unsigned *nmixed)
{
	struct io_dev d;
	struct tu_rng r;
	tu_rng_init(&r, tu_seed(77));
	*nold = *nnew = *nmixed = 0;
	for (int round = 0; round < 8; round++) {
		iofault_power_start(tu_img, image, LEN, 0);
		dev_open(&d);
		for (unsigned b = 0; b < NBLK; b++)
			ck_assert_int_eq(put(&d, b, (uint8_t)(0x40 + b)), 0);
		io_close(&d);
		ck_assert_uint_eq(iofault_power_restore(tu_img, mode, tu_rng_draw, &r), NBLK);
		uint8_t *f = file();
		for (unsigned b = 0; b < NBLK; b++) {
			struct blkfate x = fate_of(f, b, 0xee, (uint8_t)(0x40 + b));
			ck_assert_msg(x.other == 0, "block %u holds bytes that were never written", b);
			*nold += x.old == BLK / SECTOR;
			*nnew += x.new == BLK / SECTOR;
			*nmixed += x.old && x.new;
		}
		free(f);
	}
}

START_TEST(test_iofault__torn_mode_loses_applies_or_tears_each_write_at_sector_granularity)
{
	unsigned nold, nnew, nmixed;
	pending_fates(IOFAULT_CUT_TORN, &nold, &nnew, &nmixed);
	ck_assert_uint_eq(nold + nnew + nmixed, 8 * NBLK);
	ck_assert_uint_gt(nold, 8);
	ck_assert_uint_gt(nnew, 8);
	ck_assert_uint_gt(nmixed, 8);
}
END_TEST

START_TEST(test_iofault__whole_or_not_mode_never_tears)
{
	unsigned nold, nnew, nmixed;
	pending_fates(IOFAULT_CUT_WHOLE_OR_NOT, &nold, &nnew, &nmixed);
	ck_assert_uint_eq(nmixed, 0);
	ck_assert_uint_eq(nold + nnew, 8 * NBLK);
	ck_assert_uint_gt(nold, 8);
	ck_assert_uint_gt(nnew, 8);
}
END_TEST

START_TEST(test_iofault__a_discard_not_made_durable_may_or_may_not_have_happened)
{
	struct io_dev d;
	struct tu_rng r;
	unsigned zeros = 0, kept = 0;
	tu_rng_init(&r, tu_seed(78));
	for (int round = 0; round < 16; round++) {
		iofault_power_start(tu_img, image, LEN, 0);
		dev_open(&d);
		ck_assert_int_eq(io_discard(&d, 0, 4 * BLK), 0);
		ck_assert_uint_eq(d.discards, 1);
		ck_assert_int_eq(io_pread(&d, buf, BLK, BLK), 0); /* reads back zeros at once */
		ck_assert_uint_eq(fate_of(buf, 0, 0xee, 0).new, BLK / SECTOR);
		io_close(&d);
		iofault_power_restore(tu_img, IOFAULT_CUT_TORN, tu_rng_draw, &r);
		uint8_t *f = file();
		for (unsigned b = 0; b < 4; b++) {
			struct blkfate x = fate_of(f, b, 0xee, 0);
			ck_assert_uint_eq(x.other, 0);
			zeros += x.new;
			kept += x.old;
		}
		ck_assert_uint_eq(fate_of(f, 4, 0xee, 0).old, BLK / SECTOR); /* outside the range: untouched */
		free(f);
	}
	ck_assert_uint_gt(zeros, 0);
	ck_assert_uint_gt(kept, 0);
	/* Made durable by a sync: it happened. */
	iofault_power_start(tu_img, image, LEN, 0);
	dev_open(&d);
	ck_assert_int_eq(io_discard(&d, 0, 4 * BLK), 0);
	ck_assert_int_eq(io_sync(&d), 0);
	io_close(&d);
	iofault_power_restore(tu_img, IOFAULT_CUT_TORN, tu_rng_draw, &r);
	uint8_t *f = file();
	for (unsigned b = 0; b < 4; b++)
		ck_assert_uint_eq(fate_of(f, b, 0xee, 0).new, BLK / SECTOR);
	free(f);
}
END_TEST

/* The armed fault fails the 3rd call of its class, and only that one. */
START_TEST(test_iofault__an_armed_fault_fails_exactly_the_nth_call_of_its_class)
{
	static const struct {
		enum iofault_kind kind;
		int err;
	} cases[] = {
	    {IOFAULT_WRITE_EIO, SWAPOBJ_EIO},   {IOFAULT_WRITE_ENOSPC, SWAPOBJ_ENOSPC},
	    {IOFAULT_WRITE_SHORT, SWAPOBJ_EIO}, {IOFAULT_SYNC_EIO, SWAPOBJ_EIO},
	    {IOFAULT_READ_EIO, SWAPOBJ_EIO},    {IOFAULT_DISCARD_EIO, SWAPOBJ_EIO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct io_dev d;
		enum iofault_kind k = cases[i].kind;
		tu_write_file(tu_img, image, LEN);
		dev_open(&d);
		iofault_arm(k, 3);
		for (unsigned n = 1; n <= 5; n++) {
			int err;
			if (k == IOFAULT_SYNC_EIO)
				err = io_sync(&d);
			else if (k == IOFAULT_READ_EIO)
				err = io_pread(&d, buf, BLK, 0);
			else if (k == IOFAULT_DISCARD_EIO)
				err = io_discard(&d, (uint64_t)n * BLK, BLK) < 0 ? SWAPOBJ_EIO : 0;
			else
				err = put(&d, n, (uint8_t)n);
			ck_assert_msg(err == (n == 3 ? cases[i].err : 0), "%s: call %u returned %d",
			              iofault_kind_name(k), n, err);
			ck_assert_msg(iofault_fired() == (n >= 3), "%s: fired after call %u", iofault_kind_name(k), n);
		}
		if (k == IOFAULT_WRITE_SHORT || k == IOFAULT_WRITE_EIO || k == IOFAULT_WRITE_ENOSPC) {
			uint8_t *f = file();
			struct blkfate x = fate_of(f, 3, 0xee, 3);
			unsigned half = k == IOFAULT_WRITE_SHORT ? BLK / SECTOR / 2 : 0;
			ck_assert_msg(x.new == half &&x.old == BLK / SECTOR - half, "%s: %u of 8 sectors written",
			              iofault_kind_name(k), x.new);
			ck_assert_uint_eq(fate_of(f, 3, 0xee, 3).other, 0);
			if (half) /* the sectors that reached the device are the first ones */
				ck_assert_int_eq(f[3 * BLK + half * SECTOR - 1], 3);
			ck_assert_uint_eq(fate_of(f, 4, 0xee, 4).new, BLK / SECTOR);
			free(f);
		}
		io_close(&d);
		iofault_arm(IOFAULT_NONE, 0);
	}
}
END_TEST

/*
 * One batch of NBLK writes, cut at the 9th: the requests are issued in a
 * random order, so the 8 that were issued are a random subset, exactly the
 * ones reported done and the only ones on the file; the rest failed. The
 * seed decides which: the same seed picks the same subset, different
 * seeds different ones (not always the first 8, as in-order issue would).
 */
static uint32_t cut_batch(uint64_t seed)
{
	struct io_dev d;
	struct io_req req[NBLK];
	uint8_t *data = aligned_alloc(BLK, LEN);
	ck_assert(data);
	iofault_order_seed(seed);
	iofault_power_start(tu_img, image, LEN, 9);
	dev_open(&d);
	for (unsigned i = 0; i < NBLK; i++) {
		memset(data + i * BLK, (int)(i + 1), BLK);
		req[i] =
		    (struct io_req){.dev = &d, .buf = data + i * BLK, .len = BLK, .op = IO_OP_WRITE, .off = i * BLK};
	}
	ck_assert_int_eq(io_batch(req, NBLK), SWAPOBJ_EIO);
	ck_assert_msg(strstr(swapobj_errmsg(), "simulated power cut"), "message '%s'", swapobj_errmsg());
	uint8_t *f = file();
	uint32_t done = 0;
	for (unsigned i = 0; i < NBLK; i++) {
		ck_assert_msg(req[i].res == 0 || req[i].res == SWAPOBJ_EIO, "request %u: %d", i, req[i].res);
		struct blkfate x = fate_of(f, i, 0xee, (uint8_t)(i + 1));
		ck_assert_uint_eq(x.new, req[i].res == 0 ? BLK / SECTOR : 0);
		if (req[i].res == 0)
			done |= 1u << i;
	}
	ck_assert_int_eq(__builtin_popcount(done), 8);
	ck_assert_uint_eq(iofault_power_restore(tu_img, IOFAULT_CUT_LOSE_ALL, tu_rng_draw, NULL), 8);
	free(f);
	free(data);
	io_close(&d);
	return done;
}

START_TEST(test_iofault__a_cut_inside_a_batch_leaves_a_random_subset_of_its_writes_issued)
{
	uint32_t first = cut_batch(1), other = 0;
	ck_assert_uint_eq(cut_batch(1), first);
	for (uint64_t seed = 2; seed < 10; seed++)
		other |= cut_batch(seed) ^ first;
	ck_assert_msg(other != 0, "every seed issued the same 8 writes (0x%x)", first);
	ck_assert_msg(first != 0xff || cut_batch(2) != 0xff, "writes issued in order");
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("iofault");
	const struct tu_case_opts opts = {.setup = setup, .teardown = teardown, .timeout = 60};
	tu_add(s, test_iofault__synced_writes_survive_a_cut_and_pending_ones_are_lost_in_lose_all_mode, &opts);
	tu_add(s, test_iofault__nothing_reaches_the_device_after_the_cut, &opts);
	tu_add(s, test_iofault__torn_mode_loses_applies_or_tears_each_write_at_sector_granularity, &opts);
	tu_add(s, test_iofault__whole_or_not_mode_never_tears, &opts);
	tu_add(s, test_iofault__a_discard_not_made_durable_may_or_may_not_have_happened, &opts);
	tu_add(s, test_iofault__a_cut_inside_a_batch_leaves_a_random_subset_of_its_writes_issued, &opts);
	tu_add(s, test_iofault__an_armed_fault_fails_exactly_the_nth_call_of_its_class, &opts);
	return tu_run(s, argc, argv);
}
