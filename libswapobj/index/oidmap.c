/*
 * oidmap.c - Robin Hood hash map from object ids to pointers.
 *
 * Owns the slot array of each struct oidmap.
 *
 * Invariants:
 *  1. count is the number of slots whose oid is not OIDMAP_EMPTY, and
 *     count <= cap * 7/8 (so an empty slot always exists once cap > 0).
 *  2. An entry's home slot is home(oid); it sits at home + dist (mod cap),
 *     and every slot from home to it holds an entry whose dist is >= the
 *     dist that slot would give this entry ("rich give way to the poor").
 *     Hence a lookup can stop at the first empty slot or at the first entry
 *     closer to its own home than the probe is, and a delete restores the
 *     invariant by shifting the run after the hole back by one.
 *
 * Capacities are not powers of two: home() maps the mixed oid onto [0, cap)
 * with a multiply-shift, so the table can grow by 1.5x and stay dense.
 *
 * Locking: none; see oidmap.h.
 */
#include "oidmap.h"

#include <assert.h>
#include <string.h>

#include "util.h"

#define OIDMAP_MIN_CAP 16u
/* Grow when more than 7/8 full; a grown or shrunk table is 7/12 full. */
#define OIDMAP_FULL_NUM 7u
#define OIDMAP_FULL_DEN 8u

__extension__ typedef unsigned __int128 oidmap_u128;

static long oidmap_alloc_allowance = -1;

void oidmap_test_fail_alloc(long after)
{
	oidmap_alloc_allowance = after;
}

/*
 * The hash: the oid plus the map's salt through a full-avalanche mixer
 * (splitmix64's finalizer); home() takes the high bits of hash * cap, so
 * the table can be any size. The salt is what keeps sorted input from
 * clustering: a map iterated in slot order yields its keys sorted by their
 * hash, and were another map to hash them alike, loading it from that
 * order while it is still small (a checkpoint is written in slot order and
 * read back into a growing map) would put the first keys, all with the
 * lowest hashes, into the first slots of the table, one run that every
 * later insertion walks: quadratic (a reopen with 10^6 objects took
 * minutes). With a salt per map the orders are unrelated.
 */
