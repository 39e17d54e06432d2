/*
 * cleaner.c - the minimal cleaner (greedy victim choice) and the reaper of
 * invalidated subtrees.
 *
 * Cleaning a victim segment: read it, and for every record decide:
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
	uint8_t type = rec[RH_TYPE];
	if (type == REC_PUNCH || type == REC_TRUNCATE || type == REC_DELETE || type == REC_INVALIDATE)
		__atomic_add_fetch(&rv.seg->tomb_bytes, sz, __ATOMIC_RELAXED);
	log_commit(lg, LOG_COLD, &rv);
	__atomic_add_fetch(&lg->bytes_relocated, sz, __ATOMIC_RELAXED);
	*addr16 = rv.addr16;
	return 0;
}

/* Relocate the live pages of one DATA record of o (o->lock held). */
static int clean_data(struct swapobj_store *st, struct so_obj *o, const struct rec *r, const uint8_t *img, uint32_t sz,
                      uint64_t addr, uint64_t *need)
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
		if (need) {
			*need += sz;
			return 0;
		}
		if ((err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) < 0)
			return err;
		extslot ns = extslot_make(kind, newaddr);
		log_usage_add(lg, newaddr, slot_charge(ns));
		struct log_rel rel = {lg, o->oid};
		if ((err = extmap_set(&o->map, pg0, 1, &ns, log_slot_released, &rel)) < 0)
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
		if (need) {
			*need += REC_HDR_LEN;
			i = j;
			continue;
		}
		_Alignas(16) uint8_t hdr[REC_HDR_LEN];
		struct rec z = *r;
		z.lpos = (pg0 + i) * PG;
		z.raw_len = (uint32_t)((j - i) * PG);
		z.payload_len = 0;
		rec_seal(hdr, &z, lg->seed);
		if ((err = relocate(st, hdr, REC_HDR_LEN, o->oid, r->seq, &newaddr)) < 0)
			return err;
		log_usage_add(lg, newaddr, (uint32_t)((j - i) * ZERO_PAGE_CHARGE));
		extslot slots[64];
		for (uint64_t p = i; p < j; p += 64) {
			uint32_t n = (uint32_t)SO_MIN((uint64_t)64, j - p);
			for (uint32_t k = 0; k < n; k++)
				slots[k] = extslot_make(EXT_ZERO, newaddr);
			struct log_rel rel = {lg, o->oid};
			if ((err = extmap_set(&o->map, pg0 + p, n, slots, log_slot_released, &rel)) < 0)
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
 * create_addr / aux_addr point at them (obj_release_data clears both when
 * an object goes, which for an invalidated object that was renamed happens
 * only after the reaper logged its DELETE: see reaper_run).
 *
 * A dead RENAME naming a replaced object (lpos) is kept, as that object's
 * tombstone, while a dead record of it may remain; relocated, it is a dead
 * record of its own object too (whose DELETE, if any, must outlive it).
 */
static int clean_ident(struct swapobj_store *st, struct log_seg *v, const struct rec *r, const uint8_t *img,
                       uint32_t sz, uint64_t addr, uint64_t *need)
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
			if (!need && (err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) == 0) {
				log_usage_add(lg, newaddr, o->aux_bytes);
				log_rec_died(lg, addr, o->aux_bytes, o->oid);
				o->aux_addr = newaddr;
			}
		} else if (r->type != REC_AUX && o->create_addr == addr) {
			live = true;
			if (!need && (err = relocate(st, img, sz, o->oid, r->seq, &newaddr)) == 0) {
				log_usage_add(lg, newaddr, o->create_bytes);
				log_rec_died(lg, addr, o->create_bytes, o->oid);
				o->create_addr = newaddr;
				if (o->meta_addr == addr)
					o->meta_addr = newaddr;
				if (r->type == REC_RENAME)
					tomb_set(st, r->seq, newaddr);
			}
		}
		pthread_mutex_unlock(&o->lock);
		obj_put(o);
	}
	if (live) {
		if (need)
			*need += sz;
		return err;
	}
	if (r->type != REC_RENAME || !r->lpos)
		return 0;
	uint64_t reg = tomb_get(st, r->seq);
	if (reg && reg != addr)
		return 0; /* a duplicate: the registered copy elsewhere counts */
	if (!log_older_exists(lg, v, r->lpos, r->seq)) {
		if (!need)
			tomb_set(st, r->seq, 0);
		return 0;
	}
	if (need) {
		*need += sz;
		return 0;
	}
	if ((err = relocate(st, img, sz, r->oid, r->seq, &newaddr)) < 0)
		return err;
	log_rec_died(lg, newaddr, 0, r->oid);
	__atomic_add_fetch(&log_seg_of(lg, newaddr)->tomb_bytes, sz, __ATOMIC_RELAXED);
	tomb_set(st, r->seq, newaddr);
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
 * Process one record of the victim. With need != NULL nothing is moved: the
 * bytes that would be relocated are added to *need (the same decisions, so
 * the estimate is an upper bound: records only ever get deader).
 */
