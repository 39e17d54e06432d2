/*
 * bench_stores.c - the page stores swapobj-bench compares, behind one
 * interface (struct store_ops in bench.h):
 *
 *  libswapobj  the library under test, through its public API only;
 *  slot-file   what kernel swap does: a preallocated file, a free-slot
 *              bitmap searched next-fit, an in-memory slot array per object,
 *              one 4 KiB pwrite/pread per page;
 *  zram        the kernel's compressed RAM block device used the same way
 *              (root only; the parent prepares the device);
 *  zstd        the codec alone: each page compressed into an in-memory arena;
 *  rocksdb     RocksDB through its C API, no WAL (SWAPOBJ_HAVE_ROCKSDB);
 *  lmdb        LMDB with MDB_NOSYNC (SWAPOBJ_HAVE_LMDB).
 *
 * The peers store the same pages under the key (object u64 big-endian,
 * page u64 big-endian). Objects made by make_tiny (the invalidation
 * workload) live in their own key range: object ids from TINY_BASE.
 *
 * Thread-safety: write/read may be called from several threads with
 * distinct tids; a store keeps per-tid state where its library needs it.
 * Errors go to the thread-local bench_errbuf.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#ifdef SWAPOBJ_HAVE_ROCKSDB
#include <rocksdb/c.h>
#endif
#ifdef SWAPOBJ_HAVE_LMDB
#include <lmdb.h>
#endif

#include "bench.h"
#include "swapobj.h"

#ifndef SWAPOBJ_ROCKSDB_VERSION
#define SWAPOBJ_ROCKSDB_VERSION "?"
#endif

#define TINY_BASE (1ull << 40)

struct store {
	enum bench_sys sys;
};

static char *path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir) + strlen(name) + 2;
	char *p = malloc(l);
	if (p)
		snprintf(p, l, "%s/%s", dir, name);
	return p;
}

static void key16(uint8_t k[16], uint64_t obj, uint64_t pg)
{
	for (int i = 0; i < 8; i++) {
		k[i] = (uint8_t)(obj >> (56 - 8 * i));
		k[8 + i] = (uint8_t)(pg >> (56 - 8 * i));
	}
}

/* The page of a tiny object: one 8-byte word repeated. */
static void tiny_page(uint8_t *page, uint64_t i)
{
	uint64_t w = bench_mix64(i) | 1;
	for (unsigned j = 0; j < BPG / 8; j++)
		memcpy(page + 8 * j, &w, 8);
}

/* ======================================================================== */
/* libswapobj                                                                */
/* ======================================================================== */

struct so_store {
	struct store base;
	char *path;
	swapobj_store *st;
	swapobj_obj **h;
	uint32_t nobj;
	double open_ns;
	uint64_t dev_before, user_before; /* counters of earlier opens (they restart at each open) */
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
	swapobj_store_stat(s->st, &st);
	o->dev_bytes = (double)(s->dev_before + st.device_bytes_written);
	o->user_bytes = (double)(s->user_before + st.user_bytes_written);
	o->disk_bytes = (double)bench_du(s->path);
	o->index_bytes = (double)st.index_bytes;
	o->pages = (double)st.pages;
	o->open_ns = s->open_ns;
	o->replay_ns = (double)st.replay_ns;
	o->capacity_bytes = (double)st.capacity_bytes;
}

static int so_reopen(struct store *base)
{
	struct so_store *s = (struct so_store *)base;
	struct swapobj_store_stat st;
	swapobj_store_stat(s->st, &st);
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

static const struct store_ops so_ops = {
    .sys = SYS_SWAPOBJ,
    .create = so_create,
    .write = so_write,
    .read = so_read,
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
              "the sequential workload); swapobj_store_sync as the sync",
};

/* ======================================================================== */
/* Raw slot file (and zram used the same way)                                */
/* ======================================================================== */

struct slot_store {
	struct store base;
	char *path;
	bool zram, direct_read;
	int zram_id;
	int wfd, rfd;
	uint64_t nslots, cursor, used;
	uint64_t *bitmap; /* bit set = slot in use */
	pthread_mutex_t mu;
	uint32_t **slots; /* per object: slot + 1 of each page, 0 = not stored */
	uint32_t nobj;
	uint64_t obj_pages;
	_Atomic uint64_t user_bytes;
	struct slot_pending {
		uint64_t lo, hi;
		unsigned n;
	} * pend; /* per thread: slots written since writeback was last started */
	unsigned nthreads;
};

/* Reclaim hands pages to swap in batches of SWAP_CLUSTER_MAX (32) and submits their writes together. */
#define SLOT_BATCH 32u

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return bench_err("open %s: %s", path, strerror(errno));
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(val))
		return bench_err("write '%s' to %s: %s", val, path, strerror(e));
	return 0;
}