static inline uint64_t oid_mix(uint64_t x, uint64_t salt)
{
	x += salt;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t home(uint64_t oid, uint64_t cap, uint64_t salt)
{
	return (uint64_t)(((oidmap_u128)oid_mix(oid, salt) * cap) >> 64);
}

static inline uint64_t dist(uint64_t slot, uint64_t oid, uint64_t cap, uint64_t salt)
{
	uint64_t h = home(oid, cap, salt);
	return slot >= h ? slot - h : slot + cap - h;
}

static inline uint64_t next(uint64_t slot, uint64_t cap)
{
	return slot + 1 == cap ? 0 : slot + 1;
}

static inline bool over_full(uint64_t count, uint64_t cap)
{
	return count * OIDMAP_FULL_DEN > cap * OIDMAP_FULL_NUM;
}

/* Slot index of oid, or cap if absent. */
static uint64_t find(const struct oidmap *m, uint64_t oid)
{
	if (m->cap == 0)
		return 0;
	uint64_t i = home(oid, m->cap, m->salt);
	for (uint64_t d = 0;; d++) {
		uint64_t o = m->slots[i].oid;
		if (o == oid)
			return i;
		if (o == OIDMAP_EMPTY || dist(i, o, m->cap, m->salt) < d)
			return m->cap;
		i = next(i, m->cap);
	}
}

/*
 * Put (oid, val), absent, into the table starting the probe at slot i, which
 * is at distance d from oid's home, and where every slot before it on the way
 * already holds an entry at least as far from its own home. An empty slot
 * must exist.
 */
static void place_from(struct oidmap_slot *slots, uint64_t cap, uint64_t salt, uint64_t i, uint64_t d, uint64_t oid,
                       void *val)
{
	for (;;) {
		struct oidmap_slot *s = &slots[i];
		if (s->oid == OIDMAP_EMPTY) {
			s->oid = oid;
			s->val = val;
			return;
		}
		uint64_t sd = dist(i, s->oid, cap, salt);
		if (sd < d) {
			struct oidmap_slot t = *s;
			s->oid = oid;
			s->val = val;
			oid = t.oid;
			val = t.val;
			d = sd;
		}
		i = next(i, cap);
		d++;
	}
}

static void place(struct oidmap_slot *slots, uint64_t cap, uint64_t salt, uint64_t oid, void *val)
{
	place_from(slots, cap, salt, home(oid, cap, salt), 0, oid, val);
}

/*
 * Move every entry into a new table of newcap slots. On ENOMEM the map is
 * unchanged and no message is set (a failed shrink is not an error).
 */
static int rehash(struct oidmap *m, uint64_t newcap)
{
	size_t bytes;
	assert(!over_full(m->count, newcap));
	if (newcap > SIZE_MAX || !so_mul_ok((size_t)newcap, sizeof(struct oidmap_slot), &bytes))
		return SWAPOBJ_ENOMEM;
	struct oidmap_slot *slots = NULL;
	if (oidmap_alloc_allowance != 0) {
		if (oidmap_alloc_allowance > 0)
			oidmap_alloc_allowance--;
		slots = so_zalloc(SO_MEM_INDEX, bytes);
	}
	if (!slots)
		return SWAPOBJ_ENOMEM;
	for (uint64_t i = 0; i < m->cap; i++)
		if (m->slots[i].oid != OIDMAP_EMPTY)
			place(slots, newcap, m->salt, m->slots[i].oid, m->slots[i].val);
	so_free(SO_MEM_INDEX, m->slots);
	m->slots = slots;
	m->cap = newcap;
	return 0;
}

/* A capacity that holds count entries 7/12 full. */
static uint64_t cap_for(uint64_t count)
{
	uint64_t c = count / 7 * 12 + (count % 7) * 12 / 7 + 1;
	return SO_MAX(c, OIDMAP_MIN_CAP);
}

int oidmap_init(struct oidmap *m)
{
	if (!m)
		return so_err(SWAPOBJ_EINVAL, "oidmap_init: NULL map");
	static uint64_t maps; /* atomic: maps initialised in this process */
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
	m->salt = oid_mix(__atomic_add_fetch(&maps, 1, __ATOMIC_RELAXED), (uint64_t)(uintptr_t)m);
	return 0;
}

void oidmap_destroy(struct oidmap *m)
{
	if (!m)
		return;
	so_free(SO_MEM_INDEX, m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

int oidmap_put(struct oidmap *m, uint64_t oid, void *val)
{
	if (!m || !val || oid == OIDMAP_EMPTY || oid == OIDMAP_RESERVED)
		return so_err(SWAPOBJ_EINVAL, "oidmap_put: invalid map, oid %llu or NULL value",
		              (unsigned long long)oid);

	/* One probe both looks for oid and finds where it would go. */
	uint64_t i = 0, d = 0;
	if (m->cap) {
		i = home(oid, m->cap, m->salt);
		for (;; d++, i = next(i, m->cap)) {
			uint64_t o = m->slots[i].oid;
			if (o == oid) {
				m->slots[i].val = val;
				return 0;
			}
			if (o == OIDMAP_EMPTY || dist(i, o, m->cap, m->salt) < d)
				break;
		}
	}
	if (m->cap == 0 || over_full(m->count + 1, m->cap)) {
		uint64_t newcap = m->cap ? m->cap + m->cap / 2 : OIDMAP_MIN_CAP;
		newcap = SO_MAX(newcap, cap_for(m->count + 1));
		if (rehash(m, newcap) < 0)
			return so_err(SWAPOBJ_ENOMEM, "oidmap: cannot grow to %llu slots for %llu entries",
			              (unsigned long long)newcap, (unsigned long long)m->count + 1);
		place(m->slots, m->cap, m->salt, oid, val);
	} else {
		place_from(m->slots, m->cap, m->salt, i, d, oid, val);
	}
	m->count++;
	return 0;
}

void *oidmap_get(const struct oidmap *m, uint64_t oid)
{
	if (!m || oid == OIDMAP_EMPTY || oid == OIDMAP_RESERVED)
		return NULL;
	uint64_t i = find(m, oid);
	return i < m->cap ? m->slots[i].val : NULL;
}

void *oidmap_del(struct oidmap *m, uint64_t oid)
{
	if (!m || oid == OIDMAP_EMPTY || oid == OIDMAP_RESERVED)
		return NULL;
	uint64_t i = find(m, oid);
	if (i >= m->cap)
		return NULL;
	void *val = m->slots[i].val;

	/* Backward shift: pull each following displaced entry one slot closer to its home. */
	for (uint64_t j = next(i, m->cap);; j = next(j, m->cap)) {
		uint64_t o = m->slots[j].oid;
		if (o == OIDMAP_EMPTY || dist(j, o, m->cap, m->salt) == 0)
			break;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].oid = OIDMAP_EMPTY;
	m->slots[i].val = NULL;
	m->count--;

	if (m->cap > OIDMAP_MIN_CAP && m->count < m->cap / 4) {
		(void)rehash(m, cap_for(m->count)); /* on failure the larger table still works */
	}
	return val;
}

uint64_t oidmap_count(const struct oidmap *m)
{
	return m ? m->count : 0;
}

int oidmap_next(const struct oidmap *m, uint64_t *pos, uint64_t *oid, void **val)
{
	if (!m)
		return 0;
	for (uint64_t i = *pos; i < m->cap; i++) {
		if (m->slots[i].oid != OIDMAP_EMPTY) {
			*oid = m->slots[i].oid;
			*val = m->slots[i].val;
			*pos = i + 1;
			return 1;
		}
	}
	*pos = m->cap;
	return 0;
}

uint64_t oidmap_longest_probe(const struct oidmap *m)
{
	uint64_t longest = 0;
	for (uint64_t i = 0; m && i < m->cap; i++)
		if (m->slots[i].oid != OIDMAP_EMPTY)
			longest = SO_MAX(longest, dist(i, m->slots[i].oid, m->cap, m->salt) + 1);
	return longest;
}
