/*
 * obj.c - the object API: open/create with data versions, read, write,
 * punch, truncate, delete, pin, stat. Aux data and rename: aux.c, rename.c.
 *
 * Every modifying operation follows the same order, which replay relies on:
 *   1. wait for log space without holding any object lock;
 *   2. lock the object, check it is alive;
 *   3. assign sequence numbers and append the records (so per object,
 *      sequence order == the order the index was changed in);
 *   4. update the extent map and the usage table;
 *   5. unlock.
 * Records carry the object size after the change, so the record with the
 * highest sequence number of an object also gives its size (o->meta_*).
 *
 * Reads go through the batch read path (batch.c), which allocates nothing
 * per call (a per-thread bounce buffer allocated once). The write path builds record images
 * directly in the log buffer and merges partial pages in a stack page, so
 * the data costs no allocation; the extent map does allocate when random
 * overwrites reshape it (about 7 per 1,000 writes in steady state;
 * test_store's allocation test holds it to a bound).
 */
#include <pthread.h>
#include <stdlib.h>

#include "api_int.h"
#include "invariants.h"
#include "objrec.h"
#include "space.h"
#include "tombreg.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE
#define CHUNK_PAGES 64u
#define BOUNCE_SIZE (REC_DATA_SIZE + 2 * IO_ALIGN) /* read_page: one record */

static const uint8_t zero_page[PG];

/* ------------------------------------------------------------------ */
/* Per-thread bounce buffer for reads                                  */
/* ------------------------------------------------------------------ */

static pthread_key_t bounce_key;
static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;

