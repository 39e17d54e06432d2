/*
 * replay_scan.c - step 1 of replay (replay.c): read every segment whose
 * block 0 holds a valid SEGHDR (with a checkpoint: only the tail) and
 * collect its records; damaged regions are searched past and remembered.
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay_int.h"
#include "space.h"
#include "tombreg.h"
#include "util.h"

static int collect(struct replay *rp, const struct rec *r, uint64_t addr16, uint64_t hdr16, uint32_t sz, bool damaged)
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
		c->bytes = rec_size(r->payload_len); /* the charge, whatever the layout (as appended: objrec.c) */
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
		a->bytes = rec_size(r->payload_len); /* the charge, whatever the layout (as appended: aux.c) */
		a->len = r->payload_len;
		memcpy(a->data, r->payload, r->payload_len);
		return 0;
	}
	case REC_DELETE:
		return oidmap_put(&rp->deleted, r->oid, (void *)1);
	case REC_INVALIDATE:
		if ((err = replay_grow((void **)&rp->invals, &rp->capinvals, rp->ninvals, sizeof(*rp->invals))) < 0)
			return err;
		rp->invals[rp->ninvals].seq = r->seq;
		key_decode(r->payload, r->payload_len, &rp->invals[rp->ninvals].prefix);
		rp->ninvals++;
		return 0;
	default:
		break;
	}
	/* CREATE too: it may be the newest size-carrying record. */
	if ((err = replay_grow((void **)&rp->ents, &rp->cap, rp->nents, sizeof(*rp->ents))) < 0)
		return err;
	struct rentry *e = &rp->ents[rp->nents++];
	e->oid = r->oid;
	e->seq = r->seq;
	e->lpos = r->lpos;
	e->len = r->type == REC_DATA ? r->raw_len : r->type == REC_PUNCH ? so_get_le64(r->payload) : 0;
	e->addr16 = addr16;
	e->hdr16 = hdr16;
	e->obj_size = r->obj_size;
	e->type = r->type;
	e->flags = r->flags;
	e->damaged = damaged;
	return 0;
}
static int add_gap(struct replay *rp, uint64_t addr16, uint64_t prev_seq, uint64_t hint_seq, uint32_t gen, bool split)
{
	int err = replay_grow((void **)&rp->gaps, &rp->capgaps, rp->ngaps, sizeof(*rp->gaps));
	if (err == 0)
		rp->gaps[rp->ngaps++] = (struct rgap){addr16, prev_seq, hint_seq, gen, split};
	return err;
}
/* The gap test (rec_looks_damaged) of either copy. */
static bool gap_looks(const struct so_log *lg, const struct seg_img *si, uint64_t pos, uint32_t gen, uint64_t *hint)
{
	uint64_t a = seg_phys(si->seg_size, si->split, pos);
	size_t lim = si->split ? SPLIT_SECTOR - pos % SPLIT_SECTOR : si->seg_size - pos;
	bool ok;
	if (rec_looks_damaged(si->img + a, lim, lg->seed, gen, &ok, hint))
		return true;
	return si->split && rec_looks_damaged(si->img + SEG_COPY_B(a), lim, lg->seed, gen, &ok, hint);
}
/* A record's address: its copy A's, or for an out-of-line page the page's (what extent slots name). */
static uint64_t rec_addr(const struct so_log *lg, const struct log_seg *s, const struct rec *r, uint64_t phys)
{
	return log_addr16(lg, s->segno, r->hdr_len == REC_OOL_HDR_LEN && r->type == REC_DATA ? r->doff : phys);
}
/* Scan one segment from stream offset start (0: all of it); buf holds seg_size bytes. */
static int scan_seg(struct replay *rp, struct log_seg *s, uint8_t *buf, uint64_t start)
{
	struct so_log *lg = &rp->st->log;
	struct seg_img si;
	struct rec r;
	uint32_t sz;
	int err;

	if (seg_img_open_whole(&si, buf, lg->seg_size, lg->seed, s->segno, &r) != REC_OK)
		return 0; /* never used, or its header was torn before it became durable: free */
	s->gen = r.seg_gen;
	s->stream = (uint8_t)so_get_le32(r.payload + SEGHDR_STREAM);
	s->hdr_ns = so_get_le64(r.payload + SEGHDR_OPENED);
	s->hdr_seq = r.seq;
	s->split = si.split;
	rp->max_gen = SO_MAX(rp->max_gen, s->gen);
	if (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED) {
		s->erase = ERASE_DONE; /* free, and nothing in it belongs to the erased use */
		s->split = 0;
		return 0;
	}
	s->known = 1; /* every record is noted below */
	/* A tail scan notes the pages it sees; the part before (durable at the cut) is loaded when needed. */
	if (si.split && start == 0 && (err = log_csum_alloc(lg, s)) < 0)
		return err;
	s->csum_upto = start;
	uint64_t lim = seg_stream_end(&si);
	uint64_t pos = SO_MAX((uint64_t)SEGHDR_REC_SIZE, SO_ROUND_DOWN(start, REC_ALIGN)), end = pos, last_seq = 0;
	uint64_t last_pos = UINT64_MAX; /* stream offset of the last valid record */
	while (pos + REC_HDR_LEN <= lim) {
		uint64_t phys;
		int copy;
		enum rec_verdict v = seg_rec_at(&si, pos, true, &r, &sz, &phys, &copy);
		bool ours = (v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == s->gen && r.type != REC_SEGHDR;
		if (ours && v == REC_BAD_CSUM && r.type != REC_DATA) {
			/* A damaged CREATE/PUNCH/...: its payload cannot be used. Torn or damage: decided later. */
			if ((err = add_gap(rp, log_addr16(lg, s->segno, phys), last_seq, r.seq, s->gen, false)) < 0)
				return err;
			last_seq = r.seq;
			pos += sz;
			end = pos;
			continue;
		}
		if (!ours && si.split) {
			/*
			 * Split: a region is a loss only where both copies hold what looks
			 * like a record of this use that does not decode, and the two
			 * differ (damage, twice). Bytes the same in both, or a copy with
			 * no record there, are an earlier use's leftovers or a write a
			 * cut lost: nothing durable was there. Records never cross a
			 * sector, so besides pos each sector start up to the next valid
			 * record is a place one may have been.
			 */
			uint64_t ph;
			enum rec_verdict v2;
			uint64_t p = seg_next_record(&si, pos + REC_ALIGN, s->gen, &r, &sz, &ph, &copy, &v2);
			bool found = p != 0;
			for (uint64_t q = pos; q < (found ? p : lim); q = seg_next_sector(q)) {
				uint64_t hint = 0;
				if (seg_lost_at(&si, q, q == pos ? last_pos : UINT64_MAX, found ? p : UINT64_MAX,
				                &hint)) {
					uint64_t a = seg_phys(si.seg_size, true, q);
					if ((err = add_gap(rp, log_addr16(lg, s->segno, a), last_seq, hint, s->gen,
					                   true)) < 0)
						return err;
					break;
				}
			}
			if (!found)
				break;
			pos = p;
			continue;
		}
		if (!ours) {
			/* End of this use's records, or a damaged header: look for a later valid record. */
			uint64_t ph, hint = 0;
			enum rec_verdict v2;
			uint64_t p = seg_next_record(&si, pos + REC_ALIGN, s->gen, &r, &sz, &ph, &copy, &v2);
			bool found = p != 0;
			bool looks = gap_looks(lg, &si, pos, s->gen, &hint);
			uint64_t a = seg_phys(si.seg_size, si.split, pos);
			bool magic = so_get_le32(buf + a + RH_MAGIC) != 0;
			if ((found && magic) || (!found && looks))
				if ((err = add_gap(rp, log_addr16(lg, s->segno, a), last_seq, hint, s->gen, false)) < 0)
					return err;
			if (!found)
				break;
			pos = p;
			continue;
		}
		last_seq = r.seq;
		last_pos = pos;
		if (si.split) {
			/*
			 * A record a torn flush left in one copy (or one copy damaged
			 * since): its block is rewritten with both copies whole before
			 * the store accepts writes, so one damaged sector later still
			 * loses nothing.
			 */
			uint64_t a = seg_phys(lg->seg_size, true, pos);
			uint64_t key = ((uint64_t)s->segno << 32) | (pos / SO_BLOCK);
			if ((copy || memcmp(buf + a, buf + SEG_COPY_B(a), sz) != 0) &&
			    (rp->nresync == 0 || rp->resync[rp->nresync - 1] != key)) {
				if ((err = replay_grow((void **)&rp->resync, &rp->capresync, rp->nresync,
				                       sizeof(*rp->resync))) < 0)
					return err;
				rp->resync[rp->nresync++] = key;
			}
		}
		log_note(lg, s, r.oid, r.seq);
		uint64_t addr = rec_addr(lg, s, &r, phys);
		bool tomb =
		    r.type == REC_PUNCH || r.type == REC_TRUNCATE || r.type == REC_DELETE || r.type == REC_INVALIDATE;
		if (tomb) {
			s->tomb_bytes += sz; /* the cleaner must read this segment before freeing it */
			s->tomb_need += sz;
		}
		if (tomb && tombreg_get(rp->st, r.seq) < addr)
			/* Copies share the seq: register the highest address, as replay's tie-break applies it last. */
			tombreg_set(rp->st, r.seq, addr);
		if (r.type == REC_RENAME && v == REC_OK && !tombreg_get(rp->st, r.seq))
			/* A RENAME is also a tombstone: the first copy, the one collect() keeps as name record. */
			tombreg_set(rp->st, r.seq, addr);
		if (r.type == REC_DATA && r.hdr_len == REC_OOL_HDR_LEN)
			log_csum_set(s, r.doff, log_page_check(r.csum, r.oid, r.lpos));
		if ((err = collect(rp, &r, addr, log_addr16(lg, s->segno, phys), sz, v == REC_BAD_CSUM)) < 0)
			return err;
		pos += sz;
		end = pos;
	}
	s->state = SEG_SEALED;
	s->fill = end;
	s->written = end;
	s->dfill = s->dwritten = 0;
	/* Every page's check is known only if the whole use was read (a tail scan starts at the cut's fill). */
	__atomic_store_n(&s->csum_ok, si.split && start == 0, __ATOMIC_RELEASE);
	s->sealed_ns = so_now_ns();
	/* Age: the newest record seen; a use with none is as old as its header says. */
	if (s->max_seq < s->hdr_seq)
		s->max_seq = s->hdr_seq;
	s->tomb_seen = rp->max_seq;
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

/* s stays as the checkpoint saw it: sealed at the noted fill, its summary (loaded) kept. */
static void seal_at_cut(struct log_seg *s, const struct ckpt_seg *c)
{
	s->gen = c->gen;
	s->stream = c->stream;
	s->split = c->split;
	s->csum_ok = 0; /* its pages' checks are read from its stream when first needed */
	s->csum_upto = c->fill;
	s->state = SEG_SEALED;
	s->fill = c->fill;
	s->written = c->fill;
	s->sealed_ns = so_now_ns();
}

int replay_scan(struct replay *rp, const struct ckpt_loaded *ck)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	int err = 0;
	uint8_t *buf = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
	if (!buf)
		return so_err(SWAPOBJ_ENOMEM, "out of memory for a segment buffer");
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		/* Blocks 0 and 1: a split segment's header has its copy in block 1. */
		if ((err = io_pread(&lg->devs[s->dev], buf, 2 * IO_ALIGN, log_seg_devoff(lg, s))) < 0)
			goto out;
		struct rec r;
		struct seg_img si;
		bool hdr_ok = seg_img_open(&si, buf, lg->seg_size, lg->seed, s->segno, &r) == REC_OK;
		if (!hdr_ok && !so_mem_is_zero(buf, 2 * IO_ALIGN)) {
			/*
			 * Both header blocks damaged (never-used segments are zero): a split
			 * segment has a third copy at the head of its stream, in its last two
			 * blocks. Without it every record of the use would go unread and
			 * older copies of its pages would be served as current.
			 */
			uint8_t *last2 = buf + 2 * IO_ALIGN;
			if ((err = io_pread(&lg->devs[s->dev], last2, 2 * IO_ALIGN,
			                    log_seg_devoff(lg, s) + lg->seg_size - 2 * IO_ALIGN)) < 0)
				goto out;
			if (seg_hdr_from_stream(last2, lg->seed, s->segno, &r) == REC_OK) {
				hdr_ok = true;
				si.split = true;
			}
		}
		if (hdr_ok)
			s->split = si.split && !(so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED);
		if (hdr_ok)
			rp->max_gen = SO_MAX(rp->max_gen, r.seg_gen);
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
		if (rp->tail) {
			const struct ckpt_seg *c = &ck->segs[i];
			if (hdr_ok && r.seg_gen == c->gen && c->state == CKSEG_FREE) {
				s->gen = c->gen; /* old content, all dead: free, its summary (loaded) kept */
				continue;
			}
			if (hdr_ok && r.seg_gen == c->gen && c->state == CKSEG_SEALED) {
				seal_at_cut(s, c);
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
			if (!hdr_ok && c->state != CKSEG_FREE) {
				/*
				 * The header of a segment the checkpoint has in use is
				 * damaged (media damage, or an erasure written after the
				 * cut, torn: it keeps the old records). The loaded index
				 * and usage table still reference its records, so it must
				 * not go free and be overwritten: keep it sealed at the
				 * noted fill, for reads and the cleaner (which checks each
				 * record's generation, not the header), and count the
				 * damage. Records appended after the cut are not replayed,
				 * as a full replay skips such a segment whole.
				 */
				seal_at_cut(s, c);
				rp->corrupt_regions++;
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
		if ((err = scan_seg(rp, s, buf, start)) < 0)
			goto out;
	}
out:
	so_free_aligned(SO_MEM_BUFFER, buf, lg->seg_size);
	return err;
}
