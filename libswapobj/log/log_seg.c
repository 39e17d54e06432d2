/*
 * log_seg.c - segments: summaries (oid bloom, min/max seq, tombstone
 * bytes), the free queue, segment headers, preparing a segment for a
 * stream, checkpoint segments.
 *
 * The log's invariants and locking order: log_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "log_int.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Segment summaries and the free queue                                */
/* ------------------------------------------------------------------ */

static inline void bloom_bits(uint64_t oid, uint32_t *a, uint32_t *b)
{
	uint64_t h = so_hash64(&oid, sizeof(oid), 0x6f6964);
	*a = (uint32_t)(h % SEG_BLOOM_BITS);
	*b = (uint32_t)((h >> 32) % SEG_BLOOM_BITS);
}

void log_note(struct so_log *lg, struct log_seg *seg, uint64_t oid, uint64_t seq)
{
	(void)lg;
	(void)oid;
	uint64_t cur = __atomic_load_n(&seg->min_seq, __ATOMIC_RELAXED);
	while (seq < cur &&
	       !__atomic_compare_exchange_n(&seg->min_seq, &cur, seq, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&seg->max_seq, __ATOMIC_RELAXED);
	while (seq > cur &&
	       !__atomic_compare_exchange_n(&seg->max_seq, &cur, seq, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void log_rec_died(struct so_log *lg, uint64_t addr16, uint32_t bytes, uint64_t oid)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	uint32_t a, b;
	if (!s)
		return;
	if (bytes) {
		__atomic_sub_fetch(&s->live, bytes, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&lg->live_total, bytes, __ATOMIC_RELAXED);
	}
	bloom_bits(oid, &a, &b);
	__atomic_or_fetch(&s->bloom[a / 8], (uint8_t)(1u << (a % 8)), __ATOMIC_RELAXED);
	__atomic_or_fetch(&s->bloom[b / 8], (uint8_t)(1u << (b % 8)), __ATOMIC_RELAXED);
	if (!__atomic_load_n(&s->dead_any, __ATOMIC_RELAXED))
		__atomic_store_n(&s->dead_any, 1, __ATOMIC_RELAXED);
}

bool log_older_exists(struct so_log *lg, const struct log_seg *except, uint64_t oid, uint64_t seq)
{
	uint32_t a, b;
	bloom_bits(oid, &a, &b);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		const struct log_seg *s = &lg->segs[i];
		if (s == except || __atomic_load_n(&s->min_seq, __ATOMIC_RELAXED) >= seq ||
		    !__atomic_load_n(&s->dead_any, __ATOMIC_RELAXED))
			continue;
		if (oid == 0)
			return true;
		if ((__atomic_load_n(&s->bloom[a / 8], __ATOMIC_RELAXED) & (1u << (a % 8))) &&
		    (__atomic_load_n(&s->bloom[b / 8], __ATOMIC_RELAXED) & (1u << (b % 8))))
			return true;
	}
	return false;
}

void log_seg_free_locked(struct so_log *lg, struct log_seg *s)
{
	s->state = SEG_FREE;
	uint64_t left = __atomic_exchange_n(&s->live, 0, __ATOMIC_RELAXED);
	if (left) /* only a damaged store gets here with live bytes: keep the total consistent */
		__atomic_sub_fetch(&lg->live_total, left, __ATOMIC_RELAXED);
	s->fill = 0;
	s->written = 0;
	lg->freeq[(lg->freeq_head + lg->freeq_len) % lg->nsegs] = s->segno;
	lg->freeq_len++;
}

uint64_t log_free_count(struct so_log *lg)
{
	pthread_mutex_lock(&lg->mu);
	uint64_t n = lg->freeq_len;
	pthread_mutex_unlock(&lg->mu);
	return n;
}

void log_seghdr_encode_flags(struct so_log *lg, const struct log_seg *s, uint32_t flags, uint8_t *dst)
{
	struct rec r = {0};
	r.type = REC_SEGHDR;
	r.payload_len = SEGHDR_LEN;
	r.lpos = s->segno;
	r.seg_gen = s->gen;
	r.seq = s->hdr_seq; /* the age stamp: not a record sequence number (SEGHDRs are never replayed) */
	so_put_le32(dst + REC_HDR_LEN + SEGHDR_STREAM, s->stream);
	so_put_le32(dst + REC_HDR_LEN + SEGHDR_FLAGS, flags);
	so_put_le64(dst + REC_HDR_LEN + SEGHDR_OPENED, s->hdr_ns);
	rec_seal(dst, &r, lg->seed);
}

void log_encode_seghdr(struct so_log *lg, const struct log_seg *s, uint8_t *dst)
{
	log_seghdr_encode_flags(lg, s, 0, dst);
}

/*
 * Put a new SEGHDR over block 0 of s, keeping the block's other bytes: the
 * write then changes only the header's sector, so a torn write leaves either
 * the old header (every old record still there) or the new one (none of
 * them belongs to the segment any more), never some old records without
 * others. A tombstone must never vanish while a record it shadows stays.
 */
int log_seghdr_write(struct so_log *lg, const struct log_seg *hdr, uint32_t flags, bool pair)
{
	_Alignas(IO_ALIGN) uint8_t blk[2 * IO_ALIGN];
	struct io_dev *d = &lg->devs[hdr->dev];
	uint64_t off = log_seg_devoff(lg, hdr), len = pair ? 2 * IO_ALIGN : IO_ALIGN;
	int err;
	if ((err = io_pread(d, blk, len, off)) < 0)
		return err;
	memset(blk, 0, SEGHDR_REC_SIZE);
	log_seghdr_encode_flags(lg, hdr, flags, blk);
	if (pair) {
		/*
		 * Block 1 holds nothing of a use but this header's copy (a split
		 * use's data starts at block 2), so it is rewritten whole.
		 */
		memset(blk + IO_ALIGN, 0, IO_ALIGN);
		memcpy(blk + IO_ALIGN, blk, SEGHDR_REC_SIZE);
	}
	return io_pwrite(d, blk, len, off);
}

void log_csum_drop(struct so_log *lg, struct log_seg *s)
{
	if (s->csum)
		so_free(SO_MEM_INDEX, s->csum);
	s->csum = NULL;
	__atomic_store_n(&s->csum_ok, 0, __ATOMIC_RELEASE);
	(void)lg;
}

int log_csum_alloc(struct so_log *lg, struct log_seg *s)
{
	size_t n = lg->seg_size / SO_BLOCK * sizeof(uint32_t);
	if (!s->csum && !(s->csum = so_alloc(SO_MEM_INDEX, n)))
		return so_err(SWAPOBJ_ENOMEM, "out of memory for a segment's page checks");
	memset(s->csum, 0, n);
	return 0;
}

int log_csum_alloc_all(struct so_log *lg)
{
	/* At open (and upgrade): appending never allocates (4 bytes of RAM per 4 KiB block of the store). */
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		size_t n = lg->seg_size / SO_BLOCK * sizeof(uint32_t);
		if (!lg->segs[i].csum && !(lg->segs[i].csum = so_zalloc(SO_MEM_INDEX, n)))
			return so_err(SWAPOBJ_ENOMEM, "out of memory for the page checks of %llu segments",
			              (unsigned long long)lg->nsegs);
	}
	return 0;
}

/* Empty a segment's summary (mu held): its old records can no longer be replayed. */
void log_summary_reset_locked(struct log_seg *s)
{
	/* Atomic stores: the cleaner reads summaries without a lock (log_older_exists). */
	__atomic_store_n(&s->tomb_bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->tomb_need, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->min_seq, UINT64_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&s->max_seq, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < SEG_BLOOM_BYTES; i++)
		__atomic_store_n(&s->bloom[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->dead_any, 0, __ATOMIC_RELAXED);
	s->known = 1;
}

/*
 * Take a FREE segment and make it READY for a stream: write its new SEGHDR
 * and sync, so that its old records stop being replayable (invariant 3).
 *
 * An erased segment (ERASE_DONE: its ERASED header is durable, so none of
 * its old records is replayable and its summary is empty) needs no sync:
 * whether or not the new header reaches the device before a crash, the
 * segment replays as free or as the new use, and nothing in the new use is
 * acknowledged before a sync, which makes the header durable along with
 * it. So it costs one header write and no fdatasync.
 */
int log_seg_prepare(struct so_log *lg, int stream, bool urgent, struct log_seg **out)
{
	struct log_seg *s;
	uint32_t gen;
	int err;

	pthread_mutex_lock(&lg->mu);
	/*
	 * The last LOG_RESERVE_SEGS free segments belong to the cleaner (COLD),
	 * which needs room to relocate before it can free anything. An urgent
	 * tombstone may dig into them but never takes the last one. Other user
	 * writes also leave the room held for the next checkpoint body, which
	 * the cleaner keeps free (log_user_avail counts it out).
	 */
	uint64_t keep = log_stream_is_reloc(stream) ? 0 : urgent ? 1 : log_user_keep_locked(lg);
	if (lg->freeq_len <= keep) {
		uint64_t nfree = lg->freeq_len, hold = log_ckpt_hold_locked(lg);
		pthread_mutex_unlock(&lg->mu);
		if (lg->kick)
			lg->kick(lg->kick_ctx, LOG_KICK_CLEAN);
		return so_err(SWAPOBJ_ENOSPC,
		              "store is full: no free segment (%llu free, %u reserved for cleaning, %llu for a "
		              "checkpoint)",
		              (unsigned long long)nfree, LOG_RESERVE_SEGS, (unsigned long long)hold);
	}
	s = &lg->segs[lg->freeq[lg->freeq_head]];
	lg->freeq_head = (lg->freeq_head + 1) % lg->nsegs;
	lg->freeq_len--;
	gen = lg->next_gen++;
	bool erased = s->erase == ERASE_DONE;
	pthread_mutex_unlock(&lg->mu);
	/* The maintenance thread decides whether the cleaner must run (space_want_clean). */
	if (lg->kick)
		lg->kick(lg->kick_ctx, LOG_KICK_CLEAN);

	struct log_seg tmp = *s;
	tmp.gen = gen;
	tmp.stream = (uint8_t)stream;
	tmp.hdr_ns = so_wall_ns();
	/* User data is as old as now; relocated data as old as the victim it comes from. */
	uint64_t cold = __atomic_load_n(&lg->cold_stamp, __ATOMIC_RELAXED);
	tmp.hdr_seq = log_stream_is_reloc(stream) && cold ? cold : __atomic_load_n(&lg->next_seq, __ATOMIC_RELAXED);
	struct io_dev *d = &lg->devs[s->dev];
	/*
	 * A split use writes its header's copy into block 1 too, where that
	 * block holds nothing of an earlier use that may still be replayed: the
	 * segment is erased, or its last use was split (block 1 held only that
	 * use's header copy). Otherwise (an earlier classic use, not erased)
	 * block 1 keeps its bytes and the use simply has no second header copy.
	 */
	bool split = lg->split, pair = split && (erased || s->split);
	if (split && (err = log_csum_alloc(lg, s)) < 0) {
		pthread_mutex_lock(&lg->mu);
		log_seg_free_locked(lg, s);
		pthread_mutex_unlock(&lg->mu);
		return err;
	}
	if ((err = log_seghdr_write(lg, &tmp, split ? SEGHDR_F_SPLIT : 0, pair)) < 0 ||
	    (!erased && (err = io_sync(d)) < 0)) {
		pthread_mutex_lock(&lg->mu);
		log_seg_free_locked(lg, s); /* still holds (possibly) its old content; summary kept */
		pthread_mutex_unlock(&lg->mu);
		return log_fail(lg, err);
	}
	if (erased)
		__atomic_store_n(&lg->dev_dirty[s->dev], true, __ATOMIC_RELEASE); /* the next sync makes it durable */
	else
		__atomic_add_fetch(&lg->segs_prepared_synced, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&lg->mu);
	s->gen = gen;
	s->stream = (uint8_t)stream;
	s->hdr_ns = tmp.hdr_ns;
	s->hdr_seq = tmp.hdr_seq;
	s->state = SEG_READY;
	s->erase = ERASE_NONE;
	s->split = split;
	__atomic_store_n(&s->csum_ok, split, __ATOMIC_RELEASE); /* a new use: every page is noted as appended */
	__atomic_store_n(&s->live, 0, __ATOMIC_RELAXED);
	s->fill = SEGHDR_REC_SIZE;
	s->written = 0;
	s->dfill = s->dwritten = (uint64_t)SPLIT_HDR_BLOCKS * SO_BLOCK;
	log_summary_reset_locked(s);
	s->tomb_seen = tmp.hdr_seq;
	pthread_mutex_unlock(&lg->mu);
	*out = s;
	return 0;
}

int log_ckpt_take(struct so_log *lg, struct log_seg **out)
{
	pthread_mutex_lock(&lg->mu);
	/*
	 * From the room held for it (user streams leave log_ckpt_hold_locked
	 * free segments), never from the cleaner's reserve (a checkpoint can
	 * wait, the cleaner's progress cannot), and not past the checkpoints'
	 * share of the store, which log_usable keeps out of what users may fill.
	 */
	if (lg->ckpt_segs >= log_ckpt_allow(lg)) {
		pthread_mutex_unlock(&lg->mu);
		return so_err(SWAPOBJ_ENOSPC, "checkpoint needs more than its %llu segments",
		              (unsigned long long)log_ckpt_allow(lg));
	}
	if (lg->freeq_len <= LOG_RESERVE_SEGS) {
		uint64_t nfree = lg->freeq_len;
		pthread_mutex_unlock(&lg->mu);
		return so_err(SWAPOBJ_ENOSPC, "no free segment for a checkpoint (%llu free, %u reserved for cleaning)",
		              (unsigned long long)nfree, LOG_RESERVE_SEGS);
	}
	struct log_seg *s = &lg->segs[lg->freeq[lg->freeq_head]];
	lg->freeq_head = (lg->freeq_head + 1) % lg->nsegs;
	lg->freeq_len--;
	s->gen = lg->next_gen++;
	s->stream = SEG_STREAM_CKPT;
	s->split = 0; /* checkpoint bodies keep the classic layout: written whole, read whole */
	s->hdr_ns = so_wall_ns();
	s->state = SEG_SEALED;
	s->fill = SEGHDR_REC_SIZE;
	s->written = 0;
	s->sealed_ns = so_now_ns();
	lg->ckpt_segs++;
	lg->ckpt_taken++;
	bool erased = s->erase == ERASE_DONE;
	if (erased)
		log_summary_reset_locked(s);
	pthread_mutex_unlock(&lg->mu);
	if (!erased) {
		/*
		 * Old records of the segment may still be replayable (its erasure is
		 * not durable yet). The body is written in one go and a crash may
		 * tear it, leaving the old header over some old records but not
		 * others, which can replay a record without the tombstone that
		 * shadowed it. So make the new header durable first (changing only
		 * its sector); only then do the old records stop counting.
		 */
		struct io_dev *d = &lg->devs[s->dev];
		int err = log_seghdr_write(lg, s, 0, false);
		if (err == 0)
			err = io_sync(d);
		pthread_mutex_lock(&lg->mu);
		if (err < 0) {
			lg->ckpt_segs--;
			lg->ckpt_taken--;
			log_seg_free_locked(lg, s); /* summary kept: it may hold old records */
			pthread_mutex_unlock(&lg->mu);
			return log_fail(lg, err);
		}
		s->erase = ERASE_DONE;
		log_summary_reset_locked(s);
		pthread_mutex_unlock(&lg->mu);
	}
	*out = s;
	return 0;
}

void log_ckpt_release(struct so_log *lg, struct log_seg *s)
{
	pthread_mutex_lock(&lg->mu);
	if (s->state == SEG_SEALED && s->stream == SEG_STREAM_CKPT) {
		log_summary_reset_locked(s);
		lg->ckpt_segs--;
		log_seg_free_locked(lg, s);
		s->erase = ERASE_DONE; /* checkpoint records are never replayed */
		pthread_cond_broadcast(&lg->space_cv);
	}
	pthread_mutex_unlock(&lg->mu);
}

void log_ckpt_body_note(struct so_log *lg, uint64_t nsegs)
{
	pthread_mutex_lock(&lg->mu);
	if (nsegs > lg->ckpt_body) {
		__atomic_store_n(&lg->ckpt_body, nsegs, __ATOMIC_RELAXED);
		__atomic_store_n(&lg->usable, log_usable(lg), __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&lg->mu);
}

uint64_t log_ckpt_room(struct so_log *lg)
{
	pthread_mutex_lock(&lg->mu);
	uint64_t n = lg->freeq_len > LOG_RESERVE_SEGS ? lg->freeq_len - LOG_RESERVE_SEGS : 0;
	pthread_mutex_unlock(&lg->mu);
	return n;
}

void log_ckpt_end(struct so_log *lg)
{
	pthread_mutex_lock(&lg->mu);
	lg->ckpt_taken = 0;
	pthread_mutex_unlock(&lg->mu);
}

uint64_t log_device_bytes(struct so_log *lg)
{
	uint64_t n = 0;
	for (unsigned d = 0; d < lg->ndevs; d++)
		n += __atomic_load_n(&lg->devs[d].bytes_written, __ATOMIC_RELAXED);
	return n;
}
