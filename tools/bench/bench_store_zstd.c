/*
 * bench_store_zstd.c - the codec alone as a swapobj-bench store: each page
 * compressed into an in-memory arena.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

#include "bench.h"
#include "bench_store.h"

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

const struct store_ops bench_store_zstd = {
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
