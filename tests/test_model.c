/*
 * test_model.c - randomized tests against a plain in-memory model.
 *
 * model: thousands of random operations (write, read, punch, truncate,
 *   delete, prefix invalidation, data-version bump, sync, cleaning, reopen,
 *   and the file-system calls: rename, aux data, directory objects)
 *   on many objects of a small store, so the cleaner runs under churn; every
 *   read is compared byte for byte with the model, and at the end (and after
 *   every reopen) every object is read back whole.
 * cull: the same with cache culling busy (levels that evict early, manual
 *   cleaning so that evictions happen only in the calls that may make
 *   them): a CACHE object may vanish at any such point (its handle then
 *   says ESTALE, its key ENOENT: the model drops it), a CACHE write may be
 *   refused (ECACHEFULL: nothing written), never a wrong byte; SWAP
 *   objects never vanish and SWAP writes never fail.
 * threads: writers and readers on different and on the same objects, with
 *   a namespace-churning thread alongside; readers check that every page
 *   they see is some version its writer wrote, and the end state is exact.
 *
 * SWAPOBJ_SEED=N picks the seed (printed on failure); SWAPOBJ_LONG=1 runs
 * about 20 times more operations.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_types.h"
#include "swapobj.h"
#include "testutil.h"

#define PG 4096u
#define NOWNERS 4
#define NVMAS 6
#define NOBJ (NOWNERS * NVMAS)
#define MAXPAGES 80u
#define MAXSIZE (MAXPAGES * PG)
#define SO_MIN_(a, b) ((a) < (b) ? (a) : (b))
#define SO_ROUND_DOWN_(x, a) (((x) / (a)) * (a))

struct mobj {
	int exists;
	int cache; /* of class CACHE (set at creation by the key's owner; a rename carries it along) */
	uint64_t version;
	uint64_t size;
	uint8_t *data; /* MAXSIZE bytes; beyond size always zero */
	swapobj_obj *h;
	uint32_t aux_len;
	uint8_t aux[SWAPOBJ_AUX_MAX];
};

/* Directory objects at the owners' prefixes. */
struct mdir {
	int exists;
	uint32_t aux_len;
	uint8_t aux[64];
};

static uint64_t seed;
static struct mobj model[NOBJ];
static struct mdir dirs[NOWNERS];
static swapobj_store *st;
static uint8_t scratch[MAXSIZE], scratch2[MAXSIZE];

static void key_of(int i, swapobj_key *k)
{
	/* odd owners hold fscache-like objects (versioned), even ones anon objects */
	int owner = i / NVMAS, vma = i % NVMAS;
	if (owner % 2 == 0) {
		swapobj_key_anon(k, (uint64_t)owner, (uint64_t)vma);
	} else {
		char vol[16], cookie[16];
		snprintf(vol, sizeof(vol), "vol%d", owner);
		snprintf(cookie, sizeof(cookie), "c%d", vma);
		swapobj_key_fscache(k, vol, strlen(vol), cookie, strlen(cookie));
	}
}

static void owner_prefix(int owner, swapobj_key *p)
{
	swapobj_key k;
	key_of(owner * NVMAS, &k);
	swapobj_key_prefix(p, &k, 2);
}

#define MCHECK(cond, ...)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			char msg_[512];                                                                                \
			snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                     \
			ck_abort_msg("seed %llu op %llu: %s (%s)", (unsigned long long)seed, (unsigned long long)op,   \
			             msg_, swapobj_errmsg());                                                          \
		}                                                                                                      \
	} while (0)

static uint64_t op;
static bool cull_mode; /* cache culling busy (run_model's cull) */

/* The class objects created at key i get: odd owners hold fscache-like objects. */
static bool is_cache(int i)
{
	return (i / NVMAS) % 2 == 1;
}

/*
 * In cull mode: did err say CACHE object i was evicted? Then the model
 * drops it too (its handle is closed) and the caller skips the operation.
 */
static bool evicted(int i, int64_t err)
{
	if (!cull_mode || !model[i].cache || (err != SWAPOBJ_ESTALE && err != SWAPOBJ_ENOENT))
		return false;
	if (model[i].h)
		swapobj_obj_close(model[i].h);
	model[i].h = NULL;
	model[i].exists = 0;
	return true;
}

