/*
 * bench_wl_churn.c - workload 4: churn, overwrites at 80% and 90% utilization
 * (write amplification and latency under the cleaner).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

static const struct {
	const char *key;
	unsigned fill; /* percent */
	bool hot;      /* 90% of writes to 10% of pages */
} churn_var[4] = {{"c80h", 80, true}, {"c80u", 80, false}, {"c90h", 90, true}, {"c90u", 90, false}};

/* Segment size for churn (bench_cleaning_segment). */
static uint32_t churn_segment(void)
{
	return bench_cleaning_segment(cfg.churn_size, cfg.segment);
}

/* Say where in the phase a write failed: "<error> (filling: page 123 of 456)". */
static void churn_where(const char *phase, uint64_t i, uint64_t n)
{
	char m[sizeof(bench_errbuf)];
	snprintf(m, sizeof(m), "%.400s (%s: page %" PRIu64 " of %" PRIu64 ")", bench_errbuf, phase, i + 1, n);
	snprintf(bench_errbuf, sizeof(bench_errbuf), "%s", m);
}

/*
 * Pages the churn workload keeps live at fill% utilization: utilization is
 * live bytes / usable capacity of a libswapobj store of --churn-size (its
 * swapobj_store_stat usable_bytes: capacity minus the cleaner's reserve and
 * one open segment per stream), a page being a 4160-byte record. Every
 * system gets the same pages. Found once by formatting a scratch store.
 */
#define CHURN_REC_BYTES 4160u
static uint64_t churn_usable, churn_capacity;

static int churn_probe(const char *dir)
{
	if (churn_usable)
		return 0;
	char *path = NULL;
	if (asprintf(&path, "%s/probe.img", dir) < 0)
		path = NULL;
	const char *paths[1] = {path};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_store_stat ss;
	swapobj_store *st;
	int err;
	if (!path)
		return bench_err("out of memory");
	fo.size = cfg.churn_size;
	fo.segment_size = churn_segment();
	fo.layout = cfg.layout;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	if ((err = swapobj_format(paths, 1, &fo)) == 0 && (err = swapobj_store_open(&st, paths, 1, &oo)) == 0) {
		swapobj_store_stat(&ss, sizeof(ss), st);
		swapobj_store_close(st);
		churn_usable = ss.usable_bytes;
		churn_capacity = ss.capacity_bytes;
	}
	unlink(path);
	free(path);
	if (err < 0)
		return bench_err("libswapobj probe store: %s", swapobj_errmsg());
	return 0;
}

