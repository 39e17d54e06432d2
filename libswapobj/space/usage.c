/*
 * usage.c - space policy and accounting: when to clean, which stream a
 * user write goes to, per-class live bytes, and the recount of the usage
 * table from the index.
 *
 * The per-segment table (log_seg.live) is kept by the log's usage calls at
 * every change of the index: a slot installed charges its record's
 * segment, a slot replaced or cleared (overwrite, punch, truncate, delete,
 * invalidation once reaped, version replacement, exclusive read,
 * relocation) uncharges it through the extent map's callback. The class
 * totals follow the same changes per object (objrec_account). The
 * recount walks the index and rebuilds both, so a test (or fsck) can
 * assert that the table is exact.
 */
#include "space.h"

#include "objrec.h"
#include "store_types.h"
#include "util.h"

bool space_want_clean(struct so_log *lg)
{
	return log_user_avail(lg) < SPACE_CLEAN_AHEAD;
}

/*
 * "Long ago": longer than it takes to write the live data once, in records
 * (sequence numbers). Under a skewed load, pages rewritten within that time
 * are the hot set; pages that outlive it are rewritten far more rarely
 * (90/10: a hot page every ~L/9 writes, a cold one every ~9L). A floor keeps
 * a nearly empty store from calling everything old.
 */
static uint64_t horizon(struct swapobj_store *st)
{
	return SO_MAX(__atomic_load_n(&st->ix.pages, __ATOMIC_RELAXED), (uint64_t)4096);
}

uint64_t space_frozen_below(struct swapobj_store *st)
{
	uint64_t now = __atomic_load_n(&st->log.next_seq, __ATOMIC_RELAXED), h = horizon(st);
	return now > h ? now - h : 0;
}

int space_stream_for(struct swapobj_store *st, uint64_t oid, const extslot *old, uint32_t n)
{
	struct so_log *lg = &st->log;
	uint64_t now = __atomic_load_n(&lg->next_seq, __ATOMIC_RELAXED);
	uint64_t horizon_seqs = horizon(st);
	uint32_t known = 0, old_ones = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (extslot_kind(old[i]) == EXT_NONE)
			continue;
		struct log_seg *s = log_seg_of(lg, extslot_addr(old[i]));
		if (!s)
			continue;
		known++;
		uint64_t newest = __atomic_load_n(&s->max_seq, __ATOMIC_RELAXED);
		if (now > newest && now - newest > horizon_seqs)
			old_ones++;
	}
	return known && 2 * old_ones > known ? LOG_WARM : log_hot_lane(lg, oid);
}

static int recount_locked(struct swapobj_store *st, uint64_t *seg_live, uint64_t cls_live[3]);

int space_recount(struct swapobj_store *st, uint64_t *seg_live, uint64_t cls_live[3])
{
	pthread_mutex_lock(&st->clean_mu);
	int err = recount_locked(st, seg_live, cls_live);
	pthread_mutex_unlock(&st->clean_mu);
	return err;
}

/* Caller holds clean_mu (no relocation or reaping meanwhile). */
static int recount_locked(struct swapobj_store *st, uint64_t *seg_live, uint64_t cls_live[3])
{
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	struct so_obj **objs = NULL;
	size_t n = 0;
	int err = 0;

	memset(seg_live, 0, lg->nsegs * sizeof(*seg_live));
	memset(cls_live, 0, 3 * sizeof(*cls_live));
	/*
	 * Objects holding charges are exactly those in the oid table: linked
	 * ones and those of invalidated subtrees not yet reaped (deletion and
	 * reaping release the data and unlink in one step). Collect them with a
	 * reference, then lock each without the index lock (object locks come
	 * first in the library's order).
	 */
	pthread_rwlock_rdlock(&ix->lock);
	size_t cnt = oidmap_count(&ix->oids), bytes;
	if (!so_mul_ok(cnt ? cnt : 1, sizeof(*objs), &bytes) || !(objs = so_alloc(SO_MEM_OTHER, bytes))) {
		pthread_rwlock_unlock(&ix->lock);
		err = so_err(SWAPOBJ_ENOMEM, "out of memory recounting %zu objects", cnt);
		goto out;
	}
	uint64_t pos = 0, oid;
	void *val;
	while (n < cnt && oidmap_next(&ix->oids, &pos, &oid, &val)) {
		objs[n] = val;
		obj_get(objs[n++]);
	}
	pthread_rwlock_unlock(&ix->lock);

	for (size_t i = 0; i < n; i++) {
		struct so_obj *o = objs[i];
		pthread_mutex_lock(&o->lock);
		unsigned cls = o->cls < 3 ? o->cls : 0;
		uint64_t pg = 0, p;
		extslot slot;
		while (extmap_next(&o->map, pg, &p, &slot)) {
			struct log_seg *s = log_seg_of(lg, extslot_addr(slot));
			if (s)
				seg_live[s->segno] += extslot_charge(slot);
			cls_live[cls] += extslot_charge(slot);
			pg = p + 1;
		}
		if (o->create_addr) {
			struct log_seg *s = log_seg_of(lg, o->create_addr);
			if (s)
				seg_live[s->segno] += o->create_bytes;
			cls_live[cls] += o->create_bytes;
		}
		if (o->aux_addr) { /* charged to its segment, not to the class (objrec_charge) */
			struct log_seg *s = log_seg_of(lg, o->aux_addr);
			if (s)
				seg_live[s->segno] += o->aux_bytes;
		}
		pthread_mutex_unlock(&o->lock);
	}
out:
	for (size_t i = 0; i < n; i++)
		obj_put(objs[i]);
	so_free(SO_MEM_OTHER, objs);
	return err;
}

int space_check(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	uint64_t cls[3], total = 0, *live = so_alloc(SO_MEM_OTHER, lg->nsegs * sizeof(*live));
	bool locked = false;
	int err;
	if (!live)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	/*
	 * The cleaner and the reaper stay out until the table is compared too:
	 * released in between, they could move or release records the recount
	 * has already counted, and the table would differ for no fault of its own.
	 */
	pthread_mutex_lock(&st->clean_mu);
	locked = true;
	if ((err = recount_locked(st, live, cls)) < 0)
		goto done;
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		uint64_t have = __atomic_load_n(&lg->segs[i].live, __ATOMIC_RELAXED);
		total += have;
		if (have != live[i]) {
			err = so_err(
			    SWAPOBJ_ECORRUPT,
			    "usage table: segment %llu (state %u) says %llu live bytes, the index references %llu",
			    (unsigned long long)i, lg->segs[i].state, (unsigned long long)have,
			    (unsigned long long)live[i]);
			goto done;
		}
	}
	if (total != __atomic_load_n(&lg->live_total, __ATOMIC_RELAXED)) {
		err = so_err(SWAPOBJ_ECORRUPT, "usage table: segments sum to %llu live bytes, the total says %llu",
		             (unsigned long long)total, (unsigned long long)lg->live_total);
		goto done;
	}
	for (unsigned c = 1; c < 3; c++)
		if (cls[c] != objrec_class_live(st, c)) {
			err = so_err(SWAPOBJ_ECORRUPT,
			             "usage table: class %u says %llu live bytes, the index references %llu", c,
			             (unsigned long long)objrec_class_live(st, c), (unsigned long long)cls[c]);
			goto done;
		}
done:
	if (locked)
		pthread_mutex_unlock(&st->clean_mu);
	so_free(SO_MEM_OTHER, live);
	return err;
}
