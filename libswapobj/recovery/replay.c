/*
 * replay.c - rebuild the index from the log alone.
 *
 * 1. Scan: every segment whose block 0 holds a valid SEGHDR is read whole;
 *    its records (those whose seg_gen matches the SEGHDR's) are collected.
 *    A damaged record is skipped by searching forward, 16 bytes at a time,
 *    for the next valid record of the same generation, so one bad sector
 *    does not hide what follows it.
 *    A damaged header (or a damaged payload of a record other than DATA)
 *    that lies past the durable point, or in a segment opened after the last
 *    SYNC record, is a write a crash tore: like torn DATA it is retired on
 *    disk at a read-write open, so that later SYNC records cannot make it
 *    look like damage of durable data.
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
 * With a checkpoint (ckpt.c) the index, usage and segment summaries come
 * from it, and only the tail is scanned: segments whose generation changed
 * since the cut, and segments open at the cut from their noted fill on.
 * Tail records are applied on top of the loaded objects in sequence order
 * (re-applying what the snapshot already has is harmless); tail DELETE and
 * INVALIDATE records remove loaded objects.
 *
 * Memory: one 56-byte entry per data/tombstone record scanned.
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay.h"
#include "space.h"
#include "store_types.h"
#include "tombreg.h"
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

/*
 * Bytes where a record should start but none does: a damaged region (valid
 * records follow) or a damaged record at the end of a segment's records.
 * Decided once the durable point is known: torn by a crash, or damage.
 */
struct rgap {
	uint64_t addr16;
	uint64_t prev_seq; /* seq of the segment's last valid record before it (0: none) */
	uint64_t hint_seq; /* seq its header names, if the header checks out but for its magic (0: not) */
	uint32_t gen;      /* the segment's generation */
};

