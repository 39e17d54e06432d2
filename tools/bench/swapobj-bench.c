/*
 * swapobj-bench - libswapobj's performance measured against peers and
 * physical limits in the same run, on the same pages, as ratios.
 *
 * Design:
 *  - Every measured run happens in a forked child process: its peak RSS is
 *    its own, a crash or hang of the library (or a peer) is reported as that
 *    run's failure instead of killing the benchmark, and nothing cached in
 *    process memory survives from one run to the next. Results come back in
 *    a shared anonymous mapping (struct run_result).
 *  - Systems are interleaved: for each workload, round r runs every system
 *    once (A B C A B C ...), after --warmup discarded rounds; medians over
 *    --runs rounds are reported, with libswapobj's ratio to each peer.
 *  - Every page read back is compared with the page written; a mismatch
 *    fails the run and the exit status.
 *  - Pages come from a corpus (--corpus FILE, or generated), copied once
 *    into 4 KiB-aligned memory so O_DIRECT stores can write them as they are.
 *
 * Exit status: 0 every run passed, 1 a run failed or returned wrong data,
 * 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "fsck.h"
#include "swapobj.h"

static const char *prog = "swapobj-bench";

enum wl { WL_SWAPOUT, WL_SWAPIN, WL_SEQ, WL_CHURN, WL_RESTART, WL_INVAL, WL_FUSE, WL_THREADS, WL_FSCK, WL_N };

static const char *const wl_name[WL_N] = {"swapout",    "swapin", "seq",     "churn", "restart",
                                          "invalidate", "fuse",   "threads", "fsck"};

#define S(x) (1u << (x))
static const unsigned wl_systems[WL_N] = {
    [WL_SWAPOUT] =
        S(SYS_SWAPOBJ) | S(SYS_SLOT) | S(SYS_ROCKSDB) | S(SYS_LMDB) | S(SYS_ZSTD) | S(SYS_ZRAM) | S(SYS_DISK),
    [WL_SWAPIN] = S(SYS_SWAPOBJ) | S(SYS_SLOT) | S(SYS_ROCKSDB) | S(SYS_LMDB) | S(SYS_ZSTD) | S(SYS_ZRAM) | S(SYS_DISK),
    [WL_SEQ] = S(SYS_SWAPOBJ) | S(SYS_SLOT) | S(SYS_ROCKSDB) | S(SYS_LMDB) | S(SYS_DISK),
    [WL_CHURN] = S(SYS_SWAPOBJ) | S(SYS_SLOT),
    [WL_RESTART] = S(SYS_SWAPOBJ) | S(SYS_ROCKSDB) | S(SYS_LMDB) | S(SYS_DISK),
    [WL_INVAL] = S(SYS_SWAPOBJ) | S(SYS_ROCKSDB) | S(SYS_LMDB),
    [WL_FUSE] = S(SYS_SWAPOBJ) | S(SYS_FUSEFS),
    [WL_THREADS] = S(SYS_SWAPOBJ) | S(SYS_SLOT) | S(SYS_ROCKSDB) | S(SYS_LMDB) | S(SYS_ZSTD),
    [WL_FSCK] = S(SYS_SWAPOBJ) | S(SYS_DISK),
};

struct bench_cfg {
	uint64_t size;
	uint32_t nobj;
	unsigned runs, warmup, timeout;
	bool wl_sel[WL_N], sys_sel[SYS_N], sys_avail[SYS_N];
	char sys_note[SYS_N][160];
	char *dir;
	bool dir_made;
	const char *corpus_path, *json, *plot, *swapobjfs;
	uint32_t segment;
	uint64_t inval_objects, seq_io, churn_size;
	double churn_factor, churn_warmup;
	bool churn_fill[2]; /* 80%, 90% */
	int zstd_level, zram_id;
	bool quiet;
	uint8_t *pages; /* corpus, 4 KiB-aligned */
	uint64_t npages;
	char corpus_desc[300];
};

static struct bench_cfg cfg;
static const char *dir_arg;
static int bench_main(int argc, char **argv);
static volatile sig_atomic_t interrupted;
static volatile pid_t child_pid;

/* ------------------------------------------------------------------------ */
/* Pages and verification                                                    */
/* ------------------------------------------------------------------------ */

/* The corpus page that (obj, pg) holds at generation gen; consecutive generations differ. */
static const uint8_t *page_at(uint32_t obj, uint64_t pg, uint32_t gen)
{
	uint64_t h = bench_mix64(((uint64_t)obj << 40) ^ pg ^ 0x5a5a5a00000000ull);
	return cfg.pages + ((h + (uint64_t)gen * 7919u) % cfg.npages) * BPG;
}

static int verify_page(struct run_result *r, const char *sys, const uint8_t *got, uint32_t obj, uint64_t pg,
                       const uint8_t *want, const uint8_t *alt)
{
	r->verified++;
	if (memcmp(got, want, BPG) == 0 || (alt && memcmp(got, alt, BPG) == 0))
		return 0;
	unsigned first = 0, ndiff = 0;
	for (unsigned i = BPG; i-- > 0;)
		if (got[i] != want[i]) {
			first = i;
			ndiff++;
		}
	rr_fail(r,
	        "VERIFICATION FAILED: %s returned wrong data for object %u page %" PRIu64 ": %u of 4096 bytes "
	        "differ, first at byte %u (got 0x%02x, want 0x%02x)",
	        sys, obj, pg, ndiff, first, got[first], want[first]);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* One run                                                                   */
/* ------------------------------------------------------------------------ */

struct run_ctx {
	enum wl wl;
	enum bench_sys sys;
	int round;   /* < 0: warm-up */
	bool swapin; /* swap workload: also read back (swapin selected) */
	char *dir;   /* this run's directory, empty */
	uint64_t rss0;
};

static const struct store_ops *ops_of(enum bench_sys s)
{
	return bench_store_ops(s);
}

static struct store_params base_params(const struct run_ctx *x, uint64_t npages, uint64_t capacity)
{
	struct store_params p;
	memset(&p, 0, sizeof(p));
	p.dir = x->dir;
	p.nobj = cfg.nobj;
	p.obj_pages = (npages + cfg.nobj - 1) / cfg.nobj;
	p.capacity = capacity;
	p.nthreads = 1;
	p.segment_size = cfg.segment;
	p.zstd_level = cfg.zstd_level;
	p.zram_id = cfg.zram_id;
	return p;
}

/* Device space for a store that must hold npages without needing its cleaner. */
static uint64_t roomy_capacity(uint64_t npages)
{
	uint64_t seg = cfg.segment ? cfg.segment : SWAPOBJ_SEGMENT_DEFAULT;
	uint64_t c = npages * BPG + npages * BPG / 4 + 32 * seg;
	return (c + seg - 1) / seg * seg;
}

static void record_common(struct run_result *r, const struct run_ctx *x, const struct store_stats *ss, double npages,
                          const char *prefix)
{
	char k[RR_KEY];
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	snprintf(k, sizeof(k), "%sdisk_bpp", prefix);
	if (ss->disk_bytes >= 0)
		rr_set(r, k, ss->disk_bytes / npages);
	snprintf(k, sizeof(k), "%sindex_bpp", prefix);
	if (ss->index_bytes >= 0)
		rr_set(r, k, ss->index_bytes / (ss->pages > 0 ? ss->pages : npages));
	snprintf(k, sizeof(k), "%srss_mib", prefix);
	rr_set(r, k, (double)(hwm > x->rss0 ? hwm - x->rss0 : 0) / (1 << 20));
}

/* Read npages pages in the order ord (page k = (k % nobj, k / nobj)), timing each read and verifying it. */
static int read_pass(struct run_result *r, const struct store_ops *o, struct store *s, const uint32_t *ord, uint64_t n,
                     uint32_t *lat, double *secs, const uint16_t *gen, const uint16_t *gen_alt)
{
	uint8_t *buf = bench_alloc_aligned(BPG);
	if (!buf)
		return bench_err("out of memory");
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint32_t k = ord[i], obj = k % cfg.nobj;
		uint64_t pg = k / cfg.nobj;
		uint64_t a = bench_now_ns();
		if (o->read(s, 0, obj, pg, buf, 1) < 0) {
			free(buf);
			return -1;
		}
		uint64_t b = bench_now_ns();
		if (lat)
			lat[i] = (uint32_t)(b - a < UINT32_MAX ? b - a : UINT32_MAX);
		uint32_t g = gen ? gen[k] : 0;
		const uint8_t *alt = gen_alt && gen_alt[k] != g ? page_at(obj, pg, gen_alt[k]) : NULL;
		if (verify_page(r, bench_sys_name[o->sys], buf, obj, pg, page_at(obj, pg, g), alt) < 0) {
			free(buf);
			return -1;
		}
		if (interrupted)
			break;
	}
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The disk's own limits                                                     */
/* ------------------------------------------------------------------------ */

#define DISK_IO (1u << 20)

struct disk_file {
	int fd;
	char *path;
	uint64_t bytes;
};

static int disk_open(struct disk_file *d, const struct run_ctx *x, uint64_t bytes)
{
	size_t l = strlen(x->dir) + 16;
	d->path = malloc(l);
	d->bytes = (bytes + DISK_IO - 1) / DISK_IO * DISK_IO;
	if (!d->path)
		return bench_err("out of memory");
	snprintf(d->path, l, "%s/disk.bin", x->dir);
	d->fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (d->fd < 0)
		return bench_err("open %s with O_DIRECT: %s", d->path, strerror(errno));
	int e = posix_fallocate(d->fd, 0, (off_t)d->bytes);
	if (e)
		return bench_err("fallocate %s: %s", d->path, strerror(e));
	return 0;
}

static void disk_close(struct disk_file *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
}

/* File page k holds the page of the swap workload's index k. */
static void disk_stage(uint8_t *buf, uint64_t first_page, unsigned npages)
{
	for (unsigned i = 0; i < npages; i++) {
		uint64_t k = first_page + i;
		memcpy(buf + (size_t)i * BPG, page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), BPG);
	}
}

