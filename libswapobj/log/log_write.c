/*
 * log_write.c - write-out: stream buffers to the devices, the background
 * flusher's work (sealed segments, erasing freed ones), and sync.
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
/* Write-out                                                           */
/* ------------------------------------------------------------------ */

/* Wait until every reservation made so far in the stream is copied (ls->mu held). */
static void drain_locked(struct log_stream *ls)
{
	uint32_t old = ls->epoch;
	ls->epoch ^= 1;
	while (ls->inflight[old]) {
		ls->waiters++;
		log_cv_wait_timed(&ls->cv, &ls->mu);
		ls->waiters--;
	}
}

/*
 * Write-out as one batch (io_batch): every range a flush has (the sealed
 * segments and the open one) is cut into pieces of at most LOG_IO_PIECE
 * bytes, so several are in flight at once; they complete in any order,
 * which changes nothing for durability (only a sync makes writes durable,
 * and a cut may keep any subset of the writes since). Full blocks go
 * straight from the buffer. With tail, the last partial block is written
 * from a private copy with its bytes past `to` zeroed: writers may be
 * filling those bytes right now, and what lies past `to` is not ours to
 * write yet (invariant 2 keeps the later rewrite of this block safe).
 */
#define LOG_IO_PIECE (256u << 10)
#define LOG_WO_RANGES (LOG_BUFS_PER_STREAM + 1) /* the sealed buffers and the open segment */

struct wo_range {
	struct log_seg *s;
	struct log_buf *sealed; /* detach once written; NULL for the open segment */
	uint64_t to;            /* write [written, to) */
	bool tail;              /* and the partial block at to */
	uint64_t next;          /* next byte to put in a request */
	int err;                /* first failure of its requests */
};

struct wo_batch {
	struct io_req req[IO_BATCH_DEPTH];
	uint8_t owner[IO_BATCH_DEPTH]; /* index of each request's range */
	_Alignas(IO_ALIGN) uint8_t tails[LOG_WO_RANGES][IO_ALIGN];
	unsigned n;
};

static void wo_add(struct so_log *lg, struct wo_batch *b, unsigned ri, struct wo_range *r, void *buf, uint64_t off,
                   uint64_t len)
{
	struct io_req *q = &b->req[b->n];
	q->dev = &lg->devs[r->s->dev];
	q->buf = buf;
	q->len = (uint32_t)len;
	q->op = IO_OP_WRITE;
	q->off = log_seg_devoff(lg, r->s) + off;
	b->owner[b->n++] = (uint8_t)ri;
}

/* Queue range ri's pieces into b until b is full; true when the range is all queued. */
static bool wo_fill(struct so_log *lg, struct wo_batch *b, unsigned ri, struct wo_range *r)
{
	uint64_t full_end = SO_ROUND_DOWN(r->to, IO_ALIGN);
	while (r->next < full_end && b->n < IO_BATCH_DEPTH) {
		uint64_t len = SO_MIN((uint64_t)LOG_IO_PIECE, full_end - r->next);
		wo_add(lg, b, ri, r, r->s->buf->data + r->next, r->next, len);
		r->next += len;
	}
	if (r->next < full_end)
		return false;
	if (r->tail && r->to > full_end && r->next == full_end) {
		if (b->n == IO_BATCH_DEPTH)
			return false;
		uint8_t *blk = b->tails[ri];
		memcpy(blk, r->s->buf->data + full_end, r->to - full_end);
		memset(blk + (r->to - full_end), 0, IO_ALIGN - (r->to - full_end));
		wo_add(lg, b, ri, r, blk, full_end, IO_ALIGN);
		r->next = r->to;
	}
	return true;
}

/* Everything the range asked for is queued (and, once its batch is done without error, written). */
static bool wo_done(const struct wo_range *r)
{
	return r->next >= (r->tail ? r->to : SO_ROUND_DOWN(r->to, IO_ALIGN));
}

/*
 * Write out the ranges (nr of them): batches of up to IO_BATCH_DEPTH
 * requests until all are written or one fails (the store then turns
 * read-only). A range whose requests all succeeded is marked written (and
 * its sealed buffer detached by the caller); one that failed is not.
 */