/* The open options of a session: cull mode's levels and manual cleaning. */
static struct swapobj_open_opts session_opts(void)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	if (cull_mode) {
		oo.flags |= SWAPOBJ_OPEN_MANUAL_CLEAN;
		oo.cache_run = 99; /* of 26.9 MiB usable: culling from 0.8 MiB live, CACHE writes refused from 1.9 */
		oo.cache_cull = 97;
		oo.cache_stop = 93;
	}
	return oo;
}

static void open_handle(int i, int create)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key k;
	key_of(i, &k);
	oo.flags = create ? SWAPOBJ_O_CREATE : 0;
	oo.data_version = model[i].version;
	oo.cls = is_cache(i) ? SWAPOBJ_CLASS_CACHE : SWAPOBJ_CLASS_SWAP;
	int err = swapobj_obj_open(&model[i].h, st, &k, &oo);
	MCHECK(err == 0 || (!create && evicted(i, err)), "open object %d (create %d)", i, create);
}

static void close_all(void)
{
	for (int i = 0; i < NOBJ; i++)
		if (model[i].h) {
			swapobj_obj_close(model[i].h);
			model[i].h = NULL;
		}
}

static void verify_obj(int i)
{
	struct swapobj_obj_stat os;
	int err = swapobj_obj_stat(&os, sizeof(os), model[i].h);
	if (evicted(i, err))
		return;
	MCHECK(err == 0, "stat %d", i);
	MCHECK(os.size == model[i].size, "object %d size %llu, model %llu", i, (unsigned long long)os.size,
	       (unsigned long long)model[i].size);
	MCHECK(os.data_version == model[i].version, "object %d version", i);
	int64_t n = swapobj_obj_read(model[i].h, scratch, MAXSIZE, 0, 0);
	MCHECK(n == (int64_t)model[i].size, "object %d read %lld of %llu", i, (long long)n,
	       (unsigned long long)model[i].size);
	for (uint64_t b = 0; b < model[i].size; b++)
		MCHECK(scratch[b] == model[i].data[b], "object %d byte %llu: %u != model %u", i, (unsigned long long)b,
		       scratch[b], model[i].data[b]);
	n = swapobj_obj_get_aux(model[i].h, scratch, SWAPOBJ_AUX_MAX);
	MCHECK(n == (int64_t)model[i].aux_len && memcmp(scratch, model[i].aux, model[i].aux_len) == 0,
	       "object %d aux (%lld bytes, model %u)", i, (long long)n, model[i].aux_len);
}

/* Open the directory object at an owner's prefix (flags: 0, or O_CREATE for mkdir). */
static int open_dir(int owner, unsigned flags, swapobj_obj **h)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_key p;
	owner_prefix(owner, &p);
	oo.flags = SWAPOBJ_O_DIR | flags;
	oo.data_version = SWAPOBJ_VERSION_ANY;
	return swapobj_obj_open(h, st, &p, &oo);
}

static void verify_dir(int owner)
{
	swapobj_obj *h;
	int err = open_dir(owner, 0, &h);
	if (!dirs[owner].exists) {
		MCHECK(err == SWAPOBJ_ENOENT || err == SWAPOBJ_EISDIR, "owner %d has a directory object (%d)", owner,
		       err);
		return;
	}
	MCHECK(err == 0, "owner %d directory object missing", owner);
	int n = swapobj_obj_get_aux(h, scratch, SWAPOBJ_AUX_MAX);
	MCHECK(n == (int)dirs[owner].aux_len && memcmp(scratch, dirs[owner].aux, dirs[owner].aux_len) == 0,
	       "owner %d directory aux", owner);
	swapobj_obj_close(h);
}

/* Random aux bytes into aux: usually short, sometimes the maximum. */
static uint32_t gen_aux(struct tu_rng *r, uint8_t *aux, uint32_t cap)
{
	uint32_t len = tu_rng_below(r, 8) == 0 ? cap : (uint32_t)tu_rng_below(r, SO_MIN_(cap, 65));
	for (uint32_t b = 0; b < len; b++)
		aux[b] = (uint8_t)tu_rng_next(r);
	return len;
}

static int owner_has_objects(int owner)
{
	for (int j = owner * NVMAS; j < (owner + 1) * NVMAS; j++)
		if (model[j].exists)
			return 1;
	return 0;
}

/* Rename, aux and directory-object operations. */
static int trace; /* SWAPOBJ_MODEL_TRACE=1: print every operation */