static void bounce_free(void *p)
{
	so_free_aligned(SO_MEM_BUFFER, p, BOUNCE_SIZE);
}
static void bounce_init(void)
{
	pthread_key_create(&bounce_key, bounce_free);
}
static uint8_t *bounce_get(void)
{
	pthread_once(&bounce_once, bounce_init);
	uint8_t *b = pthread_getspecific(bounce_key);
	if (!b) {
		b = so_alloc_aligned(SO_MEM_BUFFER, BOUNCE_SIZE);
		if (b)
			pthread_setspecific(bounce_key, b);
	}
	return b;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int check_handle(swapobj_obj *h)
{
	if (!h || !h->st || !h->o)
		return so_err(SWAPOBJ_EINVAL, "NULL object handle");
	return 0;
}

/* Data operations on a directory object (its flags never change to or from DIR). */
static int check_data(swapobj_obj *h)
{
	int err = check_handle(h);
	if (err == 0 && (h->o->flags & CREATE_F_DIR))
		err = so_err(SWAPOBJ_EISDIR, "a directory object holds no data");
	return err;
}

static int corrupt(struct swapobj_store *st, uint64_t addr16, const char *what)
{
	struct so_log *lg = &st->log;
	struct log_seg *s = log_seg_of(lg, addr16);
	return so_err(SWAPOBJ_ECORRUPT, "%s: segment %u offset %llu (device offset %llu): %s",
	              s ? lg->devs[s->dev].path : "?", s ? s->segno : 0, (unsigned long long)log_seg_off(lg, addr16),
	              s ? (unsigned long long)(log_seg_devoff(lg, s) + log_seg_off(lg, addr16)) : 0ull, what);
}

/*
 * Decode and check the record a slot names for page pg of o. *payload is
 * the page (DATA) or the 8-byte word (FILL).
 */
int obj_check_rec(struct swapobj_store *st, struct so_obj *o, uint64_t pg, extslot slot, const uint8_t *p,
                  uint32_t avail, const uint8_t **payload)
{
	struct rec r;
	uint32_t sz;
	enum rec_verdict v = rec_decode(p, avail, st->log.seed, true, &r, &sz);
	if (v != REC_OK)
		return corrupt(st, extslot_addr(slot), rec_verdict_str(v));
	enum ext_kind k = extslot_kind(slot);
	uint8_t want = k == EXT_FILL ? REC_F_FILL : k == EXT_ZERO ? REC_F_ZERO : 0;
	if (r.type != REC_DATA || r.oid != o->oid || r.flags != want || r.lpos > pg * PG ||
	    pg * PG - r.lpos >= r.raw_len)
		return corrupt(st, extslot_addr(slot), "record does not belong to this object page");
	*payload = r.payload;
	return 0;
}

/* Read one page's current content into dst (PG bytes). Caller holds o->lock. */
static int read_page(struct swapobj_store *st, struct so_obj *o, uint64_t pg, uint8_t *dst)
{
	extslot slot = extmap_get(&o->map, pg);
	const uint8_t *rec, *payload;
	uint64_t word;
	int err;
	if ((err = log_check_readable(&st->log)) < 0)
		return err;
	switch (extslot_kind(slot)) {
	case EXT_NONE:
	case EXT_ZERO:
		memset(dst, 0, PG);
		return 0;
	case EXT_FILL:
	case EXT_DATA: {
		uint8_t *bounce = bounce_get();
		uint32_t len = obj_slot_bytes(&st->log, slot);
		if (!bounce)
			return so_err(SWAPOBJ_ENOMEM, "out of memory for a read buffer");
		if ((err = log_read(&st->log, extslot_addr(slot), len, bounce, &rec)) < 0)
			return err;
		if (obj_slot_split(&st->log, slot)) {
			if ((err = log_page_verify(&st->log, extslot_addr(slot), rec, o->oid, pg * PG)) < 0)
				return err;
			payload = rec;
		} else if ((err = obj_check_rec(st, o, pg, slot, rec, len, &payload)) < 0)
			return err;
		if (extslot_kind(slot) == EXT_DATA) {
			memcpy(dst, payload, PG);
		} else {
			memcpy(&word, payload, 8);
			for (unsigned i = 0; i < PG / 8; i++)
				memcpy(dst + 8 * i, &word, 8);
		}
		return 0;
	}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Write                                                               */
/* ------------------------------------------------------------------ */

struct page_src {
	const uint8_t *src; /* DATA: the page; FILL: unused */
	uint64_t word;
	uint8_t kind; /* enum ext_kind */
};

/*
 * Write [off, off+len) of o: in batches that never cross a 64-page chunk,
 * so that a sequential writer's records land back to back per chunk and
 * the extent map keeps one run per chunk. Each batch goes to the stream
 * space_stream_for picks from the pages' current copies. Returns bytes
 * written; *errp gets the error that stopped it (0 if none), *full is set
 * if that error is the store being full (live data would pass the usable
 * capacity) rather than no segment being free at the moment.
 */
static int64_t write_pages(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off,
                           int *errp, bool *full)
{
	struct so_log *lg = &st->log;
	_Alignas(16) uint8_t merged[2][PG];
	struct page_src pages[CHUNK_PAGES];
	extslot slots[CHUNK_PAGES], olds[CHUNK_PAGES];
	uint64_t end = off + len, done = 0;
	uint64_t charge0 = objrec_charge(o);
	int err = 0;

	*full = false;
	while (off + done < end) {
		uint64_t pos = off + done;
		uint64_t pg0 = pos / PG;
		uint64_t pg_end = SO_MIN((end + PG - 1) / PG, (pg0 / CHUNK_PAGES + 1) * CHUNK_PAGES);
		uint32_t npg = (uint32_t)(pg_end - pg0);
		uint64_t batch_end = SO_MIN(end, pg_end * PG);
		uint32_t total = 0, nrec = 0, nmerged = 0;

		/* Classify pages; merge partial pages with their current content. */
		for (uint32_t i = 0; i < npg; i++) {
			uint64_t pstart = (pg0 + i) * PG;
			uint64_t a = SO_MAX(pstart, pos), b = SO_MIN(pstart + PG, batch_end);
			const uint8_t *src;
			if (a == pstart && b == pstart + PG) {
				src = buf + (pstart - off);
			} else {
				uint8_t *m = merged[nmerged++];
				if ((err = read_page(st, o, pg0 + i, m)) < 0)
					goto out;
				memcpy(m + (a - pstart), buf + (a - off), b - a);
				src = m;
			}
			pages[i].src = src;
			olds[i] = extmap_get(&o->map, pg0 + i);
			if (so_page_is_zero(src)) {
				pages[i].kind = EXT_ZERO;
				if (i == 0 || pages[i - 1].kind != EXT_ZERO) {
					total += REC_ZERO_SIZE;
					nrec++;
				}
			} else if (so_page_is_fill(src, &pages[i].word)) {
				pages[i].kind = EXT_FILL;
				total += REC_FILL_SIZE;
				nrec++;
			} else {
				pages[i].kind = EXT_DATA;
				total += REC_DATA_SIZE;
				nrec++;
			}
		}

		/* Live bytes may not pass the usable capacity (racy by a batch per writer: usable has slack). */
		uint64_t grow = 0, shrink = 0;
		for (uint32_t i = 0; i < npg; i++) {
			grow += extslot_charge(extslot_make((enum ext_kind)pages[i].kind, 0));
			shrink += extslot_charge(olds[i]);
		}
		if (grow > shrink && __atomic_load_n(&lg->live_total, __ATOMIC_RELAXED) + (grow - shrink) >
		                         __atomic_load_n(&lg->usable, __ATOMIC_RELAXED)) {
			err = so_err(SWAPOBJ_ENOSPC, "store is full: %llu bytes live, %llu usable",
			             (unsigned long long)__atomic_load_n(&lg->live_total, __ATOMIC_RELAXED),
			             (unsigned long long)__atomic_load_n(&lg->usable, __ATOMIC_RELAXED));
			*full = true;
			goto out;
		}
		int stream = space_stream_for(st, o->oid, olds, npg);
		struct log_resv rv;
		/*
		 * Classic segments: the records back to back in one reservation. Split
		 * ones: a header per record in the stream, and the DATA pages side by
		 * side in the data area (a sequential writer's pages stay contiguous).
		 */
		uint32_t rlen[CHUNK_PAGES], ndata = 0;
		uint64_t phys[CHUNK_PAGES];
		if (lg->split) {
			for (uint32_t i = 0, k = 0; i < npg; k++) {
				uint32_t n = 1;
				if (pages[i].kind == EXT_ZERO)
					while (i + n < npg && pages[i + n].kind == EXT_ZERO)
						n++;
				rlen[k] = pages[i].kind == EXT_DATA   ? REC_OOL_HDR_LEN
				          : pages[i].kind == EXT_FILL ? REC_FILL_SIZE
				                                      : REC_ZERO_SIZE;
				ndata += pages[i].kind == EXT_DATA;
				i += n;
			}
			err = log_reserve_v(lg, stream, rlen, nrec, ndata * PG, PG, 0, &rv, phys);
		} else {
			err = log_reserve(lg, stream, total, 0, &rv);
		}
		if (err < 0)
			goto out;
		uint64_t seq = log_next_seq(lg, nrec), seq0 = seq;
		uint32_t cur = 0, k = 0, dcur = 0;
		uint64_t last_addr = 0;
		for (uint32_t i = 0; i < npg; k++) {
			uint32_t n = 1;
			struct rec r = {0};
			uint8_t *dst = lg->split ? rv.seg->buf->data + phys[k] : rv.ptr + cur;
			r.type = REC_DATA;
			r.seq = seq++;
			r.oid = o->oid;
			r.lpos = (pg0 + i) * PG;
			r.seg_gen = rv.gen;
			if (pages[i].kind == EXT_ZERO) {
				while (i + n < npg && pages[i + n].kind == EXT_ZERO)
					n++;
				r.flags = REC_F_ZERO;
			} else if (pages[i].kind == EXT_FILL) {
				r.flags = REC_F_FILL;
				r.payload_len = 8;
				memcpy(dst + REC_HDR_LEN, &pages[i].word, 8);
			} else if (!lg->split) {
				r.payload_len = PG;
				memcpy(dst + REC_HDR_LEN, pages[i].src, PG);
			}
			r.raw_len = n * PG;
			r.obj_size = SO_MAX(o->size, SO_MIN(batch_end, (pg0 + i + n) * PG));
			uint32_t sz;
			if (lg->split && pages[i].kind == EXT_DATA) {
				uint8_t *page = rv.dptr + dcur;
				r.payload_len = PG;
				memcpy(page, pages[i].src, PG);
				rec_seal_ool(dst, &r, page, (uint32_t)(rv.doff + dcur), lg->seed);
				log_csum_set(rv.seg, rv.doff + dcur,
				             log_page_check(so_get_le64(dst + RH_CSUM), r.oid, r.lpos));
				last_addr = rv.daddr16 + dcur / ADDR_UNIT;
				dcur += PG;
				sz = REC_OOL_HDR_LEN;
			} else {
				sz = rec_seal(dst, &r, lg->seed);
				last_addr =
				    lg->split ? log_addr16(lg, rv.seg->segno, phys[k]) : rv.addr16 + cur / ADDR_UNIT;
			}
			for (uint32_t j = 0; j < n; j++)
				slots[i + j] = extslot_make((enum ext_kind)pages[i].kind, last_addr);
			log_usage_add(lg, last_addr, n * extslot_charge(slots[i]));
			cur += sz;
			i += n;
		}
		log_note(lg, rv.seg, o->oid, seq0);
		log_note(lg, rv.seg, o->oid, seq - 1);
		log_commit(lg, stream, &rv);

		uint64_t before = extmap_pages(&o->map);
		struct objrec_rel rel = {lg, o->oid};
		err = extmap_set(&o->map, pg0, npg, slots, objrec_slot_released, &rel);
		index_pages_account(&st->ix, before, extmap_pages(&o->map));
		if (err < 0) {
			/* Records are in the log but the index could not take them: stop writing. */
			log_fail(lg, err);
			err = so_err(err, "out of memory updating the extent map; store is now read-only");
			goto out;
		}
		o->size = SO_MAX(o->size, batch_end);
		o->meta_addr = last_addr;
		o->meta_seq = seq - 1;
		done += batch_end - pos;
	}
out:
	*errp = err;
	objrec_account(st, o, charge0);
	__atomic_add_fetch(&lg->user_bytes, done, __ATOMIC_RELAXED);
	return (int64_t)done;
}

int64_t obj_write_locked(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off)
{
	int err;
	bool full;
	int64_t n = write_pages(st, o, buf, len, off, &err, &full);
	return n > 0 || err == 0 ? n : err;
}

/*
 * A SWAP write found no room: evict CACHE objects (space/cull.c) for what
 * is left of it, at least a segment's worth so the cleaner can free one.
 * false if nothing could be evicted. With manual cleaning only a store
 * that is full by its live bytes is helped (a missing free segment needs
 * the caller's swapobj_store_clean, which eviction cannot replace).
 */
static bool evict_for_swap(struct swapobj_store *st, uint64_t need, bool full)
{
	if (st->manual_clean && !full)
		return false;
	return cull_evict(st, SO_MAX(need + need / 8, (uint64_t)st->log.seg_size), SWAPOBJ_EVICT_SWAP) > 0;
}

/* A CACHE write refused (free space below the stop level, or the store full): count it, start culling. */
static int cache_full(struct swapobj_store *st)
{
	__atomic_add_fetch(&st->cull.refused, 1, __ATOMIC_RELAXED);
	space_kick(st);
	return so_err(SWAPOBJ_ECACHEFULL, "cache full: %llu bytes free, below the stop level of %llu (%u%% of usable)",
	              (unsigned long long)cull_free_bytes(st), (unsigned long long)cull_level(st, st->cull.stop),
	              st->cull.stop);
}

int64_t swapobj_obj_write(swapobj_obj *h, const void *buf, size_t len, uint64_t off)
{
	int err;
	bool need_seg = false, full = false;
	size_t total = 0;
	if ((err = check_data(h)) < 0)
		return err;
	if (!buf && len)
		return so_err(SWAPOBJ_EINVAL, "NULL buffer");
	if (len > INT64_MAX || off > SWAPOBJ_MAX_OBJECT_SIZE || len > SWAPOBJ_MAX_OBJECT_SIZE - off)
		return so_err(SWAPOBJ_EFBIG, "write of %zu bytes at %llu goes past the maximum object size", len,
		              (unsigned long long)off);
	struct swapobj_store *st = h->st;
	struct so_obj *o = h->o;
	bool cache = o->cls == SWAPOBJ_CLASS_CACHE && st->cull.on, swap = o->cls != SWAPOBJ_CLASS_CACHE;
	if (cache && len && cull_state(st) == SWAPOBJ_CACHE_STOPPED)
		return cache_full(st);
	cull_tick(st);
	cull_touch(st, o);
	while (total < len) {
		if ((err = log_space_wait(&st->log, len - total, need_seg)) < 0) {
			if (err == SWAPOBJ_ENOSPC && swap && evict_for_swap(st, len - total, false))
				continue;
			break;
		}
		pthread_mutex_lock(&o->lock);
		if (obj_is_dead(&st->ix, o)) {
			pthread_mutex_unlock(&o->lock);
			err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
			break;
		}
		int64_t n = write_pages(st, o, (const uint8_t *)buf + total, len - total, off + total, &err, &full);
		inv_obj(st, o, "write");
		pthread_mutex_unlock(&o->lock);
		total += (size_t)n;
		if (err == SWAPOBJ_ENOSPC && !full) {
			/*
			 * No segment could be taken just now: wait for the cleaner (it
			 * says ENOSPC if it cannot free one; log_space_wait never spins:
			 * with need_seg it returns only once a segment is there).
			 */
			need_seg = n == 0;
			continue;
		}
		/* The store is full by its live bytes: a SWAP write makes room by evicting CACHE objects. */
		if (err == SWAPOBJ_ENOSPC && swap && evict_for_swap(st, len - total, true))
			continue;
		if (err < 0)
			break;
	}
	if (cull_wanted(st))
		space_kick(st); /* below the cull level: the background evicts */
	if (total == 0 && cache && err == SWAPOBJ_ENOSPC)
		return cache_full(st);
	return total > 0 ? (int64_t)total : (int64_t)err;
}

/* ------------------------------------------------------------------ */
/* Read                                                                */
/* ------------------------------------------------------------------ */

static int log_tombstone(struct swapobj_store *st, struct so_obj *o, uint8_t type, uint64_t lpos, uint64_t len,
                         uint64_t new_size);

/* Drop whole pages [first, last) of o from the index, with their charges (o->lock held). */
static void drop_pages(struct swapobj_store *st, struct so_obj *o, uint64_t first, uint64_t last)
{
	uint64_t charge = objrec_charge(o), before = extmap_pages(&o->map);
	struct objrec_rel rel = {&st->log, o->oid};
	extmap_clear(&o->map, first, last - first, objrec_slot_released, &rel);
	index_pages_account(&st->ix, before, extmap_pages(&o->map));
	objrec_account(st, o, charge);
}

/*
 * The release half of an exclusive read of [off, end): the whole pages in
 * it become a hole, exactly as a punch (one PUNCH record, so the release
 * is as durable as a punch, and the cleaner treats it the same). The
 * record may use the cleaner's reserve: it frees space. Caller holds
 * o->lock and has read the data.
 */
int obj_release_read(struct swapobj_store *st, struct so_obj *o, uint64_t off, uint64_t end)
{
	uint64_t first = (off + PG - 1) / PG, last = end / PG, p;
	extslot s;
	int err;
	if (first >= last || !extmap_next(&o->map, first, &p, &s) || p >= last)
		return 0;
	if ((err = log_tombstone(st, o, REC_PUNCH, first * PG, (last - first) * PG, o->size)) < 0)
		return err;
	drop_pages(st, o, first, last);
	return 0;
}

int64_t swapobj_obj_read(swapobj_obj *h, void *buf, size_t len, uint64_t off, unsigned flags)
{
	int err;
	if ((err = check_data(h)) < 0)
		return err;
	if ((!buf && len) || (flags & ~SWAPOBJ_READ_EXCLUSIVE))
		return so_err(SWAPOBJ_EINVAL, buf ? "unknown read flags" : "NULL buffer");
	cull_touch(h->st, h->o); /* recency for cache culling */
	if (!(flags & SWAPOBJ_READ_EXCLUSIVE) && len) {
		int64_t n = obj_read_ahead(h, buf, len, off);
		if (n != OBJ_RA_MISS)
			return n;
	}
	struct swapobj_read_req r = {h, buf, off, len, 0};
	if ((err = obj_read_ranges(h->st, &r, 1, flags, NULL)) < 0)
		return err;
	if (r.result >= 0)
		obj_ra_note(h, off, (uint64_t)r.result);
	return r.result;
}

/* ------------------------------------------------------------------ */
/* Punch, truncate                                                     */
/* ------------------------------------------------------------------ */

/* Log a PUNCH or TRUNCATE record for o; caller holds o->lock. */
static int log_tombstone(struct swapobj_store *st, struct so_obj *o, uint8_t type, uint64_t lpos, uint64_t len,
                         uint64_t new_size)
{
	struct rec r = {0};
	uint8_t payload[8];
	uint64_t addr;
	int err;
	r.type = type;
	r.oid = o->oid;
	r.lpos = lpos;
	r.obj_size = new_size;
	so_put_le64(payload, len);
	if ((err = log_append(&st->log, LOG_HOT, LOG_URGENT, &r, payload, type == REC_PUNCH ? 8 : 0, &addr)) < 0)
		return err;
	tombreg_set(st, r.seq, addr);
	o->meta_addr = addr;
	o->meta_seq = r.seq;
	return 0;
}

/* Zero [a, b) inside one page by rewriting it. */
static int zero_partial(struct swapobj_store *st, struct so_obj *o, uint64_t a, uint64_t b)
{
	if (a >= b || extslot_kind(extmap_get(&o->map, a / PG)) == EXT_NONE)
		return 0;
	int64_t n = obj_write_locked(st, o, zero_page, (size_t)(b - a), a);
	return n < 0 ? (int)n : 0;
}

int swapobj_obj_punch(swapobj_obj *h, uint64_t off, uint64_t len)
{
	int err;
	if ((err = check_data(h)) < 0)
		return err;
	if (off > SWAPOBJ_MAX_OBJECT_SIZE || len > SWAPOBJ_MAX_OBJECT_SIZE - off)
		return so_err(SWAPOBJ_EFBIG, "punch range goes past the maximum object size");
	if (len == 0)
		return 0;
	struct swapobj_store *st = h->st;
	struct so_obj *o = h->o;
	if ((err = log_check_writable(&st->log)) < 0)
		return err;
	/*
	 * Partial pages at the edges are rewritten (a data write): give the
	 * cleaner a chance first. If the store is truly full we go on anyway:
	 * whole-page punches need only a tombstone, which may use the reserve.
	 */
	(void)log_space_wait(&st->log, (off % PG || (off + len) % PG) ? 2 * REC_DATA_SIZE : IO_ALIGN, false);
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	uint64_t end = SO_MIN(off + len, o->size);
	if (off >= end)
		goto done;
	uint64_t first = (off + PG - 1) / PG, last = end / PG; /* whole pages [first, last) */
	if (first > last) {
		err = zero_partial(st, o, off, end); /* inside a single page */
		goto done;
	}
	if ((err = zero_partial(st, o, off, first * PG)) < 0 || (err = zero_partial(st, o, last * PG, end)) < 0)
		goto done;
	uint64_t p;
	extslot s;
	if (first < last && extmap_next(&o->map, first, &p, &s) && p < last) {
		if ((err = log_tombstone(st, o, REC_PUNCH, first * PG, (last - first) * PG, o->size)) < 0)
			goto done;
		drop_pages(st, o, first, last);
		inv_obj(st, o, "punch");
	}
done:
	pthread_mutex_unlock(&o->lock);
	return err;
}

int swapobj_obj_truncate(swapobj_obj *h, uint64_t size)
{
	int err;
	if ((err = check_data(h)) < 0)
		return err;
	if (size > SWAPOBJ_MAX_OBJECT_SIZE)
		return so_err(SWAPOBJ_EFBIG, "size %llu is past the maximum object size", (unsigned long long)size);
	struct swapobj_store *st = h->st;
	struct so_obj *o = h->o;
	if ((err = log_check_writable(&st->log)) < 0)
		return err;
	(void)log_space_wait(&st->log, REC_DATA_SIZE, false); /* the last page may be rewritten; see punch */
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	if (size == o->size)
		goto done;
	if (size < o->size && size % PG &&
	    (err = zero_partial(st, o, size, SO_MIN(o->size, SO_ROUND_UP(size, PG)))) < 0)
		goto done;
	if ((err = log_tombstone(st, o, REC_TRUNCATE, size, 0, size)) < 0)
		goto done;
	uint64_t from = (size + PG - 1) / PG;
	drop_pages(st, o, from, EXTMAP_PGOFF_LIMIT);
	o->size = size;
	inv_obj(st, o, "truncate");
done:
	pthread_mutex_unlock(&o->lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* Open, create, delete                                                */
/* ------------------------------------------------------------------ */

static int obj_alloc_handle(swapobj_obj **out, struct swapobj_store *st, struct so_obj *o)
{
	swapobj_obj *h = so_alloc(SO_MEM_OTHER, sizeof(*h));
	if (!h)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	h->st = st;
	h->o = o;
	h->ra_next = UINT64_MAX;
	h->ra_seq = 0;
	h->ra = NULL;
	*out = h;
	return 0;
}

int swapobj_obj_open(swapobj_obj **out, swapobj_store *st, const swapobj_key *key, const struct swapobj_obj_opts *opts)
{
	struct swapobj_obj_opts def = {SWAPOBJ_OBJ_OPTS_VERSION, 0, SWAPOBJ_CLASS_SWAP, SWAPOBJ_VERSION_ANY, NULL, 0};
	struct so_index *ix;
	struct so_obj *o = NULL;
	const void *aux = NULL;
	uint32_t aux_len = 0;
	int err;

	if (!out || !st)
		return so_err(SWAPOBJ_EINVAL, "NULL argument");
	*out = NULL;
	if ((err = key_check(key, 1)) < 0)
		return err;
	if (!opts)
		opts = &def;
	if (opts->version != SWAPOBJ_OBJ_OPTS_VERSION && opts->version != 1)
		return so_err(SWAPOBJ_EINVAL, "object options version %u unknown (use SWAPOBJ_OBJ_OPTS_INIT)",
		              opts->version);
	if (opts->flags & ~(SWAPOBJ_O_CREATE | SWAPOBJ_O_EXCL | SWAPOBJ_O_PIN | SWAPOBJ_O_EPHEMERAL | SWAPOBJ_O_DIR))
		return so_err(SWAPOBJ_EINVAL, "unknown object flags 0x%x", opts->flags);
	enum swapobj_class cls = opts->cls ? opts->cls : SWAPOBJ_CLASS_SWAP;
	if (cls != SWAPOBJ_CLASS_SWAP && cls != SWAPOBJ_CLASS_CACHE)
		return so_err(SWAPOBJ_EINVAL, "unknown object class %d", (int)opts->cls);
	if (opts->version >= 2) { /* version 1 structs end before aux */
		if (opts->aux_len > SWAPOBJ_AUX_MAX || (!opts->aux && opts->aux_len))
			return so_err(SWAPOBJ_EINVAL, "aux data of %zu bytes (at most %u, not NULL)", opts->aux_len,
			              SWAPOBJ_AUX_MAX);
		aux = opts->aux;
		aux_len = (uint32_t)opts->aux_len;
	}
	bool create = opts->flags & SWAPOBJ_O_CREATE;
	bool want_dir = opts->flags & SWAPOBJ_O_DIR;
	if (create && (err = log_check_writable(&st->log)) < 0)
		return err;
	ix = &st->ix;

	bool wait_space = false;
	for (int attempt = 0;; attempt++) {
		/* Only a retry after ENOSPC waits: opening an existing object needs no space, even with O_CREATE. */
		if (wait_space && (err = log_space_wait(&st->log, 2 * IO_ALIGN, true)) < 0)
			return err;
		wait_space = false;
		pthread_rwlock_wrlock(&ix->lock);
		struct ns_node *n = ns_lookup(&ix->ns, key, key->ncomp);
		if (n && ns_node_is_object(n)) {
			o = n->obj;
			uint64_t v = opts->data_version;
			if (want_dir && !ns_node_is_dir(n)) {
				err = create ? so_err(SWAPOBJ_EEXIST, "a non-directory object exists at the key")
				             : so_err(SWAPOBJ_ENOTDIR, "the object is not a directory object");
				goto unlock;
			}
			if (v == SWAPOBJ_VERSION_ANY || v == o->version) {
				if (create && (opts->flags & SWAPOBJ_O_EXCL)) {
					err = so_err(SWAPOBJ_EEXIST, "object exists");
					goto unlock;
				}
				obj_get(o);
				err = 0;
				goto unlock;
			}
			if (v < o->version) {
				err = so_err(SWAPOBJ_ESTALE, "stored data version %llu is newer than %llu",
				             (unsigned long long)o->version, (unsigned long long)v);
				goto unlock;
			}
			if (!create) {
				err = so_err(SWAPOBJ_ENOENT, "data version %llu not stored (have %llu)",
				             (unsigned long long)v, (unsigned long long)o->version);
				goto unlock;
			}
			/* Replace: delete the old version (object lock comes before the index lock). */
			obj_get(o);
			pthread_rwlock_unlock(&ix->lock);
			pthread_mutex_lock(&o->lock);
			err = __atomic_load_n(&o->dead, __ATOMIC_ACQUIRE) ? 0 : objrec_delete(st, o);
			pthread_mutex_unlock(&o->lock);
			obj_put(o);
			o = NULL;
			if (err < 0)
				return err;
			if (attempt > 100)
				return so_err(SWAPOBJ_EBUSY, "object keeps being recreated concurrently");
			continue;
		}
		if (n && ns_node_is_prefix(n) && !(create && want_dir)) {
			err = so_err(SWAPOBJ_EISDIR, "key is a prefix of other keys");
			goto unlock;
		}
		if (!create) {
			err = so_err(SWAPOBJ_ENOENT, "no such object");
			goto unlock;
		}
		/* Create: link first (cheap to undo), then log. */
		o = obj_new(ix->next_oid);
		if (!o || (aux_len && !(o->aux = so_alloc(SO_MEM_INDEX, aux_len)))) {
			if (o)
				obj_put(o);
			o = NULL;
			err = so_err(SWAPOBJ_ENOMEM, "out of memory");
			goto unlock;
		}
		if (aux_len)
			memcpy(o->aux, aux, aux_len);
		o->aux_len = aux_len;
		o->cls = (uint8_t)cls;
		o->flags = (uint8_t)(((opts->flags & SWAPOBJ_O_PIN) ? CREATE_F_PIN : 0) |
		                     ((opts->flags & SWAPOBJ_O_EPHEMERAL) ? CREATE_F_EPHEMERAL : 0) |
		                     (want_dir ? CREATE_F_DIR : 0));
		o->version = opts->data_version == SWAPOBJ_VERSION_ANY ? 0 : opts->data_version;
		o->inval_seen = __atomic_load_n(&ix->inval_epoch, __ATOMIC_ACQUIRE);
		/* The newest object is the most recently used before a culling pass can see it (stamp 0 is oldest). */
		cull_tick(st);
		o->atime = __atomic_load_n(&st->cull.clock, __ATOMIC_RELAXED);
		struct ns_node *leaf;
		if ((err = ns_insert_obj(&ix->ns, key, o, want_dir, &leaf)) < 0) {
			obj_put(o);
			o = NULL;
			goto unlock;
		}
		if ((err = oidmap_put(&ix->oids, o->oid, o)) < 0) {
			ns_remove(&ix->ns, leaf);
			obj_put(o);
			o = NULL;
			goto unlock;
		}
		o->node = leaf;
		if ((err = objrec_log_name(st, o, key, REC_CREATE, 0)) < 0) {
			ns_remove(&ix->ns, leaf);
			oidmap_del(&ix->oids, o->oid);
			obj_put(o);
			o = NULL;
			if (err == SWAPOBJ_ENOSPC && attempt < 3) {
				wait_space = true;
				/* The open segment filled up: wait for the cleaner and try again. */
				pthread_rwlock_unlock(&ix->lock);
				/* A SWAP object does not fail for want of room while CACHE objects can make it. */
				if (cls == SWAPOBJ_CLASS_SWAP)
					(void)evict_for_swap(st, IO_ALIGN, cull_free_bytes(st) < 2 * IO_ALIGN);
				continue;
			}
			if (err == SWAPOBJ_ENOSPC && cls == SWAPOBJ_CLASS_CACHE && st->cull.on)
				err = cache_full(st);
			goto unlock;
		}
		ix->next_oid++;
		obj_get(o); /* the handle's reference; the index keeps the first */
		err = 0;
	unlock:
		pthread_rwlock_unlock(&ix->lock);
		break;
	}
	if (err < 0)
		return err;
	cull_tick(st);
	cull_touch(st, o);
	if ((err = obj_alloc_handle(out, st, o)) < 0)
		obj_put(o);
	return err;
}

int swapobj_obj_close(swapobj_obj *h)
{
	if (!h)
		return so_err(SWAPOBJ_EINVAL, "NULL object handle");
	obj_ra_free(h);
	if (h->o)
		obj_put(h->o);
	so_free(SO_MEM_OTHER, h);
	return 0;
}

int swapobj_obj_delete(swapobj_obj *h)
{
	int err;
	if ((err = check_handle(h)) < 0)
		return err;
	struct swapobj_store *st = h->st;
	if ((err = log_check_writable(&st->log)) < 0)
		return err;
	/* Let the cleaner make room first (no lock held); if it cannot, DELETE may use the reserve. */
	(void)log_space_wait(&st->log, IO_ALIGN, false);
	pthread_mutex_lock(&h->o->lock);
	if (obj_is_dead(&st->ix, h->o))
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
	else
		err = objrec_delete(st, h->o);
	pthread_mutex_unlock(&h->o->lock);
	return err;
}

int swapobj_delete(swapobj_store *st, const swapobj_key *key)
{
	swapobj_obj *h;
	int err;
	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if ((err = swapobj_obj_open(&h, st, key, NULL)) < 0)
		return err;
	err = swapobj_obj_delete(h);
	swapobj_obj_close(h);
	return err;
}

int swapobj_obj_set_pin(swapobj_obj *h, int pinned)
{
	int err;
	swapobj_key key;
	if ((err = check_handle(h)) < 0)
		return err;
	struct swapobj_store *st = h->st;
	struct so_obj *o = h->o;
	if ((err = log_check_writable(&st->log)) < 0 || (err = log_space_wait(&st->log, IO_ALIGN, false)) < 0)
		return err;
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	uint8_t want = (uint8_t)(pinned ? (o->flags | CREATE_F_PIN) : (o->flags & ~CREATE_F_PIN));
	if (want == o->flags)
		goto done;
	/*
	 * Check and log under the index lock: a prefix invalidation logged in
	 * between would otherwise be outranked by this newer CREATE on replay.
	 */
	pthread_rwlock_rdlock(&st->ix.lock);
	if (!o->node || ns_node_dead(o->node)) {
		pthread_rwlock_unlock(&st->ix.lock);
		err = so_err(SWAPOBJ_ESTALE, "object was invalidated");
		goto done;
	}
	ns_key_of(o->node, &key);
	uint8_t old = o->flags;
	__atomic_store_n(&o->flags, want, __ATOMIC_RELAXED); /* the culler reads it without o->lock */
	if ((err = objrec_log_name(st, o, &key, REC_CREATE, 0)) < 0)
		__atomic_store_n(&o->flags, old, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&st->ix.lock);
done:
	pthread_mutex_unlock(&o->lock);
	return err;
}

int swapobj_obj_sync(swapobj_obj *h)
{
	int err;
	if ((err = check_handle(h)) < 0)
		return err;
	return swapobj_store_sync(h->st);
}

/* The size of struct swapobj_obj_stat as first released (0.1); appended fields do not change it. */
#define OBJ_STAT_SIZE_V1 (offsetof(struct swapobj_obj_stat, flags) + sizeof(unsigned))

static void obj_stat_fill(struct swapobj_obj_stat *out, const struct so_obj *o);

int swapobj_obj_stat(struct swapobj_obj_stat *out, size_t out_size, swapobj_obj *h)
{
	struct swapobj_obj_stat full;
	int err;
	if ((err = check_handle(h)) < 0)
		return err;
	if (!out)
		return so_err(SWAPOBJ_EINVAL, "NULL stat buffer");
	if (out_size < OBJ_STAT_SIZE_V1)
		return so_err(SWAPOBJ_EINVAL, "struct swapobj_obj_stat of %zu bytes (at least %zu)", out_size,
		              (size_t)OBJ_STAT_SIZE_V1);
	struct so_obj *o = h->o;
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&h->st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	obj_stat_fill(&full, o);
	memset(out, 0, out_size);
	memcpy(out, &full, SO_MIN(out_size, sizeof(full)));
done:
	pthread_mutex_unlock(&o->lock);
	return err;
}

/* Caller holds o->lock. */
static void obj_stat_fill(struct swapobj_obj_stat *out, const struct so_obj *o)
{
	memset(out, 0, sizeof(*out));
	out->size = o->size;
	out->pages = extmap_pages(&o->map);
	out->zero_pages = extmap_pages_kind(&o->map, EXT_ZERO);
	out->fill_pages = extmap_pages_kind(&o->map, EXT_FILL);
	out->stored_bytes = extmap_pages_kind(&o->map, EXT_DATA) * REC_DATA_SIZE + out->fill_pages * REC_FILL_SIZE +
	                    o->create_bytes + o->aux_bytes;
	out->extents = extmap_extents(&o->map);
	out->data_version = o->version;
	out->id = o->oid;
	out->cls = (enum swapobj_class)o->cls;
	out->flags = ((o->flags & CREATE_F_PIN) ? SWAPOBJ_O_PIN : 0) |
	             ((o->flags & CREATE_F_EPHEMERAL) ? SWAPOBJ_O_EPHEMERAL : 0) |
	             ((o->flags & CREATE_F_DIR) ? SWAPOBJ_O_DIR : 0);
}
