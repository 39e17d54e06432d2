/*
 * fsck_ckpt.c - the checkpoint phase of the checker.
 *
 * Runs after the superblocks are verified and before the log scan, on the
 * devices the checker opened itself (no store handle exists yet: the
 * library opens the store alongside the scan). It re-implements the slot
 * and body checks of recovery/ckpt.c (read_slot, read_body) from FORMAT.md
 * "Checkpoints", independently of the library:
 *  - both slots of device 0: all zero (empty), valid (magic, version,
 *    checksum, ranges), or damaged;
 *  - the body a valid slot names: every listed segment starts with a SEGHDR
 *    of the listed generation and stream 15, followed by REC_CKPT records
 *    of that generation with seq = ckpt_no, obj_size = body length and
 *    contiguous lpos from 0, whose payloads hash (XXH3-64, streamed) to the
 *    slot's body checksum; the body's own header repeats the checkpoint's
 *    number and cut and ends with the end magic.
 * Every byte of a slot is covered by its checksum and every byte of a body
 * by its records' checksums and the slot's body checksum, so any damage to
 * either is found. A damaged checkpoint, older or newer, is an error: the
 * newest one is what the next open loads, the older one is its fallback.
 *
 * The log scan hands every record of a checkpoint segment to
 * fsck_ckpt_record() (they are not replayed, so the model never sees them)
 * and damage in such segments to fsck_ckpt_damage(): part of a body already
 * reported, or of a segment no checkpoint uses (harmless, a warning).
 *
 * Repairs: -y zeroes a damaged slot (the next open falls back to the other
 * checkpoint or a full replay, and the next read-write close writes a fresh
 * one); --rebuild zeroes both. Retired damage in checkpoint segments is
 * planned like any other (its magic is cleared).
 *
 * The contents of a checkpoint are checked by the index comparison: the
 * library's index comes from the newest checkpoint plus the tail, the model
 * from the whole log. fsck_ckpt_crosscheck() makes sure the library did load
 * the checkpoint it should have (a body that passes its checksums but that
 * the library rejects would otherwise go unnoticed: the library would
 * silently replay the whole log).
 */
#include <stdio.h>

#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

/* Decode slot i (blk: its 4 KiB). Fills s; false (s->why set) if damaged. */
static bool decode_slot(struct fsck *f, const uint8_t *blk, struct fsck_slot *s)
{
	if (so_get_le64(blk + CS_MAGIC) != CKPT_SLOT_MAGIC) {
		snprintf(s->why, sizeof(s->why), "bad magic");
		return false;
	}
	if (so_get_le64(blk + CS_CSUM) != so_hash64(blk, CS_CSUM, f->seed)) {
		snprintf(s->why, sizeof(s->why), "checksum mismatch");
		return false;
	}
	uint32_t nsegs = so_get_le32(blk + CS_NSEGS);
	if (so_get_le32(blk + CS_VERSION) != CKPT_VERSION || nsegs == 0 || nsegs > CKPT_MAX_SEGS) {
		snprintf(s->why, sizeof(s->why), "version %u, %u segments: out of range", so_get_le32(blk + CS_VERSION),
		         nsegs);
		return false;
	}
	s->no = so_get_le64(blk + CS_CKPT_NO);
	s->cut_seq = so_get_le64(blk + CS_CUT_SEQ);
	s->body_bytes = so_get_le64(blk + CS_BODY_BYTES);
	s->nsegs = nsegs;
	for (uint32_t k = 0; k < nsegs; k++) {
		s->segs[k] = so_get_le32(blk + CS_SEGS + 8 * k);
		s->gens[k] = so_get_le32(blk + CS_SEGS + 8 * k + 4);
		if (s->segs[k] >= f->nsegs) {
			snprintf(s->why, sizeof(s->why), "names segment %u of %llu", s->segs[k],
			         (unsigned long long)f->nsegs);
			return false;
		}
	}
	if (s->no == 0 || s->body_bytes < 80 || s->body_bytes > (uint64_t)nsegs * f->seg_size) {
		snprintf(s->why, sizeof(s->why), "checkpoint %llu of %llu bytes in %u segments: out of range",
		         (unsigned long long)s->no, (unsigned long long)s->body_bytes, nsegs);
		return false;
	}
	return true;
}