struct replay {
	struct swapobj_store *st;
	struct rentry *ents;
	size_t nents, cap;
	struct oidmap creates; /* oid -> struct rcreate* (newest name record) */
	struct oidmap auxs;    /* oid -> struct raux* (newest AUX record) */
	struct oidmap deleted; /* oid -> (void*)1 */
	struct oidmap ckkeys;  /* oid -> swapobj_key*: checkpoint key of a loaded object renamed in the tail */
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
	bool tail;          /* replaying the tail of a loaded checkpoint */
	uint64_t cut_seq;   /* its cut: tail records below it are relocated copies */
	uint64_t *restated; /* objects whose RENAME was undone: their name is re-logged after replay */
	size_t nrestated, caprestated;
	uint8_t *bounce; /* for re-reading older name records (rare) */
	struct rgap *gaps;
	size_t ngaps, capgaps;
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

/*
 * Do the bytes at p look like a record of generation gen whose header is
 * damaged (magic present, or a header that checks out once its magic is put
 * back)? *hint_seq = the seq it names if the header checks out, else 0.
 * Zero magic: the end of the records, or a record already retired.
 */
static bool gap_looks_like_record(const struct so_log *lg, const uint8_t *p, uint32_t gen, uint64_t *hint_seq)
{
	uint8_t tmp[REC_HDR_LEN];
	uint32_t magic = so_get_le32(p + RH_MAGIC);
	if (magic == 0)
		return false;
	memcpy(tmp, p, REC_HDR_LEN);
	so_put_le32(tmp + RH_MAGIC, REC_MAGIC);
	bool csum = (uint32_t)so_hash64(tmp, RH_HDR_CSUM, lg->seed) == so_get_le32(tmp + RH_HDR_CSUM);
	if (magic != REC_MAGIC && !csum)
		return false;
	if (csum && so_get_le32(tmp + RH_SEG_GEN) != gen)
		return false; /* intact, of an earlier use of the segment */
	/* Its seq only counts if the header checks out: a damaged seq field must not make it look torn. */
	*hint_seq = csum ? so_get_le64(tmp + RH_SEQ) : 0;
	return true;
}

static int add_gap(struct replay *rp, uint64_t addr16, uint64_t prev_seq, uint64_t hint_seq, uint32_t gen)
{
	int err = grow((void **)&rp->gaps, &rp->capgaps, rp->ngaps, sizeof(*rp->gaps));
	if (err == 0)
		rp->gaps[rp->ngaps++] = (struct rgap){addr16, prev_seq, hint_seq, gen};
	return err;
}

/* Scan one segment from offset start (0: all of it); buf holds seg_size bytes. */
static int scan_seg(struct replay *rp, struct log_seg *s, uint8_t *buf, uint64_t start)
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
	uint64_t pos = SO_MAX((uint64_t)sz, SO_ROUND_DOWN(start, REC_ALIGN)), end = pos, last_seq = 0;
	while (pos + REC_HDR_LEN <= lg->seg_size) {
		v = rec_decode(buf + pos, lg->seg_size - pos, lg->seed, true, &r, &sz);
		bool ours = (v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == s->gen && r.type != REC_SEGHDR;
		if (ours && v == REC_BAD_CSUM && r.type != REC_DATA) {
			/* A damaged CREATE/PUNCH/...: its payload cannot be used. Torn or damage: decided later. */
			if ((err = add_gap(rp, log_addr16(lg, s->segno, pos), last_seq, r.seq, s->gen)) < 0)
				return err;
			last_seq = r.seq;
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
			uint64_t hint = 0;
			bool found = p + REC_HDR_LEN <= lg->seg_size;
			bool looks = gap_looks_like_record(lg, buf + pos, s->gen, &hint);
			if ((found && so_get_le32(buf + pos + RH_MAGIC) != 0) || (!found && looks))
				if ((err = add_gap(rp, log_addr16(lg, s->segno, pos), last_seq, hint, s->gen)) < 0)
					return err;
			if (!found)
				break;
			pos = p;
			continue;
		}
		last_seq = r.seq;
		log_note(lg, s, r.oid, r.seq);
		bool tomb =
		    r.type == REC_PUNCH || r.type == REC_TRUNCATE || r.type == REC_DELETE || r.type == REC_INVALIDATE;
		if (tomb) {
			s->tomb_bytes += sz; /* the cleaner must read this segment before freeing it */
			s->tomb_need += sz;
		}
		if (tomb && tombreg_get(rp->st, r.seq) < log_addr16(lg, s->segno, pos))
			/* Copies share the seq: register the highest address, as replay's tie-break applies it last. */
			tombreg_set(rp->st, r.seq, log_addr16(lg, s->segno, pos));
		if (r.type == REC_RENAME && v == REC_OK && !tombreg_get(rp->st, r.seq))
			/* A RENAME is also a tombstone: the first copy, the one collect() keeps as name record. */
			tombreg_set(rp->st, r.seq, log_addr16(lg, s->segno, pos));
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
static int older_name(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n, uint64_t floor,
                      uint64_t *seq, swapobj_key *key)
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
		if ((e->type != REC_CREATE && e->type != REC_RENAME) || e->seq >= *seq || e->seq <= floor)
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

/* The page kind a DATA entry maps. */
static enum ext_kind ent_kind(const struct rentry *e)
{
	return e->flags & REC_F_ZERO ? EXT_ZERO : e->flags & REC_F_FILL ? EXT_FILL : EXT_DATA;
}

/* A PUNCH or TRUNCATE entry applied to o's map (the same operation the live paths do). */
static void apply_tombstone(struct so_obj *o, const struct rentry *e, struct objrec_rel *rel)
{
	uint64_t from = e->type == REC_PUNCH ? e->lpos / PG : (e->obj_size + PG - 1) / PG;
	uint64_t n = e->type == REC_PUNCH ? e->len / PG : UINT64_MAX - from;
	extmap_clear(&o->map, from, n, objrec_slot_released, rel);
}

int replay_doom(struct swapobj_store *st, uint64_t oid, uint8_t cls, uint8_t flags, uint64_t create_addr,
                uint64_t create_seq, uint32_t create_bytes)
{
	struct so_obj *d = obj_new(oid);
	int err;
	if (!d)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	d->renamed = 1;
	d->dead = 1;
	d->cls = cls;
	d->flags = flags;
	d->create_addr = create_addr;
	d->create_seq = d->aux_seq = create_seq;
	d->create_bytes = create_bytes;
	if ((err = oidmap_put(&st->ix.oids, oid, d)) < 0 || (err = objrec_doom(st, d)) < 0) {
		oidmap_del(&st->ix.oids, oid);
		obj_put(d);
		return err;
	}
	log_usage_add(&st->log, create_addr, create_bytes);
	objrec_account(st, d, 0);
	return 0;
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
	/*
	 * In the tail of a checkpoint, an object it does not have whose newest
	 * name record is below the cut was dead when the checkpoint was taken
	 * (every object named before the cut was in the oid table by then): its
	 * tail records are copies the cleaner kept as tombstones, and the
	 * DELETE that killed it may be in a segment the tail does not read.
	 */
	if (!c || oidmap_get(&rp->deleted, oid) || (c->flags & CREATE_F_EPHEMERAL) ||
	    (rp->tail && c->seq < rp->cut_seq)) {
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
		return replay_doom(st, oid, c->cls, c->flags, c->addr16, c->seq, c->bytes);
	}
	struct objrec_rel rel = {lg, oid};
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
		int e2 = older_name(rp, o, ents, n, 0, &seq, &key);
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
			enum ext_kind k = ent_kind(e);
			uint64_t pg = e->lpos / PG, np = e->len / PG;
			log_usage_add(lg, e->addr16, (uint32_t)(np * extslot_charge(extslot_make(k, e->addr16))));
			for (uint64_t p = 0; p < np; p += 64) {
				uint32_t cnt = (uint32_t)SO_MIN((uint64_t)64, np - p);
				for (uint32_t j = 0; j < cnt; j++)
					slots[j] = extslot_make(k, e->addr16);
				if ((err = extmap_set(&o->map, pg + p, cnt, slots, objrec_slot_released, &rel)) < 0)
					return err;
			}
			break;
		}
		case REC_PUNCH:
		case REC_TRUNCATE:
			apply_tombstone(o, e, &rel);
			break;
		default:
			break;
		}
		/* Entries are in sequence order: the last one carries the size. */
		o->size = e->obj_size;
		o->meta_addr = e->addr16;
		o->meta_seq = e->seq;
	}
	__atomic_add_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	objrec_account(st, o, 0);
	return 0;
}

