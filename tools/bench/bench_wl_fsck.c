/*
 * bench_wl_fsck.c - workload 9: the store checker.
 */
#include <inttypes.h>
#include <limits.h>

#include "bench.h"
#include "bench_run.h"
#include "fsck.h"
#include "swapobj.h"

/* One check of the store at path, caches dropped first: its figures under prefix. */
static int fsck_once(struct run_result *r, const char *path, unsigned flags, const char *prefix)
{
	const char *paths[1] = {path};
	struct fsck_opts fo = {0};
	struct fsck_result res;
	char k[RR_KEY];
	fo.flags = flags;
	bench_drop_caches();
	uint64_t t0 = bench_now_ns();
	int err = fsck_run(paths, 1, &fo, &res);
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	if (err < 0) {
		fsck_result_free(&res);
		return bench_err("fsck: %s", swapobj_errmsg());
	}
	if (res.errors || res.warnings) {
		rr_fail(r,
		        "VERIFICATION FAILED: the checker found %" PRIu64 " errors and %" PRIu64
		        " warnings in a store just written and closed: %s",
		        res.errors, res.warnings, res.nproblems ? res.problems[0].msg : "");
		fsck_result_free(&res);
		return -1;
	}
	snprintf(k, sizeof(k), "%s_gbps", prefix);
	rr_set(r, k, (double)res.store_bytes / secs / 1e9);
	snprintf(k, sizeof(k), "%s_read_gbps", prefix);
	rr_set(r, k, (double)res.bytes_read / secs / 1e9);
	snprintf(k, sizeof(k), "%s_krec_s", prefix);
	rr_set(r, k, (double)res.records / secs / 1e3);
	snprintf(k, sizeof(k), "%s_ms", prefix);
	rr_set(r, k, secs * 1e3);
	snprintf(k, sizeof(k), "%s_scan_ms", prefix);
	rr_set(r, k, (double)res.scan_ns / 1e6);
	fsck_result_free(&res);
	return 0;
}

static int run_fsck(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG;
	if (x->sys == SYS_DISK) {
		/* The limit: reading the same bytes once, sequentially, O_DIRECT 1 MiB at queue depth 1. */
		struct disk_file d = {-1, NULL, 0};
		double ws, rs;
		int rc = -1;
		if (disk_open(&d, x, n * BPG) == 0 && disk_seq_write(&d, n, &ws) == 0) {
			bench_drop_caches();
			if (disk_seq_read(r, &d, n, &rs) == 0) {
				rr_set(r, "fk_gbps", (double)n * BPG / rs / 1e9);
				rr_set(r, "fk_ms", rs * 1e3);
				rc = 0;
			}
		}
		disk_close(&d);
		return rc;
	}
	/* A store of about 1.1x the data, filled front to back and closed. */
	uint64_t seg = cfg.segment ? cfg.segment : SWAPOBJ_SEGMENT_DEFAULT;
	/* The space manager keeps reserve, stream and checkpoint segments back (log_usable): 16 covers them. */
	uint64_t cap = (n * BPG + n * BPG / 10 + 16 * seg + seg - 1) / seg * seg;
	const struct store_ops *o = ops_of(x->sys);
	struct store_params p = base_params(x, n, cap);
	struct store *s = NULL;
	char img[PATH_MAX];
	if (o->create(&s, &p) < 0)
		return -1;
	for (uint64_t k = 0; k < n; k++)
		if (o->write(s, 0, (uint32_t)(k % cfg.nobj), k / cfg.nobj,
		             page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), 1) < 0) {
			o->close(s);
			return -1;
		}
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0) {
		o->close(s);
		return -1;
	}
	o->close(s);
	snprintf(img, sizeof(img), "%s/store.img", x->dir);
	if (fsck_once(r, img, 0, "fk") < 0 || fsck_once(r, img, FSCK_DIRECT, "fkd") < 0 ||
	    fsck_once(r, img, FSCK_SERIAL, "fks") < 0)
		return -1;
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	rr_set(r, "rss_mib", (double)(hwm - x->rss0) / (1 << 20));
	return 0;
}

static void fsck_detail(char *buf, size_t len)
{
	char a[32];
	tool_human(cfg.size, a, sizeof(a));
	snprintf(buf, len,
	         "a store ~1.1x %s filled front to back and closed; the checker in-process (scan + library "
	         "open + index comparison), %s: buffered (default), O_DIRECT, serial; GB/s of store; disk: "
	         "reading %s once",
	         a, bench_is_root() ? "caches dropped before each" : "NOT root, caches NOT dropped", a);
}

const struct bench_wl bench_wl_fsck = {
    .name = "fsck",
    .title = "9. store check (swapobj-fsck)",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_DISK),
    .run = run_fsck,
    .detail = fsck_detail,
};
