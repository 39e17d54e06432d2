/*
 * bench_wl_swap.c - workloads 1 and 2, swap-out and swap-in: one run writes
 * the pages and (when swap-in is selected) reads them back cold and warm.
 */
#include <stdlib.h>

#include <inttypes.h>

#include "bench.h"
#include "bench_run.h"

static int run_swap(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG;
	if (x->sys == SYS_DISK)
		return run_disk_swap(x, r, n);
	const struct store_ops *o = ops_of(x->sys);
	struct store_params p = base_params(x, n, x->sys == SYS_SWAPOBJ ? roomy_capacity(n) : n * BPG + (4u << 20));
	struct store *s = NULL;
	struct store_stats s0, s1;
	uint32_t *ord = bench_perm(n, 0x5eed + (uint64_t)x->round), *lat = malloc(n * sizeof(uint32_t));
	double secs;
	int rc = -1;
	if (!ord || !lat) {
		bench_err("out of memory");
		goto done;
	}
	if (o->create(&s, &p) < 0)
		goto done;
	o->stats(s, &s0);
	int64_t blk0 = bench_blk_sectors_written(x->dir);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint32_t k = ord[i], obj = k % cfg.nobj;
		uint64_t pg = k / cfg.nobj;
		const uint8_t *page = page_at(obj, pg, 0);
		uint64_t a = bench_now_ns();
		if (o->write(s, 0, obj, pg, page, 1) < 0)
			goto done;
		lat[i] = (uint32_t)(bench_now_ns() - a);
		if (interrupted)
			goto done;
	}
	if (o->thread_done && o->thread_done(s, 0) < 0)
		goto done;
	if (o->sync(s) < 0)
		goto done;
	secs = (double)(bench_now_ns() - t0) / 1e9;
	int64_t blk1 = bench_blk_sectors_written(x->dir);
	o->stats(s, &s1);
	double user = (double)n * BPG;
	rr_set(r, "out_pps", (double)n / secs);
	rr_set(r, "out_mbps", user / 1e6 / secs);
	rr_latency(r, "out", lat, n);
	if (s1.dev_bytes >= 0)
		rr_set(r, "out_wa", (s1.dev_bytes - s0.dev_bytes) / user);
	if (x->sys != SYS_ZSTD && x->sys != SYS_ZRAM && blk0 >= 0 && blk1 >= blk0)
		rr_set(r, "out_wa_blk", (double)(blk1 - blk0) * 512 / user);
	if (s1.user_bytes >= 0 && s1.user_bytes - s0.user_bytes != user)
		rr_set(r, "out_user_mismatch", s1.user_bytes - s0.user_bytes);
	record_common(r, x, &s1, (double)n, "");

	if (x->swapin) {
		uint32_t *ord2 = bench_perm(n, 0xc01d + (uint64_t)x->round);
		if (!ord2) {
			bench_err("out of memory");
			goto done;
		}
		int e = o->reopen(s);
		int64_t io0 = bench_io_read_bytes();
		if (e == 0)
			e = read_pass(r, o, s, ord2, n, lat, &secs, NULL, NULL);
		int64_t io1 = bench_io_read_bytes();
		if (e == 0) {
			rr_set(r, "in_cold_pps", (double)n / secs);
			rr_latency(r, "in_cold", lat, n);
			/* Storage reads per page (O_DIRECT included); zstd and zram read no storage. */
			if (x->sys != SYS_ZSTD && x->sys != SYS_ZRAM && io0 >= 0 && io1 >= io0)
				rr_set(r, "in_cold_dev_bpp", (double)(io1 - io0) / (double)n);
			/* warm: a second pass in another order, with whatever the first left cached */
			for (uint64_t i = n; i > 1; i--) {
				uint64_t j = bench_mix64(i ^ 0x77) % i;
				uint32_t t = ord2[i - 1];
				ord2[i - 1] = ord2[j];
				ord2[j] = t;
			}
			e = read_pass(r, o, s, ord2, n, lat, &secs, NULL, NULL);
		}
		if (e == 0) {
			rr_set(r, "in_warm_pps", (double)n / secs);
			rr_latency(r, "in_warm", lat, n);
		}
		free(ord2);
		if (e < 0)
			goto done;
	} else {
		if (read_pass(r, o, s, ord, n, NULL, &secs, NULL, NULL) < 0)
			goto done;
	}
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(lat);
	return rc;
}

static void swapout_detail(char *buf, size_t len)
{
	char a[32];
	snprintf(buf, len, "%" PRIu64 " pages (%s) over %u objects in random order, one page per call, then sync",
	         cfg.size / BPG, tool_human(cfg.size, a, sizeof(a)), cfg.nobj);
}

const struct bench_wl bench_wl_swapout = {
    .name = "swapout",
    .title = "1. swap-out",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_ZSTD) |
               SYS_BIT(SYS_ZRAM) | SYS_BIT(SYS_DISK),
    .run = run_swap,
    .detail = swapout_detail,
};

static void swapin_detail(char *buf, size_t len)
{
	snprintf(buf, len,
	         "every page read back in random order, one per call: cold (store closed and reopened%s), then "
	         "warm (a second pass in another order)",
	         bench_is_root() ? ", page cache dropped" : "; NOT root, page cache not dropped");
}

const struct bench_wl bench_wl_swapin = {
    .name = "swapin",
    .title = "2. swap-in",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_ZSTD) |
               SYS_BIT(SYS_ZRAM) | SYS_BIT(SYS_DISK),
    .run = run_swap,
    .detail = swapin_detail,
};
