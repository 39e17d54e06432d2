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
 * from a private copy with its bytes past the end zeroed: writers may be
 * filling those bytes right now, and what lies past the end is not ours
 * to write yet (invariant 2 keeps the later rewrite of this block safe).
 *
 * A split segment has two ranges to write: its data area (up) and its
 * record stream (pairs of blocks, down). Before a block of the stream is
 * written, its copy B is made from copy A in the buffer (only the flusher
 * writes copies B, and only with the part of A that is complete), so both
 * go out in the same write: the stream's blocks from the first not yet
 * written to the last reserved are one contiguous range of the device.
 */
#define LOG_IO_PIECE (256u << 10)
#define LOG_WO_RANGES (LOG_BUFS_PER_STREAM + 1) /* the sealed buffers and the open segment */
#define LOG_WO_SPANS (4 * LOG_WO_RANGES)        /* split: data blocks and tail, stream's private block and the rest */
#define LOG_WO_PRIV (2 * LOG_WO_RANGES)

struct wo_range {
	struct log_seg *s;
	struct log_buf *sealed; /* detach once written; NULL for the open segment */
	uint64_t to;            /* write [written, to) (split: of the record stream) */
	uint64_t dto;           /* split: and [dwritten, dto) of the data area */
	bool tail;              /* and the partial blocks at the ends */
	uint64_t new_written, new_dwritten;
	int err; /* first failure of its requests */
};

struct wo_span {
	const uint8_t *src;
	uint64_t off; /* in the segment */
	uint64_t len;
	unsigned ri;
};

struct wo_plan {
	struct wo_span sp[LOG_WO_SPANS];
	unsigned n;
	_Alignas(IO_ALIGN) uint8_t priv[LOG_WO_PRIV][IO_ALIGN];
	unsigned npriv;
};

static void span_add(struct wo_plan *p, unsigned ri, const uint8_t *src, uint64_t off, uint64_t len)
{
	if (len)
		p->sp[p->n++] = (struct wo_span){src, off, len, ri};
}

/* A private copy of the block at off whose first n bytes are valid (the rest zeroed). */
static const uint8_t *priv_block(struct wo_plan *p, const uint8_t *blk, uint64_t n)
{
	uint8_t *b = p->priv[p->npriv++];
	memcpy(b, blk, n);
	memset(b + n, 0, IO_ALIGN - n);
	return b;
}

/* Plan [from, to) of a straight range of the buffer (classic segment, or a split one's data area). */
static uint64_t plan_straight(struct wo_plan *p, unsigned ri, const uint8_t *buf, uint64_t from, uint64_t to, bool tail)
{
	if (to <= from)
		return from;
	uint64_t start = SO_ROUND_DOWN(from, IO_ALIGN), full_end = SO_ROUND_DOWN(to, IO_ALIGN);
	if (full_end > start)
		span_add(p, ri, buf + start, start, full_end - start);
	if (tail && to > full_end) {
		span_add(p, ri, priv_block(p, buf + full_end, to - full_end), full_end, IO_ALIGN);
		return to;
	}
	return SO_MAX(full_end, from);
}

/* Plan the record stream [from, to) of a split segment (see above); returns the new written mark. */
static uint64_t plan_stream(struct so_log *lg, struct wo_plan *p, unsigned ri, uint8_t *buf, uint64_t from, uint64_t to,
                            bool tail)
{
	if (to <= from)
		return from;
	uint64_t i0 = from / IO_ALIGN, i1;
	if (tail)
		i1 = (to - 1) / IO_ALIGN;
	else if (to / IO_ALIGN == 0 || to / IO_ALIGN - 1 < i0)
		return from; /* no block complete yet */
	else
		i1 = to / IO_ALIGN - 1;
	for (uint64_t i = i0; i <= i1; i++) {
		uint64_t n = SO_MIN((uint64_t)IO_ALIGN, to - i * IO_ALIGN);
		uint64_t a = seg_phys(lg->seg_size, true, i * IO_ALIGN);
		memcpy(buf + SEG_COPY_B(a), buf + a, n);
	}
	uint64_t lo = seg_phys(lg->seg_size, true, i1 * IO_ALIGN),
	         hi = seg_phys(lg->seg_size, true, i0 * IO_ALIGN) + 2 * IO_ALIGN;
	uint64_t nlast = SO_MIN((uint64_t)IO_ALIGN, to - i1 * IO_ALIGN);
	if (nlast < IO_ALIGN) {
		span_add(p, ri, priv_block(p, buf + lo, nlast), lo, IO_ALIGN);
		lo += IO_ALIGN;
	}
	span_add(p, ri, buf + lo, lo, hi - lo);
	return SO_MAX(from, SO_MIN(to, (i1 + 1) * IO_ALIGN));
}

