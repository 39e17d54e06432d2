/*
 * replay.c - rebuild the index from the log alone.
 *
 * 1. Scan: every segment whose block 0 holds a valid SEGHDR is read whole;
 *    its records (those whose seg_gen matches the SEGHDR's) are collected.
 *    A damaged record is skipped by searching forward, 16 bytes at a time,
 *    for the next valid record of the same generation, so one bad sector
 *    does not hide what follows it.
 * 2. Decide which objects live: an object lives iff it has a name record
 *    (CREATE or RENAME), no DELETE record, is named by no RENAME as the
 *    object it replaced, is not ephemeral, and no INVALIDATE record of a
 *    prefix of its key has a higher sequence number than its newest name
 *    record. Live objects enter the key tree in the order of their newest
 *    name record's seq. One that conflicts with an object already there (same
 *    key, under a non-directory object, or a non-directory object above
 *    others) lost: a record that removed the older object was lost in a
 *    crash, so it was never synced, and neither was anything after it. A
 *    losing RENAME is undone (the object goes back to its previous name
 *    record, re-logged as a CREATE after replay); any other loser is dropped
 *    and a DELETE for it logged after replay. (FORMAT.md, Replay step 3.)
 *    An object dropped by an INVALIDATE that has older name records on disk
 *    is queued for the reaper, which logs a DELETE of it: they may carry
 *    another key, which the INVALIDATE does not cover (see reaper_run in
 *    cleaner.c).
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

#include "store_int.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

struct rentry {
	uint64_t oid, seq, lpos, len, addr16, obj_size;
	uint8_t type, flags;
	uint8_t damaged; /* DATA whose payload failed its checksum */
};

/* The newest name record of an object: its key kept in its compact on-disk encoding, then its aux data. */
struct rcreate {
	uint64_t seq, addr16, version;
	uint32_t bytes;
	uint8_t cls, flags;
	uint16_t keylen;
	uint32_t auxlen;
	uint8_t keyenc[]; /* keylen bytes of key encoding, then auxlen bytes of aux data */
};

/* The newest AUX record of an object. */
struct raux {
	uint64_t seq, addr16;
	uint32_t bytes, len;
	uint8_t data[];
};

struct rinval {
	uint64_t seq;
	swapobj_key prefix;
};