static int wo_run(struct so_log *lg, struct wo_range *rs, unsigned nr)
{
	struct wo_batch b; /* ~16 KiB of stack: no allocation */
	int err = 0;
	for (unsigned i = 0; i < nr; i++) {
		uint64_t written = __atomic_load_n(&rs[i].s->written, __ATOMIC_RELAXED);
		rs[i].next = rs[i].to <= written ? rs[i].to : SO_ROUND_DOWN(written, IO_ALIGN);
		rs[i].err = 0;
	}
	unsigned cur = 0;
	while (cur < nr && err == 0) {
		b.n = 0;
		while (cur < nr && wo_fill(lg, &b, cur, &rs[cur]))
			cur++;
		if (b.n == 0)
			continue;
		if ((err = io_batch(b.req, b.n)) < 0)
			log_fail(lg, err);
		for (unsigned i = 0; i < b.n; i++)
			if (b.req[i].res < 0 && rs[b.owner[i]].err == 0)
				rs[b.owner[i]].err = b.req[i].res;
	}
	for (unsigned i = 0; i < nr; i++) {
		struct wo_range *r = &rs[i];
		uint64_t written = __atomic_load_n(&r->s->written, __ATOMIC_RELAXED);
		if (r->err || !wo_done(r))
			r->err = r->err ? r->err : err; /* not (all) written: the batch stopped early */
		if (r->err || r->to <= written)
			continue;
		__atomic_store_n(&lg->dev_dirty[r->s->dev], true, __ATOMIC_RELEASE);
		__atomic_store_n(&r->s->written, r->tail ? r->to : SO_MAX(SO_ROUND_DOWN(r->to, IO_ALIGN), written),
		                 __ATOMIC_RELAXED);
	}
	return err;
}

static void detach_buf(struct so_log *lg, struct log_stream *ls, struct log_buf *b)
{
	struct log_seg *s = b->seg;
	pthread_rwlock_wrlock(&lg->buf_lock);
	s->buf = NULL;
	pthread_rwlock_unlock(&lg->buf_lock);
	memset(b->data, 0, lg->seg_size);
	pthread_mutex_lock(&ls->mu);
	b->seg = NULL;
	pthread_cond_broadcast(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
}

int log_flush(struct so_log *lg, int stream, bool tail)
{
	struct log_stream *ls = &lg->streams[stream];
	struct log_buf *sealed[LOG_BUFS_PER_STREAM];
	int nsealed = 0, err = 0;
	struct log_seg *open;
	uint64_t target;

	pthread_mutex_lock(&ls->flush_mu);
	pthread_mutex_lock(&ls->mu);
	/*
	 * Snapshot what to write before draining: the wait releases ls->mu, and
	 * reservations made meanwhile belong to the new epoch and may still be
	 * being copied.
	 */
	open = ls->seg;
	target = ls->reserved;
	for (int i = 0; i < LOG_BUFS_PER_STREAM; i++)
		if (ls->bufs[i].seg && ls->bufs[i].seg != open)
			sealed[nsealed++] = &ls->bufs[i];
	drain_locked(ls);
	pthread_mutex_unlock(&ls->mu);

	/* One batch: the sealed segments (whole) and the open one (up to target). */
	struct wo_range rs[LOG_WO_RANGES];
	unsigned nr = 0;
	for (int i = 0; i < nsealed; i++)
		rs[nr++] = (struct wo_range){
		    .s = sealed[i]->seg, .sealed = sealed[i], .to = sealed[i]->seg->fill, .tail = true};
	if (open)
		rs[nr++] = (struct wo_range){.s = open, .to = target, .tail = tail};
	err = wo_run(lg, rs, nr);
	for (unsigned i = 0; i < nr; i++)
		if (rs[i].sealed && rs[i].err == 0)
			detach_buf(lg, ls, rs[i].sealed);
	pthread_mutex_unlock(&ls->flush_mu);
	return err;
}

int log_background(struct so_log *lg)
{
	int did = 0;
	if (lg->rdonly || __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE))
		return 0;
	for (int i = 0; i < LOG_NSTREAMS; i++) {
		struct log_stream *ls = &lg->streams[i];
		bool due = false;
		pthread_mutex_lock(&ls->mu);
		for (int b = 0; b < LOG_BUFS_PER_STREAM; b++)
			if (ls->bufs[b].seg && ls->bufs[b].seg != ls->seg)
				due = true;
		if (ls->seg && ls->reserved - __atomic_load_n(&ls->seg->written, __ATOMIC_RELAXED) >= LOG_FLUSH_BYTES)
			due = true;
		pthread_mutex_unlock(&ls->mu);
		if (due) {
			log_flush(lg, i, false);
			did = 1;
		}
	}
	/*
	 * Keep one READY segment per HOT lane so opening one never waits for a
	 * header write (or, for a segment not yet erased, a sync). WARM takes
	 * one when it needs one (log_reserve).
	 */
	static const int lanes[2] = {LOG_HOT, LOG_HOT2};
	for (uint32_t l = 0; l < log_hot_lanes(lg->nsegs); l++) {
		struct log_stream *hot = &lg->streams[lanes[l]];
		pthread_mutex_lock(&lg->mu);
		bool want = hot->ready == NULL && lg->freeq_len > log_user_keep_locked(lg) && !lg->hot_preparing;
		/* Writers that find no free segment meanwhile wait for this one (log_space_wait). */
		if (want)
			lg->hot_preparing = true;
		pthread_mutex_unlock(&lg->mu);
		if (!want)
			continue;
		struct log_seg *s = NULL;
		bool ok = log_seg_prepare(lg, lanes[l], false, &s) == 0;
		pthread_mutex_lock(&lg->mu);
		if (ok && !hot->ready) {
			hot->ready = s;
			s = NULL;
		} else if (ok) {
			/* Lost a race with a foreground open: give the segment back. */
			log_seg_free_locked(lg, s);
			s->erase = ERASE_DONE; /* a fresh header and nothing else: nothing to replay */
		}
		lg->hot_preparing = false;
		pthread_cond_broadcast(&lg->space_cv);
		pthread_mutex_unlock(&lg->mu);
		did |= ok;
	}
	return did;
}