static int sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return bench_err("open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return bench_err("read %s: %s", path, strerror(errno));
	buf[n] = 0;
	return 0;
}

int bench_zram_add(void)
{
	char buf[32];
	if (!bench_is_root())
		return bench_err("not root");
	if (access("/sys/class/zram-control/hot_add", F_OK) != 0)
		return bench_err("no /sys/class/zram-control (zram module not loaded)");
	if (sysfs_read("/sys/class/zram-control/hot_add", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

void bench_zram_remove(int id)
{
	char p[96], v[16];
	if (id < 0)
		return;
	snprintf(p, sizeof(p), "/sys/block/zram%d/reset", id);
	sysfs_write(p, "1");
	snprintf(v, sizeof(v), "%d", id);
	sysfs_write("/sys/class/zram-control/hot_remove", v);
}

const char *bench_zram_algo(int id)
{
	static char algo[64];
	char p[96], buf[256];
	snprintf(p, sizeof(p), "/sys/block/zram%d/comp_algorithm", id);
	snprintf(algo, sizeof(algo), "?");
	if (sysfs_read(p, buf, sizeof(buf)) == 0) {
		char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
		if (a && b)
			snprintf(algo, sizeof(algo), "%.*s", (int)(b - a - 1), a + 1);
	}
	return algo;
}

static void slot_close(struct store *base)
{
	struct slot_store *s = (struct slot_store *)base;
	if (!s)
		return;
	if (s->rfd >= 0 && s->rfd != s->wfd)
		close(s->rfd);
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->slots)
		for (uint32_t i = 0; i < s->nobj; i++)
			free(s->slots[i]);
	free(s->slots);
	free(s->bitmap);
	free(s->path);
	free(s->pend);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int slot_open_fds(struct slot_store *s)
{
	if (s->zram) {
		s->wfd = open(s->path, O_RDWR | O_DIRECT);
		if (s->wfd < 0)
			return bench_err("open %s: %s", s->path, strerror(errno));
		s->rfd = s->wfd;
		s->direct_read = true;
		return 0;
	}
	s->wfd = open(s->path, O_RDWR);
	if (s->wfd < 0)
		return bench_err("open %s: %s", s->path, strerror(errno));
	s->rfd = open(s->path, O_RDONLY | O_DIRECT);
	s->direct_read = s->rfd >= 0;
	if (s->rfd < 0)
		s->rfd = open(s->path, O_RDONLY); /* file system without O_DIRECT: buffered, caches dropped */
	if (s->rfd < 0)
		return bench_err("open %s: %s", s->path, strerror(errno));
	return 0;
}

static int slot_create_common(struct store **out, const struct store_params *p, bool zram)
{
	struct slot_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = zram ? SYS_ZRAM : SYS_SLOT;
	s->wfd = s->rfd = -1;
	s->zram = zram;
	s->zram_id = p->zram_id;
	pthread_mutex_init(&s->mu, NULL);
	s->nslots = p->capacity / BPG;
	s->nobj = p->nobj;
	s->obj_pages = p->obj_pages;
	s->bitmap = calloc((s->nslots + 63) / 64 + 1, 8);
	s->slots = calloc(p->nobj ? p->nobj : 1, sizeof(*s->slots));
	s->nthreads = p->nthreads ? p->nthreads : 1;
	s->pend = calloc(s->nthreads, sizeof(*s->pend));
	if (!s->bitmap || !s->slots || !s->pend || s->nslots >= UINT32_MAX)
		goto oom;
	for (uint32_t i = 0; i < p->nobj; i++)
		if (!(s->slots[i] = calloc(p->obj_pages ? p->obj_pages : 1, sizeof(uint32_t))))
			goto oom;
	if (zram) {
		char path[64], v[32];
		snprintf(path, sizeof(path), "/sys/block/zram%d/reset", p->zram_id);
		if (sysfs_write(path, "1") < 0)
			goto fail;
		snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", p->zram_id);
		snprintf(v, sizeof(v), "%" PRIu64, s->nslots * BPG);
		if (sysfs_write(path, v) < 0)
			goto fail;
		snprintf(path, sizeof(path), "/dev/zram%d", p->zram_id);
		s->path = strdup(path);
	} else {
		s->path = path_join(p->dir, "slots");
	}
	if (!s->path)
		goto oom;
	if (!zram) {
		int fd = open(s->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			bench_err("create %s: %s", s->path, strerror(errno));
			goto fail;
		}
		int e = posix_fallocate(fd, 0, (off_t)(s->nslots * BPG));
		close(fd);
		if (e) {
			bench_err("fallocate %s: %s", s->path, strerror(e));
			goto fail;
		}
	}
	if (slot_open_fds(s) < 0)
		goto fail;
	*out = &s->base;
	return 0;
oom:
	bench_err("out of memory for the slot arrays");
fail:
	slot_close(&s->base);
	return -1;
}

static int slot_create(struct store **out, const struct store_params *p)
{
	return slot_create_common(out, p, false);
}

static int zram_create(struct store **out, const struct store_params *p)
{
	return slot_create_common(out, p, true);
}

/* Next-fit: the first free slot at or after the cursor (kernel swap allocates in cluster order the same way). */
static int64_t slot_alloc_locked(struct slot_store *s)
{
	uint64_t words = (s->nslots + 63) / 64;
	if (s->used >= s->nslots)
		return -1;
	for (uint64_t n = 0; n <= words; n++) {
		uint64_t w = (s->cursor / 64 + n) % words;
		uint64_t bits = ~s->bitmap[w];
		if (n == 0)
			bits &= ~0ull << (s->cursor % 64);
		if (!bits)
			continue;
		uint64_t slot = w * 64 + (uint64_t)__builtin_ctzll(bits);
		if (slot >= s->nslots)
			continue;
		s->bitmap[w] |= 1ull << (slot % 64);
		s->cursor = slot + 1 < s->nslots ? slot + 1 : 0;
		s->used++;
		return (int64_t)slot;
	}
	return -1;
}

/*
 * The page cache must not keep what was "swapped out" (it would absorb
 * overwrites and hide the device): every SLOT_BATCH pages, start the
 * writeback of the slots written, without waiting, as reclaim does.
 */
static int slot_pending_add(struct slot_store *s, unsigned tid, uint64_t first, uint32_t run)
{
	struct slot_pending *p = &s->pend[tid];
	if (!p->n || first < p->lo)
		p->lo = first;
	if (!p->n || first + run - 1 > p->hi)
		p->hi = first + run - 1;
	p->n += run;
	if (p->n < SLOT_BATCH)
		return 0;
	p->n = 0;
	if (sync_file_range(s->wfd, (off_t)(p->lo * BPG), (off_t)((p->hi - p->lo + 1) * BPG), SYNC_FILE_RANGE_WRITE) <
	    0)
		return bench_err("slot-file: sync_file_range: %s", strerror(errno));
	return 0;
}

static int slot_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct slot_store *s = (struct slot_store *)base;
	uint32_t *arr = s->slots[obj];
	uint32_t i = 0;
	if (pg + n > s->obj_pages)
		return bench_err("slot-file: page %" PRIu64 " beyond object size", pg + n);
	while (i < n) {
		/* Allocate slots for a run of pages; adjacent slots are written with one pwrite. */
		uint64_t first = 0;
		uint32_t run = 0;
		pthread_mutex_lock(&s->mu);
		for (; i + run < n; run++) {
			int64_t slot = slot_alloc_locked(s);
			if (slot < 0 || (run && (uint64_t)slot != first + run)) {
				if (slot >= 0) { /* not adjacent: give it back, write what we have */
					s->bitmap[slot / 64] &= ~(1ull << (slot % 64));
					s->used--;
					s->cursor = (uint64_t)slot;
				}
				break;
			}
			if (!run)
				first = (uint64_t)slot;
			uint32_t old = arr[pg + i + run];
			if (old) {
				s->bitmap[(old - 1) / 64] &= ~(1ull << ((old - 1) % 64));
				s->used--;
			}
			arr[pg + i + run] = (uint32_t)slot + 1;
		}
		pthread_mutex_unlock(&s->mu);
		if (!run)
			return bench_err("slot-file: no free slot");
		size_t len = (size_t)run * BPG;
		ssize_t w = pwrite(s->wfd, buf + (size_t)i * BPG, len, (off_t)(first * BPG));
		if (w != (ssize_t)len)
			return bench_err("slot-file: pwrite slot %" PRIu64 ": %s", first,
			                 w < 0 ? strerror(errno) : "short write");
		i += run;
		if (!s->zram && slot_pending_add(s, tid, first, run) < 0)
			return -1;
	}
	s->user_bytes += (uint64_t)n * BPG;
	return 0;
}

static int slot_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct slot_store *s = (struct slot_store *)base;
	uint32_t *arr = s->slots[obj];
	uint32_t i = 0;
	while (i < n) {
		uint32_t first = arr[pg + i], run = 1;
		if (!first)
			return bench_err("slot-file: object %u page %" PRIu64 " not stored", obj, pg + i);
		while (i + run < n && arr[pg + i + run] == first + run)
			run++;
		size_t len = (size_t)run * BPG;
		ssize_t r = pread(s->rfd, buf + (size_t)i * BPG, len, (off_t)(first - 1) * BPG);
		if (r != (ssize_t)len)
			return bench_err("slot-file: pread slot %u: %s", first - 1,
			                 r < 0 ? strerror(errno) : "short read");
		i += run;
	}
	return 0;
}

static int slot_sync(struct store *base)
{
	struct slot_store *s = (struct slot_store *)base;
	if (fdatasync(s->wfd) < 0)
		return bench_err("fdatasync %s: %s", s->path, strerror(errno));
	return 0;
}

static int slot_reopen(struct store *base)
{
	struct slot_store *s = (struct slot_store *)base;
	if (slot_sync(base) < 0)
		return -1;
	if (s->rfd != s->wfd)
		close(s->rfd);
	close(s->wfd);
	s->rfd = s->wfd = -1;
	bench_drop_caches();
	return slot_open_fds(s);
}

static void slot_stats(struct store *base, struct store_stats *o)
{
	struct slot_store *s = (struct slot_store *)base;
	memset(o, 0, sizeof(*o));
	o->dev_bytes = -1;
	o->user_bytes = (double)s->user_bytes;
	o->pages = (double)s->used;
	o->capacity_bytes = (double)(s->nslots * BPG);
	if (s->zram) {
		char p[96], buf[256];
		unsigned long long orig = 0, compr = 0, used = 0;
		snprintf(p, sizeof(p), "/sys/block/zram%d/mm_stat", s->zram_id);
		if (sysfs_read(p, buf, sizeof(buf)) == 0)
			sscanf(buf, "%llu %llu %llu", &orig, &compr, &used);
		o->disk_bytes = (double)used;
		o->index_bytes = -1;
	} else {
		o->disk_bytes = (double)bench_du(s->path);
		o->index_bytes = (double)(s->nobj * s->obj_pages * sizeof(uint32_t) + ((s->nslots + 63) / 64) * 8);
	}
}

static const struct store_ops slot_ops = {
    .sys = SYS_SLOT,
    .create = slot_create,
    .write = slot_write,
    .read = slot_read,
    .sync = slot_sync,
    .reopen = slot_reopen,
    .stats = slot_stats,
    .close = slot_close,
    .config = "a file preallocated with posix_fallocate; free slots in a bitmap searched next-fit; a u32 slot "
              "array per object in RAM; writes: buffered 4 KiB pwrite per page into a newly allocated slot "
              "(the old slot is freed; adjacent slots of one call go in one pwrite), fdatasync as the sync; "
              "reads: 4 KiB pread per page through an O_DIRECT descriptor (adjacent slots of one call in one "
              "pread). Not persistent: like kernel swap, the slot array lives in RAM only",
};

static const struct store_ops zram_ops = {
    .sys = SYS_ZRAM,
    .create = zram_create,
    .write = slot_write,
    .read = slot_read,
    .sync = slot_sync,
    .reopen = slot_reopen,
    .stats = slot_stats,
    .close = slot_close,
    .config = "a hot-added /dev/zramN (kernel compressed RAM block device, its default algorithm) used like "
              "the slot file: next-fit slots, 4 KiB O_DIRECT pwrite/pread per page; stored bytes = mm_stat "
              "mem_used_total (RAM)",
};

/* ======================================================================== */
/* zstd alone                                                                */
/* ======================================================================== */

struct zstd_store {
	struct store base;
	int level;
	uint8_t *arena;
	size_t arena_cap;
	_Atomic size_t arena_used;
	_Atomic uint64_t npages;
	uint64_t *off; /* per (obj, pg): arena offset */
	uint32_t *len; /* stored length; 0 = not stored; bit 31 = stored raw */
	uint32_t nobj;
	uint64_t obj_pages;
	unsigned nthreads;
	ZSTD_CCtx **cc;
	ZSTD_DCtx **dc;
	uint8_t **scratch;
	size_t bound;
};

static void zstd_close(struct store *base)
{
	struct zstd_store *s = (struct zstd_store *)base;
	if (!s)
		return;
	for (unsigned t = 0; t < s->nthreads; t++) {
		if (s->cc)
			ZSTD_freeCCtx(s->cc[t]);
		if (s->dc)
			ZSTD_freeDCtx(s->dc[t]);
		if (s->scratch)
			free(s->scratch[t]);
	}
	free(s->cc);
	free(s->dc);
	free(s->scratch);
	if (s->arena)
		munmap(s->arena, s->arena_cap);
	free(s->off);
	free(s->len);
	free(s);
}

static int zstd_create(struct store **out, const struct store_params *p)
{
	struct zstd_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = SYS_ZSTD;
	s->level = p->zstd_level;
	s->nobj = p->nobj;
	s->obj_pages = p->obj_pages;
	s->nthreads = p->nthreads ? p->nthreads : 1;
	s->bound = ZSTD_compressBound(BPG);
	uint64_t slots = (uint64_t)p->nobj * p->obj_pages;
	s->arena_cap = (size_t)(slots + 16) * BPG; /* worst case all raw; untouched pages cost nothing */
	s->arena = mmap(NULL, s->arena_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->arena == MAP_FAILED) {
		s->arena = NULL;
		zstd_close(&s->base);
		return bench_err("mmap zstd arena: %s", strerror(errno));
	}
	s->off = calloc(slots ? slots : 1, sizeof(*s->off));
	s->len = calloc(slots ? slots : 1, sizeof(*s->len));
	s->cc = calloc(s->nthreads, sizeof(*s->cc));
	s->dc = calloc(s->nthreads, sizeof(*s->dc));
	s->scratch = calloc(s->nthreads, sizeof(*s->scratch));
	if (!s->off || !s->len || !s->cc || !s->dc || !s->scratch) {
		zstd_close(&s->base);
		return bench_err("out of memory");
	}
	for (unsigned t = 0; t < s->nthreads; t++) {
		s->cc[t] = ZSTD_createCCtx();
		s->dc[t] = ZSTD_createDCtx();
		s->scratch[t] = malloc(s->bound);
		if (!s->cc[t] || !s->dc[t] || !s->scratch[t]) {
			zstd_close(&s->base);
			return bench_err("out of memory");
		}
	}
	*out = &s->base;
	return 0;
}

static int zstd_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct zstd_store *s = (struct zstd_store *)base;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *src = buf + (size_t)i * BPG;
		size_t c = ZSTD_compressCCtx(s->cc[tid], s->scratch[tid], s->bound, src, BPG, s->level);
		if (ZSTD_isError(c))
			return bench_err("zstd compress: %s", ZSTD_getErrorName(c));
		bool raw = c >= BPG;
		size_t l = raw ? BPG : c;
		size_t at = atomic_fetch_add(&s->arena_used, l);
		if (at + l > s->arena_cap)
			return bench_err("zstd arena full");
		memcpy(s->arena + at, raw ? src : s->scratch[tid], l);
		uint64_t slot = (uint64_t)obj * s->obj_pages + pg + i;
		if (!s->len[slot])
			s->npages++;
		s->off[slot] = at;
		s->len[slot] = (uint32_t)l | (raw ? 1u << 31 : 0);
	}
	return 0;
}