struct replay {
	struct swapobj_store *st;
	struct rentry *ents;
	size_t nents, cap;
	struct oidmap creates; /* oid -> struct rcreate* (newest name record) */
	struct oidmap auxs;    /* oid -> struct raux* (newest AUX record) */
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
	uint64_t *restated; /* objects whose RENAME was undone: their name is re-logged after replay */
	size_t nrestated, caprestated;
	uint8_t *bounce; /* for re-reading older name records (rare) */
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
	case REC_CREATE:
	case REC_RENAME: {
		struct rcreate *c = oidmap_get(&rp->creates, r->oid);
		struct name_rec nr;
		if (name_rec_decode(r->payload, r->payload_len, &nr, NULL) < 0)
			return 0; /* cannot happen: rec_decode checked the payload */
		if (r->type == REC_RENAME && r->lpos) {
			/* The object it replaced is gone, whatever else happens to this record. */
			rp->max_oid = SO_MAX(rp->max_oid, r->lpos);
			if ((err = oidmap_put(&rp->deleted, r->lpos, (void *)1)) < 0)
				return err;
		}
		if (c && c->seq >= r->seq) {
			log_rec_died(&rp->st->log, addr16, 0, r->oid); /* an older name record of the object */
			break;
		}
		if (c)
			log_rec_died(&rp->st->log, c->addr16, 0, r->oid);
		if (!c || c->keylen + c->auxlen != nr.keylen + nr.auxlen) {
			struct rcreate *n = so_realloc(SO_MEM_OTHER, c, sizeof(*c) + nr.keylen + nr.auxlen);
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
		c->cls = nr.cls;
		c->flags = nr.flags;
		c->version = nr.version;
		c->keylen = nr.keylen;
		c->auxlen = nr.auxlen;
		memcpy(c->keyenc, nr.keyenc, nr.keylen);
		memcpy(c->keyenc + nr.keylen, nr.aux, nr.auxlen);
		break; /* an entry too: it may be the newest size-carrying record */
	}
	case REC_AUX: {
		struct raux *a = oidmap_get(&rp->auxs, r->oid);
		if (a && a->seq >= r->seq) {
			log_rec_died(&rp->st->log, addr16, 0, r->oid);
			return 0;
		}
		if (a)
			log_rec_died(&rp->st->log, a->addr16, 0, r->oid);
		if (!a || a->len != r->payload_len) {
			struct raux *n = so_realloc(SO_MEM_OTHER, a, sizeof(*a) + r->payload_len);
			if (!n)
				return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
			a = n;
			if ((err = oidmap_put(&rp->auxs, r->oid, a)) < 0) {
				oidmap_del(&rp->auxs, r->oid);
				so_free(SO_MEM_OTHER, a);
				return err;
			}
		}
		a->seq = r->seq;
		a->addr16 = addr16;
		a->bytes = sz;
		a->len = r->payload_len;
		memcpy(a->data, r->payload, r->payload_len);
		return 0;
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
	s->stream = (uint8_t)so_get_le32(r.payload);
	s->hdr_ns = so_get_le64(r.payload + 8);
	rp->max_gen = SO_MAX(rp->max_gen, s->gen);
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
		if ((r.type == REC_PUNCH || r.type == REC_TRUNCATE || r.type == REC_DELETE ||
		     r.type == REC_INVALIDATE) &&
		    tomb_get(rp->st, r.seq) < log_addr16(lg, s->segno, pos))
			/* Copies share the seq: register the highest address, as replay's tie-break applies it last. */
			tomb_set(rp->st, r.seq, log_addr16(lg, s->segno, pos));
		if (r.type == REC_RENAME && v == REC_OK && !tomb_get(rp->st, r.seq))
			/* A RENAME is also a tombstone: the first copy, the one collect() keeps as name record. */
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

/* Did an INVALIDATE newer than the name record with this seq drop the object at key? */
/* One object's entries in rp->ents, and the seq of its newest name record (0: none). */
struct rgroup {
	uint64_t seq;
	size_t start, n;
};

static int group_cmp(const void *a, const void *b)
{
	const struct rgroup *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool invalidated(const struct replay *rp, uint64_t seq, const swapobj_key *key)
{
	for (size_t i = 0; i < rp->ninvals; i++) {
		const swapobj_key *p = &rp->invals[i].prefix;
		if (rp->invals[i].seq <= seq || p->ncomp > key->ncomp)
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
	struct raux *a = oidmap_get(&rp->auxs, oid);
	for (size_t i = 0; i < n; i++)
		log_rec_died(&rp->st->log, ents[i].addr16, 0, oid);
	if (c)
		log_rec_died(&rp->st->log, c->addr16, 0, oid);
	if (a)
		log_rec_died(&rp->st->log, a->addr16, 0, oid);
}

/*
 * Give o the aux data of whichever is newer: its name record (seq name_seq,
 * aux bytes given) or its newest AUX record. The loser's record is dead.
 */
static int set_aux(struct replay *rp, struct so_obj *o, uint64_t name_seq, const uint8_t *aux, uint32_t auxlen)
{
	struct so_log *lg = &rp->st->log;
	struct raux *a = oidmap_get(&rp->auxs, o->oid);
	if (a && a->seq > name_seq) {
		aux = a->data;
		auxlen = a->len;
	}
	uint8_t *copy = NULL;
	if (auxlen && !(copy = so_alloc(SO_MEM_INDEX, auxlen)))
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	if (auxlen)
		memcpy(copy, aux, auxlen);
	so_free(SO_MEM_INDEX, o->aux);
	o->aux = copy;
	o->aux_len = auxlen;
	if (a && a->seq > name_seq) {
		o->aux_addr = a->addr16;
		o->aux_seq = a->seq;
		o->aux_bytes = a->bytes;
	} else {
		if (a)
			log_rec_died(lg, a->addr16, 0, o->oid);
		o->aux_addr = 0;
		o->aux_seq = name_seq;
		o->aux_bytes = 0;
	}
	return 0;
}

/*
 * The newest name record of o older than *seq, read back from the device
 * (this is rare: only a RENAME that lost a conflict needs it). On success o's
 * identity and aux come from it, *key is its key and *seq its seq; 1 if
 * there is none left, or an error.
 */
static int older_name(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n, uint64_t *seq,
                      swapobj_key *key)
{
	struct so_log *lg = &rp->st->log;
	uint32_t maxlen = rec_size(NAME_REC_MAX);
	int err;
	if (!rp->bounce && !(rp->bounce = so_alloc_aligned(SO_MEM_BUFFER, maxlen + 2 * IO_ALIGN)))
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	for (size_t i = n; i-- > 0;) {
		const struct rentry *e = &ents[i];
		const uint8_t *p;
		struct rec r;
		struct name_rec nr;
		uint32_t sz;
		if ((e->type != REC_CREATE && e->type != REC_RENAME) || e->seq >= *seq)
			continue;
		if ((err = log_read(lg, e->addr16, maxlen, rp->bounce, &p)) < 0)
			return err;
		if (rec_decode(p, maxlen, lg->seed, true, &r, &sz) != REC_OK || r.type != e->type || r.oid != o->oid ||
		    r.seq != e->seq || name_rec_decode(r.payload, r.payload_len, &nr, key) < 0)
			continue; /* read back damaged: try an older one */
		*seq = e->seq;
		if (invalidated(rp, e->seq, key))
			continue;
		o->cls = nr.cls;
		o->flags = nr.flags;
		o->version = nr.version;
		o->create_addr = e->addr16;
		o->create_seq = e->seq;
		o->create_bytes = sz;
		if ((err = set_aux(rp, o, e->seq, nr.aux, nr.auxlen)) < 0)
			return err;
		return 0;
	}
	return 1;
}

static int add_restated(struct replay *rp, uint64_t oid)
{
	int err = grow((void **)&rp->restated, &rp->caprestated, rp->nrestated, sizeof(*rp->restated));
	if (err == 0)
		rp->restated[rp->nrestated++] = oid;
	return err;
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

	/*
	 * renamed: name records under another key may be on disk. Without
	 * reading them, any older name record counts (a pin re-logs a CREATE
	 * under the same key; after a rename the RENAME may be gone already).
	 */
	swapobj_key key;
	bool renamed = false;
	for (size_t i = 0; i < n; i++)
		renamed |= (ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && c && ents[i].seq != c->seq;
	if (c && key_decode(c->keyenc, c->keylen, &key) < 0)
		c = NULL; /* cannot happen: the payload passed its checksum and structure checks */
	if (!c || oidmap_get(&rp->deleted, oid) || (c->flags & CREATE_F_EPHEMERAL)) {
		mark_dead(rp, oid, c, ents, n);
		return 0;
	}
	if (invalidated(rp, c->seq, &key)) {
		mark_dead(rp, oid, c, ents, n);
		if (!renamed)
			return 0;
		/*
		 * It may have name records under a key the INVALIDATE misses: as if
		 * just reaped, it waits (name record live) for the reaper's DELETE.
		 * Not logged here: the store may be too full before cleaning.
		 */
		struct so_obj *d = obj_new(oid);
		if (!d)
			return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
		d->renamed = 1;
		d->dead = 1;
		d->flags = c->flags;
		d->create_addr = c->addr16;
		d->create_seq = d->aux_seq = c->seq;
		d->create_bytes = c->bytes;
		if ((err = oidmap_put(&ix->oids, oid, d)) < 0 || (err = doomed_push(st, d)) < 0) {
			oidmap_del(&ix->oids, oid);
			obj_put(d);
			return err;
		}
		log_usage_add(lg, d->create_addr, d->create_bytes);
		return 0;
	}
	struct log_rel rel = {lg, oid};
	struct so_obj *o = obj_new(oid);
	if (!o)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	o->cls = c->cls;
	o->flags = c->flags;
	o->renamed = renamed;
	o->version = c->version;
	o->create_addr = c->addr16;
	o->create_seq = c->seq;
	o->create_bytes = c->bytes;
	if ((err = set_aux(rp, o, c->seq, c->keyenc + c->keylen, c->auxlen)) < 0) {
		obj_put(o);
		return err;
	}
	/*
	 * Objects come here in increasing seq of their name record, so whatever
	 * this one conflicts with is older and wins (see the top of the file).
	 */
	uint64_t seq = c->seq;
	for (;;) {
		err = ns_insert_obj(&ix->ns, &key, o, o->flags & CREATE_F_DIR, &leaf);
		if (err != SWAPOBJ_EEXIST && err != SWAPOBJ_ENOTDIR && err != SWAPOBJ_EISDIR)
			break;
		/*
		 * Go back through the object's older name records: the RENAME that
		 * brought it here was never synced (nor a CREATE re-logged on top).
		 * A new object has none left: it is dropped.
		 */
		int e2 = older_name(rp, o, ents, n, &seq, &key);
		if (e2 < 0) {
			obj_put(o);
			return e2;
		}
		if (e2 == 1 || (o->flags & CREATE_F_EPHEMERAL)) {
			obj_put(o);
			mark_dead(rp, oid, c, ents, n);
			return add_loser(rp, oid);
		}
	}
	if (err < 0) {
		obj_put(o);
		return err;
	}
	if (seq != c->seq) {
		/* Undone: the newer name records are dead, and the name must be restated after replay. */
		for (size_t i = 0; i < n; i++)
			if ((ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && ents[i].seq > seq)
				log_rec_died(lg, ents[i].addr16, 0, oid);
		if ((err = add_restated(rp, oid)) < 0) {
			ns_remove(&ix->ns, leaf);
			obj_put(o);
			return err;
		}
	}
	if ((err = oidmap_put(&ix->oids, oid, o)) < 0) {
		ns_remove(&ix->ns, leaf);
		obj_put(o);
		return err;
	}
	o->node = leaf;
	log_usage_add(lg, o->create_addr, o->create_bytes);
	log_usage_add(lg, o->aux_addr, o->aux_bytes);
	extslot slots[64];
	for (size_t i = 0; i < n; i++) {
		const struct rentry *e = &ents[i];
		if ((e->type == REC_CREATE || e->type == REC_RENAME) && e->seq > seq)
			continue; /* an undone name record: dead, does not give the size */
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
	return 0;
}

int replay_run(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	struct replay rp;
	struct rgroup *groups = NULL;
	uint8_t *buf = NULL;
	int err;

	memset(&rp, 0, sizeof(rp));
	rp.st = st;
	if ((err = oidmap_init(&rp.creates)) < 0)
		return err;
	if ((err = oidmap_init(&rp.deleted)) < 0 || (err = oidmap_init(&rp.auxs)) < 0)
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
	/* Build objects in increasing seq of their newest name record (the older one wins a conflict). */
	size_t ngroups = 0;
	for (size_t i = 0; i < rp.nents; i++)
		ngroups += i == 0 || rp.ents[i].oid != rp.ents[i - 1].oid;
	size_t gbytes;
	if (!so_mul_ok(ngroups ? ngroups : 1, sizeof(*groups), &gbytes) || !(groups = so_alloc(SO_MEM_OTHER, gbytes))) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log (%zu objects)", ngroups);
		goto out;
	}
	ngroups = 0;
	for (size_t i = 0, j; i < rp.nents; i = j) {
		for (j = i; j < rp.nents && rp.ents[j].oid == rp.ents[i].oid; j++)
			;
		struct rcreate *c = oidmap_get(&rp.creates, rp.ents[i].oid);
		groups[ngroups++] = (struct rgroup){c ? c->seq : 0, i, j - i};
	}
	qsort(groups, ngroups, sizeof(*groups), group_cmp);
	for (size_t g = 0; g < ngroups; g++) {
		struct rentry *e = rp.ents + groups[g].start;
		if ((err = build_obj(&rp, e->oid, e, groups[g].n)) < 0)
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
	/* Undone renames: restate each object's name, so that no later replay takes the RENAME again. */
	if (!lg->rdonly)
		for (size_t i = 0; i < rp.nrestated && err == 0; i++) {
			struct so_obj *o = oidmap_get(&st->ix.oids, rp.restated[i]);
			swapobj_key key;
			ns_key_of(o->node, &key);
			err = obj_log_name(st, o, &key, REC_CREATE, 0);
		}
	if (err == 0 && (rp.nlosers || rp.nrestated) && !lg->rdonly)
		err = log_sync(lg);
out:
	so_free_aligned(SO_MEM_BUFFER, buf, lg->seg_size);
	so_free(SO_MEM_OTHER, rp.ents);
	so_free(SO_MEM_OTHER, rp.invals);
	so_free(SO_MEM_OTHER, rp.losers);
	so_free(SO_MEM_OTHER, rp.torn_ents);
	so_free(SO_MEM_OTHER, rp.restated);
	so_free(SO_MEM_OTHER, groups);
	if (rp.bounce)
		so_free_aligned(SO_MEM_BUFFER, rp.bounce, rec_size(NAME_REC_MAX) + 2 * IO_ALIGN);
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&rp.creates, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp.creates);
	pos = 0;
	while (oidmap_next(&rp.auxs, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp.auxs);
	oidmap_destroy(&rp.deleted);
	return err;
}
