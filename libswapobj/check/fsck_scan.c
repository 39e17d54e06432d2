/*
 * fsck_scan.c - phase 3 of the checker: the log scan (a reader thread keeps
 * segment reads in flight while this thread verifies every record).
 *
 * Phases, the reading of damage and the repairs: fsck.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsck.h"
#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

#define RD_NBUF 3                  /* segment buffers of the reader thread */
#define RD_AHEAD_BYTES (32u << 20) /* buffered reads: asked for ahead of the segment being read */

/* ------------------------------------------------------------------ */
/* Reading segments                                                    */
/* ------------------------------------------------------------------ */

/*
 * Read segment segno into buf: blocks 0 and 1, and the rest only if one of
 * them is not blank (a never-used segment, or one retired by a repair,
 * costs 8 KiB).
 * *len = bytes read.
 */
static int read_seg(struct fsck *f, struct io_dev *devs, uint32_t segno, uint8_t *buf, uint32_t *len)
{
	unsigned d;
	uint64_t off = fsck_seg_devoff(f, segno, &d);
	if (!devs[d].direct) {
		/*
		 * Buffered: keep the kernel reading about RD_AHEAD_BYTES ahead of us
		 * (many reads in flight, not one), and the library's replay finds
		 * the segments in the page cache.
		 */
		uint32_t ahead = SO_MAX(2u, RD_AHEAD_BYTES / f->seg_size);
		for (uint64_t a = segno ? segno + ahead : 1; a <= segno + ahead && a < f->nsegs; a++) {
			unsigned d2;
			uint64_t off2 = fsck_seg_devoff(f, (uint32_t)a, &d2);
			posix_fadvise(devs[d2].fd, (off_t)off2, f->seg_size, POSIX_FADV_WILLNEED);
		}
	}
	/* Blocks 0 and 1: a split segment keeps a copy of its header in block 1. */
	int err = io_pread(&devs[d], buf, 2 * IO_ALIGN, off);
	*len = 0;
	if (err < 0)
		return err;
	*len = 2 * IO_ALIGN;
	if (so_get_le32(buf + RH_MAGIC) == 0 && so_get_le32(buf + IO_ALIGN + RH_MAGIC) == 0)
		return 0;
	if ((err = io_pread(&devs[d], buf + 2 * IO_ALIGN, f->seg_size - 2 * IO_ALIGN, off + 2 * IO_ALIGN)) < 0)
		return err;
	*len = f->seg_size;
	return 0;
}

struct rd_slot {
	uint8_t *buf;
	uint32_t segno, len;
	int state; /* 0 free, 1 full */
	int err;
	char msg[240];
};

