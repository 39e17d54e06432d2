/*
 * cleaner.c - the cleaner (cost-benefit victim choice, relocation into the
 * COLD stream) and the reaper of invalidated subtrees.
 *
 * Victims: among sealed segments written out, the one with the highest
 * (1-u)*age/(1+u) (Sprite LFS), u = (live + tombstones still needed) / a
 * segment's payload, age = next seq - the newest seq in the segment
 * (relocated records keep theirs, so age is the age of the data). Old
 * segments are worth cleaning at a higher u than young ones: their data
 * stays put, while a young segment is still emptying by itself. A segment
 * with nothing left in it is freed first, without reading it when its
 * summary is known. When there is no free segment to relocate into, the
 * choice falls back to the least used segment (greedy) so that what is
 * cleaned fits.
 *
 * Cleaning a victim: read it, and for every record decide:
 *   DATA      live pages (the index still points at this record) are copied
 *             to the COLD stream with their original sequence number; a
 *             partly live multi-page ZERO record is split into live runs.
 *   CREATE, RENAME
 *             copied if it is its object's current name record. A RENAME
 *             that replaced an object is that object's tombstone, copied
 *             like a DELETE while it may shadow a dead record of it.
 *   AUX       copied if it is its object's current AUX record.
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
 *  2. Only one cleaner runs at a time (st->clean_mu; the reaper takes it
 *     too). Tombstone decisions depend on it: the only records with old
 *     sequence numbers that appear while a decision is made are the
 *     cleaner's own relocations, which it has already noted in their
 *     segments' summaries.
 *  3. Cleaned segments become FREE only after a sync (log invariant 4).
 *  4. A pass is bounded: at most max victims (or one per segment), and it
 *     ends as soon as no victim can gain anything. A pass that ends without
 *     freeing a segment while user streams have none is recorded as stuck,
 *     which is what turns a waiting writer's wait into ENOSPC.
 */
#include <math.h>

#include "invariants.h"
#include "objrec.h"
#include "space.h"
#include "store_types.h"
#include "tombreg.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

/*
 * One victim's pass over its records: a dry run (dry: nothing moves, the
 * bytes each relocation stream would take are summed in need) or the real
 * relocation. Both decide streams with the same cut, so the dry run's
 * figures hold for the real one (records only ever get deader in between).
 */
struct pass {
	bool dry;
	uint64_t frozen_below; /* records with a lower seq go to FROZEN, the others to COLD */
	uint64_t need[LOG_NSTREAMS];
};

static int pass_stream(const struct pass *ps, uint64_t seq)
{
	return seq < ps->frozen_below ? LOG_FROZEN : LOG_COLD;
}

/*
 * Copy a record (decoded, payload attached) to COLD or FROZEN by its age,
 * keeping its seq and payload checksum, in the layout of the store's new
 * segments.
 */
static int relocate(struct swapobj_store *st, const struct pass *ps, const struct rec *r, uint64_t *addr16)
{
	struct so_log *lg = &st->log;
	struct rec c = *r;
	int err = log_put(lg, pass_stream(ps, r->seq), 0, &c, r->payload, r->payload_len, true, addr16);
	if (err == 0)
		__atomic_add_fetch(&lg->bytes_relocated, log_rec_cost(lg, r, rec_size(r->payload_len)),
		                   __ATOMIC_RELAXED);
	return err;
}

/* Relocate the live pages of one DATA record of o (o->lock held). */
static int clean_data(struct swapobj_store *st, struct so_obj *o, const struct rec *r, uint32_t sz, uint64_t addr,
                      struct pass *ps)
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
		if (ps->dry) {
			ps->need[pass_stream(ps, r->seq)] += log_rec_cost(lg, r, sz);
			return 0;
		}
		if ((err = relocate(st, ps, r, &newaddr)) < 0)
			return err;
		extslot ns = extslot_make(kind, newaddr);
		log_usage_add(lg, newaddr, extslot_charge(ns));
		struct objrec_rel rel = {lg, o->oid};
		if ((err = extmap_set(&o->map, pg0, 1, &ns, objrec_slot_released, &rel)) < 0)
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
		struct rec z = *r;
		z.lpos = (pg0 + i) * PG;
		z.raw_len = (uint32_t)((j - i) * PG);
		z.payload_len = 0;
		z.payload = NULL;
		z.csum = 0;
		if (ps->dry) {
			ps->need[pass_stream(ps, r->seq)] += log_rec_cost(lg, &z, REC_HDR_LEN);
			i = j;
			continue;
		}
		if ((err = relocate(st, ps, &z, &newaddr)) < 0)
			return err;
		log_usage_add(lg, newaddr, (uint32_t)((j - i) * EXT_ZERO_CHARGE));
		extslot slots[64];
		for (uint64_t p = i; p < j; p += 64) {
			uint32_t n = (uint32_t)SO_MIN((uint64_t)64, j - p);
			for (uint32_t k = 0; k < n; k++)
				slots[k] = extslot_make(EXT_ZERO, newaddr);
			struct objrec_rel rel = {lg, o->oid};
			if ((err = extmap_set(&o->map, pg0 + p, n, slots, objrec_slot_released, &rel)) < 0)
				return log_fail(lg, err);
		}
		if (o->meta_addr == addr)
			o->meta_addr = newaddr;
		i = j;
	}
	return 0;
}

