/*
 * replay.c - rebuild the index from the log alone.
 *
 * 1. Scan: every segment whose block 0 holds a valid SEGHDR is read whole;
 *    its records (those whose seg_gen matches the SEGHDR's) are collected.
 *    A damaged record is skipped by searching forward, 16 bytes at a time,
 *    for the next valid record of the same generation, so one bad sector
 *    does not hide what follows it.
 * 2. Decide which objects live: an object lives iff it has a CREATE
 *    record, no DELETE record, is not ephemeral, and no INVALIDATE record
 *    of a prefix of its key has a higher sequence number than its newest
 *    CREATE. Two live objects claiming one key (a crash between the DELETE
 *    and CREATE of a version replacement): the newer CREATE wins, and a
 *    DELETE for the loser is logged after replay.
 * 3. Apply each live object's records in sequence order through the same
 *    extent-map operations the live paths use, so the highest sequence
 *    number wins per page whatever order segments were read in. The size
 *    is the obj_size of the object's highest-sequence record.
 * 4. Rebuild the usage table from the index; segments without a valid
 *    SEGHDR (or with nothing but one) go to the free queue.
 *
 * Memory: one 56-byte entry per data/tombstone record while replaying.
 * Checkpoints (a later format feature) bound this and the replay time.
 */
#include <stdlib.h>

#include "space.h"
#include "store_int.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

struct rentry {
	uint64_t oid, seq, lpos, len, addr16, obj_size;
	uint8_t type, flags;
	uint8_t damaged; /* DATA whose payload failed its checksum */
};

/* The newest CREATE of an object: its key kept in its compact on-disk encoding. */
struct rcreate {
	uint64_t seq, addr16, version;
	uint32_t bytes;
	uint8_t cls, flags;
	uint16_t keylen;
	uint8_t keyenc[];
};

struct rinval {
	uint64_t seq;
	swapobj_key prefix;
};