static void fs_op(struct tu_rng *r, int i)
{
	struct mobj *m = &model[i];
	uint64_t kind = tu_rng_below(r, 100);
	int owner = i / NVMAS;
	if (trace)
		fprintf(stderr, "  fs op %llu on %d\n", (unsigned long long)kind, i);
	if (kind < 40) { /* rename i to j, replacing j */
		int j = (int)tu_rng_below(r, NOBJ);
		if (trace)
			fprintf(stderr, "  rename %d -> %d\n", i, j);
		swapobj_key ki, kj;
		if (!m->exists)
			return;
		key_of(i, &ki);
		key_of(j, &kj);
		int err = swapobj_rename(st, &ki, &kj, 0);
		if (evicted(i, err))
			return;
		MCHECK(err == 0, "rename %d to %d", i, j);
		if (i == j)
			return;
		struct mobj *t = &model[j];
		if (t->h) {
			MCHECK(!t->exists || swapobj_obj_read(t->h, scratch, 1, 0, 0) == SWAPOBJ_ESTALE,
			       "handle of replaced %d not stale", j);
			swapobj_obj_close(t->h);
		}
		/* A CACHE object renamed to a SWAP key keeps its class: it stays evictable under its new key. */
		uint8_t *data = t->data;
		memcpy(data, m->data, MAXSIZE);
		*t = *m;
		t->data = data;
		m->exists = 0;
		m->h = NULL;    /* now t's: a handle follows its object */
	} else if (kind < 75) { /* set aux */
		if (!m->exists)
			return;
		uint8_t aux[SWAPOBJ_AUX_MAX];
		uint32_t len = gen_aux(r, aux, SWAPOBJ_AUX_MAX);
		int err = swapobj_obj_set_aux(m->h, aux, len);
		if (evicted(i, err))
			return;
		MCHECK(err == 0, "set aux %d", i);
		memcpy(m->aux, aux, len);
		m->aux_len = len;
	} else if (kind < 88) { /* mkdir the owner's prefix (or open the existing one), maybe set its aux */
		swapobj_obj *h;
		MCHECK(open_dir(owner, SWAPOBJ_O_CREATE, &h) == 0, "mkdir owner %d", owner);
		if (!dirs[owner].exists)
			dirs[owner].aux_len = 0;
		dirs[owner].exists = 1;
		if (tu_rng_below(r, 2)) {
			dirs[owner].aux_len = gen_aux(r, dirs[owner].aux, sizeof(dirs[owner].aux));
			MCHECK(swapobj_obj_set_aux(h, dirs[owner].aux, dirs[owner].aux_len) == 0, "dir aux %d", owner);
		}
		swapobj_obj_close(h);
	} else { /* rmdir */
		swapobj_obj *h;
		if (!dirs[owner].exists)
			return;
		MCHECK(open_dir(owner, 0, &h) == 0, "open dir %d", owner);
		int err = swapobj_obj_delete(h);
		swapobj_obj_close(h);
		MCHECK(err == (owner_has_objects(owner) ? SWAPOBJ_ENOTEMPTY : 0), "rmdir owner %d returned %d", owner,
		       err);
		dirs[owner].exists = err != 0;
	}
}

static void verify_all(void)
{
	for (int i = 0; i < NOBJ; i++) {
		if (!model[i].exists)
			continue;
		if (!model[i].h)
			open_handle(i, 0);
		if (model[i].h)
			verify_obj(i);
	}
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	uint64_t live = 0;
	for (int i = 0; i < NOBJ; i++)
		live += model[i].exists;
	for (int o = 0; o < NOWNERS; o++) {
		verify_dir(o);
		live += dirs[o].exists;
	}
	MCHECK(ss.objects == live, "store has %llu objects, model %llu", (unsigned long long)ss.objects,
	       (unsigned long long)live);
}

/* Random content for a write: data, zero pages, fill pages, mixed. */
static void gen_content(struct tu_rng *r, uint8_t *buf, uint64_t len)
{
	uint64_t style = tu_rng_below(r, 10);
	if (style == 0) {
		memset(buf, 0, len);
	} else if (style == 1) {
		uint64_t w = tu_rng_next(r);
		for (uint64_t b = 0; b < len; b++)
			buf[b] = (uint8_t)(w >> (8 * (b % 8)));
	} else {
		for (uint64_t b = 0; b < len; b += 8) {
			uint64_t w = tu_rng_next(r);
			memcpy(buf + b, &w, SO_MIN_(8, len - b));
		}
		if (style == 2) /* some zero pages in between */
			for (uint64_t p = 0; p < len; p += PG)
				if (tu_rng_below(r, 3) == 0)
					memset(buf + p, 0, SO_MIN_(PG, len - p));
	}
}