static int zstd_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct zstd_store *s = (struct zstd_store *)base;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t slot = (uint64_t)obj * s->obj_pages + pg + i;
		uint32_t l = s->len[slot];
		uint8_t *dst = buf + (size_t)i * BPG;
		if (!l)
			return bench_err("zstd: object %u page %" PRIu64 " not stored", obj, pg + i);
		if (l >> 31) {
			memcpy(dst, s->arena + s->off[slot], BPG);
			continue;
		}
		size_t d = ZSTD_decompressDCtx(s->dc[tid], dst, BPG, s->arena + s->off[slot], l);
		if (ZSTD_isError(d) || d != BPG)
			return bench_err("zstd decompress: %s", ZSTD_isError(d) ? ZSTD_getErrorName(d) : "short");
	}
	return 0;
}

static int zstd_nop(struct store *base)
{
	return 0;
}

static void zstd_stats(struct store *base, struct store_stats *o)
{
	struct zstd_store *s = (struct zstd_store *)base;
	memset(o, 0, sizeof(*o));
	o->dev_bytes = -1;
	o->user_bytes = -1;
	o->disk_bytes = (double)s->arena_used;
	o->pages = (double)s->npages;
	o->index_bytes = (double)((uint64_t)s->nobj * s->obj_pages * (sizeof(uint64_t) + sizeof(uint32_t)));
	o->capacity_bytes = (double)s->arena_cap;
}

