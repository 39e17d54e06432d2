/*
 * log.c - segments, append streams, write-out and sync.
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
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

uint64_t log_seg_devoff(const struct so_log *lg, const struct log_seg *s)
{
	const struct sb_info *sb = &lg->sbs[s->dev];
	return sb->data_start + (uint64_t)(s->segno - sb->seg_base) * lg->seg_size;
}

/* ------------------------------------------------------------------ */
/* Format and open                                                     */
/* ------------------------------------------------------------------ */

int log_format(const char *const *paths, unsigned npaths, const struct swapobj_format_opts *opts)
{
	struct swapobj_format_opts def = SWAPOBJ_FORMAT_OPTS_INIT;
	struct io_dev devs[SWAPOBJ_MAX_DEVICES];
	uint32_t nsegs[SWAPOBJ_MAX_DEVICES];
	uint8_t uuid[16];
	uint8_t *blk = NULL;
	unsigned opened = 0;
	uint64_t total = 0;
	int err = 0;

	if (!opts)
		opts = &def;
	if (!paths || npaths < 1 || npaths > SWAPOBJ_MAX_DEVICES)
		return so_err(SWAPOBJ_EINVAL, "need 1..%d devices, got %u", SWAPOBJ_MAX_DEVICES, npaths);
	if (opts->version != SWAPOBJ_FORMAT_OPTS_VERSION)
		return so_err(SWAPOBJ_EINVAL, "format options version %u unknown (use SWAPOBJ_FORMAT_OPTS_INIT)",
		              opts->version);
	uint32_t seg_size = opts->segment_size ? opts->segment_size : SWAPOBJ_SEGMENT_DEFAULT;
	if (seg_size < SWAPOBJ_SEGMENT_MIN || seg_size > SWAPOBJ_SEGMENT_MAX || (seg_size & (seg_size - 1)))
		return so_err(SWAPOBJ_EINVAL, "segment size %u: must be a power of two from 1 MiB to 64 MiB", seg_size);
	for (unsigned i = 0; i < npaths; i++) {
		if (!paths[i])
			return so_err(SWAPOBJ_EINVAL, "device path %u is NULL", i);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(paths[i], paths[j]) == 0)
				return so_err(SWAPOBJ_EINVAL, "device %s given twice", paths[i]);
	}
	for (; opened < npaths; opened++) {
		struct io_dev *d = &devs[opened];
		if ((err = io_open(d, paths[opened], false, true, false, true)) < 0)
			goto done;
		if (!d->is_blk && opts->size && d->size < opts->size && (err = io_set_size(d, opts->size)) < 0)
			goto done;
		uint64_t usable = d->is_blk || !opts->size ? d->size : opts->size;
		if (usable < SO_DATA_START + 2ull * seg_size) {
			err = so_err(SWAPOBJ_EINVAL, "%s: %llu bytes is too small (need at least %llu)", d->path,
			             (unsigned long long)usable, (unsigned long long)(SO_DATA_START + 2ull * seg_size));
			opened++;
			goto done;
		}
		uint64_t n = (usable - SO_DATA_START) / seg_size;
		if (n > UINT32_MAX - total)
			n = UINT32_MAX - total;
		nsegs[opened] = (uint32_t)n;
		total += n;
	}
	/* Room for the reserve, the lookahead, an open segment per stream, and data. */
	if (total < LOG_MIN_SEGS) {
		err = so_err(SWAPOBJ_EINVAL, "store would have %llu segments; need at least %u (use smaller segments)",
		             (unsigned long long)total, LOG_MIN_SEGS);
		goto done;
	}
	if (total * (uint64_t)seg_size / ADDR_UNIT > ADDR_MAX) {
		err = so_err(SWAPOBJ_EINVAL, "store of %llu bytes exceeds the 1 PiB address space",
		             (unsigned long long)(total * seg_size));
		goto done;
	}
	if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid)) {
		err = so_err(SWAPOBJ_EIO, "getrandom failed: %s", strerror(errno));
		goto done;
	}
	blk = so_alloc_aligned(SO_MEM_OTHER, 2 * SO_SB_SIZE);
	if (!blk) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory");
		goto done;
	}
	uint32_t base = 0;
	uint64_t now = so_wall_ns();
	for (unsigned i = 0; i < npaths; i++) {
		struct sb_info sb = {0};
		sb.version = SO_FORMAT_VERSION;
		memcpy(sb.uuid, uuid, 16);
		sb.dev_index = i;
		sb.ndevs = npaths;
		sb.seg_size = seg_size;
		sb.page_size = SWAPOBJ_PAGE_SIZE;
		sb.data_start = SO_DATA_START;
		sb.nsegs = nsegs[i];
		sb.dev_bytes = SO_DATA_START + (uint64_t)nsegs[i] * seg_size;
		sb.seg_base = base;
		sb.total_segs = total;
		sb.created_ns = now;
		base += nsegs[i];
		sb_encode(blk, &sb);
		memcpy(blk + SO_SB_SIZE, blk, SO_SB_SIZE);
		if ((err = io_pwrite(&devs[i], blk, 2 * SO_SB_SIZE, 0)) < 0 || (err = io_sync(&devs[i])) < 0)
			goto done;
	}
