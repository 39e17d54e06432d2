/*
 * log_append.c - appending: reserve space in a stream's open segment
 * (sealing it and taking a prepared one when full), commit, wait for space,
 * and log_append, which does all three for one record.
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
/* Reserve / commit                                                    */
/* ------------------------------------------------------------------ */

void log_kick(struct so_log *lg, int what)
{
	if (lg->kick)
		lg->kick(lg->kick_ctx, what);
}

/* Seal the stream's open segment (ls->mu held). */
static void seal_locked(struct so_log *lg, struct log_stream *ls)
{
	struct log_seg *s = ls->seg;
	pthread_mutex_lock(&lg->mu);
	s->state = SEG_SEALED;
	__atomic_store_n(&s->fill, ls->reserved, __ATOMIC_RELAXED);
	s->sealed_ns = so_now_ns();
	pthread_mutex_unlock(&lg->mu);
	ls->seg = NULL;
	ls->reserved = 0;
	log_kick(lg, LOG_KICK_FLUSH);
}

/*
 * Where a split segment would put nrec records (stream bytes rlen[i]
 * each) and a payload area of dlen data bytes (aligned to dalign): false
 * if it is full. A record never crosses a sector of the stream (it starts
 * the next one instead, the rest of the sector staying zero); the
 * data area grows up and the stream's pairs of blocks grow down, and they
 * must not meet. pos[i] = stream offset of record i; *end = past the last.
 */
static bool split_fit(const struct so_log *lg, const struct log_stream *ls, const uint32_t *rlen, uint32_t nrec,
                      uint32_t dlen, uint32_t dalign, uint64_t *pos, uint64_t *end, uint64_t *dpos)
{
	uint64_t p = ls->reserved;
	for (uint32_t i = 0; i < nrec; i++) {
		if (p % SPLIT_SECTOR + rlen[i] > SPLIT_SECTOR)
			p = seg_next_sector(p);
		pos[i] = p;
		p += rlen[i];
	}
	uint64_t nblk = lg->seg_size / SO_BLOCK, top = (p - 1) / SO_BLOCK;
	if (top + 1 > (nblk - SPLIT_HDR_BLOCKS) / 2)
		return false;
	uint64_t low = (nblk - 2 - 2 * top) * SO_BLOCK; /* the lowest byte of the stream's blocks */
	uint64_t d = dlen ? SO_ROUND_UP(ls->dreserved, (uint64_t)dalign) : ls->dreserved;
	if (d + dlen > low)
		return false;
	*end = p;
	*dpos = d;
	return true;
}

int log_reserve(struct so_log *lg, int stream, uint32_t len, unsigned flags, struct log_resv *r)
{
	uint64_t phys;
	return log_reserve_v(lg, stream, &len, 1, 0, 0, flags, r, &phys);
}