/* Sequential O_DIRECT 1 MiB writes at queue depth 1, then fdatasync: seconds spent in the calls. */
static int disk_seq_write(struct disk_file *d, uint64_t npages, double *secs)
{
	uint8_t *buf = bench_alloc_aligned(DISK_IO);
	uint64_t spent = 0;
	if (!buf)
		return bench_err("out of memory");
	for (uint64_t pg = 0; pg < npages; pg += DISK_IO / BPG) {
		unsigned n = (unsigned)(npages - pg < DISK_IO / BPG ? npages - pg : DISK_IO / BPG);
		disk_stage(buf, pg, n);
		uint64_t a = bench_now_ns();
		ssize_t w = pwrite(d->fd, buf, DISK_IO, (off_t)(pg * BPG));
		spent += bench_now_ns() - a;
		if (w != (ssize_t)DISK_IO) {
			free(buf);
			return bench_err("pwrite %s: %s", d->path, w < 0 ? strerror(errno) : "short");
		}
	}
	uint64_t a = bench_now_ns();
	int rc = fdatasync(d->fd);
	spent += bench_now_ns() - a;
	free(buf);
	if (rc < 0)
		return bench_err("fdatasync %s: %s", d->path, strerror(errno));
	*secs = (double)spent / 1e9;
	return 0;
}

static int disk_seq_read(struct run_result *r, struct disk_file *d, uint64_t npages, double *secs)
{
	uint8_t *buf = bench_alloc_aligned(DISK_IO);
	uint64_t spent = 0;
	if (!buf)
		return bench_err("out of memory");
	for (uint64_t pg = 0; pg < npages; pg += DISK_IO / BPG) {
		uint64_t a = bench_now_ns();
		ssize_t n = pread(d->fd, buf, DISK_IO, (off_t)(pg * BPG));
		spent += bench_now_ns() - a;
		if (n != (ssize_t)DISK_IO) {
			free(buf);
			return bench_err("pread %s: %s", d->path, n < 0 ? strerror(errno) : "short");
		}
		for (uint64_t i = 0; i < DISK_IO / BPG && pg + i < npages; i++) {
			uint64_t k = pg + i;
			if (verify_page(r, "disk", buf + i * BPG, (uint32_t)(k % cfg.nobj), k / cfg.nobj,
			                page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), NULL) < 0) {
				free(buf);
				return -1;
			}
		}
	}
	free(buf);
	*secs = (double)spent / 1e9;
	return 0;
}

static int run_disk_swap(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	struct disk_file d = {-1, NULL, 0};
	uint32_t *ord = NULL, *lat = NULL;
	uint8_t *buf = bench_alloc_aligned(BPG);
	double secs;
	int rc = -1;
	if (!buf || disk_open(&d, x, n * BPG) < 0)
		goto done;
	int64_t blk0 = bench_blk_sectors_written(x->dir);
	if (disk_seq_write(&d, n, &secs) < 0)
		goto done;
	int64_t blk1 = bench_blk_sectors_written(x->dir);
	rr_set(r, "out_mbps", (double)n * BPG / 1e6 / secs);
	rr_set(r, "out_pps", (double)n / secs);
	if (blk0 >= 0 && blk1 >= blk0)
		rr_set(r, "out_wa_blk", (double)(blk1 - blk0) * 512 / ((double)n * BPG));
	rr_set(r, "disk_bpp", (double)bench_du(d.path) / (double)n);
	if (x->swapin) {
		ord = bench_perm(n, 0xc01d + (uint64_t)x->round);
		lat = malloc(n * sizeof(*lat));
		if (!ord || !lat) {
			bench_err("out of memory");
			goto done;
		}
		bench_drop_caches();
		uint64_t t0 = bench_now_ns();
		for (uint64_t i = 0; i < n; i++) {
			uint64_t k = ord[i];
			uint64_t a = bench_now_ns();
			ssize_t got = pread(d.fd, buf, BPG, (off_t)(k * BPG));
			lat[i] = (uint32_t)(bench_now_ns() - a);
			if (got != BPG) {
				bench_err("pread %s: %s", d.path, got < 0 ? strerror(errno) : "short");
				goto done;
			}
			if (verify_page(r, "disk", buf, (uint32_t)(k % cfg.nobj), k / cfg.nobj,
			                page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), NULL) < 0)
				goto done;
		}
		secs = (double)(bench_now_ns() - t0) / 1e9;
		rr_set(r, "in_cold_pps", (double)n / secs);
		rr_latency(r, "in_cold", lat, n);
	} else {
		if (disk_seq_read(r, &d, n, &secs) < 0)
			goto done;
	}
	rc = 0;
done:
	free(buf);
	free(ord);
	free(lat);
	disk_close(&d);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Workloads 1 and 2: swap-out, swap-in                                      */
