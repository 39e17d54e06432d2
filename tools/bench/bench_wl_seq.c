/*
 * bench_wl_seq.c - workload 3: sequential object write and read.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_run.h"

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

static void seq_detail(char *buf, size_t len)
{
	char a[32], b[32];
	snprintf(buf, len,
	         "%u objects, %s in all, written front to back in %s calls and synced; read back the same way "
	         "cold; disk: 1 MiB O_DIRECT",
	         SEQ_OBJECTS, tool_human(cfg.size, a, sizeof(a)), tool_human(cfg.seq_io, b, sizeof(b)));
}

const struct bench_wl bench_wl_seq = {
    .name = "seq",
    .title = "3. sequential objects",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_SLOT) | SYS_BIT(SYS_ROCKSDB) | SYS_BIT(SYS_LMDB) | SYS_BIT(SYS_DISK),
    .run = run_seq,
    .detail = seq_detail,
};