/*
 * Name records (CREATE, RENAME) and AUX records: live while the object's
 * create_addr / aux_addr point at them (objrec_release clears both when
 * an object goes, which for an invalidated object that was renamed happens
 * only after the reaper logged its DELETE: see reaper_run).
 *
 * A dead RENAME naming a replaced object (lpos) is kept, as that object's
 * tombstone, while a dead record of it may remain; relocated, it is a dead
 * record of its own object too (whose DELETE, if any, must outlive it).
 */
static int clean_ident(struct swapobj_store *st, struct pass *ps, struct log_seg *v, const struct rec *r, uint32_t sz,
                       uint64_t addr, bool need)
{
	struct so_log *lg = &st->log;
	struct so_obj *o = index_get(&st->ix, r->oid);
	uint64_t newaddr;
	bool live = false;
	int err = 0;
	if (o) {
		pthread_mutex_lock(&o->lock);
		if (r->type == REC_AUX && o->aux_addr == addr) {
			live = true;
			if (!need && (err = relocate(st, ps, r, &newaddr)) == 0) {
				log_usage_add(lg, newaddr, o->aux_bytes);
				log_rec_died(lg, addr, o->aux_bytes, o->oid);
				o->aux_addr = newaddr;
			}
		} else if (r->type != REC_AUX && o->create_addr == addr) {
			live = true;
			if (!need && (err = relocate(st, ps, r, &newaddr)) == 0) {
				log_usage_add(lg, newaddr, o->create_bytes);
				log_rec_died(lg, addr, o->create_bytes, o->oid);
				o->create_addr = newaddr;
				if (o->meta_addr == addr)
					o->meta_addr = newaddr;
				if (r->type == REC_RENAME)
					tombreg_set(st, r->seq, newaddr);
			}
		}
		pthread_mutex_unlock(&o->lock);
		obj_put(o);
	}
	if (live) {
		if (need)
			ps->need[pass_stream(ps, r->seq)] += log_rec_cost(lg, r, sz);
		return err;
	}
	if (r->type != REC_RENAME || !r->lpos)
		return 0;
	uint64_t reg = tombreg_get(st, r->seq);
	if (reg && reg != addr)
		return 0; /* a duplicate: the registered copy elsewhere counts */
	if (!log_older_exists(lg, v, r->lpos, r->seq) && !log_ckpt_needs(lg, r->seq)) {
		if (!need)
			tombreg_set(st, r->seq, 0);
		return 0;
	}
	if (need) {
		ps->need[pass_stream(ps, r->seq)] += log_rec_cost(lg, r, sz);
		return 0;
	}
	if ((err = relocate(st, ps, r, &newaddr)) < 0)
		return err;
	log_rec_died(lg, newaddr, 0, r->oid);
	__atomic_add_fetch(&log_seg_of(lg, newaddr)->tomb_bytes, sz, __ATOMIC_RELAXED);
	tombreg_set(st, r->seq, newaddr);
	return 0;
}

/*
 * Objects of an invalidated subtree are marked dead (for the tombstone rule)
 * only when the reaper frees them; until then every INVALIDATE is kept. So
 * while renamed ones wait for their DELETE (reap_doomed).
 */
static bool unreaped(struct swapobj_store *st)
{
	pthread_rwlock_rdlock(&st->ix.lock);
	bool any = st->ix.ndetached > 0 || st->ndoomed > 0;
	pthread_rwlock_unlock(&st->ix.lock);
	return any;
}

