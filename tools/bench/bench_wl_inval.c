/*
 * bench_wl_inval.c - workload 6: prefix invalidation.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_run.h"

#define INVAL_CTRL_PAGES 16u

static int run_inval(struct run_ctx *x, struct run_result *r)
{
	const struct store_ops *o = ops_of(x->sys);
	uint64_t nt = cfg.inval_objects;
	uint64_t cap = nt * 1024 + (256ull << 20);
	/* control pages elsewhere in the store: k -> (k % nobj, k / nobj), k / nobj < INVAL_CTRL_PAGES */
	uint64_t nctl = (uint64_t)cfg.nobj * INVAL_CTRL_PAGES;
	struct store_params p = base_params(x, nctl, cap);
	struct store *s = NULL;
	struct store_stats ss;
	uint32_t *ctl = NULL;
	int rc = -1;
	if (o->create(&s, &p) < 0)
		goto done;
	ctl = bench_perm(nctl, 0x42);
	if (!ctl) {
		bench_err("out of memory");
		goto done;
	}
	for (uint64_t i = 0; i < nctl; i++) {
		uint32_t k = ctl[i];
		if (o->write(s, 0, k % cfg.nobj, k / cfg.nobj, page_at(k % cfg.nobj, k / cfg.nobj, 0), 1) < 0)
			goto done;
	}
	uint64_t t0 = bench_now_ns();
	if (o->make_tiny(s, 0, (uint32_t)nt) < 0)
		goto done;
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
		goto done;
	rr_set(r, "iv_create_kops", (double)nt / ((double)(bench_now_ns() - t0) / 1e9) / 1e3);
	o->stats(s, &ss);
	if (ss.index_bytes >= 0)
		rr_set(r, "iv_index_bpo", ss.index_bytes / (double)nt);
	uint64_t rss1, hwm1;
	bench_rss(&rss1, &hwm1);
	rr_set(r, "iv_rss_bpo", (double)(rss1 > x->rss0 ? rss1 - x->rss0 : 0) / (double)nt);
	if (o->exists(s, (uint32_t)(nt / 2)) != 1) {
		if (!bench_errbuf[0])
			bench_err("tiny object %" PRIu64 " missing before the invalidation", nt / 2);
		goto done;
	}
	t0 = bench_now_ns();
	if (o->drop_range(s, 0, (uint32_t)nt) < 0)
		goto done;
	uint64_t t1 = bench_now_ns();
	if (o->sync(s) < 0)
		goto done;
	uint64_t t2 = bench_now_ns();
	rr_set(r, "iv_us", (double)(t1 - t0) / 1e3);
	rr_set(r, "iv_sync_ms", (double)(t2 - t1) / 1e6);
	for (int pass = 0; pass < 2; pass++) {
		uint32_t probe[3] = {0, (uint32_t)(nt / 2), (uint32_t)(nt - 1)};
		for (int i = 0; i < 3; i++) {
			int e = o->exists(s, probe[i]);
			if (e != 0) {
				rr_fail(r, "VERIFICATION FAILED: %s: object %u of the dropped prefix %s%s",
				        bench_sys_name[x->sys], probe[i],
				        e > 0 ? "still exists" : "check failed: ", e > 0 ? "" : bench_errbuf);
				goto done;
			}
		}
		double secs;
		if (read_pass(r, o, s, ctl, nctl, NULL, &secs, NULL, NULL) < 0)
			goto done;
		if (pass == 0) {
			uint64_t rss2, hwm2;
			bench_rss(&rss2, &hwm2);
			rr_set(r, "iv_hwm_pre_reopen_mib", (double)(hwm2 - x->rss0) / (1 << 20));
			uint64_t t3 = bench_now_ns();
			if (o->reopen(s) < 0) /* the drop must be durable */
				goto done;
			rr_set(r, "iv_reopen_ms", (double)(bench_now_ns() - t3) / 1e6);
		}
	}
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	rr_set(r, "rss_mib", (double)(hwm - x->rss0) / (1 << 20));
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ctl);
	return rc;
}

static void inval_detail(char *buf, size_t len)
{
	snprintf(buf, len,
	         "%" PRIu64 " objects of one fill page each under one prefix, synced; foreground time of the drop, "
	         "then its sync; verified before and after a reopen",
	         cfg.inval_objects);
}

const struct bench_wl bench_wl_inval = {
    .name = "invalidate",
    .title = "6. prefix invalidation",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB),
    .run = run_inval,
    .detail = inval_detail,
};