done:
	so_free_aligned(SO_MEM_OTHER, blk, 2 * SO_SB_SIZE);
	for (unsigned i = 0; i < opened; i++)
		io_close(&devs[i]);
	return err;
}

static int read_sb(struct io_dev *d, uint8_t *blk, struct sb_info *sb)
{
	if (d->size < 2 * SO_SB_SIZE)
		return so_err(SWAPOBJ_EFORMAT, "%s: %llu bytes is too small to be a store device", d->path,
		              (unsigned long long)d->size);
	/* A device that fails to read is an I/O error, not a foreign device: propagate it. */
	int err = io_pread(d, blk, 2 * SO_SB_SIZE, 0);
	if (err < 0)
		return so_err_ctx(err, "%s: cannot read superblock", d->path);
	if (sb_decode(blk, SO_SB_SIZE, sb) == 0)
		return 0;
	if (sb_decode(blk + SO_SB_SIZE, SO_SB_SIZE, sb) == 0)
		return 0;
	return so_err_ctx(SWAPOBJ_EFORMAT, "%s", d->path);
}

int log_open(struct so_log *lg, const char *const *paths, unsigned npaths, bool rdonly, bool no_direct)
{
	struct io_dev tmp[SWAPOBJ_MAX_DEVICES];
	struct sb_info sbs[SWAPOBJ_MAX_DEVICES];
	uint8_t *blk = NULL;
	unsigned opened = 0;
	int err = 0;

	memset(lg, 0, sizeof(*lg));
	if (!paths || npaths < 1 || npaths > SWAPOBJ_MAX_DEVICES)
		return so_err(SWAPOBJ_EINVAL, "need 1..%d devices, got %u", SWAPOBJ_MAX_DEVICES, npaths);
	blk = so_alloc_aligned(SO_MEM_OTHER, 2 * SO_SB_SIZE);
	if (!blk)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	for (; opened < npaths; opened++) {
		if (!paths[opened]) {
			err = so_err(SWAPOBJ_EINVAL, "device path %u is NULL", opened);
			goto fail;
		}
		if ((err = io_open(&tmp[opened], paths[opened], rdonly, false, no_direct, true)) < 0)
			goto fail;
		if ((err = read_sb(&tmp[opened], blk, &sbs[opened])) < 0) {
			opened++;
			goto fail;
		}
	}
	/* All devices of one store, each index once, consistent geometry. */
	for (unsigned i = 0; i < npaths; i++) {
		if (sbs[i].ndevs != npaths) {
			err = so_err(SWAPOBJ_EFORMAT, "%s belongs to a store of %u devices, %u given", tmp[i].path,
			             sbs[i].ndevs, npaths);
			goto fail;
		}
		if (memcmp(sbs[i].uuid, sbs[0].uuid, 16) || sbs[i].seg_size != sbs[0].seg_size ||
		    sbs[i].total_segs != sbs[0].total_segs) {
			err = so_err(SWAPOBJ_EFORMAT, "%s and %s are not devices of the same store", tmp[0].path,
			             tmp[i].path);
			goto fail;
		}
		for (unsigned j = 0; j < i; j++)
			if (sbs[j].dev_index == sbs[i].dev_index) {
				err = so_err(SWAPOBJ_EFORMAT, "%s and %s are the same device index %u", tmp[j].path,
				             tmp[i].path, sbs[i].dev_index);
				goto fail;
			}
		if (tmp[i].size < sbs[i].dev_bytes) {
			err = so_err(SWAPOBJ_EFORMAT, "%s is truncated: %llu bytes, the store needs %llu", tmp[i].path,
			             (unsigned long long)tmp[i].size, (unsigned long long)sbs[i].dev_bytes);
			goto fail;
		}
	}
	for (unsigned i = 0; i < npaths; i++) {
		unsigned idx = sbs[i].dev_index;
		lg->devs[idx] = tmp[i];
		lg->sbs[idx] = sbs[i];
	}
	opened = 0; /* ownership moved to lg->devs */
	lg->ndevs = npaths;
	uint64_t base = 0;
	for (unsigned i = 0; i < npaths; i++) {
		if (lg->sbs[i].seg_base != base) {
			err = so_err(SWAPOBJ_EFORMAT, "%s: segment base %u, expected %llu", lg->devs[i].path,
			             lg->sbs[i].seg_base, (unsigned long long)base);
			goto fail_lg;
		}
		base += lg->sbs[i].nsegs;
	}
	if (base != lg->sbs[0].total_segs) {
		err = so_err(SWAPOBJ_EFORMAT, "devices hold %llu segments, superblock says %llu",
		             (unsigned long long)base, (unsigned long long)lg->sbs[0].total_segs);
		goto fail_lg;
	}
	memcpy(lg->uuid, lg->sbs[0].uuid, 16);
	lg->seed = store_seed(lg->uuid);
	lg->seg_size = lg->sbs[0].seg_size;
	lg->seg_shift = (uint32_t)__builtin_ctz(lg->seg_size);
	lg->nsegs = base;
	lg->rdonly = rdonly;
	lg->segs = so_zalloc(SO_MEM_OTHER, lg->nsegs * sizeof(*lg->segs));
	lg->blooms = so_zalloc(SO_MEM_OTHER, lg->nsegs * SEG_BLOOM_BYTES);
	lg->freeq = so_alloc(SO_MEM_OTHER, lg->nsegs * sizeof(*lg->freeq));
	lg->erase_list = so_alloc(SO_MEM_OTHER, lg->nsegs * sizeof(*lg->erase_list));
	if (!lg->segs || !lg->blooms || !lg->freeq || !lg->erase_list) {
		err =
		    so_err(SWAPOBJ_ENOMEM, "out of memory for a table of %llu segments", (unsigned long long)lg->nsegs);
		goto fail_lg;
	}
	for (uint32_t d = 0; d < lg->ndevs; d++)
		for (uint32_t k = 0; k < lg->sbs[d].nsegs; k++) {
			struct log_seg *s = &lg->segs[lg->sbs[d].seg_base + k];
			s->segno = lg->sbs[d].seg_base + k;
			s->dev = (uint16_t)d;
			s->state = SEG_FREE;
			s->min_seq = UINT64_MAX;
			s->bloom = lg->blooms + (uint64_t)s->segno * SEG_BLOOM_BYTES;
		}
	pthread_mutex_init(&lg->mu, NULL);
	pthread_cond_init(&lg->space_cv, NULL);
	pthread_rwlock_init(&lg->buf_lock, NULL);
	pthread_mutex_init(&lg->sync_mu, NULL);
	for (int i = 0; i < LOG_NSTREAMS; i++) {
		pthread_mutex_init(&lg->streams[i].mu, NULL);
		pthread_cond_init(&lg->streams[i].cv, NULL);
		pthread_mutex_init(&lg->streams[i].flush_mu, NULL);
	}
	lg->next_seq = 1;
	lg->next_gen = 1;
	lg->ckpt_keep_seq = UINT64_MAX;
	lg->usable = log_usable(lg);
	so_free_aligned(SO_MEM_OTHER, blk, 2 * SO_SB_SIZE);
	return 0;

fail_lg:
	for (unsigned i = 0; i < lg->ndevs; i++)
		io_close(&lg->devs[i]);
	so_free(SO_MEM_OTHER, lg->segs);
	so_free(SO_MEM_OTHER, lg->blooms);
	so_free(SO_MEM_OTHER, lg->freeq);
	so_free(SO_MEM_OTHER, lg->erase_list);
	lg->segs = NULL;
	lg->blooms = NULL;
	lg->freeq = NULL;
	lg->erase_list = NULL;
fail:
	for (unsigned i = 0; i < opened; i++)
		io_close(&tmp[i]);
	so_free_aligned(SO_MEM_OTHER, blk, 2 * SO_SB_SIZE);
	return err;
}

