/*
 * fsck_repair.c - phase 5 of the checker: the planned writes, then what only
 * the library can fix, through a read-write open.
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

/* ------------------------------------------------------------------ */
/* Repair                                                              */
/* ------------------------------------------------------------------ */

int fsck_reopen_devs(struct fsck *f)
{
	int err;
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		if ((err = io_open(&d->io, d->path, false, false, !(f->opts.flags & FSCK_DIRECT), true)) < 0)
			return err;
		d->open = true;
		uint8_t *blk = d->raw;
		struct sb_info sb;
		if ((err = io_pread(&d->io, blk, SO_SB_SIZE, 0)) < 0)
			return err;
		if (sb_decode(blk, SO_SB_SIZE, &sb) < 0 || memcmp(sb.uuid, f->uuid, 16) || sb.dev_index != i)
			return so_err(SWAPOBJ_EFORMAT, "%s changed while it was being repaired", d->path);
	}
	return 0;
}

/*
 * Read-modify-write of the blocks of segment segno holding the bytes an
 * action changes at segment offset segoff (the record, region or segment
 * header there, in this copy): a magic, a few bytes of padding, a header,
 * a copied span (src). blk holds 2 * IO_ALIGN bytes.
 */
static int patch_block(struct fsck *f, uint32_t segno, uint64_t segoff, const struct fsck_action *a, const uint8_t *src,
                       uint8_t *blk)
{
	unsigned d;
	uint64_t base = fsck_seg_devoff(f, segno, &d);
	uint64_t from =
	    a->kind == ACT_PADDING || a->kind == ACT_FIELD || a->kind == ACT_COPY ? segoff + a->from : segoff;
	uint64_t to = a->kind == ACT_PADDING || a->kind == ACT_FIELD || a->kind == ACT_COPY ? from + a->len
	              : a->kind == ACT_SEGHDR || a->kind == ACT_HDRCOPY                     ? segoff + SEGHDR_REC_SIZE
	                                                                                    : segoff + 4;
	uint64_t bstart = SO_ROUND_DOWN(from, IO_ALIGN);
	uint64_t blen = SO_MIN(SO_ROUND_UP(to, IO_ALIGN), (uint64_t)f->seg_size) - bstart;
	if (blen > 2 * IO_ALIGN || to > f->seg_size)
		return so_err(SWAPOBJ_EINVAL, "repair of %llu bytes at segment %u offset %llu: out of range",
		              (unsigned long long)(to - from), segno, (unsigned long long)from);
	int err = io_pread(&f->devs[d].io, blk, blen, base + bstart);
	if (err < 0)
		return err;
	uint8_t *p = blk + (from - bstart);
	switch (a->kind) {
	case ACT_ZAP_CHECKED:
	case ACT_ZAP:
		so_put_le32(p + RH_MAGIC, 0);
		break;
	case ACT_PADDING:
		memset(p, 0, a->len);
		break;
	case ACT_SEGHDR:
	case ACT_HDRCOPY:
		memcpy(p, a->hdr, SEGHDR_REC_SIZE);
		break;
	case ACT_FIELD:
		memcpy(p, a->hdr, a->len);
		break;
	case ACT_COPY:
		memcpy(p, src, a->len);
		break;
	}
	if ((err = io_pwrite(&f->devs[d].io, blk, blen, base + bstart)) < 0)
		return err;
	f->res->modified = true;
	if (f->seg_stream[segno] != SEG_STREAM_CKPT)
		f->log_modified = true;
	return 0;
}

/* Read n bytes at segment offset off of segment segno into out (n <= IO_ALIGN; blk: 2 * IO_ALIGN bytes). */
static int read_bytes(struct fsck *f, uint32_t segno, uint64_t off, uint32_t n, uint8_t *out, uint8_t *blk)
{
	unsigned d;
	uint64_t base = fsck_seg_devoff(f, segno, &d), bstart = SO_ROUND_DOWN(off, IO_ALIGN);
	uint64_t blen = SO_MIN(SO_ROUND_UP(off + n, IO_ALIGN), (uint64_t)f->seg_size) - bstart;
	if (n > IO_ALIGN || off + n > f->seg_size)
		return so_err(SWAPOBJ_EINVAL, "read of %u bytes at segment %u offset %llu: out of range", n, segno,
		              (unsigned long long)off);
	int err = io_pread(&f->devs[d].io, blk, blen, base + bstart);
	if (err == 0)
		memcpy(out, blk + (off - bstart), n);
	return err;
}

