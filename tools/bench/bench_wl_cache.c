/*
 * bench_wl_cache.c - workload 11: the cache class (SWAPOBJ_CLASS_CACHE) as a
 * read-through cache of network-file data, against an exact LRU of the same
 * capacity on the same trace, then SWAP writes into a store full of CACHE
 * objects.
 *
 * The trace: a pure function of (round, access number), so the libswapobj
 * run and the exact-LRU run of one round replay the same accesses. Keys are
 * 0..nkeys-1, nkeys = 3x the objects the store's usable bytes hold; each key
 * is an object of --cache-obj bytes (64 KiB) named fscache/vNN/<key u64>,
 * NN = key % 16 (the "volumes"). An access picks a key by Zipf(alpha 0.9)
 * rank, ranks mapped to keys by a seeded permutation. 1% of accesses bump
 * the key's data version instead (a miss and a fresh fill on both sides);
 * after every nmeas/50-th access one volume is invalidated (all its keys
 * dropped on both sides). The first 2 x nkeys accesses warm the cache up
 * (an LRU of the run level's size is full after about 0.75 x nkeys of them:
 * the rest lets eviction and cleaning reach their steady state) and are not
 * counted; the next --cache-accesses (default 3 x nkeys) are measured.
 *
 * libswapobj: a read opens the key as a CACHE object without CREATE; a hit
 * is an open that succeeds and a read of the whole object whose bytes (a
 * stream derived from (key, version)) all compare equal. ENOENT, ESTALE or
 * a short read is a miss, and the miss fetches: create (CACHE, the key's
 * version) and write the whole object. A write refused with ECACHEFULL, or
 * cut short by ENOSPC, leaves nothing cached: the object is deleted and the
 * refusal counted. Wrong bytes fail the run.
 *
 * The exact LRU: whole objects, the least recently used evicted first, with
 * a capacity of (usable_bytes - cache_run_bytes) / (live bytes of one
 * object): the most the store keeps after each culling pass. Keys are dense
 * integers, so its "hash map" is an array indexed by key and its list two
 * arrays of links: O(1) per access. It replays the warm-up too.
 *
 * Then, libswapobj only: SWAP objects worth 70% of usable written into the
 * store the trace left (default levels), and again into a fresh store full
 * of CACHE objects opened with levels 2/1/0 (cache_tight); SWAP writes must
 * not fail, and every SWAP byte and every CACHE object left is verified.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

#define CACHE_ALPHA 0.9
#define CACHE_VOLUMES 16u
#define CACHE_KEYS_PER_CAPACITY 3u /* key space / objects the usable bytes hold */
#define CACHE_BUMP_PER_MILLE 10u   /* 1% of accesses bump the data version */
#define CACHE_INVALS 50u           /* volume invalidations per measured part */
#define CACHE_FILL_SAMPLE 64u      /* measured accesses between two samples of the fill level */
#define CACHE_MIXED_SWAP_PCT 70u   /* mixed phase: SWAP bytes written, % of usable */
#define CACHE_STORE_MIN (32ull << 20)

/* The store every run formats, and what one object costs in it (cache_probe). */
struct cache_geom {
	uint64_t store_bytes, usable, run_bytes, cull_bytes, obj_live;
	uint32_t segment, nkeys;
	uint64_t nwarm, nmeas, inval_every;
};

static uint64_t cache_store_bytes(void)
{
	return cfg.size < CACHE_STORE_MIN ? CACHE_STORE_MIN : cfg.size;
}

static int cache_so_err(const char *what, int err)
{
	const char *m = swapobj_errmsg();
	return bench_err("libswapobj %s: %s (%s)", what, m && *m ? m : swapobj_strerror(err), swapobj_strerror(err));
}

static void cache_key(swapobj_key *k, uint32_t key)
{
	char vol[8];
	uint8_t cookie[8];
	snprintf(vol, sizeof(vol), "v%02u", key % CACHE_VOLUMES);
	for (int i = 0; i < 8; i++)
		cookie[i] = (uint8_t)((uint64_t)key >> (56 - 8 * i));
	swapobj_key_fscache(k, vol, strlen(vol), cookie, sizeof(cookie));
}

