/*
 * bench_store_lmdb.c - LMDB with MDB_NOSYNC as a swapobj-bench store; built
 * only when LMDB is found.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lmdb.h>

#include "bench.h"
#include "bench_store.h"

#define LMDB_BATCH 256

struct lmdb_thr {
	MDB_txn *w, *r;
	unsigned nput;
};

struct lmdb_store {
	struct store base;
	char *path;
	MDB_env *env;
	MDB_dbi dbi;
	size_t mapsize;
	unsigned nthreads;
	struct lmdb_thr *t;
	double open_ns;
	_Atomic uint64_t user_bytes;
};

static int lmdb_e(const char *what, int rc)
{
	return bench_err("lmdb %s: %s", what, mdb_strerror(rc));
}

static int lmdb_open_env(struct lmdb_store *s)
{
	int rc;
	MDB_txn *txn;
	uint64_t t0 = bench_now_ns();
	if ((rc = mdb_env_create(&s->env)) != 0)
		return lmdb_e("env_create", rc);
	mdb_env_set_mapsize(s->env, s->mapsize);
	if ((rc = mdb_env_open(s->env, s->path, MDB_NOSYNC | MDB_NORDAHEAD | MDB_NOTLS, 0600)) != 0)
		return lmdb_e("env_open", rc);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return lmdb_e("txn_begin", rc);
	if ((rc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_e("dbi_open", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_e("commit", rc);
	s->open_ns = (double)(bench_now_ns() - t0);
	return 0;
}

static void lmdb_close_env(struct lmdb_store *s)
{
	for (unsigned i = 0; s->t && i < s->nthreads; i++) {
		if (s->t[i].w)
			mdb_txn_abort(s->t[i].w);
		if (s->t[i].r)
			mdb_txn_abort(s->t[i].r);
		s->t[i].w = s->t[i].r = NULL;
		s->t[i].nput = 0;
	}
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
}

static void lmdb_close(struct store *base)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	if (!s)
		return;
	lmdb_close_env(s);
	free(s->t);
	free(s->path);
	free(s);
}

static int lmdb_create(struct store **out, const struct store_params *p)
{
	struct lmdb_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = SYS_LMDB;
	s->nthreads = p->nthreads ? p->nthreads : 1;
	s->path = path_join(p->dir, "lmdb");
	s->t = calloc(s->nthreads, sizeof(*s->t));
	s->mapsize = (size_t)p->capacity * 4 + (1ull << 30);
	if (!s->path || !s->t || (mkdir(s->path, 0700) < 0 && errno != EEXIST) || lmdb_open_env(s) < 0) {
		if (!bench_errbuf[0])
			bench_err("lmdb: cannot create %s", s->path ? s->path : "?");
		lmdb_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static int lmdb_commit_thread(struct lmdb_store *s, unsigned tid)
{
	struct lmdb_thr *t = &s->t[tid];
	if (!t->w)
		return 0;
	int rc = mdb_txn_commit(t->w);
	t->w = NULL;
	t->nput = 0;
	return rc ? lmdb_e("commit", rc) : 0;
}

static int lmdb_put(struct lmdb_store *s, unsigned tid, uint64_t obj, uint64_t pg, const void *v, size_t vl)
{
	struct lmdb_thr *t = &s->t[tid];
	int rc;
	uint8_t k[16];
	if (!t->w && (rc = mdb_txn_begin(s->env, NULL, 0, &t->w)) != 0)
		return lmdb_e("txn_begin", rc);
	key16(k, obj, pg);
	MDB_val key = {16, k}, val = {vl, (void *)v};
	if ((rc = mdb_put(t->w, s->dbi, &key, &val, 0)) != 0)
		return lmdb_e("put", rc);
	if (++t->nput >= LMDB_BATCH)
		return lmdb_commit_thread(s, tid);
	return 0;
}

static int lmdb_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	for (uint32_t i = 0; i < n; i++)
		if (lmdb_put(s, tid, obj, pg + i, buf + (size_t)i * BPG, BPG) < 0)
			return -1;
	s->user_bytes += (uint64_t)n * BPG;
	return 0;
}

static int lmdb_get(struct lmdb_store *s, unsigned tid, uint64_t obj, uint64_t pg, MDB_val *val)
{
	struct lmdb_thr *t = &s->t[tid];
	int rc;
	uint8_t k[16];
	if (!t->r)
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->r);
	else
		rc = mdb_txn_renew(t->r);
	if (rc)
		return lmdb_e("read txn", rc);
	key16(k, obj, pg);
	MDB_val key = {16, k};
	rc = mdb_get(t->r, s->dbi, &key, val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_e("get", rc);
	return 1; /* caller copies, then resets the txn */
}