struct replay {
	struct swapobj_store *st;
	struct rentry *ents;
	size_t nents, cap;
	struct oidmap creates; /* oid -> struct rcreate* (newest CREATE) */
	struct oidmap deleted; /* oid -> (void*)1 */
	struct rinval *invals;
	size_t ninvals, capinvals;
	uint64_t max_seq, max_gen, max_oid;
	uint64_t corrupt_regions; /* damaged spans skipped (headers that cannot be trusted) */
	uint64_t damaged;         /* durable records with a damaged payload, kept so reads report them */
	uint64_t torn;            /* damaged records past the durable point: unsynced writes, dropped */
	uint64_t durable_seq;     /* highest durable_seq of the SYNC records found */
	uint64_t gen_hw;          /* highest "next generation" of the SYNC records found */
	uint64_t *losers;
	size_t nlosers, caplosers;
	struct rentry *torn_ents; /* torn DATA records: their pages get rewritten after replay */
	size_t ntorn_ents, captorn;
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024, bytes;
	if (!so_mul_ok(ncap, elem, &bytes))
		return so_err(SWAPOBJ_ENOMEM, "replay table overflow");
	void *p = so_realloc(SO_MEM_OTHER, *arr, bytes);
	if (!p)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log (%zu records)", n);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int collect(struct replay *rp, const struct rec *r, uint64_t addr16, uint32_t sz, bool damaged)
{
	int err;
	rp->max_seq = SO_MAX(rp->max_seq, r->seq);
	rp->max_oid = SO_MAX(rp->max_oid, r->oid);
	switch (r->type) {
	case REC_SYNC:
		rp->durable_seq = SO_MAX(rp->durable_seq, so_get_le64(r->payload));
		rp->gen_hw = SO_MAX(rp->gen_hw, so_get_le64(r->payload + 8));
		return 0;
	case REC_CREATE: {
		struct rcreate *c = oidmap_get(&rp->creates, r->oid);
		uint16_t klen = so_get_le16(r->payload + CREATE_KEYLEN);
		if (c && c->seq >= r->seq) {
			log_rec_died(&rp->st->log, addr16, 0, r->oid); /* an older CREATE of the object */
			return 0;
		}
		if (c)
			log_rec_died(&rp->st->log, c->addr16, 0, r->oid);
		if (!c || c->keylen != klen) {
			struct rcreate *n = so_realloc(SO_MEM_OTHER, c, sizeof(*c) + klen);
			if (!n)
				return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
			c = n;
			if ((err = oidmap_put(&rp->creates, r->oid, c)) < 0) {
				oidmap_del(&rp->creates, r->oid);
				so_free(SO_MEM_OTHER, c);
				return err;
			}
		}
		c->seq = r->seq;
		c->addr16 = addr16;
		c->bytes = sz;
		c->cls = r->payload[CREATE_CLASS];
		c->flags = r->payload[CREATE_FLAGS];
		c->version = so_get_le64(r->payload + CREATE_VERSION);
		c->keylen = klen;
		memcpy(c->keyenc, r->payload + CREATE_KEY, klen);
		break;
	}
	case REC_DELETE:
		return oidmap_put(&rp->deleted, r->oid, (void *)1);
	case REC_INVALIDATE:
		if ((err = grow((void **)&rp->invals, &rp->capinvals, rp->ninvals, sizeof(*rp->invals))) < 0)
			return err;
		rp->invals[rp->ninvals].seq = r->seq;
		key_decode(r->payload, r->payload_len, &rp->invals[rp->ninvals].prefix);
		rp->ninvals++;
		return 0;
	default:
		break;
	}
	/* CREATE too: it may be the newest size-carrying record. */
	if ((err = grow((void **)&rp->ents, &rp->cap, rp->nents, sizeof(*rp->ents))) < 0)
		return err;
	struct rentry *e = &rp->ents[rp->nents++];
	e->oid = r->oid;
	e->seq = r->seq;
	e->lpos = r->lpos;
	e->len = r->type == REC_DATA ? r->raw_len : r->type == REC_PUNCH ? so_get_le64(r->payload) : 0;
	e->addr16 = addr16;
	e->obj_size = r->obj_size;
	e->type = r->type;
	e->flags = r->flags;
	e->damaged = damaged;
	return 0;
}

/* Scan one segment; buf holds seg_size bytes. */
static int scan_seg(struct replay *rp, struct log_seg *s, uint8_t *buf)
{
	struct so_log *lg = &rp->st->log;
	struct rec r;
	uint32_t sz;
	int err;

	enum rec_verdict v = rec_decode(buf, lg->seg_size, lg->seed, true, &r, &sz);
	if (v != REC_OK || r.type != REC_SEGHDR || r.lpos != s->segno)
		return 0; /* never used, or its header was torn before it became durable: free */
	s->gen = r.seg_gen;
	s->stream = (uint8_t)so_get_le32(r.payload + SEGHDR_STREAM);
	s->hdr_ns = so_get_le64(r.payload + SEGHDR_OPENED);
	s->hdr_seq = r.seq;
	rp->max_gen = SO_MAX(rp->max_gen, s->gen);
	if (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED) {
		s->erase = ERASE_DONE; /* free, and nothing in it belongs to the erased use */
		return 0;
	}
	s->known = 1; /* every record is noted below */
	uint64_t pos = sz, end = sz;
	while (pos + REC_HDR_LEN <= lg->seg_size) {
		v = rec_decode(buf + pos, lg->seg_size - pos, lg->seed, true, &r, &sz);
		bool ours = (v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == s->gen && r.type != REC_SEGHDR;
		if (ours && v == REC_BAD_CSUM && r.type != REC_DATA) {
			/* A damaged CREATE/PUNCH/...: its payload cannot be used. Counted, skipped. */
			rp->damaged++;
			pos += sz;
			end = pos;
			continue;
		}
		if (!ours) {
			/* End of this use's records, or a damaged header: look for a later valid record. */
			uint64_t p = pos + REC_ALIGN;
			for (; p + REC_HDR_LEN <= lg->seg_size; p += REC_ALIGN) {
				if (so_get_le32(buf + p + RH_MAGIC) != REC_MAGIC ||
				    so_get_le32(buf + p + RH_SEG_GEN) != s->gen)
					continue;
				enum rec_verdict v2 = rec_decode(buf + p, lg->seg_size - p, lg->seed, true, &r, &sz);
				if ((v2 == REC_OK || v2 == REC_BAD_CSUM) && r.type != REC_SEGHDR)
					break;
			}
			if (p + REC_HDR_LEN > lg->seg_size)
				break;
			rp->corrupt_regions++;
			pos = p;
			continue;
		}
		log_note(lg, s, r.oid, r.seq);
		bool tomb =
		    r.type == REC_PUNCH || r.type == REC_TRUNCATE || r.type == REC_DELETE || r.type == REC_INVALIDATE;
		if (tomb) {
			s->tomb_bytes += sz; /* the cleaner must read this segment before freeing it */
			s->tomb_need += sz;
		}
		if (tomb && tomb_get(rp->st, r.seq) < log_addr16(lg, s->segno, pos))
			/* Copies share the seq: register the highest address, as replay's tie-break applies it last. */
			tomb_set(rp->st, r.seq, log_addr16(lg, s->segno, pos));
		if ((err = collect(rp, &r, log_addr16(lg, s->segno, pos), sz, v == REC_BAD_CSUM)) < 0)
			return err;
		pos += sz;
		end = pos;
	}
	s->state = SEG_SEALED;
	s->fill = end;
	s->written = end;
	s->sealed_ns = so_now_ns();
	/* Age: the newest record seen; a use with none is as old as its header says. */
	if (s->max_seq < s->hdr_seq)
		s->max_seq = s->hdr_seq;
	s->tomb_seen = rp->max_seq;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* Same record twice (a relocated copy): a damaged copy first so an intact one wins, then by address. */
	if (x->damaged != y->damaged)
		return (int)y->damaged - (int)x->damaged;
	return x->addr16 < y->addr16 ? -1 : x->addr16 > y->addr16;
}

static bool invalidated(const struct replay *rp, const struct rcreate *c, const swapobj_key *key)
{
	for (size_t i = 0; i < rp->ninvals; i++) {
		const swapobj_key *p = &rp->invals[i].prefix;
		if (rp->invals[i].seq <= c->seq || p->ncomp > key->ncomp)
			continue;
		uint32_t plen = p->nbytes;
		bool match = true;
		for (uint32_t k = 0; k < p->ncomp && match; k++)
			match = p->len[k] == key->len[k];
		if (match && memcmp(p->buf, key->buf, plen) == 0)
			return true;
	}
	return false;
}

static int add_loser(struct replay *rp, uint64_t oid)
{
	int err = grow((void **)&rp->losers, &rp->caplosers, rp->nlosers, sizeof(*rp->losers));
	if (err == 0)
		rp->losers[rp->nlosers++] = oid;
	return err;
}

/* Every record of a dead object is dead, and tombstones must outlive them. */
static void mark_dead(struct replay *rp, uint64_t oid, const struct rcreate *c, const struct rentry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_rec_died(&rp->st->log, ents[i].addr16, 0, oid);
	if (c)
		log_rec_died(&rp->st->log, c->addr16, 0, oid);
}

/* Create the in-memory object for oid and apply its records ents[0..n). */
static int build_obj(struct replay *rp, uint64_t oid, const struct rentry *ents, size_t n)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	struct rcreate *c = oidmap_get(&rp->creates, oid);
	struct ns_node *leaf;
	int err;

	swapobj_key key;
	if (c && key_decode(c->keyenc, c->keylen, &key) < 0)
		c = NULL; /* cannot happen: the payload passed its checksum and structure checks */
	if (!c || oidmap_get(&rp->deleted, oid) || (c->flags & CREATE_F_EPHEMERAL) || invalidated(rp, c, &key)) {
		mark_dead(rp, oid, c, ents, n);
		return 0;
	}
	struct log_rel rel = {lg, oid};
	struct so_obj *o = obj_new(oid);
	if (!o)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	o->cls = c->cls;
	o->flags = c->flags;
	o->version = c->version;
	o->create_addr = c->addr16;
	o->create_seq = c->seq;
	o->create_bytes = c->bytes;
	err = ns_insert(&ix->ns, &key, o, &leaf);
	if (err == SWAPOBJ_EEXIST) {
		struct ns_node *n0 = ns_lookup(&ix->ns, &key, key.ncomp);
		struct so_obj *other = n0->obj;
		if (other->create_seq > c->seq) {
			obj_put(o);
			mark_dead(rp, oid, c, ents, n);
			return add_loser(rp, oid);
		}
		/* This one is newer: evict the other. */
		if ((err = add_loser(rp, other->oid)) < 0) {
			obj_put(o);
			return err;
		}
		ns_remove(&ix->ns, n0);
		oidmap_del(&ix->oids, other->oid);
		__atomic_sub_fetch(&ix->pages, extmap_pages(&other->map), __ATOMIC_RELAXED);
		uint64_t charge = space_obj_charge(other);
		struct log_rel orel = {lg, other->oid};
		extmap_clear(&other->map, 0, UINT64_MAX, log_slot_released, &orel);
		log_rec_died(lg, other->create_addr, other->create_bytes, other->oid);
		other->create_addr = 0;
		space_class_account(st, other, charge);
		other->node = NULL;
		other->dead = 1;
		obj_put(other);
		err = ns_insert(&ix->ns, &key, o, &leaf);
	}
	if (err == SWAPOBJ_ENOTDIR || err == SWAPOBJ_EISDIR || err == SWAPOBJ_EEXIST) {
		obj_put(o); /* conflicts with the tree's shape: cannot have been created live */
		mark_dead(rp, oid, c, ents, n);
		return add_loser(rp, oid);
	}
	if (err < 0) {
		obj_put(o);
		return err;
	}
	if ((err = oidmap_put(&ix->oids, oid, o)) < 0) {
		ns_remove(&ix->ns, leaf);
		obj_put(o);
		return err;
	}
	o->node = leaf;
	log_usage_add(lg, o->create_addr, o->create_bytes);
	extslot slots[64];
	for (size_t i = 0; i < n; i++) {
		const struct rentry *e = &ents[i];
		switch (e->type) {
		case REC_DATA: {
			enum ext_kind k = e->flags & REC_F_ZERO   ? EXT_ZERO
			                  : e->flags & REC_F_FILL ? EXT_FILL
			                                          : EXT_DATA;
			uint64_t pg = e->lpos / PG, np = e->len / PG;
			log_usage_add(lg, e->addr16, (uint32_t)(np * slot_charge(extslot_make(k, e->addr16))));
			for (uint64_t p = 0; p < np; p += 64) {
				uint32_t cnt = (uint32_t)SO_MIN((uint64_t)64, np - p);
				for (uint32_t j = 0; j < cnt; j++)
					slots[j] = extslot_make(k, e->addr16);
				if ((err = extmap_set(&o->map, pg + p, cnt, slots, log_slot_released, &rel)) < 0)
					return err;
			}
			break;
		}
		case REC_PUNCH:
			extmap_clear(&o->map, e->lpos / PG, e->len / PG, log_slot_released, &rel);
			break;
		case REC_TRUNCATE: {
			uint64_t from = (e->obj_size + PG - 1) / PG;
			extmap_clear(&o->map, from, UINT64_MAX - from, log_slot_released, &rel);
			break;
		}
		default:
			break;
		}
		/* Entries are in sequence order: the last one carries the size. */
		o->size = e->obj_size;
		o->meta_addr = e->addr16;
		o->meta_seq = e->seq;
	}
	__atomic_add_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	space_class_account(st, o, 0);
	return 0;
}

int replay_run(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	struct replay rp;
	uint8_t *buf = NULL;
	int err;

	memset(&rp, 0, sizeof(rp));
	rp.st = st;
	if ((err = oidmap_init(&rp.creates)) < 0)
		return err;
	if ((err = oidmap_init(&rp.deleted)) < 0)
		goto out;
	buf = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
	if (!buf) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for a segment buffer");
		goto out;
	}
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if ((err = io_pread(&lg->devs[s->dev], buf, IO_ALIGN, log_seg_devoff(lg, s))) < 0)
			goto out;
		struct rec r;
		uint32_t sz;
		if (rec_decode(buf, IO_ALIGN, lg->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR)
			continue;
		if ((err = io_pread(&lg->devs[s->dev], buf, lg->seg_size, log_seg_devoff(lg, s))) < 0)
			goto out;
		if ((err = scan_seg(&rp, s, buf)) < 0)
			goto out;
	}
	/*
	 * A damaged payload below the durable point is media damage: keep the
	 * record so reads of its page fail loudly. Above it, it is a write that
	 * was torn by the crash and never acknowledged: drop it (old data stays).
	 */
	size_t kept = 0;
	for (size_t i = 0; i < rp.nents; i++) {
		if (rp.ents[i].damaged && rp.ents[i].seq >= rp.durable_seq) {
			rp.torn++;
			log_rec_died(lg, rp.ents[i].addr16, 0, rp.ents[i].oid);
			if ((err = grow((void **)&rp.torn_ents, &rp.captorn, rp.ntorn_ents, sizeof(*rp.torn_ents))) < 0)
				goto out;
			rp.torn_ents[rp.ntorn_ents++] = rp.ents[i];
			continue;
		}
		rp.damaged += rp.ents[i].damaged;
		rp.ents[kept++] = rp.ents[i];
	}
	rp.nents = kept;
	if (rp.nents)
		qsort(rp.ents, rp.nents, sizeof(*rp.ents), ent_cmp);
	/* Objects with a CREATE but no other record still need building. */
	for (size_t i = 0, j; i < rp.nents; i = j) {
		for (j = i; j < rp.nents && rp.ents[j].oid == rp.ents[i].oid; j++)
			;
		if ((err = build_obj(&rp, rp.ents[i].oid, rp.ents + i, j - i)) < 0)
			goto out;
	}
	st->ix.next_oid = rp.max_oid + 1;
	lg->next_seq = rp.max_seq + 1;
	/*
	 * Never reissue a generation: a segment whose new SEGHDR tore hides its
	 * old one, so the highest generation seen may be lower than one issued.
	 */
	lg->next_gen = (uint32_t)SO_MAX(rp.max_gen + 1, rp.gen_hw);
	lg->durable_seq = lg->sync_logged_seq = rp.durable_seq;
	st->damaged_records = rp.damaged + rp.corrupt_regions;
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if (s->state != SEG_SEALED || s->fill <= SEGHDR_REC_SIZE) {
			if (s->state == SEG_SEALED)
				__atomic_store_n(&s->min_seq, UINT64_MAX, __ATOMIC_RELAXED);
			log_seg_free_locked(lg, s);
			s->erase = ERASE_DONE; /* erased, never used, torn header or header only: nothing to replay */
		}
	}
	pthread_mutex_unlock(&lg->mu);
	/*
	 * Torn writes must never be taken for durable damage later, when newer
	 * SYNC records raise the durable point past their seq: retire them on
	 * disk now, durably, before anything is appended.
	 */
	if (!lg->rdonly && rp.ntorn_ents) {
		for (size_t i = 0; i < rp.ntorn_ents && err == 0; i++)
			err = log_zap(lg, rp.torn_ents[i].addr16);
		if (err == 0)
			err = log_sync_devices(lg);
		if (err < 0)
			goto out;
	}
	/* Settle duplicate keys for good, so the loser cannot come back later. */
	if (!lg->rdonly)
		for (size_t i = 0; i < rp.nlosers && err == 0; i++) {
			struct rec r = {0};
			r.type = REC_DELETE;
			r.oid = rp.losers[i];
			uint64_t taddr;
			if ((err = log_append(lg, LOG_HOT, LOG_URGENT, &r, NULL, 0, &taddr)) == 0)
				tomb_set(st, r.seq, taddr);
		}
	if (err == 0 && rp.nlosers && !lg->rdonly)
		err = log_sync(lg);
out:
	so_free_aligned(SO_MEM_BUFFER, buf, lg->seg_size);
	so_free(SO_MEM_OTHER, rp.ents);
	so_free(SO_MEM_OTHER, rp.invals);
	so_free(SO_MEM_OTHER, rp.losers);
	so_free(SO_MEM_OTHER, rp.torn_ents);
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&rp.creates, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp.creates);
	oidmap_destroy(&rp.deleted);
	return err;
}