/*
 * mixed: the store is formatted classic and reopened with
 * SWAPOBJ_OPEN_NO_UPGRADE for the first third of the operations, then
 * upgraded by a plain reopen: from then on it holds classic and split
 * segments side by side, which cleaning and reopens must not tell apart.
 */
/* Evictions the sessions' stores reported, and CACHE writes refused (cull mode). */
static uint64_t evictions, cache_refused;

static void close_store(void)
{
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	for (unsigned k = 0; k < SWAPOBJ_EVICT_REASONS; k++)
		evictions += ss.evicted_objects[k];
	MCHECK(swapobj_store_close(st) == 0, "close");
	st = NULL;
}

static void run_model(uint64_t nops, uint64_t seedv, bool mixed, bool cull)
{
	struct tu_rng r;
	seed = seedv;
	cull_mode = cull;
	evictions = cache_refused = 0;
	trace = getenv("SWAPOBJ_MODEL_TRACE") != NULL;
	tu_rng_init(&r, seed);
	if (mixed) {
		struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
		struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
		fo.segment_size = 1 << 20;
		fo.size = 40 << 20;
		fo.layout = SWAPOBJ_LAYOUT_CLASSIC;
		MCHECK(swapobj_format(tu_paths, 1, &fo) == 0, "format");
		oo.flags = SWAPOBJ_OPEN_NO_UPGRADE;
		MCHECK(swapobj_store_open(&st, tu_paths, 1, &oo) == 0, "open");
	} else {
		struct swapobj_open_opts oo = session_opts();
		st = tu_mkstore(40 << 20, 1 << 20, &oo);
	}
	bool saw_classic = false, saw_split = false;
	memset(model, 0, sizeof(model));
	memset(dirs, 0, sizeof(dirs));
	for (int i = 0; i < NOBJ; i++)
		model[i].data = calloc(1, MAXSIZE);

	for (op = 0; op < nops; op++) {
		int i = (int)tu_rng_below(&r, NOBJ);
		struct mobj *m = &model[i];
		uint64_t kind = tu_rng_below(&r, 100);
		if (trace)
			fprintf(stderr, "op %llu: obj %d kind %llu exists %d\n", (unsigned long long)op, i,
			        (unsigned long long)kind, m->exists);
		if (!m->exists && kind < 85) {
			open_handle(i, 1);
			m->exists = 1;
			m->cache = is_cache(i);
			m->size = 0;
			m->aux_len = 0;
			memset(m->data, 0, MAXSIZE);
		}
		if (m->exists && !m->h)
			open_handle(i, 0); /* in cull mode it may turn out evicted */
		if (!m->exists && kind < 85)
			continue;                /* evicted as it was opened */
		if (tu_rng_below(&r, 100) < 8) { /* rename, aux, directory objects */
			fs_op(&r, i);
		} else if (kind < 45) { /* write */
			uint64_t off, len;
			if (tu_rng_below(&r, 2)) { /* page aligned, 1..16 pages */
				off = tu_rng_below(&r, MAXPAGES) * PG;
				len = (1 + tu_rng_below(&r, 16)) * PG;
			} else {
				off = tu_rng_below(&r, MAXSIZE);
				len = 1 + tu_rng_below(&r, 3 * PG);
			}
			if (off + len > MAXSIZE)
				len = MAXSIZE - off;
			gen_content(&r, scratch2, len);
			int64_t n = swapobj_obj_write(m->h, scratch2, len, off);
			if (cull_mode && n == SWAPOBJ_ENOSPC && !m->cache) {
				/* Manual cleaning: no free segment until the caller cleans (evicting first). */
				MCHECK(swapobj_store_clean(st, 0) >= 0, "clean for a write");
				n = swapobj_obj_write(m->h, scratch2, len, off);
			}
			if (evicted(i, n))
				continue;
			if (cull_mode && m->cache && n == SWAPOBJ_ECACHEFULL) {
				cache_refused++;
				continue; /* not cached: nothing written */
			}
			MCHECK(n == (int64_t)len || (cull_mode && m->cache && n > 0 && n < (int64_t)len),
			       "write %d [%llu,+%llu) returned %lld", i, (unsigned long long)off,
			       (unsigned long long)len, (long long)n);
			memcpy(m->data + off, scratch2,
			       (size_t)n); /* a CACHE write may stop short when the store fills */
			if (off + (uint64_t)n > m->size)
				m->size = off + (uint64_t)n;
		} else if (kind < 65) { /* read a range */
			uint64_t off = tu_rng_below(&r, MAXSIZE), len = 1 + tu_rng_below(&r, 5 * PG);
			int64_t n = swapobj_obj_read(m->h, scratch, len, off, 0);
			if (evicted(i, n))
				continue;
			uint64_t want = off >= m->size ? 0 : SO_MIN_(len, m->size - off);
			MCHECK(n == (int64_t)want, "read %d [%llu,+%llu) returned %lld, want %llu", i,
			       (unsigned long long)off, (unsigned long long)len, (long long)n,
			       (unsigned long long)want);
			MCHECK(memcmp(scratch, m->data + off, want) == 0, "read %d [%llu,+%llu) differs", i,
			       (unsigned long long)off, (unsigned long long)len);
		} else if (kind < 72) { /* punch */
			uint64_t off = tu_rng_below(&r, MAXSIZE), len = 1 + tu_rng_below(&r, 8 * PG);
			int err = swapobj_obj_punch(m->h, off, len);
			if (evicted(i, err))
				continue;
			MCHECK(err == 0, "punch %d", i);
			uint64_t end = SO_MIN_(off + len, m->size);
			if (off < end)
				memset(m->data + off, 0, end - off);
		} else if (kind < 77) { /* truncate */
			uint64_t size = tu_rng_below(&r, MAXSIZE + 1);
			if (tu_rng_below(&r, 2))
				size = SO_ROUND_DOWN_(size, PG);
			int err = swapobj_obj_truncate(m->h, size);
			if (evicted(i, err))
				continue;
			MCHECK(err == 0, "truncate %d", i);
			if (size < m->size)
				memset(m->data + size, 0, m->size - size);
			m->size = size;
		} else if (kind < 80) { /* delete */
			int err = swapobj_obj_delete(m->h);
			if (evicted(i, err))
				continue;
			MCHECK(err == 0, "delete %d", i);
			swapobj_obj_close(m->h);
			m->h = NULL;
			m->exists = 0;
		} else if (kind < 82) { /* invalidate an owner's prefix */
			int owner = i / NVMAS, any = 0;
			swapobj_key p;
			owner_prefix(owner, &p);
			for (int j = owner * NVMAS; j < (owner + 1) * NVMAS; j++)
				any |= model[j].exists;
			any |= dirs[owner].exists;
			dirs[owner].exists = 0; /* a directory object at the prefix goes too */
			int err = swapobj_invalidate(st, &p);
			/* (In cull mode, what the model still has under the prefix may all have been evicted.) */
			MCHECK(err == (any ? 0 : SWAPOBJ_ENOENT) || (cull_mode && any && err == SWAPOBJ_ENOENT),
			       "invalidate owner %d returned %d", owner, err);
			for (int j = owner * NVMAS; j < (owner + 1) * NVMAS; j++) {
				if (model[j].h) {
					MCHECK(!any || swapobj_obj_read(model[j].h, scratch, 1, 0, 0) == SWAPOBJ_ESTALE,
					       "handle of invalidated %d not stale", j);
					swapobj_obj_close(model[j].h);
					model[j].h = NULL;
				}
				model[j].exists = 0;
			}
		} else if (kind < 85) { /* data version bump (fscache objects) */
			if ((i / NVMAS) % 2 == 1) {
				swapobj_obj *old = m->h;
				m->version++;
				m->h = NULL;
				open_handle(i, 1);
				m->cache = is_cache(i);
				MCHECK(swapobj_obj_read(old, scratch, 1, 0, 0) == SWAPOBJ_ESTALE,
				       "old version not stale");
				swapobj_obj_close(old);
				m->size = 0;
				m->aux_len = 0;
				memset(m->data, 0, MAXSIZE);
			}
		} else if (kind < 88) {
			MCHECK(swapobj_store_sync(st) == 0, "sync");
		} else if (kind < 90) {
			int e = swapobj_store_checkpoint(st);
			MCHECK(e == 0 || e == SWAPOBJ_ENOSPC, "checkpoint");
		} else if (kind < 93) {
			MCHECK(swapobj_store_clean(st, 2) >= 0, "clean"); /* in cull mode, it evicts too */
		} else if (kind < 95) {                                   /* reopen */
			close_all();
			close_store();
			/*
			 * Every other session takes no checkpoint at close, so the open
			 * after it starts from an older checkpoint and replays a long tail.
			 */
			struct swapobj_open_opts oo = session_opts();
			if (tu_rng_below(&r, 2))
				oo.checkpoint_bytes = UINT64_MAX;
			if (mixed && op < nops / 3)
				oo.flags |= SWAPOBJ_OPEN_NO_UPGRADE;
			if (trace) { /* keep what the open starts from: a failing verify can be replayed by hand */
				char cmd[1024];
				snprintf(cmd, sizeof(cmd), "cp '%s' /tmp/swapobj-model-%llu.img", tu_img,
				         (unsigned long long)seed);
				if (system(cmd) != 0)
					fprintf(stderr, "  (could not keep a copy of the image)\n");
			}
			MCHECK(swapobj_store_open(&st, tu_paths, 1, &oo) == 0, "reopen");
			for (uint64_t g = 0; g < st->log.nsegs; g++) {
				const struct log_seg *sg = &st->log.segs[g];
				if (sg->state == SEG_SEALED && sg->stream != SEG_STREAM_CKPT && sg->live) {
					saw_classic |= !sg->split;
					saw_split |= sg->split != 0;
				}
			}
			if (trace) {
				struct swapobj_store_stat ss;
				swapobj_store_stat(&ss, sizeof(ss), st);
				fprintf(stderr, "  reopened: from checkpoint %u, replayed %llu bytes\n",
				        ss.from_checkpoint, (unsigned long long)ss.replay_bytes);
			}
			verify_all();
		} else { /* verify one whole object */
			if (m->exists)
				verify_obj(i);
		}
	}
	/* Invalidated objects count until the background reaper frees them: reap now (clean does). */
	MCHECK(swapobj_store_clean(st, 1) >= 0, "clean");
	verify_all();
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	const char *io = getenv("SWAPOBJ_IO"); /* the ctest entry test_model_io_sync runs the model without io_uring */
	MCHECK(!io || strcmp(io, "sync") != 0 || !ss.io_uring, "SWAPOBJ_IO=sync, yet the store uses io_uring");
	fprintf(stderr, "model seed %llu: %llu ops, %llu segments cleaned, write amplification %.2f, I/O through %s\n",
	        (unsigned long long)seed, (unsigned long long)nops, (unsigned long long)ss.segments_cleaned,
	        ss.user_bytes_written ? (double)ss.device_bytes_written / (double)ss.user_bytes_written : 0.0,
	        ss.io_uring ? "io_uring" : "pread/pwrite");
	close_all();
	close_store();
	if (cull_mode) {
		fprintf(stderr,
		        "model seed %llu (cache culling): %llu CACHE objects evicted, %llu CACHE writes refused\n",
		        (unsigned long long)seed, (unsigned long long)evictions, (unsigned long long)cache_refused);
		MCHECK(evictions > 0, "cull mode evicted nothing: it tested nothing more");
	}
	for (int i = 0; i < NOBJ; i++)
		free(model[i].data);
	/* The mixed run did hold both layouts at once (else it tested nothing more). */
	if (mixed)
		MCHECK(saw_classic && saw_split, "mixed store: classic segments seen %d, split %d", saw_classic,
		       saw_split);
}