static int clean_rec(struct swapobj_store *st, struct log_seg *v, const struct rec *r, const uint8_t *img, uint32_t sz,
                     uint64_t addr, uint64_t *need)
{
	struct so_log *lg = &st->log;
	uint64_t newaddr;
	int err = 0;
#define RELOCATE(oid_) (need ? (*need += sz, 0) : relocate(st, img, sz, (oid_), r->seq, &newaddr))
	if (r->type == REC_CREATE || r->type == REC_RENAME || r->type == REC_AUX)
		return clean_ident(st, v, r, img, sz, addr, need);
	bool tomb =
	    r->type == REC_PUNCH || r->type == REC_TRUNCATE || r->type == REC_DELETE || r->type == REC_INVALIDATE;
	if (tomb) {
		uint64_t reg = tomb_get(st, r->seq);
		if (reg && reg != addr)
			return 0; /* a duplicate: the registered copy elsewhere counts */
		if (!reg && !need)
			tomb_set(st, r->seq, addr);
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
		    (r->type == REC_INVALIDATE && unreaped(st))) {
			if ((err = RELOCATE(r->type == REC_DELETE ? r->oid : 0)) == 0 && !need)
				tomb_set(st, r->seq, newaddr);
			return err;
		}
		if (!need)
			tomb_set(st, r->seq, 0);
		return 0;
	default:
		break;
	}
	struct so_obj *o = index_get(&st->ix, r->oid);
	if (!o) {
		if (tomb && !need)
			tomb_set(st, r->seq, 0);
		return 0; /* no such live object: DELETE/INVALIDATE tombstones cover its records */
	}
	pthread_mutex_lock(&o->lock);
	if (__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE)) {
		if (tomb && !need)
			tomb_set(st, r->seq, 0);
		goto done;
	}
	switch (r->type) {
	case REC_DATA:
		err = clean_data(st, o, r, img, sz, addr, need);
		break;
	case REC_PUNCH:
	case REC_TRUNCATE:
		if (o->meta_addr == addr || log_older_exists(lg, v, r->oid, r->seq)) {
			if ((err = RELOCATE(o->oid)) < 0 || need)
				break;
			tomb_set(st, r->seq, newaddr);
			if (o->meta_addr == addr)
				o->meta_addr = newaddr;
		} else if (!need) {
			tomb_set(st, r->seq, 0);
		}
		break;
	}
done:
	pthread_mutex_unlock(&o->lock);
	obj_put(o);
	return err;
#undef RELOCATE
}

/* Bytes the COLD stream can still take without waiting for anything. */
static uint64_t cold_room(struct so_log *lg)
{
	struct log_stream *ls = &lg->streams[LOG_COLD];
	uint64_t room = 0;
	pthread_mutex_lock(&ls->mu);
	if (ls->seg)
		room = lg->seg_size - ls->reserved;
	pthread_mutex_unlock(&ls->mu);
	/* Each new segment loses its header and, at worst, one record's worth at its end. */
	return room + log_free_count(lg) * (lg->seg_size - SEGHDR_REC_SIZE - REC_DATA_SIZE);
}

/* Walk the victim's records: a dry run (need != NULL) or the real relocation. */
static int walk(struct swapobj_store *st, struct log_seg *v, const uint8_t *buf, uint64_t fill, uint64_t *need)
{
	struct so_log *lg = &st->log;
	struct rec r;
	uint32_t sz;
	int err;
	uint64_t pos = SEGHDR_REC_SIZE;
	while (pos + REC_HDR_LEN <= fill) {
		/* Payloads are copied verbatim: a damaged one stays damaged (and reported) where it moves. */
		enum rec_verdict vd = rec_decode(buf + pos, fill - pos, lg->seed, false, &r, &sz);
		if (vd != REC_OK || r.seg_gen != v->gen) {
			/* Damaged record: skip to the next valid one. Live data lost here keeps v from being freed. */
			pos += REC_ALIGN;
			continue;
		}
		if ((err = clean_rec(st, v, &r, buf + pos, sz, log_addr16(lg, v->segno, pos), need)) < 0)
			return err;
		pos += sz;
	}
	return 0;
}

/* Exact bytes cleaning v would relocate now (a dry run over its records). */
static int estimate(struct swapobj_store *st, struct log_seg *v, uint64_t *need)
{
	int err;
	*need = 0;
	if ((err = log_read_seg(&st->log, v, st->clean_buf, v->fill)) < 0)
		return err;
	return walk(st, v, st->clean_buf, v->fill, need);
}

/* Returns 0 (cleaned), 1 (skipped: would not fit now), or an error. */
static int clean_one(struct swapobj_store *st, struct log_seg *v, uint64_t need)
{
	struct so_log *lg = &st->log;
	int err;

	if (need > cold_room(lg))
		return 1;
	if ((err = log_read_seg(lg, v, st->clean_buf, v->fill)) < 0)
		return err;
	if ((err = walk(st, v, st->clean_buf, v->fill, NULL)) < 0)
		return err;
	uint64_t live = __atomic_load_n(&v->live, __ATOMIC_ACQUIRE);
	if (live)
		return so_err(SWAPOBJ_ECORRUPT,
		              "segment %u still has %llu live bytes after cleaning (damaged records?); kept", v->segno,
		              (unsigned long long)live);
	return 0;
}

