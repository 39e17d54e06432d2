/*
 * log_dev.c - the log's devices: format, open and close, the sticky error, and
 * reads of records and segments.
 *
 * The log's invariants and locking order: log_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "log_int.h"
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
	if (opts->version != SWAPOBJ_FORMAT_OPTS_VERSION && opts->version != 1)
		return so_err(SWAPOBJ_EINVAL, "format options version %u unknown (use SWAPOBJ_FORMAT_OPTS_INIT)",
		              opts->version);
	/* Version 1 callers' struct ends before layout. */
	unsigned layout = opts->version >= 2 ? opts->layout : SWAPOBJ_LAYOUT_DEFAULT;
	if (layout > SWAPOBJ_LAYOUT_SPLIT)
		return so_err(SWAPOBJ_EINVAL, "unknown segment layout %u", layout);
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
		sb.incompat = layout == SWAPOBJ_LAYOUT_CLASSIC ? 0 : SB_INCOMPAT_SPLIT;
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
	pthread_mutex_init(&lg->csum_mu, NULL);
	for (unsigned d = 0; d < lg->ndevs; d++)
		lg->split |= (lg->sbs[d].incompat & SB_INCOMPAT_SPLIT) != 0;
	for (int i = 0; i < LOG_NSTREAMS; i++) {
		pthread_mutex_init(&lg->streams[i].mu, NULL);
		pthread_cond_init(&lg->streams[i].cv, NULL);
		pthread_mutex_init(&lg->streams[i].flush_mu, NULL);
		if (!(lg->streams[i].wo_plan = log_wo_plan_alloc())) {
			err = so_err(SWAPOBJ_ENOMEM, "out of memory for write-out plans");
			goto fail_lg;
		}
	}
	lg->next_seq = 1;
	lg->next_gen = 1;
	lg->ckpt_keep_seq = UINT64_MAX;
	lg->ckpt_body = log_ckpt_per(lg);
	lg->usable = log_usable(lg);
	if (lg->split && (err = log_csum_alloc_all(lg)) < 0)
		goto fail_lg;
	so_free_aligned(SO_MEM_OTHER, blk, 2 * SO_SB_SIZE);
	return 0;

fail_lg:
	for (int i = 0; i < LOG_NSTREAMS; i++) {
		log_wo_plan_free(lg->streams[i].wo_plan);
		lg->streams[i].wo_plan = NULL;
	}
	for (uint64_t i = 0; lg->segs && i < lg->nsegs; i++)
		log_csum_drop(lg, &lg->segs[i]);
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

int log_upgrade_split(struct so_log *lg)
{
	_Alignas(IO_ALIGN) uint8_t blk[2 * SO_SB_SIZE];
	int err = 0;
	/*
	 * Every device gets the bit (both copies) and is synced before any split
	 * segment is written: a release that predates the layout checks each
	 * device's superblock, so one marked device is enough for it to refuse
	 * the store, and a crash part way through leaves a store this library
	 * opens (and marks the rest of) the next time.
	 */
	for (unsigned d = 0; d < lg->ndevs && err == 0; d++) {
		struct sb_info sb = lg->sbs[d];
		sb.incompat |= SB_INCOMPAT_SPLIT;
		memset(blk, 0, sizeof(blk));
		sb_encode(blk, &sb);
		memcpy(blk + SO_SB_SIZE, blk, SO_SB_SIZE);
		if ((err = io_pwrite(&lg->devs[d], blk, 2 * SO_SB_SIZE, 0)) == 0 && (err = io_sync(&lg->devs[d])) == 0)
			lg->sbs[d] = sb;
	}
	if (err < 0)
		return err;
	lg->split = true;
	lg->usable = log_usable(lg);
	return log_csum_alloc_all(lg);
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
		log_wo_plan_free(ls->wo_plan);
		ls->wo_plan = NULL;
	}
	for (uint64_t i = 0; i < lg->nsegs; i++)
		log_csum_drop(lg, &lg->segs[i]);
	so_free_aligned(SO_MEM_BUFFER, lg->csum_scratch, lg->seg_size);
	lg->csum_scratch = NULL;
	pthread_mutex_destroy(&lg->csum_mu);
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
void log_cv_wait_timed(pthread_cond_t *cv, pthread_mutex_t *mu)
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

int log_check_readable(struct so_log *lg)
{
	if (lg->lost_regions)
		return so_err(
		    SWAPOBJ_ECORRUPT,
		    "%llu region(s) of the log lost both copies of their records: which pages they updated is "
		    "unknown, so no page is served (run swapobj-fsck)",
		    (unsigned long long)lg->lost_regions);
	return 0;
}

