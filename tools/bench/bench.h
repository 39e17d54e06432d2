/*
 * bench.h - internals of swapobj-bench shared by its source files.
 *
 * bench_cli.c       options and main
 * bench_harness.c   the corpus, one child process per run, the interleaved run loop, medians
 * bench_wl_*.c      one file per workload (bench_run.h is what they share with the harness)
 * bench_disk.c      the disk's own limits
 * bench_util.c      clocks, latency percentiles, run results, caches, /proc and /sys readers
 * bench_store_*.c   one file per store compared: libswapobj, raw slot file, zram, zstd alone,
 *                   RocksDB and LMDB (compiled when found); bench_stores.c their helpers
 * bench_report.c    terminal table, JSON and SVG output
 *
 * Every store is driven through the same small interface (struct store_ops)
 * so each workload runs the same loop, the same order and the same pages on
 * every system; only the calls inside the loop differ.
 */
#ifndef SO_BENCH_H
#define SO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "toolutil.h"

#define BPG 4096u

/* ------------------------------------------------------------------------ */
/* Systems                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * SYS_FUSEFS is the swapobjfs mount, used by the FUSE workload only; SYS_LRU an
 * exact LRU simulated on the cache workload's trace, its peer (no store).
 */
enum bench_sys {
	SYS_SWAPOBJ,
	SYS_SLOT,
	SYS_ROCKSDB,
	SYS_LMDB,
	SYS_ZSTD,
	SYS_ZRAM,
	SYS_DISK,
	SYS_FUSEFS,
	SYS_LRU,
	SYS_N
};

extern const char *const bench_sys_name[SYS_N];

struct store_params {
	const char *dir;       /* directory for the system's files; exists and is empty */
	uint64_t capacity;     /* bytes of page data the store must be able to hold */
	uint32_t nobj;         /* objects 0..nobj-1 */
	uint64_t obj_pages;    /* largest page index + 1 of any object */
	unsigned nthreads;     /* callers run with tid 0..nthreads-1 */
	uint32_t segment_size; /* libswapobj segment size, 0 = library default */
	unsigned layout;       /* libswapobj segment layout (SWAPOBJ_LAYOUT_*), 0 = library default */
	bool open_existing;    /* open what an earlier create left in dir (restart) */
	int zstd_level;        /* zstd store */
	int zram_id;           /* zram store: /dev/zram<id>, prepared by the parent */
};

struct store_stats {
	double dev_bytes;      /* bytes the system says it submitted to its devices; < 0 unknown */
	double user_bytes;     /* bytes the system says it was given; < 0 unknown */
	double disk_bytes;     /* bytes it occupies (files on disk; RAM for zram and zstd) */
	double index_bytes;    /* RAM for its index by its own accounting; < 0 unknown */
	double check_bytes;    /* of index_bytes, the per-block page checks (libswapobj's split layout) */
	double pages;          /* pages stored by its own count; < 0 unknown */
	double open_ns;        /* time the last create/open call spent opening the store itself */
	double replay_ns;      /* libswapobj: stat.replay_ns */
	double capacity_bytes; /* what the store can hold; < 0 unbounded */
	/* libswapobj only (0 elsewhere): checkpoint health since open, and what the open replayed */
	double checkpoints, checkpoint_failures, replay_bytes, from_checkpoint;
};

struct store;

/*
 * A page store. Pages are named (obj, pg). write and read move npages
 * consecutive pages of one object; buf is 4096-aligned. Every call returns
 * 0 or -1 with a message in bench_errbuf (thread-local). tid < nthreads
 * identifies the calling thread for stores that keep per-thread state.
 */
struct store_ops {
	enum bench_sys sys;
	int (*create)(struct store **out, const struct store_params *p);
	int (*write)(struct store *s, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t npages);
	int (*read)(struct store *s, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t npages);
	/*
	 * Read n single pages in one batched call: page i, (objs[i], pgs[i]), into
	 * buf + i * 4096 (buf 4096-aligned). The pages may belong to any objects,
	 * in any order. NULL: the store has no batched read.
	 */
	int (*read_batch)(struct store *s, unsigned tid, const uint32_t *objs, const uint64_t *pgs, uint8_t *buf,
	                  uint32_t n);
	/* End of a thread's writes (commits a batch kept per thread); may be NULL. */
	int (*thread_done)(struct store *s, unsigned tid);
	/* Make everything written durable. */
	int (*sync)(struct store *s);
	/* Close and open again; drops the page cache in between (root). NULL: not applicable. */
	int (*reopen)(struct store *s);
	void (*stats)(struct store *s, struct store_stats *out);
	/* Close without syncing more than the store does on its own; remove nothing. */
	void (*close)(struct store *s);
	/* Prefix invalidation of objects [first, first+n): foreground time only. NULL: not supported. */
	int (*drop_range)(struct store *s, uint32_t first, uint32_t n);
	/* Create n small objects [first, first+n) holding one page of a repeated 8-byte word. */
	int (*make_tiny)(struct store *s, uint32_t first, uint32_t n);
	/* 1 if object obj still exists (tiny objects), 0 if gone, -1 error. */
	int (*exists)(struct store *s, uint32_t obj);
	const char *config; /* the exact configuration, for the report */
};

