/*
 * extmap.c - the per-object extent map: page number -> extslot.
 *
 * Owns: a radix tree over 64-page chunks, the three encodings of a chunk,
 * and the rule for when a chunk's block grows (never on a steady-state
 * overwrite, see "Blocks" below).
 * Every byte is allocated with so_alloc(SO_MEM_INDEX) and counted in
 * extmap.mem as the allocator charges it. No locking: the caller holds the
 * object's lock for every call.
 *
 * Tree
 * ----
 * Page pgoff lives in chunk ci = pgoff >> 6, at in-chunk page pgoff & 63.
 * There are `height` (0..6) levels of interior nodes. A node at level L has
 * up to 64 children, child i covering the chunks whose index has
 * (ci >> 6*(L-1)) & 63 == i; children are stored packed in index order
 * after a 64-bit presence bitmap, so a node costs 8 bytes per child present
 * and child i sits at popcount(bitmap & (2^i - 1)). Children of level-1
 * nodes are chunks: pointers tagged with their form in the two low bits.
 * The root covers the chunks with ci >> 6*height == prefix, so one chunk
 * anywhere is a height-0 tree with no node at all, and a sparse object only
 * pays for the levels that its pages really spread over.
 *
 * Chunks (all sizes are requested at glibc's bin sizes, 24 + 16k bytes, so
 * that the allocator keeps no slack; slot48 = the 48 low bits of an extslot)
 *   LIST   [0] n; n entries {u8 page, slot48}, increasing page.
 *   PACK   [0,8)  bitmap of mapped pages
 *          [8,16) base(46) | w(6) << 46 | sh(6) << 52 | D << 58
 *          [16,..) one w-bit field per mapped page, in page order, as a bit
 *          stream (field i at bit i*w, low bit first):
 *              field = kind | ((addr - base) >> sh) << 2, or, if D (every
 *              page is DATA), just (addr - base) >> sh
 *          base is the lowest address, sh the trailing zero bits common to
 *          every addr - base, w = the bits of the largest shifted offset,
 *          plus 2 unless D (0..48). Pages written in random order get
 *          addresses from wherever the log head was, so the fields are as
 *          wide as the span of the log the chunk's pages came from: 22 bits
 *          for a 64 MiB window of the log, under 3 bytes a page instead of
 *          6. When data records are 4 KiB-aligned, sh removes 8 more bits.
 *   RUN    [0,8)  base(46) | first(6) << 46 | last(6) << 52 | zn(6) << 58
 *          [8,16) P: pages that map to the run
 *          zero info: zn <= 3: zn u16 {start(6) | (len-1)(6) << 6}, one per
 *                     zero record, increasing; zn == 63: Z, S as two u64
 *          u8 nx; nx entries {u8 page, slot48}, increasing page: the
 *          "exceptions", mapped pages that are not in P.
 *          zn == 62 (ZN_PAGES): no zero info; zn == 61 (ZN_PAGES_G): G as
 *          a u64; a run of pages out of line (split segments' data
 *          areas), see below.
 *   A RUN describes pages first..last written as records laid back to back
 *   from address base. Page p is a DATA record (260 units) unless p is in Z
 *   (a zero page); a zero page in S starts a zero record (4 units), one not
 *   in S shares the record of page p-1. Hence, with counts over [first, p):
 *       addr(p) = base + 260*#data + 4*#S - (p in Z\S ? 4 : 0)
 *   which extmap_get computes with two popcounts. A page leaves P when it is
 *   cleared or overwritten, but keeps its Z/S bits: its record still sits
 *   in the address sequence the later pages' addresses are computed from.
 *   So clearing never allocates, and a later write of the page following
 *   `last` whose record starts where the run ends extends the run.
 *   A page run (ZN_PAGES, ZN_PAGES_G) maps pages of 256 units back to back
 *   in a split segment's data area. Zero pages (and fills) are records in
 *   the segment's stream, not in the data area: they take no room in the
 *   run, so the pages between that hold none are gaps G (kept in Z; S is
 *   empty), exceptions or unmapped, and the others follow on:
 *       addr(p) = base + 256*(p - first - #G over [first, p))
 *   The run rule (slot_continues) takes the stride; the run of either kind
 *   that maps the most pages wins.
 *
 * Choosing a form
 * ---------------
 * The general update decodes the chunk into 64 slots, applies the change
 * and re-encodes: the run part is the better (more pages) of the old run,
 * extended forward by the new slots that follow it, and of the longest run
 * found in the new slots; every other mapped page is an exception. The
 * chunk takes the form whose bin is smallest, PACK winning ties over RUN
 * and RUN over LIST. That is O(64) per chunk, so the common single-page and
 * append cases take fast paths that edit in place and hand anything else
 * (including anything that needs a bigger block) to the general update:
 *   - fewer than PACK_FAST_MAX mapped pages of a PACK chunk whose new slots
 *     fit its fields (pack_update);
 *   - one page of a LIST that joins no run with a neighbour entry and fits
 *     the block (list_update);
 *   - pages that continue a RUN from its last page (run_extend);
 *   - one page of a RUN that becomes, changes or stops being an exception
 *     within the block (run_update).
 *
 * Blocks: allocation on the write path
 * ------------------------------------
 * Swap-out runs when memory is short, and a failed allocation turns the
 * store read-only, so overwriting mapped pages must not allocate once the
 * map has its shape. Three rules give that:
 *   a. A chunk's block never shrinks while the chunk maps a page: whatever
 *      encoding an update produces is written in place if it fits, whether
 *      or not it is the smallest form for the block (the block's size, not
 *      the form, is what memory costs). Removal therefore never allocates
 *      either, and a block is freed only with the last page of its chunk.
 *   b. When an update of a chunk's mapped pages only (an overwrite) needs a
 *      bigger block, the block gets the size of the chunk's PACK form with
 *      fields that hold any address up to 2^SLACK_BITS times the highest
 *      the map was ever given (slack_width, extmap.addr_bits). That is
 *      the form random overwrites drive a chunk to and the most they can
 *      need: a run broken up page by page, pages changing kind, the log
 *      head moving on all fit, so the chunk grows again only when the
 *      log's addresses have grown 4-fold, and never once they span the
 *      device (a log that has wrapped). One intermediate step: a RUN with
 *      at most LIGHT_NX/2 exceptions gets room for LIGHT_NX (a sequential
 *      object with a few hot pages rewritten stays near 1.5 bytes a page,
 *      not 4.5); its next growth is to the full size. Growing by doubling
 *      was tried and is not kept: it leaves the last step to whenever the
 *      log's span catches up, i.e. into what should be the steady state.
 *   c. Updates that map new pages get the bin they need: a 16-byte bin
 *      step holds several more PACK fields or LIST entries, so first writes
 *      allocate on a fraction of the calls (growth, not steady state).
 * The cost of (a) and (b): a chunk with more than LIGHT_NX/2 pages
 * overwritten holds a PACK-sized block (~3.5 bytes a page with 24-bit
 * addresses, not 0.5), and keeps it when rewritten as one run.
 *
 * Invariants (extmap_check verifies all of them)
 *  1. root == 0 iff the map maps no page; then height == 0 and prefix == 0.
 *  2. height <= 6 and prefix << 6*height < 2^32 (ci < 2^32 since pgoff < 2^38).
 *     If height > 0 the root node has at least two children (so that a
 *     tree never keeps levels it does not need).
 *  3. Every node and chunk block has room for its content; every node has
 *     a non-zero bitmap; the children of level-1 nodes are tagged chunk
 *     pointers, deeper children untagged node pointers.
 *  4. Every chunk maps at least one page; every stored slot has a kind other
 *     than EXT_NONE and an address < 2^46.
 *  5. LIST entries and RUN exceptions have strictly increasing pages < 64;
 *     a LIST has at least one entry.
 *  6. PACK: w <= 48 and w >= 2 unless D, sh < 46, header bits 59..63
 *     zero; every field decodes to an address <= ADDR_MAX (its kind is
 *     checked by 4).
 *  7. RUN: first <= last; P, Z are within [first, last]; S is within Z; a
 *     zero page first is in S; a zero page p not in S has p-1 in Z; no
 *     exception page is in P; zn <= 3, 62 or 63, zero records listed are
 *     increasing, disjoint and within [first, last]. A page run: S empty,
 *     the gaps Z disjoint from P and strictly inside (first, last), and
 *     zn == 62 iff there are none.
 *  8. npages[k-1] is the number of mapped pages of kind k.
 *  9. mem is the sum, over every node and chunk block, of
 *     malloc_usable_size + MALLOC_OVERHEAD, i.e. what so_alloc charged.
 * 10. Every mapped address is below 2^addr_bits (addr_bits only grows:
 *     it is the high-water mark of the addresses extmap_set was given).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "extmap.h"

#include <assert.h>
#include <malloc.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

_Static_assert(sizeof(struct extmap) <= 48, "struct extmap is embedded in every object");

#define LVL_SHIFT 6 /* log2 of the fanout, and of pages per chunk */
#define MAX_HEIGHT 6
#define MALLOC_OVERHEAD 8 /* what util.c adds to malloc_usable_size */

#define DATA_UNITS (REC_DATA_SIZE / ADDR_UNIT)     /* a classic page record: header and page */
#define PAGE_UNITS (SWAPOBJ_PAGE_SIZE / ADDR_UNIT) /* a page out of line (split segments) */
#define ZERO_UNITS (REC_ZERO_SIZE / ADDR_UNIT)