void log_close(struct so_log *lg)
{
	if (!lg->segs)
		return;
	for (int i = 0; i < LOG_NSTREAMS; i++) {
		struct log_stream *ls = &lg->streams[i];
		for (int b = 0; b < LOG_BUFS_PER_STREAM; b++)
			so_free_aligned(SO_MEM_BUFFER, ls->bufs[b].data, lg->seg_size);
		pthread_mutex_destroy(&ls->mu);
		pthread_cond_destroy(&ls->cv);
		pthread_mutex_destroy(&ls->flush_mu);
	}
	for (unsigned i = 0; i < lg->ndevs; i++)
		io_close(&lg->devs[i]);
	so_free(SO_MEM_OTHER, lg->segs);
	so_free(SO_MEM_OTHER, lg->blooms);
	so_free(SO_MEM_OTHER, lg->freeq);
	so_free(SO_MEM_OTHER, lg->erase_list);
	pthread_mutex_destroy(&lg->mu);
	pthread_cond_destroy(&lg->space_cv);
	pthread_rwlock_destroy(&lg->buf_lock);
	pthread_mutex_destroy(&lg->sync_mu);
	lg->segs = NULL;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Wait on cv for at most 100 ms. Waits in this file are timed so that a
 * waiter always re-checks the sticky error: log_fail may run in a thread
 * that holds the very mutex a broadcast would need, so it signals without it.
 */
static void cv_wait_timed(pthread_cond_t *cv, pthread_mutex_t *mu)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

int log_fail(struct so_log *lg, int err)
{
	int expected = 0;
	__atomic_compare_exchange_n(&lg->sticky_err, &expected, err, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	/* Wake waiters so they see the failure; callers may hold stream or log locks. */
	pthread_cond_broadcast(&lg->space_cv);
	for (int i = 0; i < LOG_NSTREAMS; i++)
		pthread_cond_broadcast(&lg->streams[i].cv);
	return err;
}

int log_check_writable(struct so_log *lg)
{
	if (lg->rdonly)
		return so_err(SWAPOBJ_EROFS, "store was opened read-only");
	int e = __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE);
	if (e)
		return so_err(SWAPOBJ_EROFS, "store turned read-only after an earlier failure (%s)",
		              swapobj_strerror(e));
	return 0;
}

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

static void encode_seghdr(struct so_log *lg, const struct log_seg *s, uint32_t flags, uint8_t *dst)
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
	encode_seghdr(lg, s, 0, dst);
}