/* The bytes object `id` holds at version ver: a xorshift stream, no zero or repeated-word pages. */
static void cache_content(uint8_t *buf, size_t len, uint64_t id, uint64_t ver)
{
	uint64_t x = bench_mix64((id << 24) ^ ver ^ 0xcac4e5eedull) | 1;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t w = x * 0x2545f4914f6cdd1dull;
		memcpy(buf + i, &w, 8);
	}
}

/*
 * Format a scratch store as the runs do, read its usable bytes and culling
 * levels, and measure the live bytes one object of the trace takes (its
 * data records and its name).
 */
static int cache_probe(const char *dir, struct cache_geom *g)
{
	char *path = NULL;
	uint8_t *buf = NULL;
	swapobj_store *st = NULL;
	swapobj_obj *h = NULL;
	int rc = -1, err;
	memset(g, 0, sizeof(*g));
	g->store_bytes = cache_store_bytes();
	g->segment = bench_cleaning_segment(g->store_bytes, cfg.segment);
	if (asprintf(&path, "%s/probe.img", dir) < 0) {
		path = NULL;
		bench_err("out of memory");
		goto done;
	}
	buf = bench_alloc_aligned(cfg.cache_obj);
	if (!buf) {
		bench_err("out of memory");
		goto done;
	}
	const char *paths[1] = {path};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	struct swapobj_store_stat s0, s1;
	swapobj_key k;
	fo.size = g->store_bytes;
	fo.segment_size = g->segment;
	fo.layout = cfg.layout;
	if ((err = swapobj_format(paths, 1, &fo)) < 0 || (err = swapobj_store_open(&st, paths, 1, NULL)) < 0) {
		cache_so_err("probe store", err);
		goto done;
	}
	swapobj_store_stat(&s0, sizeof(s0), st);
	cache_key(&k, 0);
	oo.flags = SWAPOBJ_O_CREATE;
	oo.cls = SWAPOBJ_CLASS_CACHE;
	oo.data_version = 1;
	if ((err = swapobj_obj_open(&h, st, &k, &oo)) < 0) {
		cache_so_err("probe object", err);
		goto done;
	}
	cache_content(buf, cfg.cache_obj, 0, 1);
	int64_t w = swapobj_obj_write(h, buf, cfg.cache_obj, 0);
	if (w != (int64_t)cfg.cache_obj) {
		cache_so_err("probe write", w < 0 ? (int)w : SWAPOBJ_EIO);
		goto done;
	}
	swapobj_store_stat(&s1, sizeof(s1), st);
	g->usable = s0.usable_bytes;
	g->run_bytes = s0.cache_run_bytes;
	g->cull_bytes = s0.cache_cull_bytes;
	g->obj_live = s1.live_bytes - s0.live_bytes;
	if (!g->obj_live || g->usable <= g->run_bytes || g->usable / g->obj_live < 16) {
		bench_err("a %" PRIu64 "-byte store holds too few %" PRIu64 "-byte objects (usable %" PRIu64
		          " bytes, one object %" PRIu64 " live bytes)",
		          g->store_bytes, cfg.cache_obj, g->usable, g->obj_live);
		goto done;
	}
	g->nkeys = (uint32_t)(g->usable / g->obj_live * CACHE_KEYS_PER_CAPACITY);
	g->nwarm = 2ull * g->nkeys;
	g->nmeas = cfg.cache_accesses ? cfg.cache_accesses : 3ull * g->nkeys;
	g->inval_every = g->nmeas / CACHE_INVALS ? g->nmeas / CACHE_INVALS : 1;
	rc = 0;
done:
	if (h)
		swapobj_obj_close(h);
	if (st)
		swapobj_store_close(st);
	if (path)
		unlink(path);
	free(path);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The trace                                                                 */
/* ------------------------------------------------------------------------ */

struct cache_trace {
	double *cdf; /* cdf[r]: sum of the Zipf weights of ranks 0..r */
	uint32_t *rank_key;
	uint32_t nkeys;
	uint64_t seed, inval_every;
};

enum cache_op { OP_READ, OP_BUMP };

static int trace_init(struct cache_trace *t, const struct cache_geom *g, int round)
{
	t->nkeys = g->nkeys;
	t->seed = 0xcac4e000ull + (uint64_t)(round + 1000);
	t->inval_every = g->inval_every;
	t->cdf = malloc(g->nkeys * sizeof(*t->cdf));
	t->rank_key = bench_perm(g->nkeys, t->seed);
	if (!t->cdf || !t->rank_key)
		return bench_err("out of memory");
	double sum = 0;
	for (uint32_t r = 0; r < g->nkeys; r++) {
		sum += 1.0 / pow((double)r + 1, CACHE_ALPHA);
		t->cdf[r] = sum;
	}
	return 0;
}

static void trace_free(struct cache_trace *t)
{
	free(t->cdf);
	free(t->rank_key);
}

/* Access i: the key and what to do with it. */
static enum cache_op trace_at(const struct cache_trace *t, uint64_t i, uint32_t *key)
{
	uint64_t h = bench_mix64(t->seed * 0x9e3779b97f4a7c15ull + i);
	double u = (double)(h >> 11) / 9007199254740992.0 * t->cdf[t->nkeys - 1];
	uint32_t lo = 0, hi = t->nkeys - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->cdf[mid] <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	*key = t->rank_key[lo];
	return bench_mix64(h ^ 0xb0b0b0b0ull) % 1000 < CACHE_BUMP_PER_MILLE ? OP_BUMP : OP_READ;
}

/* The volume invalidated after access i, or -1. */
static int trace_inval(const struct cache_trace *t, uint64_t i)
{
	if ((i + 1) % t->inval_every)
		return -1;
	return (int)(bench_mix64(t->seed ^ (i << 8) ^ 0x1a7a1dull) % CACHE_VOLUMES);
}

/* ------------------------------------------------------------------------ */
/* The exact LRU                                                             */
/* ------------------------------------------------------------------------ */

#define LRU_NIL UINT32_MAX

struct lru {
	uint32_t *prev, *next; /* by key; head = most recent */
	uint8_t *in;
	uint32_t head, tail, n, cap, nkeys;
};

static int lru_init(struct lru *l, uint32_t nkeys, uint32_t cap)
{
	memset(l, 0, sizeof(*l));
	l->prev = malloc(nkeys * sizeof(*l->prev));
	l->next = malloc(nkeys * sizeof(*l->next));
	l->in = calloc(nkeys, 1);
	l->head = l->tail = LRU_NIL;
	l->cap = cap;
	l->nkeys = nkeys;
	return l->prev && l->next && l->in ? 0 : bench_err("out of memory");
}

static void lru_free(struct lru *l)
{
	free(l->prev);
	free(l->next);
	free(l->in);
}

static void lru_unlink(struct lru *l, uint32_t k)
{
	if (l->prev[k] != LRU_NIL)
		l->next[l->prev[k]] = l->next[k];
	else
		l->head = l->next[k];
	if (l->next[k] != LRU_NIL)
		l->prev[l->next[k]] = l->prev[k];
	else
		l->tail = l->prev[k];
	l->in[k] = 0;
	l->n--;
}

static void lru_push(struct lru *l, uint32_t k)
{
	l->prev[k] = LRU_NIL;
	l->next[k] = l->head;
	if (l->head != LRU_NIL)
		l->prev[l->head] = k;
	else
		l->tail = k;
	l->head = k;
	l->in[k] = 1;
	l->n++;
}

/* One access: 1 hit, 0 miss (the key is then inserted, the least recent evicted). */
static int lru_access(struct lru *l, uint32_t k, enum cache_op op)
{
	int hit = l->in[k] && op == OP_READ;
	if (l->in[k])
		lru_unlink(l, k);
	while (l->n >= l->cap)
		lru_unlink(l, l->tail);
	lru_push(l, k);
	return hit;
}

/* A volume invalidated: every key of it dropped. */
static void lru_drop_volume(struct lru *l, uint32_t vol)
{
	for (uint32_t k = vol; k < l->nkeys; k += CACHE_VOLUMES)
		if (l->in[k])
			lru_unlink(l, k);
}

/* The exact-LRU column: the same trace through an LRU at the run level's capacity and one at the cull level's. */
static int run_cache_lru(struct run_ctx *x, struct run_result *r)
{
	struct cache_geom g;
	struct cache_trace t;
	struct lru at_run, at_cull;
	int rc = -1;
	memset(&t, 0, sizeof(t));
	memset(&at_run, 0, sizeof(at_run));
	memset(&at_cull, 0, sizeof(at_cull));
	if (cache_probe(x->dir, &g) < 0)
		return -1;
	uint32_t cap_run = (uint32_t)((g.usable - g.run_bytes) / g.obj_live);
	uint32_t cap_cull = (uint32_t)((g.usable - g.cull_bytes) / g.obj_live);
	if (trace_init(&t, &g, x->round) < 0 || lru_init(&at_run, g.nkeys, cap_run) < 0 ||
	    lru_init(&at_cull, g.nkeys, cap_cull) < 0)
		goto done;
	uint64_t hits_run = 0, hits_cull = 0, nsamp = 0;
	double objs_sum = 0;
	for (uint64_t i = 0; i < g.nwarm + g.nmeas; i++) {
		uint32_t k;
		enum cache_op op = trace_at(&t, i, &k);
		int h1 = lru_access(&at_run, k, op), h2 = lru_access(&at_cull, k, op);
		if (i >= g.nwarm) {
			hits_run += (uint64_t)h1;
			hits_cull += (uint64_t)h2;
			if ((i - g.nwarm) % CACHE_FILL_SAMPLE == 0) { /* sampled as libswapobj's run samples */
				objs_sum += at_run.n;
				nsamp++;
			}
		}
		int v = trace_inval(&t, i);
		if (v >= 0) {
			lru_drop_volume(&at_run, (uint32_t)v);
			lru_drop_volume(&at_cull, (uint32_t)v);
		}
	}
	double objs = objs_sum / (double)(nsamp ? nsamp : 1);
	rr_set(r, "ca_hit", (double)hits_run / (double)g.nmeas);
	rr_set(r, "ca_lru_cull_hit", (double)hits_cull / (double)g.nmeas);
	rr_set(r, "ca_cap_objs", cap_run);
	rr_set(r, "ca_cap_pct", (double)cap_run * (double)g.obj_live / (double)g.usable * 100);
	rr_set(r, "ca_objs", objs);
	rr_set(r, "ca_fill", objs * (double)g.obj_live / (double)g.usable * 100);
	rr_set(r, "ca_keys", g.nkeys);
	rr_set(r, "ca_accesses", (double)g.nmeas);
	rc = 0;
done:
	trace_free(&t);
	lru_free(&at_run);
	lru_free(&at_cull);
	return rc;
}

/* libswapobj's side of one run. */
struct cache_lib {
	swapobj_store *st;
	struct run_result *r;
	uint8_t *buf, *want;
	uint32_t *ver; /* data version of each key (from 1) */
	uint64_t refused, enospc, lost, short_reads;
};

/* Look key k up: 1 hit (every byte verified), 0 miss, -1 error or wrong data. *ns: open to close. */
static int cache_get(struct cache_lib *c, uint32_t k, uint64_t *ns)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key key;
	swapobj_obj *h;
	cache_key(&key, k);
	oo.cls = SWAPOBJ_CLASS_CACHE;
	oo.data_version = c->ver[k];
	uint64_t a = bench_now_ns();
	int err = swapobj_obj_open(&h, c->st, &key, &oo);
	if (err == SWAPOBJ_ENOENT || err == SWAPOBJ_ESTALE)
		return 0;
	if (err < 0)
		return cache_so_err("open cache object", err);
	int64_t n = swapobj_obj_read(h, c->buf, cfg.cache_obj, 0, 0);
	swapobj_obj_close(h);
	*ns = bench_now_ns() - a;
	if (n == SWAPOBJ_ESTALE) /* evicted between the open and the read */
		return 0;
	if (n < 0)
		return cache_so_err("read cache object", (int)n);
	if (n < (int64_t)cfg.cache_obj) {
		c->short_reads++;
		return 0;
	}
	cache_content(c->want, cfg.cache_obj, k, c->ver[k]);
	c->r->verified += cfg.cache_obj / BPG;
	if (memcmp(c->buf, c->want, cfg.cache_obj) != 0) {
		size_t off = 0;
		while (c->buf[off] == c->want[off])
			off++;
		rr_fail(c->r,
		        "VERIFICATION FAILED: libswapobj returned wrong data for cache key %u version %u: first "
		        "difference at byte %zu",
		        k, c->ver[k], off);
		return -1;
	}
	return 1;
}

