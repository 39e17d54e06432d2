/*
 * bench_report.c - what swapobj-bench prints and writes: the terminal table
 * (each libswapobj figure with its ratio to every peer and limit), the
 * targets (met / MISSED, with the number), JSON, and SVG charts drawn by
 * hand (throughput bars and latency CDFs).
 *
 * Ratios are always libswapobj / peer: above 1 is better for a throughput,
 * below 1 is better for a latency, a byte count or an amplification. The
 * figure of a system is the median over its measured runs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

enum { F_COUNT, F_F0, F_F1, F_F2, F_F3 };

struct mrow {
	const char *wl, *key, *label;
	int better; /* +1 higher is better, -1 lower is better, 0 no ratio */
	int fmt;
	int chart; /* 1: bar chart of this metric */
};

#define CHURN_ROWS(v, name)                                                                                            \
	{"churn", v "_live", name ": % of usable live", 0, F_F1, 0},                                                   \
	    {"churn", v "_raw", name ": % of raw capacity live", 0, F_F1, 0},                                          \
	    {"churn", v "_wa", name ": WA, own count", -1, F_F3, 0},                                                   \
	    {"churn", v "_wa_blk", name ": WA, block device", -1, F_F3, 0},                                            \
	    {"churn", v "_pps", name ": overwrites/s", +1, F_COUNT, 1},                                                \
	    {"churn", v "_p50_us", name ": write p50 (us)", -1, F_F1, 0},                                              \
	    {"churn", v "_p99_us", name ": write p99 (us)", -1, F_F1, 0},                                              \
	{                                                                                                              \
		"churn", v "_p999_us", name ": write p99.9 (us)", -1, F_F1, 0                                          \
	}