/*
 * Process one record of the victim. In a dry run nothing is moved: the
 * bytes that would be relocated are added to ps->need (the same decisions,
 * so the estimate is an upper bound: records only ever get deader).
 */
static int clean_rec(struct swapobj_store *st, struct log_seg *v, const struct rec *r, uint32_t sz, uint64_t addr,
                     struct pass *ps)
{
	bool need = ps->dry;
	struct so_log *lg = &st->log;
	uint64_t newaddr;
	int err = 0;
#define RELOCATE(oid_)                                                                                                 \
	((void)(oid_),                                                                                                 \
	 need ? (ps->need[pass_stream(ps, r->seq)] += log_rec_cost(lg, r, sz), 0) : relocate(st, ps, r, &newaddr))
	if (r->type == REC_CREATE || r->type == REC_RENAME || r->type == REC_AUX)
		return clean_ident(st, ps, v, r, sz, addr, need);
	bool tomb =
	    r->type == REC_PUNCH || r->type == REC_TRUNCATE || r->type == REC_DELETE || r->type == REC_INVALIDATE;
	if (tomb) {
		uint64_t reg = tombreg_get(st, r->seq);
		if (reg && reg != addr)
			return 0; /* a duplicate: the registered copy elsewhere counts */
		if (!reg && !need)
			tombreg_set(st, r->seq, addr);
	}

	switch (r->type) {
	case REC_SEGHDR:
		return 0;
	case REC_SYNC:
		/* Dropped; make the sync that frees this victim write a fresh one (it may hold the newest). */
		if (!need)
			__atomic_store_n(&lg->sync_logged_seq, 0, __ATOMIC_RELAXED);
		return 0;
	case REC_DELETE:
	case REC_INVALIDATE:
		if (log_older_exists(lg, v, r->type == REC_DELETE ? r->oid : 0, r->seq) ||
		    (r->type == REC_INVALIDATE && unreaped(st)) || log_ckpt_needs(lg, r->seq)) {
			if ((err = RELOCATE(r->type == REC_DELETE ? r->oid : 0)) == 0 && !need)
				tombreg_set(st, r->seq, newaddr);
			return err;
		}
		if (!need)
			tombreg_set(st, r->seq, 0);
		return 0;
	default:
		break;
	}
	struct so_obj *o = index_get(&st->ix, r->oid);
	if (!o) {
		if (tomb && !need)
			tombreg_set(st, r->seq, 0);
		return 0; /* no such live object: DELETE/INVALIDATE tombstones cover its records */
	}
	pthread_mutex_lock(&o->lock);
	if (__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE)) {
		if (tomb && !need)
			tombreg_set(st, r->seq, 0);
		goto done;
	}
	switch (r->type) {
	case REC_DATA:
		if (!need && cull_drop(st, o)) {
			/*
			 * A cold CACHE object: dropped rather than relocated (its DELETE
			 * is logged before the sync that frees this victim). Its other
			 * records here, and elsewhere, are dead from now on.
			 */
			uint64_t bytes = objrec_charge(o);
			if ((err = objrec_delete(st, o)) == 0)
				cull_note(st, SWAPOBJ_EVICT_CLEANER, bytes);
			break;
		}
		err = clean_data(st, o, r, sz, addr, ps);
		inv_obj(st, o, "relocation");
		break;
	case REC_PUNCH:
	case REC_TRUNCATE:
		if (o->meta_addr == addr || log_older_exists(lg, v, r->oid, r->seq) || log_ckpt_needs(lg, r->seq)) {
			if ((err = RELOCATE(o->oid)) < 0 || need)
				break;
			tombreg_set(st, r->seq, newaddr);
			if (o->meta_addr == addr)
				o->meta_addr = newaddr;
		} else if (!need) {
			tombreg_set(st, r->seq, 0);
		}
		break;
	}
done:
	pthread_mutex_unlock(&o->lock);
	obj_put(o);
	return err;
#undef RELOCATE
}

/*
 * Would the relocations a dry run counted fit now? Each stream fills its
 * open segment, then takes free segments (the reserve included), each of
 * which holds at least its size less the header and one record's worth of
 * waste at its end.
 */