/* Fetch key k into the cache: create it at its version and write it whole; a refused write caches nothing. */
static int cache_put(struct cache_lib *c, uint32_t k)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key key;
	swapobj_obj *h;
	cache_key(&key, k);
	oo.flags = SWAPOBJ_O_CREATE;
	oo.cls = SWAPOBJ_CLASS_CACHE;
	oo.data_version = c->ver[k];
	int err = swapobj_obj_open(&h, c->st, &key, &oo);
	if (err == SWAPOBJ_ECACHEFULL) {
		c->refused++;
		return 0;
	}
	if (err == SWAPOBJ_ENOSPC) {
		c->enospc++;
		return 0;
	}
	if (err < 0)
		return cache_so_err("create cache object", err);
	cache_content(c->buf, cfg.cache_obj, k, c->ver[k]);
	int64_t w = swapobj_obj_write(h, c->buf, cfg.cache_obj, 0);
	int rc = 0;
	if (w != (int64_t)cfg.cache_obj) {
		if (w == SWAPOBJ_ECACHEFULL)
			c->refused++;
		else if (w == SWAPOBJ_ENOSPC || w >= 0)
			c->enospc++;
		else if (w == SWAPOBJ_ESTALE)
			c->lost++;
		else
			rc = cache_so_err("write cache object", (int)w);
		/* Not cached: no empty or partial object is left behind. */
		int d = swapobj_obj_delete(h);
		if (rc == 0 && d < 0 && d != SWAPOBJ_ESTALE)
			rc = cache_so_err("delete a refused cache object", d);
	}
	swapobj_obj_close(h);
	return rc;
}

