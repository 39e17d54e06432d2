/*
 * bench_store_swapobj.c - libswapobj, the library under test, through its
 * public API only, as a swapobj-bench store (struct store_ops in bench.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_store.h"
#include "swapobj.h"

struct so_store {
	struct store base;
	char *path;
	swapobj_store *st;
	swapobj_obj **h;
	uint32_t nobj;
	double open_ns;
	uint64_t dev_before, user_before; /* counters of earlier opens (they restart at each open) */
	struct swapobj_read_req *reqs;    /* so_read_batch's requests, grown to the largest call */
	uint32_t nreqs;
};

static int so_err(const char *what, int err)
{
	const char *m = swapobj_errmsg();
	return bench_err("libswapobj %s: %s (%s)", what, m && *m ? m : swapobj_strerror(err), swapobj_strerror(err));
}

static int so_open_handles(struct so_store *s, unsigned flags)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = flags;
	for (uint32_t i = 0; i < s->nobj; i++) {
		swapobj_key k;
		swapobj_key_anon(&k, 2, i);
		int err = swapobj_obj_open(&s->h[i], s->st, &k, &oo);
		if (err < 0) {
			char w[64];
			snprintf(w, sizeof(w), "open object anon/2/%u", i);
			return so_err(w, err);
		}
	}
	return 0;
}

static void so_close_handles(struct so_store *s)
{
	for (uint32_t i = 0; i < s->nobj; i++)
		if (s->h[i]) {
			swapobj_obj_close(s->h[i]);
			s->h[i] = NULL;
		}
}

static int so_open_store(struct so_store *s)
{
	const char *paths[1] = {s->path};
	uint64_t t0 = bench_now_ns();
	int err = swapobj_store_open(&s->st, paths, 1, NULL);
	s->open_ns = (double)(bench_now_ns() - t0);
	if (err < 0)
		return so_err("open store", err);
	return 0;
}

static void so_close(struct store *base)
{
	struct so_store *s = (struct so_store *)base;
	if (!s)
		return;
	so_close_handles(s);
	if (s->st)
		swapobj_store_close(s->st);
	free(s->h);
	free(s->path);
	free(s->reqs);
	free(s);
}

static int so_create(struct store **out, const struct store_params *p)
{
	struct so_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = SYS_SWAPOBJ;
	s->nobj = p->nobj;
	s->path = path_join(p->dir, "store.img");
	s->h = calloc(p->nobj ? p->nobj : 1, sizeof(*s->h));
	if (!s->path || !s->h) {
		so_close(&s->base);
		return bench_err("out of memory");
	}
	if (!p->open_existing) {
		const char *paths[1] = {s->path};
		struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
		fo.size = p->capacity;
		fo.segment_size = p->segment_size;
		fo.layout = p->layout;
		int err = swapobj_format(paths, 1, &fo);
		if (err < 0) {
			so_close(&s->base);
			return so_err("format", err);
		}
	}
	if (so_open_store(s) < 0 || so_open_handles(s, p->open_existing ? 0 : SWAPOBJ_O_CREATE) < 0) {
		so_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static int so_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct so_store *s = (struct so_store *)base;
	int64_t r = swapobj_obj_write(s->h[obj], buf, (size_t)n * BPG, pg * BPG);
	if (r != (int64_t)n * BPG) {
		char w[96];
		snprintf(w, sizeof(w), "write object %u page %" PRIu64 " (+%u) returned %" PRId64, obj, pg, n, r);
		return so_err(w, r < 0 ? (int)r : SWAPOBJ_EIO);
	}
	return 0;
}

static int so_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct so_store *s = (struct so_store *)base;
	int64_t r = swapobj_obj_read(s->h[obj], buf, (size_t)n * BPG, pg * BPG, 0);
	if (r != (int64_t)n * BPG) {
		if (r >= 0)
			return bench_err("libswapobj read object %u page %" PRIu64 " (+%u): short read of %" PRId64
			                 " bytes (data missing)",
			                 obj, pg, n, r);
		char w[96];
		snprintf(w, sizeof(w), "read object %u page %" PRIu64 " (+%u)", obj, pg, n);
		return so_err(w, (int)r);
	}
	return 0;
}

/* One swapobj_read_batch call for the n pages, plain (not exclusive) reads like so_read. */
static int so_read_batch(struct store *base, unsigned tid, const uint32_t *objs, const uint64_t *pgs, uint8_t *buf,
                         uint32_t n)
{
	struct so_store *s = (struct so_store *)base;
	if (n > s->nreqs) {
		struct swapobj_read_req *r = realloc(s->reqs, n * sizeof(*r));
		if (!r)
			return bench_err("out of memory");
		s->reqs = r;
		s->nreqs = n;
	}
	for (uint32_t i = 0; i < n; i++)
		s->reqs[i] = (struct swapobj_read_req){s->h[objs[i]], buf + (size_t)i * BPG, pgs[i] * BPG, BPG, 0};
	int bad = swapobj_read_batch(s->st, s->reqs, n, 0);
	if (bad < 0)
		return so_err("read batch", bad);
	for (uint32_t i = 0; i < n; i++) {
		int64_t r = s->reqs[i].result;
		if (r == BPG)
			continue;
		if (r >= 0)
			return bench_err("libswapobj read batch: object %u page %" PRIu64 ": short read of %" PRId64
			                 " bytes (data missing)",
			                 objs[i], pgs[i], r);
		char w[96];
		snprintf(w, sizeof(w), "read batch: object %u page %" PRIu64, objs[i], pgs[i]);
		return so_err(w, (int)r);
	}
	if (bad != 0)
		return bench_err("libswapobj read batch: returned %d failed requests but every result is 4096", bad);
	return 0;
}