static int lmdb_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	for (uint32_t i = 0; i < n; i++) {
		MDB_val v;
		int r = lmdb_get(s, tid, obj, pg + i, &v);
		if (r == 1 && v.mv_size == BPG)
			memcpy(buf + (size_t)i * BPG, v.mv_data, BPG);
		if (s->t[tid].r)
			mdb_txn_reset(s->t[tid].r);
		if (r < 0)
			return -1;
		if (r == 0 || v.mv_size != BPG)
			return bench_err("lmdb: object %u page %" PRIu64 " %s", obj, pg + i,
			                 r ? "has the wrong length" : "not found");
	}
	return 0;
}

static int lmdb_thread_done(struct store *base, unsigned tid)
{
	return lmdb_commit_thread((struct lmdb_store *)base, tid);
}

static int lmdb_sync(struct store *base)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	if (lmdb_commit_thread(s, 0) < 0)
		return -1;
	int rc = mdb_env_sync(s->env, 1);
	return rc ? lmdb_e("env_sync", rc) : 0;
}

static int lmdb_reopen(struct store *base)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	if (lmdb_sync(base) < 0)
		return -1;
	lmdb_close_env(s);
	bench_drop_caches();
	return lmdb_open_env(s);
}

static void lmdb_stats(struct store *base, struct store_stats *o)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	MDB_stat ms;
	memset(o, 0, sizeof(*o));
	o->dev_bytes = -1;
	o->user_bytes = (double)s->user_bytes;
	o->disk_bytes = (double)bench_du(s->path);
	o->index_bytes = -1;
	o->pages = -1;
	o->capacity_bytes = (double)s->mapsize;
	o->open_ns = s->open_ns;
	if (mdb_env_stat(s->env, &ms) == 0)
		o->pages = (double)ms.ms_entries;
}

static int lmdb_make_tiny(struct store *base, uint32_t first, uint32_t n)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	for (uint32_t i = first; i < first + n; i++) {
		uint64_t w = bench_mix64(i) | 1;
		if (lmdb_put(s, 0, TINY_BASE + i, 0, &w, 8) < 0)
			return -1;
	}
	return lmdb_commit_thread(s, 0);
}

static int lmdb_exists(struct store *base, uint32_t obj)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	MDB_val v;
	uint64_t w = bench_mix64(obj) | 1;
	int r = lmdb_get(s, 0, TINY_BASE + obj, 0, &v);
	if (r == 1 && (v.mv_size != 8 || memcmp(v.mv_data, &w, 8) != 0))
		r = bench_err("lmdb tiny %u reads back wrong", obj);
	if (s->t[0].r)
		mdb_txn_reset(s->t[0].r);
	return r;
}

static int lmdb_drop_range(struct store *base, uint32_t first, uint32_t n)
{
	struct lmdb_store *s = (struct lmdb_store *)base;
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t a[16], b[16];
	int rc;
	key16(a, TINY_BASE + first, 0);
	key16(b, TINY_BASE + first + n, 0);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return lmdb_e("txn_begin", rc);
	if ((rc = mdb_cursor_open(txn, s->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_e("cursor_open", rc);
	}
	MDB_val k = {16, a}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, b, 16) < 0) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_e("range delete", rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_e("commit", rc) : 0;
}

const struct store_ops bench_store_lmdb = {
    .sys = SYS_LMDB,
    .create = lmdb_create,
    .write = lmdb_write,
    .read = lmdb_read,
    .thread_done = lmdb_thread_done,
    .sync = lmdb_sync,
    .reopen = lmdb_reopen,
    .stats = lmdb_stats,
    .close = lmdb_close,
    .drop_range = lmdb_drop_range,
    .make_tiny = lmdb_make_tiny,
    .exists = lmdb_exists,
    .config = "LMDB " MDB_VERSION_STRING " (Debian): same keys and values as RocksDB; env flags "
              "MDB_NOSYNC|MDB_NORDAHEAD|MDB_NOTLS, map size 4x the data + 1 GiB, default (non-WRITEMAP) "
              "writes; "
              "256 puts per write transaction (one open write transaction per thread, LMDB's single "
              "writer lock between them); reads: a reset/renewed read transaction per thread, mdb_get + copy; "
              "sync = commit + mdb_env_sync(force=1); prefix drop = cursor walk deleting each key, one "
              "commit. 4 KiB values are overflow pages: each takes two 4 KiB LMDB pages",
};