/*
 * Put a new SEGHDR over block 0 of s, keeping the block's other bytes: the
 * write then changes only the header's sector, so a torn write leaves either
 * the old header (every old record still there) or the new one (none of
 * them belongs to the segment any more), never some old records without
 * others. A tombstone must never vanish while a record it shadows stays.
 */
static int write_header(struct so_log *lg, const struct log_seg *hdr, uint32_t flags)
{
	_Alignas(IO_ALIGN) uint8_t blk[IO_ALIGN];
	struct io_dev *d = &lg->devs[hdr->dev];
	uint64_t off = log_seg_devoff(lg, hdr);
	int err;
	if ((err = io_pread(d, blk, IO_ALIGN, off)) < 0)
		return err;
	memset(blk, 0, SEGHDR_REC_SIZE);
	encode_seghdr(lg, hdr, flags, blk);
	return io_pwrite(d, blk, IO_ALIGN, off);
}

/* Empty a segment's summary (mu held): its old records can no longer be replayed. */
static void summary_reset_locked(struct log_seg *s)
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
 */
static int prepare_seg(struct so_log *lg, int stream, bool urgent, struct log_seg **out)
{
	struct log_seg *s;
	uint32_t gen;
	int err;

	pthread_mutex_lock(&lg->mu);
	/*
	 * The last LOG_RESERVE_SEGS free segments belong to the cleaner (COLD),
	 * which needs room to relocate before it can free anything. An urgent
	 * tombstone may dig into them but never takes the last one.
	 */
	uint64_t keep = log_stream_is_reloc(stream) ? 0 : urgent ? 1 : LOG_RESERVE_SEGS;
	if (lg->freeq_len <= keep) {
		pthread_mutex_unlock(&lg->mu);
		if (lg->kick)
			lg->kick(lg->kick_ctx, LOG_KICK_CLEAN);
		return so_err(SWAPOBJ_ENOSPC, "store is full: no free segment (%llu free, %u reserved for cleaning)",
		              (unsigned long long)lg->freeq_len, LOG_RESERVE_SEGS);
	}
	s = &lg->segs[lg->freeq[lg->freeq_head]];
	lg->freeq_head = (lg->freeq_head + 1) % lg->nsegs;
	lg->freeq_len--;
	gen = lg->next_gen++;
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
	if ((err = write_header(lg, &tmp, 0)) < 0 || (err = io_sync(d)) < 0) {
		pthread_mutex_lock(&lg->mu);
		log_seg_free_locked(lg, s); /* still holds (possibly) its old content; summary kept */
		pthread_mutex_unlock(&lg->mu);
		return log_fail(lg, err);
	}
	pthread_mutex_lock(&lg->mu);
	s->gen = gen;
	s->stream = (uint8_t)stream;
	s->hdr_ns = tmp.hdr_ns;
	s->hdr_seq = tmp.hdr_seq;
	s->state = SEG_READY;
	s->erase = ERASE_NONE;
	__atomic_store_n(&s->live, 0, __ATOMIC_RELAXED);
	s->fill = SEGHDR_REC_SIZE;
	s->written = 0;
	summary_reset_locked(s);
	s->tomb_seen = tmp.hdr_seq;
	pthread_mutex_unlock(&lg->mu);
	*out = s;
	return 0;
}

