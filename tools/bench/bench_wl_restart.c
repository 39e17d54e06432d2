/*
 * bench_wl_restart.c - workload 5: restart after kill -9.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_run.h"

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
	free(ord);
	free(gen);
	free(gen_alt);
	return rc;
}

static void restart_detail(char *buf, size_t len)
{
	char a[32];
	tool_human(cfg.size, a, sizeof(a));
	snprintf(buf, len,
	         "a writer process stores %s over %u objects, syncs, overwrites 1%% unsynced, gets SIGKILL; "
	         "caches dropped; time to open the store and its objects; then swapobj-fsck -n when built; "
	         "disk: reading %s once",
	         a, cfg.nobj, a);
}

const struct bench_wl bench_wl_restart = {
    .name = "restart",
    .title = "5. restart after kill -9",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_DISK),
    .run = run_restart,
    .detail = restart_detail,
};