/*
 * ACT_ZAP_CHECKED: is the record at segment offset off (either copy, in a
 * split segment) still the one we mean, in the same use of the segment?
 * 0 yes, 1 no.
 */
static int zap_check(struct fsck *f, uint32_t segno, uint64_t off, const struct fsck_action *a, uint8_t *blk)
{
	_Alignas(IO_ALIGN) uint8_t b0[2 * IO_ALIGN];
	struct seg_img si;
	struct rec r;
	unsigned d;
	uint64_t base = fsck_seg_devoff(f, segno, &d);
	int err = io_pread(&f->devs[d].io, b0, 2 * IO_ALIGN, base);
	if (err < 0)
		return err;
	if (seg_img_open(&si, b0, f->seg_size, f->seed, segno, &r) != REC_OK || r.seg_gen != a->gen)
		return 1;
	for (int c = 0; c < (si.split ? 2 : 1); c++) {
		uint8_t h[REC_OOL_HDR_LEN];
		uint64_t at = c ? SEG_COPY_B(off) : off;
		uint32_t n = (uint32_t)SO_MIN((uint64_t)REC_OOL_HDR_LEN, f->seg_size - at);
		memset(h, 0, sizeof(h));
		if ((err = read_bytes(f, segno, at, n, h, blk)) < 0)
			return err;
		if (n < REC_OOL_HDR_LEN && so_get_le16(h + RH_HDR_LEN) == REC_OOL_HDR_LEN)
			continue;
		if (so_get_le32(h + RH_MAGIC) == REC_MAGIC &&
		    rec_hdr_csum(h, f->seed) == so_get_le32(h + RH_HDR_CSUM) && so_get_le64(h + RH_SEQ) == a->seq &&
		    so_get_le64(h + RH_OID) == a->oid && so_get_le32(h + RH_SEG_GEN) == a->gen)
			return 0;
	}
	return 1;
}

/* Carry out one planned write (in both copies of a split segment's stream). 1: no longer applies. */
static int run_action(struct fsck *f, const struct fsck_action *a, uint8_t *blk)
{
	uint32_t segno = fsck_segno_of(f, a->addr16);
	uint64_t off = fsck_segoff_of(f, a->addr16);
	bool split = f->seg_split[segno];
	int err;
	if (a->kind == ACT_ZAP_CHECKED && (err = zap_check(f, segno, off, a, blk)) != 0)
		return err;
	if (a->kind == ACT_HDRCOPY)
		return patch_block(f, segno, fsck_segoff_of(f, a->from16), a, NULL, blk);
	if (a->kind == ACT_COPY) {
		/* Copy A lies at off, B one block up: the span of the sound copy over the other. */
		uint8_t src[SPLIT_SECTOR];
		uint64_t so = a->src_copy ? SEG_COPY_B(off) : off, dst = a->src_copy ? off : SEG_COPY_B(off);
		if (a->len > sizeof(src))
			return so_err(SWAPOBJ_EINVAL, "copy of %u bytes: out of range", a->len);
		if ((err = read_bytes(f, segno, so + a->from, a->len, src, blk)) < 0)
			return err;
		return patch_block(f, segno, dst, a, src, blk);
	}
	if ((err = patch_block(f, segno, off, a, NULL, blk)) < 0 || !split)
		return err;
	if (off == 0 && (a->kind == ACT_ZAP || a->kind == ACT_ZAP_CHECKED)) {
		/* Retiring a split segment: its header's copies too, or they would bring it back. */
		uint64_t sa = seg_phys(f->seg_size, true, 0);
		const uint64_t more[3] = {SO_BLOCK, sa, SEG_COPY_B(sa)};
		for (unsigned i = 0; i < 3 && err == 0; i++)
			err = patch_block(f, segno, more[i], a, NULL, blk);
		return err;
	}
	if (fsck_in_stream(f, off))
		err = patch_block(f, segno, fsck_copy_a(f, off) ? SEG_COPY_B(off) : off - SO_BLOCK, a, NULL, blk);
	return err;
}

