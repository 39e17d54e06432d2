/*
 * fsck_super.c - phase 1 of the checker: devices and superblocks.
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
/* Devices and superblocks                                             */
/* ------------------------------------------------------------------ */

uint64_t fsck_seg_devoff(const struct fsck *f, uint32_t segno, unsigned *dev)
{
	unsigned d = fsck_dev_of(f, segno);
	*dev = d;
	return f->devs[d].sb.data_start + (uint64_t)(segno - f->devs[d].sb.seg_base) * f->seg_size;
}

void fsck_close_devs(struct fsck *f)
{
	for (unsigned i = 0; i < f->ndevs; i++)
		if (f->devs[i].open) {
			io_close(&f->devs[i].io);
			f->devs[i].open = false;
		}
}

bool fsck_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Open every device, read and decode both superblock copies, order the devices by index. */
int fsck_superblocks(struct fsck *f)
{
	int err = 0;
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		d->path = f->paths[i];
		if (!d->path)
			return so_err(SWAPOBJ_EINVAL, "device path %u is NULL", i);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(f->paths[j], d->path) == 0)
				return so_err(SWAPOBJ_EINVAL, "device %s given twice", d->path);
		if ((err = io_open(&d->io, d->path, !f->rw, false, !(f->opts.flags & FSCK_DIRECT), true)) < 0)
			return err;
		d->open = true;
		d->raw = so_alloc_aligned(SO_MEM_OTHER, SO_SB_COPIES * SO_SB_SIZE);
		if (!d->raw)
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		if (d->io.size < SO_SB_COPIES * SO_SB_SIZE)
			return so_err(SWAPOBJ_EFORMAT, "%s: %llu bytes is too small to be a swapobj store device",
			              d->path, (unsigned long long)d->io.size);
		if ((err = io_pread(&d->io, d->raw, SO_SB_COPIES * SO_SB_SIZE, 0)) < 0)
			return so_err_ctx(err, "%s: cannot read the superblocks", d->path);
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			struct sb_info tmp;
			d->sb_ok[c] = sb_decode(d->raw + c * SO_SB_SIZE, SO_SB_SIZE, &tmp) == 0;
			snprintf(d->sb_msg[c], sizeof(d->sb_msg[c]), "%s", d->sb_ok[c] ? "ok" : swapobj_errmsg());
			if (d->sb_ok[c] && (c == 0 || !d->sb_ok[0]))
				d->sb = tmp;
		}
		if (!d->sb_ok[0] && !d->sb_ok[1])
			return so_err(SWAPOBJ_EFORMAT,
			              "%s: not a usable swapobj store device: superblock copy 0: %s; copy 1: %s",
			              d->path, d->sb_msg[0], d->sb_msg[1]);
		if (d->sb.ro_compat && f->rw)
			return so_err(
			    SWAPOBJ_EFORMAT,
			    "%s: unknown read-only-compatible features 0x%llx: this version may check (-n) but not "
			    "repair the store",
			    d->path, (unsigned long long)d->sb.ro_compat);
	}
	/* The devices of one store: the same checks as the library's open. */
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		if (d->sb.ndevs != f->ndevs)
			return so_err(SWAPOBJ_EFORMAT, "%s belongs to a store of %u devices, %u given", d->path,
			              d->sb.ndevs, f->ndevs);
		if (memcmp(d->sb.uuid, f->devs[0].sb.uuid, 16) || d->sb.seg_size != f->devs[0].sb.seg_size ||
		    d->sb.total_segs != f->devs[0].sb.total_segs)
			return so_err(SWAPOBJ_EFORMAT, "%s and %s are not devices of the same store", f->devs[0].path,
			              d->path);
		for (unsigned j = 0; j < i; j++)
			if (f->devs[j].sb.dev_index == d->sb.dev_index)
				return so_err(SWAPOBJ_EFORMAT, "%s and %s are the same device index %u",
				              f->devs[j].path, d->path, d->sb.dev_index);
		if (d->io.size < d->sb.dev_bytes)
			return so_err(SWAPOBJ_EFORMAT, "%s is truncated: %llu bytes, the store needs %llu", d->path,
			              (unsigned long long)d->io.size, (unsigned long long)d->sb.dev_bytes);
	}
	/* Device-index order, as the store numbers its segments. */
	for (unsigned i = 0; i < f->ndevs; i++)
		for (unsigned j = i + 1; j < f->ndevs; j++)
			if (f->devs[j].sb.dev_index < f->devs[i].sb.dev_index) {
				struct fsck_dev t = f->devs[i];
				f->devs[i] = f->devs[j];
				f->devs[j] = t;
			}
	uint64_t base = 0;
	for (unsigned i = 0; i < f->ndevs; i++) {
		if (f->devs[i].sb.seg_base != base)
			return so_err(SWAPOBJ_EFORMAT, "%s: segment base %u, expected %llu", f->devs[i].path,
			              f->devs[i].sb.seg_base, (unsigned long long)base);
		base += f->devs[i].sb.nsegs;
	}
	if (base != f->devs[0].sb.total_segs)
		return so_err(SWAPOBJ_EFORMAT, "devices hold %llu segments, superblock says %llu",
		              (unsigned long long)base, (unsigned long long)f->devs[0].sb.total_segs);
	memcpy(f->uuid, f->devs[0].sb.uuid, 16);
	f->seed = store_seed(f->uuid);
	f->seg_size = f->devs[0].sb.seg_size;
	f->seg_shift = (uint32_t)__builtin_ctz(f->seg_size);
	f->nsegs = base;
	f->res->ndevs = f->ndevs;
	f->res->seg_size = f->seg_size;
	f->res->segments = f->nsegs;
	for (unsigned i = 0; i < f->ndevs; i++)
		f->res->store_bytes += f->devs[i].sb.dev_bytes;

	/* Per copy: damaged, different from the other, junk in the unused tail. Then the fixes. */
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		bool rewrite[SO_SB_COPIES] = {false, false};
		uint64_t ticket[SO_SB_COPIES];
		enum fsck_sev sev[SO_SB_COPIES];
		unsigned good = d->sb_ok[0] ? 0 : 1;
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			const uint8_t *blk = d->raw + c * SO_SB_SIZE;
			if (!d->sb_ok[c]) {
				sev[c] = FSCK_ERROR;
				ticket[c] = fsck_report(f, FSCK_SB_BAD, sev[c], (int)i, -1, c * SO_SB_SIZE, 0, 0, 0, 0,
				                        "%s: superblock copy %u: %s", d->path, c, d->sb_msg[c]);
				rewrite[c] = true;
			} else if (c != good && memcmp(blk, d->raw + good * SO_SB_SIZE, SO_SB_USED) != 0) {
				sev[c] = FSCK_ERROR;
				ticket[c] =
				    fsck_report(f, FSCK_SB_DIFFER, sev[c], (int)i, -1, c * SO_SB_SIZE, 0, 0, 0, 0,
				                "%s: superblock copies 0 and 1 differ (both checksums match); copy 0 "
				                "is the one used",
				                d->path);
				rewrite[c] = true;
			} else if (!fsck_all_zero(blk + SO_SB_USED, SO_SB_SIZE - SO_SB_USED)) {
				sev[c] = FSCK_WARN;
				ticket[c] = fsck_report(
				    f, FSCK_SB_TAIL, sev[c], (int)i, -1, c * SO_SB_SIZE + SO_SB_USED, 0, 0, 0, 0,
				    "%s: superblock copy %u: non-zero bytes after the superblock (unused, "
				    "should be zero)",
				    d->path, c);
				rewrite[c] = true;
			}
		}
		if (!f->repair)
			continue;
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			if (!rewrite[c])
				continue;
			uint8_t *blk = d->raw + c * SO_SB_SIZE;
			if (c != good)
				memcpy(blk, d->raw + good * SO_SB_SIZE, SO_SB_USED);
			memset(blk + SO_SB_USED, 0, SO_SB_SIZE - SO_SB_USED);
			if ((err = io_pwrite(&d->io, blk, SO_SB_SIZE, (uint64_t)c * SO_SB_SIZE)) < 0 ||
			    (err = io_sync(&d->io)) < 0)
				return so_err_ctx(err, "%s: rewriting superblock copy %u", d->path, c);
			f->res->modified = true;
			fsck_fixed(f, ticket[c], sev[c]);
		}
	}
	return 0;
}
