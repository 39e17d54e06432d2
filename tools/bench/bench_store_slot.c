/*
 * bench_store_slot.c - what kernel swap does, as a swapobj-bench store: a
 * preallocated file, a free-slot bitmap searched next-fit, an in-memory slot
 * array per object, one 4 KiB pwrite/pread per page. The zram store
 * (bench_store_zram.c) drives a /dev/zramN the same way through these
 * functions. A batched read submits the slots of all its pages to an
 * io_uring at once (one ring per thread, made at its first batch) and waits
 * for them all, as swap readahead submits a cluster of reads together.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_store.h"

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
	struct io_uring *rings; /* per thread, for slot_read_batch */
	bool *ring_up;
};

/* Reads one ring has in flight at most; a larger batch is submitted in parts of this size. */
#define SLOT_RING_DEPTH 64u

/* Reclaim hands pages to swap in batches of SWAP_CLUSTER_MAX (32) and submits their writes together. */
#define SLOT_BATCH 32u

void slot_close(struct store *base)
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
	for (unsigned t = 0; s->ring_up && t < s->nthreads; t++)
		if (s->ring_up[t])
			io_uring_queue_exit(&s->rings[t]);
	free(s->rings);
	free(s->ring_up);
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

int slot_create_common(struct store **out, const struct store_params *p, bool zram)
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
	s->rings = calloc(s->nthreads, sizeof(*s->rings));
	s->ring_up = calloc(s->nthreads, sizeof(*s->ring_up));
	if (!s->bitmap || !s->slots || !s->pend || !s->rings || !s->ring_up || s->nslots >= UINT32_MAX)
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

int slot_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
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

int slot_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
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

/* The n pages' slots read through the thread's io_uring, all submitted before any is waited for. */
static int slot_read_batch(struct store *base, unsigned tid, const uint32_t *objs, const uint64_t *pgs, uint8_t *buf,
                           uint32_t n)
{
	struct slot_store *s = (struct slot_store *)base;
	struct io_uring *ring = &s->rings[tid];
	if (!s->ring_up[tid]) {
		int e = io_uring_queue_init(SLOT_RING_DEPTH, ring, 0);
		if (e < 0)
			return bench_err("slot-file: io_uring_queue_init: %s", strerror(-e));
		s->ring_up[tid] = true;
	}
	for (uint32_t first = 0; first < n; first += SLOT_RING_DEPTH) {
		uint32_t cnt = n - first < SLOT_RING_DEPTH ? n - first : SLOT_RING_DEPTH;
		for (uint32_t i = first; i < first + cnt; i++) {
			uint32_t slot = pgs[i] < s->obj_pages ? s->slots[objs[i]][pgs[i]] : 0;
			if (!slot)
				return bench_err("slot-file: object %u page %" PRIu64 " not stored", objs[i], pgs[i]);
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			io_uring_prep_read(sqe, s->rfd, buf + (size_t)i * BPG, BPG, (uint64_t)(slot - 1) * BPG);
			io_uring_sqe_set_data64(sqe, i);
		}
		int e = io_uring_submit_and_wait(ring, cnt);
		if (e < 0)
			return bench_err("slot-file: io_uring_submit_and_wait: %s", strerror(-e));
		/* Reap all cnt completions before reporting an error, so none is left for the next batch. */
		int res = BPG;
		uint64_t bad = 0;
		for (uint32_t k = 0; k < cnt; k++) {
			struct io_uring_cqe *cqe;
			if ((e = io_uring_wait_cqe(ring, &cqe)) < 0)
				return bench_err("slot-file: io_uring_wait_cqe: %s", strerror(-e));
			if (cqe->res != BPG && res == BPG) {
				res = cqe->res;
				bad = io_uring_cqe_get_data64(cqe);
			}
			io_uring_cqe_seen(ring, cqe);
		}
		if (res != BPG)
			return bench_err("slot-file: read of object %u page %" PRIu64 ": %s", objs[bad], pgs[bad],
			                 res < 0 ? strerror(-res) : "short read");
	}
	return 0;
}

int slot_sync(struct store *base)
{
	struct slot_store *s = (struct slot_store *)base;
	if (fdatasync(s->wfd) < 0)
		return bench_err("fdatasync %s: %s", s->path, strerror(errno));
	return 0;
}

int slot_reopen(struct store *base)
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

void slot_stats(struct store *base, struct store_stats *o)
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

const struct store_ops bench_store_slot = {
    .sys = SYS_SLOT,
    .create = slot_create,
    .write = slot_write,
    .read = slot_read,
    .read_batch = slot_read_batch,
    .sync = slot_sync,
    .reopen = slot_reopen,
    .stats = slot_stats,
    .close = slot_close,
    .config =
        "a file preallocated with posix_fallocate; free slots in a bitmap searched next-fit; a u32 slot "
        "array per object in RAM; writes: buffered 4 KiB pwrite per page into a newly allocated slot "
        "(the old slot is freed; adjacent slots of one call go in one pwrite), fdatasync as the sync; "
        "reads: 4 KiB pread per page through an O_DIRECT descriptor (adjacent slots of one call in one "
        "pread); batched reads: the 4 KiB reads of all the call's slots submitted at once to an io_uring (depth 64) "
        "on the O_DIRECT descriptor, then waited for together. Not persistent: like kernel swap, the slot "
        "array lives in RAM only",
};
