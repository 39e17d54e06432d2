/*
 * bench_wl_batch.c - workload 10, batched swap-in: the pages swapped out as
 * in workload 1, then read back cold in calls of BATCH_PAGES pages each,
 * pages chosen at random across all objects (a permutation of every page,
 * cut into calls), through each store's read_batch. The disk column is the
 * bound for it: 4 KiB O_DIRECT random reads of a file of the same size,
 * kept DISK_QD in flight with io_uring.
 *
 * Timed: the batched calls only (the disk: its whole pass); the pages are
 * verified after each call, outside the time. Device bytes read are
 * /proc/self/io's read_bytes over the whole read phase (which reads nothing
 * else), so they count whatever the store made the block layer read.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_run.h"

/* Pages per batched call: about what one fault-around or readahead window of swap asks for. */
#define BATCH_PAGES 64u

static void set_dev_bpp(struct run_result *r, int64_t io0, int64_t io1, uint64_t n)
{
	if (io0 >= 0 && io1 >= io0)
		rr_set(r, "inb_dev_bpp", (double)(io1 - io0) / (double)n);
}

static int run_batch_disk(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	struct disk_file d = {-1, NULL, 0};
	uint32_t *ord = bench_perm(n, 0xba7c + (uint64_t)x->round);
	double secs;
	int rc = -1;
	if (!ord) {
		bench_err("out of memory");
		goto done;
	}
	if (disk_open(&d, x, n * BPG) < 0 || disk_seq_write(&d, n, &secs) < 0)
		goto done;
	bench_drop_caches();
	int64_t io0 = bench_io_read_bytes();
	int e = disk_rand_read_qd(r, &d, ord, n, DISK_QD, &secs);
	int64_t io1 = bench_io_read_bytes();
	if (e == DISK_NO_URING) {
		rr_skip(r, "%s", bench_errbuf);
		rc = 0;
		goto done;
	}
	if (e < 0)
		goto done;
	rr_set(r, "inb_pps", (double)n / secs);
	set_dev_bpp(r, io0, io1, n);
	rc = 0;
done:
	free(ord);
	disk_close(&d);
	return rc;
}

static int run_batch(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG;
	if (x->sys == SYS_DISK)
		return run_batch_disk(x, r, n);
	const struct store_ops *o = ops_of(x->sys);
	struct store_params p = base_params(x, n, x->sys == SYS_SWAPOBJ ? roomy_capacity(n) : n * BPG + (4u << 20));
	struct store *s = NULL;
	uint64_t ncalls = (n + BATCH_PAGES - 1) / BATCH_PAGES;
	uint32_t *ord = bench_perm(n, 0x5eed + (uint64_t)x->round), *ord2 = bench_perm(n, 0xba7c + (uint64_t)x->round);
	uint32_t *lat = malloc(ncalls * sizeof(*lat)), objs[BATCH_PAGES];
	uint64_t pgs[BATCH_PAGES];
	uint8_t *buf = bench_alloc_aligned(BATCH_PAGES * BPG);
	int rc = -1;
	if (!ord || !ord2 || !lat || !buf) {
		bench_err("out of memory");
		goto done;
	}
	if (!o->read_batch) {
		bench_err("%s has no batched read", bench_sys_name[x->sys]);
		goto done;
	}
	/* Swap-out as in workload 1 (untimed here), then closed and reopened with the page cache dropped. */
	if (o->create(&s, &p) < 0)
		goto done;
	for (uint64_t i = 0; i < n && !interrupted; i++) {
		uint32_t obj = ord[i] % cfg.nobj;
		uint64_t pg = ord[i] / cfg.nobj;
		if (o->write(s, 0, obj, pg, page_at(obj, pg, 0), 1) < 0)
			goto done;
	}
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0 || o->reopen(s) < 0)
		goto done;

	uint64_t spent = 0;
	int64_t io0 = bench_io_read_bytes();
	for (uint64_t c = 0; c < ncalls && !interrupted; c++) {
		uint32_t cnt = n - c * BATCH_PAGES < BATCH_PAGES ? (uint32_t)(n - c * BATCH_PAGES) : BATCH_PAGES;
		for (uint32_t i = 0; i < cnt; i++) {
			uint32_t k = ord2[c * BATCH_PAGES + i];
			objs[i] = k % cfg.nobj;
			pgs[i] = k / cfg.nobj;
		}
		uint64_t a = bench_now_ns();
		if (o->read_batch(s, 0, objs, pgs, buf, cnt) < 0)
			goto done;
		uint64_t b = bench_now_ns() - a;
		spent += b;
		lat[c] = (uint32_t)(b < UINT32_MAX ? b : UINT32_MAX);
		for (uint32_t i = 0; i < cnt; i++)
			if (verify_page(r, bench_sys_name[x->sys], buf + (size_t)i * BPG, objs[i], pgs[i],
			                page_at(objs[i], pgs[i], 0), NULL) < 0)
				goto done;
	}
	int64_t io1 = bench_io_read_bytes();
	if (interrupted)
		goto done;
	rr_set(r, "inb_pps", (double)n / ((double)spent / 1e9));
	rr_latency(r, "inb_call", lat, ncalls);
	set_dev_bpp(r, io0, io1, n);
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(ord2);
	free(lat);
	free(buf);
	return rc;
}

static void batch_detail(char *buf, size_t len)
{
	char a[32];
	snprintf(buf, len,
	         "%" PRIu64
	         " pages (%s) swapped out as in swapout, then read back cold%s in calls of %u pages chosen at "
	         "random across the %u objects; disk: 4 KiB O_DIRECT random reads kept %u in flight (io_uring)",
	         cfg.size / BPG, tool_human(cfg.size, a, sizeof(a)),
	         bench_is_root() ? " (page cache dropped)" : " (NOT root: page cache not dropped)", BATCH_PAGES,
	         cfg.nobj, DISK_QD);
}

const struct bench_wl bench_wl_batch = {
    .name = "swapin-batch",
    .title = "10. batched swap-in",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT) | SYS_BIT(SYS_DISK),
    .run = run_batch,
    .detail = batch_detail,
};