/*
 * Write out the ranges (nr of them): batches of up to IO_BATCH_DEPTH
 * requests until all are written or one fails (the store then turns
 * read-only). A range whose requests all succeeded is marked written (and
 * its sealed buffer detached by the caller); one that failed is not.
 */
void *log_wo_plan_alloc(void)
{
	return so_alloc_aligned(SO_MEM_BUFFER, sizeof(struct wo_plan));
}

void log_wo_plan_free(void *p)
{
	so_free_aligned(SO_MEM_BUFFER, p, sizeof(struct wo_plan));
}

/* p: the stream's plan (its flush_mu held). */
static int wo_run(struct so_log *lg, struct wo_plan *p, struct wo_range *rs, unsigned nr)
{
	struct io_req req[IO_BATCH_DEPTH];
	unsigned owner[IO_BATCH_DEPTH];
	int err = 0;
	p->n = 0;
	p->npriv = 0;
	for (unsigned i = 0; i < nr; i++) {
		struct wo_range *r = &rs[i];
		struct log_seg *s = r->s;
		uint8_t *buf = s->buf->data;
		uint64_t written = __atomic_load_n(&s->written, __ATOMIC_RELAXED);
		r->err = 0;
		if (s->split) {
			r->new_dwritten = plan_straight(p, i, buf, s->dwritten, r->dto, r->tail);
			r->new_written = plan_stream(lg, p, i, buf, written, r->to, r->tail);
		} else {
			r->new_dwritten = 0;
			r->new_written = plan_straight(p, i, buf, written, r->to, r->tail);
		}
	}
	unsigned cur = 0;
	uint64_t next = 0; /* bytes of span cur already queued */
	while (cur < p->n && err == 0) {
		unsigned nq = 0;
		while (cur < p->n && nq < IO_BATCH_DEPTH) {
			struct wo_span *sp = &p->sp[cur];
			uint64_t len = SO_MIN((uint64_t)LOG_IO_PIECE, sp->len - next);
			struct log_seg *s = rs[sp->ri].s;
			req[nq] =
			    (struct io_req){&lg->devs[s->dev], (void *)(uintptr_t)(sp->src + next),    (uint32_t)len,
			                    IO_OP_WRITE,       log_seg_devoff(lg, s) + sp->off + next, 0};
			owner[nq++] = sp->ri;
			next += len;
			if (next == sp->len) {
				cur++;
				next = 0;
			}
		}
		if ((err = io_batch(req, nq)) < 0)
			log_fail(lg, err);
		for (unsigned i = 0; i < nq; i++)
			if (req[i].res < 0 && rs[owner[i]].err == 0)
				rs[owner[i]].err = req[i].res;
	}
	for (unsigned i = 0; i < nr; i++) {
		struct wo_range *r = &rs[i];
		bool all = true;
		for (unsigned k = cur; k < p->n; k++)
			if (p->sp[k].ri == i)
				all = false; /* the batch stopped before this range's requests */
		if (!all && r->err == 0)
			r->err = err ? err : SWAPOBJ_EIO;
		if (r->err)
			continue;
		__atomic_store_n(&lg->dev_dirty[r->s->dev], true, __ATOMIC_RELEASE);
		if (r->s->split)
			r->s->dwritten = SO_MAX(r->s->dwritten, r->new_dwritten);
		__atomic_store_n(&r->s->written,
		                 SO_MAX(r->new_written, __atomic_load_n(&r->s->written, __ATOMIC_RELAXED)),
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
	uint64_t target, dtarget;

	pthread_mutex_lock(&ls->flush_mu);
	pthread_mutex_lock(&ls->mu);
	/*
	 * Snapshot what to write before draining: the wait releases ls->mu, and
	 * reservations made meanwhile belong to the new epoch and may still be
	 * being copied.
	 */
	open = ls->seg;
	target = ls->reserved;
	dtarget = ls->dreserved;
	for (int i = 0; i < LOG_BUFS_PER_STREAM; i++)
		if (ls->bufs[i].seg && ls->bufs[i].seg != open)
			sealed[nsealed++] = &ls->bufs[i];
	drain_locked(ls);
	pthread_mutex_unlock(&ls->mu);

	/* One batch: the sealed segments (whole) and the open one (up to target). */
	struct wo_range rs[LOG_WO_RANGES];
	unsigned nr = 0;
	for (int i = 0; i < nsealed; i++)
		rs[nr++] = (struct wo_range){.s = sealed[i]->seg,
		                             .sealed = sealed[i],
		                             .to = sealed[i]->seg->fill,
		                             .dto = sealed[i]->seg->dfill,
		                             .tail = true};
	if (open)
		rs[nr++] = (struct wo_range){.s = open, .to = target, .dto = dtarget, .tail = tail};
	err = wo_run(lg, ls->wo_plan, rs, nr);
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
		/* A split use's header copy in block 1 is erased with it, so neither copy can bring the use back. */
		int err = log_seghdr_write(lg, &tmp, SEGHDR_F_ERASED, s->split);
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