/* Remove an object loaded from the checkpoint that a tail DELETE or INVALIDATE killed. */
/*
 * Drop an object loaded from the checkpoint that a tail record killed. A
 * renamed one killed by an INVALIDATE (doom) is queued for its DELETE
 * instead, name record live, as build_obj does (see reaper_run).
 */
static int kill_loaded(struct replay *rp, struct so_obj *o, bool doom)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	struct objrec_rel rel = {lg, o->oid};
	uint64_t charge = objrec_charge(o);
	if (o->node)
		ns_remove(&ix->ns, o->node);
	o->node = NULL;
	struct rcreate *c = oidmap_get(&rp->creates, o->oid);
	bool newer = c && c->seq > o->create_seq; /* renamed (or re-logged) in the tail */
	doom = doom && (o->renamed || newer) && !o->dead;
	if (doom) {
		int err = objrec_doom(st, o);
		if (err < 0)
			return err;
		o->renamed = 1;
		if (newer) {
			/* The newest name record is the one to keep until the DELETE. */
			log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
			o->create_addr = c->addr16;
			o->create_seq = c->seq;
			o->create_bytes = c->bytes;
			log_usage_add(lg, o->create_addr, o->create_bytes);
		}
	} else {
		if (o->dead) {
			/* Loaded doomed: its DELETE is in the tail. Out of the reaper's queue (its reference is the
			 * index's). */
			for (size_t i = 0; i < st->ndoomed; i++)
				if (st->doomed[i] == o) {
					st->doomed[i] = st->doomed[--st->ndoomed];
					break;
				}
		}
		oidmap_del(&ix->oids, o->oid);
		log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
		o->create_addr = 0;
	}
	/* Pages and aux data go either way; a doomed object keeps only its name record. */
	__atomic_sub_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	extmap_clear(&o->map, 0, UINT64_MAX, objrec_slot_released, &rel);
	if (o->aux_addr)
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
	o->aux_addr = 0;
	o->aux_bytes = 0;
	objrec_account(st, o, charge);
	o->dead = 1;
	if (!doom)
		obj_put(o);
	return 0;
}