static int cache_invalidate(struct cache_lib *c, uint32_t vol)
{
	swapobj_key key, pre;
	cache_key(&key, vol);
	swapobj_key_prefix(&pre, &key, 2);
	int err = swapobj_invalidate(c->st, &pre);
	return err < 0 && err != SWAPOBJ_ENOENT ? cache_so_err("invalidate a volume", err) : 0;
}

/* The result key pre_name in buf. */
static const char *mkey(char buf[RR_KEY], const char *pre, const char *name)
{
	snprintf(buf, RR_KEY, "%s_%s", pre, name);
	return buf;
}

/*
 * The mixed phase, on the store the trace left full of CACHE objects: SWAP
 * objects worth 70% of the usable bytes written one after the other (each
 * failed write counted), synced, then every SWAP byte read back and every
 * CACHE object still there read and verified.
 */
static int cache_mixed(struct cache_lib *c, const struct cache_geom *g, const char *pre)
{
	char kk[RR_KEY];
	struct run_result *r = c->r;
	struct swapobj_store_stat m0, m1;
	uint64_t nswap = g->usable * CACHE_MIXED_SWAP_PCT / 100 / g->obj_live, failed = 0, nlat = 0;
	uint32_t *lat = malloc((nswap ? nswap : 1) * sizeof(*lat));
	uint8_t *ok = calloc(nswap ? nswap : 1, 1);
	char first[300] = "";
	int rc = -1;
	if (!lat || !ok) {
		bench_err("out of memory");
		goto done;
	}
	swapobj_store_stat(&m0, sizeof(m0), c->st);
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < nswap && !interrupted; i++) {
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		swapobj_key key;
		swapobj_obj *h;
		swapobj_key_anon(&key, 3, i);
		oo.flags = SWAPOBJ_O_CREATE;
		cache_content(c->buf, cfg.cache_obj, (1ull << 32) + i, 0);
		uint64_t a = bench_now_ns();
		int err = swapobj_obj_open(&h, c->st, &key, &oo);
		int64_t w = err < 0 ? err : swapobj_obj_write(h, c->buf, cfg.cache_obj, 0);
		lat[nlat++] = (uint32_t)(bench_now_ns() - a);
		if (err == 0)
			swapobj_obj_close(h);
		if (w == (int64_t)cfg.cache_obj) {
			ok[i] = 1;
			continue;
		}
		if (!failed)
			snprintf(first, sizeof(first), "SWAP object %" PRIu64 ": %s returned %" PRId64 " (%s)", i,
			         err < 0 ? "create" : "write", w, swapobj_errmsg());
		failed++;
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	int err = swapobj_store_sync(c->st);
	if (err < 0) {
		cache_so_err("sync", err);
		goto done;
	}
	swapobj_store_stat(&m1, sizeof(m1), c->st);
	rr_set(r, mkey(kk, pre, "swap_fail"), (double)failed);
	rr_set(r, mkey(kk, pre, "swap_mbps"),
	       (double)(nswap - failed) * (double)cfg.cache_obj / (secs > 0 ? secs : 1e-9) / 1e6);
	rr_set(r, mkey(kk, pre, "swap_pct"), (double)m1.live_swap_bytes / (double)m1.usable_bytes * 100);
	rr_set(r, mkey(kk, pre, "cache_pct"), (double)m1.live_cache_bytes / (double)m1.usable_bytes * 100);
	rr_set(r, mkey(kk, pre, "cache_pct0"), (double)m0.live_cache_bytes / (double)m0.usable_bytes * 100);
	rr_set(r, mkey(kk, pre, "evict_thr"),
	       (double)(m1.evicted_objects[SWAPOBJ_EVICT_THRESHOLD] - m0.evicted_objects[SWAPOBJ_EVICT_THRESHOLD]));
	rr_set(r, mkey(kk, pre, "evict_swap"),
	       (double)(m1.evicted_objects[SWAPOBJ_EVICT_SWAP] - m0.evicted_objects[SWAPOBJ_EVICT_SWAP]));
	rr_latency(r, mkey(kk, pre, "w"), lat, nlat);
	if (failed)
		fprintf(stderr,
		        "%s: cache (%s): %" PRIu64 " SWAP writes failed with CACHE data in the store; first: %s\n",
		        prog, pre, failed, first);
	/* Every SWAP byte written reads back. */
	for (uint64_t i = 0; i < nswap && !interrupted; i++) {
		if (!ok[i])
			continue;
		swapobj_key key;
		swapobj_obj *h;
		swapobj_key_anon(&key, 3, i);
		if ((err = swapobj_obj_open(&h, c->st, &key, NULL)) < 0) {
			rr_fail(r, "VERIFICATION FAILED: libswapobj lost SWAP object %" PRIu64 " (open: %s)", i,
			        swapobj_strerror(err));
			goto done;
		}
		int64_t n = swapobj_obj_read(h, c->buf, cfg.cache_obj, 0, 0);
		swapobj_obj_close(h);
		cache_content(c->want, cfg.cache_obj, (1ull << 32) + i, 0);
		r->verified += cfg.cache_obj / BPG;
		if (n != (int64_t)cfg.cache_obj || memcmp(c->buf, c->want, cfg.cache_obj) != 0) {
			rr_fail(r, "VERIFICATION FAILED: libswapobj SWAP object %" PRIu64 " reads back %s", i,
			        n < 0                         ? swapobj_strerror((int)n)
			        : n != (int64_t)cfg.cache_obj ? "short"
			                                      : "wrong");
			goto done;
		}
	}
	/* The CACHE objects that stayed are whole and right. */
	uint64_t left = 0;
	for (uint32_t k = 0; k < g->nkeys && !interrupted; k++) {
		uint64_t ns;
		int e = cache_get(c, k, &ns);
		if (e < 0)
			goto done;
		left += (uint64_t)e;
	}
	rr_set(r, mkey(kk, pre, "cache_left"), (double)left);
	rc = 0;
done:
	free(lat);
	free(ok);
	return rc;
}