/* NULL when the system is not built in. */
const struct store_ops *bench_store_ops(enum bench_sys sys);
/* zram: prepare a device (hot_add). Returns its id or -1 (message in bench_errbuf). */
int bench_zram_add(void);
void bench_zram_remove(int id);
const char *bench_zram_algo(int id);

/* ------------------------------------------------------------------------ */
/* Results of one run (lives in memory shared with the child that made it)   */
/* ------------------------------------------------------------------------ */

enum { RR_OK = 0, RR_FAIL = 1, RR_SKIP = 2 };

#define RR_MAXV 96
#define RR_MAXCDF 8
#define RR_KEY 24
#define CDF_NQ 40
extern const double cdf_q[CDF_NQ];

struct rr_val {
	char key[RR_KEY];
	double v;
};
struct rr_cdf {
	char key[RR_KEY];
	float us[CDF_NQ]; /* latency in microseconds at quantile cdf_q[i] */
};
struct run_result {
	int status;
	int killed; /* the run's process died of a signal (crash, --timeout) */
	char msg[512];
	uint64_t verified; /* pages compared with what was written */
	unsigned nv, ncdf;
	struct rr_val v[RR_MAXV];
	struct rr_cdf cdf[RR_MAXCDF];
};

void rr_set(struct run_result *r, const char *key, double v);
const double *rr_get(const struct run_result *r, const char *key);
/* Sort lat_ns[0..n), store KEY_p50_us, KEY_p99_us, KEY_p999_us and the CDF under key. */
void rr_latency(struct run_result *r, const char *key, uint32_t *lat_ns, size_t n);
void rr_fail(struct run_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The system cannot run this workload here (a facility the kernel refuses): shown as skipped, not failed. */
void rr_skip(struct run_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Utilities                                                                 */
/* ------------------------------------------------------------------------ */

extern __thread char bench_errbuf[512];
int bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline uint64_t bench_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

uint64_t bench_now_ns(void);
/* Fisher-Yates permutation of 0..n-1, deterministic in seed; seed 0 gives 0..n-1 in order. */
uint32_t *bench_perm(uint64_t n, uint64_t seed);
/* Drop the page cache (root only). Returns true if done. */
bool bench_drop_caches(void);
/*
 * Segment size for a store of size bytes that the cleaner must work in:
 * `forced` (--segment) if set, else the library's default halved until the
 * store has 64 segments (a store of a few segments cannot be cleaned sensibly).
 */
uint32_t bench_cleaning_segment(uint64_t size, uint32_t forced);
bool bench_is_root(void);
/* Sectors (512 B) written to the block device holding path, or -1. */
int64_t bench_blk_sectors_written(const char *path);
/*
 * read_bytes of /proc/self/io, or -1: bytes this process (all its threads) had
 * the block layer read from storage, O_DIRECT included, page-cache hits not.
 */
int64_t bench_io_read_bytes(void);
/* VmRSS and VmHWM of this process in bytes. */
void bench_rss(uint64_t *rss, uint64_t *hwm);
/* Bytes allocated on disk under path (recursive, like du). */
uint64_t bench_du(const char *path);
/* rm -rf path (its contents and itself). */
int bench_rmtree(const char *path);
/* mkdir -p for one level under parent: parent/name; returns a malloc'd path. */
char *bench_subdir(const char *parent, const char *name);
void *bench_alloc_aligned(size_t len);

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

struct bench_cfg;

struct report_sys {
	bool used;               /* ran in this workload */
	unsigned nruns;          /* measured runs (warm-up excluded) */
	struct run_result *runs; /* nruns results */
	int status;              /* worst status over runs */
	bool stopped;            /* no more runs: it crashed, hung or returned wrong data */
	char msg[512];           /* first failure or skip message */
};

struct report_wl {
	const char *name;
	const char *title;
	char detail[400];
	bool selected;
	struct report_sys sys[SYS_N];
};

struct report {
	const char *version;
	char machine[512];
	char command[1024];
	char corpus[300];
	char started[64];
	double elapsed_s;
	uint64_t size, inval_objects;
	unsigned runs, warmup;
	unsigned nwl;
	struct report_wl *wl;
	const char *sys_config[SYS_N];
	bool sys_avail[SYS_N];
	char sys_note[SYS_N][160];
	char drop_note[200];
	bool failed;
};

/* Median over the measured runs of sys for key; false if no run has it. */
bool report_median(const struct report_wl *w, enum bench_sys s, const char *key, double *out);
void report_print(const struct report *rp, FILE *f);
int report_json(const struct report *rp, const char *path);
int report_plots(const struct report *rp, const char *dir);

#endif