static bool fits(struct so_log *lg, const struct pass *ps)
{
	uint64_t per = log_seg_room(lg), segs = 0;
	static const int rs[2] = {LOG_COLD, LOG_FROZEN};
	for (int i = 0; i < 2; i++) {
		uint64_t room = log_stream_room(lg, rs[i]), need = ps->need[rs[i]];
		if (need > room)
			segs += (need - room + per - 1) / per;
	}
	return segs <= log_free_count(lg);
}

/* Walk the victim's records: a dry run or the real relocation. */
static int walk(struct swapobj_store *st, struct log_seg *v, const uint8_t *buf, uint64_t fill, struct pass *ps)
{
	struct so_log *lg = &st->log;
	struct rec r;
	uint32_t sz;
	int err;
	struct seg_img si = {buf, lg->seg_size, lg->seed, v->split != 0, 0, v->gen};
	uint64_t pos = SEGHDR_REC_SIZE;
	while (pos + REC_HDR_LEN <= fill) {
		uint64_t phys;
		int copy;
		/* Payloads are copied verbatim: a damaged one stays damaged (and reported) where it moves. */
		enum rec_verdict vd = seg_rec_at(&si, pos, false, &r, &sz, &phys, &copy);
		if (vd != REC_OK || r.seg_gen != v->gen) {
			/* Damaged record: skip to the next valid one. Live data lost here keeps v from being freed. */
			pos += REC_ALIGN;
			continue;
		}
		/* An out-of-line page is known by its data address (what extent slots name). */
		uint64_t off = r.hdr_len == REC_OOL_HDR_LEN && r.type == REC_DATA ? r.doff : phys;
		if ((err = clean_rec(st, v, &r, sz, log_addr16(lg, v->segno, off), ps)) < 0)
			return err;
		pos += sz;
	}
	return 0;
}

/*
 * Returns 0 (cleaned), 1 (skipped: would not fit now; *need says how much
 * it needs), or an error.
 */