/*
 * The mixed phase again on a fresh store whose levels leave the culler no
 * slack (run 2%, cull 1%, stop 0%): filled with CACHE objects worth its
 * usable bytes, then the same SWAP writes. With the default levels the
 * background culler keeps ahead of SWAP writes; here they find the store
 * full and must evict for themselves (SWAPOBJ_EVICT_SWAP).
 */
static int cache_tight(struct cache_lib *c, const struct cache_geom *g, const char *dir)
{
	char *path = NULL;
	swapobj_store *main_st = c->st;
	int rc = -1, err;
	if (asprintf(&path, "%s/tight.img", dir) < 0) {
		path = NULL;
		return bench_err("out of memory");
	}
	const char *paths[1] = {path};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	fo.size = g->store_bytes;
	fo.segment_size = g->segment;
	fo.layout = cfg.layout;
	oo.cache_run = 2;
	oo.cache_cull = 1;
	oo.cache_stop = 0;
	c->st = NULL;
	if ((err = swapobj_format(paths, 1, &fo)) < 0 || (err = swapobj_store_open(&c->st, paths, 1, &oo)) < 0) {
		cache_so_err("format and open (tight levels)", err);
		goto done;
	}
	for (uint32_t k = 0; k < g->nkeys; k++)
		c->ver[k] = 1;
	uint64_t nfill = g->usable / g->obj_live;
	for (uint64_t k = 0; k < nfill && k < g->nkeys && !interrupted; k++)
		if (cache_put(c, (uint32_t)k) < 0)
			goto done;
	rc = cache_mixed(c, g, "mt");
done:
	if (c->st) {
		swapobj_store_close(c->st);
		unlink(path);
	}
	c->st = main_st;
	free(path);
	return rc;
}