static const struct store_ops zstd_ops = {
    .sys = SYS_ZSTD,
    .create = zstd_create,
    .write = zstd_write,
    .read = zstd_read,
    .sync = zstd_nop,
    .reopen = zstd_nop,
    .stats = zstd_stats,
    .close = zstd_close,
    .config = "libzstd, the level given by --zstd-level, each 4 KiB page compressed alone (ZSTD_compressCCtx with "
              "one context per thread) into an in-memory arena, kept raw if it does not shrink; reads "
              "decompress into the caller's buffer; no I/O, so 'cold' equals warm",
};

/* ======================================================================== */
/* RocksDB                                                                   */
/* ======================================================================== */

#ifdef SWAPOBJ_HAVE_ROCKSDB
struct rocks_store {
	struct store base;
	char *path;
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_cache_t *cache;
	rocksdb_writeoptions_t *wo;
	rocksdb_readoptions_t *ro;
	rocksdb_flushoptions_t *fo;
	double open_ns;
	_Atomic uint64_t user_bytes;
};

static int rocks_open_db(struct rocks_store *s)
{
	char *err = NULL;
	rocksdb_block_based_table_options_t *bbo = rocksdb_block_based_options_create();
	s->cache = rocksdb_cache_create_lru(64u << 20);
	rocksdb_block_based_options_set_block_size(bbo, 16 << 10);
	rocksdb_block_based_options_set_block_cache(bbo, s->cache);
	rocksdb_block_based_options_set_filter_policy(bbo, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(s->opt, bbo);
	rocksdb_block_based_options_destroy(bbo);
	uint64_t t0 = bench_now_ns();
	s->db = rocksdb_open(s->opt, s->path, &err);
	s->open_ns = (double)(bench_now_ns() - t0);
	if (err) {
		bench_err("rocksdb_open %s: %s", s->path, err);
		free(err);
		return -1;
	}
	return 0;
}

static void rocks_close_db(struct rocks_store *s)
{
	if (s->db)
		rocksdb_close(s->db);
	s->db = NULL;
	if (s->cache)
		rocksdb_cache_destroy(s->cache);
	s->cache = NULL;
}

static void rocks_close(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	if (!s)
		return;
	rocks_close_db(s);
	if (s->opt)
		rocksdb_options_destroy(s->opt);
	if (s->wo)
		rocksdb_writeoptions_destroy(s->wo);
	if (s->ro)
		rocksdb_readoptions_destroy(s->ro);
	if (s->fo)
		rocksdb_flushoptions_destroy(s->fo);
	free(s->path);
	free(s);
}

static int rocks_create(struct store **out, const struct store_params *p)
{
	struct rocks_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = SYS_ROCKSDB;
	s->path = path_join(p->dir, "rocksdb");
	s->opt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opt, 1);
	rocksdb_options_set_write_buffer_size(s->opt, 64u << 20);
	rocksdb_options_set_max_write_buffer_number(s->opt, 3);
	rocksdb_options_set_max_background_jobs(s->opt, 2);
	rocksdb_options_set_compression(s->opt, rocksdb_lz4_compression);
	s->wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(s->wo, 1);
	rocksdb_writeoptions_set_sync(s->wo, 0);
	s->ro = rocksdb_readoptions_create();
	s->fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(s->fo, 1);
	if (!s->path || rocks_open_db(s) < 0) {
		rocks_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static int rocks_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t k[16];
	if (n == 1) {
		key16(k, obj, pg);
		rocksdb_put(s->db, s->wo, (const char *)k, 16, (const char *)buf, BPG, &err);
	} else {
		rocksdb_writebatch_t *b = rocksdb_writebatch_create();
		for (uint32_t i = 0; i < n; i++) {
			key16(k, obj, pg + i);
			rocksdb_writebatch_put(b, (const char *)k, 16, (const char *)buf + (size_t)i * BPG, BPG);
		}
		rocksdb_write(s->db, s->wo, b, &err);
		rocksdb_writebatch_destroy(b);
	}
	if (err) {
		bench_err("rocksdb put: %s", err);
		free(err);
		return -1;
	}
	s->user_bytes += (uint64_t)n * BPG;
	return 0;
}

static int rocks_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	for (uint32_t i = 0; i < n; i++) {
		char *err = NULL;
		uint8_t k[16];
		size_t vl = 0;
		key16(k, obj, pg + i);
		rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(s->db, s->ro, (const char *)k, 16, &err);
		if (err) {
			bench_err("rocksdb get: %s", err);
			free(err);
			return -1;
		}
		const char *v = ps ? rocksdb_pinnableslice_value(ps, &vl) : NULL;
		if (!v || vl != BPG) {
			if (ps)
				rocksdb_pinnableslice_destroy(ps);
			return bench_err("rocksdb: object %u page %" PRIu64 " %s", obj, pg + i,
			                 v ? "has the wrong length" : "not found");
		}
		memcpy(buf + (size_t)i * BPG, v, BPG);
		rocksdb_pinnableslice_destroy(ps);
	}
	return 0;
}