/*
 * Free cleaned segments whose relocations were just made durable: write an
 * ERASED SEGHDR over block 0 (new generation, so the old records stop
 * belonging to the segment), then queue them FREE. They are off the free
 * queue until then, so no writer can reuse one under the erasure. The
 * erasure is durable after the next sync (ERASE_WRITTEN -> ARMED -> DONE);
 * until then the summary is kept, as the old records may still be replayed.
 *
 * Discarding needs the erasure durable first: a discard may land in part
 * (sectors), and a segment whose old header survived with some records gone
 * could replay a dead record without the tombstone that shadowed it. So
 * with the discard option the headers are synced here (one extra sync per
 * batch of freed segments), then the rest of each segment is discarded.
 *
 * A failed header write turns the store read-only (log_fail) but the
 * segment is freed all the same: it is free in memory, and on disk it is a
 * cleaned segment, which replay handles.
 */
static void erase_segs(struct so_log *lg, const uint32_t *list, uint64_t n)
{
	uint64_t nwritten = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct log_seg *s = &lg->segs[list[i]];
		struct log_seg tmp = *s;
		pthread_mutex_lock(&lg->mu);
		tmp.gen = lg->next_gen++;
		pthread_mutex_unlock(&lg->mu);
		tmp.hdr_ns = so_wall_ns();
		tmp.hdr_seq = 0;
		if (__atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE))
			continue;
		int err = log_seghdr_write(lg, &tmp, SEGHDR_F_ERASED);
		if (err < 0) {
			log_fail(lg, err);
			continue;
		}
		__atomic_store_n(&lg->dev_dirty[s->dev], true, __ATOMIC_RELEASE);
		__atomic_add_fetch(&lg->segs_erased, 1, __ATOMIC_RELAXED);
		nwritten++;
		pthread_mutex_lock(&lg->mu);
		s->gen = tmp.gen;
		s->hdr_ns = tmp.hdr_ns;
		s->hdr_seq = 0;
		s->erase = ERASE_WRITTEN; /* still FREEING: nobody else looks */
		pthread_mutex_unlock(&lg->mu);
	}
	bool durable = false;
	if (lg->discard && nwritten && log_sync_devices(lg) == 0) {
		durable = true;
		for (uint64_t i = 0; i < n; i++) {
			struct log_seg *s = &lg->segs[list[i]];
			struct io_dev *d = &lg->devs[s->dev];
			if (s->erase != ERASE_WRITTEN || d->no_discard)
				continue;
			/* A hint to the device; a refusal (or failure) only stops further discards there. */
			if (io_discard(d, log_seg_devoff(lg, s) + IO_ALIGN, lg->seg_size - IO_ALIGN) == 0)
				__atomic_add_fetch(&lg->segs_discarded, 1, __ATOMIC_RELAXED);
			else
				d->no_discard = true;
		}
	}
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < n; i++) {
		struct log_seg *s = &lg->segs[list[i]];
		uint8_t erase = s->erase == ERASE_WRITTEN ? (durable ? ERASE_DONE : ERASE_WRITTEN) : ERASE_NONE;
		log_seg_free_locked(lg, s);
		s->erase = erase;
		if (erase == ERASE_DONE)
			log_summary_reset_locked(s);
	}
	if (n)
		pthread_cond_broadcast(&lg->space_cv);
	pthread_mutex_unlock(&lg->mu);
}

