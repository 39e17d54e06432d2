/*
 * bench_wl_restart.c - workload 5: restart after kill -9, of a freshly
 * filled store (every system) and, for libswapobj, of a store in the
 * steady state of heavy churn: kept 3/4 full and rewritten object by object
 * --restart-churn times its capacity, so that every segment has held dead
 * data and the cleaner runs all along. Checkpoints must keep up there too,
 * or the reopen replays a log that grows without bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

static int run_restart_churned(struct run_ctx *x, struct run_result *r);

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
	if (rc == 0 && x->sys == SYS_SWAPOBJ && cfg.restart_churn > 0)
		rc = run_restart_churned(x, r);
	free(ord);
	free(gen);
	free(gen_alt);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* After churn (libswapobj)                                                  */
/* ------------------------------------------------------------------------ */

#define RS_REC_BYTES 4160u /* a stored page: a 4096-byte page in a 4160-byte record */
#define RS_BATCH 32u       /* pages per write call while churning */

/* Segment size of the churned store (bench_cleaning_segment). */
static uint32_t rs_churn_segment(void)
{
	return bench_cleaning_segment(cfg.size, cfg.segment);
}

/* Pages the churned store keeps live: 3/4 of the usable capacity of a store of --size (a scratch store says). */
static int rs_churn_pages(const char *dir, uint64_t *npages)
{
	char *path = NULL;
	if (asprintf(&path, "%s/probe.img", dir) < 0)
		return bench_err("out of memory");
	const char *paths[1] = {path};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_store_stat ss;
	swapobj_store *st;
	int err;
	fo.size = cfg.size;
	fo.segment_size = rs_churn_segment();
	fo.layout = cfg.layout;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	if ((err = swapobj_format(paths, 1, &fo)) == 0 && (err = swapobj_store_open(&st, paths, 1, &oo)) == 0) {
		swapobj_store_stat(&ss, sizeof(ss), st);
		swapobj_store_close(st);
		*npages = ss.usable_bytes / RS_REC_BYTES * 3 / 4;
	}
	unlink(path);
	free(path);
	if (err < 0)
		return bench_err("libswapobj probe store of %" PRIu64 " bytes: %s", cfg.size, swapobj_errmsg());
	if (*npages < cfg.nobj)
		return bench_err("a store of %" PRIu64 " bytes is too small to churn %u objects", cfg.size, cfg.nobj);
	return 0;
}

/* Passes over the live pages that rewrite --restart-churn times the capacity (the fill is pass 0). */
static uint32_t rs_churn_passes(uint64_t n)
{
	double p = cfg.restart_churn * (double)cfg.size / ((double)n * BPG);
	uint64_t passes = (uint64_t)p + ((double)(uint64_t)p < p);
	return (uint32_t)(passes ? (passes < 60000 ? passes : 60000) : 1);
}

/* Write generation gen of every live page, object by object, RS_BATCH pages per call. */
static int rs_churn_pass(const struct store_ops *o, struct store *s, uint64_t n, uint32_t gen, uint8_t *buf)
{
	for (uint32_t obj = 0; obj < cfg.nobj; obj++) {
		uint64_t npg = (n - obj + cfg.nobj - 1) / cfg.nobj; /* page k = (k % nobj, k / nobj) */
		for (uint64_t pg = 0; pg < npg; pg += RS_BATCH) {
			uint32_t m = (uint32_t)(npg - pg < RS_BATCH ? npg - pg : RS_BATCH);
			for (uint32_t i = 0; i < m; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, gen), BPG);
			if (o->write(s, 0, obj, pg, buf, m) < 0)
				return -1;
		}
		if (interrupted)
			return bench_err("interrupted");
	}
	return 0;
}

/*
 * The churning writer: fill n pages (pass 0), rewrite them all pass after
 * pass, syncing after each (each pass kills every record of the one
 * before, as a delete would), then overwrite `extra` pages unsynced, report
 * its checkpoint figures ("K <checkpoints> <failures>") and wait to be
 * killed.
 */