int log_ckpt_take(struct so_log *lg, struct log_seg **out)
{
	pthread_mutex_lock(&lg->mu);
	/*
	 * Not from the cleaner's reserve (a checkpoint can wait, the cleaner's
	 * progress cannot), and not past the checkpoints' share of the store,
	 * which log_usable keeps out of what users may fill.
	 */
	if (lg->ckpt_segs >= log_ckpt_allow(lg)) {
		pthread_mutex_unlock(&lg->mu);
		return so_err(SWAPOBJ_ENOSPC, "checkpoint needs more than its %llu segments",
		              (unsigned long long)log_ckpt_allow(lg));
	}
	if (lg->freeq_len <= LOG_RESERVE_SEGS + LOG_CLEAN_AHEAD) {
		pthread_mutex_unlock(&lg->mu);
		return so_err(SWAPOBJ_ENOSPC, "no free segment for a checkpoint (%llu free)",
		              (unsigned long long)lg->freeq_len);
	}
	struct log_seg *s = &lg->segs[lg->freeq[lg->freeq_head]];
	lg->freeq_head = (lg->freeq_head + 1) % lg->nsegs;
	lg->freeq_len--;
	s->gen = lg->next_gen++;
	s->stream = SEG_STREAM_CKPT;
	s->hdr_ns = so_wall_ns();
	s->state = SEG_SEALED;
	s->fill = SEGHDR_REC_SIZE;
	s->written = 0;
	s->sealed_ns = so_now_ns();
	lg->ckpt_segs++;
	bool erased = s->erase == ERASE_DONE;
	if (erased)
		summary_reset_locked(s);
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
		int err = write_header(lg, s, 0);
		if (err == 0)
			err = io_sync(d);
		pthread_mutex_lock(&lg->mu);
		if (err < 0) {
			lg->ckpt_segs--;
			log_seg_free_locked(lg, s); /* summary kept: it may hold old records */
			pthread_mutex_unlock(&lg->mu);
			return log_fail(lg, err);
		}
		s->erase = ERASE_DONE;
		summary_reset_locked(s);
		pthread_mutex_unlock(&lg->mu);
	}
	*out = s;
	return 0;
}

