/*
 * bench_run.h - what swapobj-bench's harness (bench_harness.c), its command
 * line (bench_cli.c) and its workloads (bench_wl_*.c, bench_disk.c) share.
 * Private to the benchmark; bench.h holds the store interface and the report.
 *
 * Every workload is one file defining a struct bench_wl: its run function
 * is called in the forked child of one run, drives the store x->sys,
 * records its figures in r with rr_set()/rr_latency() and returns 0, or -1
 * with a message in bench_errbuf.
 */
#ifndef SO_BENCH_RUN_H
#define SO_BENCH_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

enum wl {
	WL_SWAPOUT,
	WL_SWAPIN,
	WL_SEQ,
	WL_CHURN,
	WL_RESTART,
	WL_INVAL,
	WL_FUSE,
	WL_THREADS,
	WL_FSCK,
	WL_BATCH,
	WL_CACHE,
	WL_N
};

extern const char *prog;

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
	unsigned layout; /* SWAPOBJ_LAYOUT_* for the stores libswapobj formats (0: the library's default) */
	uint64_t inval_objects, seq_io, churn_size;
	uint64_t cache_obj;      /* cache: bytes of one object */
	uint64_t cache_accesses; /* cache: measured accesses (0: 3x the key space) */
	double churn_factor, churn_warmup;
	double restart_churn; /* restart: capacities rewritten before the churned store's kill (0: no such case) */
	bool churn_fill[2];   /* 80%, 90% */
	int zstd_level, zram_id;
	bool quiet;
	uint8_t *pages; /* corpus, 4 KiB-aligned */
	uint64_t npages;
	char corpus_desc[300];
};

extern struct bench_cfg cfg;
/* --dir as given (NULL: a new directory under /var/tmp). */
extern const char *dir_arg;
/* Set by SIGINT/SIGTERM in the parent; loops stop early. */
extern volatile sig_atomic_t interrupted;

/* The run loop, after the options are parsed into cfg. Returns the exit status. */
int bench_main(int argc, char **argv);

/* ------------------------------------------------------------------------ */
/* Pages, verification and what every run shares (bench_harness.c)          */
/* ------------------------------------------------------------------------ */

struct run_ctx {
	enum wl wl;
	enum bench_sys sys;
	int round;   /* < 0: warm-up */
	bool swapin; /* swap workload: also read back (swapin selected) */
	char *dir;   /* this run's directory, empty */
	uint64_t rss0;
};

/* The corpus page that (obj, pg) holds at generation gen; consecutive generations differ. */
const uint8_t *page_at(uint32_t obj, uint64_t pg, uint32_t gen);
int verify_page(struct run_result *r, const char *sys, const uint8_t *got, uint32_t obj, uint64_t pg,
                const uint8_t *want, const uint8_t *alt);
const struct store_ops *ops_of(enum bench_sys s);
struct store_params base_params(const struct run_ctx *x, uint64_t npages, uint64_t capacity);
/* Device space for a store that must hold npages without needing its cleaner. */
uint64_t roomy_capacity(uint64_t npages);
void record_common(struct run_result *r, const struct run_ctx *x, const struct store_stats *ss, double npages,
                   const char *prefix);
/* Read npages pages in the order ord (page k = (k % nobj, k / nobj)), timing each read and verifying it. */
int read_pass(struct run_result *r, const struct store_ops *o, struct store *s, const uint32_t *ord, uint64_t n,
              uint32_t *lat, double *secs, const uint16_t *gen, const uint16_t *gen_alt);
/* Path of a sibling tool in the build tree (tools/, fusefs/) or NULL. */
const char *find_tool(const char *name, char *buf, size_t len);
/* Path of the swapobjfs binary or NULL: --swapobjfs, else next to this tool's build tree. */
const char *find_swapobjfs(const char *argv0);
void machine_desc(char *buf, size_t len);
void on_signal(int sig);

/* ------------------------------------------------------------------------ */
/* The disk's own limits (bench_disk.c)                                      */
/* ------------------------------------------------------------------------ */

struct disk_file {
	int fd;
	char *path;
	uint64_t bytes;
};

int disk_open(struct disk_file *d, const struct run_ctx *x, uint64_t bytes);
void disk_close(struct disk_file *d);
/* Sequential O_DIRECT 1 MiB writes at queue depth 1, then fdatasync: seconds spent in the calls. */
int disk_seq_write(struct disk_file *d, uint64_t npages, double *secs);
int disk_seq_read(struct run_result *r, struct disk_file *d, uint64_t npages, double *secs);
int run_disk_swap(struct run_ctx *x, struct run_result *r, uint64_t n);
/* Queue depth of the disk's random-read limit for batched reads. */
#define DISK_QD 32u
/* disk_rand_read_qd's answer when io_uring cannot be set up here (message in bench_errbuf). */
#define DISK_NO_URING (-2)
/*
 * 4 KiB O_DIRECT reads of the file pages ord[0..n) kept qd in flight with io_uring, each verified:
 * seconds from the first submission to the last completion. 0, -1, or DISK_NO_URING.
 */
int disk_rand_read_qd(struct run_result *r, struct disk_file *d, const uint32_t *ord, uint64_t n, unsigned qd,
                      double *secs);

/* ------------------------------------------------------------------------ */
/* Workloads (bench_wl_<name>.c)                                             */
/* ------------------------------------------------------------------------ */

#define SYS_BIT(s) (1u << (s))

/* A workload: what the harness needs to know of it, defined in its own file. */
struct bench_wl {
	const char *name;  /* as --workloads takes it */
	const char *title; /* heading in the report */
	unsigned systems;  /* SYS_BIT(s) of every system it runs on */
	/* One run in the forked child: figures into r; 0, or -1 with a message in bench_errbuf. */
	int (*run)(struct run_ctx *x, struct run_result *r);
	/* What a run does with the sizes of cfg, for the report. */
	void (*detail)(char *buf, size_t len);
};

/* Indexed by enum wl. swapout and swapin share one run (swapin's reads follow swapout's writes). */
extern const struct bench_wl *const bench_wls[WL_N];
extern const struct bench_wl bench_wl_swapout, bench_wl_swapin, bench_wl_seq, bench_wl_churn, bench_wl_restart,
    bench_wl_inval, bench_wl_fuse, bench_wl_threads, bench_wl_fsck, bench_wl_batch, bench_wl_cache;

#endif
