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
 * Read-modify-write of the blocks holding the bytes an action changes or
 * checks: a record header (which may straddle two 4 KiB blocks), a few
 * bytes of padding, a segment header. blk holds 2 * IO_ALIGN bytes.
 */
static int patch_block(struct fsck *f, uint64_t addr16, const struct fsck_action *a, uint8_t *blk)
{
	uint32_t segno = fsck_segno_of(f, addr16);
	unsigned d;
	uint64_t segoff = fsck_segoff_of(f, addr16);
	uint64_t base = fsck_seg_devoff(f, segno, &d);
	uint64_t from = a->kind == ACT_PADDING ? segoff + a->from : segoff;
	uint64_t to = a->kind == ACT_PADDING  ? from + a->len
	              : a->kind == ACT_SEGHDR ? segoff + sizeof(a->hdr)
	                                      : segoff + REC_HDR_LEN;
	uint64_t bstart = SO_ROUND_DOWN(from, IO_ALIGN);
	uint64_t blen = SO_MIN(SO_ROUND_UP(to, IO_ALIGN), (uint64_t)f->seg_size) - bstart;
	if (blen > 2 * IO_ALIGN || to > f->seg_size)
		return so_err(SWAPOBJ_EINVAL, "repair of %llu bytes at segment %u offset %llu: out of range",
		              (unsigned long long)(to - from), segno, (unsigned long long)from);
	/* blk + in: the record (or segment) start, for the actions other than ACT_PADDING (in may be < 0 there) */
	int64_t in = (int64_t)segoff - (int64_t)bstart;
	int err = io_pread(&f->devs[d].io, blk, blen, base + bstart);
	if (err < 0)
		return err;
	switch (a->kind) {
	case ACT_ZAP_CHECKED: {
		/* Only if the record there is still the one we mean, in the same use of the segment. */
		_Alignas(IO_ALIGN) uint8_t b0[IO_ALIGN];
		struct rec r;
		uint32_t sz;
		if ((err = io_pread(&f->devs[d].io, b0, IO_ALIGN, base)) < 0)
			return err;
		if (rec_decode(b0, IO_ALIGN, f->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR ||
		    r.seg_gen != a->gen)
			return 1;
		if (so_get_le32(blk + in + RH_MAGIC) != REC_MAGIC ||
		    (uint32_t)so_hash64(blk + in, RH_HDR_CSUM, f->seed) != so_get_le32(blk + in + RH_HDR_CSUM) ||
		    so_get_le64(blk + in + RH_SEQ) != a->seq || so_get_le64(blk + in + RH_OID) != a->oid ||
		    so_get_le32(blk + in + RH_SEG_GEN) != a->gen)
			return 1;
	}
		/* fall through */
	case ACT_ZAP:
		so_put_le32(blk + in + RH_MAGIC, 0);
		break;
	case ACT_PADDING:
		memset(blk + (from - bstart), 0, a->len);
		break;
	case ACT_SEGHDR:
		memcpy(blk, a->hdr, sizeof(a->hdr));
		break;
	case ACT_FIELD:
		memcpy(blk + in + a->from, a->hdr, a->len);
		break;
	}
	if ((err = io_pwrite(&f->devs[d].io, blk, blen, base + bstart)) < 0)
		return err;
	f->res->modified = true;
	if (f->seg_stream[segno] != SEG_STREAM_CKPT)
		f->log_modified = true;
	return 0;
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
		int rc = patch_block(f, a->addr16, a, blk);
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
		a.addr16 = l->addr16;
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