#define SKIP_MAX 64

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

static struct log_seg *pick_victim(struct swapobj_store *st, bool force, const struct skipset *sk)
{
	struct so_log *lg = &st->log;
	struct log_seg *best = NULL;
	uint64_t best_live = UINT64_MAX;
	/* Not worth cleaning a segment whose live data would fill a new one. */
	uint64_t limit = force ? lg->seg_size - lg->seg_size / 64 : lg->seg_size - lg->seg_size / 16;
	pthread_mutex_lock(&lg->mu);
	pthread_rwlock_rdlock(&lg->buf_lock); /* s->buf is guarded by buf_lock (a leaf) */
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		uint64_t live =
		    __atomic_load_n(&s->live, __ATOMIC_RELAXED) + __atomic_load_n(&s->tomb_bytes, __ATOMIC_RELAXED);
		if (s->state != SEG_SEALED || s->buf || live >= limit || live >= best_live || skipped(sk, s->segno))
			continue;
		best = s;
		best_live = live;
	}
	pthread_rwlock_unlock(&lg->buf_lock);
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
	struct skipset sk = {.n = 0};

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
			if (batch == 1 && log_free_count(lg) < 2)
				break; /* the first victim may need all the room there is */
			/*
			 * Costs are estimates (tombstone bytes are an upper bound): weigh the
			 * two cheapest candidates by an exact dry run, clean the better one,
			 * and refresh the other's estimate.
			 */
			struct log_seg *v = pick_victim(st, force, &sk);
			if (!v)
				break;
			struct log_seg *alt = pick_victim(st, force, &sk);
			uint64_t need = 0, need_alt = 0;
			err = estimate(st, v, &need);
			if (err == 0 && alt && estimate(st, alt, &need_alt) == 0 && need_alt < need) {
				struct log_seg *t = v;
				v = alt;
				alt = t;
				uint64_t n = need;
				need = need_alt;
				need_alt = n;
			}
			if (alt) {
				uint64_t live_alt = __atomic_load_n(&alt->live, __ATOMIC_RELAXED);
				if (need_alt)
					__atomic_store_n(&alt->tomb_bytes,
					                 need_alt > live_alt ? need_alt - live_alt : 0,
					                 __ATOMIC_RELAXED);
				pthread_mutex_lock(&lg->mu);
				alt->state = SEG_SEALED;
				pthread_mutex_unlock(&lg->mu);
			}
			if (err == 0)
				err = clean_one(st, v, need);
			pthread_mutex_lock(&lg->mu);
			v->state = err != 0 ? SEG_SEALED : SEG_FREEING;
			pthread_mutex_unlock(&lg->mu);
			if (err == 1 || err == SWAPOBJ_ECORRUPT) {
				/* Does not fit now, or damaged: try the next best victim instead. */
				if (sk.n < SKIP_MAX)
					sk.segno[sk.n++] = v->segno;
				err = 0;
				batch--;
				continue;
			}
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
	if (freed == 0) {
		lg->clean_stuck = lg->clean_passes;
		lg->clean_barren++;
	} else {
		lg->clean_barren = 0;
	}
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

/* Called by ns_reap under ix->lock (write): unlink the object from the namespace. */
static void reap_collect(void *c, void *obj)
{
	struct reap_ctx *rc = c;
	struct so_obj *o = obj;
	if (!o->renamed)
		oidmap_del(&rc->ix->oids, o->oid); /* a renamed one stays until its DELETE: see below */
	o->node = NULL;
	__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	rc->objs[rc->n++] = o;
}

int doomed_push(struct swapobj_store *st, struct so_obj *o)
{
	if (st->ndoomed == st->cap_doomed) {
		size_t cap = st->cap_doomed ? 2 * st->cap_doomed : 16;
		void *p = so_realloc(SO_MEM_INDEX, st->doomed, cap * sizeof(*st->doomed));
		if (!p)
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		st->doomed = p;
		st->cap_doomed = cap;
	}
	st->doomed[st->ndoomed++] = o;
	return 0;
}

/*
 * A renamed object may still have name records on disk under its old key,
 * which the prefix invalidation that killed it (under its new key) does not
 * cover: once its current name record was gone, replay would bring the
 * object back under the old key. So it gets a DELETE, logged before its
 * records die (obj_release_data), which is when the cleaner may start
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
			tomb_set(st, r.seq, addr);
			obj_release_data(st, o);
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
			if (o->renamed) {
				/* Without memory to queue it, it stays in the oid table, records live: leaked. */
				pthread_rwlock_wrlock(&ix->lock);
				(void)doomed_push(st, o);
				pthread_rwlock_unlock(&ix->lock);
				continue;
			}
			pthread_mutex_lock(&o->lock);
			obj_release_data(st, o);
			pthread_mutex_unlock(&o->lock);
			obj_put(o); /* the index's reference */
		}
		total += rc.n ? rc.n : 1;
	}
	if (!st->log.rdonly)
		total += reap_doomed(st);
	return total;
}