void log_ckpt_release(struct so_log *lg, struct log_seg *s)
{
	pthread_mutex_lock(&lg->mu);
	if (s->state == SEG_SEALED && s->stream == SEG_STREAM_CKPT) {
		summary_reset_locked(s);
		lg->ckpt_segs--;
		log_seg_free_locked(lg, s);
		s->erase = ERASE_DONE; /* checkpoint records are never replayed */
		pthread_cond_broadcast(&lg->space_cv);
	}
	pthread_mutex_unlock(&lg->mu);
}

uint64_t log_device_bytes(struct so_log *lg)
{
	uint64_t n = 0;
	for (unsigned d = 0; d < lg->ndevs; d++)
		n += __atomic_load_n(&lg->devs[d].bytes_written, __ATOMIC_RELAXED);
	return n;
}

/* ------------------------------------------------------------------ */
/* Reserve / commit                                                    */
/* ------------------------------------------------------------------ */

static void kick(struct so_log *lg, int what)
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
	s->fill = ls->reserved;
	s->sealed_ns = so_now_ns();
	pthread_mutex_unlock(&lg->mu);
	ls->seg = NULL;
	ls->reserved = 0;
	kick(lg, LOG_KICK_FLUSH);
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
			s->fill = ls->reserved;
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
		if (!s && !log_stream_is_reloc(stream)) {
			/*
			 * The other user stream's READY segment will do. Its durable
			 * SEGHDR keeps naming that stream: rewriting block 0 with other
			 * bytes would break invariant 2, and the name is only informative.
			 */
			struct log_stream *other = &lg->streams[stream == LOG_HOT ? LOG_WARM : LOG_HOT];
			s = other->ready;
			other->ready = NULL;
		}
		pthread_mutex_unlock(&lg->mu);
		if (!s && (err = prepare_seg(lg, stream, flags & LOG_URGENT, &s)) < 0)
			break;
		pthread_rwlock_wrlock(&lg->buf_lock);
		s->buf = b;
		pthread_rwlock_unlock(&lg->buf_lock);
		b->seg = s;
		pthread_mutex_lock(&lg->mu);
		s->state = SEG_OPEN;
		pthread_mutex_unlock(&lg->mu);
		encode_seghdr(lg, s, 0, b->data);
		ls->seg = s;
		ls->reserved = SEGHDR_REC_SIZE;
		s->fill = SEGHDR_REC_SIZE;
		s->written = 0;
		kick(lg, LOG_KICK_FLUSH); /* prepare the next READY segment in the background */
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
		kick(lg, LOG_KICK_FLUSH);
}