START_TEST(test_model__random_operations_match_the_model)
{
	uint64_t base = tu_seed(20261122);
	run_model(tu_scale(6000, 20), base + (uint64_t)_i, false, false);
}
END_TEST

START_TEST(test_model__a_classic_store_upgraded_midway_matches_the_model)
{
	uint64_t base = tu_seed(20261206);
	run_model(tu_scale(6000, 20), base + (uint64_t)_i, true, false);
}
END_TEST

START_TEST(test_model__cache_culling_drops_cache_objects_only_and_never_a_wrong_byte)
{
	uint64_t base = tu_seed(20261207);
	run_model(tu_scale(6000, 20), base + (uint64_t)_i, false, true);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

#define TPAGES 96u
#define NWRITERS 3

struct tshared {
	swapobj_store *st;
	swapobj_obj *own[NWRITERS];     /* one private object per writer */
	swapobj_obj *shared;            /* written by all writers, disjoint pages */
	uint32_t ver[NWRITERS][TPAGES]; /* latest version written per page (own object); atomic */
	uint32_t sver[TPAGES];          /* shared object */
	int stop;
	int failed;
	char msg[256];
	uint64_t seed;
};

static void tfail(struct tshared *t, const char *what, uint64_t a, uint64_t b)
{
	if (!__atomic_exchange_n(&t->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(t->msg, sizeof(t->msg), "%s (%llu, %llu): %s", what, (unsigned long long)a,
		         (unsigned long long)b, swapobj_errmsg());
}

/* Page content encodes (tag, page, version) so a reader can recognise any version. */
static void tpage(uint8_t *p, uint64_t tag, uint64_t pg, uint32_t ver)
{
	tu_fill_page(p, tag, pg, ver);
	memcpy(p + 64, &ver, 4);
}

struct targ {
	struct tshared *t;
	int id;
};

static void *writer(void *a)
{
	struct targ *ta = a;
	struct tshared *t = ta->t;
	struct tu_rng r;
	uint8_t p[PG];
	tu_rng_init(&r, t->seed * 31 + (uint64_t)ta->id);
	for (int n = 0; n < (int)tu_scale(3000, 10) && !t->failed; n++) {
		uint64_t pg = tu_rng_below(&r, TPAGES);
		uint32_t v = __atomic_load_n(&t->ver[ta->id][pg], __ATOMIC_RELAXED) + 1;
		tpage(p, (uint64_t)ta->id, pg, v);
		if (swapobj_obj_write(t->own[ta->id], p, PG, pg * PG) != PG)
			tfail(t, "writer own", (uint64_t)ta->id, pg);
		__atomic_store_n(&t->ver[ta->id][pg], v, __ATOMIC_RELEASE);
		/* shared object: writer id owns pages with pg % NWRITERS == id */
		uint64_t sp = pg - pg % NWRITERS + (uint64_t)ta->id;
		if (sp < TPAGES) {
			uint32_t sv = __atomic_load_n(&t->sver[sp], __ATOMIC_RELAXED) + 1;
			tpage(p, 100, sp, sv);
			if (swapobj_obj_write(t->shared, p, PG, sp * PG) != PG)
				tfail(t, "writer shared", (uint64_t)ta->id, sp);
			__atomic_store_n(&t->sver[sp], sv, __ATOMIC_RELEASE);
		}
		if (n % 500 == 0 && swapobj_store_sync(t->st) != 0)
			tfail(t, "sync", (uint64_t)ta->id, 0);
	}
	return NULL;
}

/* A page read concurrently must be some version v with v >= the version known before the read. */
static void *reader(void *a)
{
	struct targ *ta = a;
	struct tshared *t = ta->t;
	struct tu_rng r;
	uint8_t p[PG], want[PG];
	tu_rng_init(&r, t->seed * 77 + (uint64_t)ta->id);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) && !t->failed) {
		int w = (int)tu_rng_below(&r, NWRITERS + 1);
		uint64_t pg = tu_rng_below(&r, TPAGES);
		swapobj_obj *o = w < NWRITERS ? t->own[w] : t->shared;
		uint32_t *vp = w < NWRITERS ? &t->ver[w][pg] : &t->sver[pg];
		uint64_t tag = w < NWRITERS ? (uint64_t)w : 100;
		uint32_t before = __atomic_load_n(vp, __ATOMIC_ACQUIRE);
		int64_t n = swapobj_obj_read(o, p, PG, pg * PG, 0);
		if (n < 0) {
			tfail(t, "reader read", tag, pg);
			break;
		}
		if (before == 0)
			continue; /* maybe not written yet: a hole or a short read is fine */
		uint32_t v;
		memcpy(&v, p + 64, 4);
		tpage(want, tag, pg, v);
		if (n != PG || v < before || memcmp(p, want, PG) != 0)
			tfail(t, "reader saw a page no writer wrote", tag, pg);
	}
	return NULL;
}

/* Namespace churn alongside: create, list, invalidate under another prefix. */
static void *churner(void *a)
{
	struct targ *ta = a;
	struct tshared *t = ta->t;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	uint8_t p[PG];
	memset(p, 0x5a, PG);
	p[0] = 1;
	for (uint64_t round = 0; !__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) && !t->failed; round++) {
		for (uint64_t v = 0; v < 20; v++) {
			swapobj_key k;
			swapobj_obj *o;
			swapobj_key_anon(&k, 1000 + round % 3, v);
			if (swapobj_obj_open(&o, t->st, &k, &oo) != 0) {
				tfail(t, "churn create", round, v);
				return NULL;
			}
			swapobj_obj_write(o, p, PG, v * PG);
			swapobj_obj_close(o);
		}
		struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
		struct swapobj_dirent de;
		swapobj_key k, pre;
		swapobj_key_anon(&k, 1000 + round % 3, 0);
		swapobj_key_prefix(&pre, &k, 2);
		int n = 0, rc;
		while ((rc = swapobj_list_next(&de, t->st, &pre, &cur)) == 1)
			n++;
		if (rc < 0 || n != 20)
			tfail(t, "churn list", round, (uint64_t)n);
		if (swapobj_invalidate(t->st, &pre) != 0)
			tfail(t, "churn invalidate", round, 0);
	}
	return NULL;
}