static int clean_one(struct swapobj_store *st, struct log_seg *v, uint64_t *need)
{
	struct so_log *lg = &st->log;
	struct pass ps = {.dry = true, .frozen_below = space_frozen_below(st)};
	int err;

	*need = 0;
	if ((err = log_read_seg(lg, v, st->clean_buf, v->fill)) < 0)
		return err;
	/*
	 * A dry run costs a walk over the records but no I/O. Needed unless
	 * there is plenty of room: both streams may take two new segments each
	 * (a split ZERO record can need more than it occupied, but not more
	 * than a segment and a quarter).
	 */
	if (log_free_count(lg) < 4) {
		if ((err = walk(st, v, st->clean_buf, v->fill, &ps)) < 0)
			return err;
		for (int i = 0; i < LOG_NSTREAMS; i++)
			*need += ps.need[i];
		if (!fits(lg, &ps))
			return 1;
	}
	ps.dry = false;
	__atomic_store_n(&lg->cold_stamp, __atomic_load_n(&v->max_seq, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	if ((err = walk(st, v, st->clean_buf, v->fill, &ps)) < 0)
		return err;
	uint64_t live = __atomic_load_n(&v->live, __ATOMIC_ACQUIRE);
	if (live)
		return so_err(SWAPOBJ_ECORRUPT,
		              "segment %u still has %llu live bytes after cleaning (damaged records?); kept", v->segno,
		              (unsigned long long)live);
	return 0;
}

#define SKIP_MAX 64
#define CLEAN_BATCH 4 /* victims cleaned per sync while free segments are plentiful */

struct skipset {
	uint32_t segno[SKIP_MAX];
	unsigned n;
};

static bool skipped(const struct skipset *sk, uint32_t segno)
{
	for (unsigned i = 0; i < sk->n; i++)
		if (sk->segno[i] == segno)
			return true;
	return false;
}

/*
 * Tombstone bytes a segment is believed to still need. Measured by a dry
 * run (or counted as appended, an upper bound); the belief halves every
 * time the store writes its own size in records, because tombstones only
 * ever stop being needed. A wrong guess costs one dry run, which measures
 * again.
 */
static uint64_t tomb_guess(const struct so_log *lg, const struct log_seg *s, uint64_t now)
{
	uint64_t need = __atomic_load_n(&s->tomb_need, __ATOMIC_RELAXED);
	if (!need)
		return 0;
	uint64_t half = SO_MAX((uint64_t)1, lg->nsegs * (log_seg_payload(lg) / REC_DATA_SIZE));
	uint64_t seen = s->tomb_seen, shift = now > seen ? (now - seen) / half : 0;
	return shift >= 64 ? 0 : need >> shift;
}

static struct log_seg *pick_victim(struct swapobj_store *st, const struct skipset *sk, bool greedy)
{
	struct so_log *lg = &st->log;
	struct log_seg *best = NULL;
	double best_score = -1.0;
	uint64_t cap = log_seg_payload(lg);
	uint64_t now = __atomic_load_n(&lg->next_seq, __ATOMIC_RELAXED);
	pthread_mutex_lock(&lg->mu);
	pthread_rwlock_rdlock(&lg->buf_lock); /* s->buf is guarded by buf_lock (a leaf) */
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if (s->state != SEG_SEALED || s->buf || skipped(sk, s->segno) || s->stream == SEG_STREAM_CKPT)
			continue;
		uint64_t used = __atomic_load_n(&s->live, __ATOMIC_RELAXED) + tomb_guess(lg, s, now);
		/* Not worth it unless at least one page's worth comes back. */
		if (used + REC_DATA_SIZE > cap)
			continue;
		double score;
		if (used == 0) {
			score = HUGE_VAL; /* nothing to move */
		} else {
			double u = (double)used / (double)cap;
			uint64_t newest = __atomic_load_n(&s->max_seq, __ATOMIC_RELAXED);
			double age = (double)(now > newest ? now - newest : 1);
			score = greedy ? 1.0 - u : (1.0 - u) * age / (1.0 + u);
		}
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	pthread_rwlock_unlock(&lg->buf_lock);
	if (best)
		best->state = SEG_CLEANING;
	pthread_mutex_unlock(&lg->mu);
	return best;
}

/* Victim v leaves CLEANING: to FREEING once cleaned, back to SEALED otherwise. */
static void victim_done(struct so_log *lg, struct log_seg *v, bool cleaned)
{
	pthread_mutex_lock(&lg->mu);
	v->state = cleaned ? SEG_FREEING : SEG_SEALED;
	pthread_mutex_unlock(&lg->mu);
}

int cleaner_run(struct swapobj_store *st, unsigned max, bool force)
{
	struct so_log *lg = &st->log;
	int err = 0, freed = 0;
	unsigned done = 0, pending = 0;
	bool stuck = false;
	struct skipset sk = {.n = 0};

	if (lg->rdonly)
		return 0;
	/* Budget: at most one victim per segment (at 100% full, freeing one may take compacting them all). */
	uint64_t budget = max ? max : lg->nsegs;
	pthread_mutex_lock(&st->clean_mu);
	if (!st->clean_buf && !(st->clean_buf = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size))) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for the cleaner's buffer");
		goto out;
	}
	while (done < budget) {
		/* Cleaned victims free up at the next sync: count them as free already. */
		if (!force && log_user_avail(lg) + pending >= SPACE_CLEAN_AHEAD)
			break;
		/* With no free segment left to relocate into, clean what fits: the emptiest. */
		bool greedy = log_free_count(lg) == 0;
		struct log_seg *v = pick_victim(st, &sk, greedy);
		if (!v) {
			stuck = pending == 0;
			break;
		}
		uint64_t now = __atomic_load_n(&lg->next_seq, __ATOMIC_RELAXED);
		if (__atomic_load_n(&v->live, __ATOMIC_RELAXED) == 0 &&
		    __atomic_load_n(&v->tomb_bytes, __ATOMIC_RELAXED) == 0 && v->known) {
			/*
			 * Nothing live and no tombstone: nothing to read. It may hold the
			 * newest SYNC record, so make the sync that frees it write one.
			 */
			__atomic_store_n(&lg->sync_logged_seq, 0, __ATOMIC_RELAXED);
			victim_done(lg, v, true);
		} else {
			uint64_t need = 0;
			err = clean_one(st, v, &need);
			if (err == 1) {
				/* Does not fit now: remember what it needs, try the next best. */
				uint64_t live = __atomic_load_n(&v->live, __ATOMIC_RELAXED);
				__atomic_store_n(&v->tomb_need, need > live ? need - live : 0, __ATOMIC_RELAXED);
				v->tomb_seen = now;
			}
			victim_done(lg, v, err == 0);
			if (err == 1 || err == SWAPOBJ_ECORRUPT) {
				if (sk.n == SKIP_MAX) {
					stuck = pending == 0;
					err = 0;
					break;
				}
				sk.segno[sk.n++] = v->segno;
				err = 0;
				continue;
			}
			if (err < 0)
				break;
		}
		done++;
		pending++;
		__atomic_add_fetch(&lg->segs_cleaned, 1, __ATOMIC_RELAXED);
		/* Sync when the batch is full, or when the room to relocate into runs short. */
		if (pending >= CLEAN_BATCH || log_free_count(lg) <= 1) {
			if ((err = log_sync(lg)) < 0)
				break;
			freed += (int)pending;
			pending = 0;
		}
	}
	if (pending && err == 0) {
		int serr = log_sync(lg);
		if (serr == 0)
			freed += (int)pending;
		else
			err = serr;
	}
out:
	pthread_mutex_lock(&lg->mu);
	lg->clean_passes++;
	if (freed == 0 && (stuck || err < 0))
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
	bool doom[REAP_BATCH]; /* renamed: kept in the oid table for its DELETE (decided once, here) */
	size_t n;
};