/* Carry out the planned writes of kind filter (0: all but ACT_ZAP_CHECKED), then sync. */
int fsck_run_actions(struct fsck *f, bool checked)
{
	uint8_t *blk = so_alloc_aligned(SO_MEM_BUFFER, 2 * IO_ALIGN);
	int err = 0;
	if (!blk)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->nacts; i++) {
		const struct fsck_action *a = &f->acts[i];
		if ((a->kind == ACT_ZAP_CHECKED) != checked)
			continue;
		int rc = run_action(f, a, blk);
		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc == 0)
			fsck_fixed(f, a->ticket, (enum fsck_sev)a->sev);
		fsck_progress(f, "repair", i + 1, f->nacts);
	}
	for (unsigned d = 0; d < f->ndevs && err == 0; d++)
		if (f->devs[d].open)
			err = io_sync(&f->devs[d].io);
	so_free_aligned(SO_MEM_BUFFER, blk, 2 * IO_ALIGN);
	return err;
}

/*
 * What only the library can fix: punch the live pages whose only copy is
 * damaged (and, by opening read-write, let replay settle clashing keys).
 */
int fsck_repair_through_library(struct fsck *f)
{
	int err = 0;
	fsck_lib_open(f, true);
	if (f->open_err < 0) {
		fsck_report_open_failure(f);
		return 0;
	}
	struct swapobj_store *st = f->st;
	for (size_t i = 0; i < f->nlost; i++) {
		struct fsck_lost *l = &f->lost[i];
		struct so_obj *o = index_get(&st->ix, l->oid);
		if (!o)
			continue;
		struct swapobj_obj h = {st, o, UINT64_MAX, 0, NULL};
		struct swapobj_obj_stat os;
		err = swapobj_obj_stat(&os, sizeof(os), &h);
		if (err == 0 && l->lpos + SWAPOBJ_PAGE_SIZE > os.size) {
			/*
			 * The object's partial last page: a punch would rewrite it around
			 * its damaged bytes. Make it a whole page, punch, restore the size.
			 */
			if ((err = swapobj_obj_truncate(&h, l->lpos + SWAPOBJ_PAGE_SIZE)) == 0 &&
			    (err = swapobj_obj_punch(&h, l->lpos, SWAPOBJ_PAGE_SIZE)) == 0)
				err = swapobj_obj_truncate(&h, os.size);
		} else if (err == 0) {
			err = swapobj_obj_punch(&h, l->lpos, SWAPOBJ_PAGE_SIZE);
		}
		obj_put(o);
		if (err < 0) {
			err = so_err_ctx(err, "punching the damaged page at %llu of object %llu",
			                 (unsigned long long)l->lpos, (unsigned long long)l->oid);
			break;
		}
		struct fsck_action a = {0};
		a.kind = ACT_ZAP_CHECKED;
		a.addr16 = l->hdr16;
		a.seq = l->seq;
		a.oid = l->oid;
		a.gen = l->gen;
		a.ticket = UINT64_MAX;
		if ((err = fsck_plan(f, &a)) < 0)
			break;
		fsck_fixed(f, l->ticket, FSCK_ERROR);
		f->res->modified = true;
	}
	if (err == 0)
		err = swapobj_store_sync(st);
	if (err == 0) {
		/* The keys replay settled (it logged a DELETE for each loser and synced). */
		for (size_t i = 0; i < f->res->nproblems; i++)
			if (f->res->problems[i].kind == FSCK_KEY_CONFLICT)
				fsck_fixed(f, i, f->res->problems[i].sev);
	}
	fsck_lib_close(f);
	return err;
}
