/*
 * bench_util.c - small helpers of swapobj-bench: clocks, permutations, run
 * results and latency percentiles, page-cache dropping, and readers of
 * /proc and /sys figures (RSS, bytes read from storage, block-device
 * sectors written, disk usage).
 *
 * Nothing here keeps state across calls except the thread-local error
 * buffer, so the helpers are safe in the worker threads of a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "swapobj.h"

const char *const bench_sys_name[SYS_N] = {"libswapobj", "slot-file", "rocksdb",   "lmdb",     "zstd",
                                           "zram",       "disk",      "swapobjfs", "exact-LRU"};

/* Quantiles kept for the latency CDFs: dense in the tail, where stores differ. */
const double cdf_q[CDF_NQ] = {0.0,   0.001, 0.01,  0.05,   0.10,   0.15,   0.20,   0.25,    0.30,    0.35,
                              0.40,  0.45,  0.50,  0.55,   0.60,   0.65,   0.70,   0.75,    0.80,    0.85,
                              0.90,  0.92,  0.94,  0.95,   0.96,   0.97,   0.98,   0.99,    0.993,   0.995,
                              0.997, 0.998, 0.999, 0.9993, 0.9995, 0.9997, 0.9999, 0.99995, 0.99999, 1.0};

__thread char bench_errbuf[512];

int bench_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bench_errbuf, sizeof(bench_errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t *bench_perm(uint64_t n, uint64_t seed)
{
	uint32_t *p = malloc((n ? n : 1) * sizeof(*p));
	if (!p)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	uint64_t r = seed | 1;
	for (uint64_t i = seed ? n : 0; i > 1; i--) {
		r = bench_mix64(r + 0x9e3779b97f4a7c15ull);
		uint64_t j = r % i;
		uint32_t t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

bool bench_is_root(void)
{
	return geteuid() == 0;
}

bool bench_drop_caches(void)
{
	if (!bench_is_root())
		return false;
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return false;
	bool ok = write(fd, "3\n", 2) == 2;
	close(fd);
	return ok;
}

int64_t bench_blk_sectors_written(const char *path)
{
	struct stat sb;
	char p[96], line[512];
	if (stat(path, &sb) < 0)
		return -1;
	dev_t d = S_ISBLK(sb.st_mode) ? sb.st_rdev : sb.st_dev;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/stat", major(d), minor(d));
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	unsigned long long v[7];
	int n = 0;
	if (fgets(line, sizeof(line), f))
		n = sscanf(line, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
	fclose(f);
	return n == 7 ? (int64_t)v[6] : -1;
}

/* read_bytes of /proc/self/io: what this process (every thread) made the block layer read, or -1. */
int64_t bench_io_read_bytes(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "read_bytes: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

void bench_rss(uint64_t *rss, uint64_t *hwm)
{
	char line[256];
	*rss = *hwm = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*hwm = kb * 1024;
	}
	fclose(f);
}

static uint64_t du_total;
static int du_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (flag == FTW_F)
		du_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

uint64_t bench_du(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return 0;
	if (S_ISBLK(sb.st_mode))
		return 0;
	du_total = 0;
	nftw(path, du_cb, 16, FTW_PHYS);
	return du_total;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "swapobj-bench: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

int bench_rmtree(const char *path)
{
	return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *bench_subdir(const char *parent, const char *name)
{
	size_t l = strlen(parent) + strlen(name) + 2;
	char *p = malloc(l);
	if (!p)
		return NULL;
	snprintf(p, l, "%s/%s", parent, name);
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		bench_err("mkdir %s: %s", p, strerror(errno));
		free(p);
		return NULL;
	}
	return p;
}

void *bench_alloc_aligned(size_t len)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, len ? len : 4096) != 0)
		return NULL;
	return p;
}

/* ------------------------------------------------------------------------ */
/* Run results                                                               */
/* ------------------------------------------------------------------------ */

void rr_set(struct run_result *r, const char *key, double v)
{
	for (unsigned i = 0; i < r->nv; i++)
		if (strcmp(r->v[i].key, key) == 0) {
			r->v[i].v = v;
			return;
		}
	if (r->nv == RR_MAXV)
		return;
	snprintf(r->v[r->nv].key, RR_KEY, "%s", key);
	r->v[r->nv++].v = v;
}

const double *rr_get(const struct run_result *r, const char *key)
{
	for (unsigned i = 0; i < r->nv; i++)
		if (strcmp(r->v[i].key, key) == 0)
			return &r->v[i].v;
	return NULL;
}

void rr_fail(struct run_result *r, const char *fmt, ...)
{
	va_list ap;
	if (r->status == RR_FAIL)
		return; /* keep the first failure: later ones are usually its consequences */
	r->status = RR_FAIL;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

void rr_skip(struct run_result *r, const char *fmt, ...)
{
	va_list ap;
	if (r->status != RR_OK)
		return;
	r->status = RR_SKIP;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint32_t *s, size_t n, double q)
{
	if (!n)
		return 0;
	size_t i = q <= 0 ? 0 : (size_t)(q * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return s[i] / 1000.0;
}

void rr_latency(struct run_result *r, const char *key, uint32_t *lat, size_t n)
{
	char k[RR_KEY + 16];
	if (!n)
		return;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	snprintf(k, sizeof(k), "%s_p50_us", key);
	rr_set(r, k, pct(lat, n, 0.50));
	snprintf(k, sizeof(k), "%s_p99_us", key);
	rr_set(r, k, pct(lat, n, 0.99));
	snprintf(k, sizeof(k), "%s_p999_us", key);
	rr_set(r, k, pct(lat, n, 0.999));
	if (r->ncdf == RR_MAXCDF)
		return;
	struct rr_cdf *c = &r->cdf[r->ncdf++];
	snprintf(c->key, RR_KEY, "%s", key);
	for (unsigned i = 0; i < CDF_NQ; i++)
		c->us[i] = (float)pct(lat, n, cdf_q[i]);
}

uint32_t bench_cleaning_segment(uint64_t size, uint32_t forced)
{
	if (forced)
		return forced;
	uint64_t seg = SWAPOBJ_SEGMENT_DEFAULT;
	while (seg > SWAPOBJ_SEGMENT_MIN && size / seg < 64)
		seg /= 2;
	return (uint32_t)seg;
}
