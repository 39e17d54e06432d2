/*
 * log_int.h - what the files of the log share: log_dev.c (devices, open,
 * errors, reads), log_seg.c (segments, summaries, free queue),
 * log_append.c (reserve, commit, append) and log_write.c (write-out, sync).
 *
 * Owns: the segment table, the free queue, the stream buffers, and every
 * write to the devices except the superblocks written by log_format.
 *
 * Invariants:
 *  1. A record never crosses a segment; a segment is appended to by exactly
 *     one stream, only while OPEN, and only at ls->reserved.
 *  2. Bytes are written to a device only from a stream buffer, in IO_ALIGN
 *     blocks. A block may be written again later (the partial tail block
 *     after a sync), but only with its earlier bytes unchanged, so a torn
 *     rewrite cannot damage records that were already durable.
 *  3. A segment is reused only after a SEGHDR with a new generation has been
 *     written to it *and synced* (state READY); until then its old records
 *     are replayable and its summary (min_seq, bloom) is kept, because the
 *     cleaner's tombstone decisions must count them.
 *  4. A cleaned segment (FREEING) becomes FREE only after a sync that began
 *     after it was cleaned, so its relocated records are durable first.
 *     Only then is its ERASED header written (and the rest discarded, with
 *     the discard option): the erasure never races ahead of the relocation.
 *     Its summary is emptied only once the erasure is durable (a later
 *     sync): until then its old records may still be replayed.
 *  5. Writers of a stream reserve under ls->mu in epoch ls->epoch and copy
 *     outside it; a flush flips the epoch and waits for the old epoch's
 *     copies to finish, after which everything reserved before is complete.
 *
 * Locking order: ls->flush_mu -> ls->mu -> lg->mu; lg->buf_lock is a leaf
 * taken only for attaching/detaching buffers and by readers; lg->sync_mu is
 * outermost. No lock here is held while waiting for an object lock.
 */
#ifndef SO_LOG_INT_H
#define SO_LOG_INT_H

#include "log.h"

/* log_dev.c: wait on cv for at most 100 ms, so that a waiter always re-checks the sticky error. */
void log_cv_wait_timed(pthread_cond_t *cv, pthread_mutex_t *mu);

/* log_seg.c */
/* Encode s's SEGHDR record with these flags into dst (SEGHDR_REC_SIZE bytes). */
void log_seghdr_encode_flags(struct so_log *lg, const struct log_seg *s, uint32_t flags, uint8_t *dst);
/* Write and sync the SEGHDR of hdr's segment with these flags (block 0 only; see the definition). */
int log_seghdr_write(struct so_log *lg, const struct log_seg *hdr, uint32_t flags, bool pair);
/* Empty a segment's summary (mu held): its old records can no longer be replayed. */
void log_summary_reset_locked(struct log_seg *s);
/* Take a FREE segment and make it READY for a stream (invariant 3). */
int log_seg_prepare(struct so_log *lg, int stream, bool urgent, struct log_seg **out);

/* log_write.c: a stream's write-out scratch. */
void *log_wo_plan_alloc(void);
void log_wo_plan_free(void *p);
/* log_append.c: ask the store's background threads for work (lg->kick). */
void log_kick(struct so_log *lg, int what);

#endif