/* ------------------------------------------------------------------------ */

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
		if (e == 0)
			e = read_pass(r, o, s, ord2, n, lat, &secs, NULL, NULL);
		if (e == 0) {
			rr_set(r, "in_cold_pps", (double)n / secs);
			rr_latency(r, "in_cold", lat, n);
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

/* ------------------------------------------------------------------------ */
/* Workload 3: sequential object write and read                             */
/* ------------------------------------------------------------------------ */

#define SEQ_OBJECTS 4u

static int run_seq(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG, per = (n + SEQ_OBJECTS - 1) / SEQ_OBJECTS;
	double user = (double)n * BPG;
	int rc = -1;
	if (x->sys == SYS_DISK) {
		struct disk_file d = {-1, NULL, 0};
		double ws, rs;
		if (disk_open(&d, x, n * BPG) == 0 && disk_seq_write(&d, n, &ws) == 0) {
			bench_drop_caches();
			if (disk_seq_read(r, &d, n, &rs) == 0) {
				rr_set(r, "seq_w_mbps", user / 1e6 / ws);
				rr_set(r, "seq_r_mbps", user / 1e6 / rs);
				rc = 0;
			}
		}
		disk_close(&d);
		return rc;
	}
	const struct store_ops *o = ops_of(x->sys);
	uint32_t chunk = (uint32_t)(cfg.seq_io / BPG);
	struct store_params p = base_params(x, n, x->sys == SYS_SWAPOBJ ? roomy_capacity(n) : n * BPG + (4u << 20));
	struct store *s = NULL;
	struct store_stats ss;
	uint8_t *buf = bench_alloc_aligned((size_t)chunk * BPG);
	uint64_t spent = 0;
	p.nobj = SEQ_OBJECTS;
	p.obj_pages = per;
	if (!buf) {
		bench_err("out of memory");
		goto done;
	}
	if (o->create(&s, &p) < 0)
		goto done;
	for (uint32_t obj = 0; obj < SEQ_OBJECTS; obj++)
		for (uint64_t pg = 0; pg < per && obj * per + pg < n; pg += chunk) {
			uint32_t c = (uint32_t)(per - pg < chunk ? per - pg : chunk);
			for (uint32_t i = 0; i < c; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, 0), BPG);
			uint64_t a = bench_now_ns();
			if (o->write(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - a;
		}
	uint64_t a = bench_now_ns();
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
		goto done;
	spent += bench_now_ns() - a;
	rr_set(r, "seq_w_mbps", user / 1e6 / ((double)spent / 1e9));
	o->stats(s, &ss);
	record_common(r, x, &ss, (double)n, "seq_");
	if (o->reopen(s) < 0)
		goto done;
	spent = 0;
	for (uint32_t obj = 0; obj < SEQ_OBJECTS; obj++)
		for (uint64_t pg = 0; pg < per && obj * per + pg < n; pg += chunk) {
			uint32_t c = (uint32_t)(per - pg < chunk ? per - pg : chunk);
			uint64_t b = bench_now_ns();
			if (o->read(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - b;
			for (uint32_t i = 0; i < c; i++)
				if (verify_page(r, bench_sys_name[x->sys], buf + (size_t)i * BPG, obj, pg + i,
				                page_at(obj, pg + i, 0), NULL) < 0)
					goto done;
		}
	rr_set(r, "seq_r_mbps", user / 1e6 / ((double)spent / 1e9));
	rc = 0;
done:
	if (s)
		o->close(s);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Workload 4: churn                                                         */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *key;
	unsigned fill; /* percent */
	bool hot;      /* 90% of writes to 10% of pages */
} churn_var[4] = {{"c80h", 80, true}, {"c80u", 80, false}, {"c90h", 90, true}, {"c90u", 90, false}};

/* Segment size for churn: --segment, else the largest power of two giving the store 64 segments, at most
 * the library's default: a store of only a few segments cannot be cleaned sensibly. */
static uint32_t churn_segment(void)
{
	if (cfg.segment)
		return cfg.segment;
	uint64_t seg = SWAPOBJ_SEGMENT_DEFAULT;
	while (seg > SWAPOBJ_SEGMENT_MIN && cfg.churn_size / seg < 64)
		seg /= 2;
	return (uint32_t)seg;
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
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	if ((err = swapobj_format(paths, 1, &fo)) == 0 && (err = swapobj_store_open(&st, paths, 1, &oo)) == 0) {
		swapobj_store_stat(st, &ss);
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

/* ------------------------------------------------------------------------ */
/* Workload 5: restart after kill -9                                         */
/* ------------------------------------------------------------------------ */

/* The writer: fill the store, sync, keep writing unsynced pages, tell the parent, wait to be killed. */
static void restart_writer(struct run_ctx *x, const struct store_params *p, int wfd, uint64_t n, uint64_t extra)
{
	const struct store_ops *o = ops_of(x->sys);
	struct store *s = NULL;
	uint32_t *ord = bench_perm(n, 0xdead);
	char msg[600];
	if (!ord || o->create(&s, p) < 0)
		goto fail;
	for (uint64_t i = 0; i < n; i++)
		if (o->write(s, 0, ord[i] % cfg.nobj, ord[i] / cfg.nobj,
		             page_at(ord[i] % cfg.nobj, ord[i] / cfg.nobj, 0), 1) < 0)
			goto fail;
	if ((o->thread_done && o->thread_done(s, 0) < 0) || o->sync(s) < 0)
		goto fail;
	/* Unsynced overwrites of the first pages of ord: after the kill each holds generation 0 or 1. */
	for (uint64_t i = 0; i < extra; i++)
		if (o->write(s, 0, ord[i] % cfg.nobj, ord[i] / cfg.nobj,
		             page_at(ord[i] % cfg.nobj, ord[i] / cfg.nobj, 1), 1) < 0)
			goto fail;
	if (write(wfd, "K", 1) != 1)
		_exit(1);
	for (;;)
		pause();
fail:
	snprintf(msg, sizeof(msg), "E%s", bench_errbuf[0] ? bench_errbuf : "out of memory");
	if (write(wfd, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(1);
}

static const char *find_tool(const char *name, char *buf, size_t len);

/* swapobj-fsck -n on the store the killed writer left (when the tool is built): its speed, and it must pass. */
static int restart_fsck(struct run_ctx *x, struct run_result *r, double bytes)
{
	char tool[PATH_MAX + 64], img[PATH_MAX], log[PATH_MAX];
	if (!find_tool("swapobj-fsck", tool, sizeof(tool)))
		return 0;
	snprintf(img, sizeof(img), "%s/store.img", x->dir);
	snprintf(log, sizeof(log), "%s/fsck.out", x->dir);
	bench_drop_caches();
	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(tool, tool, "-n", img, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return bench_err("cannot run %s", tool);
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char out[200] = "";
		int fd = open(log, O_RDONLY);
		if (fd >= 0) {
			ssize_t got = read(fd, out, sizeof(out) - 1);
			out[got > 0 ? got : 0] = 0;
			close(fd);
			for (char *c = out; *c; c++)
				if (*c == '\n')
					*c = ' ';
		}
		return bench_err("swapobj-fsck -n on the store reopened after kill -9: %s %d: %s",
		                 WIFEXITED(status) ? "exit status" : "signal",
		                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), out);
	}
	rr_set(r, "rs_fsck_gbps", bytes / 1e9 / secs);
	return 0;
}

static int run_restart_disk(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	struct disk_file d = {-1, NULL, 0};
	double ws, rs;
	int rc = -1;
	if (disk_open(&d, x, n * BPG) == 0 && disk_seq_write(&d, n, &ws) == 0) {
		bench_drop_caches();
		if (disk_seq_read(r, &d, n, &rs) == 0) {
			rr_set(r, "rs_total_ms", rs * 1e3);
			rr_set(r, "rs_ms_per_gib", rs * 1e3 / ((double)n * BPG / (1 << 30)));
			rc = 0;
		}
	}
	disk_close(&d);
	return rc;
}

static int run_restart(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG, extra = n / 100 + 1;
	if (x->sys == SYS_DISK)
		return run_restart_disk(x, r, n);
	const struct store_ops *o = ops_of(x->sys);
	struct store_params p = base_params(x, n, x->sys == SYS_SWAPOBJ ? roomy_capacity(n) : n * BPG + (4u << 20));
	struct store *s = NULL;
	struct store_stats ss;
	uint32_t *ord = NULL;
	uint16_t *gen = NULL, *gen_alt = NULL;
	int pfd[2], rc = -1, status;
	char msg[600];
	if (pipe(pfd) < 0)
		return bench_err("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return bench_err("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		restart_writer(x, &p, pfd[1], n, extra);
	}
	close(pfd[1]);
	ssize_t got = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (got <= 0 || msg[0] != 'K') {
		msg[got > 0 ? got : 0] = 0;
		if (got > 1)
			return bench_err("writer process: %s", msg + 1);
		return bench_err("writer process died before it was killed (%s %d)",
		                 WIFSIGNALED(status) ? "signal" : "exit",
		                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	bench_drop_caches();
	p.open_existing = true;
	uint64_t t0 = bench_now_ns();
	if (o->create(&s, &p) < 0)
		goto done;
	double total = (double)(bench_now_ns() - t0);
	o->stats(s, &ss);
	double gib = (double)n * BPG / (1 << 30);
	rr_set(r, "rs_total_ms", total / 1e6);
	rr_set(r, "rs_open_ms", ss.open_ns / 1e6);
	if (x->sys == SYS_SWAPOBJ)
		rr_set(r, "rs_replay_ms", ss.replay_ns / 1e6);
	rr_set(r, "rs_ms_per_gib", total / 1e6 / gib);
	if (ss.index_bytes >= 0)
		rr_set(r, "rs_index_bpp", ss.index_bytes / (ss.pages > 0 ? ss.pages : (double)n));
	/* Every synced page must be there; the overwritten ones may hold either generation. */
	ord = bench_perm(n, 0xdead);
	gen = calloc(n, sizeof(*gen));
	gen_alt = calloc(n, sizeof(*gen_alt));
	if (!ord || !gen || !gen_alt) {
		bench_err("out of memory");
		goto done;
	}
	for (uint64_t i = 0; i < extra; i++)
		gen_alt[ord[i]] = 1;
	double secs;
	uint32_t *seq = bench_perm(n, 0); /* seed 0: in order, the verification is not timed */
	if (!seq) {
		bench_err("out of memory");
		goto done;
	}
	int e = read_pass(r, o, s, seq, n, NULL, &secs, gen, gen_alt);
	free(seq);
	if (e < 0)
		goto done;
	if (x->sys == SYS_SWAPOBJ) {
		o->close(s);
		s = NULL;
		if (restart_fsck(x, r, ss.disk_bytes) < 0)
			goto done;
	}
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	rr_set(r, "rss_mib", (double)(hwm - x->rss0) / (1 << 20));
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(gen);
	free(gen_alt);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Workload 6: prefix invalidation                                           */
/* ------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------ */
/* Workload 7: through the swapobjfs mount                                   */
/* ------------------------------------------------------------------------ */

/* Path of a sibling tool in the build tree (tools/, fusefs/) or NULL. */
static const char *find_tool(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return NULL;
	self[l] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	const char *cands[] = {"%s/%s", "%s/../fusefs/%s", "%s/../%s"};
	for (unsigned i = 0; i < 3; i++) {
		snprintf(buf, len, cands[i], self, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Path of the swapobjfs binary or NULL: --swapobjfs, else next to this tool's build tree. */
static const char *find_swapobjfs(const char *argv0)
{
	static char buf[PATH_MAX + 64];
	if (cfg.swapobjfs)
		return access(cfg.swapobjfs, X_OK) == 0 ? cfg.swapobjfs : NULL;
	return find_tool("swapobjfs", buf, sizeof(buf));
}

#define FUSE_IO (1u << 20)

/* File-side workload, the same on the library (through a file-like wrapper) and on the mount. */
static int fuse_files(struct run_result *r, const char *mnt, uint64_t n)
{
	char path[PATH_MAX + 64];
	uint8_t *buf = bench_alloc_aligned(FUSE_IO);
	uint32_t *lat = NULL, *ord = NULL;
	int fd = -1, rc = -1;
	uint64_t per = n / 4;
	if (!buf)
		return bench_err("out of memory");
	snprintf(path, sizeof(path), "%s/bench", mnt);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		bench_err("mkdir %s: %s", path, strerror(errno));
		goto done;
	}
	uint64_t spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			bench_err("open %s: %s", path, strerror(errno));
			goto done;
		}
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			for (uint32_t i = 0; i < c; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, 0), BPG);
			uint64_t a = bench_now_ns();
			ssize_t w = pwrite(fd, buf, (size_t)c * BPG, (off_t)(pg * BPG));
			spent += bench_now_ns() - a;
			if (w != (ssize_t)c * BPG) {
				bench_err("pwrite %s: %s", path, w < 0 ? strerror(errno) : "short");
				goto done;
			}
		}
		uint64_t a = bench_now_ns();
		if (fsync(fd) < 0) {
			bench_err("fsync %s: %s", path, strerror(errno));
			goto done;
		}
		spent += bench_now_ns() - a;
		close(fd);
		fd = -1;
	}
	rr_set(r, "fu_w_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	bench_drop_caches();
	spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			bench_err("open %s: %s", path, strerror(errno));
			goto done;
		}
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			uint64_t a = bench_now_ns();
			ssize_t g = pread(fd, buf, (size_t)c * BPG, (off_t)(pg * BPG));
			spent += bench_now_ns() - a;
			if (g != (ssize_t)c * BPG) {
				bench_err("pread %s: %s", path, g < 0 ? strerror(errno) : "short");
				goto done;
			}
			for (uint32_t i = 0; i < c; i++)
				if (verify_page(r, "swapobjfs", buf + (size_t)i * BPG, obj, pg + i,
				                page_at(obj, pg + i, 0), NULL) < 0)
					goto done;
		}
		close(fd);
		fd = -1;
	}
	rr_set(r, "fu_r_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	/* 4 KiB random reads, cold */
	bench_drop_caches();
	ord = bench_perm(per * 4, 0xf5);
	lat = malloc(per * 4 * sizeof(*lat));
	if (!ord || !lat) {
		bench_err("out of memory");
		goto done;
	}
	int fds[4] = {-1, -1, -1, -1};
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fds[obj] = open(path, O_RDONLY);
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < per * 4; i++) {
		uint32_t obj = ord[i] % 4;
		uint64_t pg = ord[i] / 4;
		uint64_t a = bench_now_ns();
		ssize_t g = fds[obj] < 0 ? -1 : pread(fds[obj], buf, BPG, (off_t)(pg * BPG));
		lat[i] = (uint32_t)(bench_now_ns() - a);
		if (g != BPG || verify_page(r, "swapobjfs", buf, obj, pg, page_at(obj, pg, 0), NULL) < 0) {
			if (g != BPG)
				bench_err("random pread of f%u page %" PRIu64 " failed", obj, pg);
			for (int j = 0; j < 4; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			goto done;
		}
	}
	rr_set(r, "fu_rr_pps", (double)per * 4 / ((double)(bench_now_ns() - t0) / 1e9));
	rr_latency(r, "fu_rr", lat, per * 4);
	for (int j = 0; j < 4; j++)
		if (fds[j] >= 0)
			close(fds[j]);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(lat);
	free(ord);
	return rc;
}

/* The library directly: same pattern (1 MiB writes and reads, 4 KiB random reads), same pages. */
static int fuse_lib(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	const struct store_ops *o = ops_of(SYS_SWAPOBJ);
	struct store_params p = base_params(x, n, roomy_capacity(n));
	struct store *s = NULL;
	uint64_t per = n / 4, spent = 0;
	uint8_t *buf = bench_alloc_aligned(FUSE_IO);
	uint32_t *ord = NULL, *lat = NULL;
	int rc = -1;
	p.nobj = 4;
	p.obj_pages = per;
	if (!buf || o->create(&s, &p) < 0)
		goto done;
	for (uint32_t obj = 0; obj < 4; obj++)
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			for (uint32_t i = 0; i < c; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, 0), BPG);
			uint64_t a = bench_now_ns();
			if (o->write(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - a;
		}
	uint64_t a = bench_now_ns();
	if (o->sync(s) < 0)
		goto done;
	spent += bench_now_ns() - a;
	rr_set(r, "fu_w_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	if (o->reopen(s) < 0)
		goto done;
	spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++)
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			uint64_t b = bench_now_ns();
			if (o->read(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - b;
			for (uint32_t i = 0; i < c; i++)
				if (verify_page(r, "libswapobj", buf + (size_t)i * BPG, obj, pg + i,
				                page_at(obj, pg + i, 0), NULL) < 0)
					goto done;
		}
	rr_set(r, "fu_r_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	if (o->reopen(s) < 0)
		goto done;
	ord = bench_perm(per * 4, 0xf5);
	lat = malloc(per * 4 * sizeof(*lat));
	if (!ord || !lat) {
		bench_err("out of memory");
		goto done;
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < per * 4; i++) {
		uint32_t obj = ord[i] % 4;
		uint64_t pg = ord[i] / 4;
		uint64_t b = bench_now_ns();
		if (o->read(s, 0, obj, pg, buf, 1) < 0)
			goto done;
		lat[i] = (uint32_t)(bench_now_ns() - b);
		if (verify_page(r, "libswapobj", buf, obj, pg, page_at(obj, pg, 0), NULL) < 0)
			goto done;
	}
	rr_set(r, "fu_rr_pps", (double)per * 4 / ((double)(bench_now_ns() - t0) / 1e9));
	rr_latency(r, "fu_rr", lat, per * 4);
	rc = 0;
done:
	if (s)
		o->close(s);
	free(buf);
	free(ord);
	free(lat);
	return rc;
}

static bool is_mounted_on(const char *mnt, dev_t parent_dev)
{
	struct stat sb;
	return stat(mnt, &sb) == 0 && sb.st_dev != parent_dev;
}

static int run_fuse(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG;
	if (x->sys == SYS_SWAPOBJ)
		return fuse_lib(x, r, n);
	const char *fs = find_swapobjfs(NULL);
	char img[PATH_MAX], mnt[PATH_MAX];
	struct stat sb;
	int rc = -1;
	if (!fs)
		return bench_err("swapobjfs not built");
	snprintf(img, sizeof(img), "%s/store.img", x->dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", x->dir);
	if (mkdir(mnt, 0700) < 0 || stat(mnt, &sb) < 0)
		return bench_err("mkdir %s: %s", mnt, strerror(errno));
	const char *paths[1] = {img};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = roomy_capacity(n);
	fo.segment_size = cfg.segment;
	if (swapobj_format(paths, 1, &fo) < 0)
		return bench_err("format %s: %s", img, swapobj_errmsg());
	/* -f: stay in the foreground, so this pid is the daemon and its end is seen here */
	pid_t pid = fork();
	if (pid == 0) {
		execl(fs, fs, img, mnt, "-f", (char *)NULL);
		_exit(127);
	}
	int status;
	for (int i = 0; i < 200 && !is_mounted_on(mnt, sb.st_dev); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid && !is_mounted_on(mnt, sb.st_dev))
			return bench_err("%s %s %s exited (status %d) without mounting", fs, img, mnt, status);
		usleep(50000);
	}
	if (!is_mounted_on(mnt, sb.st_dev)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return bench_err("%s did not mount %s within 10 s", fs, mnt);
	}
	rc = fuse_files(r, mnt, n);
	const char *const umount_cmds[2][4] = {{"fusermount3", "-u", mnt, NULL}, {"umount", mnt, NULL, NULL}};
	for (int c = 0; c < 2 && is_mounted_on(mnt, sb.st_dev); c++) {
		pid_t um = fork();
		if (um == 0) {
			execvp(umount_cmds[c][0], (char *const *)umount_cmds[c]);
			_exit(127);
		}
		waitpid(um, &status, 0);
	}
	for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (rc == 0)
			rc = bench_err("%s did not exit within 10 s of the unmount", fs);
	}
	if (is_mounted_on(mnt, sb.st_dev) && rc == 0)
		rc = bench_err("could not unmount %s", mnt);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Workload 8: one thread vs two                                             */
/* ------------------------------------------------------------------------ */

struct thr_arg {
	const struct store_ops *o;
	struct store *s;
	unsigned tid;
	uint32_t *list;
	uint64_t n;
	bool read;
	pthread_barrier_t *bar;
	struct run_result *r;
	int rc;
	char err[512];
};

static pthread_mutex_t thr_fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void *thr_main(void *arg)
{
	struct thr_arg *a = arg;
	uint8_t *buf = bench_alloc_aligned(BPG);
	pthread_barrier_wait(a->bar);
	a->rc = 0;
	for (uint64_t i = 0; i < a->n && buf && !interrupted; i++) {
		uint32_t k = a->list[i], obj = k % cfg.nobj;
		uint64_t pg = k / cfg.nobj;
		if (!a->read) {
			if (a->o->write(a->s, a->tid, obj, pg, page_at(obj, pg, 0), 1) < 0) {
				a->rc = -1;
				break;
			}
			continue;
		}
		if (a->o->read(a->s, a->tid, obj, pg, buf, 1) < 0) {
			a->rc = -1;
			break;
		}
		if (memcmp(buf, page_at(obj, pg, 0), BPG) != 0) {
			pthread_mutex_lock(&thr_fail_mu);
			verify_page(a->r, bench_sys_name[a->o->sys], buf, obj, pg, page_at(obj, pg, 0), NULL);
			pthread_mutex_unlock(&thr_fail_mu);
			a->rc = -1;
			snprintf(bench_errbuf, sizeof(bench_errbuf), "%s", a->r->msg);
			break;
		}
		__atomic_fetch_add(&a->r->verified, 1, __ATOMIC_RELAXED);
	}
	if (!buf) {
		a->rc = -1;
		bench_err("out of memory");
	}
	if (!a->read && a->rc == 0 && a->o->thread_done && a->o->thread_done(a->s, a->tid) < 0)
		a->rc = -1;
	if (a->rc < 0)
		snprintf(a->err, sizeof(a->err), "%s", bench_errbuf);
	free(buf);
	return NULL;
}

/* Run the T threads over their lists; seconds from the start barrier to the last join (+ sync for writes). */
static int thr_phase(const struct store_ops *o, struct store *s, unsigned nt, uint32_t **lists, uint64_t *lens,
                     bool read, struct run_result *r, double *secs)
{
	pthread_t th[2];
	struct thr_arg a[2];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, nt + 1);
	for (unsigned t = 0; t < nt; t++) {
		a[t] = (struct thr_arg){o, s, t, lists[t], lens[t], read, &bar, r, 0, ""};
		pthread_create(&th[t], NULL, thr_main, &a[t]);
	}
	pthread_barrier_wait(&bar);
	uint64_t t0 = bench_now_ns();
	for (unsigned t = 0; t < nt; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&bar);
	for (unsigned t = 0; t < nt; t++)
		if (a[t].rc < 0)
			return bench_err("thread %u: %s", t, a[t].err);
	if (!read && o->sync(s) < 0)
		return -1;
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	return 0;
}

static int run_threads(struct run_ctx *x, struct run_result *r)
{
	const struct store_ops *o = ops_of(x->sys);
	uint64_t n = cfg.size / BPG;
	uint32_t *ord = bench_perm(n, 0x7ead + (uint64_t)x->round), *ord2 = bench_perm(n, 0x7eae);
	uint32_t *lists[2] = {malloc(n * sizeof(uint32_t)), malloc(n * sizeof(uint32_t))};
	uint32_t *rlists[2] = {malloc(n * sizeof(uint32_t)), malloc(n * sizeof(uint32_t))};
	struct store *s = NULL;
	int rc = -1;
	double pps[2][2];
	if (!ord || !ord2 || !lists[0] || !lists[1] || !rlists[0] || !rlists[1]) {
		bench_err("out of memory");
		goto done;
	}
	for (unsigned nt = 1; nt <= 2; nt++) {
		uint64_t lens[2] = {0, 0}, rlens[2] = {0, 0};
		/* Threads own disjoint objects, as two processes swapping would. */
		for (uint64_t i = 0; i < n; i++) {
			unsigned t = (ord[i] % cfg.nobj) % nt;
			lists[t][lens[t]++] = ord[i];
			t = (ord2[i] % cfg.nobj) % nt;
			rlists[t][rlens[t]++] = ord2[i];
		}
		struct store_params p =
		    base_params(x, n, x->sys == SYS_SWAPOBJ ? roomy_capacity(n) : n * BPG + (4u << 20));
		p.nthreads = nt;
		double secs;
		if (o->create(&s, &p) < 0)
			goto done;
		if (thr_phase(o, s, nt, lists, lens, false, r, &secs) < 0)
			goto done;
		pps[nt - 1][0] = (double)n / secs;
		if (o->reopen(s) < 0)
			goto done;
		if (thr_phase(o, s, nt, rlists, rlens, true, r, &secs) < 0)
			goto done;
		pps[nt - 1][1] = (double)n / secs;
		o->close(s);
		s = NULL;
		bench_rmtree(x->dir);
		mkdir(x->dir, 0700);
	}
	rr_set(r, "t1_out_pps", pps[0][0]);
	rr_set(r, "t2_out_pps", pps[1][0]);
	rr_set(r, "t_out_scale", pps[1][0] / pps[0][0]);
	rr_set(r, "t1_in_pps", pps[0][1]);
	rr_set(r, "t2_in_pps", pps[1][1]);
	rr_set(r, "t_in_scale", pps[1][1] / pps[0][1]);
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(ord2);
	for (int i = 0; i < 2; i++) {
		free(lists[i]);
		free(rlists[i]);
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Workload 9: the store checker                                             */
/* ------------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------------ */
/* Running children                                                          */
/* ------------------------------------------------------------------------ */

static struct run_result *shared_rr;

static int run_dispatch(struct run_ctx *x, struct run_result *r)
{
	switch (x->wl) {
	case WL_SWAPOUT:
	case WL_SWAPIN:
		return run_swap(x, r);
	case WL_SEQ:
		return run_seq(x, r);
	case WL_CHURN:
		return run_churn(x, r);
	case WL_RESTART:
		return run_restart(x, r);
	case WL_INVAL:
		return run_inval(x, r);
	case WL_FUSE:
		return run_fuse(x, r);
	case WL_THREADS:
		return run_threads(x, r);
	case WL_FSCK:
		return run_fsck(x, r);
	default:
		return bench_err("no such workload");
	}
}

/* Run one (workload, system, round) in a child process; the result lands in *out. */
static void run_one(struct run_ctx *x, struct run_result *out)
{
	memset(shared_rr, 0, sizeof(*shared_rr));
	x->dir = bench_subdir(cfg.dir, bench_sys_name[x->sys]);
	if (!x->dir) {
		memset(out, 0, sizeof(*out));
		rr_fail(out, "%s", bench_errbuf);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		memset(out, 0, sizeof(*out));
		rr_fail(out, "fork: %s", strerror(errno));
		free(x->dir);
		return;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (cfg.timeout)
			alarm(cfg.timeout);
		uint64_t hwm;
		bench_rss(&x->rss0, &hwm);
		bench_errbuf[0] = 0;
		int rc = run_dispatch(x, shared_rr);
		if (rc < 0 && shared_rr->status != RR_FAIL)
			rr_fail(shared_rr, "%s", bench_errbuf[0] ? bench_errbuf : "failed");
		fflush(NULL);
		_exit(shared_rr->status == RR_FAIL ? 1 : 0);
	}
	child_pid = pid;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	memcpy(out, shared_rr, sizeof(*out));
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		char m[1100];
		if (sig == SIGALRM)
			snprintf(m, sizeof(m), "timed out after %u s (--timeout)", cfg.timeout);
		else
			snprintf(m, sizeof(m), "the run's process died of signal %d (%s)%s%s", sig, strsignal(sig),
			         out->msg[0] ? "; before that: " : "", out->msg);
		out->status = RR_OK;
		rr_fail(out, "%s", m);
		out->killed = 1;
	} else if (WEXITSTATUS(status) != 0 && out->status != RR_FAIL) {
		rr_fail(out, "exited with status %d", WEXITSTATUS(status));
	}
	bench_rmtree(x->dir);
	free(x->dir);
	x->dir = NULL;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS]\n"
	        "Measure libswapobj against peers and limits in one run: ratios, medians, verification.\n\n"
	        "  -s, --size SIZE         bytes of 4 KiB pages per workload (default 128M; reports use 1G)\n"
	        "  -w, --workloads LIST    comma-separated, default all:\n"
	        "                          swapout,swapin,seq,churn,restart,invalidate,fuse,threads,fsck\n"
	        "  -p, --peers LIST        systems besides libswapobj, default all available:\n"
	        "                          slot-file,rocksdb,lmdb,zstd,zram,disk\n"
	        "  -r, --runs N            measured rounds, medians reported (default 3)\n"
	        "      --warmup N          discarded rounds first (default 1)\n"
	        "  -o, --objects N         objects the pages are spread over (default 64)\n"
	        "  -d, --dir DIR           where stores and files go (default a new /var/tmp/swapobj-bench.XXXXXX,\n"
	        "                          removed at the end)\n"
	        "  -c, --corpus FILE       page corpus, raw or .zst (default: generated pages)\n"
	        "  -j, --json FILE         write every figure as JSON\n"
	        "  -P, --plot DIR          write SVG charts (throughput bars, latency CDFs)\n"
	        "      --segment SIZE      libswapobj segment size (default: the library's)\n"
	        "      --churn-size SIZE   store size for churn (default: --size, at least 64M)\n"
	        "      --churn-factor X    measured overwrites per live page in churn (default 2)\n"
	        "      --churn-warmup X    unmeasured overwrites per live page before them (default 2)\n"
	        "      --churn-fill LIST   fill levels for churn, 80 and/or 90 (default 80,90)\n"
	        "      --inval-objects N   objects under the invalidated prefix (default 1000000)\n"
	        "      --seq-io SIZE       call size in the sequential workload (default 256K)\n"
	        "      --zstd-level N      level for the zstd codec limit (default -1)\n"
	        "      --swapobjfs PATH    the swapobjfs binary (default: looked up in the build tree)\n"
	        "      --timeout SEC       kill a run after SEC seconds (default 3600, 0 = never)\n"
	        "  -q, --quiet             no progress lines\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n\n"
	        "Cold reads: every store is closed and reopened and, as root, the page cache is dropped\n"
	        "(sync; echo 3 > /proc/sys/vm/drop_caches); libswapobj, the slot file and the disk limits\n"
	        "read with O_DIRECT in any case.\n\n"
	        "Exit status: 0 all runs passed, 1 a run failed or read back wrong data, 2 usage error.\n",
	        prog);
}

static bool parse_list(const char *s, const char *const *names, unsigned n, bool *sel, const char *what)
{
	char *dup = strdup(s), *save = NULL;
	bool ok = dup != NULL;
	for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;
		for (i = 0; i < n; i++)
			if (names[i] && strcmp(t, names[i]) == 0)
				break;
		if (i == n) {
			fprintf(stderr, "%s: unknown %s '%s'\n", prog, what, t);
			ok = false;
			break;
		}
		sel[i] = true;
	}
	free(dup);
	return ok;
}

static void on_signal(int sig)
{
	interrupted = 1;
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
}

static void machine_desc(char *buf, size_t len)
{
	struct utsname u;
	char cpu[128] = "?", line[256];
	unsigned long long memkb = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				snprintf(cpu, sizeof(cpu), "%s", c + 2);
				cpu[strcspn(cpu, "\n")] = 0;
			}
			break;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &memkb) == 1)
			break;
	if (f)
		fclose(f);
	uname(&u);
	struct statfs fs;
	struct stat sb;
	char dev[600] = "?";
	if (stat(cfg.dir, &sb) == 0) {
		char p[96], ue[512];
		snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/uevent", major(sb.st_dev), minor(sb.st_dev));
		FILE *u2 = fopen(p, "r");
		while (u2 && fgets(ue, sizeof(ue), u2))
			if (strncmp(ue, "DEVNAME=", 8) == 0) {
				snprintf(dev, sizeof(dev), "/dev/%s", ue + 8);
				dev[strcspn(dev, "\n")] = 0;
			}
		if (u2)
			fclose(u2);
	}
	const char *fst = "?";
	if (statfs(cfg.dir, &fs) == 0)
		fst = fs.f_type == 0xEF53       ? "ext4"
		      : fs.f_type == 0x58465342 ? "xfs"
		      : fs.f_type == 0x9123683E ? "btrfs"
		      : fs.f_type == 0x01021994 ? "tmpfs"
		                                : "other";
	snprintf(buf, len, "%s %s, %ld CPUs (%s), %.1f GiB RAM; --dir on %s (%s)", u.sysname, u.release,
	         sysconf(_SC_NPROCESSORS_ONLN), cpu, (double)memkb / (1 << 20), dev, fst);
}

enum {
	OPT_WARMUP = 256,
	OPT_SEGMENT,
	OPT_CHURN_SIZE,
	OPT_CHURN_FACTOR,
	OPT_CHURN_WARMUP,
	OPT_CHURN_FILL,
	OPT_INVAL,
	OPT_SEQ_IO,
	OPT_ZSTD,
	OPT_FUSEFS,
	OPT_TIMEOUT
};

static bool parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"size", required_argument, 0, 's'},
	                                         {"workloads", required_argument, 0, 'w'},
	                                         {"peers", required_argument, 0, 'p'},
	                                         {"runs", required_argument, 0, 'r'},
	                                         {"warmup", required_argument, 0, OPT_WARMUP},
	                                         {"objects", required_argument, 0, 'o'},
	                                         {"dir", required_argument, 0, 'd'},
	                                         {"corpus", required_argument, 0, 'c'},
	                                         {"json", required_argument, 0, 'j'},
	                                         {"plot", required_argument, 0, 'P'},
	                                         {"segment", required_argument, 0, OPT_SEGMENT},
	                                         {"churn-size", required_argument, 0, OPT_CHURN_SIZE},
	                                         {"churn-factor", required_argument, 0, OPT_CHURN_FACTOR},
	                                         {"churn-warmup", required_argument, 0, OPT_CHURN_WARMUP},
	                                         {"churn-fill", required_argument, 0, OPT_CHURN_FILL},
	                                         {"inval-objects", required_argument, 0, OPT_INVAL},
	                                         {"seq-io", required_argument, 0, OPT_SEQ_IO},
	                                         {"zstd-level", required_argument, 0, OPT_ZSTD},
	                                         {"swapobjfs", required_argument, 0, OPT_FUSEFS},
	                                         {"timeout", required_argument, 0, OPT_TIMEOUT},
	                                         {"quiet", no_argument, 0, 'q'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"version", no_argument, 0, 'V'},
	                                         {0, 0, 0, 0}};
	const char *wl_arg = NULL, *peers_arg = NULL;
	uint64_t v;
	int c;
	cfg.size = 128ull << 20;
	cfg.nobj = 64;
	cfg.runs = 3;
	cfg.warmup = 1;
	cfg.timeout = 3600;
	cfg.inval_objects = 1000000;
	cfg.seq_io = 256 << 10;
	cfg.churn_factor = 2;
	cfg.churn_warmup = 2;
	cfg.churn_fill[0] = cfg.churn_fill[1] = true;
	cfg.zstd_level = -1;
	cfg.zram_id = -1;
	while ((c = getopt_long(argc, argv, "s:w:p:r:o:d:c:j:P:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_size(optarg, &cfg.size) || cfg.size < (1u << 20)) {
				fprintf(stderr, "%s: bad --size '%s' (at least 1M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'w':
			wl_arg = optarg;
			break;
		case 'p':
			peers_arg = optarg;
			break;
		case 'r':
			if (!parse_uint(optarg, 1, 1000, &v)) {
				fprintf(stderr, "%s: bad --runs '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.runs = (unsigned)v;
			break;
		case OPT_WARMUP:
			if (!parse_uint(optarg, 0, 100, &v)) {
				fprintf(stderr, "%s: bad --warmup '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.warmup = (unsigned)v;
			break;
		case 'o':
			if (!parse_uint(optarg, 1, 1u << 20, &v)) {
				fprintf(stderr, "%s: bad --objects '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.nobj = (uint32_t)v;
			break;
		case 'd':
			dir_arg = optarg;
			break;
		case 'c':
			cfg.corpus_path = optarg;
			break;
		case 'j':
			cfg.json = optarg;
			break;
		case 'P':
			cfg.plot = optarg;
			break;
		case OPT_SEGMENT:
			if (!tool_parse_size(optarg, &v) || v < SWAPOBJ_SEGMENT_MIN || v > SWAPOBJ_SEGMENT_MAX ||
			    (v & (v - 1))) {
				fprintf(stderr, "%s: bad --segment '%s' (power of two, 1M..64M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.segment = (uint32_t)v;
			break;
		case OPT_CHURN_SIZE:
			if (!tool_parse_size(optarg, &cfg.churn_size) || cfg.churn_size < (16u << 20)) {
				fprintf(stderr, "%s: bad --churn-size '%s' (at least 16M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_CHURN_FILL: {
			static const char *const fills[2] = {"80", "90"};
			cfg.churn_fill[0] = cfg.churn_fill[1] = false;
			if (!parse_list(optarg, fills, 2, cfg.churn_fill, "--churn-fill value (80 or 90)"))
				return TOOL_EXIT_USAGE;
			break;
		}
		case OPT_CHURN_FACTOR: {
			char *end;
			cfg.churn_factor = strtod(optarg, &end);
			if (*end || !(cfg.churn_factor > 0 && cfg.churn_factor <= 100)) {
				fprintf(stderr, "%s: bad --churn-factor '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		}
		case OPT_CHURN_WARMUP: {
			char *end;
			cfg.churn_warmup = strtod(optarg, &end);
			if (*end || !(cfg.churn_warmup >= 0 && cfg.churn_warmup <= 100)) {
				fprintf(stderr, "%s: bad --churn-warmup '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		}
		case OPT_INVAL:
			if (!parse_uint(optarg, 3, 100000000, &cfg.inval_objects)) {
				fprintf(stderr, "%s: bad --inval-objects '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_SEQ_IO:
			if (!tool_parse_size(optarg, &cfg.seq_io) || cfg.seq_io < BPG || cfg.seq_io % BPG ||
			    cfg.seq_io > (64u << 20)) {
				fprintf(stderr, "%s: bad --seq-io '%s' (multiple of 4K, at most 64M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_ZSTD: {
			char *end;
			long l = strtol(optarg, &end, 10);
			if (*end || l < -50 || l > 22) {
				fprintf(stderr, "%s: bad --zstd-level '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.zstd_level = (int)l;
			break;
		}
		case OPT_FUSEFS:
			cfg.swapobjfs = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 0, 86400 * 7, &v)) {
				fprintf(stderr, "%s: bad --timeout '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.timeout = (unsigned)v;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return TOOL_EXIT_OK;
		case 'V':
			tool_version(prog);
			return TOOL_EXIT_OK;
		default:
			usage(stderr);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (wl_arg) {
		if (!parse_list(wl_arg, wl_name, WL_N, cfg.wl_sel, "workload"))
			return TOOL_EXIT_USAGE;
	} else {
		for (int i = 0; i < WL_N; i++)
			cfg.wl_sel[i] = true;
	}
	if (peers_arg) {
		const char *pn[SYS_N];
		for (int i = 0; i < SYS_N; i++)
			pn[i] = i == SYS_SWAPOBJ || i == SYS_FUSEFS ? NULL : bench_sys_name[i];
		if (strcmp(peers_arg, "none") != 0 && !parse_list(peers_arg, pn, SYS_N, cfg.sys_sel, "peer"))
			return TOOL_EXIT_USAGE;
	} else {
		for (int i = 0; i < SYS_N; i++)
			cfg.sys_sel[i] = true;
	}
	cfg.sys_sel[SYS_SWAPOBJ] = cfg.sys_sel[SYS_FUSEFS] = true;
	if (!cfg.churn_size)
		cfg.churn_size = cfg.size < (64u << 20) ? 64u << 20 : cfg.size;
	if (cfg.size / BPG >= UINT32_MAX || cfg.churn_size / BPG >= UINT32_MAX) {
		fprintf(stderr, "%s: --size too large\n", prog);
		return TOOL_EXIT_USAGE;
	}
	if (cfg.size / BPG < 4ull * cfg.nobj) {
		fprintf(stderr, "%s: --size %s holds fewer than 4 pages per object (--objects %u)\n", prog,
		        tool_human(cfg.size, (char[32]){0}, 32), cfg.nobj);
		return TOOL_EXIT_USAGE;
	}
	return bench_main(argc, argv);
}

/* ------------------------------------------------------------------------ */
/* The run loop                                                              */
/* ------------------------------------------------------------------------ */

static int load_corpus(void)
{
	struct tool_corpus c;
	if (tool_corpus_load(&c, cfg.corpus_path, 16384) < 0)
		return -1;
	cfg.npages = c.npages;
	cfg.pages = bench_alloc_aligned(c.npages * BPG);
	if (!cfg.pages) {
		tool_corpus_free(&c);
		fprintf(stderr, "%s: out of memory for the corpus\n", prog);
		return -1;
	}
	memcpy(cfg.pages, c.pages, c.npages * BPG);
	uint64_t zero = 0;
	for (uint64_t i = 0; i < c.npages; i++) {
		const uint64_t *w = (const uint64_t *)(cfg.pages + i * BPG);
		unsigned j = 0;
		while (j < BPG / 8 && !w[j])
			j++;
		zero += j == BPG / 8;
	}
	snprintf(cfg.corpus_desc, sizeof(cfg.corpus_desc), "%s, %.1f%% zero pages", c.source,
	         100.0 * (double)zero / (double)c.npages);
	tool_corpus_free(&c);
	return 0;
}

static void set_detail(struct report_wl *w, enum wl i)
{
	char a[32], b[32];
	uint64_t n = cfg.size / BPG;
	tool_human(cfg.size, a, sizeof(a));
	switch (i) {
	case WL_SWAPOUT:
		snprintf(w->detail, sizeof(w->detail),
		         "%" PRIu64 " pages (%s) over %u objects in random order, one page per call, then sync", n, a,
		         cfg.nobj);
		break;
	case WL_SWAPIN:
		snprintf(w->detail, sizeof(w->detail),
		         "every page read back in random order, one per call: cold (store closed and reopened%s), then "
		         "warm (a second pass in another order)",
		         bench_is_root() ? ", page cache dropped" : "; NOT root, page cache not dropped");
		break;
	case WL_SEQ:
		snprintf(w->detail, sizeof(w->detail),
		         "%u objects, %s in all, written front to back in %s calls and synced; read back the same way "
		         "cold; disk: 1 MiB O_DIRECT",
		         SEQ_OBJECTS, a, tool_human(cfg.seq_io, b, sizeof(b)));
		break;
	case WL_CHURN:
		snprintf(
		    w->detail, sizeof(w->detail),
		    "a %s store (libswapobj: %u MiB segments) filled to %s%% utilization (live bytes / libswapobj's "
		    "usable capacity, a page = a 4160-byte record; same pages for every system), %.1fx the live pages "
		    "overwritten one per call unmeasured, then %.1fx measured (WA, latency), 90/10 hot/cold or uniform",
		    tool_human(cfg.churn_size, b, sizeof(b)), churn_segment() >> 20,
		    cfg.churn_fill[0] && cfg.churn_fill[1] ? "80%/90"
		    : cfg.churn_fill[0]                    ? "80"
		                                           : "90",
		    cfg.churn_warmup, cfg.churn_factor);
		break;
	case WL_RESTART:
		snprintf(w->detail, sizeof(w->detail),
		         "a writer process stores %s over %u objects, syncs, overwrites 1%% unsynced, gets SIGKILL; "
		         "caches dropped; time to open the store and its objects; then swapobj-fsck -n when built; "
		         "disk: reading %s once",
		         a, cfg.nobj, a);
		break;
	case WL_INVAL:
		snprintf(w->detail, sizeof(w->detail),
		         "%" PRIu64
		         " objects of one fill page each under one prefix, synced; foreground time of the drop, "
		         "then its sync; verified before and after a reopen",
		         cfg.inval_objects);
		break;
	case WL_FUSE:
		snprintf(w->detail, sizeof(w->detail),
		         "%s in 4 files: 1 MiB writes + fsync, cold 1 MiB reads, cold 4 KiB random reads; through the "
		         "mount vs the library directly",
		         a);
		break;
	case WL_THREADS:
		snprintf(w->detail, sizeof(w->detail),
		         "swap-out (+sync) and cold swap-in of %s with 1 and with 2 threads owning disjoint objects",
		         a);
		break;
	case WL_FSCK:
		snprintf(w->detail, sizeof(w->detail),
		         "a store ~1.1x %s filled front to back and closed; the checker in-process (scan + library "
		         "open + index comparison), %s: buffered (default), O_DIRECT, serial; GB/s of store; disk: "
		         "reading %s once",
		         a, bench_is_root() ? "caches dropped before each" : "NOT root, caches NOT dropped", a);
		break;
	default:
		break;
	}
}

static const char *const wl_title[WL_N] = {"1. swap-out",
                                           "2. swap-in",
                                           "3. sequential objects",
                                           "4. churn",
                                           "5. restart after kill -9",
                                           "6. prefix invalidation",
                                           "7. through the swapobjfs mount",
                                           "8. one thread vs two",
                                           "9. store check (swapobj-fsck)"};

static int bench_main(int argc, char **argv)
{
	struct report rp;
	char started[64];
	time_t now = time(NULL);
	int rc = TOOL_EXIT_OK;
	memset(&rp, 0, sizeof(rp));
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	snprintf(rp.started, sizeof(rp.started), "%s", started);
	size_t off = 0;
	for (int i = 0; i < argc && off < sizeof(rp.command) - 1; i++)
		off += (size_t)snprintf(rp.command + off, sizeof(rp.command) - off, "%s%s", i ? " " : "", argv[i]);

	if (dir_arg) {
		if (mkdir(dir_arg, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "%s: cannot create --dir %s: %s\n", prog, dir_arg, strerror(errno));
			return TOOL_EXIT_FAIL;
		}
		cfg.dir = strdup(dir_arg);
	} else {
		char tmpl[] = "/var/tmp/swapobj-bench.XXXXXX";
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, tmpl, strerror(errno));
			return TOOL_EXIT_FAIL;
		}
		cfg.dir = strdup(tmpl);
		cfg.dir_made = true;
	}
	if (load_corpus() < 0) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	shared_rr = mmap(NULL, sizeof(*shared_rr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_rr == MAP_FAILED) {
		fprintf(stderr, "%s: mmap: %s\n", prog, strerror(errno));
		rc = TOOL_EXIT_FAIL;
		goto out;
	}

	/* Which systems exist here. */
	for (int s = 0; s < SYS_N; s++) {
		cfg.sys_avail[s] = cfg.sys_sel[s];
		if (!cfg.sys_sel[s])
			snprintf(cfg.sys_note[s], sizeof(cfg.sys_note[s]), "not selected (--peers)");
	}
	if (cfg.sys_sel[SYS_ROCKSDB] && !bench_store_ops(SYS_ROCKSDB)) {
		cfg.sys_avail[SYS_ROCKSDB] = false;
		snprintf(cfg.sys_note[SYS_ROCKSDB], 160, "not built (librocksdb-dev not found at build time)");
	}
	if (cfg.sys_sel[SYS_LMDB] && !bench_store_ops(SYS_LMDB)) {
		cfg.sys_avail[SYS_LMDB] = false;
		snprintf(cfg.sys_note[SYS_LMDB], 160, "not built (liblmdb-dev not found at build time)");
	}
	if (cfg.sys_sel[SYS_ZRAM]) {
		cfg.zram_id = bench_zram_add();
		if (cfg.zram_id < 0) {
			cfg.sys_avail[SYS_ZRAM] = false;
			snprintf(cfg.sys_note[SYS_ZRAM], 160, "skipped: %.140s", bench_errbuf);
		} else {
			snprintf(cfg.sys_note[SYS_ZRAM], 160, "/dev/zram%d, algorithm %s", cfg.zram_id,
			         bench_zram_algo(cfg.zram_id));
		}
	}
	if (!find_swapobjfs(argv[0])) {
		cfg.sys_avail[SYS_FUSEFS] = false;
		snprintf(cfg.sys_note[SYS_FUSEFS], 160, "swapobjfs not built");
	}
	for (int s = 0; s < SYS_N; s++) {
		const struct store_ops *o = bench_store_ops((enum bench_sys)s);
		rp.sys_config[s] = o ? o->config : NULL;
		rp.sys_avail[s] = cfg.sys_avail[s];
		snprintf(rp.sys_note[s], sizeof(rp.sys_note[s]), "%s", cfg.sys_note[s]);
	}
	rp.sys_config[SYS_DISK] = "the limits of the same file system and disk: O_DIRECT 1 MiB sequential writes "
	                          "(then fdatasync) and reads at queue depth 1 in a posix_fallocate'd file, and 4 KiB "
	                          "O_DIRECT random reads at queue depth 1";
	rp.sys_config[SYS_FUSEFS] = "swapobjfs IMAGE MOUNTPOINT (a fresh store), files under MOUNTPOINT/bench, "
	                            "buffered I/O, fsync after writing, page cache dropped before reading";
	snprintf(rp.drop_note, sizeof(rp.drop_note), "%s",
	         bench_is_root() ? "cold = store closed and reopened + page cache dropped (root); libswapobj, "
	                           "slot file and disk limits also read with O_DIRECT"
	                         : "cold = store closed and reopened; NOT root so the page cache was NOT dropped: "
	                           "RocksDB and LMDB cold reads may be warm");

	rp.version = swapobj_version();
	machine_desc(rp.machine, sizeof(rp.machine));
	snprintf(rp.corpus, sizeof(rp.corpus), "%s", cfg.corpus_desc);
	rp.size = cfg.size;
	rp.inval_objects = cfg.inval_objects;
	rp.runs = cfg.runs;
	rp.warmup = cfg.warmup;
	rp.nwl = WL_N;
	rp.wl = calloc(WL_N, sizeof(*rp.wl));
	if (!rp.wl) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	for (int w = 0; w < WL_N; w++) {
		struct report_wl *rw = &rp.wl[w];
		rw->name = wl_name[w];
		rw->title = wl_title[w];
		rw->selected = cfg.wl_sel[w];
		set_detail(rw, (enum wl)w);
		for (int s = 0; s < SYS_N; s++) {
			struct report_sys *rs = &rw->sys[s];
			if (!(wl_systems[w] & S(s)) || !cfg.sys_sel[s])
				continue;
			rs->used = true;
			rs->runs = calloc(cfg.runs, sizeof(*rs->runs));
			if (!rs->runs) {
				rc = TOOL_EXIT_FAIL;
				goto out;
			}
			if (!cfg.sys_avail[s]) {
				rs->status = RR_SKIP;
				snprintf(rs->msg, sizeof(rs->msg), "%s", cfg.sys_note[s]);
			}
		}
		if (w == WL_FUSE && !cfg.sys_avail[SYS_FUSEFS]) {
			rw->sys[SYS_SWAPOBJ].status = RR_SKIP;
			snprintf(rw->sys[SYS_SWAPOBJ].msg, sizeof(rw->sys[0].msg), "swapobjfs not built: skipped");
		}
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (!cfg.quiet)
		fprintf(stderr, "%s: %s; corpus %s; dir %s\n", prog, rp.machine, cfg.corpus_desc, cfg.dir);
	uint64_t t_start = bench_now_ns();
	struct run_result *tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	for (int w = 0; w < WL_N && !interrupted; w++) {
		bool swap = w == WL_SWAPOUT || w == WL_SWAPIN;
		if (w == WL_SWAPIN)
			continue; /* run together with swap-out */
		if (swap ? !(cfg.wl_sel[WL_SWAPOUT] || cfg.wl_sel[WL_SWAPIN]) : !cfg.wl_sel[w])
			continue;
		struct report_wl *rw = &rp.wl[w];
		for (int round = -(int)cfg.warmup; round < (int)cfg.runs && !interrupted; round++)
			for (int s = 0; s < SYS_N && !interrupted; s++) {
				struct report_sys *rs = &rw->sys[s];
				if (!rs->used || rs->status == RR_SKIP || rs->stopped)
					continue;
				struct run_ctx x = {(enum wl)w, (enum bench_sys)s, round, cfg.wl_sel[WL_SWAPIN], NULL,
				                    0};
				uint64_t t0 = bench_now_ns();
				if (!cfg.quiet)
					fprintf(stderr, "[%s] %s %d/%u %s ...", swap ? "swapout+swapin" : wl_name[w],
					        round < 0 ? "warm-up" : "run",
					        round < 0 ? round + (int)cfg.warmup + 1 : round + 1,
					        round < 0 ? cfg.warmup : cfg.runs, bench_sys_name[s]);
				run_one(&x, tmp);
				if (!cfg.quiet)
					fprintf(stderr, " %.1f s %s\n", (double)(bench_now_ns() - t0) / 1e9,
					        tmp->status == RR_FAIL ? "FAILED" : "ok");
				if (tmp->status == RR_FAIL) {
					fprintf(stderr, "%s: %s on %s%s: %s\n", prog, wl_name[w], bench_sys_name[s],
					        round < 0 ? " (warm-up)" : "", tmp->msg);
					rp.failed = true;
					for (int k = 0; k < 2; k++) {
						struct report_sys *t =
						    &rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s];
						t->status = RR_FAIL;
						snprintf(t->msg, sizeof(t->msg), "%s", tmp->msg);
						if (!swap)
							break;
					}
					/*
					 * After a crash, a hang or wrong data, this system's further runs are skipped;
					 * after a plain error (ENOSPC, say) the next rounds still run. Figures measured
					 * before the failure are kept, unless data came back wrong.
					 */
					bool wrong = strncmp(tmp->msg, "VERIFICATION FAILED", 19) == 0;
					if (wrong || tmp->killed)
						for (int k = 0; k < 2; k++) {
							rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s].stopped =
							    true;
							if (!swap)
								break;
						}
					if (wrong)
						continue;
				}
				if (round < 0)
					continue;
				for (int k = 0; k < 2; k++) {
					struct report_sys *t = &rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s];
					memcpy(&t->runs[t->nruns++], tmp, sizeof(*tmp));
					if (!swap)
						break;
				}
			}
	}
	free(tmp);
	rp.elapsed_s = (double)(bench_now_ns() - t_start) / 1e9;
	if (interrupted) {
		fprintf(stderr, "%s: interrupted\n", prog);
		rp.failed = true;
	}
	report_print(&rp, stdout);
	if (cfg.json && report_json(&rp, cfg.json) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, cfg.json, bench_errbuf);
		rp.failed = true;
	}
	if (cfg.plot && report_plots(&rp, cfg.plot) < 0) {
		fprintf(stderr, "%s: cannot write plots to %s: %s\n", prog, cfg.plot, bench_errbuf);
		rp.failed = true;
	}
	rc = rp.failed ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	if (cfg.zram_id >= 0)
		bench_zram_remove(cfg.zram_id);
	if (cfg.dir_made)
		bench_rmtree(cfg.dir);
	if (rp.wl) {
		for (int w = 0; w < WL_N; w++)
			for (int s = 0; s < SYS_N; s++)
				free(rp.wl[w].sys[s].runs);
		free(rp.wl);
	}
	free(cfg.pages);
	free(cfg.dir);
	return rc;
}