static int so_sync(struct store *base)
{
	struct so_store *s = (struct so_store *)base;
	int err = swapobj_store_sync(s->st);
	return err < 0 ? so_err("sync", err) : 0;
}

static void so_stats(struct store *base, struct store_stats *o)
{
	struct so_store *s = (struct so_store *)base;
	struct swapobj_store_stat st;
	memset(o, 0, sizeof(*o));
	memset(&st, 0, sizeof(st));
	swapobj_store_stat(&st, sizeof(st), s->st);
	o->dev_bytes = (double)(s->dev_before + st.device_bytes_written);
	o->user_bytes = (double)(s->user_before + st.user_bytes_written);
	o->disk_bytes = (double)bench_du(s->path);
	o->index_bytes = (double)st.index_bytes;
	o->check_bytes = (double)st.page_check_bytes;
	o->pages = (double)st.pages;
	o->open_ns = s->open_ns;
	o->replay_ns = (double)st.replay_ns;
	o->capacity_bytes = (double)st.capacity_bytes;
	o->checkpoints = (double)st.checkpoints_written;
	o->checkpoint_failures = (double)st.checkpoint_failures;
	o->replay_bytes = (double)st.replay_bytes;
	o->from_checkpoint = st.from_checkpoint;
}

static int so_reopen(struct store *base)
{
	struct so_store *s = (struct so_store *)base;
	struct swapobj_store_stat st;
	swapobj_store_stat(&st, sizeof(st), s->st);
	s->dev_before += st.device_bytes_written;
	s->user_before += st.user_bytes_written;
	so_close_handles(s);
	int err = swapobj_store_close(s->st);
	s->st = NULL;
	if (err < 0)
		return so_err("close", err);
	bench_drop_caches();
	if (so_open_store(s) < 0)
		return -1;
	return so_open_handles(s, 0);
}

static int so_make_tiny(struct store *base, uint32_t first, uint32_t n)
{
	struct so_store *s = (struct so_store *)base;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	uint8_t *page = bench_alloc_aligned(BPG);
	oo.flags = SWAPOBJ_O_CREATE;
	if (!page)
		return bench_err("out of memory");
	for (uint32_t i = first; i < first + n; i++) {
		swapobj_key k;
		swapobj_obj *h;
		swapobj_key_anon(&k, 1, i);
		int err = swapobj_obj_open(&h, s->st, &k, &oo);
		if (err < 0) {
			free(page);
			return so_err("create tiny object", err);
		}
		tiny_page(page, i);
		int64_t r = swapobj_obj_write(h, page, BPG, 0);
		swapobj_obj_close(h);
		if (r != BPG) {
			free(page);
			return so_err("write tiny object", r < 0 ? (int)r : SWAPOBJ_EIO);
		}
	}
	free(page);
	return 0;
}

static int so_exists(struct store *base, uint32_t obj)
{
	struct so_store *s = (struct so_store *)base;
	swapobj_key k;
	swapobj_obj *h;
	swapobj_key_anon(&k, 1, obj);
	int err = swapobj_obj_open(&h, s->st, &k, NULL);
	if (err == 0) {
		uint8_t *page = bench_alloc_aligned(BPG), *want = bench_alloc_aligned(BPG);
		int ok = page && want && swapobj_obj_read(h, page, BPG, 0, 0) == BPG;
		if (ok) {
			tiny_page(want, obj);
			ok = memcmp(page, want, BPG) == 0;
		}
		free(page);
		free(want);
		swapobj_obj_close(h);
		return ok ? 1 : bench_err("tiny object anon/1/%u reads back wrong", obj);
	}
	if (err == SWAPOBJ_ENOENT)
		return 0;
	return so_err("open tiny object", err);
}

static int so_drop_range(struct store *base, uint32_t first, uint32_t n)
{
	struct so_store *s = (struct so_store *)base;
	swapobj_key k, pre;
	swapobj_key_anon(&k, 1, 0);
	swapobj_key_prefix(&pre, &k, 2);
	int err = swapobj_invalidate(s->st, &pre);
	return err < 0 ? so_err("invalidate anon/1", err) : 0;
}

const struct store_ops bench_store_swapobj = {
    .sys = SYS_SWAPOBJ,
    .create = so_create,
    .write = so_write,
    .read = so_read,
    .read_batch = so_read_batch,
    .sync = so_sync,
    .reopen = so_reopen,
    .stats = so_stats,
    .close = so_close,
    .drop_range = so_drop_range,
    .make_tiny = so_make_tiny,
    .exists = so_exists,
    .config = "one image file, formatted with the size each workload states and the segment size given "
              "(library default if none); default open flags (O_DIRECT where the file system allows it); "
              "objects anon/2/<n>, class SWAP, persistent; one swapobj_obj_write per page (or per chunk in "
              "the sequential workload); swapobj_store_sync as the sync; batched swap-in: one swapobj_read_batch per "
              "call of pages, flags 0",
};