static int kill_loaded_by_tail(struct replay *rp)
{
	struct so_index *ix = &rp->st->ix;
	uint64_t pos = 0, oid;
	void *val;
	int err;
	while (oidmap_next(&rp->deleted, &pos, &oid, &val)) {
		struct so_obj *o = oidmap_get(&ix->oids, oid);
		if (o && (err = kill_loaded(rp, o, false)) < 0)
			return err;
	}
	if (!rp->ninvals)
		return 0;
	uint64_t n = oidmap_count(&ix->oids), k = 0;
	struct so_obj **victims = n ? so_alloc(SO_MEM_OTHER, n * sizeof(*victims)) : NULL;
	if (n && !victims)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	pos = 0;
	while (k < n && oidmap_next(&ix->oids, &pos, &oid, &val)) {
		struct so_obj *o = val;
		swapobj_key key;
		if (o->dead)
			continue; /* doomed already */
		/* By its newest name record, as build_obj: a tail rename may have moved it in or out of the prefix. */
		struct rcreate *c = oidmap_get(&rp->creates, o->oid);
		uint64_t seq = o->create_seq;
		if (c && c->seq > seq) {
			if (key_decode(c->keyenc, c->keylen, &key) < 0)
				continue; /* cannot happen: checked when read; apply_loaded reports it */
			seq = c->seq;
		} else {
			ns_key_of(o->node, &key);
		}
		if (invalidated(rp, seq, &key))
			victims[k++] = o;
	}
	err = 0;
	for (uint64_t i = 0; i < k && err == 0; i++)
		err = kill_loaded(rp, victims[i], true);
	so_free(SO_MEM_OTHER, victims);
	return err;
}

/* A tail AUX record of an object loaded from the checkpoint (AUX records are not in rp->ents). */
static int apply_loaded_aux(struct replay *rp, struct so_obj *o)
{
	struct so_log *lg = &rp->st->log;
	int err;
	struct raux *a = oidmap_get(&rp->auxs, o->oid);
	if (a && a->seq == o->aux_seq && o->aux_addr && a->addr16 != o->aux_addr) {
		/* The cleaner moved the AUX record. */
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
		log_usage_add(lg, a->addr16, a->bytes);
		o->aux_addr = a->addr16;
	} else if (a && a->seq > o->aux_seq) {
		if (o->aux_addr)
			log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
		if ((err = set_aux(rp, o, o->aux_seq, NULL, 0)) < 0)
			return err;
		log_usage_add(lg, o->aux_addr, o->aux_bytes);
	}
	return 0;
}

/*
 * A loaded object whose newest name record is in the tail is placed, as in
 * a full replay, when objects are built in the order of their newest name
 * record; until then it must not hold its checkpoint key, which a newer
 * object may have taken after the rename (unlink_rekeyed). Its checkpoint
 * key is kept in rp->ckkeys.
 */
static int unlink_rekeyed(struct replay *rp)
{
	struct so_index *ix = &rp->st->ix;
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&ix->oids, &pos, &oid, &val)) {
		struct so_obj *o = val;
		struct rcreate *c = oidmap_get(&rp->creates, oid);
		if (o->dead || !o->node || !c || c->seq <= o->create_seq)
			continue;
		swapobj_key *k = so_alloc(SO_MEM_OTHER, sizeof(*k));
		if (!k)
			return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
		ns_key_of(o->node, k);
		int err = oidmap_put(&rp->ckkeys, oid, k);
		if (err < 0) {
			so_free(SO_MEM_OTHER, k);
			return err;
		}
		ns_remove(&ix->ns, o->node);
		o->node = NULL;
	}
	return 0;
}

/* The identity a loaded object had at the cut, to go back to if every tail name record of it loses. */
struct ident {
	uint8_t cls, flags;
	uint64_t version, create_addr, create_seq;
	uint32_t create_bytes;
	uint8_t *aux;
	uint32_t aux_len;
	uint64_t aux_addr, aux_seq;
	uint32_t aux_bytes;
};

static void ident_take(struct ident *id, struct so_obj *o)
{
	*id = (struct ident){o->cls, o->flags,   o->version,  o->create_addr, o->create_seq, o->create_bytes,
	                     o->aux, o->aux_len, o->aux_addr, o->aux_seq,     o->aux_bytes};
	o->aux = NULL; /* now id's */
	o->aux_len = 0;
}