int log_reserve_v(struct so_log *lg, int stream, const uint32_t *rlen, uint32_t nrec, uint32_t dlen, uint32_t dalign,
                  unsigned flags, struct log_resv *r, uint64_t *phys)
{
	struct log_stream *ls = &lg->streams[stream];
	uint64_t pos[LOG_RESV_MAX];
	uint32_t len = 0;
	int err = 0;

	for (uint32_t i = 0; i < nrec; i++) {
		if (rlen[i] == 0 || rlen[i] % REC_ALIGN || (lg->split && rlen[i] > SPLIT_SECTOR))
			return so_err(SWAPOBJ_EINVAL, "bad reservation of a %u-byte record", rlen[i]);
		len += rlen[i];
	}
	if (nrec == 0 || nrec > LOG_RESV_MAX || len > lg->seg_size - SEGHDR_REC_SIZE || (!lg->split && dlen) ||
	    (lg->split && dlen > lg->seg_size / 2) ||
	    (dlen && (dalign < REC_ALIGN || dalign > SO_BLOCK || (dalign & (dalign - 1)))))
		return so_err(SWAPOBJ_EINVAL, "bad reservation of %u records, %u + %u bytes", nrec, len, dlen);
	pthread_mutex_lock(&ls->mu);
	for (;;) {
		int sticky = __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE);
		if (sticky) {
			err = log_check_writable(lg);
			break;
		}
		struct log_seg *s = ls->seg;
		uint64_t end = ls->reserved + len, dpos = 0;
		if (s && !s->split)
			for (uint32_t i = 0, o = 0; i < nrec; o += rlen[i], i++)
				pos[i] = ls->reserved + o;
		if (s &&
		    (s->split ? split_fit(lg, ls, rlen, nrec, dlen, dalign, pos, &end, &dpos) : end <= lg->seg_size)) {
			for (uint32_t i = 0; i < nrec; i++)
				phys[i] = seg_phys(lg->seg_size, s->split, pos[i]);
			r->seg = s;
			r->off = phys[0];
			r->ptr = s->buf->data + phys[0];
			r->addr16 = log_addr16(lg, s->segno, phys[0]);
			r->len = len;
			r->epoch = ls->epoch;
			r->gen = s->gen;
			r->dlen = dlen;
			r->dptr = NULL;
			r->doff = 0;
			r->daddr16 = 0;
			if (dlen) {
				r->dptr = s->buf->data + dpos;
				r->doff = dpos;
				r->daddr16 = log_addr16(lg, s->segno, dpos);
				ls->dreserved = dpos + dlen;
				__atomic_store_n(&s->dfill, ls->dreserved, __ATOMIC_RELAXED);
			}
			ls->inflight[ls->epoch]++;
			ls->reserved = end;
			/* Atomic: swapobj_store_stat reads it under lg->mu, not ls->mu. */
			__atomic_store_n(&s->fill, ls->reserved, __ATOMIC_RELAXED);
			break;
		}
		if (s)
			seal_locked(lg, ls);
		struct log_buf *b = NULL;
		for (int i = 0; i < LOG_BUFS_PER_STREAM; i++)
			if (!ls->bufs[i].seg) {
				b = &ls->bufs[i];
				break;
			}
		if (!b) {
			/*
			 * Every buffer holds a sealed segment not yet written out: write
			 * them out here rather than wait for the flusher, which may itself
			 * be waiting for a lock this thread's caller holds (e.g. sync_mu).
			 */
			pthread_mutex_unlock(&ls->mu);
			log_flush(lg, stream, false);
			pthread_mutex_lock(&ls->mu);
			continue;
		}
		if (!b->data) {
			b->data = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
			if (!b->data) {
				err = so_err(SWAPOBJ_ENOMEM, "out of memory for a %u-byte log buffer", lg->seg_size);
				break;
			}
			memset(b->data, 0, lg->seg_size);
		}
		pthread_mutex_lock(&lg->mu);
		s = ls->ready;
		ls->ready = NULL;
		for (int o = 0; !s && !log_stream_is_reloc(stream) && o < LOG_NSTREAMS; o++) {
			/*
			 * Another user stream's READY segment will do. Its SEGHDR keeps
			 * naming that stream: rewriting block 0 with other bytes would
			 * break invariant 2, and the name is only informative.
			 */
			s = lg->streams[o].ready;
			lg->streams[o].ready = NULL;
		}
		pthread_mutex_unlock(&lg->mu);
		if (!s && (err = log_seg_prepare(lg, stream, flags & LOG_URGENT, &s)) < 0)
			break;
		pthread_rwlock_wrlock(&lg->buf_lock);
		s->buf = b;
		pthread_rwlock_unlock(&lg->buf_lock);
		b->seg = s;
		pthread_mutex_lock(&lg->mu);
		s->state = SEG_OPEN;
		pthread_mutex_unlock(&lg->mu);
		log_seghdr_encode_flags(lg, s, s->split ? SEGHDR_F_SPLIT : 0, b->data);
		if (s->split) {
			/* Block 1 and the head of the stream hold copies of it (written by the flushes). */
			memcpy(b->data + SO_BLOCK, b->data, SEGHDR_REC_SIZE);
			memcpy(b->data + seg_phys(lg->seg_size, true, 0), b->data, SEGHDR_REC_SIZE);
		}
		ls->seg = s;
		ls->reserved = SEGHDR_REC_SIZE;
		ls->dreserved = (uint64_t)SPLIT_HDR_BLOCKS * SO_BLOCK;
		__atomic_store_n(&s->fill, SEGHDR_REC_SIZE, __ATOMIC_RELAXED);
		__atomic_store_n(&s->dfill, ls->dreserved, __ATOMIC_RELAXED);
		s->written = 0;
		s->dwritten = ls->dreserved;  /* blocks 0 and 1 went out when the segment was prepared */
		log_kick(lg, LOG_KICK_FLUSH); /* prepare the next READY segment in the background */
	}
	pthread_mutex_unlock(&ls->mu);
	return err;
}

void log_commit(struct so_log *lg, int stream, const struct log_resv *r)
{
	struct log_stream *ls = &lg->streams[stream];
	bool due;
	pthread_mutex_lock(&ls->mu);
	if (--ls->inflight[r->epoch] == 0 && ls->waiters)
		pthread_cond_broadcast(&ls->cv);
	due =
	    ls->seg == r->seg && ls->reserved - __atomic_load_n(&r->seg->written, __ATOMIC_RELAXED) >= LOG_FLUSH_BYTES;
	pthread_mutex_unlock(&ls->mu);
	if (due)
		log_kick(lg, LOG_KICK_FLUSH);
}

uint64_t log_user_avail(struct so_log *lg)
{
	pthread_mutex_lock(&lg->mu);
	uint64_t keep = log_user_keep_locked(lg);
	uint64_t n = lg->freeq_len > keep ? lg->freeq_len - keep : 0;
	n += lg->streams[LOG_HOT].ready != NULL;
	n += lg->streams[LOG_HOT2].ready != NULL;
	pthread_mutex_unlock(&lg->mu);
	return n;
}