uint64_t log_user_avail(struct so_log *lg)
{
	pthread_mutex_lock(&lg->mu);
	uint64_t n = lg->freeq_len > LOG_RESERVE_SEGS ? lg->freeq_len - LOG_RESERVE_SEGS : 0;
	n += lg->streams[LOG_HOT].ready != NULL;
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
		room = room || lg->freeq_len > LOG_RESERVE_SEGS || lg->streams[LOG_HOT].ready;
		if (room || __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&lg->mu);
			break;
		}
		if (lg->hot_preparing) {
			/* The flusher is readying a segment for user writes: it is room, in a moment. */
			cv_wait_timed(&lg->space_cv, &lg->mu);
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
		kick(lg, LOG_KICK_CLEAN);
		pthread_mutex_lock(&lg->mu);
		cv_wait_timed(&lg->space_cv, &lg->mu);
		pthread_mutex_unlock(&lg->mu);
	}
	return log_check_writable(lg);
}

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
		cv_wait_timed(&ls->cv, &ls->mu);
		ls->waiters--;
	}
}

/*
 * Write [written, to) of s's buffer. Full blocks go straight from the buffer.
 * With tail, the last partial block is written from a private copy with
 * its bytes past `to` zeroed: writers may be filling those bytes right now,
 * and what lies past `to` is not ours to write yet (invariant 2 keeps the
 * later rewrite of this block safe).
 */