static void restart_churn_writer(struct run_ctx *x, const struct store_params *p, int wfd, uint64_t n, uint64_t extra,
                                 uint32_t passes)
{
	const struct store_ops *o = ops_of(x->sys);
	struct store *s = NULL;
	struct store_stats ss;
	uint32_t *ord = bench_perm(n, 0xdead);
	uint8_t *buf = bench_alloc_aligned((size_t)RS_BATCH * BPG);
	char msg[600];
	if (!ord || !buf) {
		bench_err("out of memory");
		goto fail;
	}
	if (o->create(&s, p) < 0)
		goto fail;
	for (uint32_t g = 0; g <= passes; g++)
		if (rs_churn_pass(o, s, n, g, buf) < 0 || o->sync(s) < 0)
			goto fail;
	for (uint64_t i = 0; i < extra; i++)
		if (o->write(s, 0, ord[i] % cfg.nobj, ord[i] / cfg.nobj,
		             page_at(ord[i] % cfg.nobj, ord[i] / cfg.nobj, passes + 1), 1) < 0)
			goto fail;
	o->stats(s, &ss);
	snprintf(msg, sizeof(msg), "K %.0f %.0f", ss.checkpoints, ss.checkpoint_failures);
	if (write(wfd, msg, strlen(msg)) != (ssize_t)strlen(msg))
		_exit(1);
	for (;;)
		pause();
fail:
	snprintf(msg, sizeof(msg), "E%s", bench_errbuf[0] ? bench_errbuf : "out of memory");
	if (write(wfd, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(1);
}

/*
 * Reopen after kill -9 in the steady state of churn: time to open the store
 * and its objects, the log it replayed, the checkpoints the writer took and
 * failed; every page verified (the last pass, or for the unsynced overwrites
 * the pass after it).
 */
static int run_restart_churned(struct run_ctx *x, struct run_result *r)
{
	const struct store_ops *o = ops_of(x->sys);
	uint64_t n = 0;
	if (rs_churn_pages(x->dir, &n) < 0)
		return -1;
	uint64_t extra = n / 100 + 1;
	uint32_t passes = rs_churn_passes(n);
	struct store_params p = base_params(x, n, cfg.size);
	p.segment_size = rs_churn_segment();
	p.layout = cfg.layout;
	struct store *s = NULL;
	struct store_stats ss;
	uint32_t *ord = NULL, *seq = NULL;
	uint16_t *gen = NULL, *gen_alt = NULL;
	int pfd[2], rc = -1, status;
	char msg[600];
	if (passes + 1 >= UINT16_MAX)
		return bench_err("--restart-churn %.1f on %" PRIu64 " live pages: too many passes", cfg.restart_churn,
		                 n);
	char img[PATH_MAX];
	snprintf(img, sizeof(img), "%s/store.img", x->dir);
	unlink(img); /* the fresh case's store: the churned one is formatted anew */
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
		restart_churn_writer(x, &p, pfd[1], n, extra, passes);
	}
	close(pfd[1]);
	ssize_t got = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	msg[got > 0 ? got : 0] = 0;
	double ckpts = 0, fails = 0;
	if (got <= 0 || msg[0] != 'K' || sscanf(msg, "K %lf %lf", &ckpts, &fails) != 2) {
		if (got > 1 && msg[0] == 'E')
			return bench_err("churning writer process: %s", msg + 1);
		return bench_err("churning writer process died before it was killed (%s %d)",
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
	rr_set(r, "rs_churn_ms", total / 1e6);
	rr_set(r, "rs_churn_replay_ms", ss.replay_ns / 1e6);
	rr_set(r, "rs_churn_tail_mib", ss.replay_bytes / (1 << 20));
	rr_set(r, "rs_churn_from_ckpt", ss.from_checkpoint);
	rr_set(r, "rs_churn_ckpts", ckpts);
	rr_set(r, "rs_churn_ckpt_fail", fails);
	rr_set(r, "rs_churn_gib", (double)(passes + 1) * (double)n * BPG / (1 << 30));
	ord = bench_perm(n, 0xdead);
	seq = bench_perm(n, 0); /* in order: the verification is not timed */
	gen = malloc(n * sizeof(*gen));
	gen_alt = malloc(n * sizeof(*gen_alt));
	if (!ord || !seq || !gen || !gen_alt) {
		bench_err("out of memory");
		goto done;
	}
	for (uint64_t k = 0; k < n; k++)
		gen[k] = gen_alt[k] = (uint16_t)passes;
	for (uint64_t i = 0; i < extra; i++)
		gen_alt[ord[i]] = (uint16_t)(passes + 1);
	double secs;
	if (read_pass(r, o, s, seq, n, NULL, &secs, gen, gen_alt) < 0)
		goto done;
	rc = 0;
done:
	if (s)
		o->close(s);
	free(ord);
	free(seq);
	free(gen);
	free(gen_alt);
	return rc;
}

static void restart_detail(char *buf, size_t len)
{
	char a[32];
	tool_human(cfg.size, a, sizeof(a));
	int k = snprintf(buf, len,
	                 "a writer process stores %s over %u objects, syncs, overwrites 1%% unsynced, gets SIGKILL; "
	                 "caches dropped; time to open the store and its objects; then swapobj-fsck -n when built; "
	                 "disk: reading %s once",
	                 a, cfg.nobj, a);
	if (cfg.restart_churn > 0 && k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k,
		         "; libswapobj also \"after churn\": a store of %s kept 3/4 full is rewritten object by "
		         "object, %.1f times its capacity in all, synced after each pass, then the same kill",
		         a, cfg.restart_churn);
}

const struct bench_wl bench_wl_restart = {
    .name = "restart",
    .title = "5. restart after kill -9",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_DISK),
    .run = run_restart,
    .detail = restart_detail,
};
