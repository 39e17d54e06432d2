/*
 * fsck_ckpt.c - the checkpoint phase of the checker.
 *
 * Runs after the superblocks are verified and before the log scan. Format
 * version 1 has no checkpoints: the reserved area [8 KiB, 1 MiB) of every
 * device is unused and the index is rebuilt from the whole log at every
 * open, so this phase only says so.
 *
 * Where checkpoint verification goes (format with checkpoint slots in the
 * reserved area and checkpoint records in the log):
 *  - fsck_checkpoints(): read both slots of device 0 (f->devs[0].io, the
 *    raw bytes of the reserved area), decode them, report damaged or
 *    inconsistent slots with fsck_report(f, FSCK_CHECKPOINT, ...), pick the
 *    newest valid one and fill f->res->checkpoint with a one-line verdict.
 *    With FSCK_REPAIR a damaged slot is rewritten from nothing (cleared),
 *    which makes the next open fall back to the other slot or a full
 *    replay; with FSCK_REBUILD both slots are cleared (the next open
 *    replays the whole log and writes a fresh checkpoint). Writes go
 *    through io_pwrite + io_sync on f->devs[i].io, set f->res->modified and
 *    mark the problem fixed with fsck_fixed().
 *  - fsck_ckpt_record(): the log scan hands over every valid record of a
 *    type it does not model; checkpoint records are collected here and
 *    verified (pieces complete, checksums, the snapshot they describe)
 *    once fsck_checkpoints()' slot names them. The index check then
 *    compares the library's index, which is loaded from that checkpoint
 *    plus the log after it, with the model built from the whole log, so a
 *    checkpoint that disagrees with the log is reported as index
 *    differences.
 */
#include <stdio.h>

#include "fsck_int.h"

int fsck_checkpoints(struct fsck *f)
{
	fsck_progress(f, "checkpoints", 0, 1);
	snprintf(f->res->checkpoint, sizeof(f->res->checkpoint), "%s",
	         (f->opts.flags & FSCK_REBUILD)
	             ? "none to discard (format 1 has no checkpoints; every open rebuilds the index from the log)"
	             : "none (format 1 has no checkpoints; every open rebuilds the index from the log)");
	fsck_progress(f, "checkpoints", 1, 1);
	return 0;
}

bool fsck_ckpt_record(struct fsck *f, const struct rec *r, uint64_t addr16)
{
	(void)f;
	(void)r;
	(void)addr16;
	return false;
}
