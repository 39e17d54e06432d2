/*
 * extmap.h - the per-object extent map: page number -> extslot.
 *
 * An object is a sparse array of 4 KiB pages, pgoff < EXTMAP_PGOFF_LIMIT
 * (2^38 pages = 2^50 bytes). The extent map says, for every page, which
 * on-disk record holds it now (an extslot, see extslot.h), or that the page
 * is a hole (EXT_NONE). It is the library's in-memory index, so it is built
 * to spend as few bytes per page as it can: pages written back to back cost
 * well under one byte each, pages written in random order about 3.2 bytes
 * when their records come from a 64 MiB stretch of the log, up to 6.5 for
 * records spread over a petabyte (see extmap.c for the encodings and their
 * invariants).
 *
 * Memory: every byte comes from so_alloc(SO_MEM_INDEX, ...) and is counted,
 * as charged by the allocator, in the map (extmap_mem()). An empty map holds
 * no memory at all. Overwriting mapped pages, in any order and to any kind,
 * allocates nothing once the chunks they are in (64 pages each) have taken
 * their shape under overwrites (each grows at most twice: for a few
 * rewritten pages, then for many) and as long as no address exceeds 4
 * times the highest the map had been given then, which a log that has
 * wrapped never does; mapping new pages grows the map, on a fraction of
 * the calls. The price: a chunk's memory never shrinks until all its pages
 * are unmapped, and an overwritten chunk keeps room for its worst case
 * (about 4.9 bytes a page for a 1M-page object randomly rewritten on a
 * 16 GiB log, against 3.9 when first written).
 *
 * Thread-safety: none. The caller holds the owning object's lock for every
 * call, readers included (extmap_get reads structures extmap_set frees).
 * The read-only calls (extmap_get, _next, _next_hole, _pages, _pages_kind,
 * _mem, _extents, _check) never write to the map, so several of them may
 * run at once under a shared (read) lock.
 *
 * Callbacks (extmap_cb) report slots that leave the map, so the caller can
 * account dead bytes in the log. They run before the slot is replaced and
 * must not call back into the same map.
 */
#ifndef SO_EXTMAP_H
#define SO_EXTMAP_H

#include <stdint.h>

#include "extslot.h"

/* Pages [0, EXTMAP_PGOFF_LIMIT) may be mapped: objects are at most 2^50 bytes. */
#define EXTMAP_PGOFF_LIMIT (1ull << 38)

/*
 * The map itself, embedded in the object. Fields are private to extmap.c;
 * zero-filled is a valid empty map (what extmap_init produces).
 */
struct extmap {
	uintptr_t root;     /* tagged chunk pointer (height 0) or interior node; 0 = empty */
	uint64_t mem;       /* bytes charged for everything below root */
	uint64_t npages[3]; /* mapped pages of kind EXT_DATA, EXT_ZERO, EXT_FILL */
	uint32_t prefix;    /* chunk-index bits above the root's span */
	uint8_t height;     /* levels of interior nodes, 0..6 */
	uint8_t addr_bits;  /* bits of the highest address ever set (sizes blocks for overwrites) */
};

/*
 * Reports one slot leaving the map: page pgoff used to map to old (never
 * EXT_NONE). ctx is the pointer given to the call that reports it.
 */
typedef void (*extmap_cb)(void *ctx, uint64_t pgoff, extslot old);

/* Make *m an empty map. Allocates nothing; cannot fail. */
void extmap_init(struct extmap *m);

/*
 * Free everything *m holds, calling cb (if not NULL) once for every mapped
 * page, in increasing pgoff order, with its slot. *m is left empty and may
 * be reused.
 */
void extmap_destroy(struct extmap *m, extmap_cb cb, void *ctx);

/*
 * Map pages [pgoff, pgoff + n) to slots[0 .. n). A slot whose kind is
 * EXT_NONE clears its page. slots is only read during the call. For every
 * page whose previous slot was not EXT_NONE and differs from its new one,
 * cb(ctx, page, old) is called (cb may be NULL) before the page changes.
 *
 * Requires pgoff + n <= EXTMAP_PGOFF_LIMIT, n <= 2^20 is the expected range
 * (larger works), and every slot's address <= ADDR_MAX (asserted).
 *
 * Returns 0, or SWAPOBJ_ENOMEM when an allocation failed. On ENOMEM each page
 * maps to either its old or its new slot (callbacks have been made exactly
 * for the pages that changed), the map is valid and its counters exact;
 * the caller decides what to do (the store turns itself read-only).
 */
int extmap_set(struct extmap *m, uint64_t pgoff, uint32_t n, const extslot *slots, extmap_cb cb, void *ctx);

/*
 * Unmap pages [pgoff, pgoff + npages). npages may run past the limit (e.g.
 * UINT64_MAX - pgoff to truncate); the range is clipped. Calls cb (if not
 * NULL) for every page that was mapped, in increasing pgoff order. Cost is
 * proportional to the mapped chunks in the range, not its length. Never
 * allocates and cannot fail; frees chunks and nodes that become empty.
 */
void extmap_clear(struct extmap *m, uint64_t pgoff, uint64_t npages, extmap_cb cb, void *ctx);

/*
 * The slot of page pgoff, EXT_NONE for a hole (also for pgoff beyond the
 * limit). O(height) with no allocation: the page-read path calls it.
 */
extslot extmap_get(const struct extmap *m, uint64_t pgoff);

/*
 * Find the first mapped page >= from: returns 1 and sets *pgoff and *slot,
 * or returns 0 (outputs untouched) if there is none. Empty ranges cost
 * nothing: O(height) plus one chunk scan.
 */
int extmap_next(const struct extmap *m, uint64_t from, uint64_t *pgoff, extslot *slot);

/*
 * The first unmapped page >= from. Pages at or past EXTMAP_PGOFF_LIMIT count
 * as unmapped, so the answer always exists: it is EXTMAP_PGOFF_LIMIT when
 * every page from `from` below the limit is mapped (from itself if from is
 * past the limit). Cost: O(height) plus the chunks of the mapped run that is
 * skipped (one chunk scan each); an unmapped `from` costs one lookup.
 */
uint64_t extmap_next_hole(const struct extmap *m, uint64_t from);

/* Number of mapped pages. O(1). */
uint64_t extmap_pages(const struct extmap *m);

/* Number of mapped pages of kind k (0 for EXT_NONE). O(1). */
uint64_t extmap_pages_kind(const struct extmap *m, enum ext_kind k);

/*
 * Bytes the map holds, as so_alloc charges them (malloc_usable_size + one
 * chunk header), interior nodes included. O(1).
 */
uint64_t extmap_mem(const struct extmap *m);

/*
 * Number of extents: maximal sequences of mapped pages that are consecutive
 * in pgoff and whose records are back to back on disk, by the run rule:
 * page p+1 continues page p if p is DATA or ZERO, and p+1 is DATA starting
 * where p's record ends, or ZERO starting there or (p ZERO) sharing p's
 * record. FILL pages are extents of their own. O(mapped pages).
 */
uint64_t extmap_extents(const struct extmap *m);

/*
 * Verify every invariant listed at the top of extmap.c (structure, counters,
 * memory total). Returns 0, or SWAPOBJ_ECORRUPT with a message (so_err)
 * naming the first broken invariant. O(mapped chunks); for tests and debug
 * builds.
 */
int extmap_check(const struct extmap *m);

/*
 * Testing only: let the next n allocations of every extent map succeed and
 * fail all later ones, until called again; n < 0 turns failures off.
 * Process-wide and not thread-safe.
 */
void extmap_inject_enomem(long n);

#endif
