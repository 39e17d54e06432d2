/*
 * cleaner.c - the minimal cleaner (greedy victim choice) and the reaper of
 * invalidated subtrees.
 *
 * Cleaning a victim segment: read it, and for every record decide:
 *   DATA      live pages (the index still points at this record) are copied
 *             to the COLD stream with their original sequence number; a
 *             partly live multi-page ZERO record is split into live runs.
 *   CREATE    copied if it is its object's current CREATE record.
 *   PUNCH, TRUNCATE
 *             copied if it is its object's newest size-carrying record
 *             (the size would otherwise regress on replay), or if another
 *             segment may still hold an older record of the object that it
 *             shadows (log_older_exists: per-segment min_seq + oid bloom).
 *   DELETE    copied while another segment may hold an older record of
 *             the object.
 *   INVALIDATE
 *             copied while any other segment holds an older record.
 * Anything else is dead and dropped. A victim whose live byte count is not
 * zero after this pass (it should be; a damaged record could cause it) is
 * not freed: the cleaner never frees a segment the index still points into.
 *
 * Invariants:
 *  1. Relocation happens under the object's lock and installs the new
 *     address only if the index still points at the old one, so a
 *     concurrent overwrite always wins.
 *  2. Only one cleaner runs at a time (st->clean_mu). Tombstone decisions
 *     depend on it: the only records with old sequence numbers that appear
 *     while a decision is made are the cleaner's own relocations, which it
 *     has already noted in their segments' summaries.
 *  3. Cleaned segments become FREE only after a sync (log invariant 4).
 */
#include "store_int.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

/* Copy a sealed record image to the COLD stream, re-stamped for its new segment. */
static int relocate(struct swapobj_store *st, const uint8_t *rec, uint32_t sz, uint64_t oid, uint64_t seq,
                    uint64_t *addr16)
{
	struct so_log *lg = &st->log;
	struct log_resv rv;
	int err = log_reserve(lg, LOG_COLD, sz, 0, &rv);
	if (err < 0)
		return err;
	memcpy(rv.ptr, rec, sz);
	rec_restamp(rv.ptr, rv.gen, lg->seed);
	log_note(lg, rv.seg, oid, seq);
	log_commit(lg, LOG_COLD, &rv);
	__atomic_add_fetch(&lg->bytes_relocated, sz, __ATOMIC_RELAXED);
	*addr16 = rv.addr16;
	return 0;
}

/* Relocate the live pages of one DATA record of o (o->lock held). */
static int clean_data(struct swapobj_store *st, struct so_obj *o, const struct rec *r, const uint8_t *img, uint32_t sz,
                      uint64_t addr)
{
	struct so_log *lg = &st->log;
	enum ext_kind kind = r->flags & REC_F_ZERO ? EXT_ZERO : r->flags & REC_F_FILL ? EXT_FILL : EXT_DATA;
	extslot old = extslot_make(kind, addr);
	uint64_t pg0 = r->lpos / PG, npg = r->raw_len / PG;
	uint64_t newaddr;
	int err;

	if (kind != EXT_ZERO) {
		if (extmap_get(&o->map, pg0) != old)
			return 0;
		if ((err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) < 0)
			return err;
		extslot ns = extslot_make(kind, newaddr);
		log_usage_add(lg, newaddr, slot_charge(ns));
		if ((err = extmap_set(&o->map, pg0, 1, &ns, log_slot_released, lg)) < 0)
			return log_fail(lg, err);
		if (o->meta_addr == addr)
			o->meta_addr = newaddr;
		return 0;
	}
	/* A zero record may cover many pages; keep only the runs still pointing here. */
	for (uint64_t i = 0; i < npg;) {
		if (extmap_get(&o->map, pg0 + i) != old) {
			i++;
			continue;
		}
		uint64_t j = i + 1;
		while (j < npg && j - i < 65536 && extmap_get(&o->map, pg0 + j) == old)
			j++;
		_Alignas(16) uint8_t hdr[REC_HDR_LEN];
		struct rec z = *r;
		z.lpos = (pg0 + i) * PG;
		z.raw_len = (uint32_t)((j - i) * PG);
		z.payload_len = 0;
		rec_seal(hdr, &z, lg->seed);
		if ((err = relocate(st, hdr, REC_HDR_LEN, o->oid, r->seq, &newaddr)) < 0)
			return err;
		extslot slots[64];
		for (uint64_t p = i; p < j; p += 64) {
			uint32_t n = (uint32_t)SO_MIN((uint64_t)64, j - p);
			for (uint32_t k = 0; k < n; k++)
				slots[k] = extslot_make(EXT_ZERO, newaddr);
			if ((err = extmap_set(&o->map, pg0 + p, n, slots, log_slot_released, lg)) < 0)
				return log_fail(lg, err);
		}
		if (o->meta_addr == addr)
			o->meta_addr = newaddr;
		i = j;
	}
	return 0;
}