int log_check_writable(struct so_log *lg)
{
	if (lg->lost_regions)
		return so_err(SWAPOBJ_EROFS,
		              "store is read-only: %llu region(s) of the log lost both copies of their "
		              "records (run swapobj-fsck)",
		              (unsigned long long)lg->lost_regions);
	if (lg->rdonly)
		return so_err(SWAPOBJ_EROFS, "store was opened read-only");
	int e = __atomic_load_n(&lg->sticky_err, __ATOMIC_ACQUIRE);
	if (e)
		return so_err(SWAPOBJ_EROFS, "store turned read-only after an earlier failure (%s)",
		              swapobj_strerror(e));
	return 0;
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

int log_read_many(struct so_log *lg, struct log_rd *v, unsigned n)
{
	struct io_req reqs[LOG_READ_MANY_MAX];
	unsigned idx[LOG_READ_MANY_MAX], nreq = 0, failed = 0;
	if (n > LOG_READ_MANY_MAX)
		return so_err(SWAPOBJ_EINVAL, "%u reads in one call (at most %u)", n, LOG_READ_MANY_MAX);
	/* Records still in a buffer are copied now; the rest become one batch of device reads. */
	for (unsigned i = 0; i < n; i++) {
		struct log_seg *s = log_seg_of(lg, v[i].addr16);
		v[i].res = 0;
		if (!s) {
			v[i].res = so_err(SWAPOBJ_ECORRUPT, "record address %llu is beyond the store",
			                  (unsigned long long)(v[i].addr16 * ADDR_UNIT));
			failed++;
			continue;
		}
		uint64_t off = log_seg_off(lg, v[i].addr16);
		uint32_t len = (uint32_t)SO_MIN((uint64_t)v[i].len, lg->seg_size - off);
		pthread_rwlock_rdlock(&lg->buf_lock);
		if (s->buf) {
			memcpy(v[i].bounce, s->buf->data + off, len);
			pthread_rwlock_unlock(&lg->buf_lock);
			v[i].rec = v[i].bounce;
			continue;
		}
		pthread_rwlock_unlock(&lg->buf_lock);
		uint64_t start = SO_ROUND_DOWN(off, IO_ALIGN);
		uint64_t end = SO_MIN(SO_ROUND_UP(off + len, IO_ALIGN), (uint64_t)lg->seg_size);
		reqs[nreq] = (struct io_req){&lg->devs[s->dev],
		                             v[i].bounce,
		                             (uint32_t)(end - start),
		                             IO_OP_READ,
		                             log_seg_devoff(lg, s) + start,
		                             0};
		v[i].rec = v[i].bounce + (off - start);
		idx[nreq++] = i;
	}
	if (nreq)
		io_batch(reqs, nreq);
	for (unsigned k = 0; k < nreq; k++)
		if ((v[idx[k]].res = reqs[k].res) < 0)
			failed++;
	return (int)failed;
}

static int zap_one(struct so_log *lg, struct log_seg *s, uint64_t off)
{
	_Alignas(IO_ALIGN) uint8_t blk[IO_ALIGN];
	uint64_t start = SO_ROUND_DOWN(off, IO_ALIGN);
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

int log_zap(struct so_log *lg, uint64_t addr16)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	if (!s || s->buf)
		return so_err(SWAPOBJ_EINVAL, "cannot retire a record of an open segment");
	uint64_t off = log_seg_off(lg, addr16);
	int err = zap_one(lg, s, off);
	if (err == 0 && s->split) {
		/* Both copies of the stream: addr16 may name either (the one replay found). */
		uint64_t pos_in_pair = (off / IO_ALIGN - SPLIT_HDR_BLOCKS) % 2; /* 0: copy A, 1: copy B */
		err = zap_one(lg, s, pos_in_pair ? off - IO_ALIGN : SEG_COPY_B(off));
	}
	return err;
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
	len = s->split ? lg->seg_size : SO_MIN(SO_ROUND_UP(len, IO_ALIGN), (uint64_t)lg->seg_size);
	pthread_rwlock_rdlock(&lg->buf_lock);
	if (s->buf) {
		memcpy(buf, s->buf->data, len);
		pthread_rwlock_unlock(&lg->buf_lock);
		return 0;
	}
	pthread_rwlock_unlock(&lg->buf_lock);
	return io_pread(&lg->devs[s->dev], buf, len, log_seg_devoff(lg, s));
}

/* ------------------------------------------------------------------ */
/* Page checks of split segments                                       */
/* ------------------------------------------------------------------ */

/*
 * Read s's record stream up to csum_upto, both copies (one contiguous read:
 * the pairs of blocks from the end of the segment down), and note the
 * check of every out-of-line page; the data area is not read. Both copies,
 * not just A: a record written by a flush a power cut tore may exist in
 * one copy only, and replay accepts it if it is intact. A page whose
 * record is illegible in both stays unknown, and reads of it report
 * corruption.
 */
static int csum_fill(struct so_log *lg, struct log_seg *s)
{
	uint64_t fill = s->csum_upto ? s->csum_upto : seg_stream_start();
	uint64_t lo = seg_phys(lg->seg_size, true, SO_ROUND_DOWN(fill - 1, SO_BLOCK));
	uint8_t *img = lg->csum_scratch;
	int err;
	if (!s->csum && (err = log_csum_alloc(lg, s)) < 0)
		return err;
	struct io_req req = {&lg->devs[s->dev],          img + lo, (uint32_t)(lg->seg_size - lo), IO_OP_READ,
	                     log_seg_devoff(lg, s) + lo, 0};
	if ((err = io_batch(&req, 1)) < 0 || (err = req.res) < 0)
		return err;
	struct seg_img si = {img, lg->seg_size, lg->seed, true, 0, s->gen};
	struct rec r;
	for (uint64_t pos = seg_stream_start(); pos + REC_HDR_LEN <= fill;) {
		uint32_t sz;
		uint64_t phys;
		int copy;
		/* Headers only: the payloads are not read (their checksums are in the headers). */
		enum rec_verdict v = seg_rec_at(&si, pos, false, &r, &sz, &phys, &copy);
		if (v != REC_OK || r.seg_gen != s->gen) {
			pos += REC_ALIGN;
			continue;
		}
		if (r.type == REC_DATA && r.hdr_len == REC_OOL_HDR_LEN && r.doff + SO_BLOCK <= lg->seg_size)
			log_csum_set(s, r.doff, log_page_check(r.csum, r.oid, r.lpos));
		pos += sz;
	}
	return 0;
}

int log_csum_load(struct so_log *lg, struct log_seg *s)
{
	if (__atomic_load_n(&s->csum_ok, __ATOMIC_ACQUIRE))
		return 0;
	int err = 0;
	pthread_mutex_lock(&lg->csum_mu);
	if (!__atomic_load_n(&s->csum_ok, __ATOMIC_ACQUIRE)) {
		if (!lg->csum_scratch && !(lg->csum_scratch = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size)))
			err = so_err(SWAPOBJ_ENOMEM, "out of memory for a segment buffer");
		if (err == 0 && (err = csum_fill(lg, s)) == 0)
			__atomic_store_n(&s->csum_ok, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lg->csum_mu);
	return err;
}

int log_page_verify(struct so_log *lg, uint64_t addr16, const uint8_t *page, uint64_t oid, uint64_t lpos)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	uint64_t off = log_seg_off(lg, addr16);
	int err;
	if (!s || !s->split || off % SO_BLOCK || off < SPLIT_HDR_BLOCKS * SO_BLOCK)
		return so_err(SWAPOBJ_ECORRUPT, "page address %llu is not a page of a split segment",
		              (unsigned long long)(addr16 * ADDR_UNIT));
	if ((err = log_csum_load(lg, s)) < 0)
		return err;
	if (!s->csum)
		return so_err(SWAPOBJ_ECORRUPT, "segment %u: split layout in a store without the split feature",
		              s->segno);
	uint32_t want = __atomic_load_n(&s->csum[off / SO_BLOCK], __ATOMIC_RELAXED);
	uint32_t got = log_page_check(XXH3_64bits_withSeed(page, SO_BLOCK, lg->seed), oid, lpos);
	if (want == 0)
		return so_err(SWAPOBJ_ECORRUPT,
		              "%s: segment %u offset %llu: no intact record of this page (both copies damaged)",
		              lg->devs[s->dev].path, s->segno, (unsigned long long)off);
	if (want != got)
		return so_err(SWAPOBJ_ECORRUPT,
		              "%s: segment %u offset %llu (device offset %llu): page checksum mismatch",
		              lg->devs[s->dev].path, s->segno, (unsigned long long)off,
		              (unsigned long long)(log_seg_devoff(lg, s) + off));
	return 0;
}