struct reader {
	struct fsck *f;
	struct io_dev devs[SWAPOBJ_MAX_DEVICES]; /* copies of the device handles (same fds) */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rd_slot slot[RD_NBUF];
	unsigned nbuf;
	bool stop, started;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct fsck *f = rd->f;
	for (uint64_t s = 0; s < f->nsegs; s++) {
		struct rd_slot *sl = &rd->slot[s % rd->nbuf];
		pthread_mutex_lock(&rd->mu);
		while (sl->state != 0 && !rd->stop)
			pthread_cond_wait(&rd->cv, &rd->mu);
		bool stop = rd->stop;
		pthread_mutex_unlock(&rd->mu);
		if (stop)
			break;
		sl->segno = (uint32_t)s;
		sl->err = read_seg(f, rd->devs, (uint32_t)s, sl->buf, &sl->len);
		if (sl->err < 0)
			snprintf(sl->msg, sizeof(sl->msg), "%s", swapobj_errmsg());
		pthread_mutex_lock(&rd->mu);
		sl->state = 1;
		pthread_cond_broadcast(&rd->cv);
		pthread_mutex_unlock(&rd->mu);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The log scan                                                        */
/* ------------------------------------------------------------------ */

/* Header checksum of the 64 bytes at p if its magic were intact; fills gen and payload length. */
static bool hdr_restorable(const struct fsck *f, const uint8_t *p, uint32_t *gen, uint32_t *plen)
{
	uint8_t tmp[REC_HDR_LEN];
	memcpy(tmp, p, REC_HDR_LEN);
	so_put_le32(tmp + RH_MAGIC, REC_MAGIC);
	if ((uint32_t)so_hash64(tmp, RH_HDR_CSUM, f->seed) != so_get_le32(tmp + RH_HDR_CSUM))
		return false;
	*gen = so_get_le32(tmp + RH_SEG_GEN);
	*plen = so_get_le32(tmp + RH_PAYLOAD_LEN);
	return true;
}

static struct fsck_rkey rkey_of(const struct rec *r, bool intact)
{
	struct fsck_rkey k = {r->seq, r->oid, r->type == REC_DATA || r->type == REC_PUNCH ? r->lpos : 0, r->type,
	                      intact};
	return k;
}

/* The first valid record of generation gen at or after pos (16-byte steps), as replay finds it; 0 if none. */
static uint64_t resync(const struct fsck *f, const uint8_t *buf, uint32_t len, uint64_t pos, uint32_t gen,
                       struct fsck_rkey *next)
{
	struct rec r;
	uint32_t sz;
	for (; pos + REC_HDR_LEN <= len; pos += REC_ALIGN) {
		if (so_get_le32(buf + pos + RH_MAGIC) != REC_MAGIC || so_get_le32(buf + pos + RH_SEG_GEN) != gen)
			continue;
		enum rec_verdict v = rec_decode(buf + pos, len - pos, f->seed, true, &r, &sz);
		if ((v == REC_OK || v == REC_BAD_CSUM) && r.type != REC_SEGHDR) {
			*next = rkey_of(&r, v == REC_OK);
			return pos;
		}
	}
	return 0;
}

static int add_key(struct fsck *f, const uint8_t *enc, uint32_t len, uint64_t *off)
{
	*off = f->nkeys;
	if (!len)
		return 0;
	if (f->nkeys + len > f->capkeys) {
		uint64_t ncap = SO_MAX(f->capkeys * 2, f->nkeys + len + 4096);
		uint8_t *p = so_realloc(SO_MEM_OTHER, f->keys, ncap);
		if (!p)
			return so_err(SWAPOBJ_ENOMEM, "out of memory for keys");
		f->keys = p;
		f->capkeys = ncap;
	}
	memcpy(f->keys + f->nkeys, enc, len);
	f->nkeys += len;
	return 0;
}

static int add_ent(struct fsck *f, const struct rec *r, uint64_t addr16, uint64_t hdr16, bool damaged)
{
	int err = fsck_grow((void **)&f->ents, &f->capents, f->nents, sizeof(*f->ents));
	if (err < 0)
		return err;
	struct fsck_ent *e = &f->ents[f->nents++];
	memset(e, 0, sizeof(*e));
	e->oid = r->oid;
	e->seq = r->seq;
	e->lpos = r->lpos;
	e->addr16 = addr16;
	e->hdr16 = hdr16;
	e->obj_size = r->obj_size;
	e->type = r->type;
	e->flags = r->flags;
	e->damaged = damaged;
	if (r->type == REC_DATA)
		e->len = r->raw_len;
	else if (r->type == REC_PUNCH && !damaged)
		e->len = so_get_le64(r->payload);
	return 0;
}

/* A valid record of a segment's current use: what the model needs of it. */
static int collect(struct fsck *f, const struct rec *r, uint64_t addr16, uint64_t hdr16, uint32_t sz)
{
	int err = 0;
	f->max_seq = SO_MAX(f->max_seq, r->seq);
	f->max_oid = SO_MAX(f->max_oid, r->oid);
	switch (r->type) {
	case REC_SYNC:
		f->durable_seq = SO_MAX(f->durable_seq, so_get_le64(r->payload));
		f->gen_hw = SO_MAX(f->gen_hw, so_get_le64(r->payload + 8));
		return 0;
	case REC_CREATE:
	case REC_RENAME: {
		struct name_rec nr;
		uint64_t aux_off;
		if (name_rec_decode(r->payload, r->payload_len, &nr, NULL) < 0)
			return 0; /* cannot happen: rec_decode checked the payload */
		if (r->type == REC_RENAME && r->lpos) {
			/* The object the rename replaced is gone, whatever becomes of the rename (replay's rule). */
			f->max_oid = SO_MAX(f->max_oid, r->lpos);
			if ((err = fsck_grow((void **)&f->deletes, &f->capdeletes, f->ndeletes, sizeof(*f->deletes))) <
			    0)
				return err;
			f->deletes[f->ndeletes++] = r->lpos;
		}
		if ((err = fsck_grow((void **)&f->creates, &f->capcreates, f->ncreates, sizeof(*f->creates))) < 0)
			return err;
		struct fsck_create *c = &f->creates[f->ncreates];
		c->oid = r->oid;
		c->seq = r->seq;
		c->addr16 = addr16;
		c->version = nr.version;
		c->bytes = sz;
		c->key_len = nr.keylen;
		c->aux_len = nr.auxlen;
		c->cls = nr.cls;
		c->flags = nr.flags;
		c->type = r->type;
		/* The key, then the aux data right after it. */
		if ((err = add_key(f, nr.keyenc, nr.keylen, &c->key_off)) < 0 ||
		    (err = add_key(f, nr.aux, nr.auxlen, &aux_off)) < 0)
			return err;
		f->ncreates++;
		return add_ent(f, r, addr16, addr16, false);
	}
	case REC_AUX: {
		if ((err = fsck_grow((void **)&f->auxs, &f->capauxs, f->nauxs, sizeof(*f->auxs))) < 0)
			return err;
		struct fsck_aux *a = &f->auxs[f->nauxs];
		a->oid = r->oid;
		a->seq = r->seq;
		a->addr16 = addr16;
		a->bytes = sz;
		a->len = r->payload_len;
		if ((err = add_key(f, r->payload, r->payload_len, &a->data_off)) < 0)
			return err;
		f->nauxs++;
		return 0;
	}
	case REC_DATA:
	case REC_PUNCH:
	case REC_TRUNCATE:
		return add_ent(f, r, addr16, hdr16, false);
	case REC_DELETE:
		if ((err = fsck_grow((void **)&f->deletes, &f->capdeletes, f->ndeletes, sizeof(*f->deletes))) < 0)
			return err;
		f->deletes[f->ndeletes++] = r->oid;
		return 0;
	case REC_INVALIDATE: {
		if ((err = fsck_grow((void **)&f->invals, &f->capinvals, f->ninvals, sizeof(*f->invals))) < 0)
			return err;
		struct fsck_inval *iv = &f->invals[f->ninvals];
		iv->seq = r->seq;
		iv->key_len = (uint16_t)r->payload_len;
		if ((err = add_key(f, r->payload, r->payload_len, &iv->key_off)) < 0)
			return err;
		f->ninvals++;
		return 0;
	}
	default:
		/* Checkpoint pieces belong in checkpoint segments (scan_records hands those over). */
		if (f->unmodelled++ == 0)
			fsck_report_at(f, FSCK_INDEX, FSCK_WARN, addr16, r->type, r->oid, r->seq, 0,
			               "records of type %u (%s) are not expected here; the index check may "
			               "report differences",
			               r->type, fsck_type_name(r->type));
		return 0;
	}
}

static int add_incident(struct fsck *f, const struct fsck_incident *inc)
{
	int err = fsck_grow((void **)&f->incs, &f->capincs, f->nincs, sizeof(*f->incs));
	if (err == 0)
		f->incs[f->nincs++] = *inc;
	return err;
}

/* Fill the hint fields of an incident from a header that may be damaged. */
static void hint_fields(const uint8_t *p, struct fsck_incident *inc)
{
	inc->hint = 1;
	inc->type = p[RH_TYPE];
	inc->oid = so_get_le64(p + RH_OID);
	inc->seq = so_get_le64(p + RH_SEQ);
	inc->lpos = so_get_le64(p + RH_LPOS);
}

/*
 * A record intact but for one flipped bit in its magic or in one of its
 * checksum fields: the bytes it protects check out against the field with
 * that bit put back (a real change of the protected bytes would differ from
 * the stored value in about half of its bits, not in one). Returns the byte
 * offset of the field to rewrite (0 magic, RH_HDR_CSUM, RH_CSUM), its length
 * in *flen and the corrected record header in fixed; -1 if none.
 */
static int one_bit_off(const struct fsck *f, const uint8_t *p, size_t avail, uint8_t fixed[REC_HDR_LEN], uint32_t *flen)
{
	if (avail < REC_HDR_LEN)
		return -1;
	memcpy(fixed, p, REC_HDR_LEN);
	uint32_t magic = so_get_le32(p + RH_MAGIC);
	uint32_t hc = (uint32_t)so_hash64(p, RH_HDR_CSUM, f->seed), stored_hc = so_get_le32(p + RH_HDR_CSUM);
	int field = -1;
	if (magic != REC_MAGIC && __builtin_popcount(magic ^ REC_MAGIC) == 1) {
		so_put_le32(fixed + RH_MAGIC, REC_MAGIC);
		if ((uint32_t)so_hash64(fixed, RH_HDR_CSUM, f->seed) != stored_hc)
			return -1;
		field = RH_MAGIC;
		*flen = 4;
	} else if (magic == REC_MAGIC && hc != stored_hc) {
		if (__builtin_popcount(hc ^ stored_hc) != 1)
			return -1;
		so_put_le32(fixed + RH_HDR_CSUM, hc);
		field = RH_HDR_CSUM;
		*flen = 4;
	}
	/* The header is right now (or was): is only the payload checksum one bit off? */
	uint32_t plen = so_get_le32(fixed + RH_PAYLOAD_LEN);
	if (plen && plen <= SWAPOBJ_SEGMENT_MAX && (size_t)REC_HDR_LEN + plen <= avail) {
		uint64_t pc = so_hash64(p + REC_HDR_LEN, plen, f->seed), stored_pc = so_get_le64(fixed + RH_CSUM);
		if (pc != stored_pc) {
			if (field >= 0 || __builtin_popcountll(pc ^ stored_pc) != 1)
				return -1; /* two fields damaged, or the payload itself */
			so_put_le64(fixed + RH_CSUM, pc);
			field = RH_CSUM;
			*flen = 8;
		}
	}
	return field;
}

static const char *field_name(int field)
{
	return field == RH_MAGIC ? "magic" : field == RH_HDR_CSUM ? "header checksum" : "payload checksum";
}

/* A record of the segment's current use whose header is intact: checked, and collected for the model. */
/*
 * addr16 is the record's address as the index knows it, hdr16 its header's
 * (they differ for a page out of line); rec its bytes (NULL: the padding
 * was checked by the caller).
 */
/* Report the non-zero padding [from, sz) of the record at hdr16 and plan to clear it. */
static int plan_padding(struct fsck *f, uint64_t hdr16, const struct rec *r, uint32_t from, uint32_t sz)
{
	uint64_t t = fsck_report_at(f, FSCK_REC_PADDING, FSCK_WARN, hdr16, r->type, r->oid, r->seq, r->lpos,
	                            "non-zero padding after the payload");
	struct fsck_action a = {0};
	a.kind = ACT_PADDING;
	a.addr16 = hdr16;
	a.from = (uint16_t)from;
	a.len = (uint16_t)(sz - from);
	a.ticket = t;
	a.sev = FSCK_WARN;
	return fsck_plan(f, &a);
}

static int take_record(struct fsck *f, uint64_t addr16, uint64_t hdr16, const uint8_t *rec, uint32_t gen,
                       const struct rec *r, uint32_t sz, bool intact, uint64_t *prev_seq, struct fsck_rkey *prev)
{
	int err;
	uint32_t pad_from = REC_HDR_LEN + r->payload_len;
	if (rec && !fsck_all_zero(rec + pad_from, sz - pad_from) &&
	    (err = plan_padding(f, addr16, r, pad_from, sz)) < 0)
		return err;
	uint32_t segno = fsck_segno_of(f, addr16);
	if (f->seg_stream[segno] == SEG_STREAM_CKPT) {
		/* Checked, not replayed: fsck_ckpt.c verified the bodies the slots name. */
		f->res->records++;
		f->res->records_by_type[r->type < FSCK_NTYPES ? r->type : 0]++;
		if (!intact) {
			f->res->damaged_payloads++;
			return fsck_ckpt_damage(f, segno, gen, addr16, sz,
			                        "checkpoint piece with a payload checksum mismatch");
		}
		if (!fsck_ckpt_record(f, r, addr16)) {
			char what[64];
			snprintf(what, sizeof(what), "a %s record, which does not belong there",
			         fsck_type_name(r->type));
			return fsck_ckpt_damage(f, segno, gen, addr16, sz, what);
		}
		return 0;
	}
	if (intact) {
		f->res->records++;
		f->res->records_by_type[r->type < FSCK_NTYPES ? r->type : 0]++;
		if ((err = collect(f, r, addr16, hdr16, sz)) < 0)
			return err;
		if ((err = fsck_grow((void **)&f->rkeys, &f->caprkeys, f->nrkeys, sizeof(*f->rkeys))) < 0)
			return err;
		f->rkeys[f->nrkeys++] = rkey_of(r, true);
	} else {
		f->res->damaged_payloads++;
		if (r->type == REC_DATA && (err = add_ent(f, r, addr16, hdr16, true)) < 0)
			return err;
		if (r->type != REC_DATA) {
			struct fsck_incident inc = {0};
			inc.kind = INC_PAYLOAD;
			inc.addr16 = hdr16;
			inc.prev_seq = *prev_seq;
			inc.prev = *prev;
			inc.type = r->type;
			inc.oid = r->oid;
			inc.seq = r->seq;
			inc.lpos = r->lpos;
			inc.len = sz;
			inc.gen = gen;
			if ((err = add_incident(f, &inc)) < 0)
				return err;
		}
	}
	*prev_seq = r->seq;
	*prev = rkey_of(r, intact);
	return 0;
}

/* What scan_records found in a segment (for a damaged header's report). */
struct seg_census {
	uint64_t records, data;
	uint64_t oids[4];
	unsigned noids;
};

/*
 * The records of one segment use (generation gen) from pos on. model =
 * collect them for the model (the library replays them); otherwise only
 * count them (a segment replay skips because its header is damaged).
 */
static int scan_records(struct fsck *f, uint32_t segno, const uint8_t *buf, uint32_t len, uint32_t gen, uint64_t pos,
                        bool model, struct seg_census *cen)
{
	struct rec r;
	uint32_t sz;
	uint64_t prev_seq = 0;
	struct fsck_rkey prev = {0, 0, 0, 0, 0};
	/* A checkpoint segment: its records are checked, never replayed (fsck_ckpt.c judges its damage). */
	bool ck = f->seg_stream[segno] == SEG_STREAM_CKPT;
	int err = 0;
	uint8_t *fixbuf = NULL;
	while (pos + REC_HDR_LEN <= len) {
		uint64_t addr16 = (((uint64_t)segno << f->seg_shift) + pos) / ADDR_UNIT;
		enum rec_verdict v = rec_decode(buf + pos, len - pos, f->seed, true, &r, &sz);
		uint8_t fixed[REC_HDR_LEN];
		uint32_t flen;
		/* Not in checkpoint segments: a damaged body is discarded as a whole (fsck_ckpt.c). */
		int field = v == REC_OK || !model || ck ? -1 : one_bit_off(f, buf + pos, len - pos, fixed, &flen);
		if (field >= 0 && so_get_le32(fixed + RH_SEG_GEN) == gen) {
			/*
			 * Exactly one bit off in a magic or checksum field: a repair puts it
			 * back (and the record counts as intact from then on); a check
			 * notes it, then reports the damage as replay now meets it.
			 */
			uint64_t rs = rec_size(so_get_le32(fixed + RH_PAYLOAD_LEN));
			if (f->repair && rs <= len - pos) {
				if (!fixbuf && !(fixbuf = so_alloc(SO_MEM_OTHER, f->seg_size))) {
					err = so_err(SWAPOBJ_ENOMEM, "out of memory");
					goto out;
				}
				memcpy(fixbuf, buf + pos, rs);
				memcpy(fixbuf, fixed, REC_HDR_LEN);
				enum rec_verdict v2 = rec_decode(fixbuf, rs, f->seed, true, &r, &sz);
				if (v2 == REC_OK && r.type != REC_SEGHDR) {
					uint64_t t = fsck_report_at(
					    f, FSCK_REC_HEADER, FSCK_ERROR, addr16, r.type, r.oid, r.seq, r.lpos,
					    "%s of object %llu: one bit of its %s is flipped; the "
					    "record is otherwise intact",
					    fsck_type_name(r.type), (unsigned long long)r.oid, field_name(field));
					struct fsck_action a = {0};
					a.kind = ACT_FIELD;
					a.addr16 = addr16;
					a.from = (uint16_t)field;
					a.len = (uint16_t)flen;
					memcpy(a.hdr, fixed + field, flen);
					a.ticket = t;
					a.sev = FSCK_ERROR;
					if ((err = fsck_plan(f, &a)) < 0)
						goto out;
					/* From here on the record is read from fixbuf. */
					if ((err = take_record(f, addr16, addr16, fixbuf, gen, &r, sz, true, &prev_seq,
					                       &prev)) < 0)
						goto out;
					pos += sz;
					continue;
				}
			} else if (!f->repair) {
				fsck_report_at(f, FSCK_REC_HEADER, FSCK_INFO, addr16, fixed[RH_TYPE],
				               so_get_le64(fixed + RH_OID), so_get_le64(fixed + RH_SEQ),
				               so_get_le64(fixed + RH_LPOS),
				               "only one bit of this record's %s is flipped: a repair restores it",
				               field_name(field));
			}
		}
		if ((v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == gen && r.type != REC_SEGHDR) {
			if (!model) {
				cen->records++;
				cen->data += r.type == REC_DATA;
				bool seen = false;
				for (unsigned i = 0; i < cen->noids; i++)
					seen = seen || cen->oids[i] == r.oid;
				if (!seen && r.oid && cen->noids < SO_ARRAY_SIZE(cen->oids))
					cen->oids[cen->noids++] = r.oid;
				prev_seq = r.seq;
				pos += sz;
				continue;
			}
			if ((err = take_record(f, addr16, addr16, buf + pos, gen, &r, sz, v == REC_OK, &prev_seq,
			                       &prev)) < 0)
				goto out;
			pos += sz;
			continue;
		}
		uint32_t magic = so_get_le32(buf + pos + RH_MAGIC), rgen, plen;
		if (magic == 0) {
			/*
			 * A record or region retired by a repair (or by replay: a torn
			 * write), or the end. Searched past the way replay does, never
			 * skipped by a length it names: what replay finds, the model has.
			 */
			struct fsck_rkey nk;
			uint64_t p = resync(f, buf, len, pos + REC_ALIGN, gen, &nk);
			if (!p)
				break;
			pos = p;
			continue;
		}
		struct fsck_rkey next = {0, 0, 0, 0, 0};
		uint64_t p = resync(f, buf, len, pos + REC_ALIGN, gen, &next);
		bool magic_ok = magic == REC_MAGIC;
		bool restorable = !magic_ok && hdr_restorable(f, buf + pos, &rgen, &plen) && rgen == gen;
		if (!p) {
			/* The end of this use's records, unless a record of this use is damaged here. */
			bool ours = restorable;
			if (magic_ok) {
				uint8_t tmp[REC_HDR_LEN];
				memcpy(tmp, buf + pos, REC_HDR_LEN);
				bool csum_ok =
				    (uint32_t)so_hash64(tmp, RH_HDR_CSUM, f->seed) == so_get_le32(tmp + RH_HDR_CSUM);
				ours = !csum_ok || so_get_le32(tmp + RH_SEG_GEN) == gen;
			}
			if (!ours)
				break;
		}
		if (!model) {
			cen->records++;
			if (!p)
				break;
			pos = p;
			continue;
		}
		if (ck) {
			f->res->damaged_headers++;
			if ((err = fsck_ckpt_damage(f, segno, gen, addr16, (uint32_t)((p ? p : len) - pos),
			                            "damaged record header")) < 0)
				goto out;
			if (!p)
				break;
			pos = p;
			continue;
		}
		struct fsck_incident inc = {0};
		inc.kind = p ? INC_REGION : INC_TAIL;
		inc.addr16 = addr16;
		inc.prev_seq = prev_seq;
		inc.prev = prev;
		inc.next = next;
		inc.len = (uint32_t)((p ? p : len) - pos);
		inc.gen = gen;
		/* A header that checks out but names another generation is left from an earlier use: not a hint. */
		bool stale =
		    magic_ok &&
		    (uint32_t)so_hash64(buf + pos, RH_HDR_CSUM, f->seed) == so_get_le32(buf + pos + RH_HDR_CSUM) &&
		    so_get_le32(buf + pos + RH_SEG_GEN) != gen;
		if ((magic_ok && !stale) || restorable) {
			hint_fields(buf + pos, &inc);
			inc.legible = 1;
		}
		if (restorable)
			inc.hint = 0; /* the header checks out but for its magic: its fields are trusted */
		if (magic_ok && !stale && v != REC_BAD_HDR_CSUM && v != REC_BAD_MAGIC) {
			/* Checksums match but the record is impossible (bad fields, runs off the segment, bad payload).
			 */
			uint64_t t =
			    fsck_report_at(f, FSCK_REC_MALFORMED, FSCK_ERROR, addr16, buf[pos + RH_TYPE],
			                   so_get_le64(buf + pos + RH_OID), so_get_le64(buf + pos + RH_SEQ),
			                   so_get_le64(buf + pos + RH_LPOS),
			                   "%s: record checksums match but it is impossible (%s); replay skips it",
			                   fsck_type_name(buf[pos + RH_TYPE]), rec_verdict_str(v));
			f->res->damaged_headers++;
			if ((err = fsck_plan_zap(f, addr16, t, FSCK_ERROR)) < 0)
				goto out;
		} else if ((err = add_incident(f, &inc)) < 0) {
			goto out;
		}
		if (!p)
			break;
		pos = p;
	}
	err = 0;
out:
	so_free(SO_MEM_OTHER, fixbuf);
	return err;
}

/* ------------------------------------------------------------------ */
/* Split segments                                                      */
/* ------------------------------------------------------------------ */

/*
 * Split segments are read through seg_img / seg_rec_at, as replay reads
 * them (replay_scan.c): positions are stream offsets, a record's address
 * is its copy A's (a page out of line is known by its data offset), and
 * copy B stands in where copy A is not sound. What a classic segment calls
 * damage is, in a split segment, either damage to one copy (nothing is
 * lost: FSCK_REC_COPY, the repair rewrites it from the other) or to both
 * (below the durable point a lost region, FSCK_REGION_LOST: replay makes
 * the store read-only until a repair retires it in both copies).
 */

static uint64_t seg_addr16(const struct fsck *f, uint32_t segno, uint64_t off)
{
	return (((uint64_t)segno << f->seg_shift) + off) / ADDR_UNIT;
}

/*
 * Replay's test of a spot that holds no valid record (rec_looks_damaged):
 * is it a damaged record of generation gen rather than the end? *restored =
 * its header checks out once the magic is put back. lim = bytes of room
 * left in the sector.
 */
static bool split_looks(const struct fsck *f, const uint8_t *p, size_t lim, uint32_t gen, bool *restored)
{
	bool ok;
	uint64_t seq;
	bool looks = rec_looks_damaged(p, lim, f->seed, gen, &ok, &seq);
	*restored = looks && ok && so_get_le32(p + RH_MAGIC) != REC_MAGIC;
	return looks;
}

/*
 * The last answer of split_resync: the first valid record at or after
 * stream offset from is at `at` (0: none up to the stream's end). A later
 * question from a position in [from, at] has the same answer, which keeps
 * the walk through a long stretch without records linear, not quadratic.
 */
struct resync_memo {
	bool valid;
	uint64_t from, at;
	struct fsck_rkey key;
};

/* The first valid record of generation gen at or after stream offset pos, as replay finds it; 0 if none. */
static uint64_t split_resync(const struct seg_img *si, uint64_t pos, uint32_t gen, struct fsck_rkey *next,
                             struct resync_memo *m)
{
	if (m->valid && pos >= m->from && (m->at == 0 || pos <= m->at)) {
		*next = m->key;
		return m->at;
	}
	m->valid = true;
	m->from = pos;
	uint64_t phys;
	struct rec r;
	uint32_t sz;
	int copy;
	enum rec_verdict v;
	m->at = seg_next_record(si, pos, gen, &r, &sz, &phys, &copy, &v);
	if (m->at)
		*next = m->key = rkey_of(&r, v == REC_OK);
	return m->at;
}

/* Plan the rewrite of len bytes at stream offset pos (copy A at segment offset phys) from copy src. */
static int plan_copy(struct fsck *f, uint32_t segno, uint64_t phys, uint32_t len, int src, uint64_t ticket,
                     enum fsck_sev sev)
{
	struct fsck_action a = {0};
	a.kind = ACT_COPY;
	a.addr16 = seg_addr16(f, segno, SO_ROUND_DOWN(phys, REC_ALIGN));
	a.from = (uint16_t)(phys % REC_ALIGN);
	a.len = (uint16_t)len;
	a.src_copy = (uint8_t)src;
	a.ticket = ticket;
	a.sev = (uint8_t)sev;
	return fsck_plan(f, &a);
}

/*
 * A valid record of the use (copy A at segment offset phys): the copy seg_rec_at did
 * not pick must say the same (else it is rewritten), its padding must be
 * zero in both copies, its payload out of line must lie in the data area.
 * *dend = the end of its out-of-line payload (0: none).
 */
static int split_record(struct fsck *f, uint32_t segno, const struct seg_img *si, uint64_t phys, int copy,
                        enum rec_verdict v, const struct rec *r, uint32_t sz, uint32_t gen, uint64_t *prev_seq,
                        struct fsck_rkey *prev, uint64_t *dend)
{
	int err;
	bool ool = r->hdr_len == REC_OOL_HDR_LEN;
	uint64_t hdr16 = seg_addr16(f, segno, phys);
	const uint8_t *a = si->img + phys, *b = si->img + SEG_COPY_B(phys);
	/* The bytes the checksums cover: the header, and an inline payload (when it is sound). */
	uint32_t covered = ool ? REC_OOL_HDR_LEN : v == REC_OK ? REC_HDR_LEN + r->payload_len : 0;
	if (covered && memcmp(a, b, covered) != 0) {
		f->res->copy_damage++;
		uint64_t t = fsck_report_at(f, FSCK_REC_COPY, FSCK_WARN, hdr16, r->type, r->oid, r->seq, r->lpos,
		                            "%s of object %llu: copy %c of the record is damaged, copy %c is intact; "
		                            "nothing is lost%s",
		                            fsck_type_name(r->type), (unsigned long long)r->oid, copy ? 'A' : 'B',
		                            copy ? 'B' : 'A', f->repair ? " (rewritten from the intact copy)" : "");
		if ((err = plan_copy(f, segno, phys, covered, copy, t, FSCK_WARN)) < 0)
			return err;
	}
	uint32_t pad_from = ool ? sz : REC_HDR_LEN + r->payload_len;
	if (pad_from < sz &&
	    (!fsck_all_zero(a + pad_from, sz - pad_from) || !fsck_all_zero(b + pad_from, sz - pad_from)) &&
	    (err = plan_padding(f, hdr16, r, pad_from, sz)) < 0)
		return err;
	uint64_t addr16 = hdr16;
	bool intact = v == REC_OK;
	*dend = 0;
	if (ool) {
		/* Its payload must lie below the stream's lowest block (that of the record itself, at least). */
		uint64_t low = SO_ROUND_DOWN(phys, SO_BLOCK);
		*dend = (uint64_t)r->doff + r->payload_len;
		if (*dend > low) {
			/* A page there is reported (and repaired) as a damaged page; anything else is retired. */
			bool page = r->type == REC_DATA;
			enum fsck_sev sev = page ? FSCK_INFO : FSCK_ERROR;
			uint64_t t = fsck_report_at(f, FSCK_REC_MALFORMED, sev, hdr16, r->type, r->oid, r->seq, r->lpos,
			                            "%s of object %llu: its out-of-line payload [%u, %llu) overlaps "
			                            "the record stream (from %llu)%s",
			                            fsck_type_name(r->type), (unsigned long long)r->oid, r->doff,
			                            (unsigned long long)*dend, (unsigned long long)low,
			                            page ? ": its page is damaged" : "; replay skips it");
			*dend = 0;
			if (!page) {
				f->res->damaged_headers++;
				return fsck_plan_zap(f, hdr16, t, sev);
			}
			intact = false;
		}
		if (r->type == REC_DATA)
			addr16 = seg_addr16(f, segno, r->doff);
	}
	return take_record(f, addr16, hdr16, NULL, gen, r, sz, intact, prev_seq, prev);
}

/* The records of a split segment's current use (generation gen), for the model. */
static int scan_split(struct fsck *f, uint32_t segno, const struct seg_img *si, uint32_t gen)
{
	uint64_t lim = seg_stream_end(si), pos = SEGHDR_REC_SIZE, prev_seq = 0, end = pos;
	uint64_t dmax = 0, dmax_hdr = 0, last_pos = UINT64_MAX;
	struct fsck_rkey prev = {0, 0, 0, 0, 0};
	struct resync_memo memo = {0};
	int err;
	while (pos + REC_HDR_LEN <= lim) {
		struct rec r;
		uint32_t sz;
		uint64_t phys;
		int copy;
		size_t room = SPLIT_SECTOR - pos % SPLIT_SECTOR;
		enum rec_verdict v =
		    room >= REC_HDR_LEN ? seg_rec_at(si, pos, true, &r, &sz, &phys, &copy) : REC_TRUNCATED;
		if ((v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == gen && r.type != REC_SEGHDR) {
			uint64_t dend;
			if ((err = split_record(f, segno, si, phys, copy, v, &r, sz, gen, &prev_seq, &prev, &dend)) < 0)
				return err;
			if (dend > dmax) {
				dmax = dend;
				dmax_hdr = phys;
			}
			last_pos = pos;
			pos += sz;
			end = pos;
			continue;
		}
		uint64_t a = seg_phys(si->seg_size, true, pos);
		const uint8_t *pa = si->img + a, *pb = si->img + SEG_COPY_B(a);
		if (fsck_all_zero(pa, room) && fsck_all_zero(pb, room)) {
			/* The rest of the sector is unused (a record did not fit), or the records end here. */
			pos = seg_next_sector(pos);
			continue;
		}
		if ((v == REC_BAD_HEADER || v == REC_BAD_PAYLOAD) && r.seg_gen == gen && r.type != REC_SEGHDR) {
			/*
			 * Checksums match (in the copy seg_rec_at chose) but the record is
			 * impossible: a payload out of line outside the data area, bad
			 * fields. Replay skips it, as a region lost in both copies.
			 */
			const uint8_t *h = copy ? si->img + SEG_COPY_B(phys) : si->img + phys;
			f->res->damaged_headers++;
			uint64_t t =
			    fsck_report_at(f, FSCK_REC_MALFORMED, FSCK_ERROR, seg_addr16(f, segno, phys), h[RH_TYPE],
			                   so_get_le64(h + RH_OID), so_get_le64(h + RH_SEQ), so_get_le64(h + RH_LPOS),
			                   "%s: record checksums match but it is impossible (%s%s); replay skips it "
			                   "and counts a region lost in both copies",
			                   fsck_type_name(h[RH_TYPE]), rec_verdict_str(v),
			                   so_get_le16(h + RH_HDR_LEN) == REC_OOL_HDR_LEN
			                       ? ": an out-of-line header whose payload lies outside the data area, or "
			                         "of an unknown codec or tier"
			                       : "");
			if ((err = fsck_plan_zap(f, seg_addr16(f, segno, phys), t, FSCK_ERROR)) < 0)
				return err;
			/*
			 * On from the next valid record, or the next sector start before
			 * it: another impossible record may start there, which replay
			 * (looking at every sector start of the stretch) also counts.
			 */
			struct fsck_rkey nk;
			uint64_t p = split_resync(si, pos + REC_ALIGN, gen, &nk, &memo);
			uint64_t nx = seg_next_sector(pos);
			if (p && p <= nx) {
				pos = p;
				continue;
			}
			if (nx + REC_HDR_LEN > lim)
				break;
			pos = nx;
			continue;
		}
		struct fsck_rkey next = {0, 0, 0, 0, 0};
		uint64_t p = split_resync(si, pos + REC_ALIGN, gen, &next, &memo);
		bool ra, rb;
		bool la = split_looks(f, pa, room, gen, &ra), lb = split_looks(f, pb, room, gen, &rb);
		/*
		 * Replay's rule (replay_scan.c, lost_candidate): a region is a loss
		 * (below the durable point) only where both copies look like a record
		 * of this use and differ, or both hold a header of this use that
		 * checks out. Anything else is an earlier use's leftovers or a write
		 * a cut lost, in one copy or both: nothing durable was there.
		 */
		uint64_t lhint;
		bool gap = seg_lost_at(si, pos, last_pos, p ? p : UINT64_MAX, &lhint);
		/* The bytes up to the next record, within this sector. */
		uint64_t q = SO_MIN(p ? p : lim, seg_next_sector(pos));
		uint32_t n = (uint32_t)(q - pos);
		bool za = fsck_all_zero(pa, n), zb = fsck_all_zero(pb, n);
		/* (Past the use's last record the stream's range may hold pages: no copy to compare there.) */
		if (p && za != zb) {
			/* Bytes in one copy where the other holds nothing: damage to one copy, nothing lost. */
			f->res->copy_damage++;
			enum fsck_sev sev = gap ? FSCK_ERROR : FSCK_WARN;
			uint64_t t = fsck_report_at(
			    f, FSCK_REC_COPY, sev, seg_addr16(f, segno, a), 0, 0, 0, 0,
			    "%u bytes of stream copy %c hold no record where copy %c is blank: damage to one copy, "
			    "nothing lost%s%s",
			    n, za ? 'B' : 'A', za ? 'A' : 'B',
			    gap ? "; replay takes it for a region lost in both copies and keeps the store read-only"
			        : "",
			    f->repair ? " (cleared from the blank copy)" : "");
			if ((err = plan_copy(f, segno, a, n, za ? 0 : 1, t, sev)) < 0)
				return err;
			if (q >= lim)
				break;
			pos = q;
			continue;
		}
		if (!gap) {
			/*
			 * Nothing replay would take for a lost record here: on to the next
			 * valid record, or the next sector start before it (a record lost
			 * in both copies may start there, and replay looks there too).
			 */
			uint64_t nx = seg_next_sector(pos);
			if (p && p <= nx) {
				pos = p;
				continue;
			}
			if (nx + REC_HDR_LEN > lim)
				break;
			pos = nx;
			continue;
		}
		struct fsck_incident inc = {0};
		inc.kind = p ? INC_REGION : INC_TAIL;
		inc.addr16 = seg_addr16(f, segno, a);
		inc.prev_seq = prev_seq;
		inc.prev = prev;
		inc.next = next;
		inc.len = (uint32_t)((p ? p : lim) - pos);
		inc.gen = gen;
		inc.split = 1;
		/* Hints from a copy whose header is legible (B's if A's is not). */
		const uint8_t *h = so_get_le32(pa + RH_MAGIC) == REC_MAGIC || ra ? pa : pb;
		bool restored = h == pa ? ra : rb;
		if (la || lb) {
			hint_fields(h, &inc);
			inc.legible = 1;
			if (restored)
				inc.hint = 0;
		}
		if ((err = add_incident(f, &inc)) < 0)
			return err;
		if (!p) {
			/* A loss at the end: what follows is unused (replay looks no further for a lost record). */
			break;
		}
		pos = p;
	}
	/* The data area grows up, the stream down: they must not meet. */
	uint64_t low =
	    end > SEGHDR_REC_SIZE ? seg_phys(si->seg_size, true, SO_ROUND_DOWN(end - 1, SO_BLOCK)) : f->seg_size;
	if (dmax > low)
		fsck_report_at(
		    f, FSCK_REC_MALFORMED, FSCK_ERROR, seg_addr16(f, segno, dmax_hdr), 0, 0, 0, 0,
		    "out-of-line payloads reach byte %llu of the segment, into its record stream (from %llu)",
		    (unsigned long long)dmax, (unsigned long long)low);
	return 0;
}

/* Is copy damaged, a few bits off the sound SEGHDR record? */
static bool hdr_copy_damaged(const uint8_t *sound, const uint8_t *copy)
{
	unsigned bits = 0;
	for (unsigned i = 0; i < SEGHDR_REC_SIZE; i++)
		bits += (unsigned)__builtin_popcount(sound[i] ^ copy[i]);
	/*
	 * An earlier use's header (or blank bytes) differs in its checksum alone
	 * in about 16 bits; damage to a copy in a bit or two.
	 */
	return bits > 0 && bits <= 4;
}

static int plan_hdrcopy(struct fsck *f, uint32_t segno, const uint8_t *sound, uint64_t off, const char *where)
{
	f->res->copy_damage++;
	uint64_t t = fsck_report_at(f, FSCK_REC_COPY, FSCK_WARN, seg_addr16(f, segno, off), REC_SEGHDR, 0, 0, 0,
	                            "segment header: its copy %s is damaged, another copy is intact; nothing is "
	                            "lost%s",
	                            where, f->repair ? " (rewritten)" : "");
	struct fsck_action a = {0};
	a.kind = ACT_HDRCOPY;
	a.addr16 = seg_addr16(f, segno, 0);
	a.from16 = seg_addr16(f, segno, off);
	memcpy(a.hdr, sound, SEGHDR_REC_SIZE);
	a.ticket = t;
	a.sev = FSCK_WARN;
	return fsck_plan(f, &a);
}

/* A split segment whose header decoded (from block 0, or block 1): its copies, then its records. */
static int scan_split_seg(struct fsck *f, uint32_t segno, const uint8_t *buf, const struct seg_img *si,
                          const struct rec *hdr)
{
	int err;
	const uint8_t *sound = buf + (si->hdr_copy == 1 ? SO_BLOCK : 0);
	uint64_t sa = seg_phys(f->seg_size, true, 0);
	const uint64_t where[4] = {0, SO_BLOCK, sa, SEG_COPY_B(sa)};
	static const char *const names[4] = {"in block 0", "in block 1", "A in the record stream",
	                                     "B in the record stream"};
	for (unsigned i = 0; i < 4; i++) {
		if (buf + where[i] == sound)
			continue;
		bool bad = i == 0 ? true : hdr_copy_damaged(sound, buf + where[i]);
		if (bad && memcmp(sound, buf + where[i], SEGHDR_REC_SIZE) != 0 &&
		    (err = plan_hdrcopy(f, segno, sound, where[i], names[i])) < 0)
			return err;
	}
	return scan_split(f, segno, si, hdr->seg_gen);
}

/*
 * Both header blocks of a split segment illegible: replay skips the
 * segment. Its record stream begins with a third copy of the header; a
 * repair restores the blocks from it. Returns 1 if it was such a segment.
 */
static int split_hdr_lost(struct fsck *f, uint32_t segno, const uint8_t *buf)
{
	uint64_t sa = seg_phys(f->seg_size, true, 0);
	if (so_get_le32(buf + RH_MAGIC) == 0 && so_get_le32(buf + SO_BLOCK + RH_MAGIC) == 0)
		return 0; /* never used, or retired (with its copies) by a repair */
	for (int c = 0; c < 2; c++) {
		const uint8_t *h = buf + (c ? SEG_COPY_B(sa) : sa);
		struct rec r;
		uint32_t sz, flags;
		if (rec_decode(h, SEGHDR_REC_SIZE, f->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR ||
		    r.lpos != segno)
			continue;
		flags = so_get_le32(r.payload + SEGHDR_FLAGS);
		if (!(flags & SEGHDR_F_SPLIT) || (flags & SEGHDR_F_ERASED))
			continue;
		f->res->damaged_headers++;
		uint64_t t = fsck_report_at(f, FSCK_SEGHDR, FSCK_ERROR, seg_addr16(f, segno, 0), REC_SEGHDR, 0, 0, 0,
		                            "both copies of the segment header are damaged: replay skips the whole "
		                            "segment (generation %u); %s from its copy in the record stream",
		                            r.seg_gen, f->repair ? "restored" : "a repair restores them");
		if (!f->repair)
			return 1;
		int err;
		for (unsigned b = 0; b < 2; b++) {
			struct fsck_action a = {0};
			a.kind = ACT_HDRCOPY;
			a.addr16 = seg_addr16(f, segno, 0);
			a.from16 = seg_addr16(f, segno, b * SO_BLOCK);
			memcpy(a.hdr, h, SEGHDR_REC_SIZE);
			a.ticket = t;
			a.sev = FSCK_ERROR;
			if ((err = fsck_plan(f, &a)) < 0)
				return err;
		}
		struct seg_img si = {buf, f->seg_size, f->seed, true, c ? 3 : 2, r.seg_gen};
		f->seg_state[segno] = SEGS_RESTORED;
		f->seg_split[segno] = 1;
		f->seg_gen[segno] = r.seg_gen;
		f->seg_stream[segno] = (uint8_t)so_get_le32(r.payload);
		f->res->segments_used++;
		return (err = scan_split(f, segno, &si, r.seg_gen)) < 0 ? err : 1;
	}
	return 0;
}

/*
 * Scan one segment (buf holds len bytes of it: 8 KiB if blocks 0 and 1
 * were blank, else the whole segment).
 */
static int scan_seg(struct fsck *f, uint32_t segno, const uint8_t *buf, uint32_t len)
{
	struct rec r;
	uint32_t sz, gen, plen;
	int err;
	struct seg_img si;
	if (len == f->seg_size && seg_img_open(&si, buf, f->seg_size, f->seed, segno, &r) == REC_OK && si.split) {
		if (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED)
			return 0; /* free: nothing in it belongs to the erased use (replay's rule) */
		f->seg_state[segno] = SEGS_USED;
		f->seg_split[segno] = 1;
		f->seg_gen[segno] = r.seg_gen;
		f->seg_stream[segno] = (uint8_t)so_get_le32(r.payload);
		f->res->segments_used++;
		f->res->records_by_type[REC_SEGHDR]++;
		return scan_split_seg(f, segno, buf, &si, &r);
	}
	enum rec_verdict v = rec_decode(buf, len, f->seed, true, &r, &sz);
	if (v == REC_OK && r.type == REC_SEGHDR && r.lpos == segno) {
		f->seg_state[segno] = SEGS_USED;
		f->seg_gen[segno] = r.seg_gen;
		f->seg_stream[segno] = (uint8_t)so_get_le32(r.payload);
		f->res->segments_used++;
		f->res->records_by_type[REC_SEGHDR]++;
		return scan_records(f, segno, buf, len, r.seg_gen, sz, true, NULL);
	}
	if (len == f->seg_size && (err = split_hdr_lost(f, segno, buf)) != 0)
		return err < 0 ? err : 0;
	uint32_t magic = so_get_le32(buf + RH_MAGIC);
	if (magic == 0 || len < f->seg_size)
		return 0; /* never used, or retired by a repair */
	/*
	 * Is this a segment in use whose header is damaged? Evidence: a record
	 * magic at offset 0, a header that checks out once its magic is put back,
	 * or a valid record of this store right after where the header ends.
	 */
	bool restorable = magic != REC_MAGIC && hdr_restorable(f, buf, &gen, &plen);
	uint32_t hdr_gen = so_get_le32(buf + RH_SEG_GEN);
	struct rec r2;
	uint32_t sz2;
	enum rec_verdict v2 =
	    rec_decode(buf + REC_HDR_LEN + SEGHDR_LEN, len - (REC_HDR_LEN + SEGHDR_LEN), f->seed, true, &r2, &sz2);
	bool follows = (v2 == REC_OK || v2 == REC_BAD_CSUM) && r2.type != REC_SEGHDR;
	if (magic != REC_MAGIC && !restorable && !follows)
		return 0; /* junk in a free segment: whatever the device held before it was formatted */
	uint64_t addr16 = ((uint64_t)segno << f->seg_shift) / ADDR_UNIT;
	if (follows && r2.type == REC_CKPT) {
		/* A checkpoint segment: replay never reads it; a body that uses it is damaged (fsck_ckpt.c). */
		f->res->damaged_headers++;
		return fsck_ckpt_damage(f, segno, r2.seg_gen, addr16, REC_HDR_LEN + SEGHDR_LEN,
		                        "damaged segment header of a checkpoint segment");
	}
	struct fsck_action a = {0};
	a.addr16 = addr16;
	if (!follows) {
		/* A header with nothing after it (a segment prepared for writing): nothing is lost. */
		uint64_t t = fsck_report_at(f, FSCK_SEGHDR, FSCK_WARN, addr16, REC_SEGHDR, 0, 0, 0,
		                            "segment header damaged (%s); the segment holds no records",
		                            v == REC_OK ? "names another segment" : rec_verdict_str(v));
		f->res->damaged_headers++;
		return fsck_plan_zap(f, addr16, t, FSCK_WARN);
	}
	gen = r2.seg_gen;
	/*
	 * Rebuild only when the damaged header names the records' generation,
	 * or checks out once given it (the damage was in the generation field):
	 * records of another generation may be left from an earlier use.
	 */
	uint8_t cand[REC_HDR_LEN];
	memcpy(cand, buf, REC_HDR_LEN);
	so_put_le32(cand + RH_MAGIC, REC_MAGIC);
	so_put_le32(cand + RH_SEG_GEN, gen);
	bool gen_ok =
	    hdr_gen == gen || (uint32_t)so_hash64(cand, RH_HDR_CSUM, f->seed) == so_get_le32(cand + RH_HDR_CSUM);
	bool rebuild = f->repair && gen_ok;
	struct seg_census cen = {0};
	if (!rebuild && (err = scan_records(f, segno, buf, len, gen, REC_HDR_LEN + SEGHDR_LEN, false, &cen)) < 0)
		return err;
	char oids[96] = "";
	for (unsigned i = 0, n = 0; i < cen.noids; i++)
		n += (unsigned)snprintf(oids + n, sizeof(oids) - n, "%s%llu", i ? ", " : "",
		                        (unsigned long long)cen.oids[i]);
	uint64_t t;
	if (rebuild)
		t = fsck_report_at(f, FSCK_SEGHDR, FSCK_ERROR, addr16, REC_SEGHDR, 0, 0, 0,
		                   "segment header damaged (%s): replay skips the whole segment (generation %u)",
		                   rec_verdict_str(v), gen);
	else
		t = fsck_report_at(
		    f, FSCK_SEGHDR, FSCK_ERROR, addr16, REC_SEGHDR, 0, 0, 0,
		    "segment header damaged (%s): replay skips the whole segment: %llu records (%llu data) "
		    "of objects %s%s are not replayed",
		    rec_verdict_str(v), (unsigned long long)cen.records, (unsigned long long)cen.data,
		    cen.noids ? oids : "-", cen.noids == SO_ARRAY_SIZE(cen.oids) ? ", ..." : "");
	f->res->damaged_headers++;
	a.ticket = t;
	a.sev = FSCK_ERROR;
	if (!rebuild) {
		a.kind = ACT_ZAP; /* its records cannot be trusted to be current: retire the segment */
		return fsck_plan(f, &a);
	}
	struct rec h = {0};
	h.type = REC_SEGHDR;
	h.payload_len = SEGHDR_LEN;
	h.lpos = segno;
	h.seg_gen = gen;
	uint32_t stream = so_get_le32(buf + REC_HDR_LEN);
	so_put_le32(a.hdr + REC_HDR_LEN, stream < SEG_STREAM_CKPT ? stream : 0);
	so_put_le32(a.hdr + REC_HDR_LEN + 4, 0);
	memcpy(a.hdr + REC_HDR_LEN + 8, buf + REC_HDR_LEN + 8, 8);
	rec_seal(a.hdr, &h, f->seed);
	a.kind = ACT_SEGHDR;
	a.gen = gen;
	if ((err = fsck_plan(f, &a)) < 0)
		return err;
	/* After the rebuild the library replays these records: so does the model. */
	f->seg_state[segno] = SEGS_RESTORED;
	f->seg_gen[segno] = gen;
	f->seg_stream[segno] = (uint8_t)(stream < SEG_STREAM_CKPT ? stream : 0);
	f->res->segments_used++;
	return scan_records(f, segno, buf, len, gen, REC_HDR_LEN + SEGHDR_LEN, true, NULL);
}

int fsck_scan_log(struct fsck *f)
{
	struct reader rd;
	int err = 0;
	uint64_t t0 = so_now_ns();
	memset(&rd, 0, sizeof(rd));
	rd.f = f;
	rd.nbuf = f->seg_size > (16u << 20) ? 2 : RD_NBUF;
	if (f->opts.flags & FSCK_SERIAL)
		rd.nbuf = 1;
	for (unsigned i = 0; i < rd.nbuf; i++) {
		rd.slot[i].buf = so_alloc_aligned(SO_MEM_BUFFER, f->seg_size);
		if (!rd.slot[i].buf) {
			err = so_err(SWAPOBJ_ENOMEM, "out of memory for %u-byte segment buffers", f->seg_size);
			goto out;
		}
	}
	for (unsigned d = 0; d < f->ndevs; d++)
		rd.devs[d] = f->devs[d].io;
	bool threaded = !(f->opts.flags & FSCK_SERIAL);
	pthread_mutex_init(&rd.mu, NULL);
	pthread_cond_init(&rd.cv, NULL);
	if (threaded) {
		int rc = pthread_create(&rd.th, NULL, reader_main, &rd);
		if (rc != 0)
			threaded = false;
		else
			rd.started = true;
	}
	for (uint64_t s = 0; s < f->nsegs; s++) {
		struct rd_slot *sl = &rd.slot[s % rd.nbuf];
		if (threaded) {
			pthread_mutex_lock(&rd.mu);
			while (sl->state != 1)
				pthread_cond_wait(&rd.cv, &rd.mu);
			pthread_mutex_unlock(&rd.mu);
		} else {
			sl->segno = (uint32_t)s;
			sl->err = read_seg(f, rd.devs, (uint32_t)s, sl->buf, &sl->len);
			if (sl->err < 0)
				snprintf(sl->msg, sizeof(sl->msg), "%s", swapobj_errmsg());
		}
		f->res->bytes_read += sl->len;
		if (sl->err < 0) {
			unsigned d;
			uint64_t off = fsck_seg_devoff(f, (uint32_t)s, &d);
			fsck_report(f, FSCK_SEGHDR, FSCK_ERROR, (int)d, (int64_t)s, 0, 0, 0, 0, 0,
			            "cannot read segment %llu (device offset %llu): %s", (unsigned long long)s,
			            (unsigned long long)off, sl->msg);
		} else if ((err = scan_seg(f, sl->segno, sl->buf, sl->len)) < 0) {
			goto stop;
		}
		if (threaded) {
			pthread_mutex_lock(&rd.mu);
			sl->state = 0;
			pthread_cond_broadcast(&rd.cv);
			pthread_mutex_unlock(&rd.mu);
		}
		fsck_progress(f, "log", (s + 1) * f->seg_size, f->nsegs * f->seg_size);
	}
stop:
	if (rd.started) {
		pthread_mutex_lock(&rd.mu);
		rd.stop = true;
		pthread_cond_broadcast(&rd.cv);
		pthread_mutex_unlock(&rd.mu);
		pthread_join(rd.th, NULL);
	}
	pthread_mutex_destroy(&rd.mu);
	pthread_cond_destroy(&rd.cv);
out:
	for (unsigned i = 0; i < rd.nbuf; i++)
		so_free_aligned(SO_MEM_BUFFER, rd.slot[i].buf, f->seg_size);
	f->res->scan_ns = so_now_ns() - t0;
	f->res->durable_seq = f->durable_seq;
	return err;
}