static int run_cache_lib(struct run_ctx *x, struct run_result *r)
{
	struct cache_geom g;
	struct cache_trace t;
	struct cache_lib c;
	struct swapobj_store_stat s0, s1, sm;
	char *path = NULL;
	uint32_t *lat = NULL;
	int rc = -1, err;
	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	c.r = r;
	if (cache_probe(x->dir, &g) < 0)
		return -1;
	if (asprintf(&path, "%s/store.img", x->dir) < 0) {
		path = NULL;
		bench_err("out of memory");
		goto done;
	}
	c.buf = bench_alloc_aligned(cfg.cache_obj);
	c.want = bench_alloc_aligned(cfg.cache_obj);
	c.ver = malloc(g.nkeys * sizeof(*c.ver));
	lat = malloc(g.nmeas * sizeof(*lat));
	if (!c.buf || !c.want || !c.ver || !lat) {
		bench_err("out of memory");
		goto done;
	}
	for (uint32_t k = 0; k < g.nkeys; k++)
		c.ver[k] = 1;
	if (trace_init(&t, &g, x->round) < 0)
		goto done;
	const char *paths[1] = {path};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = g.store_bytes;
	fo.segment_size = g.segment;
	fo.layout = cfg.layout;
	if ((err = swapobj_format(paths, 1, &fo)) < 0 || (err = swapobj_store_open(&c.st, paths, 1, NULL)) < 0) {
		cache_so_err("format and open", err);
		goto done;
	}
	uint64_t hits = 0, nlat = 0, t0 = 0, nsamp = 0, refused0 = 0, enospc0 = 0, lost0 = 0, short0 = 0;
	double fill_sum = 0, fill_min = 1e9, fill_max = 0, objs_sum = 0;
	for (uint64_t i = 0; i < g.nwarm + g.nmeas && !interrupted; i++) {
		bool meas = i >= g.nwarm;
		if (i == g.nwarm) {
			if ((err = swapobj_store_sync(c.st)) < 0) {
				cache_so_err("sync", err);
				goto done;
			}
			swapobj_store_stat(&s0, sizeof(s0), c.st);
			refused0 = c.refused;
			enospc0 = c.enospc;
			lost0 = c.lost;
			short0 = c.short_reads;
			t0 = bench_now_ns();
		}
		uint32_t k;
		enum cache_op op = trace_at(&t, i, &k);
		int hit = 0;
		if (op == OP_BUMP) {
			c.ver[k]++;
		} else {
			uint64_t ns = 0;
			if ((hit = cache_get(&c, k, &ns)) < 0)
				goto done;
			if (hit && meas)
				lat[nlat++] = (uint32_t)(ns < UINT32_MAX ? ns : UINT32_MAX);
		}
		if (!hit && cache_put(&c, k) < 0)
			goto done;
		if (meas) {
			hits += (uint64_t)hit;
			if ((i - g.nwarm) % CACHE_FILL_SAMPLE == 0) {
				swapobj_store_stat(&sm, sizeof(sm), c.st);
				double f = (double)sm.live_bytes / (double)sm.usable_bytes * 100;
				fill_sum += f;
				fill_min = f < fill_min ? f : fill_min;
				fill_max = f > fill_max ? f : fill_max;
				objs_sum += (double)sm.objects;
				nsamp++;
			}
		}
		int v = trace_inval(&t, i);
		if (v >= 0 && cache_invalidate(&c, (uint32_t)v) < 0)
			goto done;
	}
	if (interrupted)
		goto done;
	if ((err = swapobj_store_sync(c.st)) < 0) {
		cache_so_err("sync", err);
		goto done;
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	swapobj_store_stat(&s1, sizeof(s1), c.st);
	double user = (double)(s1.user_bytes_written - s0.user_bytes_written);
	rr_set(r, "ca_hit", (double)hits / (double)g.nmeas);
	rr_set(r, "ca_apps", (double)g.nmeas / secs);
	if (user > 0)
		rr_set(r, "ca_wa", (double)(s1.device_bytes_written - s0.device_bytes_written) / user);
	rr_set(r, "ca_user_mib", user / (1 << 20));
	if (user > 0) /* what the cleaner copied: eviction leaves live objects scattered among dead ones */
		rr_set(r, "ca_reloc", (double)(s1.bytes_relocated - s0.bytes_relocated) / user);
	rr_set(r, "ca_ckpts", (double)(s1.checkpoints_written - s0.checkpoints_written));
	if (nsamp) {
		rr_set(r, "ca_fill", fill_sum / (double)nsamp);
		rr_set(r, "ca_fill_min", fill_min);
		rr_set(r, "ca_fill_max", fill_max);
		rr_set(r, "ca_objs", objs_sum / (double)nsamp);
	}
	if (s1.objects)
		rr_set(r, "ca_index_bpo", (double)(s1.index_bytes - s1.page_check_bytes) / (double)s1.objects);
	rr_set(r, "ca_evict_thr",
	       (double)(s1.evicted_objects[SWAPOBJ_EVICT_THRESHOLD] - s0.evicted_objects[SWAPOBJ_EVICT_THRESHOLD]));
	rr_set(r, "ca_evict_swap",
	       (double)(s1.evicted_objects[SWAPOBJ_EVICT_SWAP] - s0.evicted_objects[SWAPOBJ_EVICT_SWAP]));
	rr_set(r, "ca_evict_cleaner",
	       (double)(s1.evicted_objects[SWAPOBJ_EVICT_CLEANER] - s0.evicted_objects[SWAPOBJ_EVICT_CLEANER]));
	rr_set(r, "ca_refused", (double)(c.refused - refused0));
	rr_set(r, "ca_refused_lib", (double)(s1.cache_writes_refused - s0.cache_writes_refused));
	rr_set(r, "ca_enospc", (double)(c.enospc - enospc0));
	rr_set(r, "ca_lost", (double)(c.lost - lost0));
	rr_set(r, "ca_short", (double)(c.short_reads - short0));
	rr_set(r, "ca_keys", g.nkeys);
	rr_set(r, "ca_accesses", (double)g.nmeas);
	rr_set(r, "ca_usable_pct", (double)s1.usable_bytes / (double)s1.capacity_bytes * 100);
	rr_latency(r, "ca_hit", lat, nlat);
	if (cache_mixed(&c, &g, "mx") < 0 || cache_tight(&c, &g, x->dir) < 0)
		goto done;
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	rr_set(r, "rss_mib", (double)(hwm - x->rss0) / (1 << 20));
	rc = 0;
done:
	if (c.st)
		swapobj_store_close(c.st);
	trace_free(&t);
	free(path);
	free(c.buf);
	free(c.want);
	free(c.ver);
	free(lat);
	return rc;
}

static int run_cache(struct run_ctx *x, struct run_result *r)
{
	return x->sys == SYS_LRU ? run_cache_lru(x, r) : run_cache_lib(x, r);
}

static void cache_detail(char *buf, size_t len)
{
	char b[32], o[32];
	uint64_t sz = cache_store_bytes();
	snprintf(buf, len,
	         "a %s store of %s CACHE objects (fscache/<16 volumes>/<key>), default levels run 10%%/cull "
	         "7%%/stop 3%%; key space 3x what usable holds, Zipf 0.9 reads, 1%% version bumps, one volume "
	         "invalidated every 1/50 of the measured part; warm-up = 2x the key space, measured = %s; "
	         "exact LRU sized to usable - run level; then SWAP objects worth 70%% of usable, every byte "
	         "read back",
	         tool_human(sz, b, sizeof(b)), tool_human(cfg.cache_obj, o, sizeof(o)),
	         cfg.cache_accesses ? "--cache-accesses" : "3x the key space");
}

const struct bench_wl bench_wl_cache = {
    .name = "cache",
    .title = "11. cache class",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_LRU),
    .run = run_cache,
    .detail = cache_detail,
};