static const struct mrow rows[] = {
    {"swapout", "out_pps", "pages/s", +1, F_COUNT, 1},
    {"swapout", "out_mbps", "MB/s", +1, F_F1, 0},
    {"swapout", "out_p50_us", "write call p50 (us)", -1, F_F1, 0},
    {"swapout", "out_p99_us", "write call p99 (us)", -1, F_F1, 0},
    {"swapout", "out_p999_us", "write call p99.9 (us)", -1, F_F1, 0},
    {"swapout", "out_wa", "device/user bytes, own count", -1, F_F3, 0},
    {"swapout", "out_wa_blk", "device/user bytes, block dev", -1, F_F3, 0},
    {"swapout", "disk_bpp", "stored bytes/page", -1, F_F0, 0},
    {"swapout", "index_bpp", "index RAM bytes/page", -1, F_F2, 0},
    {"swapout", "check_bpp", "  of which page checks", -1, F_F2, 0},
    {"swapout", "rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
    {"swapin", "in_cold_pps", "cold: pages/s", +1, F_COUNT, 1},
    {"swapin", "in_cold_p50_us", "cold: read p50 (us)", -1, F_F1, 0},
    {"swapin", "in_cold_p99_us", "cold: read p99 (us)", -1, F_F1, 0},
    {"swapin", "in_cold_p999_us", "cold: read p99.9 (us)", -1, F_F1, 0},
    {"swapin", "in_cold_dev_bpp", "cold: device bytes read/page", -1, F_F0, 0},
    {"swapin", "in_qd32_pps", "cold: 4 KiB reads/s at QD32", +1, F_COUNT, 0},
    {"swapin", "in_warm_pps", "warm: pages/s", +1, F_COUNT, 1},
    {"swapin", "in_warm_p50_us", "warm: read p50 (us)", -1, F_F1, 0},
    {"swapin", "in_warm_p99_us", "warm: read p99 (us)", -1, F_F1, 0},
    {"swapin", "in_warm_p999_us", "warm: read p99.9 (us)", -1, F_F1, 0},
    {"seq", "seq_w_mbps", "write MB/s (+sync)", +1, F_F1, 1},
    {"seq", "seq_r_mbps", "read MB/s, cold", +1, F_F1, 1},
    {"seq", "seq_index_bpp", "index RAM bytes/page", -1, F_F3, 0},
    {"seq", "seq_check_bpp", "  of which page checks", -1, F_F3, 0},
    {"seq", "seq_disk_bpp", "stored bytes/page", -1, F_F0, 0},
    {"seq", "seq_rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
    CHURN_ROWS("c80h", "80% hot/cold"),
    CHURN_ROWS("c80u", "80% uniform"),
    CHURN_ROWS("c90h", "90% hot/cold"),
    CHURN_ROWS("c90u", "90% uniform"),
    {"churn", "rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
    {"restart", "rs_total_ms", "reopen: store + objects (ms)", -1, F_F1, 1},
    {"restart", "rs_open_ms", "store open call (ms)", -1, F_F1, 0},
    {"restart", "rs_replay_ms", "log replay, own count (ms)", -1, F_F1, 0},
    {"restart", "rs_ms_per_gib", "reopen ms per GiB stored", -1, F_F1, 0},
    {"restart", "rs_index_bpp", "index RAM bytes/page after", -1, F_F2, 0},
    {"restart", "rs_fsck_gbps", "swapobj-fsck -n, GB/s of image", +1, F_F2, 0},
    {"restart", "rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
    {"restart", "rs_churn_ms", "after churn: reopen (ms)", -1, F_F1, 0},
    {"restart", "rs_churn_replay_ms", "after churn: log replay (ms)", -1, F_F1, 0},
    {"restart", "rs_churn_tail_mib", "after churn: log replayed (MiB)", -1, F_F1, 0},
    {"restart", "rs_churn_from_ckpt", "after churn: from a checkpoint", 0, F_F0, 0},
    {"restart", "rs_churn_gib", "after churn: GiB written", 0, F_F1, 0},
    {"restart", "rs_churn_ckpts", "after churn: checkpoints taken", 0, F_F0, 0},
    {"restart", "rs_churn_ckpt_fail", "after churn: checkpoints failed", -1, F_F0, 0},
    {"invalidate", "iv_us", "drop, foreground (us)", -1, F_F1, 1},
    {"invalidate", "iv_sync_ms", "sync after the drop (ms)", -1, F_F2, 0},
    {"invalidate", "iv_create_kops", "objects created (k/s)", +1, F_F1, 0},
    {"invalidate", "iv_index_bpo", "index RAM bytes/object", -1, F_F1, 0},
    {"invalidate", "iv_rss_bpo", "RSS growth bytes/object", -1, F_F1, 0},
    {"invalidate", "iv_reopen_ms", "close + reopen after it (ms)", -1, F_F1, 0},
    {"invalidate", "iv_hwm_pre_reopen_mib", "peak RSS added, before reopen", -1, F_F1, 0},
    {"invalidate", "rss_mib", "peak RSS added, with reopen (MiB)", -1, F_F1, 0},
    {"fuse", "fu_w_mbps", "1 MiB write MB/s (+fsync)", +1, F_F1, 1},
    {"fuse", "fu_r_mbps", "1 MiB read MB/s, cold", +1, F_F1, 1},
    {"fuse", "fu_rr_pps", "4 KiB random reads/s", +1, F_COUNT, 0},
    {"fuse", "fu_rr_p50_us", "4 KiB read p50 (us)", -1, F_F1, 0},
    {"fuse", "fu_rr_p99_us", "4 KiB read p99 (us)", -1, F_F1, 0},
    {"threads", "t1_out_pps", "swap-out pages/s, 1 thread", +1, F_COUNT, 1},
    {"threads", "t2_out_pps", "swap-out pages/s, 2 threads", +1, F_COUNT, 1},
    {"threads", "t_out_scale", "swap-out 2 threads / 1", +1, F_F2, 0},
    {"threads", "t1_in_pps", "swap-in pages/s, 1 thread", +1, F_COUNT, 1},
    {"threads", "t2_in_pps", "swap-in pages/s, 2 threads", +1, F_COUNT, 1},
    {"threads", "t_in_scale", "swap-in 2 threads / 1", +1, F_F2, 0},
    {"fsck", "fk_gbps", "check, GB/s of store", +1, F_F2, 1},
    {"fsck", "fk_read_gbps", "check, GB/s read", +1, F_F2, 0},
    {"fsck", "fk_krec_s", "check, k records/s", +1, F_F1, 0},
    {"fsck", "fk_ms", "check (ms)", -1, F_F1, 0},
    {"fsck", "fk_scan_ms", "of which log scan (ms)", -1, F_F1, 0},
    {"fsck", "fkd_gbps", "O_DIRECT: GB/s of store", +1, F_F2, 0},
    {"fsck", "fks_gbps", "serial: GB/s of store", +1, F_F2, 0},
    {"fsck", "rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
    {"swapin-batch", "inb_pps", "cold, 64 pages/call: pages/s", +1, F_COUNT, 1},
    {"swapin-batch", "inb_call_p50_us", "call of 64 pages p50 (us)", -1, F_F1, 0},
    {"swapin-batch", "inb_call_p99_us", "call of 64 pages p99 (us)", -1, F_F1, 0},
    {"swapin-batch", "inb_dev_bpp", "device bytes read/page", -1, F_F0, 0},
    {"cache", "ca_hit", "hit ratio", +1, F_F3, 1},
    {"cache", "ca_lru_cull_hit", "hit ratio, LRU of cull-level size", 0, F_F3, 0},
    {"cache", "ca_cap_pct", "LRU capacity, % of usable", 0, F_F1, 0},
    {"cache", "ca_cap_objs", "LRU capacity, objects", 0, F_F0, 0},
    {"cache", "ca_objs", "objects cached, mean", 0, F_F0, 0},
    {"cache", "ca_fill", "live % of usable, mean", 0, F_F1, 0},
    {"cache", "ca_fill_min", "live % of usable, min", 0, F_F1, 0},
    {"cache", "ca_fill_max", "live % of usable, max", 0, F_F1, 0},
    {"cache", "ca_usable_pct", "usable, % of segment capacity", 0, F_F1, 0},
    {"cache", "ca_wa", "device/user bytes written", -1, F_F3, 0},
    {"cache", "ca_reloc", "  of which relocated/user bytes", -1, F_F3, 0},
    {"cache", "ca_ckpts", "checkpoints taken, measured part", 0, F_F0, 0},
    {"cache", "ca_index_bpo", "index RAM bytes/object", -1, F_F1, 0},
    {"cache", "ca_hit_p50_us", "hit: open+read+close p50 (us)", -1, F_F1, 0},
    {"cache", "ca_hit_p99_us", "hit: open+read+close p99 (us)", -1, F_F1, 0},
    {"cache", "ca_apps", "accesses/s", 0, F_COUNT, 0},
    {"cache", "ca_evict_thr", "evicted, cull level (objects)", 0, F_F0, 0},
    {"cache", "ca_evict_swap", "evicted, SWAP writes (objects)", 0, F_F0, 0},
    {"cache", "ca_evict_cleaner", "evicted by the cleaner (objects)", 0, F_F0, 0},
    {"cache", "ca_refused", "fills refused, ECACHEFULL", -1, F_F0, 0},
    {"cache", "ca_enospc", "fills failed, ENOSPC", -1, F_F0, 0},
    {"cache", "ca_lost", "evicted before written", -1, F_F0, 0},
    {"cache", "ca_short", "short reads (partial objects)", -1, F_F0, 0},
    {"cache", "ca_keys", "keys in the trace", 0, F_F0, 0},
    {"cache", "ca_accesses", "measured accesses", 0, F_F0, 0},
    {"cache", "mx_cache_pct0", "mixed: CACHE % of usable, before", 0, F_F1, 0},
    {"cache", "mx_swap_fail", "mixed: SWAP writes failed", -1, F_F0, 0},
    {"cache", "mx_swap_pct", "mixed: SWAP % of usable, after", 0, F_F1, 0},
    {"cache", "mx_cache_pct", "mixed: CACHE % of usable, after", 0, F_F1, 0},
    {"cache", "mx_cache_left", "mixed: CACHE objects left, read", 0, F_F0, 0},
    {"cache", "mx_evict_thr", "mixed: evicted, cull level", 0, F_F0, 0},
    {"cache", "mx_evict_swap", "mixed: evicted, SWAP writes", 0, F_F0, 0},
    {"cache", "mx_swap_mbps", "mixed: SWAP write MB/s", 0, F_F1, 0},
    {"cache", "mx_w_p50_us", "mixed: SWAP create+write p50", 0, F_F1, 0},
    {"cache", "mx_w_p99_us", "mixed: SWAP create+write p99", 0, F_F1, 0},
    {"cache", "mt_cache_pct0", "tight: CACHE % of usable, before", 0, F_F1, 0},
    {"cache", "mt_swap_fail", "tight: SWAP writes failed", -1, F_F0, 0},
    {"cache", "mt_swap_pct", "tight: SWAP % of usable, after", 0, F_F1, 0},
    {"cache", "mt_cache_pct", "tight: CACHE % of usable, after", 0, F_F1, 0},
    {"cache", "mt_cache_left", "tight: CACHE objects left, read", 0, F_F0, 0},
    {"cache", "mt_evict_thr", "tight: evicted, cull level", 0, F_F0, 0},
    {"cache", "mt_evict_swap", "tight: evicted, SWAP writes", 0, F_F0, 0},
    {"cache", "mt_swap_mbps", "tight: SWAP write MB/s", 0, F_F1, 0},
    {"cache", "mt_w_p50_us", "tight: SWAP create+write p50", 0, F_F1, 0},
    {"cache", "mt_w_p99_us", "tight: SWAP create+write p99", 0, F_F1, 0},
    {"cache", "rss_mib", "peak RSS added (MiB)", -1, F_F1, 0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

enum { OP_GE, OP_LE };
struct target {
	const char *what, *wl, *key;
	int peer; /* -1: absolute value of libswapobj */
	int op;
	double thr;
	bool invert; /* compare peer / libswapobj instead */
	const char *unit;
};

static const struct target targets[] = {
    {"swap-out pages/s vs raw slot file", "swapout", "out_pps", SYS_SLOT, OP_GE, 1.0, false, "x"},
    {"swap-out pages/s vs RocksDB", "swapout", "out_pps", SYS_ROCKSDB, OP_GE, 4.0, false, "x"},
    {"swap-out pages/s vs LMDB", "swapout", "out_pps", SYS_LMDB, OP_GE, 2.5, false, "x"},
    {"cold swap-in p50 vs raw slot file", "swapin", "in_cold_p50_us", SYS_SLOT, OP_LE, 1.2, false, "x"},
    {"cold swap-in p99 vs raw slot file", "swapin", "in_cold_p99_us", SYS_SLOT, OP_LE, 1.2, false, "x"},
    {"index RAM, random order (B/page)", "swapout", "index_bpp", -1, OP_LE, 8.0, false, ""},
    {"index RAM, sequential (B/page)", "seq", "seq_index_bpp", -1, OP_LE, 1.0, false, ""},
    {"WA, 90/10 hot/cold at 80%", "churn", "c80h_wa", -1, OP_LE, 1.3, false, ""},
    {"WA, 90/10 hot/cold at 90%", "churn", "c90h_wa", -1, OP_LE, 2.0, false, ""},
    {"invalidate 10^6 objects, fg (us)", "invalidate", "iv_us", -1, OP_LE, 1000, false, ""},
    {"reopen after kill -9, 4 GiB (ms)", "restart", "rs_total_ms", -1, OP_LE, 1000, false, ""},
    {"reopen after kill -9 after churn, 4 GiB (ms)", "restart", "rs_churn_ms", -1, OP_LE, 1000, false, ""},
    {"fsck metadata check (GB/s)", "fsck", "fk_gbps", -1, OP_GE, 1.0, false, ""},
    {"FUSE 1 MiB write vs library", "fuse", "fu_w_mbps", SYS_FUSEFS, OP_GE, 0.7, true, "x"},
    {"FUSE 1 MiB read vs library", "fuse", "fu_r_mbps", SYS_FUSEFS, OP_GE, 0.7, true, "x"},
    {"batched swap-in vs disk 4 KiB reads at QD32", "swapin-batch", "inb_pps", SYS_DISK, OP_GE, 0.9, false, "x"},
    {"cache hit ratio vs exact LRU", "cache", "ca_hit", SYS_LRU, OP_GE, 0.95, false, "x"},
    {"cache WA, cache-only store", "cache", "ca_wa", -1, OP_LE, 1.1, false, ""},
    {"SWAP writes failed, CACHE evictable", "cache", "mx_swap_fail", -1, OP_LE, 0, false, ""},
    {"SWAP writes failed, CACHE evictable, tight", "cache", "mt_swap_fail", -1, OP_LE, 0, false, ""},
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static const char *const sys_color[SYS_N] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
                                             "#e377c2", "#7f7f7f", "#ff7f0e", "#17becf"};

/* ------------------------------------------------------------------------ */
/* Medians                                                                   */
/* ------------------------------------------------------------------------ */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool report_median(const struct report_wl *w, enum bench_sys s, const char *key, double *out)
{
	const struct report_sys *rs = &w->sys[s];
	double v[1024];
	unsigned n = 0;
	if (!rs->used || rs->status == RR_SKIP)
		return false;
	for (unsigned i = 0; i < rs->nruns && n < 1024; i++) {
		const double *x = rr_get(&rs->runs[i], key);
		if (x && isfinite(*x))
			v[n++] = *x;
	}
	if (!n)
		return false;
	*out = median_of(v, n);
	return true;
}

/* Pointwise median CDF of key over the runs; false if none. */
static bool median_cdf(const struct report_wl *w, enum bench_sys s, const char *key, float out[CDF_NQ])
{
	const struct report_sys *rs = &w->sys[s];
	if (!rs->used || rs->status == RR_SKIP)
		return false;
	for (unsigned q = 0; q < CDF_NQ; q++) {
		double v[1024];
		unsigned n = 0;
		for (unsigned i = 0; i < rs->nruns && n < 1024; i++)
			for (unsigned c = 0; c < rs->runs[i].ncdf; c++)
				if (strcmp(rs->runs[i].cdf[c].key, key) == 0)
					v[n++] = rs->runs[i].cdf[c].us[q];
		if (!n)
			return false;
		out[q] = (float)median_of(v, n);
	}
	return true;
}

static const struct report_wl *find_wl(const struct report *rp, const char *name)
{
	for (unsigned i = 0; i < rp->nwl; i++)
		if (strcmp(rp->wl[i].name, name) == 0)
			return &rp->wl[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Terminal table                                                            */
/* ------------------------------------------------------------------------ */

static void fmt_val(char *b, size_t len, double v, int fmt)
{
	switch (fmt) {
	case F_COUNT:
		if (v >= 1e6)
			snprintf(b, len, "%.2fM", v / 1e6);
		else if (v >= 1e4)
			snprintf(b, len, "%.1fk", v / 1e3);
		else
			snprintf(b, len, "%.0f", v);
		break;
	case F_F0:
		snprintf(b, len, "%.0f", v);
		break;
	case F_F1:
		snprintf(b, len, v >= 1e5 ? "%.0f" : "%.1f", v);
		break;
	case F_F2:
		snprintf(b, len, "%.2f", v);
		break;
	default:
		snprintf(b, len, "%.3f", v);
		break;
	}
}

static void fmt_ratio(char *b, size_t len, double r)
{
	if (!isfinite(r))
		snprintf(b, len, "-");
	else if (r >= 100)
		snprintf(b, len, "%.0fx", r);
	else if (r >= 10)
		snprintf(b, len, "%.1fx", r);
	else
		snprintf(b, len, "%.2fx", r);
}

#define LABEL_W 34
#define CELL_W 18

static bool wl_shown(const struct report_wl *w)
{
	return w->selected;
}

static void print_wl(const struct report *rp, const struct report_wl *w, FILE *f)
{
	int cols[SYS_N], nc = 0;
	char v[64], r[32], cell[128];
	fprintf(f, "\n== %s (%s)\n   %s\n", w->title, w->name, w->detail);
	for (int s = 0; s < SYS_N; s++)
		if (w->sys[s].used)
			cols[nc++] = s;
	fprintf(f, "%-*s", LABEL_W, "");
	for (int c = 0; c < nc; c++)
		fprintf(f, " %-*s", CELL_W, bench_sys_name[cols[c]]);
	fprintf(f, "\n");
	/* status line for columns that did not run */
	bool any_bad = false;
	for (int c = 0; c < nc; c++)
		any_bad |= w->sys[cols[c]].status != RR_OK;
	if (any_bad) {
		fprintf(f, "%-*s", LABEL_W, "status");
		for (int c = 0; c < nc; c++) {
			int st = w->sys[cols[c]].status;
			fprintf(f, " %-*s", CELL_W, st == RR_OK ? "ok" : st == RR_SKIP ? "skipped" : "FAILED");
		}
		fprintf(f, "\n");
	}
	for (size_t i = 0; i < NROWS; i++) {
		const struct mrow *m = &rows[i];
		if (strcmp(m->wl, w->name) != 0)
			continue;
		double val[SYS_N];
		bool has[SYS_N], any = false;
		for (int c = 0; c < nc; c++) {
			has[cols[c]] = report_median(w, (enum bench_sys)cols[c], m->key, &val[cols[c]]);
			any |= has[cols[c]];
		}
		if (!any)
			continue;
		fprintf(f, "%-*s", LABEL_W, m->label);
		for (int c = 0; c < nc; c++) {
			int s = cols[c];
			if (!has[s]) {
				fprintf(f, " %-*s", CELL_W, "-");
				continue;
			}
			fmt_val(v, sizeof(v), val[s], m->fmt);
			if (s != SYS_SWAPOBJ && m->better && has[SYS_SWAPOBJ] && val[s] != 0) {
				fmt_ratio(r, sizeof(r), val[SYS_SWAPOBJ] / val[s]);
				snprintf(cell, sizeof(cell), "%s (%s)", v, r);
			} else {
				snprintf(cell, sizeof(cell), "%s", v);
			}
			fprintf(f, " %-*s", CELL_W, cell);
		}
		fprintf(f, "\n");
	}
	if (strcmp(w->name, "churn") == 0)
		fprintf(f,
		        "   textbook greedy cleaning, uniform writes (Desnoyers 2012, WA ~ (1+r)/(2r), r = free/live, "
		        "free = usable - live): 80%% utilization 2.50, 90%% 5.00\n"
		        "   bound for 90/10 hot/cold (perfect hot/cold separation, spare space split optimally, greedy "
		        "within each class, LFS steady state u = (u*-1)/ln u*): WA 1.22 at 70%% of the space data can "
		        "occupy, 1.32 at 75%%, 1.38 at 77%%, 1.48 at 80%%, 1.76 at 85%%, 2.34 at 90%% "
		        "(docs/PERFORMANCE.md)\n");
	uint64_t verified = 0;
	for (int c = 0; c < nc; c++)
		for (unsigned i = 0; i < w->sys[cols[c]].nruns; i++)
			verified += w->sys[cols[c]].runs[i].verified;
	for (int c = 0; c < nc; c++)
		if (w->sys[cols[c]].status != RR_OK)
			fprintf(f, "   %s %s: %s\n", bench_sys_name[cols[c]],
			        w->sys[cols[c]].status == RR_SKIP ? "skipped" : "FAILED", w->sys[cols[c]].msg);
	if (verified)
		fprintf(f, "   verification: %llu pages read back and compared in the measured runs, no mismatch%s\n",
		        (unsigned long long)verified, any_bad ? " in the runs that completed" : "");
}

struct tresult {
	char measured[96];
	const char *status; /* "met", "MISSED", "n/a" */
	char note[160];
	double value;
	bool have;
};

static void eval_target(const struct report *rp, const struct target *t, struct tresult *o)
{
	memset(o, 0, sizeof(*o));
	o->status = "n/a";
	const struct report_wl *w = find_wl(rp, t->wl);
	double lib, peer;
	if (strcmp(t->key, "rs_fsck_gbps") == 0 && w && w->selected && !report_median(w, SYS_SWAPOBJ, t->key, &lib) &&
	    w->sys[SYS_SWAPOBJ].status == RR_OK) {
		snprintf(o->measured, sizeof(o->measured), "-");
		snprintf(o->note, sizeof(o->note), "swapobj-fsck not built");
		return;
	}
	if (!w || !w->selected) {
		snprintf(o->measured, sizeof(o->measured), "-");
		snprintf(o->note, sizeof(o->note), "workload not run");
		return;
	}
	if (t->peer >= 0 && w->sys[t->peer].status != RR_OK) {
		snprintf(o->measured, sizeof(o->measured), "-");
		if (w->sys[t->peer].status == RR_SKIP)
			snprintf(o->note, sizeof(o->note), "%.150s", w->sys[t->peer].msg);
		else
			snprintf(o->note, sizeof(o->note), "%s failed", bench_sys_name[t->peer]);
		return;
	}
	if (!report_median(w, SYS_SWAPOBJ, t->key, &lib)) {
		snprintf(o->measured, sizeof(o->measured), "-");
		snprintf(o->note, sizeof(o->note), "libswapobj %s",
		         w->sys[SYS_SWAPOBJ].status == RR_OK     ? "gave no figure"
		         : w->sys[SYS_SWAPOBJ].status == RR_SKIP ? "skipped"
		                                                 : "failed");
		return;
	}
	double x = lib;
	if (t->peer >= 0) {
		if (!report_median(w, (enum bench_sys)t->peer, t->key, &peer) || peer == 0 || lib == 0) {
			snprintf(o->measured, sizeof(o->measured), "-");
			snprintf(o->note, sizeof(o->note), "no figure");
			return;
		}
		x = t->invert ? peer / lib : lib / peer;
	}
	o->value = x;
	o->have = true;
	snprintf(o->measured, sizeof(o->measured), x >= 100 ? "%.0f%s" : "%.2f%s", x, t->unit);
	bool ok = t->op == OP_GE ? x >= t->thr : x <= t->thr;
	o->status = ok ? "met" : "MISSED";
	if (w->sys[SYS_SWAPOBJ].status == RR_FAIL)
		snprintf(o->note, sizeof(o->note), "from the runs before libswapobj failed (see above)");
	if (strcmp(t->key, "iv_us") == 0 && rp->inval_objects < 1000000) {
		o->status = "n/a";
		snprintf(o->note, sizeof(o->note), "only %llu objects (--inval-objects)",
		         (unsigned long long)rp->inval_objects);
	}
	if (strcmp(t->key, "rs_total_ms") == 0 && rp->size < (4ull << 30)) {
		double perg = 0;
		report_median(w, SYS_SWAPOBJ, "rs_ms_per_gib", &perg);
		o->status = "n/a";
		snprintf(o->note, sizeof(o->note),
		         "store of %.2f GiB, not 4; %.0f ms/GiB -> ~%.0f ms at 4 GiB if linear",
		         (double)rp->size / (1 << 30), perg, perg * 4);
	}
	/* After churn, the reopen replays about one checkpoint interval, which does not scale with the store. */
	if (strcmp(t->key, "rs_churn_ms") == 0 && rp->size < (4ull << 30)) {
		o->status = "n/a";
		snprintf(o->note, sizeof(o->note), "store of %.2f GiB, not 4", (double)rp->size / (1 << 30));
	}
}

void report_print(const struct report *rp, FILE *f)
{
	fprintf(f, "swapobj-bench, libswapobj %s, %s\n", rp->version, rp->started);
	fprintf(f, "machine: %s\n", rp->machine);
	fprintf(f, "command: %s\n", rp->command);
	fprintf(f, "corpus:  %s\n", rp->corpus);
	fprintf(f,
	        "cells: median of %u run%s after %u warm-up round%s, systems interleaved; (Nx) = libswapobj / that "
	        "column\n",
	        rp->runs, rp->runs == 1 ? "" : "s", rp->warmup, rp->warmup == 1 ? "" : "s");
	fprintf(f, "%s\n", rp->drop_note);
	for (int s = 1; s < SYS_N; s++)
		if (rp->sys_note[s][0])
			fprintf(f, "%s: %s\n", bench_sys_name[s], rp->sys_note[s]);
	for (unsigned i = 0; i < rp->nwl; i++)
		if (wl_shown(&rp->wl[i]))
			print_wl(rp, &rp->wl[i], f);
	fprintf(f, "\n== targets%s\n", rp->size < (1ull << 30) ? " (stated for 1 GiB runs; this run used less)" : "");
	fprintf(f, "%-44s %-9s %-10s %s\n", "target", "required", "measured", "status");
	for (size_t i = 0; i < NTARGETS; i++) {
		const struct target *t = &targets[i];
		struct tresult tr;
		char req[32];
		eval_target(rp, t, &tr);
		snprintf(req, sizeof(req), "%s %g%s", t->op == OP_GE ? ">=" : "<=", t->thr, t->unit);
		fprintf(f, "%-44s %-9s %-10s %s%s%s\n", t->what, req, tr.measured, tr.status, tr.note[0] ? ": " : "",
		        tr.note);
	}
	fprintf(f, "\nelapsed %.0f s; %s\n", rp->elapsed_s,
	        rp->failed ? "SOME RUNS FAILED (see above): exit status 1" : "all runs passed");
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fprintf(f, "null");
}

int report_json(const struct report *rp, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return bench_err("%s", strerror(errno));
	fprintf(f, "{\n  \"tool\": \"swapobj-bench\",\n  \"version\": ");
	json_str(f, rp->version);
	fprintf(f, ",\n  \"started\": ");
	json_str(f, rp->started);
	fprintf(f, ",\n  \"machine\": ");
	json_str(f, rp->machine);
	fprintf(f, ",\n  \"command\": ");
	json_str(f, rp->command);
	fprintf(f, ",\n  \"corpus\": ");
	json_str(f, rp->corpus);
	fprintf(f, ",\n  \"size_bytes\": %llu,\n  \"runs\": %u,\n  \"warmup\": %u,\n  \"elapsed_s\": ",
	        (unsigned long long)rp->size, rp->runs, rp->warmup);
	json_num(f, rp->elapsed_s);
	fprintf(f, ",\n  \"cold_reads\": ");
	json_str(f, rp->drop_note);
	fprintf(f, ",\n  \"failed\": %s,\n  \"systems\": {", rp->failed ? "true" : "false");
	for (int s = 0; s < SYS_N; s++) {
		fprintf(f, "%s\n    ", s ? "," : "");
		json_str(f, bench_sys_name[s]);
		fprintf(f, ": {\"available\": %s, \"note\": ", rp->sys_avail[s] ? "true" : "false");
		json_str(f, rp->sys_note[s]);
		fprintf(f, ", \"config\": ");
		json_str(f, rp->sys_config[s] ? rp->sys_config[s] : "");
		fprintf(f, "}");
	}
	fprintf(f, "\n  },\n  \"workloads\": [");
	bool firstw = true;
	for (unsigned i = 0; i < rp->nwl; i++) {
		const struct report_wl *w = &rp->wl[i];
		if (!w->selected)
			continue;
		fprintf(f, "%s\n    {\"name\": ", firstw ? "" : ",");
		firstw = false;
		json_str(f, w->name);
		fprintf(f, ", \"title\": ");
		json_str(f, w->title);
		fprintf(f, ", \"detail\": ");
		json_str(f, w->detail);
		fprintf(f, ", \"systems\": {");
		bool firsts = true;
		for (int s = 0; s < SYS_N; s++) {
			const struct report_sys *rs = &w->sys[s];
			if (!rs->used)
				continue;
			fprintf(f, "%s\n      ", firsts ? "" : ",");
			firsts = false;
			json_str(f, bench_sys_name[s]);
			fprintf(f, ": {\"status\": \"%s\", \"message\": ",
			        rs->status == RR_OK     ? "ok"
			        : rs->status == RR_SKIP ? "skipped"
			                                : "failed");
			json_str(f, rs->msg);
			fprintf(f, ", \"median\": {");
			/* medians over every key any run has */
			bool firstk = true;
			for (unsigned r = 0; r < rs->nruns; r++)
				for (unsigned k = 0; k < rs->runs[r].nv; k++) {
					const char *key = rs->runs[r].v[k].key;
					bool seen = false;
					for (unsigned r2 = 0; r2 <= r && !seen; r2++)
						for (unsigned k2 = 0; k2 < (r2 == r ? k : rs->runs[r2].nv); k2++)
							if (strcmp(rs->runs[r2].v[k2].key, key) == 0) {
								seen = true;
								break;
							}
					double m;
					if (seen || !report_median(w, (enum bench_sys)s, key, &m))
						continue;
					fprintf(f, "%s", firstk ? "" : ", ");
					firstk = false;
					json_str(f, key);
					fprintf(f, ": ");
					json_num(f, m);
				}
			fprintf(f, "}, \"runs\": [");
			for (unsigned r = 0; r < rs->nruns; r++) {
				fprintf(f, "%s{\"verified_pages\": %llu", r ? ", " : "",
				        (unsigned long long)rs->runs[r].verified);
				for (unsigned k = 0; k < rs->runs[r].nv; k++) {
					fprintf(f, ", ");
					json_str(f, rs->runs[r].v[k].key);
					fprintf(f, ": ");
					json_num(f, rs->runs[r].v[k].v);
				}
				fprintf(f, "}");
			}
			fprintf(f, "], \"latency_cdf_us\": {");
			if (rs->nruns) {
				bool firstc = true;
				for (unsigned c = 0; c < rs->runs[0].ncdf; c++) {
					float q[CDF_NQ];
					if (!median_cdf(w, (enum bench_sys)s, rs->runs[0].cdf[c].key, q))
						continue;
					fprintf(f, "%s", firstc ? "" : ", ");
					firstc = false;
					json_str(f, rs->runs[0].cdf[c].key);
					fprintf(f, ": [");
					for (unsigned j = 0; j < CDF_NQ; j++) {
						fprintf(f, "%s[", j ? ", " : "");
						json_num(f, cdf_q[j]);
						fprintf(f, ", ");
						json_num(f, q[j]);
						fprintf(f, "]");
					}
					fprintf(f, "]");
				}
			}
			fprintf(f, "}}");
		}
		fprintf(f, "\n    }}");
	}
	fprintf(f, "\n  ],\n  \"targets\": [");
	for (size_t i = 0; i < NTARGETS; i++) {
		struct tresult tr;
		eval_target(rp, &targets[i], &tr);
		fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
		json_str(f, targets[i].what);
		fprintf(f, ", \"op\": \"%s\", \"threshold\": ", targets[i].op == OP_GE ? ">=" : "<=");
		json_num(f, targets[i].thr);
		fprintf(f, ", \"measured\": ");
		if (tr.have)
			json_num(f, tr.value);
		else
			fprintf(f, "null");
		fprintf(f, ", \"status\": ");
		json_str(f, tr.status);
		fprintf(f, ", \"note\": ");
		json_str(f, tr.note);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f) != 0)
		return bench_err("%s", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* SVG                                                                       */
/* ------------------------------------------------------------------------ */

static void svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static FILE *svg_open(const char *dir, const char *name, int w, int h)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		bench_err("%s: %s", p, strerror(errno));
		return NULL;
	}
	fprintf(
	    f,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	    w, h, w, h);
	return f;
}

static int svg_bars(const char *dir, const char *fname, const char *title, const struct report_wl *w,
                    const struct mrow *m)
{
	int sys[SYS_N], n = 0;
	double val[SYS_N], max = 0;
	for (int s = 0; s < SYS_N; s++)
		if (report_median(w, (enum bench_sys)s, m->key, &val[n])) {
			sys[n] = s;
			if (val[n] > max)
				max = val[n];
			n++;
		}
	if (!n || max <= 0)
		return 0;
	const int W = 760, left = 110, right = 190, bh = 22, top = 40;
	int H = top + n * (bh + 8) + 20;
	FILE *f = svg_open(dir, fname, W, H);
	if (!f)
		return -1;
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">");
	svg_text(f, title);
	fprintf(f, "</text>\n");
	double lib = 0;
	bool have_lib = report_median(w, SYS_SWAPOBJ, m->key, &lib);
	for (int i = 0; i < n; i++) {
		int y = top + i * (bh + 8);
		double len = (W - left - right) * val[i] / max;
		char v[48], r[32], lab[96];
		fmt_val(v, sizeof(v), val[i], m->fmt);
		if (sys[i] != SYS_SWAPOBJ && have_lib && val[i] > 0 && m->better) {
			fmt_ratio(r, sizeof(r), lib / val[i]);
			snprintf(lab, sizeof(lab), "%s (libswapobj = %s)", v, r);
		} else {
			snprintf(lab, sizeof(lab), "%s", v);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6, y + 15,
		        bench_sys_name[sys[i]]);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", left, y, len, bh,
		        sys_color[sys[i]]);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">", left + len + 5, y + 15);
		svg_text(f, lab);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 1 : bench_err("write %s", fname);
}

#define CDF_NINES 5

/* -log10(1 - q), capped: 0.9 -> 1, 0.99 -> 2, ... */
static double cdf_nines(double q)
{
	return q >= 1 ? CDF_NINES : fmin(-log10(1 - q), CDF_NINES);
}

static int svg_cdf(const char *dir, const char *fname, const char *title, const struct report_wl *w, const char *key)
{
	float q[SYS_N][CDF_NQ];
	bool has[SYS_N];
	int n = 0;
	double lo = 1e30, hi = 0;
	for (int s = 0; s < SYS_N; s++) {
		has[s] = median_cdf(w, (enum bench_sys)s, key, q[s]);
		if (!has[s])
			continue;
		n++;
		for (unsigned i = 0; i < CDF_NQ; i++) {
			double v = q[s][i] > 0.01 ? q[s][i] : 0.01;
			if (v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
	}
	if (!n)
		return 0;
	double l0 = floor(log10(lo)), l1 = ceil(log10(hi));
	if (l1 <= l0)
		l1 = l0 + 1;
	const int W = 760, H = 440, x0 = 70, x1 = W - 150, y0 = 40, y1 = H - 50;
	FILE *f = svg_open(dir, fname, W, H);
	if (!f)
		return -1;
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">");
	svg_text(f, title);
	fprintf(f, "</text>\n");
	/* axes: x log10(latency us), y fraction */
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", x0, y0,
	        x1 - x0, y1 - y0);
	for (double d = l0; d <= l1 + 1e-9; d += 1) {
		double x = x0 + (x1 - x0) * (d - l0) / (l1 - l0);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, y0, x, y1);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x, y1 + 16, pow(10, d));
	}
	/* y: fraction of calls at or below x, on a "nines" scale so that the tail is visible */
	static const char *const nines[] = {"0", "0.9", "0.99", "0.999", "0.9999", "0.99999"};
	for (int i = 0; i <= CDF_NINES; i++) {
		double y = y1 - (y1 - y0) * i / (double)CDF_NINES;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x0, y, x1, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 4, y + 4, nines[i]);
	}
	fprintf(f,
	        "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">fraction of calls "
	        "(nines scale)</text>\n",
	        (y0 + y1) / 2, (y0 + y1) / 2);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">latency (us, log scale)</text>\n", (x0 + x1) / 2,
	        H - 12);
	int li = 0;
	for (int s = 0; s < SYS_N; s++) {
		if (!has[s])
			continue;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"", sys_color[s],
		        s == SYS_SWAPOBJ ? 3 : 2);
		for (unsigned i = 0; i < CDF_NQ; i++) {
			double v = q[s][i] > 0.01 ? q[s][i] : 0.01;
			double x = x0 + (x1 - x0) * (log10(v) - l0) / (l1 - l0);
			double y = y1 - (y1 - y0) * cdf_nines(cdf_q[i]) / CDF_NINES;
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		fprintf(f, "\"/>\n");
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>\n", x1 + 12,
		        y0 + 10 + li * 20, sys_color[s]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">%s p99 %.0f</text>\n", x1 + 30, y0 + 16 + li * 20,
		        bench_sys_name[s], q[s][27]);
		li++;
	}
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 1 : bench_err("write %s", fname);
}

int report_plots(const struct report *rp, const char *dir)
{
	char names[64][512];
	int nn = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return bench_err("mkdir %s: %s", dir, strerror(errno));
	for (unsigned i = 0; i < rp->nwl; i++) {
		const struct report_wl *w = &rp->wl[i];
		if (!w->selected)
			continue;
		for (size_t r = 0; r < NROWS; r++) {
			if (strcmp(rows[r].wl, w->name) != 0 || !rows[r].chart)
				continue;
			char fname[512], title[512];
			snprintf(fname, sizeof(fname), "%s-%s.svg", w->name, rows[r].key);
			snprintf(title, sizeof(title), "%s: %s (median)", w->title, rows[r].label);
			int e = svg_bars(dir, fname, title, w, &rows[r]);
			if (e < 0)
				return -1;
			if (e > 0 && nn < 64)
				snprintf(names[nn++], sizeof(names[0]), "%s", fname);
		}
		/* latency CDFs: every key any run recorded one for */
		char seen[RR_MAXCDF * 2][RR_KEY];
		int ns = 0;
		for (int s = 0; s < SYS_N; s++)
			for (unsigned r = 0; r < w->sys[s].nruns; r++)
				for (unsigned c = 0; c < w->sys[s].runs[r].ncdf; c++) {
					const char *k = w->sys[s].runs[r].cdf[c].key;
					bool dup = false;
					for (int j = 0; j < ns; j++)
						dup |= strcmp(seen[j], k) == 0;
					if (dup || ns == RR_MAXCDF * 2)
						continue;
					snprintf(seen[ns++], RR_KEY, "%s", k);
				}
		for (int j = 0; j < ns; j++) {
			/* swap-out and swap-in share runs: plot each key under the workload it belongs to */
			bool in = strncmp(seen[j], "in_", 3) == 0;
			if ((strcmp(w->name, "swapout") == 0 && in) || (strcmp(w->name, "swapin") == 0 && !in))
				continue;
			char fname[512], title[512];
			snprintf(fname, sizeof(fname), "%s-%s-cdf.svg", w->name, seen[j]);
			snprintf(title, sizeof(title), "%s: latency CDF, %s (pointwise median of runs)", w->title,
			         seen[j]);
			int e = svg_cdf(dir, fname, title, w, seen[j]);
			if (e < 0)
				return -1;
			if (e > 0 && nn < 64)
				snprintf(names[nn++], sizeof(names[0]), "%s", fname);
		}
	}
	char p[1024];
	snprintf(p, sizeof(p), "%s/index.html", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return bench_err("%s: %s", p, strerror(errno));
	fprintf(f, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>swapobj-bench</title>\n<p>");
	svg_text(f, rp->command);
	fprintf(f, "<br>");
	svg_text(f, rp->machine);
	fprintf(f, "</p>\n");
	for (int i = 0; i < nn; i++)
		fprintf(f, "<p><img src=\"%s\"></p>\n", names[i]);
	return fclose(f) == 0 ? 0 : bench_err("%s: %s", p, strerror(errno));
}