int log_sync(struct so_log *lg)
{
	int err = 0;
	if (lg->rdonly)
		return 0;
	pthread_mutex_lock(&lg->sync_mu);
	if ((err = log_check_writable(lg)) < 0)
		goto done;
	/*
	 * Segments cleaned before this point may be freed once this sync is
	 * durable (invariant 4); erasures written before it become durable.
	 */
	pthread_mutex_lock(&lg->mu);
	uint64_t nfreeing = 0, nerase = 0;
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if (s->state == SEG_FREEING) {
			s->armed = 1;
			nfreeing++;
		} else if (s->state == SEG_FREE && s->erase == ERASE_WRITTEN) {
			s->erase = ERASE_ARMED;
			nerase++;
		}
	}
	pthread_mutex_unlock(&lg->mu);
	/*
	 * Everything with a seq below `snap` is reserved by now (seqs are taken
	 * after reserving), so the flush below makes it durable. The SYNC record
	 * written with this flush states what the *previous* sync made durable,
	 * so it is never ahead of the truth even if this sync is torn.
	 */
	uint64_t snap = __atomic_load_n(&lg->next_seq, __ATOMIC_ACQUIRE);
	if (lg->durable_seq > __atomic_load_n(&lg->sync_logged_seq, __ATOMIC_RELAXED)) {
		struct rec r = {0};
		uint8_t payload[16];
		r.type = REC_SYNC;
		so_put_le64(payload, lg->durable_seq);
		pthread_mutex_lock(&lg->mu);
		so_put_le64(payload + 8, lg->next_gen); /* generations must never be issued twice */
		pthread_mutex_unlock(&lg->mu);
		if (log_append(lg, LOG_HOT, LOG_URGENT, &r, payload, 16, NULL) == 0)
			__atomic_store_n(&lg->sync_logged_seq, lg->durable_seq, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < LOG_NSTREAMS && err == 0; i++)
		err = log_flush(lg, i, true);
	for (unsigned d = 0; d < lg->ndevs && err == 0; d++)
		if (__atomic_exchange_n(&lg->dev_dirty[d], false, __ATOMIC_ACQ_REL) &&
		    (err = io_sync(&lg->devs[d])) < 0)
			err = log_fail(lg, err);
	if (err == 0) {
		__atomic_store_n(&lg->durable_seq, snap, __ATOMIC_RELEASE);
		__atomic_store_n(&lg->last_sync_ns, so_now_ns(), __ATOMIC_RELAXED);
	}
	if (err == 0 && nerase) {
		/* Still FREE and not retaken: the old records are gone for good. */
		pthread_mutex_lock(&lg->mu);
		for (uint64_t i = 0; i < lg->nsegs; i++) {
			struct log_seg *s = &lg->segs[i];
			if (s->state == SEG_FREE && s->erase == ERASE_ARMED) {
				s->erase = ERASE_DONE;
				log_summary_reset_locked(s);
			}
		}
		pthread_mutex_unlock(&lg->mu);
	}
	if (err == 0 && nfreeing) {
		uint64_t n = 0;
		pthread_mutex_lock(&lg->mu);
		for (uint64_t i = 0; i < lg->nsegs; i++) {
			struct log_seg *s = &lg->segs[i];
			if (s->state == SEG_FREEING && s->armed) {
				s->armed = 0;
				lg->erase_list[n++] = s->segno;
			}
		}
		pthread_mutex_unlock(&lg->mu);
		erase_segs(lg, lg->erase_list, n);
	}
done:
	pthread_mutex_unlock(&lg->sync_mu);
	return err;
}