static int write_range(struct so_log *lg, struct log_seg *s, uint64_t to, bool tail)
{
	uint64_t written = __atomic_load_n(&s->written, __ATOMIC_RELAXED);
	uint64_t start = SO_ROUND_DOWN(written, IO_ALIGN);
	uint64_t full_end = SO_ROUND_DOWN(to, IO_ALIGN);
	struct io_dev *d = &lg->devs[s->dev];
	uint64_t base = log_seg_devoff(lg, s);
	int err;
	if (to <= written)
		return 0;
	if (full_end > start && (err = io_pwrite(d, s->buf->data + start, full_end - start, base + start)) < 0)
		return log_fail(lg, err);
	if (tail && to > full_end) {
		_Alignas(IO_ALIGN) uint8_t blk[IO_ALIGN];
		memcpy(blk, s->buf->data + full_end, to - full_end);
		memset(blk + (to - full_end), 0, IO_ALIGN - (to - full_end));
		if ((err = io_pwrite(d, blk, IO_ALIGN, base + full_end)) < 0)
			return log_fail(lg, err);
	}
	__atomic_store_n(&lg->dev_dirty[s->dev], true, __ATOMIC_RELEASE);
	__atomic_store_n(&s->written, tail ? to : SO_MAX(full_end, written), __ATOMIC_RELAXED);
	return 0;
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

	/* Sealed segments first: they are older than the open one. */
	for (int i = 0; i < nsealed && err == 0; i++) {
		struct log_seg *s = sealed[i]->seg;
		if ((err = write_range(lg, s, s->fill, true)) == 0)
			detach_buf(lg, ls, sealed[i]);
	}
	if (err == 0 && open)
		err = write_range(lg, open, target, tail);
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
	 * Keep one READY segment for user writes so opening one never waits for
	 * a sync. HOT keeps it; WARM takes it when it needs one (log_reserve).
	 */
	struct log_stream *hot = &lg->streams[LOG_HOT];
	pthread_mutex_lock(&lg->mu);
	bool want = hot->ready == NULL && lg->freeq_len > LOG_RESERVE_SEGS && !lg->hot_preparing;
	/* Writers that find no free segment meanwhile wait for this one (log_space_wait). */
	if (want)
		lg->hot_preparing = true;
	pthread_mutex_unlock(&lg->mu);
	if (want) {
		struct log_seg *s = NULL;
		bool ok = prepare_seg(lg, LOG_HOT, false, &s) == 0;
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
		did = ok;
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
		int err = write_header(lg, &tmp, SEGHDR_F_ERASED);
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
			summary_reset_locked(s);
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
				summary_reset_locked(s);
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

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

int log_read(struct so_log *lg, uint64_t addr16, uint32_t maxlen, uint8_t *bounce, const uint8_t **rec)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	if (!s)
		return so_err(SWAPOBJ_ECORRUPT, "record address %llu is beyond the store",
		              (unsigned long long)(addr16 * ADDR_UNIT));
	uint64_t off = log_seg_off(lg, addr16);
	uint32_t len = (uint32_t)SO_MIN((uint64_t)maxlen, lg->seg_size - off);
	pthread_rwlock_rdlock(&lg->buf_lock);
	if (s->buf) {
		memcpy(bounce, s->buf->data + off, len);
		pthread_rwlock_unlock(&lg->buf_lock);
		*rec = bounce;
		return 0;
	}
	pthread_rwlock_unlock(&lg->buf_lock);
	uint64_t start = SO_ROUND_DOWN(off, IO_ALIGN);
	uint64_t end = SO_MIN(SO_ROUND_UP(off + len, IO_ALIGN), (uint64_t)lg->seg_size);
	int err = io_pread(&lg->devs[s->dev], bounce, end - start, log_seg_devoff(lg, s) + start);
	if (err < 0)
		return err;
	*rec = bounce + (off - start);
	return 0;
}

int log_zap(struct so_log *lg, uint64_t addr16)
{
	_Alignas(IO_ALIGN) uint8_t blk[2 * IO_ALIGN];
	struct log_seg *s = log_seg_of(lg, addr16);
	if (!s || s->buf)
		return so_err(SWAPOBJ_EINVAL, "cannot retire a record of an open segment");
	uint64_t off = log_seg_off(lg, addr16), start = SO_ROUND_DOWN(off, IO_ALIGN);
	struct io_dev *d = &lg->devs[s->dev];
	int err = io_pread(d, blk, IO_ALIGN, log_seg_devoff(lg, s) + start);
	if (err < 0)
		return err;
	so_put_le32(blk + (off - start) + RH_MAGIC, 0); /* 16-byte aligned records: the magic is within the block */
	if ((err = io_pwrite(d, blk, IO_ALIGN, log_seg_devoff(lg, s) + start)) < 0)
		return log_fail(lg, err);
	__atomic_store_n(&lg->dev_dirty[s->dev], true, __ATOMIC_RELEASE);
	return 0;
}

int log_sync_devices(struct so_log *lg)
{
	int err = 0;
	for (unsigned d = 0; d < lg->ndevs && err == 0; d++)
		if (__atomic_exchange_n(&lg->dev_dirty[d], false, __ATOMIC_ACQ_REL) &&
		    (err = io_sync(&lg->devs[d])) < 0)
			err = log_fail(lg, err);
	return err;
}

int log_read_seg(struct so_log *lg, struct log_seg *s, uint8_t *buf, uint64_t len)
{
	len = SO_MIN(SO_ROUND_UP(len, IO_ALIGN), (uint64_t)lg->seg_size);
	pthread_rwlock_rdlock(&lg->buf_lock);
	if (s->buf) {
		memcpy(buf, s->buf->data, len);
		pthread_rwlock_unlock(&lg->buf_lock);
		return 0;
	}
	pthread_rwlock_unlock(&lg->buf_lock);
	return io_pread(&lg->devs[s->dev], buf, len, log_seg_devoff(lg, s));
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