enum rec_verdict log_read_rec(struct so_log *lg, uint64_t addr16, uint32_t maxlen, uint8_t *bounce, bool verify,
                              struct rec *out, uint32_t *size, int *err)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	const uint8_t *p;
	*err = 0;
	if (!s) {
		*err = so_err(SWAPOBJ_ECORRUPT, "record address %llu is beyond the store",
		              (unsigned long long)(addr16 * ADDR_UNIT));
		return REC_TRUNCATED;
	}
	if (!s->split) {
		if ((*err = log_read(lg, addr16, maxlen, bounce, &p)) < 0)
			return REC_TRUNCATED;
		return rec_decode(p, maxlen, lg->seed, verify, out, size);
	}
	/* Split: the header in the stream (copy A, else B), then an out-of-line payload from the data area. */
	uint64_t off = log_seg_off(lg, addr16), in = off % IO_ALIGN;
	enum rec_verdict v = REC_TRUNCATED;
	for (int c = 0; c < 2; c++) {
		uint64_t a = c ? SEG_COPY_B(off) : off;
		if ((*err = log_read(lg, log_addr16(lg, s->segno, a), IO_ALIGN - (uint32_t)in, bounce, &p)) < 0)
			return REC_TRUNCATED;
		v = rec_decode(p, SPLIT_SECTOR - in % SPLIT_SECTOR, lg->seed, verify, out, size);
		if (v == REC_OK || v == REC_OOL)
			break;
	}
	if (v != REC_OOL)
		return v;
	uint8_t *pl = bounce + 2 * IO_ALIGN;
	uint64_t below = SO_ROUND_DOWN(off, (uint64_t)IO_ALIGN); /* payloads lie below their header's block */
	if (out->payload_len > maxlen || out->doff < SPLIT_HDR_BLOCKS * IO_ALIGN || out->doff > below ||
	    out->payload_len > below - out->doff)
		return REC_BAD_HEADER;
	if ((*err = log_read(lg, log_addr16(lg, s->segno, out->doff), out->payload_len ? out->payload_len : 1, pl,
	                     &p)) < 0)
		return REC_TRUNCATED;
	return rec_ool_payload(out, p, verify, lg->seed);
}