static void ident_put(struct so_obj *o, struct ident *id)
{
	so_free(SO_MEM_INDEX, o->aux);
	o->cls = id->cls;
	o->flags = id->flags;
	o->version = id->version;
	o->create_addr = id->create_addr;
	o->create_seq = id->create_seq;
	o->create_bytes = id->create_bytes;
	o->aux = id->aux;
	o->aux_len = id->aux_len;
	o->aux_addr = id->aux_addr;
	o->aux_seq = id->aux_seq;
	o->aux_bytes = id->aux_bytes;
	id->aux = NULL;
}

static bool key_conflict(int err)
{
	return err == SWAPOBJ_EEXIST || err == SWAPOBJ_ENOTDIR || err == SWAPOBJ_EISDIR;
}

/*
 * Place a loaded object unlinked by unlink_rekeyed under its newest name
 * record c, as build_obj does: a key taken by an older claim sends it back
 * through its older tail name records (that rename was never synced), then
 * to its checkpoint key; with none left it is dropped as a loser. Returns 0
 * placed (*placed: the seq of the name record it stands on), 1 dropped, or
 * an error.
 */
static int place_rekeyed(struct replay *rp, struct so_obj *o, const struct rcreate *c, const struct rentry *ents,
                         size_t n, uint64_t *placed)
{
	struct so_log *lg = &rp->st->log;
	struct so_index *ix = &rp->st->ix;
	swapobj_key key, *ckkey = oidmap_get(&rp->ckkeys, o->oid);
	struct ns_node *leaf = NULL;
	struct ident id;
	int err;
	o->renamed = 1; /* an older name record remains either way (see build_obj) */
	if (!ckkey || key_decode(c->keyenc, c->keylen, &key) < 0)
		return so_err(SWAPOBJ_ECORRUPT, "bad key in a name record");
	/* The checkpoint's name and aux records stop counting; those the object ends up with count below. */
	log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
	if (o->aux_addr)
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
	ident_take(&id, o);
	o->cls = c->cls;
	o->flags = c->flags;
	o->version = c->version;
	o->create_addr = c->addr16;
	o->create_seq = c->seq;
	o->create_bytes = c->bytes;
	uint64_t seq = c->seq;
	if ((err = set_aux(rp, o, c->seq, c->keyenc + c->keylen, c->auxlen)) < 0)
		goto out;
	for (;;) {
		err = ns_insert_obj(&ix->ns, &key, o, o->flags & CREATE_F_DIR, &leaf);
		if (!key_conflict(err))
			break;
		int e2 = older_name(rp, o, ents, n, id.create_seq, &seq, &key);
		if (e2 < 0) {
			err = e2;
			goto out;
		}
		if (e2 == 1)
			break;
	}
	if (key_conflict(err)) {
		/* Back to where the checkpoint had it, unless taken or invalidated since. */
		ident_put(o, &id);
		seq = o->create_seq;
		err = invalidated(rp, seq, ckkey) ? SWAPOBJ_EEXIST
		                                  : ns_insert_obj(&ix->ns, ckkey, o, o->flags & CREATE_F_DIR, &leaf);
	}
	if (err == 0 && seq != c->seq) {
		/* Undone: the newer name records are dead, and the name must be restated after replay. */
		for (size_t i = 0; i < n; i++)
			if ((ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && ents[i].seq > seq)
				log_rec_died(lg, ents[i].addr16, 0, o->oid);
		if ((err = add_restated(rp, o->oid)) < 0)
			ns_remove(&ix->ns, leaf);
	}
	if (err == 0) {
		o->node = leaf;
		*placed = seq;
	}
	log_usage_add(lg, o->create_addr, o->create_bytes);
	if (o->aux_addr)
		log_usage_add(lg, o->aux_addr, o->aux_bytes);
	if (key_conflict(err)) {
		/* Every name lost: dropped, and a DELETE logged after replay (as build_obj does). */
		uint64_t oid = o->oid;
		if ((err = kill_loaded(rp, o, false)) == 0 && (err = add_loser(rp, oid)) == 0)
			err = 1;
	}
out:
	so_free(SO_MEM_INDEX, id.aux);
	return err;
}

/* Apply tail records to an object loaded from the checkpoint. */
static int apply_loaded(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n)
{
	struct so_log *lg = &rp->st->log;
	struct so_index *ix = &rp->st->ix;
	struct objrec_rel rel = {lg, o->oid};
	int err;
	uint64_t charge = objrec_charge(o);
	struct rcreate *c = oidmap_get(&rp->creates, o->oid);
	if (c && c->seq == o->create_seq && c->addr16 != o->create_addr) {
		/* The cleaner moved the name record after the snapshot was taken. */
		log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
		log_usage_add(lg, c->addr16, o->create_bytes);
		if (o->meta_addr == o->create_addr)
			o->meta_addr = c->addr16;
		o->create_addr = c->addr16;
	}
	if (o->dead)
		return 0; /* doomed (kill_loaded): only its name record counts, and it waits for its DELETE */
	uint64_t placed = o->create_seq;
	if (c && c->seq > o->create_seq) {
		/* Renamed (or re-logged) after the cut: unlinked by unlink_rekeyed, placed now. */
		if ((err = place_rekeyed(rp, o, c, ents, n, &placed)) != 0)
			return err < 0 ? err : 0; /* 1: dropped, a loser */
	}
	if ((err = apply_loaded_aux(rp, o)) < 0)
		return err;
	uint64_t before = extmap_pages(&o->map);
	for (size_t i = 0; i < n; i++) {
		const struct rentry *e = &ents[i];
		/*
		 * Below the cut, a tail record is a copy the cleaner made; a damaged
		 * one did not make it to disk intact, and the slot the snapshot has
		 * (the original, or this copy if it was durable) stands.
		 */
		if (e->damaged && e->seq < rp->cut_seq)
			continue;
		/*
		 * A PUNCH or TRUNCATE below the cut is a tombstone the cleaner carried
		 * forward: the snapshot already reflects it, and pages written after
		 * it but before the cut are not in the tail to undo it. (A DATA copy
		 * below the cut was live when copied, so it is the page's current
		 * record: applying it only moves the slot.)
		 */
		if (e->seq < rp->cut_seq && (e->type == REC_PUNCH || e->type == REC_TRUNCATE)) {
			if (e->seq == o->meta_seq)
				o->meta_addr = e->addr16;
			continue;
		}
		switch (e->type) {
		case REC_DATA: {
			enum ext_kind k = ent_kind(e);
			uint64_t pg = e->lpos / PG, np = e->len / PG;
			extslot sl = extslot_make(k, e->addr16);
			for (uint64_t p = 0; p < np; p++) {
				if (extmap_get(&o->map, pg + p) == sl)
					continue; /* the snapshot already has it */
				log_usage_add(lg, e->addr16, extslot_charge(sl));
				if ((err = extmap_set(&o->map, pg + p, 1, &sl, objrec_slot_released, &rel)) < 0)
					return err;
			}
			break;
		}
		case REC_PUNCH:
		case REC_TRUNCATE:
			apply_tombstone(o, e, &rel);
			break;
		default:
			break;
		}
		if ((e->type == REC_CREATE || e->type == REC_RENAME) && e->seq > placed)
			continue; /* an undone name record: dead, does not give the size */
		if (e->seq >= o->meta_seq) {
			o->size = e->obj_size;
			o->meta_addr = e->addr16;
			o->meta_seq = e->seq;
		}
	}
	objrec_account(rp->st, o, charge);
	uint64_t after = extmap_pages(&o->map);
	if (after >= before)
		__atomic_add_fetch(&ix->pages, after - before, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ix->pages, before - after, __ATOMIC_RELAXED);
	return 0;
}

/* Is ckpt segment s (with generation gen) named by a checkpoint the open keeps? */
static bool ckpt_referenced(const struct swapobj_store *st, uint32_t segno, uint32_t gen)
{
	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < st->ckpts[k].nsegs; i++)
			if (st->ckpts[k].no && st->ckpts[k].segs[i] == segno && st->ckpts[k].gens[i] == gen)
				return true;
	return false;
}