#define SLOT_BYTES 6
#define ENT_BYTES 7
#define PACK_HDR 16
#define PACK_W_MAX (2 + ADDR_BITS)
#define CHUNK_MAX (PACK_HDR + 64 * PACK_W_MAX / 8) /* the largest form plan_make can choose */
#define SLACK_BITS 2 /* an overwritten chunk's block holds addresses up to 2^SLACK_BITS times its highest */
#define LIGHT_NX 8   /* exceptions a lightly overwritten RUN's block has room for */
#define RUN_FIXED 17 /* header, P, nx */
#define ZLIST_MAX 3
#define ZN_MASKS 63u
#define ZN_PAGES 62u   /* a run of pages out of line: stride PAGE_UNITS, no gaps */
#define ZN_PAGES_G 61u /* the same, with a u64 mask of gaps (pages that took no room in the run) */
#define PACK_FAST_MAX 8

enum form { F_LIST = 1, F_PACK = 2, F_RUN = 3 };
#define TAG_MASK ((uintptr_t)3)

struct node {
	uint64_t bitmap;
	uintptr_t child[];
};

/* ---- bits and bytes ---------------------------------------------------- */

static inline uint64_t bit(unsigned i)
{
	return 1ull << i;
}
/* Bits [0, i). */
static inline uint64_t below(unsigned i)
{
	return i >= 64 ? ~0ull : bit(i) - 1;
}
/* Bits [a, b). */
static inline uint64_t span(unsigned a, unsigned b)
{
	return below(b) & ~below(a);
}
static inline unsigned popc(uint64_t x)
{
#ifdef __POPCNT__
	return (unsigned)__builtin_popcountll(x);
#else
	/* Without -mpopcnt the builtin is a libgcc call; this is faster on the lookup path. */
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}
static inline unsigned ctz(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}
static inline unsigned top(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/* In-memory encodings, so host order is fine; memcpy keeps them unaligned-safe. */
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
static inline void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static inline extslot slot_load(const uint8_t *p)
{
	uint32_t lo;
	uint16_t hi;
	memcpy(&lo, p, 4);
	memcpy(&hi, p + 4, 2);
	return (uint64_t)lo | (uint64_t)hi << 32;
}
static inline void slot_store(uint8_t *p, extslot s)
{
	uint32_t lo = (uint32_t)s;
	uint16_t hi = (uint16_t)(s >> 32);
	memcpy(p, &lo, 4);
	memcpy(p + 4, &hi, 2);
}

/*
 * Bit streams (PACK fields): w <= 48 bits at bit offset off, least
 * significant bit first, in a stream that starts PACK_HDR bytes into its
 * block. On a little-endian host one 8-byte access ends at the field's
 * last byte (it may reach back into the header, never before the block,
 * and rewrites bytes outside the field unchanged); elsewhere only the
 * field's bytes are touched. Either way no padding follows the last field.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
_Static_assert(PACK_HDR >= 8, "an 8-byte access ending at a field stays in the block");
static inline uint64_t bits_get(const uint8_t *b, size_t off, unsigned w)
{
	if (!w) /* an all-DATA chunk of one address has 0-bit fields */
		return 0;
	ptrdiff_t s = (ptrdiff_t)((off + w + 7) >> 3) - 8;
	unsigned at = (unsigned)((ptrdiff_t)off - 8 * s);
	return ld64(b + s) >> at & ((1ull << w) - 1);
}
static inline void bits_put(uint8_t *b, size_t off, unsigned w, uint64_t v)
{
	if (!w)
		return;
	ptrdiff_t s = (ptrdiff_t)((off + w + 7) >> 3) - 8;
	unsigned at = (unsigned)((ptrdiff_t)off - 8 * s);
	uint64_t mk = ((1ull << w) - 1) << at;
	st64(b + s, (ld64(b + s) & ~mk) | (v << at & mk));
}
#else
static uint64_t bits_get(const uint8_t *b, size_t off, unsigned w)
{
	const uint8_t *p = b + (off >> 3);
	unsigned sh = (unsigned)(off & 7), nb = (sh + w + 7) >> 3;
	uint64_t x = 0;
	for (unsigned i = 0; i < nb; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return (x >> sh) & ((1ull << w) - 1);
}
static void bits_put(uint8_t *b, size_t off, unsigned w, uint64_t v)
{
	uint8_t *p = b + (off >> 3);
	unsigned sh = (unsigned)(off & 7), nb = (sh + w + 7) >> 3;
	uint64_t x = 0, mk = ((1ull << w) - 1) << sh;
	for (unsigned i = 0; i < nb; i++)
		x |= (uint64_t)p[i] << (8 * i);
	x = (x & ~mk) | (v << sh & mk);
	for (unsigned i = 0; i < nb; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}
#endif

static inline uint8_t *cptr(uintptr_t t)
{
	return (uint8_t *)(t & ~TAG_MASK);
}
static inline enum form cform(uintptr_t t)
{
	return (enum form)(t & TAG_MASK);
}
static inline struct node *nptr(uintptr_t t)
{
	return (struct node *)t;
}

/* Holes are 0; any other slot must fit the 48 bits chunks store. */
static inline extslot slot_norm(extslot s)
{
	assert((s >> (ADDR_BITS + 2)) == 0);
	return extslot_kind(s) == EXT_NONE ? EXT_NONE : s;
}

/*
 * The run rule: does slot s, at the page after s0's, continue s0's run of
 * the given stride (DATA_UNITS: records back to back, zero records among
 * them; PAGE_UNITS: pages back to back in a data area, nothing else)?
 */
static bool slot_continues(extslot s0, extslot s, unsigned stride)
{
	enum ext_kind k0 = extslot_kind(s0), k = extslot_kind(s);
	uint64_t a0 = extslot_addr(s0), a = extslot_addr(s), end;
	if (stride == PAGE_UNITS)
		return k0 == EXT_DATA && k == EXT_DATA && a == a0 + PAGE_UNITS;
	if (k0 != EXT_DATA && k0 != EXT_ZERO)
		return false;
	end = a0 + (k0 == EXT_DATA ? DATA_UNITS : ZERO_UNITS);
	if (k == EXT_DATA)
		return a == end;
	if (k == EXT_ZERO)
		return a == end || (k0 == EXT_ZERO && a == a0);
	return false;
}
/* Does s continue s0's run of either stride? */
static bool slot_joins(extslot s0, extslot s)
{
	return slot_continues(s0, s, DATA_UNITS) || slot_continues(s0, s, PAGE_UNITS);
}
/* Does zero page s share the zero record of the page before it, s0? */
static inline bool zero_shares(extslot s0, extslot s)
{
	return extslot_kind(s0) == EXT_ZERO && extslot_kind(s) == EXT_ZERO && extslot_addr(s0) == extslot_addr(s);
}

/* ---- accounting ---------------------------------------------------------- */

static long inject_enomem = -1;

void extmap_inject_enomem(long n)
{
	inject_enomem = n;
}

static inline bool injected_failure(void)
{
	if (inject_enomem < 0)
		return false;
	if (inject_enomem == 0)
		return true;
	inject_enomem--;
	return false;
}

static inline size_t usable(const void *p)
{
	return malloc_usable_size((void *)p);
}
static inline size_t charge(const void *p)
{
	return usable(p) + MALLOC_OVERHEAD;
}
/* The request that exactly fills glibc's bin for n bytes (chunks of 32 + 16k). */
static inline size_t bin(size_t n)
{
	return n <= 24 ? 24 : SO_ROUND_UP(n + 8, 16) - 8;
}

static void *mem_alloc(struct extmap *m, size_t n)
{
	void *p = injected_failure() ? NULL : so_alloc(SO_MEM_INDEX, n);
	if (p) {
		assert(((uintptr_t)p & TAG_MASK) == 0);
		m->mem += charge(p);
	}
	return p;
}

static void *mem_realloc(struct extmap *m, void *p, size_t n)
{
	size_t old = charge(p);
	void *q = injected_failure() ? NULL : so_realloc(SO_MEM_INDEX, p, n);
	if (q)
		m->mem = m->mem - old + charge(q);
	return q;
}

static void mem_free(struct extmap *m, void *p)
{
	m->mem -= charge(p);
	so_free(SO_MEM_INDEX, p);
}

/* ---- entry lists (LIST chunks, RUN exceptions) --------------------------- */

/* Index of the first entry whose page is >= pg. */
static unsigned ent_lower(const uint8_t *e, unsigned n, unsigned pg)
{
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (e[ENT_BYTES * mid] < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static extslot ent_find(const uint8_t *e, unsigned n, unsigned pg)
{
	unsigned i = ent_lower(e, n, pg);
	return i < n && e[ENT_BYTES * i] == pg ? slot_load(e + ENT_BYTES * i + 1) : EXT_NONE;
}

static uint64_t ent_mask(const uint8_t *e, unsigned n)
{
	uint64_t mk = 0;
	for (unsigned i = 0; i < n; i++)
		mk |= bit(e[ENT_BYTES * i]);
	return mk;
}

/* Write entries for the pages of mk, slots from s. */
static void ent_write(uint8_t *e, const extslot *s, uint64_t mk)
{
	for (; mk; mk &= mk - 1, e += ENT_BYTES) {
		unsigned p = ctz(mk);
		e[0] = (uint8_t)p;
		slot_store(e + 1, s[p]);
	}
}

/* Drop the entries whose page is in mk, in place; returns the new count. */
static unsigned ent_drop(uint8_t *e, unsigned n, uint64_t mk)
{
	unsigned j = 0;
	for (unsigned i = 0; i < n; i++) {
		if (mk >> e[ENT_BYTES * i] & 1)
			continue;
		if (i != j)
			memmove(e + ENT_BYTES * j, e + ENT_BYTES * i, ENT_BYTES);
		j++;
	}
	return j;
}

/* ---- RUN chunks ---------------------------------------------------------- */

struct run {
	uint64_t base, P, Z, S;
	unsigned first, last;
	unsigned zn;     /* as stored: record count, ZN_MASKS or ZN_PAGES */
	unsigned zb;     /* bytes of zero info */
	unsigned stride; /* units per DATA page: DATA_UNITS, or PAGE_UNITS (ZN_PAGES) */
	unsigned nx;
	const uint8_t *ent;
};

static void run_decode(const uint8_t *c, struct run *r)
{
	uint64_t h = ld64(c);
	r->base = h & ADDR_MAX;
	r->first = (unsigned)(h >> 46) & 63;
	r->last = (unsigned)(h >> 52) & 63;
	r->zn = (unsigned)(h >> 58);
	r->P = ld64(c + 8);
	r->stride = DATA_UNITS;
	if (r->zn == ZN_PAGES || r->zn == ZN_PAGES_G) {
		/* Z holds the gaps; S stays empty. */
		r->S = 0;
		r->Z = r->zn == ZN_PAGES_G ? ld64(c + 16) : 0;
		r->zb = r->zn == ZN_PAGES_G ? 8 : 0;
		r->stride = PAGE_UNITS;
	} else if (r->zn == ZN_MASKS) {
		r->Z = ld64(c + 16);
		r->S = ld64(c + 24);
		r->zb = 16;
	} else {
		r->Z = r->S = 0;
		for (unsigned i = 0; i < r->zn; i++) {
			unsigned v = ld16(c + 16 + 2 * i), st = v & 63, len = (v >> 6 & 63) + 1;
			r->Z |= span(st, st + len);
			r->S |= bit(st);
		}
		r->zb = 2 * r->zn;
	}
	r->nx = c[16 + r->zb];
	r->ent = c + RUN_FIXED + r->zb;
}

/* Slot of page p, first <= p <= last, as the run computes it. */
static inline extslot run_slot(const struct run *r, unsigned p)
{
	uint64_t lo = below(p);
	unsigned nz = popc(r->Z & lo), ns = popc(r->S & lo);
	uint64_t addr = r->base + (uint64_t)r->stride * (p - r->first - nz) + (uint64_t)ZERO_UNITS * ns;
	if (r->stride == PAGE_UNITS && (r->Z >> p & 1))
		return EXT_NONE; /* a gap: the run gives it no slot */
	if (!(r->Z >> p & 1))
		return extslot_make(EXT_DATA, addr);
	if (!(r->S >> p & 1))
		addr -= ZERO_UNITS;
	return extslot_make(EXT_ZERO, addr);
}

/* The run's slot of every page first..last, mapped or not, in one pass. */
static void run_expand(const struct run *r, extslot *rs)
{
	uint64_t a = r->base, zrec = 0;
	for (unsigned p = r->first; p <= r->last; p++) {
		if (r->stride == PAGE_UNITS && (r->Z >> p & 1)) {
			rs[p] = EXT_NONE; /* a gap */
		} else if (r->Z >> p & 1) {
			if (r->S >> p & 1) {
				zrec = a;
				a += ZERO_UNITS;
			}
			rs[p] = extslot_make(EXT_ZERO, zrec);
		} else {
			rs[p] = extslot_make(EXT_DATA, a);
			a += r->stride;
		}
	}
}

/* ---- PACK chunks ------------------------------------------------------------ */

/*
 * A PACK chunk's parameters: fields of w bits, field = kind | off << 2 with
 * off = (addr - base) >> sh, or just off when every page is DATA (kb = 0).
 */
struct pack {
	uint64_t base;
	unsigned w, sh;
	unsigned kb; /* kind bits per field: 2, or 0 when every page is DATA */
};

#define PACK_F_DATA (1ull << 58) /* header flag: fields hold no kind (kb = 0) */

static inline size_t pack_need(unsigned n, unsigned w)
{
	return PACK_HDR + ((size_t)n * w + 7) / 8;
}

static inline void pack_decode(const uint8_t *c, struct pack *pk)
{
	uint64_t h = ld64(c + 8);
	pk->base = h & ADDR_MAX;
	pk->w = (unsigned)(h >> 46) & 63;
	pk->sh = (unsigned)(h >> 52) & 63;
	pk->kb = h & PACK_F_DATA ? 0 : 2;
}

static inline extslot pack_slot(const struct pack *pk, uint64_t f)
{
	enum ext_kind k = pk->kb ? (enum ext_kind)(f & 3) : EXT_DATA;
	return extslot_make(k, pk->base + ((f >> pk->kb) << pk->sh));
}

/* Can slot s (not a hole) be a field of pk? */
static inline bool pack_fits(const struct pack *pk, extslot s)
{
	uint64_t a = extslot_addr(s), d = a - pk->base;
	return (pk->kb || extslot_kind(s) == EXT_DATA) && a >= pk->base && !(d & below(pk->sh)) &&
	       (d >> pk->sh) < (1ull << (pk->w - pk->kb));
}

static inline uint64_t pack_field(const struct pack *pk, extslot s)
{
	uint64_t off = (extslot_addr(s) - pk->base) >> pk->sh;
	return pk->kb ? off << 2 | (uint64_t)extslot_kind(s) : off;
}

/* The narrowest parameters for the slots of mask (not empty). */
static void pack_plan(const extslot *s, uint64_t mask, struct pack *pk)
{
	uint64_t base = ADDR_MAX, any = 0, mx = 0;
	bool data = true;
	for (uint64_t mk = mask; mk; mk &= mk - 1) {
		base = SO_MIN(base, extslot_addr(s[ctz(mk)]));
		data &= extslot_kind(s[ctz(mk)]) == EXT_DATA;
	}
	for (uint64_t mk = mask; mk; mk &= mk - 1) {
		uint64_t d = extslot_addr(s[ctz(mk)]) - base;
		any |= d;
		mx = SO_MAX(mx, d);
	}
	pk->base = base;
	pk->sh = any ? ctz(any) : 0;
	mx >>= pk->sh;
	pk->kb = data ? 0 : 2;
	pk->w = pk->kb + (mx ? top(mx) + 1 : 0);
}

/*
 * Field width for an overwritten chunk's block: kind bits and an address
 * offset up to 2^SLACK_BITS times the highest address the map has ever been
 * given (m->addr_bits, not the chunk's own: right after the log wraps, a
 * chunk rewritten in full has only low addresses), so the block needs to
 * grow again only after the log has moved that far; once addresses span
 * the device (a log that has wrapped), never.
 */
static unsigned slack_width(const struct extmap *m)
{
	return SO_MIN(PACK_W_MAX, 2 + SLACK_BITS + m->addr_bits);
}

/* Write the fields of the pages of mask, slots from s, and the header. */
static void pack_write(uint8_t *c, const struct pack *pk, const extslot *s, uint64_t mask)
{
	unsigned i = 0;
	memset(c + PACK_HDR, 0, pack_need(popc(mask), pk->w) - PACK_HDR);
	st64(c, mask);
	st64(c + 8, pk->base | (uint64_t)pk->w << 46 | (uint64_t)pk->sh << 52 | (pk->kb ? 0 : PACK_F_DATA));
	for (uint64_t mk = mask; mk; mk &= mk - 1, i++)
		bits_put(c + PACK_HDR, (size_t)i * pk->w, pk->w, pack_field(pk, s[ctz(mk)]));
}

/* ---- chunks: read ----------------------------------------------------------- */

static extslot chunk_get(uintptr_t t, unsigned pg)
{
	const uint8_t *c = cptr(t);
	struct run r;
	switch (cform(t)) {
	case F_PACK: {
		uint64_t bm = ld64(c);
		struct pack pk;
		if (!(bm >> pg & 1))
			return EXT_NONE;
		pack_decode(c, &pk);
		return pack_slot(&pk, bits_get(c + PACK_HDR, (size_t)popc(bm & below(pg)) * pk.w, pk.w));
	}
	case F_LIST:
		return ent_find(c + 1, c[0], pg);
	default:
		run_decode(c, &r);
		if (r.P >> pg & 1)
			return run_slot(&r, pg);
		return ent_find(r.ent, r.nx, pg);
	}
}

static uint64_t chunk_mask(uintptr_t t)
{
	const uint8_t *c = cptr(t);
	struct run r;
	switch (cform(t)) {
	case F_PACK:
		return ld64(c);
	case F_LIST:
		return ent_mask(c + 1, c[0]);
	default:
		run_decode(c, &r);
		return r.P | ent_mask(r.ent, r.nx);
	}
}

/* A chunk decoded into 64 slots, plus its run if it is a RUN. */
struct view {
	uint64_t mask;
	extslot s[64];
	bool has_run;
	struct run run;
	extslot rs[64]; /* the run's slot of pages first..last */
};

static void view_ents(struct view *v, const uint8_t *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++, e += ENT_BYTES) {
		v->s[e[0]] = slot_load(e + 1);
		v->mask |= bit(e[0]);
	}
}

static void view_decode(uintptr_t t, struct view *v)
{
	const uint8_t *c = cptr(t);
	memset(v->s, 0, sizeof(v->s));
	v->mask = 0;
	v->has_run = false;
	if (!t)
		return;
	switch (cform(t)) {
	case F_PACK: {
		struct pack pk;
		unsigned i = 0;
		pack_decode(c, &pk);
		v->mask = ld64(c);
		for (uint64_t mk = v->mask; mk; mk &= mk - 1, i++)
			v->s[ctz(mk)] = pack_slot(&pk, bits_get(c + PACK_HDR, (size_t)i * pk.w, pk.w));
		break;
	}
	case F_LIST:
		view_ents(v, c + 1, c[0]);
		break;
	default:
		run_decode(c, &v->run);
		v->has_run = true;
		run_expand(&v->run, v->rs);
		for (uint64_t mk = v->run.P; mk; mk &= mk - 1)
			v->s[ctz(mk)] = v->rs[ctz(mk)];
		v->mask = v->run.P;
		view_ents(v, v->run.ent, v->run.nx);
		break;
	}
}

/* ---- chunks: choose and write an encoding ---------------------------------- */

/* A run part being planned: pages P within [first, last] (Z: a page run's gaps). */
struct cand {
	uint64_t base, P, Z, S;
	unsigned first, last;
	unsigned stride; /* DATA_UNITS or PAGE_UNITS */
};

/* Narrow c to [lowest, highest] page of P; s holds the run's slots for P. */
static bool cand_trim(struct cand *c, const extslot *s)
{
	uint64_t in;
	if (!c->P)
		return false;
	c->first = ctz(c->P);
	c->last = top(c->P);
	in = span(c->first, c->last + 1);
	c->base = extslot_addr(s[c->first]);
	c->Z &= in;
	/* The first page starts a record as far as this chunk is concerned. */
	c->S = (c->S & in) | (c->Z & bit(c->first));
	return true;
}

/*
 * A page run from page `from` on, after a page whose slot is prev: the
 * pages whose slots continue it go into c->P, the pages between them that
 * hold no page out of line (zero, fill, hole) into c->Z as gaps. Returns
 * the first page that neither continues nor can be a gap (64: none).
 */
static unsigned page_run_grow(const extslot *s, unsigned from, extslot prev, struct cand *c)
{
	uint64_t gaps = 0;
	unsigned p;
	for (p = from; p < 64; p++) {
		if (slot_continues(prev, s[p], PAGE_UNITS)) {
			c->P |= bit(p);
			c->Z |= gaps;
			gaps = 0;
			prev = s[p];
		} else if (extslot_kind(s[p]) != EXT_DATA) {
			gaps |= bit(p);
		} else {
			break;
		}
	}
	return p;
}

/* The old run, keeping the pages whose new slot is still its slot, extended by the new slots that follow it. */
static bool cand_old(const struct view *v, const extslot *s, struct cand *c)
{
	const struct run *r = &v->run;
	extslot prev = v->rs[r->last];
	c->P = 0;
	c->Z = r->Z;
	c->S = r->S;
	c->stride = r->stride;
	for (unsigned p = r->first; p <= r->last; p++)
		if (s[p] && s[p] == v->rs[p])
			c->P |= bit(p);
	if (r->stride == PAGE_UNITS) {
		page_run_grow(s, r->last + 1, prev, c);
		return cand_trim(c, s);
	}
	for (unsigned p = r->last + 1; p < 64 && slot_continues(prev, s[p], r->stride); p++) {
		c->P |= bit(p);
		if (extslot_kind(s[p]) == EXT_ZERO) {
			c->Z |= bit(p);
			if (!zero_shares(prev, s[p]))
				c->S |= bit(p);
		}
		prev = s[p];
	}
	return cand_trim(c, s);
}

/*
 * The run in the slots that maps the most pages (the first one of that
 * size, a record run before a page run): records back to back, or pages
 * out of line back to back with gaps between them.
 */
static bool cand_best(const extslot *s, struct cand *c)
{
	unsigned best = 0;
	for (unsigned p = 0; p < 64;) {
		enum ext_kind k = extslot_kind(s[p]);
		unsigned q = p;
		if (k != EXT_DATA && k != EXT_ZERO) {
			p++;
			continue;
		}
		while (q + 1 < 64 && slot_continues(s[q], s[q + 1], DATA_UNITS))
			q++;
		if (q - p + 1 > best) {
			best = q - p + 1;
			c->first = p;
			c->last = q;
			c->stride = DATA_UNITS;
		}
		p = q + 1;
	}
	for (unsigned p = 0; p < 64;) {
		struct cand pc = {0};
		if (extslot_kind(s[p]) != EXT_DATA) {
			p++;
			continue;
		}
		pc.P = bit(p);
		unsigned q = page_run_grow(s, p + 1, s[p], &pc);
		if ((unsigned)popc(pc.P) > best) {
			best = popc(pc.P);
			pc.stride = PAGE_UNITS;
			*c = pc;
			cand_trim(c, s);
		}
		p = q;
	}
	if (!best)
		return false;
	if (c->stride == PAGE_UNITS)
		return true;
	c->P = span(c->first, c->last + 1);
	c->Z = c->S = 0;
	for (unsigned p = c->first; p <= c->last; p++) {
		if (extslot_kind(s[p]) != EXT_ZERO)
			continue;
		c->Z |= bit(p);
		if (p == c->first || !zero_shares(s[p - 1], s[p]))
			c->S |= bit(p);
	}
	c->base = extslot_addr(s[c->first]);
	return true;
}

struct plan {
	enum form form;
	size_t need; /* bytes of the encoding */
	uint64_t mask;
	struct cand run;
	struct pack pk; /* the PACK parameters of the slots, whatever the form */
};

static size_t run_need(const struct cand *c, unsigned nx)
{
	unsigned zn = popc(c->S);
	if (c->stride == PAGE_UNITS)
		return RUN_FIXED + (c->Z ? 8 : 0) + (size_t)ENT_BYTES * nx;
	return RUN_FIXED + (zn <= ZLIST_MAX ? 2 * zn : 16) + (size_t)ENT_BYTES * nx;
}

static void plan_make(const struct view *v, const extslot *s, uint64_t mask, struct plan *pl)
{
	struct cand c1, c2;
	const struct cand *c = NULL;
	bool h1 = v->has_run && cand_old(v, s, &c1), h2 = cand_best(s, &c2);
	size_t n;

	if (h1 && h2)
		c = popc(c2.P) > popc(c1.P) ? &c2 : &c1;
	else if (h1 || h2)
		c = h1 ? &c1 : &c2;
	pl->mask = mask;
	pl->run = (struct cand){0};
	pack_plan(s, mask, &pl->pk);
	pl->form = F_PACK;
	pl->need = pack_need(popc(mask), pl->pk.w);
	if (c && bin(n = run_need(c, popc(mask & ~c->P))) < bin(pl->need)) {
		pl->form = F_RUN;
		pl->need = n;
		pl->run = *c;
	}
	if (bin(n = 1 + (size_t)ENT_BYTES * popc(mask)) < bin(pl->need)) {
		pl->form = F_LIST;
		pl->need = n;
	}
}

/*
 * A PACK plan going into a block of `room` bytes takes the widest fields
 * that fit (up to 48 bits, unshifted if that fits too): the block costs the
 * same, and later overwrites whose addresses lie past the exact span (the
 * log head moving on) then fit the fields and take pack_update's in-place
 * path instead of a full re-encoding.
 */
static void pack_widen(struct plan *pl, size_t room)
{
	unsigned n = popc(pl->mask), w, vb;
	if (pl->form != F_PACK)
		return;
	w = (unsigned)SO_MIN(PACK_W_MAX, (room - PACK_HDR) * 8 / n);
	if (w <= pl->pk.w)
		return;
	vb = pl->pk.w - pl->pk.kb; /* value bits the shifted offsets need */
	if (pl->pk.sh && w - pl->pk.kb >= vb + pl->pk.sh)
		pl->pk.sh = 0;
	pl->pk.w = w;
	pl->need = pack_need(n, w);
}

/* The zero records of Z, S (pages up to last) as the RUN's u16 list. */
static void zlist_write(uint8_t *z, uint64_t Z, uint64_t S, unsigned last)
{
	for (uint64_t mk = S; mk; mk &= mk - 1, z += 2) {
		unsigned st = ctz(mk), e = st + 1;
		while (e <= last && (Z >> e & 1) && !(S >> e & 1))
			e++;
		st16(z, (uint16_t)(st | (e - st - 1) << 6));
	}
}

static void plan_write(const struct plan *pl, const extslot *s, uint8_t *buf)
{
	const struct cand *c = &pl->run;
	unsigned zn, zb;
	uint64_t x;

	switch (pl->form) {
	case F_PACK:
		pack_write(buf, &pl->pk, s, pl->mask);
		return;
	case F_LIST:
		buf[0] = (uint8_t)popc(pl->mask);
		ent_write(buf + 1, s, pl->mask);
		return;
	case F_RUN:
		break;
	}
	zn = popc(c->S);
	if (c->stride == PAGE_UNITS) {
		/* No zero records (S empty); Z, the gaps, stored if any. */
		zn = c->Z ? ZN_PAGES_G : ZN_PAGES;
		zb = c->Z ? 8 : 0;
		if (c->Z)
			st64(buf + 16, c->Z);
	} else if (zn <= ZLIST_MAX) {
		zlist_write(buf + 16, c->Z, c->S, c->last);
		zb = 2 * zn;
	} else {
		st64(buf + 16, c->Z);
		st64(buf + 24, c->S);
		zn = ZN_MASKS;
		zb = 16;
	}
	st64(buf, c->base | (uint64_t)c->first << 46 | (uint64_t)c->last << 52 | (uint64_t)zn << 58);
	st64(buf + 8, c->P);
	x = pl->mask & ~c->P;
	buf[16 + zb] = (uint8_t)popc(x);
	ent_write(buf + RUN_FIXED + zb, s, x);
}

/* ---- tree ------------------------------------------------------------------ */

static inline unsigned rank(const struct node *nd, unsigned idx)
{
	return popc(nd->bitmap & below(idx));
}
static inline unsigned lvl_idx(uint64_t ci, unsigned level)
{
	return (unsigned)(ci >> (LVL_SHIFT * (level - 1))) & 63;
}
static inline bool root_covers(const struct extmap *m, uint64_t ci)
{
	return (ci >> (LVL_SHIFT * m->height)) == m->prefix;
}

/* Where the tree stores chunk ci, or NULL if it has no such chunk. */
static uintptr_t *tree_find(struct extmap *m, uint64_t ci)
{
	uintptr_t *p = &m->root;
	if (!m->root || !root_covers(m, ci))
		return NULL;
	for (unsigned level = m->height; level > 0; level--) {
		struct node *nd = nptr(*p);
		unsigned idx = lvl_idx(ci, level);
		if (!(nd->bitmap >> idx & 1))
			return NULL;
		p = &nd->child[rank(nd, idx)];
	}
	return p;
}

static struct node *node_new(struct extmap *m, unsigned idx, uintptr_t child)
{
	struct node *nd = mem_alloc(m, bin(sizeof(struct node) + sizeof(uintptr_t)));
	if (nd) {
		nd->bitmap = bit(idx);
		nd->child[0] = child;
	}
	return nd;
}

/* Add child at (absent) index idx, growing *ndp to the next bin if full. */
static int node_add(struct extmap *m, struct node **ndp, unsigned idx, uintptr_t child)
{
	struct node *nd = *ndp;
	unsigned n = popc(nd->bitmap), pos = rank(nd, idx);
	size_t need = sizeof(struct node) + (n + 1) * sizeof(uintptr_t);
	if (need > usable(nd)) {
		nd = mem_realloc(m, nd, bin(need));
		if (!nd)
			return SWAPOBJ_ENOMEM;
		*ndp = nd;
	}
	memmove(&nd->child[pos + 1], &nd->child[pos], (n - pos) * sizeof(uintptr_t));
	nd->child[pos] = child;
	nd->bitmap |= bit(idx);
	return 0;
}

/* Remove child idx; the node keeps its block (removal never allocates). */
static void node_del(struct node *nd, unsigned idx)
{
	unsigned n = popc(nd->bitmap), pos = rank(nd, idx);
	memmove(&nd->child[pos], &nd->child[pos + 1], (n - pos - 1) * sizeof(uintptr_t));
	nd->bitmap &= ~bit(idx);
}

/* Restore invariants 1 and 2: drop root nodes with a single child. */
static void root_normalize(struct extmap *m)
{
	while (m->root && m->height > 0 && popc(nptr(m->root)->bitmap) == 1) {
		struct node *nd = nptr(m->root);
		m->prefix = m->prefix << LVL_SHIFT | ctz(nd->bitmap);
		m->root = nd->child[0];
		m->height--;
		mem_free(m, nd);
	}
	if (!m->root) {
		m->height = 0;
		m->prefix = 0;
	}
}

/* Hang chunk t (absent so far) at index ci. On ENOMEM the tree is as before. */
static int tree_insert(struct extmap *m, uint64_t ci, uintptr_t t)
{
	struct node *chain[MAX_HEIGHT];
	unsigned nchain = 0;
	uintptr_t *p = &m->root;

	if (!m->root) {
		m->root = t;
		m->height = 0;
		m->prefix = (uint32_t)ci;
		return 0;
	}
	while (!root_covers(m, ci)) {
		struct node *nd = node_new(m, m->prefix & 63, m->root);
		if (!nd)
			goto nomem;
		m->root = (uintptr_t)nd;
		m->height++;
		m->prefix >>= LVL_SHIFT;
	}
	for (unsigned level = m->height;; level--) {
		struct node *nd = nptr(*p);
		unsigned idx = lvl_idx(ci, level);
		uintptr_t sub = t;
		assert(level > 0); /* else chunk ci exists */
		if (nd->bitmap >> idx & 1) {
			p = &nd->child[rank(nd, idx)];
			continue;
		}
		for (unsigned l = 1; l < level; l++) {
			struct node *c = node_new(m, lvl_idx(ci, l), sub);
			if (!c)
				goto nomem;
			chain[nchain++] = c;
			sub = (uintptr_t)c;
		}
		if (node_add(m, &nd, idx, sub) < 0)
			goto nomem;
		*p = (uintptr_t)nd;
		return 0;
	}
nomem:
	while (nchain)
		mem_free(m, chain[--nchain]);
	root_normalize(m);
	return so_err(SWAPOBJ_ENOMEM, "extent map: no memory for an index node");
}

/* Free chunk ci (which must exist) and the nodes that only led to it. */
static void tree_remove(struct extmap *m, uint64_t ci)
{
	struct node *path[MAX_HEIGHT + 1];
	uintptr_t *p = &m->root;
	unsigned h = m->height, level;

	for (level = h; level > 0; level--) {
		path[level] = nptr(*p);
		p = &path[level]->child[rank(path[level], lvl_idx(ci, level))];
	}
	mem_free(m, cptr(*p));
	for (level = 1; level <= h; level++) {
		node_del(path[level], lvl_idx(ci, level));
		if (path[level]->bitmap)
			break;
		mem_free(m, path[level]);
	}
	if (level > h)
		m->root = 0;
	root_normalize(m);
}

/* ---- chunks: update ------------------------------------------------------- */

/* Counters and callbacks for pages a..b-1 of chunk ci going from olds to news. */
static void notify(struct extmap *m, uint64_t ci, unsigned a, unsigned b, const extslot *olds, const extslot *news,
                   extmap_cb cb, void *ctx)
{
	for (unsigned p = a; p < b; p++) {
		extslot o = olds[p], n = news[p];
		if (o == n)
			continue;
		if (o) {
			m->npages[extslot_kind(o) - 1]--;
			if (cb)
				cb(ctx, (ci << LVL_SHIFT) + p, o);
		}
		if (n)
			m->npages[extslot_kind(n) - 1]++;
	}
}

/* notify() for one page. */
static inline void note(struct extmap *m, uint64_t pg, extslot o, extslot n, extmap_cb cb, void *ctx)
{
	if (o) {
		m->npages[extslot_kind(o) - 1]--;
		if (cb)
			cb(ctx, pg, o);
	}
	if (n)
		m->npages[extslot_kind(n) - 1]++;
}

/*
 * Fast path: a few mapped pages of a PACK chunk take slots that fit its
 * fields, in place. Returns 1 (and changes nothing) when a page is added or
 * removed or a slot does not fit: the general path re-plans those.
 */
static int pack_update(struct extmap *m, uintptr_t t, uint64_t ci, unsigned a, unsigned b, const extslot *ns,
                       extmap_cb cb, void *ctx)
{
	uint8_t *c = cptr(t);
	uint64_t bm = ld64(c);
	struct pack pk;

	pack_decode(c, &pk);
	for (unsigned p = a; p < b; p++) {
		extslot n = slot_norm(ns[p - a]);
		if (!(bm >> p & 1) ? n != EXT_NONE : !n || !pack_fits(&pk, n))
			return 1;
	}
	for (unsigned p = a; p < b; p++) {
		size_t off = (size_t)popc(bm & below(p)) * pk.w;
		extslot n = slot_norm(ns[p - a]), o;
		if (!n)
			continue;
		o = pack_slot(&pk, bits_get(c + PACK_HDR, off, pk.w));
		if (o == n)
			continue;
		note(m, (ci << LVL_SHIFT) + p, o, n, cb, ctx);
		bits_put(c + PACK_HDR, off, pk.w, pack_field(&pk, n));
	}
	return 0;
}

/*
 * Fast path: one page of a LIST chunk, in place. Returns 1 (and changes
 * nothing) when the page would join a run with a neighbour or the list
 * outgrows its block: the general path decides those.
 */
static int list_update(struct extmap *m, uintptr_t t, uint64_t ci, unsigned p, extslot n, extmap_cb cb, void *ctx)
{
	uint8_t *c = cptr(t), *e = c + 1;
	unsigned cnt = c[0], i = ent_lower(e, cnt, p);
	bool found = i < cnt && e[ENT_BYTES * i] == p;
	extslot o = found ? slot_load(e + ENT_BYTES * i + 1) : EXT_NONE;
	unsigned nx = i + found; /* the entry after p */
	size_t need = 1 + (size_t)ENT_BYTES * (cnt + 1);

	if (o == n)
		return 0;
	if (!n) {
		note(m, (ci << LVL_SHIFT) + p, o, n, cb, ctx);
		if (cnt == 1) {
			tree_remove(m, ci);
			return 0;
		}
		memmove(e + ENT_BYTES * i, e + ENT_BYTES * (i + 1), ENT_BYTES * (cnt - i - 1));
		c[0]--;
		return 0;
	}
	if (i > 0 && e[ENT_BYTES * (i - 1)] == p - 1 && slot_joins(slot_load(e + ENT_BYTES * (i - 1) + 1), n))
		return 1;
	if (nx < cnt && e[ENT_BYTES * nx] == p + 1 && slot_joins(n, slot_load(e + ENT_BYTES * nx + 1)))
		return 1;
	if (!found) {
		if (need > usable(c))
			return 1;
		memmove(e + ENT_BYTES * (i + 1), e + ENT_BYTES * i, ENT_BYTES * (cnt - i));
		e[ENT_BYTES * i] = (uint8_t)p;
		c[0]++;
	}
	note(m, (ci << LVL_SHIFT) + p, o, n, cb, ctx);
	slot_store(e + ENT_BYTES * i + 1, n);
	return 0;
}

/*
 * Fast path: pages a..b-1 follow a RUN's last page, in records that continue
 * it without starting a new zero record (so the encoding keeps its size).
 * Returns 1 (and changes nothing) when that is not the case.
 */
static int run_extend(struct extmap *m, uintptr_t t, unsigned a, unsigned b, const extslot *ns)
{
	uint8_t *c = cptr(t);
	struct run r;
	extslot prev;
	uint64_t add = span(a, b), zadd = 0, sadd = 0;
	unsigned zn;

	run_decode(c, &r);
	if (a != r.last + 1 || (r.nx && (ent_mask(r.ent, r.nx) & add)))
		return 1;
	prev = run_slot(&r, r.last);
	for (unsigned p = a; p < b; p++) {
		extslot n = slot_norm(ns[p - a]);
		if (!slot_continues(prev, n, r.stride))
			return 1;
		if (extslot_kind(n) == EXT_ZERO) {
			zadd |= bit(p);
			if (!zero_shares(prev, n))
				sadd |= bit(p);
		}
		prev = n;
	}
	if (r.zn == ZN_MASKS) {
		st64(c + 16, r.Z | zadd);
		st64(c + 24, r.S | sadd);
	} else if (zadd) {
		/* New zero records lengthen the list: only while it stays a list and fits the block. */
		zn = r.zn + popc(sadd);
		if (zn > ZLIST_MAX || RUN_FIXED + 2 * zn + (size_t)ENT_BYTES * r.nx > usable(c))
			return 1;
		memmove(c + RUN_FIXED + 2 * zn - 1, c + RUN_FIXED + r.zb - 1, 1 + (size_t)ENT_BYTES * r.nx);
		zlist_write(c + 16, r.Z | zadd, r.S | sadd, b - 1);
		st64(c, (ld64(c) & ~(63ull << 58)) | (uint64_t)zn << 58);
	}
	st64(c, (ld64(c) & ~(63ull << 52)) | (uint64_t)(b - 1) << 52);
	st64(c + 8, r.P | add);
	for (unsigned p = a; p < b; p++)
		m->npages[extslot_kind(ns[p - a]) - 1]++;
	return 0;
}

/*
 * Fast path: one page of a RUN chunk that does not join the run becomes,
 * changes or stops being an exception, in place. Returns 1 (and changes
 * nothing) when the exceptions outgrow the block or the page belongs back
 * in the run: the general path decides those.
 */
static int run_update(struct extmap *m, uintptr_t t, uint64_t ci, unsigned p, extslot n, extmap_cb cb, void *ctx)
{
	uint8_t *c = cptr(t), *e;
	struct run r;
	unsigned i;
	bool in_p, found;
	extslot o;
	size_t need;

	run_decode(c, &r);
	e = c + RUN_FIXED + r.zb;
	i = ent_lower(e, r.nx, p);
	in_p = r.P >> p & 1;
	found = i < r.nx && e[ENT_BYTES * i] == p;
	o = in_p ? run_slot(&r, p) : found ? slot_load(e + ENT_BYTES * i + 1) : EXT_NONE;
	if (o == n)
		return 0;
	if (n && p >= r.first && p <= r.last && n == run_slot(&r, p))
		return 1; /* back into the run */
	if (n && p == r.last + 1 && slot_continues(run_slot(&r, r.last), n, r.stride))
		return 1; /* extends the run */
	if (!n) {
		note(m, (ci << LVL_SHIFT) + p, o, n, cb, ctx);
		if (in_p) {
			st64(c + 8, r.P & ~bit(p));
		} else {
			memmove(e + ENT_BYTES * i, e + ENT_BYTES * (i + 1), ENT_BYTES * (r.nx - i - 1));
			c[16 + r.zb]--;
		}
		if (!(r.P & ~bit(p)) && r.nx - !in_p == 0)
			tree_remove(m, ci);
		return 0;
	}
	if (!found) {
		need = RUN_FIXED + r.zb + (size_t)ENT_BYTES * (r.nx + 1);
		if (need > usable(c))
			return 1;
		memmove(e + ENT_BYTES * (i + 1), e + ENT_BYTES * i, ENT_BYTES * (r.nx - i));
		e[ENT_BYTES * i] = (uint8_t)p;
		c[16 + r.zb]++;
	}
	note(m, (ci << LVL_SHIFT) + p, o, n, cb, ctx);
	if (in_p)
		st64(c + 8, r.P & ~bit(p));
	slot_store(e + ENT_BYTES * i + 1, n);
	return 0;
}

/* Pages a..b-1 of chunk ci take slots ns[0 .. b-a). */
static int chunk_update(struct extmap *m, uint64_t ci, unsigned a, unsigned b, const extslot *ns, extmap_cb cb,
                        void *ctx)
{
	uintptr_t *loc = tree_find(m, ci);
	uintptr_t old = loc ? *loc : 0, t;
	uint8_t *oblk = cptr(old), *blk;
	struct view v;
	struct plan pl;
	extslot s[64];
	uint64_t mask;
	bool changed = false;
	uint8_t buf[CHUNK_MAX];
	size_t size;
	int err;

	if (old && cform(old) == F_PACK && b - a < PACK_FAST_MAX && pack_update(m, old, ci, a, b, ns, cb, ctx) == 0)
		return 0;
	if (old && cform(old) == F_LIST && b - a == 1 &&
	    (err = list_update(m, old, ci, a, slot_norm(ns[0]), cb, ctx)) != 1)
		return err;
	if (old && cform(old) == F_RUN && run_extend(m, old, a, b, ns) == 0)
		return 0;
	if (old && cform(old) == F_RUN && b - a == 1 &&
	    (err = run_update(m, old, ci, a, slot_norm(ns[0]), cb, ctx)) != 1)
		return err;
	view_decode(old, &v);
	memcpy(s, v.s, sizeof(s));
	mask = v.mask;
	for (unsigned p = a; p < b; p++) {
		extslot n = slot_norm(ns[p - a]);
		if (n == s[p])
			continue;
		changed = true;
		s[p] = n;
		mask = n ? mask | bit(p) : mask & ~bit(p);
	}
	if (!changed)
		return 0;
	if (!mask) {
		notify(m, ci, a, b, v.s, s, cb, ctx);
		tree_remove(m, ci);
		return 0;
	}
	plan_make(&v, s, mask, &pl);
	assert(pl.need <= CHUNK_MAX);

	if (old && pl.need <= usable(oblk)) {
		/* The block never shrinks: the next overwrite may need it again. */
		pack_widen(&pl, usable(oblk));
		plan_write(&pl, s, buf);
		notify(m, ci, a, b, v.s, s, cb, ctx);
		memcpy(oblk, buf, pl.need);
		*loc = (uintptr_t)oblk | pl.form;
		return 0;
	}
	/*
	 * A bigger block (rule b above). When only mapped pages changed, the
	 * chunk is being overwritten: a run with a few exceptions gets room
	 * for LIGHT_NX of them; anything else the size of the PACK form of
	 * its pages with fields that hold any address below 4 times the
	 * highest the map has seen (no shift), the most later overwrites can
	 * need. New pages get the bin they need.
	 */
	size = bin(pl.need);
	if (old && !(mask & ~v.mask)) {
		size_t cap = bin(pack_need(popc(mask), slack_width(m)));
		size_t light = bin(run_need(&pl.run, LIGHT_NX));
		bool few = pl.form == F_RUN && popc(mask & ~pl.run.P) <= LIGHT_NX / 2 && v.has_run;
		size = SO_MAX(size, few && light < cap ? light : cap);
	}
	blk = mem_alloc(m, size);
	if (!blk && size > bin(pl.need))
		blk = mem_alloc(m, size = bin(pl.need));
	if (!blk)
		return so_err(SWAPOBJ_ENOMEM, "extent map: no memory for a %zu-byte chunk", size);
	pack_widen(&pl, usable(blk));
	plan_write(&pl, s, buf);
	memcpy(blk, buf, pl.need);
	t = (uintptr_t)blk | pl.form;
	if (!old && (err = tree_insert(m, ci, t)) < 0) {
		mem_free(m, blk);
		return err;
	}
	notify(m, ci, a, b, v.s, s, cb, ctx);
	if (old) {
		*loc = t;
		mem_free(m, oblk);
	}
	return 0;
}

/* Unmap pages [lo, hi) of chunk ci stored at *p; true if it became empty and was freed. */
static bool chunk_clear(struct extmap *m, uintptr_t *p, uint64_t ci, uint64_t lo, uint64_t hi, extmap_cb cb, void *ctx)
{
	uint64_t pg0 = ci << LVL_SHIFT, gone;
	unsigned a = lo > pg0 ? (unsigned)(lo - pg0) : 0, b = hi - pg0 >= 64 ? 64 : (unsigned)(hi - pg0);
	uintptr_t t = *p;
	uint8_t *c = cptr(t);
	struct view v;

	view_decode(t, &v);
	gone = v.mask & span(a, b);
	if (!gone)
		return false;
	for (uint64_t mk = gone; mk; mk &= mk - 1) {
		extslot o = v.s[ctz(mk)];
		m->npages[extslot_kind(o) - 1]--;
		if (cb)
			cb(ctx, pg0 + ctz(mk), o);
	}
	if (gone == v.mask) {
		mem_free(m, c);
		return true;
	}
	switch (cform(t)) {
	case F_PACK: {
		/* The remaining fields still fit the header's parameters: repack them from the view. */
		struct pack pk;
		pack_decode(c, &pk);
		pack_write(c, &pk, v.s, v.mask & ~gone);
		break;
	}
	case F_LIST:
		c[0] = (uint8_t)ent_drop(c + 1, c[0], gone);
		break;
	case F_RUN:
		/* Cleared run pages keep their Z/S bits: later addresses depend on them. */
		st64(c + 8, v.run.P & ~gone);
		c[16 + v.run.zb] = (uint8_t)ent_drop(c + RUN_FIXED + v.run.zb, v.run.nx, gone);
		break;
	}
	return false;
}

/* ---- public ---------------------------------------------------------------- */

void extmap_init(struct extmap *m)
{
	memset(m, 0, sizeof(*m));
}

static void destroy_rec(struct extmap *m, uintptr_t t, unsigned level, uint64_t ci0, extmap_cb cb, void *ctx)
{
	struct node *nd = nptr(t);
	unsigned sh = LVL_SHIFT * (level - 1), i = 0;

	if (level == 0) {
		if (cb) {
			struct view v;
			view_decode(t, &v);
			for (uint64_t mk = v.mask; mk; mk &= mk - 1)
				cb(ctx, (ci0 << LVL_SHIFT) + ctz(mk), v.s[ctz(mk)]);
		}
		mem_free(m, cptr(t));
		return;
	}
	for (uint64_t bm = nd->bitmap; bm; bm &= bm - 1)
		destroy_rec(m, nd->child[i++], level - 1, ci0 + ((uint64_t)ctz(bm) << sh), cb, ctx);
	mem_free(m, nd);
}

void extmap_destroy(struct extmap *m, extmap_cb cb, void *ctx)
{
	if (m->root)
		destroy_rec(m, m->root, m->height, (uint64_t)m->prefix << (LVL_SHIFT * m->height), cb, ctx);
	assert(m->mem == 0);
	extmap_init(m);
}

int extmap_set(struct extmap *m, uint64_t pgoff, uint32_t n, const extslot *slots, extmap_cb cb, void *ctx)
{
	uint64_t pg = pgoff, end = pgoff + n, any = 0;
	int err;

	assert(pgoff <= EXTMAP_PGOFF_LIMIT && n <= EXTMAP_PGOFF_LIMIT - pgoff);
	for (uint32_t i = 0; i < n; i++)
		any |= slots[i];
	if (any >> 2)
		m->addr_bits = (uint8_t)SO_MAX(m->addr_bits, top(any >> 2) + 1);
	while (pg < end) {
		unsigned a = (unsigned)(pg & 63), b = (unsigned)SO_MIN(64, a + (end - pg));
		if ((err = chunk_update(m, pg >> LVL_SHIFT, a, b, slots + (pg - pgoff), cb, ctx)) < 0)
			return err;
		pg += b - a;
	}
	return 0;
}

/* Clear [lo, hi) below the node *p at level >= 1 covering chunks from ci0; true if it became empty and was freed. */
static bool clear_rec(struct extmap *m, uintptr_t *p, unsigned level, uint64_t ci0, uint64_t lo, uint64_t hi,
                      extmap_cb cb, void *ctx)
{
	struct node *nd = nptr(*p);
	unsigned sh = LVL_SHIFT * (level - 1), i0, i1;
	uint64_t lo_ci = lo >> LVL_SHIFT, hi_ci = (hi - 1) >> LVL_SHIFT, todo;

	if (level == 0)
		return chunk_clear(m, p, ci0, lo, hi, cb, ctx);
	i0 = lo_ci > ci0 ? (unsigned)((lo_ci - ci0) >> sh) : 0;
	i1 = (unsigned)SO_MIN(63, (hi_ci - ci0) >> sh);
	for (todo = nd->bitmap & span(i0, i1 + 1); todo; todo &= todo - 1) {
		unsigned idx = ctz(todo);
		if (clear_rec(m, &nd->child[rank(nd, idx)], level - 1, ci0 + ((uint64_t)idx << sh), lo, hi, cb, ctx))
			node_del(nd, idx);
	}
	if (nd->bitmap)
		return false;
	mem_free(m, nd);
	return true;
}

void extmap_clear(struct extmap *m, uint64_t pgoff, uint64_t npages, extmap_cb cb, void *ctx)
{
	uint64_t end, ci0, ci1;
	unsigned sh = LVL_SHIFT * m->height;

	if (!so_add_ok(pgoff, npages, &end) || end > EXTMAP_PGOFF_LIMIT)
		end = EXTMAP_PGOFF_LIMIT;
	if (!m->root || pgoff >= end)
		return;
	ci0 = (uint64_t)m->prefix << sh;
	ci1 = ci0 + (1ull << sh);
	if (end <= ci0 << LVL_SHIFT || pgoff >= ci1 << LVL_SHIFT)
		return;
	if (clear_rec(m, &m->root, m->height, ci0, pgoff, end, cb, ctx))
		m->root = 0;
	root_normalize(m);
}

extslot extmap_get(const struct extmap *m, uint64_t pgoff)
{
	uint64_t ci = pgoff >> LVL_SHIFT;
	uintptr_t t = m->root;

	if (!t || pgoff >= EXTMAP_PGOFF_LIMIT || !root_covers(m, ci))
		return EXT_NONE;
	for (unsigned level = m->height; level > 0; level--) {
		const struct node *nd = nptr(t);
		unsigned idx = lvl_idx(ci, level);
		if (!(nd->bitmap >> idx & 1))
			return EXT_NONE;
		t = nd->child[rank(nd, idx)];
	}
	return chunk_get(t, (unsigned)(pgoff & 63));
}

/* First mapped page >= from below t (level, first chunk ci0); from is below t's end. */
static int next_rec(uintptr_t t, unsigned level, uint64_t ci0, uint64_t from, uint64_t *pgoff, extslot *slot)
{
	const struct node *nd = nptr(t);
	uint64_t pg0 = ci0 << LVL_SHIFT, fci = from >> LVL_SHIFT, mk;
	unsigned sh = LVL_SHIFT * (level - 1), i0;

	if (level == 0) {
		mk = chunk_mask(t) & ~below(from > pg0 ? (unsigned)(from - pg0) : 0);
		if (!mk)
			return 0;
		*pgoff = pg0 + ctz(mk);
		*slot = chunk_get(t, ctz(mk));
		return 1;
	}
	i0 = fci > ci0 ? (unsigned)((fci - ci0) >> sh) : 0;
	/* Only the first child visited can fail: the later ones start past from and are not empty. */
	for (mk = nd->bitmap & ~below(i0); mk; mk &= mk - 1) {
		unsigned idx = ctz(mk);
		if (next_rec(nd->child[rank(nd, idx)], level - 1, ci0 + ((uint64_t)idx << sh), from, pgoff, slot))
			return 1;
	}
	return 0;
}

int extmap_next(const struct extmap *m, uint64_t from, uint64_t *pgoff, extslot *slot)
{
	unsigned sh = LVL_SHIFT * m->height;
	uint64_t ci0 = (uint64_t)m->prefix << sh;

	if (!m->root || from >= (ci0 + (1ull << sh)) << LVL_SHIFT)
		return 0;
	return next_rec(m->root, m->height, ci0, from, pgoff, slot);
}

/*
 * First unmapped page >= from below t (level, first chunk ci0), from below
 * t's end: returns 1 and sets *pgoff, or 0 if every page from `from` to t's
 * end is mapped. A child missing from a node is a hole at its start, so the
 * walk visits only the chunks of the mapped run it skips.
 */
static int hole_rec(uintptr_t t, unsigned level, uint64_t ci0, uint64_t from, uint64_t *pgoff)
{
	const struct node *nd = nptr(t);
	uint64_t pg0 = ci0 << LVL_SHIFT, fci = from >> LVL_SHIFT, mk;
	unsigned sh = LVL_SHIFT * (level - 1), i0;

	if (level == 0) {
		mk = ~chunk_mask(t) & ~below(from > pg0 ? (unsigned)(from - pg0) : 0);
		if (!mk)
			return 0;
		*pgoff = pg0 + ctz(mk);
		return 1;
	}
	i0 = fci > ci0 ? (unsigned)((fci - ci0) >> sh) : 0;
	for (unsigned i = i0; i < 64; i++) {
		uint64_t cci = ci0 + ((uint64_t)i << sh);
		if (!(nd->bitmap >> i & 1)) {
			*pgoff = SO_MAX(from, cci << LVL_SHIFT);
			return 1;
		}
		if (hole_rec(nd->child[rank(nd, i)], level - 1, cci, from, pgoff))
			return 1;
	}
	return 0;
}

uint64_t extmap_next_hole(const struct extmap *m, uint64_t from)
{
	unsigned sh = LVL_SHIFT * m->height;
	uint64_t ci0 = (uint64_t)m->prefix << sh, lo = ci0 << LVL_SHIFT, hi = (ci0 + (1ull << sh)) << LVL_SHIFT, pg;

	if (!m->root || from < lo || from >= hi)
		return from; /* outside the root's span (past the limit too): nothing is mapped there */
	return hole_rec(m->root, m->height, ci0, from, &pg) ? pg : hi;
}

uint64_t extmap_pages(const struct extmap *m)
{
	return m->npages[0] + m->npages[1] + m->npages[2];
}

uint64_t extmap_pages_kind(const struct extmap *m, enum ext_kind k)
{
	return k >= EXT_DATA && k <= EXT_FILL ? m->npages[k - 1] : 0;
}

uint64_t extmap_mem(const struct extmap *m)
{
	return m->mem;
}

typedef void (*chunk_fn)(void *arg, uint64_t ci, uintptr_t t);

/* Visit every chunk below t in increasing index order. */
static void walk(uintptr_t t, unsigned level, uint64_t ci0, chunk_fn fn, void *arg)
{
	const struct node *nd = nptr(t);
	unsigned i = 0;
	if (level == 0) {
		fn(arg, ci0, t);
		return;
	}
	for (uint64_t bm = nd->bitmap; bm; bm &= bm - 1)
		walk(nd->child[i++], level - 1, ci0 + ((uint64_t)ctz(bm) << (LVL_SHIFT * (level - 1))), fn, arg);
}

static void walk_map(const struct extmap *m, chunk_fn fn, void *arg)
{
	if (m->root)
		walk(m->root, m->height, (uint64_t)m->prefix << (LVL_SHIFT * m->height), fn, arg);
}

struct extents_state {
	uint64_t count, prev_pg;
	extslot prev;
};

static void extents_chunk(void *arg, uint64_t ci, uintptr_t t)
{
	struct extents_state *st = arg;
	struct view v;
	view_decode(t, &v);
	for (uint64_t mk = v.mask; mk; mk &= mk - 1) {
		uint64_t pg = (ci << LVL_SHIFT) + ctz(mk);
		extslot s = v.s[ctz(mk)];
		if (!st->prev || pg != st->prev_pg + 1 || !slot_joins(st->prev, s))
			st->count++;
		st->prev = s;
		st->prev_pg = pg;
	}
}

uint64_t extmap_extents(const struct extmap *m)
{
	struct extents_state st = {0, 0, EXT_NONE};
	walk_map(m, extents_chunk, &st);
	return st.count;
}

/* ---- invariant check ----------------------------------------------------- */

struct check_state {
	int err;
	unsigned addr_bits;
	uint64_t mem, npages[3];
};

#define CHECK(st, cond, ...)                                                                                           \
	do {                                                                                                           \
		if (!(st)->err && !(cond))                                                                             \
			(st)->err = so_err(SWAPOBJ_ECORRUPT, __VA_ARGS__);                                             \
	} while (0)

static void check_slot(struct check_state *st, uint64_t ci, unsigned p, extslot s)
{
	CHECK(st, (extslot_addr(s) >> st->addr_bits) == 0, "extmap inv 10: chunk %llu page %u address %#llx >= 2^%u",
	      (unsigned long long)ci, p, (unsigned long long)extslot_addr(s), st->addr_bits);
	CHECK(st, s != EXT_NONE && extslot_kind(s) != EXT_NONE, "extmap inv 4: chunk %llu page %u has slot %#llx",
	      (unsigned long long)ci, p, (unsigned long long)s);
	if (extslot_kind(s) != EXT_NONE)
		st->npages[extslot_kind(s) - 1]++;
}

static void check_ents(struct check_state *st, uint64_t ci, const uint8_t *e, unsigned n, uint64_t not_in)
{
	for (unsigned i = 0; i < n; i++, e += ENT_BYTES) {
		CHECK(st, e[0] < 64 && (i == 0 || e[0] > e[-ENT_BYTES]),
		      "extmap inv 5: chunk %llu entry %u page %u out of order", (unsigned long long)ci, i, e[0]);
		CHECK(st, e[0] >= 64 || !(not_in >> e[0] & 1), "extmap inv 7: chunk %llu page %u in P and exceptions",
		      (unsigned long long)ci, e[0]);
		check_slot(st, ci, e[0], slot_load(e + 1));
	}
}

static void check_run(struct check_state *st, uint64_t ci, const uint8_t *c)
{
	struct run r;
	extslot rs[64];
	uint64_t in;

	run_decode(c, &r);
	CHECK(st, r.first <= r.last, "extmap inv 7: chunk %llu run first %u > last %u", (unsigned long long)ci, r.first,
	      r.last);
	if (st->err)
		return;
	in = span(r.first, r.last + 1);
	CHECK(st, !(r.P & ~in) && !(r.Z & ~in) && !(r.S & ~r.Z), "extmap inv 7: chunk %llu run masks out of range",
	      (unsigned long long)ci);
	if (r.stride == PAGE_UNITS) {
		CHECK(st, !(r.P & r.Z) && !(r.Z >> r.first & 1) && !(r.Z >> r.last & 1) && (r.zn == ZN_PAGES) == !r.Z,
		      "extmap inv 7: chunk %llu page run gaps misplaced", (unsigned long long)ci);
	} else {
		CHECK(st, !(r.Z >> r.first & 1) || (r.S >> r.first & 1),
		      "extmap inv 7: chunk %llu run starts mid-record", (unsigned long long)ci);
	}
	for (uint64_t mk = r.stride == PAGE_UNITS ? 0 : r.Z & ~r.S; mk; mk &= mk - 1)
		CHECK(st, ctz(mk) > r.first && (r.Z >> (ctz(mk) - 1) & 1),
		      "extmap inv 7: chunk %llu zero page %u shares no record", (unsigned long long)ci, ctz(mk));
	CHECK(st, r.zn <= ZLIST_MAX || r.zn == ZN_MASKS || r.zn == ZN_PAGES || r.zn == ZN_PAGES_G,
	      "extmap inv 7: chunk %llu zn %u", (unsigned long long)ci, r.zn);
	if (r.zn <= ZLIST_MAX) {
		unsigned prev_end = r.first;
		for (unsigned i = 0; i < r.zn; i++) {
			unsigned v = ld16(c + 16 + 2 * i), s0 = v & 63, len = (v >> 6 & 63) + 1;
			CHECK(st, s0 >= prev_end && s0 + len <= r.last + 1 && v < 4096,
			      "extmap inv 7: chunk %llu zero record %u misplaced", (unsigned long long)ci, i);
			prev_end = s0 + len;
		}
	}
	CHECK(st, usable(c) >= RUN_FIXED + r.zb + (size_t)ENT_BYTES * r.nx, "extmap inv 3: chunk %llu overflows",
	      (unsigned long long)ci);
	if (st->err)
		return;
	CHECK(st, r.P || r.nx, "extmap inv 4: chunk %llu is empty", (unsigned long long)ci);
	run_expand(&r, rs);
	for (uint64_t mk = r.P; mk; mk &= mk - 1) {
		CHECK(st, extslot_addr(rs[ctz(mk)]) <= ADDR_MAX, "extmap inv 4: chunk %llu page %u address overflows",
		      (unsigned long long)ci, ctz(mk));
		CHECK(st, run_slot(&r, ctz(mk)) == rs[ctz(mk)], "extmap: chunk %llu page %u popcount address wrong",
		      (unsigned long long)ci, ctz(mk));
		check_slot(st, ci, ctz(mk), rs[ctz(mk)]);
	}
	check_ents(st, ci, r.ent, r.nx, r.P);
}

static void check_pack(struct check_state *st, uint64_t ci, const uint8_t *c)
{
	uint64_t bm = ld64(c);
	struct pack pk;
	unsigned i = 0;

	pack_decode(c, &pk);
	CHECK(st, bm != 0, "extmap inv 4: chunk %llu is empty", (unsigned long long)ci);
	CHECK(st, pk.w >= pk.kb && pk.w <= PACK_W_MAX && pk.sh < ADDR_BITS && !(ld64(c + 8) >> 59),
	      "extmap inv 6: chunk %llu header %#llx", (unsigned long long)ci, (unsigned long long)ld64(c + 8));
	if (st->err)
		return;
	CHECK(st, usable(c) >= pack_need(popc(bm), pk.w), "extmap inv 3: pack chunk %llu overflows",
	      (unsigned long long)ci);
	for (uint64_t mk = bm; mk && !st->err; mk &= mk - 1, i++) {
		uint64_t f = bits_get(c + PACK_HDR, (size_t)i * pk.w, pk.w);
		CHECK(st, (f >> pk.kb) <= (ADDR_MAX - pk.base) >> pk.sh,
		      "extmap inv 4: chunk %llu page %u address overflows", (unsigned long long)ci, ctz(mk));
		check_slot(st, ci, ctz(mk), pack_slot(&pk, f));
	}
}

static void check_chunk(void *arg, uint64_t ci, uintptr_t t)
{
	struct check_state *st = arg;
	const uint8_t *c = cptr(t);

	CHECK(st, c && cform(t) != 0, "extmap inv 3: chunk %llu pointer %#llx", (unsigned long long)ci,
	      (unsigned long long)t);
	if (st->err)
		return;
	st->mem += charge(c);
	switch (cform(t)) {
	case F_PACK:
		check_pack(st, ci, c);
		break;
	case F_LIST:
		CHECK(st, c[0] >= 1 && usable(c) >= 1 + (size_t)ENT_BYTES * c[0], "extmap inv 5: list chunk %llu n %u",
		      (unsigned long long)ci, c[0]);
		if (!st->err)
			check_ents(st, ci, c + 1, c[0], 0);
		break;
	case F_RUN:
		check_run(st, ci, c);
		break;
	}
}

static void check_nodes(struct check_state *st, uintptr_t t, unsigned level, uint64_t ci0)
{
	const struct node *nd = nptr(t);
	unsigned i = 0, n;
	if (level == 0 || st->err)
		return;
	n = popc(nd->bitmap);
	CHECK(st, t && (t & TAG_MASK) == 0 && nd->bitmap, "extmap inv 3: node at level %u chunk %llu is %#llx/empty",
	      level, (unsigned long long)ci0, (unsigned long long)t);
	if (st->err)
		return;
	CHECK(st, usable(nd) >= sizeof(*nd) + n * sizeof(uintptr_t), "extmap inv 3: node overflows");
	st->mem += charge(nd);
	for (uint64_t bm = nd->bitmap; bm; bm &= bm - 1, i++) {
		uintptr_t c = nd->child[i];
		CHECK(st, level == 1 ? (c & TAG_MASK) != 0 : (c & TAG_MASK) == 0,
		      "extmap inv 3: level %u child %u has the wrong tag", level, ctz(bm));
		check_nodes(st, c, level - 1, ci0 + ((uint64_t)ctz(bm) << (LVL_SHIFT * (level - 1))));
	}
}

int extmap_check(const struct extmap *m)
{
	struct check_state st = {0, m->addr_bits, 0, {0, 0, 0}};

	CHECK(&st, (m->root == 0) == (extmap_pages(m) == 0), "extmap inv 1: root %#llx with %llu pages",
	      (unsigned long long)m->root, (unsigned long long)extmap_pages(m));
	CHECK(&st, m->root || (m->height == 0 && m->prefix == 0), "extmap inv 1: empty map with height/prefix");
	CHECK(&st, m->height <= MAX_HEIGHT && ((uint64_t)m->prefix << (LVL_SHIFT * m->height)) < (1ull << 32),
	      "extmap inv 2: height %u prefix %u", m->height, m->prefix);
	if (st.err)
		return st.err;
	CHECK(&st, m->height == 0 || popc(nptr(m->root)->bitmap) >= 2, "extmap inv 2: root node has one child");
	if (m->root) {
		check_nodes(&st, m->root, m->height, (uint64_t)m->prefix << (LVL_SHIFT * m->height));
		if (!st.err)
			walk_map(m, check_chunk, &st);
	}
	for (int k = 0; k < 3; k++)
		CHECK(&st, st.npages[k] == m->npages[k], "extmap inv 8: kind %d counted %llu, map says %llu", k + 1,
		      (unsigned long long)st.npages[k], (unsigned long long)m->npages[k]);
	CHECK(&st, st.mem == m->mem, "extmap inv 9: blocks charge %llu bytes, map says %llu",
	      (unsigned long long)st.mem, (unsigned long long)m->mem);
	return st.err;
}