/* Process one record of the victim. */
static int clean_rec(struct swapobj_store *st, struct log_seg *v, const struct rec *r, const uint8_t *img, uint32_t sz,
                     uint64_t addr)
{
	struct so_log *lg = &st->log;
	uint64_t newaddr;
	int err = 0;

	switch (r->type) {
	case REC_SEGHDR:
	case REC_SYNC: /* every sync writes a newer one */
		return 0;
	case REC_DELETE:
		if (log_older_exists(lg, v, r->oid, r->seq))
			return relocate(st, img, sz, r->oid, r->seq, &newaddr);
		return 0;
	case REC_INVALIDATE:
		if (log_older_exists(lg, v, 0, r->seq))
			return relocate(st, img, sz, 0, r->seq, &newaddr);
		return 0;
	default:
		break;
	}
	struct so_obj *o = index_get(&st->ix, r->oid);
	if (!o)
		return 0; /* no such live object: DELETE/INVALIDATE tombstones cover its records */
	pthread_mutex_lock(&o->lock);
	if (__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE))
		goto done;
	switch (r->type) {
	case REC_DATA:
		err = clean_data(st, o, r, img, sz, addr);
		break;
	case REC_CREATE:
		if (o->create_addr != addr)
			break;
		if ((err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) < 0)
			break;
		log_usage_add(lg, newaddr, o->create_bytes);
		log_usage_sub(lg, addr, o->create_bytes);
		o->create_addr = newaddr;
		if (o->meta_addr == addr)
			o->meta_addr = newaddr;
		break;
	case REC_PUNCH:
	case REC_TRUNCATE:
		if (o->meta_addr == addr || log_older_exists(lg, v, r->oid, r->seq)) {
			if ((err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) < 0)
				break;
			if (o->meta_addr == addr)
				o->meta_addr = newaddr;
		}
		break;
	}
done:
	pthread_mutex_unlock(&o->lock);
	obj_put(o);
	return err;
}

static int clean_one(struct swapobj_store *st, struct log_seg *v)
{
	struct so_log *lg = &st->log;
	uint8_t *buf = st->clean_buf;
	uint64_t fill = v->fill;
	struct rec r;
	uint32_t sz;
	int err;

	if ((err = log_read_seg(lg, v, buf, fill)) < 0)
		return err;
	uint64_t pos = SEGHDR_REC_SIZE;
	while (pos + REC_HDR_LEN <= fill) {
		/* Payloads are copied verbatim: a damaged one stays damaged (and reported) where it moves. */
		enum rec_verdict vd = rec_decode(buf + pos, fill - pos, lg->seed, false, &r, &sz);
		if (vd != REC_OK || r.seg_gen != v->gen) {
			/* Damaged record: skip to the next valid one. Live data lost here keeps v from being freed. */
			pos += REC_ALIGN;
			continue;
		}
		if ((err = clean_rec(st, v, &r, buf + pos, sz, log_addr16(lg, v->segno, pos))) < 0)
			return err;
		pos += sz;
	}
	uint64_t live = __atomic_load_n(&v->live, __ATOMIC_ACQUIRE);
	if (live)
		return so_err(SWAPOBJ_ECORRUPT,
		              "segment %u still has %llu live bytes after cleaning (damaged records?); kept", v->segno,
		              (unsigned long long)live);
	return 0;
}

/* Greedy choice: the written-out sealed segment with the fewest live bytes. */
static struct log_seg *pick_victim(struct swapobj_store *st, bool force)
{
	struct so_log *lg = &st->log;
	struct log_seg *best = NULL;
	uint64_t best_live = UINT64_MAX;
	/* Not worth cleaning a segment whose live data would fill a new one. */
	uint64_t limit = force ? lg->seg_size - lg->seg_size / 64 : lg->seg_size - lg->seg_size / 16;
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		uint64_t live = __atomic_load_n(&s->live, __ATOMIC_RELAXED);
		if (s->state != SEG_SEALED || s->buf || live >= limit || live >= best_live)
			continue;
		best = s;
		best_live = live;
	}
	if (best)
		best->state = SEG_CLEANING;
	pthread_mutex_unlock(&lg->mu);
	return best;
}