static void summary_clear(struct log_seg *s)
{
	s->min_seq = UINT64_MAX;
	s->max_seq = 0;
	s->tomb_bytes = 0;
	s->dead_any = 0;
	memset(s->bloom, 0, SEG_BLOOM_BYTES);
}

int replay_run(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	struct replay rp;
	struct ckpt_loaded ck;
	struct rgroup *groups = NULL;
	uint8_t *buf = NULL;
	int err;

	memset(&rp, 0, sizeof(rp));
	memset(&ck, 0, sizeof(ck));
	rp.st = st;
	if ((err = oidmap_init(&rp.creates)) < 0)
		return err;
	if ((err = oidmap_init(&rp.deleted)) < 0 || (err = oidmap_init(&rp.auxs)) < 0 ||
	    (err = oidmap_init(&rp.ckkeys)) < 0)
		goto out;
	buf = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
	if (!buf) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for a segment buffer");
		goto out;
	}
	unsigned fallbacks = 0;
	if ((err = ckpt_load(st, &ck, &fallbacks)) < 0)
		goto out;
	st->ckpt_fallbacks = fallbacks;
	if (err == 1) {
		rp.tail = true;
		rp.cut_seq = ck.cut_seq;
		rp.durable_seq = ck.durable_seq;
		rp.max_seq = ck.next_seq ? ck.next_seq - 1 : 0;
		rp.max_oid = ck.next_oid ? ck.next_oid - 1 : 0;
		rp.max_gen = ck.next_gen ? ck.next_gen - 1 : 0;
		st->ckpt_loaded = 1;
	}
	err = 0;
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if ((err = io_pread(&lg->devs[s->dev], buf, IO_ALIGN, log_seg_devoff(lg, s))) < 0)
			goto out;
		struct rec r;
		uint32_t sz;
		bool hdr_ok = rec_decode(buf, IO_ALIGN, lg->seed, true, &r, &sz) == REC_OK && r.type == REC_SEGHDR &&
		              r.lpos == s->segno;
		if (hdr_ok)
			rp.max_gen = SO_MAX(rp.max_gen, r.seg_gen);
		if (hdr_ok && so_get_le32(r.payload) == SEG_STREAM_CKPT) {
			/* Checkpoint bodies are never replayed; a kept one's segments stay in use. */
			summary_clear(s);
			if (ckpt_referenced(st, s->segno, r.seg_gen)) {
				lg->ckpt_segs++;
				s->gen = r.seg_gen;
				s->stream = SEG_STREAM_CKPT;
				s->hdr_ns = so_get_le64(r.payload + 8);
				s->state = SEG_SEALED;
				s->fill = lg->seg_size;
				s->written = lg->seg_size;
				s->sealed_ns = so_now_ns();
			}
			continue;
		}
		uint64_t start = 0;
		if (rp.tail) {
			const struct ckpt_seg *c = &ck.segs[i];
			if (hdr_ok && r.seg_gen == c->gen && c->state == CKSEG_FREE) {
				s->gen = c->gen; /* old content, all dead: free, its summary (loaded) kept */
				continue;
			}
			if (hdr_ok && r.seg_gen == c->gen && c->state == CKSEG_SEALED) {
				s->gen = c->gen;
				s->stream = c->stream;
				s->state = SEG_SEALED;
				s->fill = c->fill;
				s->written = c->fill;
				s->sealed_ns = so_now_ns();
				continue;
			}
			if (hdr_ok && r.seg_gen < c->gen) {
				/*
				 * The header the table knows (an erasure written before the
				 * capture) did not survive the crash: what is left is the
				 * segment's earlier use, all dead by then. Free; not tail.
				 */
				s->gen = r.seg_gen;
				continue;
			}
			if (hdr_ok && r.seg_gen == c->gen)
				start = c->fill; /* open at the cut: what follows the fill is tail */
			else
				summary_clear(
				    s); /* re-headed after the capture (newer generation): all of it is tail */
		}
		if (!hdr_ok)
			continue;
		if ((err = io_pread(&lg->devs[s->dev], buf, lg->seg_size, log_seg_devoff(lg, s))) < 0)
			goto out;
		st->replay_tail_bytes += lg->seg_size;
		if ((err = scan_seg(&rp, s, buf, start)) < 0)
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
	/*
	 * Damaged headers: a crash tore them if they lie past the durable point
	 * (the record before them, or their own seq if trustworthy, is not below it),
	 * or in a segment opened after the last SYNC record was written. Those
	 * are retired with the torn records below; the others are damage.
	 */
	kept = 0;
	for (size_t i = 0; i < rp.ngaps; i++) {
		const struct rgap *g = &rp.gaps[i];
		if (g->prev_seq >= rp.durable_seq || g->hint_seq >= rp.durable_seq || g->gen >= rp.gen_hw)
			rp.gaps[kept++] = *g;
		else
			rp.corrupt_regions++;
	}
	rp.ngaps = kept;
	if (rp.nents)
		qsort(rp.ents, rp.nents, sizeof(*rp.ents), ent_cmp);
	if (rp.tail && ((err = kill_loaded_by_tail(&rp)) < 0 || (err = unlink_rekeyed(&rp)) < 0))
		goto out;
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
		struct so_obj *lo = rp.tail ? oidmap_get(&st->ix.oids, e->oid) : NULL;
		if (lo)
			err = apply_loaded(&rp, lo, e, groups[g].n);
		else
			err = build_obj(&rp, e->oid, e, groups[g].n);
		if (err < 0)
			goto out;
	}
	if (rp.tail) {
		/* Objects whose only tail record is an AUX have no group above. */
		uint64_t apos = 0, aoid;
		void *aval;
		while (oidmap_next(&rp.auxs, &apos, &aoid, &aval)) {
			struct so_obj *lo = oidmap_get(&st->ix.oids, aoid);
			if (lo && (err = apply_loaded_aux(&rp, lo)) < 0)
				goto out;
		}
	}
	st->ix.next_oid = rp.max_oid + 1;
	lg->next_seq = rp.max_seq + 1;
	/*
	 * Never reissue a generation: a segment whose new SEGHDR tore hides its
	 * old one, so the highest generation seen may be lower than one issued.
	 */
	lg->next_gen = (uint32_t)SO_MAX(rp.max_gen + 1, rp.gen_hw);
	lg->durable_seq = lg->sync_logged_seq = rp.durable_seq;
	st->damaged_records = rp.damaged + rp.corrupt_regions + (rp.tail ? ck.damaged : 0);
	if (st->ckpts[0].no)
		__atomic_store_n(&lg->ckpt_keep_seq, st->ckpts[1].no ? st->ckpts[1].cut_seq : st->ckpts[0].cut_seq,
		                 __ATOMIC_RELAXED);
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
	if (!lg->rdonly && (rp.ntorn_ents || rp.ngaps)) {
		for (size_t i = 0; i < rp.ntorn_ents && err == 0; i++)
			err = log_zap(lg, rp.torn_ents[i].addr16);
		for (size_t i = 0; i < rp.ngaps && err == 0; i++)
			err = log_zap(lg, rp.gaps[i].addr16);
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
				tombreg_set(st, r.seq, taddr);
		}
	/* Undone renames: restate each object's name, so that no later replay takes the RENAME again. */
	if (!lg->rdonly)
		for (size_t i = 0; i < rp.nrestated && err == 0; i++) {
			struct so_obj *o = oidmap_get(&st->ix.oids, rp.restated[i]);
			swapobj_key key;
			ns_key_of(o->node, &key);
			err = objrec_log_name(st, o, &key, REC_CREATE, 0);
		}
	if (err == 0 && (rp.nlosers || rp.nrestated) && !lg->rdonly)
		err = log_sync(lg);
out:
	so_free(SO_MEM_OTHER, ck.segs);
	so_free_aligned(SO_MEM_BUFFER, buf, lg->seg_size);
	so_free(SO_MEM_OTHER, rp.ents);
	so_free(SO_MEM_OTHER, rp.invals);
	so_free(SO_MEM_OTHER, rp.losers);
	so_free(SO_MEM_OTHER, rp.torn_ents);
	so_free(SO_MEM_OTHER, rp.restated);
	so_free(SO_MEM_OTHER, groups);
	if (rp.bounce)
		so_free_aligned(SO_MEM_BUFFER, rp.bounce, rec_size(NAME_REC_MAX) + 2 * IO_ALIGN);
	so_free(SO_MEM_OTHER, rp.gaps);
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
	pos = 0;
	while (oidmap_next(&rp.ckkeys, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp.ckkeys);
	return err;
}
