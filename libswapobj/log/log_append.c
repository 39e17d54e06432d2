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

int log_reserve(struct so_log *lg, int stream, uint32_t len, unsigned flags, struct log_resv *r)
{
	struct log_stream *ls = &lg->streams[stream];
	int err = 0;

	if (len == 0 || len > lg->seg_size - SEGHDR_REC_SIZE || len % REC_ALIGN)
		return so_err(SWAPOBJ_EINVAL, "bad reservation of %u bytes", len);
	pthread_mutex_lock(&ls->mu);
	for (;;) {
		int sticky = __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE);
		if (sticky) {
			err = log_check_writable(lg);
			break;
		}
		struct log_seg *s = ls->seg;
		if (s && ls->reserved + len <= lg->seg_size) {
			r->seg = s;
			r->off = ls->reserved;
			r->ptr = s->buf->data + ls->reserved;
			r->addr16 = log_addr16(lg, s->segno, ls->reserved);
			r->len = len;
			r->epoch = ls->epoch;
			r->gen = s->gen;
			ls->inflight[ls->epoch]++;
			ls->reserved += len;
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
		log_seghdr_encode_flags(lg, s, 0, b->data);
		ls->seg = s;
		ls->reserved = SEGHDR_REC_SIZE;
		__atomic_store_n(&s->fill, SEGHDR_REC_SIZE, __ATOMIC_RELAXED);
		s->written = 0;
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
	struct log_stream *ls = &lg->streams[LOG_HOT];
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
			pthread_mutex_lock(&ls->mu);
			room = ls->seg && ls->reserved + len + REC_DATA_SIZE <= lg->seg_size;
			pthread_mutex_unlock(&ls->mu);
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

int log_append(struct so_log *lg, int stream, unsigned flags, struct rec *r, const void *payload, uint32_t plen,
               uint64_t *addr16)
{
	struct log_resv rv;
	int err = log_reserve(lg, stream, rec_size(plen), flags, &rv);
	if (err < 0)
		return err;
	if (plen)
		memcpy(rv.ptr + REC_HDR_LEN, payload, plen);
	/* The seq is taken after reserving: log_sync relies on that (see its durability snapshot). */
	r->seq = log_next_seq(lg, 1);
	r->payload_len = plen;
	r->seg_gen = rv.gen;
	rec_seal(rv.ptr, r, lg->seed);
	log_note(lg, rv.seg, r->oid, r->seq);
	if (r->type == REC_PUNCH || r->type == REC_TRUNCATE || r->type == REC_DELETE || r->type == REC_INVALIDATE) {
		__atomic_add_fetch(&rv.seg->tomb_bytes, rv.len, __ATOMIC_RELAXED);
		__atomic_add_fetch(&rv.seg->tomb_need, rv.len, __ATOMIC_RELAXED);
	}
	log_commit(lg, stream, &rv);
	if (addr16)
		*addr16 = rv.addr16;
	return 0;
}