static int churn_one(struct run_ctx *x, struct run_result *r, unsigned v)
{
	const struct store_ops *o = ops_of(x->sys);
	if (churn_probe(x->dir) < 0)
		return -1;
	uint64_t l = churn_usable / CHURN_REC_BYTES * churn_var[v].fill / 100;
	struct store_params p = base_params(x, l, cfg.churn_size);
	p.segment_size = churn_segment();
	p.layout = cfg.layout;
	struct store *s = NULL;
	struct store_stats s0, s1;
	uint32_t *ord = NULL, *lat = NULL;
	uint16_t *gen = NULL;
	char k[RR_KEY];
	int rc = -1;
	if (o->create(&s, &p) < 0)
		goto done;
	uint64_t warm = (uint64_t)((double)l * cfg.churn_warmup);
	uint64_t w = (uint64_t)((double)l * cfg.churn_factor);
	ord = bench_perm(l, 0xca7 + v + 16 * (uint64_t)(x->round + 1));
	lat = malloc((w ? w : 1) * sizeof(*lat));
	gen = calloc(l, sizeof(*gen));
	if (!ord || !lat || !gen) {
		bench_err("out of memory");
		goto done;
	}
	for (uint64_t i = 0; i < l; i++) {
		uint32_t kk = ord[i];
		if (o->write(s, 0, kk % cfg.nobj, kk / cfg.nobj, page_at(kk % cfg.nobj, kk / cfg.nobj, 0), 1) < 0) {
			churn_where("filling", i, l);
			goto done;
		}
	}
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
		goto done;
	/* ord doubles as the hot list: its first tenth is hot. */
	uint64_t hot = l / 10 ? l / 10 : 1, rs = 0x9e37 + v + (uint64_t)x->round * 1000003u;
	int64_t blk0 = -1;
	uint64_t t0 = 0;
	/* Warm-up overwrites first (not measured): the store reaches its steady state of cleaning. */
	for (uint64_t i = 0; i < warm + w; i++) {
		if (i == warm) {
			if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
				goto done;
			o->stats(s, &s0);
			blk0 = bench_blk_sectors_written(x->dir);
			t0 = bench_now_ns();
		}
		rs = bench_mix64(rs + 0x9e3779b97f4a7c15ull);
		uint64_t kk;
		if (!churn_var[v].hot)
			kk = rs % l;
		else if ((rs >> 60) * 10 < 9 * 16ull) /* 9 in 10 */
			kk = ord[(rs >> 8) % hot];
		else
			kk = ord[hot + (rs >> 8) % (l - hot > 0 ? l - hot : 1)];
		uint32_t obj = (uint32_t)(kk % cfg.nobj);
		uint64_t pg = kk / cfg.nobj;
		gen[kk]++;
		const uint8_t *page = page_at(obj, pg, gen[kk]);
		uint64_t a = bench_now_ns();
		if (o->write(s, 0, obj, pg, page, 1) < 0) {
			churn_where(i < warm ? "warming up" : "overwriting", i < warm ? i : i - warm,
			            i < warm ? warm : w);
			goto done;
		}
		if (i >= warm)
			lat[i - warm] = (uint32_t)(bench_now_ns() - a);
		if (interrupted)
			goto done;
	}
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
		goto done;
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	int64_t blk1 = bench_blk_sectors_written(x->dir);
	o->stats(s, &s1);
	double user = (double)w * BPG;
	snprintf(k, sizeof(k), "%s_pps", churn_var[v].key);
	rr_set(r, k, (double)w / secs);
	if (s1.dev_bytes >= 0) {
		snprintf(k, sizeof(k), "%s_wa", churn_var[v].key);
		rr_set(r, k, (s1.dev_bytes - s0.dev_bytes) / user);
	}
	if (blk0 >= 0 && blk1 >= blk0) {
		snprintf(k, sizeof(k), "%s_wa_blk", churn_var[v].key);
		rr_set(r, k, (double)(blk1 - blk0) * 512 / user);
	}
	snprintf(k, sizeof(k), "%s_live", churn_var[v].key);
	rr_set(r, k, (double)l * CHURN_REC_BYTES / (double)churn_usable * 100);
	snprintf(k, sizeof(k), "%s_raw", churn_var[v].key);
	rr_set(r, k, (double)l * BPG / (double)churn_capacity * 100);
	rr_latency(r, churn_var[v].key, lat, w);
	/* verification: every page holds its last generation */
	uint32_t *all = bench_perm(l, 0);
	double rsecs;
	if (!all) {
		bench_err("out of memory");
		goto done;
	}
	int e = read_pass(r, o, s, all, l, NULL, &rsecs, gen, NULL);
	free(all);
	if (e < 0)
		goto done;
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(lat);
	free(gen);
	return rc;
}

static int run_churn(struct run_ctx *x, struct run_result *r)
{
	int rc = 0;
	char also[64] = "";
	/* A variant that fails (ENOSPC at 90% full, say) does not hide the others' figures. */
	for (unsigned v = 0; v < 4 && !interrupted; v++) {
		if (!cfg.churn_fill[churn_var[v].fill == 90])
			continue;
		if (churn_one(x, r, v) < 0) {
			if (rc < 0)
				snprintf(also + strlen(also), sizeof(also) - strlen(also), " %s", churn_var[v].key);
			rr_fail(r, "churn %s (%u%% full, %s): %s", churn_var[v].key, churn_var[v].fill,
			        churn_var[v].hot ? "90/10 hot/cold" : "uniform", bench_errbuf);
			rc = -1;
		}
		bench_rmtree(x->dir);
		mkdir(x->dir, 0700);
	}
	if (also[0])
		snprintf(r->msg + strlen(r->msg), sizeof(r->msg) - strlen(r->msg), "; also failed:%s", also);
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	rr_set(r, "rss_mib", (double)(hwm - x->rss0) / (1 << 20));
	return rc;
}

static void churn_detail(char *buf, size_t len)
{
	char b[32];
	snprintf(buf, len,
	         "a %s store (libswapobj: %u MiB segments) filled to %s%% utilization (live bytes / libswapobj's "
	         "usable capacity, a page = a 4160-byte record; same pages for every system), %.1fx the live pages "
	         "overwritten one per call unmeasured, then %.1fx measured (WA, latency), 90/10 hot/cold or uniform",
	         tool_human(cfg.churn_size, b, sizeof(b)), churn_segment() >> 20,
	         cfg.churn_fill[0] && cfg.churn_fill[1] ? "80%/90"
	         : cfg.churn_fill[0]                    ? "80"
	                                                : "90",
	         cfg.churn_warmup, cfg.churn_factor);
}

const struct bench_wl bench_wl_churn = {
    .name = "churn",
    .title = "4. churn",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT),
    .run = run_churn,
    .detail = churn_detail,
};