int cleaner_run(struct swapobj_store *st, unsigned max, bool force)
{
	struct so_log *lg = &st->log;
	int err = 0, freed = 0, barren = 0;
	unsigned done = 0;

	if (lg->rdonly)
		return 0;
	/*
	 * Budget: at most one sweep over the store, and stop after two batches
	 * that freed no more segments than they consumed: relocated data fills
	 * segments that could otherwise be picked again, forever.
	 */
	uint64_t budget = max ? max : lg->nsegs;
	pthread_mutex_lock(&st->clean_mu);
	if (!st->clean_buf && !(st->clean_buf = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size))) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for the cleaner's buffer");
		goto out;
	}
	while (done < budget && barren < 2) {
		if (!force && log_free_count(lg) >= 2 * (LOG_RESERVE_SEGS + 3) + lg->nsegs / 16)
			break;
		uint64_t before = log_free_count(lg);
		/* Clean at most two victims per sync: the relocation reserve is small. */
		unsigned batch = 0;
		for (; batch < 2 && done < budget; batch++, done++) {
			struct log_seg *v = pick_victim(st, force);
			if (!v)
				break;
			err = clean_one(st, v);
			pthread_mutex_lock(&lg->mu);
			v->state = err < 0 ? SEG_SEALED : SEG_FREEING;
			pthread_mutex_unlock(&lg->mu);
			if (err < 0)
				break;
			__atomic_add_fetch(&lg->segs_cleaned, 1, __ATOMIC_RELAXED);
		}
		if (batch == 0)
			break;
		int serr = log_sync(lg);
		if (serr < 0) {
			err = serr;
			break;
		}
		uint64_t after = log_free_count(lg);
		if (after > before)
			freed += (int)(after - before);
		barren = after > before ? 0 : barren + 1;
		if (err < 0)
			break;
	}
out:
	pthread_mutex_lock(&lg->mu);
	lg->clean_passes++;
	if (freed == 0)
		lg->clean_stuck = lg->clean_passes;
	pthread_cond_broadcast(&lg->space_cv);
	pthread_mutex_unlock(&lg->mu);
	pthread_mutex_unlock(&st->clean_mu);
	if (err < 0 && freed == 0 && err != SWAPOBJ_ENOSPC && err != SWAPOBJ_ECORRUPT)
		return err;
	return freed;
}

/* ------------------------------------------------------------------ */
/* Reaper                                                              */
/* ------------------------------------------------------------------ */

#define REAP_BATCH 256

struct reap_ctx {
	struct so_index *ix;
	struct so_obj *objs[REAP_BATCH];
	size_t n;
};

/* Called by ns_reap under ix->lock (write): unlink the object from the index. */
static void reap_collect(void *c, void *obj)
{
	struct reap_ctx *rc = c;
	struct so_obj *o = obj;
	oidmap_del(&rc->ix->oids, o->oid);
	o->node = NULL;
	__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	rc->objs[rc->n++] = o;
}

size_t reaper_run(struct swapobj_store *st, size_t budget)
{
	struct so_index *ix = &st->ix;
	size_t total = 0;
	while (total < budget) {
		struct reap_ctx rc = {.ix = ix, .n = 0};
		pthread_rwlock_wrlock(&ix->lock);
		while (ix->ndetached && !ix->detached[ix->ndetached - 1])
			ix->ndetached--;
		if (ix->ndetached == 0) {
			pthread_rwlock_unlock(&ix->lock);
			break;
		}
		/* Each node holds at most one object, so REAP_BATCH nodes never overflow rc.objs. */
		ns_reap(&ix->ns, &ix->detached[ix->ndetached - 1], REAP_BATCH, reap_collect, &rc);
		pthread_rwlock_unlock(&ix->lock);
		for (size_t i = 0; i < rc.n; i++) {
			struct so_obj *o = rc.objs[i];
			pthread_mutex_lock(&o->lock);
			uint64_t before = extmap_pages(&o->map);
			extmap_clear(&o->map, 0, UINT64_MAX, log_slot_released, &st->log);
			__atomic_sub_fetch(&ix->pages, before, __ATOMIC_RELAXED);
			if (o->create_addr)
				log_usage_sub(&st->log, o->create_addr, o->create_bytes);
			o->create_addr = 0;
			pthread_mutex_unlock(&o->lock);
			obj_put(o);
		}
		total += rc.n ? rc.n : 1;
	}
	return total;
}