/* Records of generation gen that decode in a sector of the stream (headers only). */
static unsigned sector_records(const struct so_log *lg, const uint8_t *sec, uint32_t gen)
{
	unsigned n = 0;
	for (uint32_t o = 0; o + REC_HDR_LEN <= SPLIT_SECTOR;) {
		struct rec r;
		uint32_t sz;
		enum rec_verdict v = rec_decode(sec + o, SPLIT_SECTOR - o, lg->seed, false, &r, &sz);
		if ((v == REC_OK || v == REC_OOL) && r.seg_gen == gen) {
			n++;
			o += sz;
		} else {
			o += REC_ALIGN;
		}
	}
	return n;
}

int log_resync_block(struct so_log *lg, struct log_seg *s, uint64_t lblock)
{
	_Alignas(IO_ALIGN) uint8_t pair[2 * IO_ALIGN];
	uint64_t a = seg_phys(lg->seg_size, true, lblock * SO_BLOCK);
	struct io_dev *d = &lg->devs[s->dev];
	int err;
	if (a < SPLIT_HDR_BLOCKS * SO_BLOCK || a + 2 * IO_ALIGN > lg->seg_size)
		return 0;
	if ((err = io_pread(d, pair, sizeof(pair), log_seg_devoff(lg, s) + a)) < 0)
		return err;
	/*
	 * Sector by sector (records never cross one, and a torn write leaves
	 * each sector old or new): the copy with more records of this use wins
	 * (its newer version), then both copies get it. A crash part way leaves
	 * each sector old or merged, which loses nothing.
	 */
	bool changed = false;
	for (uint32_t o = 0; o < IO_ALIGN; o += SPLIT_SECTOR) {
		uint8_t *sa = pair + o, *sb = pair + IO_ALIGN + o;
		if (memcmp(sa, sb, SPLIT_SECTOR) == 0)
			continue;
		changed = true;
		if (sector_records(lg, sb, s->gen) > sector_records(lg, sa, s->gen))
			memcpy(sa, sb, SPLIT_SECTOR);
		else
			memcpy(sb, sa, SPLIT_SECTOR);
	}
	if (!changed)
		return 0;
	if ((err = io_pwrite(d, pair, sizeof(pair), log_seg_devoff(lg, s) + a)) < 0)
		return log_fail(lg, err);
	__atomic_store_n(&lg->dev_dirty[s->dev], true, __ATOMIC_RELEASE);
	return 0;
}