static int rocks_sync(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	rocksdb_flush(s->db, s->fo, &err);
	if (err) {
		bench_err("rocksdb flush: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

static int rocks_reopen(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	if (rocks_sync(base) < 0)
		return -1;
	rocks_close_db(s);
	bench_drop_caches();
	return rocks_open_db(s);
}

static void rocks_stats(struct store *base, struct store_stats *o)
{
	struct rocks_store *s = (struct rocks_store *)base;
	memset(o, 0, sizeof(*o));
	o->dev_bytes = -1;
	o->user_bytes = (double)s->user_bytes;
	o->disk_bytes = (double)bench_du(s->path);
	o->pages = -1;
	o->index_bytes = -1;
	o->capacity_bytes = -1;
	o->open_ns = s->open_ns;
	char *v = rocksdb_property_value(s->db, "rocksdb.estimate-table-readers-mem");
	if (v) {
		o->index_bytes = strtod(v, NULL);
		free(v);
	}
	v = rocksdb_property_value(s->db, "rocksdb.estimate-num-keys");
	if (v) {
		o->pages = strtod(v, NULL);
		free(v);
	}
}

static int rocks_make_tiny(struct store *base, uint32_t first, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	for (uint32_t i = first; i < first + n; i++) {
		char *err = NULL;
		uint8_t k[16];
		uint64_t w = bench_mix64(i) | 1;
		key16(k, TINY_BASE + i, 0);
		rocksdb_put(s->db, s->wo, (const char *)k, 16, (const char *)&w, 8, &err);
		if (err) {
			bench_err("rocksdb put: %s", err);
			free(err);
			return -1;
		}
	}
	return 0;
}

static int rocks_exists(struct store *base, uint32_t obj)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t k[16];
	size_t vl = 0;
	key16(k, TINY_BASE + obj, 0);
	char *v = rocksdb_get(s->db, s->ro, (const char *)k, 16, &vl, &err);
	if (err) {
		bench_err("rocksdb get: %s", err);
		free(err);
		return -1;
	}
	uint64_t w = bench_mix64(obj) | 1;
	int r = !v ? 0 : (vl == 8 && memcmp(v, &w, 8) == 0) ? 1 : bench_err("rocksdb tiny %u reads back wrong", obj);
	free(v);
	return r;
}

static int rocks_drop_range(struct store *base, uint32_t first, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t a[16], b[16];
	key16(a, TINY_BASE + first, 0);
	key16(b, TINY_BASE + first + n, 0);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	rocksdb_writebatch_delete_range(wb, (const char *)a, 16, (const char *)b, 16);
	rocksdb_write(s->db, s->wo, wb, &err);
	rocksdb_writebatch_destroy(wb);
	if (err) {
		bench_err("rocksdb delete_range: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

static const struct store_ops rocks_ops = {
    .sys = SYS_ROCKSDB,
    .create = rocks_create,
    .write = rocks_write,
    .read = rocks_read,
    .sync = rocks_sync,
    .reopen = rocks_reopen,
    .stats = rocks_stats,
    .close = rocks_close,
    .drop_range = rocks_drop_range,
    .make_tiny = rocks_make_tiny,
    .exists = rocks_exists,
    .config = "RocksDB " SWAPOBJ_ROCKSDB_VERSION " (Debian) through its C API: key = object u64 BE + page u64 "
              "BE, value = the 4096-byte page; WAL off (disableWAL=1, sync=0); create_if_missing, "
              "write_buffer_size 64 MiB, max_write_buffer_number 3, max_background_jobs 2, LZ4 compression "
              "(all levels), other options default (level compaction); block-based table, 16 KiB blocks, "
              "64 MiB LRU block cache, bloom filter 10 bits/key; reads rocksdb_get_pinned + copy; sync = "
              "rocksdb_flush(wait=1), the only durability point without a WAL; prefix drop = one "
              "DeleteRange; index RAM = rocksdb.estimate-table-readers-mem",
};
#endif

/* ======================================================================== */
/* LMDB                                                                      */
/* ======================================================================== */

#ifdef SWAPOBJ_HAVE_LMDB
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

static const struct store_ops lmdb_ops = {
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
#endif

const struct store_ops *bench_store_ops(enum bench_sys sys)
{
	switch (sys) {
	case SYS_SWAPOBJ:
		return &so_ops;
	case SYS_SLOT:
		return &slot_ops;
	case SYS_ZSTD:
		return &zstd_ops;
	case SYS_ZRAM:
		return &zram_ops;
#ifdef SWAPOBJ_HAVE_ROCKSDB
	case SYS_ROCKSDB:
		return &rocks_ops;
#endif
#ifdef SWAPOBJ_HAVE_LMDB
	case SYS_LMDB:
		return &lmdb_ops;
#endif
	default:
		return NULL;
	}
}