int log_space_wait(struct so_log *lg, uint64_t len, bool need_seg)
{
	int err;
	if ((err = log_check_writable(lg)) < 0)
		return err;
	pthread_mutex_lock(&lg->mu);
	uint64_t start_pass = lg->clean_passes;
	pthread_mutex_unlock(&lg->mu);
	for (;;) {
		/* A hint only (log_reserve decides): room in the open segment, a READY one, or free ones? */
		bool room = false;
		if (!need_seg) {
			room = log_stream_room(lg, LOG_HOT) >= len + 2 * REC_DATA_SIZE;
		}
		pthread_mutex_lock(&lg->mu);
		room = room || lg->freeq_len > log_user_keep_locked(lg) || lg->streams[LOG_HOT].ready ||
		       lg->streams[LOG_HOT2].ready;
		if (room || __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&lg->mu);
			break;
		}
		if (lg->hot_preparing) {
			/* The flusher is readying a segment for user writes: it is room, in a moment. */
			log_cv_wait_timed(&lg->space_cv, &lg->mu);
			pthread_mutex_unlock(&lg->mu);
			continue;
		}
		if (lg->manual_clean || !lg->kick) {
			pthread_mutex_unlock(&lg->mu);
			return so_err(SWAPOBJ_ENOSPC, "store is full: no free segment (cleaning is manual: run "
			                              "swapobj_store_clean)");
		}
		/* A pass that began after we started waiting ended without freeing anything. */
		if (lg->clean_stuck > start_pass + 1) {
			pthread_mutex_unlock(&lg->mu);
			return so_err(SWAPOBJ_ENOSPC, "store is full: the cleaner cannot free a segment");
		}
		pthread_mutex_unlock(&lg->mu);
		log_kick(lg, LOG_KICK_CLEAN);
		pthread_mutex_lock(&lg->mu);
		log_cv_wait_timed(&lg->space_cv, &lg->mu);
		pthread_mutex_unlock(&lg->mu);
	}
	return log_check_writable(lg);
}

/* Set a split segment's check for the out-of-line page at byte offset doff. */
void log_csum_set(struct log_seg *s, uint64_t doff, uint32_t check)
{
	if (s->csum)
		__atomic_store_n(&s->csum[doff / SO_BLOCK], check, __ATOMIC_RELAXED);
}

int log_put(struct so_log *lg, int stream, unsigned flags, struct rec *r, const void *payload, uint32_t plen,
            bool reloc, uint64_t *addr16)
{
	bool new_seq = !reloc;
	struct log_resv rv;
	uint64_t phys;
	r->payload_len = plen;
	bool ool = log_ool(lg, r);
	bool page = r->type == REC_DATA && !(r->flags & REC_F_KNOWN);
	uint32_t len = ool ? REC_OOL_HDR_LEN : rec_size(plen);
	int err = log_reserve_v(lg, stream, &len, 1, ool ? plen : 0, page ? SO_BLOCK : REC_ALIGN, flags, &rv, &phys);
	if (err < 0)
		return err;
	/* The seq is taken after reserving: log_sync relies on that (see its durability snapshot). */
	if (new_seq)
		r->seq = log_next_seq(lg, 1);
	r->seg_gen = rv.gen;
	if (ool) {
		memcpy(rv.dptr, payload, plen);
		rec_seal_ool(rv.ptr, r, rv.dptr, (uint32_t)rv.doff, lg->seed);
	} else {
		if (plen)
			memcpy(rv.ptr + REC_HDR_LEN, payload, plen);
		rec_seal(rv.ptr, r, lg->seed);
	}
	/*
	 * A relocated payload keeps the checksum it was written with (not
	 * covered by the header's own checksum): one damaged where it was read
	 * stays damaged, and reported, where it moves.
	 */
	if (reloc)
		so_put_le64(rv.ptr + RH_CSUM, r->csum);
	if (ool && page)
		log_csum_set(rv.seg, rv.doff, log_page_check(so_get_le64(rv.ptr + RH_CSUM), r->oid, r->lpos));
	log_note(lg, rv.seg, r->oid, r->seq);
	if (r->type == REC_PUNCH || r->type == REC_TRUNCATE || r->type == REC_DELETE || r->type == REC_INVALIDATE) {
		__atomic_add_fetch(&rv.seg->tomb_bytes, rv.len, __ATOMIC_RELAXED);
		__atomic_add_fetch(&rv.seg->tomb_need, rv.len, __ATOMIC_RELAXED);
	}
	log_commit(lg, stream, &rv);
	if (addr16)
		*addr16 = ool && page ? rv.daddr16 : rv.addr16;
	return 0;
}

int log_append(struct so_log *lg, int stream, unsigned flags, struct rec *r, const void *payload, uint32_t plen,
               uint64_t *addr16)
{
	return log_put(lg, stream, flags, r, payload, plen, false, addr16);
}

uint64_t log_stream_room(struct so_log *lg, int stream)
{
	struct log_stream *ls = &lg->streams[stream];
	uint64_t room = 0;
	pthread_mutex_lock(&ls->mu);
	struct log_seg *s = ls->seg;
	if (s && s->split) {
		uint64_t low = seg_phys(lg->seg_size, true, SO_ROUND_DOWN(ls->reserved, SO_BLOCK));
		room = low > ls->dreserved ? low - ls->dreserved : 0;
	} else if (s) {
		room = lg->seg_size - ls->reserved;
	}
	pthread_mutex_unlock(&ls->mu);
	return room;
}
