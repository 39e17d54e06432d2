/*
 * bench_wl_threads.c - workload 8: one thread vs two.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_run.h"

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

static void threads_detail(char *buf, size_t len)
{
	char a[32];
	snprintf(buf, len, "swap-out (+sync) and cold swap-in of %s with 1 and with 2 threads owning disjoint objects",
	         tool_human(cfg.size, a, sizeof(a)));
}

const struct bench_wl bench_wl_threads = {
    .name = "threads",
    .title = "8. one thread vs two",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_ZSTD),
    .run = run_threads,
    .detail = threads_detail,
};