/* Called by ns_reap under ix->lock (write): unlink the object from the namespace. */
static void reap_collect(void *c, void *obj)
{
	struct reap_ctx *rc = c;
	struct so_obj *o = obj;
	bool doom = __atomic_load_n(&o->renamed, __ATOMIC_RELAXED);
	if (!doom)
		oidmap_del(&rc->ix->oids, o->oid); /* a renamed one stays until its DELETE: see below */
	o->node = NULL;
	__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	rc->doom[rc->n] = doom;
	rc->objs[rc->n++] = o;
}

/*
 * A renamed object may still have name records on disk under its old key,
 * which the prefix invalidation that killed it (under its new key) does not
 * cover: once its current name record was gone, replay would bring the
 * object back under the old key. So it gets a DELETE, logged before its
 * records die (objrec_release), which is when the cleaner may start
 * dropping them; until then it stays in the oid table, so that the cleaner
 * still finds its name record live. Objects whose DELETE cannot be logged
 * now (store full or failing) stay queued, records live: never resurrected.
 */
static size_t reap_doomed(struct swapobj_store *st)
{
	size_t done = 0;
	/* One at a time (the user's swapobj_store_clean and the maintenance thread both reap). */
	pthread_mutex_lock(&st->clean_mu);
	for (;;) {
		pthread_rwlock_rdlock(&st->ix.lock);
		size_t i = st->ndoomed;
		struct so_obj *o = i ? st->doomed[i - 1] : NULL;
		pthread_rwlock_unlock(&st->ix.lock);
		if (!o)
			break;
		struct rec r = {0};
		uint64_t addr;
		r.type = REC_DELETE;
		r.oid = o->oid;
		pthread_mutex_lock(&o->lock);
		int err = log_append(&st->log, LOG_HOT, LOG_URGENT, &r, NULL, 0, &addr);
		if (err == 0) {
			tombreg_set(st, r.seq, addr);
			objrec_release(st, o);
		}
		pthread_mutex_unlock(&o->lock);
		if (err < 0)
			break; /* stays queued, records live: tried again on a later run */
		/* Out of the queue and the oid table at once, so that the object count never sees it half gone. */
		pthread_rwlock_wrlock(&st->ix.lock);
		st->doomed[i - 1] = st->doomed[--st->ndoomed]; /* only appended to meanwhile */
		oidmap_del(&st->ix.oids, o->oid);
		pthread_rwlock_unlock(&st->ix.lock);
		obj_put(o); /* the index's reference */
		done++;
	}
	pthread_mutex_unlock(&st->clean_mu);
	return done;
}

size_t reaper_run(struct swapobj_store *st, size_t budget)
{
	struct so_index *ix = &st->ix;
	size_t total = 0;
	/* Serialised with the cleaner, so a recount of the usage table never sees an object half reaped. */
	pthread_mutex_lock(&st->clean_mu);
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
			if (rc.doom[i]) {
				/* Without memory to queue it, it stays in the oid table, records live: leaked. */
				pthread_rwlock_wrlock(&ix->lock);
				(void)objrec_doom(st, o);
				pthread_rwlock_unlock(&ix->lock);
				continue;
			}
			pthread_mutex_lock(&o->lock);
			objrec_release(st, o);
			pthread_mutex_unlock(&o->lock);
			obj_put(o); /* the index's reference */
		}
		total += rc.n ? rc.n : 1;
	}
	pthread_mutex_unlock(&st->clean_mu);
	if (!st->log.rdonly)
		total += reap_doomed(st);
	return total;
}