START_TEST(test_threads__writers_and_readers_on_shared_and_private_objects)
{
	static struct tshared t;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	pthread_t w[NWRITERS], rd[2], ch;
	struct targ wa[NWRITERS], ra[2], ca;
	memset(&t, 0, sizeof(t));
	t.seed = tu_seed(7);
	t.st = tu_mkstore(48 << 20, 1 << 20, NULL);
	oo.flags = SWAPOBJ_O_CREATE;
	for (int i = 0; i <= NWRITERS; i++) {
		swapobj_key k;
		swapobj_key_anon(&k, 1, (uint64_t)i);
		ck_assert_int_eq(swapobj_obj_open(i < NWRITERS ? &t.own[i] : &t.shared, t.st, &k, &oo), 0);
	}
	for (int i = 0; i < NWRITERS; i++) {
		wa[i] = (struct targ){&t, i};
		pthread_create(&w[i], NULL, writer, &wa[i]);
	}
	for (int i = 0; i < 2; i++) {
		ra[i] = (struct targ){&t, i};
		pthread_create(&rd[i], NULL, reader, &ra[i]);
	}
	ca = (struct targ){&t, 0};
	pthread_create(&ch, NULL, churner, &ca);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	pthread_join(ch, NULL);
	ck_assert_msg(!t.failed, "seed %llu: %s", (unsigned long long)t.seed, t.msg);
	/* exact end state, before and after a reopen */
	for (int round = 0; round < 2; round++) {
		uint8_t p[PG], want[PG];
		for (int i = 0; i <= NWRITERS; i++) {
			swapobj_obj *o = i < NWRITERS ? t.own[i] : t.shared;
			for (uint64_t pg = 0; pg < TPAGES; pg++) {
				uint32_t v = i < NWRITERS ? t.ver[i][pg] : t.sver[pg];
				if (!v)
					continue;
				tpage(want, i < NWRITERS ? (uint64_t)i : 100, pg, v);
				ck_assert_int_eq(swapobj_obj_read(o, p, PG, pg * PG, 0), PG);
				ck_assert_msg(memcmp(p, want, PG) == 0, "seed %llu: object %d page %llu not version %u",
				              (unsigned long long)t.seed, i, (unsigned long long)pg, v);
			}
			swapobj_obj_close(o);
		}
		ck_assert_int_eq(swapobj_store_close(t.st), 0);
		ck_assert_int_eq(swapobj_store_open(&t.st, tu_paths, 1, NULL), 0);
		for (int i = 0; i <= NWRITERS; i++) {
			swapobj_key k;
			swapobj_key_anon(&k, 1, (uint64_t)i);
			ck_assert_int_eq(swapobj_obj_open(i < NWRITERS ? &t.own[i] : &t.shared, t.st, &k, NULL), 0);
		}
	}
	for (int i = 0; i <= NWRITERS; i++)
		swapobj_obj_close(i < NWRITERS ? t.own[i] : t.shared);
	ck_assert_int_eq(swapobj_store_close(t.st), 0);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("model");
	/* Three seeds in CI (base, base+1, base+2); SWAPOBJ_SEED moves the base. */
	const struct tu_case_opts opts_model = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "model long", .timeout = 900, .loop_to = 3};
	const struct tu_case_opts opts_threads = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "threads long", .timeout = 900};
	tu_add(s, test_model__random_operations_match_the_model, &opts_model);
	tu_add(s, test_model__a_classic_store_upgraded_midway_matches_the_model, &opts_model);
	tu_add(s, test_model__cache_culling_drops_cache_objects_only_and_never_a_wrong_byte, &opts_model);
	tu_add(s, test_threads__writers_and_readers_on_shared_and_private_objects, &opts_threads);
	return tu_run(s, argc, argv);
}
