/*
 * ckpt.h - checkpoints: the in-memory index written into the log, so that
 * opening a store reads one snapshot plus what was logged after it instead
 * of every segment.
 *
 * A checkpoint is taken in four steps (ckpt_write):
 *  1. the cut: with every append stream locked, note each segment's state,
 *     generation and fill, and the store counters. Every record placed before
 *     the cut is "before"; everything after it lands past a noted fill, or in
 *     a segment whose generation changed.
 *  2. capture: every live object, under its own lock, after the cut (so its
 *     state includes every record placed before the cut, and maybe more);
 *     the tombstone registry.
 *  3. sync the log (the captured index must only reference durable records),
 *     write the body as REC_CKPT records into fresh CKPT segments, sync them;
 *  4. write the slot (ckpt_no % 2) naming those segments and sync it. Then
 *     the checkpoint two back is released.
 *
 * Recovery (replay.c) loads the newest valid checkpoint and replays only the
 * tail: segments whose generation changed since the cut, and the part of
 * segments open at the cut past their noted fill. Replaying a record the
 * snapshot already reflects is harmless (idempotent, in sequence order).
 *
 * Two checkpoints stay referenced, so a torn slot or damaged body falls back
 * to the previous one, and with both gone to a full-log replay. Tombstones
 * younger than the older checkpoint's cut are kept by the cleaner
 * (so_log.ckpt_keep_seq), which is what makes the fallback sound.
 */
#ifndef SO_CKPT_H
#define SO_CKPT_H

#include <stdint.h>

#include "store_types.h"

/* What recovery needs from the segment table of the loaded checkpoint. */
enum { CKSEG_FREE = 0, CKSEG_SEALED = 1, CKSEG_OPEN = 2 };
struct ckpt_seg {
	uint32_t gen, fill;
	uint8_t state, stream;
	bool split; /* the use has the split layout (CKSEG_F_SPLIT) */
};
#define CKSEG_F_SPLIT 0x1u /* segment table entry flags (the u32 at offset 12) */

struct ckpt_loaded {
	uint64_t no, cut_seq, next_seq, next_oid, next_gen, durable_seq, damaged;
	struct ckpt_seg *segs; /* nsegs entries (so_alloc SO_MEM_OTHER; the caller frees) */
};

/*
 * Take a checkpoint now. Its body goes to the free segments held for it
 * (log_ckpt_hold_locked); if they are short, it runs the cleaner (bounded)
 * for room first, unless cleaning is manual. Returns 0, SWAPOBJ_ENOSPC /
 * ENOMEM (skipped: the store goes on, recovery just replays more), or an
 * I/O error, after which the store is read-only (sticky). Every failure but
 * the EROFS of a store already read-only is counted (ckpt_failures,
 * ckpt_last_err). Serialised with itself (ckpt_mu, taken before clean_mu);
 * runs alongside writers.
 */
int ckpt_write(struct swapobj_store *st);

/*
 * Load the newest valid checkpoint into the empty index of st (objects,
 * extent maps, usage, segment summaries, tombstone registry) and fill *out.
 * Returns 1 if one was loaded, 0 if there is none usable (st is then as
 * before: empty index, empty summaries), or a negative error for I/O or
 * memory failures. Damaged slots or bodies are not errors: the next older
 * checkpoint, then none, is used, and *fallbacks counts the rejected ones.
 */
int ckpt_load(struct swapobj_store *st, struct ckpt_loaded *out, unsigned *fallbacks);

/* What swapobj-fsck learns about one slot. */
enum ckchk_state {
	CKCHK_EMPTY = 0,    /* all zero: never written */
	CKCHK_OK = 1,       /* slot and body intact */
	CKCHK_BAD_SLOT = 2, /* not a valid slot (checksum, magic, ranges) and not zero */
	CKCHK_BAD_BODY = 3, /* valid slot, body missing or damaged */
};
struct ckpt_check {
	enum ckchk_state state;
	uint64_t no, cut_seq, body_bytes;
	uint32_t nsegs;
};

/*
 * Check both slots and their bodies (every byte of a body is covered by its
 * records' checksums and the slot's body checksum). Read-only. Returns 0 or
 * an I/O / memory error.
 */
int ckpt_verify(struct swapobj_store *st, struct ckpt_check out[2]);

/* Zero slot i (0 or 1) and sync: the next open will not use it. */
int ckpt_clear_slot(struct swapobj_store *st, unsigned i);

#endif