/* Check the body slot s names (img: a segment buffer). 0 intact, 1 damaged (s->why set), or an I/O error. */
static int verify_body(struct fsck *f, struct fsck_slot *s, uint64_t body_csum, uint8_t *img)
{
	uint8_t *body = so_alloc(SO_MEM_OTHER, s->body_bytes);
	uint64_t off = 0;
	int ret = 1;
	if (!body)
		return so_err(SWAPOBJ_ENOMEM, "out of memory for a %llu-byte checkpoint body",
		              (unsigned long long)s->body_bytes);
	for (uint32_t i = 0; i < s->nsegs; i++) {
		unsigned d;
		uint64_t devoff = fsck_seg_devoff(f, s->segs[i], &d);
		int err = io_pread(&f->devs[d].io, img, f->seg_size, devoff);
		if (err < 0) {
			ret = so_err_ctx(err, "reading segment %u of checkpoint %llu", s->segs[i],
			                 (unsigned long long)s->no);
			goto out;
		}
		struct rec r;
		uint32_t sz;
		if (rec_decode(img, f->seg_size, f->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR ||
		    r.lpos != s->segs[i] || r.seg_gen != s->gens[i] || so_get_le32(r.payload) != SEG_STREAM_CKPT) {
			snprintf(s->why, sizeof(s->why),
			         "segment %u (generation %u) no longer holds it: its segment header is damaged or of "
			         "another use",
			         s->segs[i], s->gens[i]);
			goto out;
		}
		uint64_t pos = sz;
		while (off < s->body_bytes && pos + REC_HDR_LEN <= f->seg_size) {
			enum rec_verdict v = rec_decode(img + pos, f->seg_size - pos, f->seed, true, &r, &sz);
			if (v != REC_OK)
				break; /* the end of this segment's chunks, or damage: the length tells */
			if (r.type != REC_CKPT || r.seg_gen != s->gens[i] || r.seq != s->no ||
			    r.obj_size != s->body_bytes || r.lpos != off || r.payload_len > s->body_bytes - off) {
				snprintf(s->why, sizeof(s->why),
				         "segment %u offset %llu: a %s record that is no piece %llu of this body",
				         s->segs[i], (unsigned long long)pos, fsck_type_name(r.type),
				         (unsigned long long)off);
				goto out;
			}
			memcpy(body + off, r.payload, r.payload_len);
			off += r.payload_len;
			pos += sz;
		}
		if (off < s->body_bytes && i + 1 == s->nsegs) {
			snprintf(s->why, sizeof(s->why),
			         "segment %u offset %llu: the body breaks off at byte %llu of %llu (a damaged or "
			         "missing piece)",
			         s->segs[i], (unsigned long long)pos, (unsigned long long)off,
			         (unsigned long long)s->body_bytes);
			goto out;
		}
	}
	if (off != s->body_bytes) {
		snprintf(s->why, sizeof(s->why), "the body holds %llu bytes, the slot says %llu",
		         (unsigned long long)off, (unsigned long long)s->body_bytes);
		goto out;
	}
	if (so_hash64(body, s->body_bytes, f->seed) != body_csum) {
		snprintf(s->why, sizeof(s->why), "body checksum mismatch");
		goto out;
	}
	const uint8_t *tail = body + s->body_bytes - 8;
	if (so_get_le64(body) != CKPT_BODY_MAGIC || so_get_le32(body + 8) != CKPT_VERSION ||
	    so_get_le32(body + 12) != f->nsegs || so_get_le64(body + 16) != s->no ||
	    so_get_le64(body + 24) != s->cut_seq || so_get_le64(tail) != CKPT_END_MAGIC) {
		snprintf(s->why, sizeof(s->why),
		         "the body's checksums match but its header or end does not (magic, version, %u segments, "
		         "checkpoint %llu, cut %llu)",
		         so_get_le32(body + 12), (unsigned long long)so_get_le64(body + 16),
		         (unsigned long long)so_get_le64(body + 24));
		goto out;
	}
	ret = 0;
out:
	so_free(SO_MEM_OTHER, body);
	return ret;
}

static int clear_slot(struct fsck *f, unsigned i)
{
	_Alignas(IO_ALIGN) uint8_t blk[CKPT_SLOT_SIZE];
	int err;
	memset(blk, 0, sizeof(blk));
	if ((err = io_pwrite(&f->devs[0].io, blk, CKPT_SLOT_SIZE, CKPT_SLOT_OFF(i))) < 0 ||
	    (err = io_sync(&f->devs[0].io)) < 0)
		return so_err_ctx(err, "%s: clearing checkpoint slot %u", f->devs[0].path, i);
	f->res->modified = true;
	f->slots[i].cleared = true;
	return 0;
}

int fsck_checkpoints(struct fsck *f)
{
	_Alignas(IO_ALIGN) uint8_t blk[CKPT_SLOT_SIZE];
	uint8_t *img = NULL;
	int err = 0;
	fsck_progress(f, "checkpoints", 0, 2);
	for (unsigned i = 0; i < 2; i++) {
		struct fsck_slot *s = &f->slots[i];
		memset(s, 0, sizeof(*s));
		s->ticket = UINT64_MAX;
		if ((err = io_pread(&f->devs[0].io, blk, CKPT_SLOT_SIZE, CKPT_SLOT_OFF(i))) < 0) {
			err = so_err_ctx(err, "%s: reading checkpoint slot %u", f->devs[0].path, i);
			goto out;
		}
		bool zero = true;
		for (unsigned k = 0; k < CKPT_SLOT_SIZE && zero; k++)
			zero = blk[k] == 0;
		if (zero) {
			s->state = CKCHK_EMPTY;
		} else if (!decode_slot(f, blk, s)) {
			s->state = CKCHK_BAD_SLOT;
			s->nsegs = 0; /* names nothing */
		} else {
			if (!img && !(img = so_alloc_aligned(SO_MEM_BUFFER, f->seg_size))) {
				err = so_err(SWAPOBJ_ENOMEM, "out of memory for a segment buffer");
				goto out;
			}
			int rc = verify_body(f, s, so_get_le64(blk + CS_BODY_CSUM), img);
			if (rc < 0) {
				err = rc;
				goto out;
			}
			s->state = rc == 0 ? CKCHK_OK : CKCHK_BAD_BODY;
		}
		fsck_progress(f, "checkpoints", i + 1, 2);
	}
	/* Which is the newest, which the fallback: damage to a body is an error. */
	unsigned newer = f->slots[1].no > f->slots[0].no ? 1 : 0;
	for (unsigned i = 0; i < 2; i++) {
		struct fsck_slot *s = &f->slots[i];
		const char *role = s->no && f->slots[i ^ 1].no ? (i == newer ? "the newest" : "the older") : "the only";
		/* A damaged slot is judged after the log scan (fsck_ckpt_slots): it may be a torn write. */
		if (s->state == CKCHK_BAD_BODY)
			s->ticket = fsck_report(
			    f, FSCK_CHECKPOINT, FSCK_ERROR, 0, -1, CKPT_SLOT_OFF(i), 0, 0, 0, 0,
			    "checkpoint %llu (slot %u, %s) is damaged: %s; opens fall back past it%s",
			    (unsigned long long)s->no, i, role, s->why, f->repair ? "; its slot cleared" : "");
	}
	bool rebuild = f->opts.flags & FSCK_REBUILD;
	for (unsigned i = 0; i < 2; i++) {
		struct fsck_slot *s = &f->slots[i];
		bool bad = s->state == CKCHK_BAD_BODY;
		if (s->state == CKCHK_BAD_SLOT && !rebuild)
			continue; /* fsck_ckpt_slots */
		if (!((bad && f->repair) || (rebuild && f->rw && s->state != CKCHK_EMPTY)))
			continue;
		if ((err = clear_slot(f, i)) < 0)
			goto out;
		if (bad)
			fsck_fixed(f, s->ticket, FSCK_ERROR);
	}
	/* One line: what the next open loads. */
	char line[2][64];
	for (unsigned i = 0; i < 2; i++) {
		const struct fsck_slot *s = &f->slots[i];
		static const char *const st[] = {"empty", "ok", "damaged slot", "damaged body"};
		if (s->state == CKCHK_EMPTY || s->state == CKCHK_BAD_SLOT)
			snprintf(line[i], sizeof(line[i]), "%s%s", st[s->state], s->cleared ? " (cleared)" : "");
		else
			snprintf(line[i], sizeof(line[i]), "%llu %s, %llu bytes%s", (unsigned long long)s->no,
			         st[s->state], (unsigned long long)s->body_bytes, s->cleared ? " (cleared)" : "");
	}
	snprintf(f->res->checkpoint, sizeof(f->res->checkpoint), "slot 0: %.50s; slot 1: %.50s%s", line[0], line[1],
	         rebuild && f->rw ? "; discarded" : "");
out:
	so_free_aligned(SO_MEM_BUFFER, img, f->seg_size);
	return err;
}

int fsck_ckpt_discard(struct fsck *f)
{
	int err;
	for (unsigned i = 0; i < 2; i++)
		if (f->slots[i].state != CKCHK_EMPTY && !f->slots[i].cleared && (err = clear_slot(f, i)) < 0)
			return err;
	return 0;
}

/* The slot whose checkpoint body uses segment segno at generation gen, or -1. */
static int slot_of(const struct fsck *f, uint32_t segno, uint32_t gen)
{
	for (int i = 0; i < 2; i++)
		for (uint32_t k = 0; k < f->slots[i].nsegs; k++)
			if (f->slots[i].segs[k] == segno && f->slots[i].gens[k] == gen)
				return i;
	return -1;
}

bool fsck_ckpt_record(struct fsck *f, const struct rec *r, uint64_t addr16)
{
	(void)addr16;
	if (r->type != REC_CKPT)
		return false;
	if (r->seq > f->ckpt_body_max) /* a body piece's seq is its checkpoint's number */
		f->ckpt_body_max = r->seq;
	return true;
}

/*
 * A checkpoint is taken as: body written and synced, then its slot (number
 * % 2) written and synced. A crash between the two can tear the slot, which
 * then fails its checksum, while the other slot still names the previous
 * checkpoint (or is empty, for the first): that is a write the crash
 * interrupted, not damage, and opens lose nothing (they use the other slot,
 * or replay the log). Told apart from damage by the body: checkpoint N+1's
 * records are in the log (intact: they were synced) and slot (N+1) % 2 is
 * the damaged one, N being the other slot's (0 if empty). Media
 * damage of a slot that had already been synced looks the same; it also
 * costs nothing but a longer open, so a warning is still the right weight.
 */
int fsck_ckpt_slots(struct fsck *f)
{
	int err;
	for (unsigned i = 0; i < 2; i++) {
		struct fsck_slot *s = &f->slots[i], *o = &f->slots[i ^ 1];
		if (s->state != CKCHK_BAD_SLOT)
			continue; /* (a --rebuild may have cleared it already: still reported) */
		/* The checkpoint before the one being taken: the other slot's, or none yet (0). */
		uint64_t prev = o->state == CKCHK_OK ? o->no : 0;
		bool torn = (o->state == CKCHK_OK || o->state == CKCHK_EMPTY) && (prev + 1) % 2 == i &&
		            f->ckpt_body_max == prev + 1;
		enum fsck_sev sev = torn ? FSCK_WARN : FSCK_ERROR;
		char then[48];
		if (prev)
			snprintf(then, sizeof(then), "opens use checkpoint %llu", (unsigned long long)prev);
		else
			snprintf(then, sizeof(then), "opens replay the whole log");
		if (torn)
			s->ticket = fsck_report(f, FSCK_CHECKPOINT, sev, 0, -1, CKPT_SLOT_OFF(i), 0, 0, 0, 0,
			                        "checkpoint slot %u is damaged (%s): checkpoint %llu's body is in the "
			                        "log, so its slot write was torn by a crash; %s%s",
			                        i, s->why, (unsigned long long)(prev + 1), then,
			                        f->repair || s->cleared ? "; cleared" : "");
		else
			s->ticket = fsck_report(f, FSCK_CHECKPOINT, sev, 0, -1, CKPT_SLOT_OFF(i), 0, 0, 0, 0,
			                        "checkpoint slot %u is damaged (%s); opens ignore it%s", i, s->why,
			                        f->repair || s->cleared ? "; cleared" : "");
		if (f->repair || s->cleared) {
			if (!s->cleared && (err = clear_slot(f, i)) < 0)
				return err;
			fsck_fixed(f, s->ticket, sev);
		}
	}
	return 0;
}

int fsck_ckpt_damage(struct fsck *f, uint32_t segno, uint32_t gen, uint64_t addr16, uint32_t len, const char *what)
{
	int i = slot_of(f, segno, gen);
	struct fsck_action a = {0};
	a.kind = ACT_ZAP;
	a.addr16 = addr16;
	a.ticket = UINT64_MAX;
	a.sev = FSCK_INFO;
	if (i >= 0 && f->slots[i].state == CKCHK_BAD_BODY) {
		/* Part of a body reported damaged above, whose slot the repair clears: retire the bytes too. */
		return fsck_plan(f, &a);
	}
	if (i >= 0)
		a.ticket = fsck_report_at(f, FSCK_REC_DEAD, FSCK_WARN, addr16, 0, 0, 0, 0,
		                          "%s: %u bytes after the end of checkpoint %llu's body; nothing reads them",
		                          what, len, (unsigned long long)f->slots[i].no);
	else
		a.ticket = fsck_report_at(f, FSCK_REC_DEAD, FSCK_WARN, addr16, 0, 0, 0, 0,
		                          "%s: %u bytes in a checkpoint segment no checkpoint uses (generation %u); "
		                          "nothing reads them",
		                          what, len, gen);
	a.sev = FSCK_WARN;
	return fsck_plan(f, &a);
}

void fsck_ckpt_crosscheck(struct fsck *f)
{
	const struct swapobj_store *st = f->st;
	uint64_t want = 0;
	for (unsigned i = 0; i < 2; i++)
		if (f->slots[i].state == CKCHK_OK && !f->slots[i].cleared && f->slots[i].no > want)
			want = f->slots[i].no;
	if (!st || st->ckpts[0].no == want)
		return;
	if (want)
		fsck_report(f, FSCK_CHECKPOINT, FSCK_ERROR, 0, -1, 0, 0, 0, 0, 0,
		            "checkpoint %llu passes every check, but the library %s: its body does not decode",
		            (unsigned long long)want,
		            st->ckpts[0].no ? "loaded an older one" : "rejected it and replayed the whole log");
	else
		fsck_report(f, FSCK_CHECKPOINT, FSCK_ERROR, 0, -1, 0, 0, 0, 0, 0,
		            "the library loaded checkpoint %llu, which the checker found damaged or absent",
		            (unsigned long long)st->ckpts[0].no);
}
