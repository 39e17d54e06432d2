/*
 * fsck.c - the store checker: driver, superblocks, log scan, repairs.
 *
 * The checker reads the devices itself, through the format decoders, and
 * trusts nothing the library computes; the library's own view of the store
 * (swapobj_store_open) is only the thing being checked (fsck_model.c).
 *
 * Phases (fsck_run):
 *   1. superblocks: open every device (read-only for a check, read-write for
 *      a repair; locked like the library locks them, so a store in use is
 *      refused with EBUSY), decode both copies, compare the devices;
 *   2. checkpoints (fsck_ckpt.c);
 *   3. log scan: every segment, by a reader thread that keeps the next
 *      segments' reads in flight while this thread verifies (checksums are
 *      most of the CPU); meanwhile, for a check, a second thread opens the
 *      store read-only so the library's replay overlaps with the scan;
 *   4. verdicts that need the whole log (the durable point), the model and
 *      its comparison with the library's index (fsck_model.c);
 *   5. repair (FSCK_REPAIR): the planned writes, then, for what only the
 *      library can fix (pages whose only copy is damaged, clashing keys),
 *      a read-write open that punches those pages and settles the keys.
 *
 * How each kind of damage is read (the scan mirrors replay, FORMAT.md):
 *  - record header checksum fails, or bytes that are no record sit where a
 *    record should start while valid records of the segment's generation
 *    follow: a damaged region. Replay skips it, so whatever it held is gone
 *    from the index; its header fields, when legible, name what it was.
 *  - the same where nothing valid follows: the end of the segment's records,
 *    unless the bytes there still look like a record of this use (magic
 *    present, or a header that checks out once the magic is restored).
 *  - payload checksum fails: the header is trusted. Past the durable point
 *    (the highest durable_seq of the SYNC records) it is a write torn by a
 *    crash, never acknowledged (a warning); before it, media damage: for a
 *    DATA record that a live page maps to, reads of the page fail; for any
 *    other record replay ignores it, which undoes what it did.
 *  - a segment header that does not decode while the segment's block 0
 *    still shows it was in use: the whole segment is skipped by replay.
 * A single flipped bit in any record or superblock is therefore reported.
 *
 * Repairs drop what is damaged and nothing else:
 *  - a bad superblock copy is rewritten from the good one;
 *  - a record intact but for one flipped bit in its magic, header checksum
 *    or payload checksum is restored (one_bit_off);
 *  - a damaged record or region is retired: its magic is cleared (replay,
 *    the cleaner and a later check then skip it as they skip torn writes);
 *  - a live page whose record is damaged is punched (a PUNCH record through
 *    the library: reads return zeros instead of an error), then its record
 *    is retired; each such page is reported;
 *  - a damaged segment header is rebuilt from the generation its records
 *    carry when the damaged header still names that generation, else
 *    retired (its records are then reported lost);
 *  - non-zero padding is zeroed.
 */
#include "fsck.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

#define RD_NBUF 3                  /* segment buffers of the reader thread */
#define RD_AHEAD_BYTES (32u << 20) /* buffered reads: asked for ahead of the segment being read */

/* ------------------------------------------------------------------ */
/* Names, problems                                                     */
/* ------------------------------------------------------------------ */

const char *fsck_kind_name(enum fsck_kind k)
{
	static const char *const names[] = {
	    [FSCK_SB_BAD] = "superblock",
	    [FSCK_SB_DIFFER] = "superblock-copies",
	    [FSCK_SB_TAIL] = "superblock-tail",
	    [FSCK_SEGHDR] = "segment-header",
	    [FSCK_REC_HEADER] = "record-header",
	    [FSCK_REC_PAYLOAD] = "record-payload",
	    [FSCK_REC_TORN] = "torn-write",
	    [FSCK_REC_DEAD] = "dead-record-damaged",
	    [FSCK_REC_PADDING] = "record-padding",
	    [FSCK_REC_MALFORMED] = "record-malformed",
	    [FSCK_PAGE_DAMAGED] = "page-damaged",
	    [FSCK_KEY_CONFLICT] = "key-conflict",
	    [FSCK_INDEX] = "index",
	    [FSCK_USAGE] = "usage",
	    [FSCK_COUNTS] = "counts",
	    [FSCK_OPEN] = "open",
	    [FSCK_CHECKPOINT] = "checkpoint",
	};
	return (unsigned)k < SO_ARRAY_SIZE(names) && names[k] ? names[k] : "?";
}

const char *fsck_sev_name(enum fsck_sev s)
{
	return s == FSCK_ERROR ? "error" : s == FSCK_WARN ? "warning" : "info";
}

const char *fsck_type_name(int type)
{
	static const char *const names[] = {"?",      "SEGHDR",     "DATA", "CREATE", "PUNCH",  "TRUNCATE",
	                                    "DELETE", "INVALIDATE", "SYNC", "AUX",    "RENAME", "CKPT"};
	return type >= 0 && (unsigned)type < SO_ARRAY_SIZE(names) ? names[type] : "?";
}

int fsck_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 256, bytes;
	if (!so_mul_ok(ncap, elem, &bytes))
		return so_err(SWAPOBJ_ENOMEM, "fsck table overflow");
	void *p = so_realloc(SO_MEM_OTHER, *arr, bytes);
	if (!p)
		return so_err(SWAPOBJ_ENOMEM, "out of memory checking the store (%zu entries)", n);
	*arr = p;
	*cap = ncap;
	return 0;
}

static uint64_t report_v(struct fsck *f, enum fsck_kind kind, enum fsck_sev sev, int dev, int64_t segno, uint64_t off,
                         int type, uint64_t oid, uint64_t seq, uint64_t lpos, const char *fmt, va_list ap)
{
	struct fsck_result *res = f->res;
	if (sev == FSCK_ERROR)
		res->errors++;
	else if (sev == FSCK_WARN)
		res->warnings++;
	else
		res->infos++;
	if (res->nproblems >= FSCK_MAX_PROBLEMS) {
		res->problems_dropped++;
		return UINT64_MAX;
	}
	if (res->nproblems == res->problems_cap) {
		uint64_t ncap = res->problems_cap ? 2 * res->problems_cap : 16;
		void *p = realloc(res->problems, ncap * sizeof(*res->problems));
		if (!p) {
			res->problems_dropped++;
			return UINT64_MAX;
		}
		res->problems = p;
		res->problems_cap = ncap;
	}
	struct fsck_problem *p = &res->problems[res->nproblems];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->sev = sev;
	p->dev = dev;
	p->segno = segno;
	p->off = off;
	p->type = type;
	p->oid = oid;
	p->seq = seq;
	p->lpos = lpos;
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	return res->nproblems++;
}

uint64_t fsck_report(struct fsck *f, enum fsck_kind kind, enum fsck_sev sev, int dev, int64_t segno, uint64_t off,
                     int type, uint64_t oid, uint64_t seq, uint64_t lpos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	uint64_t t = report_v(f, kind, sev, dev, segno, off, type, oid, seq, lpos, fmt, ap);
	va_end(ap);
	return t;
}

unsigned fsck_dev_of(const struct fsck *f, uint32_t segno)
{
	for (unsigned d = 0; d < f->ndevs; d++)
		if (segno >= f->devs[d].sb.seg_base && segno - f->devs[d].sb.seg_base < f->devs[d].sb.nsegs)
			return d;
	return 0;
}

uint64_t fsck_report_at(struct fsck *f, enum fsck_kind kind, enum fsck_sev sev, uint64_t addr16, int type, uint64_t oid,
                        uint64_t seq, uint64_t lpos, const char *fmt, ...)
{
	va_list ap;
	uint32_t segno = fsck_segno_of(f, addr16);
	va_start(ap, fmt);
	uint64_t t = report_v(f, kind, sev, (int)fsck_dev_of(f, segno), segno, fsck_segoff_of(f, addr16), type, oid,
	                      seq, lpos, fmt, ap);
	va_end(ap);
	return t;
}

void fsck_fixed(struct fsck *f, uint64_t ticket, enum fsck_sev sev)
{
	if (ticket < f->res->nproblems) {
		if (f->res->problems[ticket].fixed)
			return;
		f->res->problems[ticket].fixed = true;
	}
	if (sev == FSCK_ERROR)
		f->res->fixed_errors++;
	else if (sev == FSCK_WARN)
		f->res->fixed_warnings++;
}

void fsck_progress(struct fsck *f, const char *phase, uint64_t done, uint64_t total)
{
	if (f->opts.progress)
		f->opts.progress(f->opts.progress_ctx, phase, done, total);
}

int fsck_plan(struct fsck *f, const struct fsck_action *a)
{
	int err;
	if (!f->repair)
		return 0;
	if ((err = fsck_grow((void **)&f->acts, &f->capacts, f->nacts, sizeof(*f->acts))) < 0)
		return err;
	f->acts[f->nacts++] = *a;
	return 0;
}

static int plan_zap(struct fsck *f, uint64_t addr16, uint64_t ticket, enum fsck_sev sev)
{
	struct fsck_action a = {0};
	a.kind = ACT_ZAP;
	a.addr16 = addr16;
	a.ticket = ticket;
	a.sev = (uint8_t)sev;
	return fsck_plan(f, &a);
}

/* ------------------------------------------------------------------ */
/* Devices and superblocks                                             */
/* ------------------------------------------------------------------ */

uint64_t fsck_seg_devoff(const struct fsck *f, uint32_t segno, unsigned *dev)
{
	unsigned d = fsck_dev_of(f, segno);
	*dev = d;
	return f->devs[d].sb.data_start + (uint64_t)(segno - f->devs[d].sb.seg_base) * f->seg_size;
}

static void close_devs(struct fsck *f)
{
	for (unsigned i = 0; i < f->ndevs; i++)
		if (f->devs[i].open) {
			io_close(&f->devs[i].io);
			f->devs[i].open = false;
		}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Open every device, read and decode both superblock copies, order the devices by index. */
static int check_superblocks(struct fsck *f)
{
	int err = 0;
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		d->path = f->paths[i];
		if (!d->path)
			return so_err(SWAPOBJ_EINVAL, "device path %u is NULL", i);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(f->paths[j], d->path) == 0)
				return so_err(SWAPOBJ_EINVAL, "device %s given twice", d->path);
		if ((err = io_open(&d->io, d->path, !f->rw, false, !(f->opts.flags & FSCK_DIRECT), true)) < 0)
			return err;
		d->open = true;
		d->raw = so_alloc_aligned(SO_MEM_OTHER, SO_SB_COPIES * SO_SB_SIZE);
		if (!d->raw)
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		if (d->io.size < SO_SB_COPIES * SO_SB_SIZE)
			return so_err(SWAPOBJ_EFORMAT, "%s: %llu bytes is too small to be a swapobj store device",
			              d->path, (unsigned long long)d->io.size);
		if ((err = io_pread(&d->io, d->raw, SO_SB_COPIES * SO_SB_SIZE, 0)) < 0)
			return so_err_ctx(err, "%s: cannot read the superblocks", d->path);
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			struct sb_info tmp;
			d->sb_ok[c] = sb_decode(d->raw + c * SO_SB_SIZE, SO_SB_SIZE, &tmp) == 0;
			snprintf(d->sb_msg[c], sizeof(d->sb_msg[c]), "%s", d->sb_ok[c] ? "ok" : swapobj_errmsg());
			if (d->sb_ok[c] && (c == 0 || !d->sb_ok[0]))
				d->sb = tmp;
		}
		if (!d->sb_ok[0] && !d->sb_ok[1])
			return so_err(SWAPOBJ_EFORMAT,
			              "%s: not a usable swapobj store device: superblock copy 0: %s; copy 1: %s",
			              d->path, d->sb_msg[0], d->sb_msg[1]);
		if (d->sb.ro_compat && f->rw)
			return so_err(
			    SWAPOBJ_EFORMAT,
			    "%s: unknown read-only-compatible features 0x%llx: this version may check (-n) but not "
			    "repair the store",
			    d->path, (unsigned long long)d->sb.ro_compat);
	}
	/* The devices of one store: the same checks as the library's open. */
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		if (d->sb.ndevs != f->ndevs)
			return so_err(SWAPOBJ_EFORMAT, "%s belongs to a store of %u devices, %u given", d->path,
			              d->sb.ndevs, f->ndevs);
		if (memcmp(d->sb.uuid, f->devs[0].sb.uuid, 16) || d->sb.seg_size != f->devs[0].sb.seg_size ||
		    d->sb.total_segs != f->devs[0].sb.total_segs)
			return so_err(SWAPOBJ_EFORMAT, "%s and %s are not devices of the same store", f->devs[0].path,
			              d->path);
		for (unsigned j = 0; j < i; j++)
			if (f->devs[j].sb.dev_index == d->sb.dev_index)
				return so_err(SWAPOBJ_EFORMAT, "%s and %s are the same device index %u",
				              f->devs[j].path, d->path, d->sb.dev_index);
		if (d->io.size < d->sb.dev_bytes)
			return so_err(SWAPOBJ_EFORMAT, "%s is truncated: %llu bytes, the store needs %llu", d->path,
			              (unsigned long long)d->io.size, (unsigned long long)d->sb.dev_bytes);
	}
	/* Device-index order, as the store numbers its segments. */
	for (unsigned i = 0; i < f->ndevs; i++)
		for (unsigned j = i + 1; j < f->ndevs; j++)
			if (f->devs[j].sb.dev_index < f->devs[i].sb.dev_index) {
				struct fsck_dev t = f->devs[i];
				f->devs[i] = f->devs[j];
				f->devs[j] = t;
			}
	uint64_t base = 0;
	for (unsigned i = 0; i < f->ndevs; i++) {
		if (f->devs[i].sb.seg_base != base)
			return so_err(SWAPOBJ_EFORMAT, "%s: segment base %u, expected %llu", f->devs[i].path,
			              f->devs[i].sb.seg_base, (unsigned long long)base);
		base += f->devs[i].sb.nsegs;
	}
	if (base != f->devs[0].sb.total_segs)
		return so_err(SWAPOBJ_EFORMAT, "devices hold %llu segments, superblock says %llu",
		              (unsigned long long)base, (unsigned long long)f->devs[0].sb.total_segs);
	memcpy(f->uuid, f->devs[0].sb.uuid, 16);
	f->seed = store_seed(f->uuid);
	f->seg_size = f->devs[0].sb.seg_size;
	f->seg_shift = (uint32_t)__builtin_ctz(f->seg_size);
	f->nsegs = base;
	f->res->ndevs = f->ndevs;
	f->res->seg_size = f->seg_size;
	f->res->segments = f->nsegs;
	for (unsigned i = 0; i < f->ndevs; i++)
		f->res->store_bytes += f->devs[i].sb.dev_bytes;

	/* Per copy: damaged, different from the other, junk in the unused tail. Then the fixes. */
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		bool rewrite[SO_SB_COPIES] = {false, false};
		uint64_t ticket[SO_SB_COPIES];
		enum fsck_sev sev[SO_SB_COPIES];
		unsigned good = d->sb_ok[0] ? 0 : 1;
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			const uint8_t *blk = d->raw + c * SO_SB_SIZE;
			if (!d->sb_ok[c]) {
				sev[c] = FSCK_ERROR;
				ticket[c] = fsck_report(f, FSCK_SB_BAD, sev[c], (int)i, -1, c * SO_SB_SIZE, 0, 0, 0, 0,
				                        "%s: superblock copy %u: %s", d->path, c, d->sb_msg[c]);
				rewrite[c] = true;
			} else if (c != good && memcmp(blk, d->raw + good * SO_SB_SIZE, SO_SB_USED) != 0) {
				sev[c] = FSCK_ERROR;
				ticket[c] =
				    fsck_report(f, FSCK_SB_DIFFER, sev[c], (int)i, -1, c * SO_SB_SIZE, 0, 0, 0, 0,
				                "%s: superblock copies 0 and 1 differ (both checksums match); copy 0 "
				                "is the one used",
				                d->path);
				rewrite[c] = true;
			} else if (!all_zero(blk + SO_SB_USED, SO_SB_SIZE - SO_SB_USED)) {
				sev[c] = FSCK_WARN;
				ticket[c] = fsck_report(
				    f, FSCK_SB_TAIL, sev[c], (int)i, -1, c * SO_SB_SIZE + SO_SB_USED, 0, 0, 0, 0,
				    "%s: superblock copy %u: non-zero bytes after the superblock (unused, "
				    "should be zero)",
				    d->path, c);
				rewrite[c] = true;
			}
		}
		if (!f->repair)
			continue;
		for (unsigned c = 0; c < SO_SB_COPIES; c++) {
			if (!rewrite[c])
				continue;
			uint8_t *blk = d->raw + c * SO_SB_SIZE;
			if (c != good)
				memcpy(blk, d->raw + good * SO_SB_SIZE, SO_SB_USED);
			memset(blk + SO_SB_USED, 0, SO_SB_SIZE - SO_SB_USED);
			if ((err = io_pwrite(&d->io, blk, SO_SB_SIZE, (uint64_t)c * SO_SB_SIZE)) < 0 ||
			    (err = io_sync(&d->io)) < 0)
				return so_err_ctx(err, "%s: rewriting superblock copy %u", d->path, c);
			f->res->modified = true;
			fsck_fixed(f, ticket[c], sev[c]);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading segments                                                    */
/* ------------------------------------------------------------------ */

/*
 * Read segment segno into buf: block 0, and the rest only if block 0 is not
 * blank (a never-used segment, or one retired by a repair, costs 4 KiB).
 * *len = bytes read.
 */
static int read_seg(struct fsck *f, struct io_dev *devs, uint32_t segno, uint8_t *buf, uint32_t *len)
{
	unsigned d;
	uint64_t off = fsck_seg_devoff(f, segno, &d);
	if (!devs[d].direct) {
		/*
		 * Buffered: keep the kernel reading about RD_AHEAD_BYTES ahead of us
		 * (many reads in flight, not one), and the library's replay finds
		 * the segments in the page cache.
		 */
		uint32_t ahead = SO_MAX(2u, RD_AHEAD_BYTES / f->seg_size);
		for (uint64_t a = segno ? segno + ahead : 1; a <= segno + ahead && a < f->nsegs; a++) {
			unsigned d2;
			uint64_t off2 = fsck_seg_devoff(f, (uint32_t)a, &d2);
			posix_fadvise(devs[d2].fd, (off_t)off2, f->seg_size, POSIX_FADV_WILLNEED);
		}
	}
	int err = io_pread(&devs[d], buf, IO_ALIGN, off);
	*len = 0;
	if (err < 0)
		return err;
	*len = IO_ALIGN;
	if (so_get_le32(buf + RH_MAGIC) == 0)
		return 0;
	if ((err = io_pread(&devs[d], buf + IO_ALIGN, f->seg_size - IO_ALIGN, off + IO_ALIGN)) < 0)
		return err;
	*len = f->seg_size;
	return 0;
}

struct rd_slot {
	uint8_t *buf;
	uint32_t segno, len;
	int state; /* 0 free, 1 full */
	int err;
	char msg[240];
};

struct reader {
	struct fsck *f;
	struct io_dev devs[SWAPOBJ_MAX_DEVICES]; /* copies of the device handles (same fds) */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rd_slot slot[RD_NBUF];
	unsigned nbuf;
	bool stop, started;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct fsck *f = rd->f;
	for (uint64_t s = 0; s < f->nsegs; s++) {
		struct rd_slot *sl = &rd->slot[s % rd->nbuf];
		pthread_mutex_lock(&rd->mu);
		while (sl->state != 0 && !rd->stop)
			pthread_cond_wait(&rd->cv, &rd->mu);
		bool stop = rd->stop;
		pthread_mutex_unlock(&rd->mu);
		if (stop)
			break;
		sl->segno = (uint32_t)s;
		sl->err = read_seg(f, rd->devs, (uint32_t)s, sl->buf, &sl->len);
		if (sl->err < 0)
			snprintf(sl->msg, sizeof(sl->msg), "%s", swapobj_errmsg());
		pthread_mutex_lock(&rd->mu);
		sl->state = 1;
		pthread_cond_broadcast(&rd->cv);
		pthread_mutex_unlock(&rd->mu);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The log scan                                                        */
/* ------------------------------------------------------------------ */

/* Header checksum of the 64 bytes at p if its magic were intact; fills gen and payload length. */
static bool hdr_restorable(const struct fsck *f, const uint8_t *p, uint32_t *gen, uint32_t *plen)
{
	uint8_t tmp[REC_HDR_LEN];
	memcpy(tmp, p, REC_HDR_LEN);
	so_put_le32(tmp + RH_MAGIC, REC_MAGIC);
	if ((uint32_t)so_hash64(tmp, RH_HDR_CSUM, f->seed) != so_get_le32(tmp + RH_HDR_CSUM))
		return false;
	*gen = so_get_le32(tmp + RH_SEG_GEN);
	*plen = so_get_le32(tmp + RH_PAYLOAD_LEN);
	return true;
}

static struct fsck_rkey rkey_of(const struct rec *r, bool intact)
{
	struct fsck_rkey k = {r->seq, r->oid, r->type == REC_DATA || r->type == REC_PUNCH ? r->lpos : 0, r->type,
	                      intact};
	return k;
}

/* The first valid record of generation gen at or after pos (16-byte steps), as replay finds it; 0 if none. */
static uint64_t resync(const struct fsck *f, const uint8_t *buf, uint32_t len, uint64_t pos, uint32_t gen,
                       struct fsck_rkey *next)
{
	struct rec r;
	uint32_t sz;
	for (; pos + REC_HDR_LEN <= len; pos += REC_ALIGN) {
		if (so_get_le32(buf + pos + RH_MAGIC) != REC_MAGIC || so_get_le32(buf + pos + RH_SEG_GEN) != gen)
			continue;
		enum rec_verdict v = rec_decode(buf + pos, len - pos, f->seed, true, &r, &sz);
		if ((v == REC_OK || v == REC_BAD_CSUM) && r.type != REC_SEGHDR) {
			*next = rkey_of(&r, v == REC_OK);
			return pos;
		}
	}
	return 0;
}

static int add_key(struct fsck *f, const uint8_t *enc, uint32_t len, uint64_t *off)
{
	*off = f->nkeys;
	if (!len)
		return 0;
	if (f->nkeys + len > f->capkeys) {
		uint64_t ncap = SO_MAX(f->capkeys * 2, f->nkeys + len + 4096);
		uint8_t *p = so_realloc(SO_MEM_OTHER, f->keys, ncap);
		if (!p)
			return so_err(SWAPOBJ_ENOMEM, "out of memory for keys");
		f->keys = p;
		f->capkeys = ncap;
	}
	memcpy(f->keys + f->nkeys, enc, len);
	f->nkeys += len;
	return 0;
}

static int add_ent(struct fsck *f, const struct rec *r, uint64_t addr16, bool damaged)
{
	int err = fsck_grow((void **)&f->ents, &f->capents, f->nents, sizeof(*f->ents));
	if (err < 0)
		return err;
	struct fsck_ent *e = &f->ents[f->nents++];
	memset(e, 0, sizeof(*e));
	e->oid = r->oid;
	e->seq = r->seq;
	e->lpos = r->lpos;
	e->addr16 = addr16;
	e->obj_size = r->obj_size;
	e->type = r->type;
	e->flags = r->flags;
	e->damaged = damaged;
	if (r->type == REC_DATA)
		e->len = r->raw_len;
	else if (r->type == REC_PUNCH && !damaged)
		e->len = so_get_le64(r->payload);
	return 0;
}

/* A valid record of a segment's current use: what the model needs of it. */
static int collect(struct fsck *f, const struct rec *r, uint64_t addr16, uint32_t sz)
{
	int err = 0;
	f->max_seq = SO_MAX(f->max_seq, r->seq);
	f->max_oid = SO_MAX(f->max_oid, r->oid);
	switch (r->type) {
	case REC_SYNC:
		f->durable_seq = SO_MAX(f->durable_seq, so_get_le64(r->payload));
		f->gen_hw = SO_MAX(f->gen_hw, so_get_le64(r->payload + 8));
		return 0;
	case REC_CREATE:
	case REC_RENAME: {
		struct name_rec nr;
		uint64_t aux_off;
		if (name_rec_decode(r->payload, r->payload_len, &nr, NULL) < 0)
			return 0; /* cannot happen: rec_decode checked the payload */
		if (r->type == REC_RENAME && r->lpos) {
			/* The object the rename replaced is gone, whatever becomes of the rename (replay's rule). */
			f->max_oid = SO_MAX(f->max_oid, r->lpos);
			if ((err = fsck_grow((void **)&f->deletes, &f->capdeletes, f->ndeletes, sizeof(*f->deletes))) <
			    0)
				return err;
			f->deletes[f->ndeletes++] = r->lpos;
		}
		if ((err = fsck_grow((void **)&f->creates, &f->capcreates, f->ncreates, sizeof(*f->creates))) < 0)
			return err;
		struct fsck_create *c = &f->creates[f->ncreates];
		c->oid = r->oid;
		c->seq = r->seq;
		c->addr16 = addr16;
		c->version = nr.version;
		c->bytes = sz;
		c->key_len = nr.keylen;
		c->aux_len = nr.auxlen;
		c->cls = nr.cls;
		c->flags = nr.flags;
		c->type = r->type;
		/* The key, then the aux data right after it. */
		if ((err = add_key(f, nr.keyenc, nr.keylen, &c->key_off)) < 0 ||
		    (err = add_key(f, nr.aux, nr.auxlen, &aux_off)) < 0)
			return err;
		f->ncreates++;
		return add_ent(f, r, addr16, false);
	}
	case REC_AUX: {
		if ((err = fsck_grow((void **)&f->auxs, &f->capauxs, f->nauxs, sizeof(*f->auxs))) < 0)
			return err;
		struct fsck_aux *a = &f->auxs[f->nauxs];
		a->oid = r->oid;
		a->seq = r->seq;
		a->addr16 = addr16;
		a->bytes = sz;
		a->len = r->payload_len;
		if ((err = add_key(f, r->payload, r->payload_len, &a->data_off)) < 0)
			return err;
		f->nauxs++;
		return 0;
	}
	case REC_DATA:
	case REC_PUNCH:
	case REC_TRUNCATE:
		return add_ent(f, r, addr16, false);
	case REC_DELETE:
		if ((err = fsck_grow((void **)&f->deletes, &f->capdeletes, f->ndeletes, sizeof(*f->deletes))) < 0)
			return err;
		f->deletes[f->ndeletes++] = r->oid;
		return 0;
	case REC_INVALIDATE: {
		if ((err = fsck_grow((void **)&f->invals, &f->capinvals, f->ninvals, sizeof(*f->invals))) < 0)
			return err;
		struct fsck_inval *iv = &f->invals[f->ninvals];
		iv->seq = r->seq;
		iv->key_len = (uint16_t)r->payload_len;
		if ((err = add_key(f, r->payload, r->payload_len, &iv->key_off)) < 0)
			return err;
		f->ninvals++;
		return 0;
	}
	default:
		/* Checkpoint pieces belong in checkpoint segments (scan_records hands those over). */
		if (f->unmodelled++ == 0)
			fsck_report_at(f, FSCK_INDEX, FSCK_WARN, addr16, r->type, r->oid, r->seq, 0,
			               "records of type %u (%s) are not expected here; the index check may "
			               "report differences",
			               r->type, fsck_type_name(r->type));
		return 0;
	}
}

static int add_incident(struct fsck *f, const struct fsck_incident *inc)
{
	int err = fsck_grow((void **)&f->incs, &f->capincs, f->nincs, sizeof(*f->incs));
	if (err == 0)
		f->incs[f->nincs++] = *inc;
	return err;
}

/* Fill the hint fields of an incident from a header that may be damaged. */
static void hint_fields(const uint8_t *p, struct fsck_incident *inc)
{
	inc->hint = 1;
	inc->type = p[RH_TYPE];
	inc->oid = so_get_le64(p + RH_OID);
	inc->seq = so_get_le64(p + RH_SEQ);
	inc->lpos = so_get_le64(p + RH_LPOS);
}

/*
 * A record intact but for one flipped bit in its magic or in one of its
 * checksum fields: the bytes it protects check out against the field with
 * that bit put back (a real change of the protected bytes would differ from
 * the stored value in about half of its bits, not in one). Returns the byte
 * offset of the field to rewrite (0 magic, RH_HDR_CSUM, RH_CSUM), its length
 * in *flen and the corrected record header in fixed; -1 if none.
 */
static int one_bit_off(const struct fsck *f, const uint8_t *p, size_t avail, uint8_t fixed[REC_HDR_LEN], uint32_t *flen)
{
	if (avail < REC_HDR_LEN)
		return -1;
	memcpy(fixed, p, REC_HDR_LEN);
	uint32_t magic = so_get_le32(p + RH_MAGIC);
	uint32_t hc = (uint32_t)so_hash64(p, RH_HDR_CSUM, f->seed), stored_hc = so_get_le32(p + RH_HDR_CSUM);
	int field = -1;
	if (magic != REC_MAGIC && __builtin_popcount(magic ^ REC_MAGIC) == 1) {
		so_put_le32(fixed + RH_MAGIC, REC_MAGIC);
		if ((uint32_t)so_hash64(fixed, RH_HDR_CSUM, f->seed) != stored_hc)
			return -1;
		field = RH_MAGIC;
		*flen = 4;
	} else if (magic == REC_MAGIC && hc != stored_hc) {
		if (__builtin_popcount(hc ^ stored_hc) != 1)
			return -1;
		so_put_le32(fixed + RH_HDR_CSUM, hc);
		field = RH_HDR_CSUM;
		*flen = 4;
	}
	/* The header is right now (or was): is only the payload checksum one bit off? */
	uint32_t plen = so_get_le32(fixed + RH_PAYLOAD_LEN);
	if (plen && plen <= SWAPOBJ_SEGMENT_MAX && (size_t)REC_HDR_LEN + plen <= avail) {
		uint64_t pc = so_hash64(p + REC_HDR_LEN, plen, f->seed), stored_pc = so_get_le64(fixed + RH_CSUM);
		if (pc != stored_pc) {
			if (field >= 0 || __builtin_popcountll(pc ^ stored_pc) != 1)
				return -1; /* two fields damaged, or the payload itself */
			so_put_le64(fixed + RH_CSUM, pc);
			field = RH_CSUM;
			*flen = 8;
		}
	}
	return field;
}

static const char *field_name(int field)
{
	return field == RH_MAGIC ? "magic" : field == RH_HDR_CSUM ? "header checksum" : "payload checksum";
}

/* A record of the segment's current use whose header is intact: checked, and collected for the model. */
static int take_record(struct fsck *f, uint64_t addr16, const uint8_t *rec, uint32_t gen, const struct rec *r,
                       uint32_t sz, bool intact, uint64_t *prev_seq, struct fsck_rkey *prev)
{
	int err;
	uint32_t pad_from = REC_HDR_LEN + r->payload_len;
	if (!all_zero(rec + pad_from, sz - pad_from)) {
		uint64_t t = fsck_report_at(f, FSCK_REC_PADDING, FSCK_WARN, addr16, r->type, r->oid, r->seq, r->lpos,
		                            "non-zero padding after the payload");
		struct fsck_action a = {0};
		a.kind = ACT_PADDING;
		a.addr16 = addr16;
		a.from = (uint16_t)pad_from;
		a.len = (uint16_t)(sz - pad_from);
		a.ticket = t;
		a.sev = FSCK_WARN;
		if ((err = fsck_plan(f, &a)) < 0)
			return err;
	}
	uint32_t segno = fsck_segno_of(f, addr16);
	if (f->seg_stream[segno] == SEG_STREAM_CKPT) {
		/* Checked, not replayed: fsck_ckpt.c verified the bodies the slots name. */
		f->res->records++;
		f->res->records_by_type[r->type < FSCK_NTYPES ? r->type : 0]++;
		if (!intact) {
			f->res->damaged_payloads++;
			return fsck_ckpt_damage(f, segno, gen, addr16, sz,
			                        "checkpoint piece with a payload checksum mismatch");
		}
		if (!fsck_ckpt_record(f, r, addr16)) {
			char what[64];
			snprintf(what, sizeof(what), "a %s record, which does not belong there",
			         fsck_type_name(r->type));
			return fsck_ckpt_damage(f, segno, gen, addr16, sz, what);
		}
		return 0;
	}
	if (intact) {
		f->res->records++;
		f->res->records_by_type[r->type < FSCK_NTYPES ? r->type : 0]++;
		if ((err = collect(f, r, addr16, sz)) < 0)
			return err;
		if ((err = fsck_grow((void **)&f->rkeys, &f->caprkeys, f->nrkeys, sizeof(*f->rkeys))) < 0)
			return err;
		f->rkeys[f->nrkeys++] = rkey_of(r, true);
	} else {
		f->res->damaged_payloads++;
		if (r->type == REC_DATA && (err = add_ent(f, r, addr16, true)) < 0)
			return err;
		if (r->type != REC_DATA) {
			struct fsck_incident inc = {0};
			inc.kind = INC_PAYLOAD;
			inc.addr16 = addr16;
			inc.prev_seq = *prev_seq;
			inc.prev = *prev;
			inc.type = r->type;
			inc.oid = r->oid;
			inc.seq = r->seq;
			inc.lpos = r->lpos;
			inc.len = sz;
			inc.gen = gen;
			if ((err = add_incident(f, &inc)) < 0)
				return err;
		}
	}
	*prev_seq = r->seq;
	*prev = rkey_of(r, intact);
	return 0;
}

/* What scan_records found in a segment (for a damaged header's report). */
struct seg_census {
	uint64_t records, data;
	uint64_t oids[4];
	unsigned noids;
};

/*
 * The records of one segment use (generation gen) from pos on. model =
 * collect them for the model (the library replays them); otherwise only
 * count them (a segment replay skips because its header is damaged).
 */
static int scan_records(struct fsck *f, uint32_t segno, const uint8_t *buf, uint32_t len, uint32_t gen, uint64_t pos,
                        bool model, struct seg_census *cen)
{
	struct rec r;
	uint32_t sz;
	uint64_t prev_seq = 0;
	struct fsck_rkey prev = {0, 0, 0, 0, 0};
	/* A checkpoint segment: its records are checked, never replayed (fsck_ckpt.c judges its damage). */
	bool ck = f->seg_stream[segno] == SEG_STREAM_CKPT;
	int err = 0;
	uint8_t *fixbuf = NULL;
	while (pos + REC_HDR_LEN <= len) {
		uint64_t addr16 = (((uint64_t)segno << f->seg_shift) + pos) / ADDR_UNIT;
		enum rec_verdict v = rec_decode(buf + pos, len - pos, f->seed, true, &r, &sz);
		uint8_t fixed[REC_HDR_LEN];
		uint32_t flen;
		/* Not in checkpoint segments: a damaged body is discarded as a whole (fsck_ckpt.c). */
		int field = v == REC_OK || !model || ck ? -1 : one_bit_off(f, buf + pos, len - pos, fixed, &flen);
		if (field >= 0 && so_get_le32(fixed + RH_SEG_GEN) == gen) {
			/*
			 * Exactly one bit off in a magic or checksum field: a repair puts it
			 * back (and the record counts as intact from then on); a check
			 * notes it, then reports the damage as replay now meets it.
			 */
			uint64_t rs = rec_size(so_get_le32(fixed + RH_PAYLOAD_LEN));
			if (f->repair && rs <= len - pos) {
				if (!fixbuf && !(fixbuf = so_alloc(SO_MEM_OTHER, f->seg_size))) {
					err = so_err(SWAPOBJ_ENOMEM, "out of memory");
					goto out;
				}
				memcpy(fixbuf, buf + pos, rs);
				memcpy(fixbuf, fixed, REC_HDR_LEN);
				enum rec_verdict v2 = rec_decode(fixbuf, rs, f->seed, true, &r, &sz);
				if (v2 == REC_OK && r.type != REC_SEGHDR) {
					uint64_t t = fsck_report_at(
					    f, FSCK_REC_HEADER, FSCK_ERROR, addr16, r.type, r.oid, r.seq, r.lpos,
					    "%s of object %llu: one bit of its %s is flipped; the "
					    "record is otherwise intact",
					    fsck_type_name(r.type), (unsigned long long)r.oid, field_name(field));
					struct fsck_action a = {0};
					a.kind = ACT_FIELD;
					a.addr16 = addr16;
					a.from = (uint16_t)field;
					a.len = (uint16_t)flen;
					memcpy(a.hdr, fixed + field, flen);
					a.ticket = t;
					a.sev = FSCK_ERROR;
					if ((err = fsck_plan(f, &a)) < 0)
						goto out;
					/* From here on the record is read from fixbuf. */
					if ((err = take_record(f, addr16, fixbuf, gen, &r, sz, true, &prev_seq,
					                       &prev)) < 0)
						goto out;
					pos += sz;
					continue;
				}
			} else if (!f->repair) {
				fsck_report_at(f, FSCK_REC_HEADER, FSCK_INFO, addr16, fixed[RH_TYPE],
				               so_get_le64(fixed + RH_OID), so_get_le64(fixed + RH_SEQ),
				               so_get_le64(fixed + RH_LPOS),
				               "only one bit of this record's %s is flipped: a repair restores it",
				               field_name(field));
			}
		}
		if ((v == REC_OK || v == REC_BAD_CSUM) && r.seg_gen == gen && r.type != REC_SEGHDR) {
			if (!model) {
				cen->records++;
				cen->data += r.type == REC_DATA;
				bool seen = false;
				for (unsigned i = 0; i < cen->noids; i++)
					seen = seen || cen->oids[i] == r.oid;
				if (!seen && r.oid && cen->noids < SO_ARRAY_SIZE(cen->oids))
					cen->oids[cen->noids++] = r.oid;
				prev_seq = r.seq;
				pos += sz;
				continue;
			}
			if ((err = take_record(f, addr16, buf + pos, gen, &r, sz, v == REC_OK, &prev_seq, &prev)) < 0)
				goto out;
			pos += sz;
			continue;
		}
		uint32_t magic = so_get_le32(buf + pos + RH_MAGIC), rgen, plen;
		if (magic == 0) {
			/*
			 * A record or region retired by a repair (or by replay: a torn
			 * write), or the end. Searched past the way replay does, never
			 * skipped by a length it names: what replay finds, the model has.
			 */
			struct fsck_rkey nk;
			uint64_t p = resync(f, buf, len, pos + REC_ALIGN, gen, &nk);
			if (!p)
				break;
			pos = p;
			continue;
		}
		struct fsck_rkey next = {0, 0, 0, 0, 0};
		uint64_t p = resync(f, buf, len, pos + REC_ALIGN, gen, &next);
		bool magic_ok = magic == REC_MAGIC;
		bool restorable = !magic_ok && hdr_restorable(f, buf + pos, &rgen, &plen) && rgen == gen;
		if (!p) {
			/* The end of this use's records, unless a record of this use is damaged here. */
			bool ours = restorable;
			if (magic_ok) {
				uint8_t tmp[REC_HDR_LEN];
				memcpy(tmp, buf + pos, REC_HDR_LEN);
				bool csum_ok =
				    (uint32_t)so_hash64(tmp, RH_HDR_CSUM, f->seed) == so_get_le32(tmp + RH_HDR_CSUM);
				ours = !csum_ok || so_get_le32(tmp + RH_SEG_GEN) == gen;
			}
			if (!ours)
				break;
		}
		if (!model) {
			cen->records++;
			if (!p)
				break;
			pos = p;
			continue;
		}
		if (ck) {
			f->res->damaged_headers++;
			if ((err = fsck_ckpt_damage(f, segno, gen, addr16, (uint32_t)((p ? p : len) - pos),
			                            "damaged record header")) < 0)
				goto out;
			if (!p)
				break;
			pos = p;
			continue;
		}
		struct fsck_incident inc = {0};
		inc.kind = p ? INC_REGION : INC_TAIL;
		inc.addr16 = addr16;
		inc.prev_seq = prev_seq;
		inc.prev = prev;
		inc.next = next;
		inc.len = (uint32_t)((p ? p : len) - pos);
		inc.gen = gen;
		/* A header that checks out but names another generation is left from an earlier use: not a hint. */
		bool stale =
		    magic_ok &&
		    (uint32_t)so_hash64(buf + pos, RH_HDR_CSUM, f->seed) == so_get_le32(buf + pos + RH_HDR_CSUM) &&
		    so_get_le32(buf + pos + RH_SEG_GEN) != gen;
		if ((magic_ok && !stale) || restorable) {
			hint_fields(buf + pos, &inc);
			inc.legible = 1;
		}
		if (restorable)
			inc.hint = 0; /* the header checks out but for its magic: its fields are trusted */
		if (magic_ok && !stale && v != REC_BAD_HDR_CSUM && v != REC_BAD_MAGIC) {
			/* Checksums match but the record is impossible (bad fields, runs off the segment, bad payload).
			 */
			uint64_t t =
			    fsck_report_at(f, FSCK_REC_MALFORMED, FSCK_ERROR, addr16, buf[pos + RH_TYPE],
			                   so_get_le64(buf + pos + RH_OID), so_get_le64(buf + pos + RH_SEQ),
			                   so_get_le64(buf + pos + RH_LPOS),
			                   "%s: record checksums match but it is impossible (%s); replay skips it",
			                   fsck_type_name(buf[pos + RH_TYPE]), rec_verdict_str(v));
			f->res->damaged_headers++;
			if ((err = plan_zap(f, addr16, t, FSCK_ERROR)) < 0)
				goto out;
		} else if ((err = add_incident(f, &inc)) < 0) {
			goto out;
		}
		if (!p)
			break;
		pos = p;
	}
	err = 0;
out:
	so_free(SO_MEM_OTHER, fixbuf);
	return err;
}

/*
 * Scan one segment (buf holds len bytes of it: 4 KiB if block 0 was blank,
 * else the whole segment).
 */
static int scan_seg(struct fsck *f, uint32_t segno, const uint8_t *buf, uint32_t len)
{
	struct rec r;
	uint32_t sz, gen, plen;
	int err;
	enum rec_verdict v = rec_decode(buf, len, f->seed, true, &r, &sz);
	if (v == REC_OK && r.type == REC_SEGHDR && r.lpos == segno) {
		f->seg_state[segno] = SEGS_USED;
		f->seg_gen[segno] = r.seg_gen;
		f->seg_stream[segno] = (uint8_t)so_get_le32(r.payload);
		f->res->segments_used++;
		f->res->records_by_type[REC_SEGHDR]++;
		return scan_records(f, segno, buf, len, r.seg_gen, sz, true, NULL);
	}
	uint32_t magic = so_get_le32(buf + RH_MAGIC);
	if (magic == 0 || len < f->seg_size)
		return 0; /* never used, or retired by a repair */
	/*
	 * Is this a segment in use whose header is damaged? Evidence: a record
	 * magic at offset 0, a header that checks out once its magic is put back,
	 * or a valid record of this store right after where the header ends.
	 */
	bool restorable = magic != REC_MAGIC && hdr_restorable(f, buf, &gen, &plen);
	uint32_t hdr_gen = so_get_le32(buf + RH_SEG_GEN);
	struct rec r2;
	uint32_t sz2;
	enum rec_verdict v2 =
	    rec_decode(buf + REC_HDR_LEN + SEGHDR_LEN, len - (REC_HDR_LEN + SEGHDR_LEN), f->seed, true, &r2, &sz2);
	bool follows = (v2 == REC_OK || v2 == REC_BAD_CSUM) && r2.type != REC_SEGHDR;
	if (magic != REC_MAGIC && !restorable && !follows)
		return 0; /* junk in a free segment: whatever the device held before it was formatted */
	uint64_t addr16 = ((uint64_t)segno << f->seg_shift) / ADDR_UNIT;
	if (follows && r2.type == REC_CKPT) {
		/* A checkpoint segment: replay never reads it; a body that uses it is damaged (fsck_ckpt.c). */
		f->res->damaged_headers++;
		return fsck_ckpt_damage(f, segno, r2.seg_gen, addr16, REC_HDR_LEN + SEGHDR_LEN,
		                        "damaged segment header of a checkpoint segment");
	}
	struct fsck_action a = {0};
	a.addr16 = addr16;
	if (!follows) {
		/* A header with nothing after it (a segment prepared for writing): nothing is lost. */
		uint64_t t = fsck_report_at(f, FSCK_SEGHDR, FSCK_WARN, addr16, REC_SEGHDR, 0, 0, 0,
		                            "segment header damaged (%s); the segment holds no records",
		                            v == REC_OK ? "names another segment" : rec_verdict_str(v));
		f->res->damaged_headers++;
		return plan_zap(f, addr16, t, FSCK_WARN);
	}
	gen = r2.seg_gen;
	/*
	 * Rebuild only when the damaged header names the records' generation,
	 * or checks out once given it (the damage was in the generation field):
	 * records of another generation may be left from an earlier use.
	 */
	uint8_t cand[REC_HDR_LEN];
	memcpy(cand, buf, REC_HDR_LEN);
	so_put_le32(cand + RH_MAGIC, REC_MAGIC);
	so_put_le32(cand + RH_SEG_GEN, gen);
	bool gen_ok =
	    hdr_gen == gen || (uint32_t)so_hash64(cand, RH_HDR_CSUM, f->seed) == so_get_le32(cand + RH_HDR_CSUM);
	bool rebuild = f->repair && gen_ok;
	struct seg_census cen = {0};
	if (!rebuild && (err = scan_records(f, segno, buf, len, gen, REC_HDR_LEN + SEGHDR_LEN, false, &cen)) < 0)
		return err;
	char oids[96] = "";
	for (unsigned i = 0, n = 0; i < cen.noids; i++)
		n += (unsigned)snprintf(oids + n, sizeof(oids) - n, "%s%llu", i ? ", " : "",
		                        (unsigned long long)cen.oids[i]);
	uint64_t t;
	if (rebuild)
		t = fsck_report_at(f, FSCK_SEGHDR, FSCK_ERROR, addr16, REC_SEGHDR, 0, 0, 0,
		                   "segment header damaged (%s): replay skips the whole segment (generation %u)",
		                   rec_verdict_str(v), gen);
	else
		t = fsck_report_at(
		    f, FSCK_SEGHDR, FSCK_ERROR, addr16, REC_SEGHDR, 0, 0, 0,
		    "segment header damaged (%s): replay skips the whole segment: %llu records (%llu data) "
		    "of objects %s%s are not replayed",
		    rec_verdict_str(v), (unsigned long long)cen.records, (unsigned long long)cen.data,
		    cen.noids ? oids : "-", cen.noids == SO_ARRAY_SIZE(cen.oids) ? ", ..." : "");
	f->res->damaged_headers++;
	a.ticket = t;
	a.sev = FSCK_ERROR;
	if (!rebuild) {
		a.kind = ACT_ZAP; /* its records cannot be trusted to be current: retire the segment */
		return fsck_plan(f, &a);
	}
	struct rec h = {0};
	h.type = REC_SEGHDR;
	h.payload_len = SEGHDR_LEN;
	h.lpos = segno;
	h.seg_gen = gen;
	uint32_t stream = so_get_le32(buf + REC_HDR_LEN);
	so_put_le32(a.hdr + REC_HDR_LEN, stream < SEG_STREAM_CKPT ? stream : 0);
	so_put_le32(a.hdr + REC_HDR_LEN + 4, 0);
	memcpy(a.hdr + REC_HDR_LEN + 8, buf + REC_HDR_LEN + 8, 8);
	rec_seal(a.hdr, &h, f->seed);
	a.kind = ACT_SEGHDR;
	a.gen = gen;
	if ((err = fsck_plan(f, &a)) < 0)
		return err;
	/* After the rebuild the library replays these records: so does the model. */
	f->seg_state[segno] = SEGS_RESTORED;
	f->seg_gen[segno] = gen;
	f->seg_stream[segno] = (uint8_t)(stream < SEG_STREAM_CKPT ? stream : 0);
	f->res->segments_used++;
	return scan_records(f, segno, buf, len, gen, REC_HDR_LEN + SEGHDR_LEN, true, NULL);
}

static int scan_log(struct fsck *f)
{
	struct reader rd;
	int err = 0;
	uint64_t t0 = so_now_ns();
	memset(&rd, 0, sizeof(rd));
	rd.f = f;
	rd.nbuf = f->seg_size > (16u << 20) ? 2 : RD_NBUF;
	if (f->opts.flags & FSCK_SERIAL)
		rd.nbuf = 1;
	for (unsigned i = 0; i < rd.nbuf; i++) {
		rd.slot[i].buf = so_alloc_aligned(SO_MEM_BUFFER, f->seg_size);
		if (!rd.slot[i].buf) {
			err = so_err(SWAPOBJ_ENOMEM, "out of memory for %u-byte segment buffers", f->seg_size);
			goto out;
		}
	}
	for (unsigned d = 0; d < f->ndevs; d++)
		rd.devs[d] = f->devs[d].io;
	bool threaded = !(f->opts.flags & FSCK_SERIAL);
	pthread_mutex_init(&rd.mu, NULL);
	pthread_cond_init(&rd.cv, NULL);
	if (threaded) {
		int rc = pthread_create(&rd.th, NULL, reader_main, &rd);
		if (rc != 0)
			threaded = false;
		else
			rd.started = true;
	}
	for (uint64_t s = 0; s < f->nsegs; s++) {
		struct rd_slot *sl = &rd.slot[s % rd.nbuf];
		if (threaded) {
			pthread_mutex_lock(&rd.mu);
			while (sl->state != 1)
				pthread_cond_wait(&rd.cv, &rd.mu);
			pthread_mutex_unlock(&rd.mu);
		} else {
			sl->segno = (uint32_t)s;
			sl->err = read_seg(f, rd.devs, (uint32_t)s, sl->buf, &sl->len);
			if (sl->err < 0)
				snprintf(sl->msg, sizeof(sl->msg), "%s", swapobj_errmsg());
		}
		f->res->bytes_read += sl->len;
		if (sl->err < 0) {
			unsigned d;
			uint64_t off = fsck_seg_devoff(f, (uint32_t)s, &d);
			fsck_report(f, FSCK_SEGHDR, FSCK_ERROR, (int)d, (int64_t)s, 0, 0, 0, 0, 0,
			            "cannot read segment %llu (device offset %llu): %s", (unsigned long long)s,
			            (unsigned long long)off, sl->msg);
		} else if ((err = scan_seg(f, sl->segno, sl->buf, sl->len)) < 0) {
			goto stop;
		}
		if (threaded) {
			pthread_mutex_lock(&rd.mu);
			sl->state = 0;
			pthread_cond_broadcast(&rd.cv);
			pthread_mutex_unlock(&rd.mu);
		}
		fsck_progress(f, "log", (s + 1) * f->seg_size, f->nsegs * f->seg_size);
	}
stop:
	if (rd.started) {
		pthread_mutex_lock(&rd.mu);
		rd.stop = true;
		pthread_cond_broadcast(&rd.cv);
		pthread_mutex_unlock(&rd.mu);
		pthread_join(rd.th, NULL);
	}
	pthread_mutex_destroy(&rd.mu);
	pthread_cond_destroy(&rd.cv);
out:
	for (unsigned i = 0; i < rd.nbuf; i++)
		so_free_aligned(SO_MEM_BUFFER, rd.slot[i].buf, f->seg_size);
	f->res->scan_ns = so_now_ns() - t0;
	f->res->durable_seq = f->durable_seq;
	return err;
}

static int rkey_cmp(const void *a, const void *b)
{
	const struct fsck_rkey *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->lpos < y->lpos ? -1 : x->lpos > y->lpos;
}

/* Intact records named k (relocated copies share their seq). */
static size_t copies(const struct fsck *f, const struct fsck_rkey *k)
{
	if (!k->type || !f->nrkeys)
		return 0;
	size_t lo = 0, hi = f->nrkeys;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rkey_cmp(&f->rkeys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < f->nrkeys && rkey_cmp(&f->rkeys[lo + n], k) == 0)
		n++;
	return n;
}

/*
 * Damage that loses nothing: the damaged record has an intact copy
 * elsewhere (the cleaner relocates records with their seq, and frees the
 * original only after the copy is durable, so a write of copies torn by a
 * crash, or a damaged redundant copy, leaves the data in place).
 */
static bool redundant(const struct fsck *f, const struct fsck_incident *inc)
{
	if (inc->kind == INC_PAYLOAD || (inc->legible && inc->type)) {
		struct fsck_rkey k = {inc->seq, inc->oid,
		                      inc->type == REC_DATA || inc->type == REC_PUNCH ? inc->lpos : 0, inc->type, 0};
		if (copies(f, &k))
			return true;
		if (inc->kind == INC_PAYLOAD || !inc->hint)
			return false;
	}
	/* An illegible region between relocated copies whose originals are intact, in the cleaner's stream. */
	uint32_t segno = fsck_segno_of(f, inc->addr16);
	if (!fsck_cleaner_stream(f->seg_stream[segno]) || (!inc->prev.type && !inc->next.type))
		return false;
	/* A neighbour has another intact copy: beside itself if it is intact, at all if it is damaged too. */
	return (!inc->prev.type || copies(f, &inc->prev) >= 1u + inc->prev.intact) &&
	       (!inc->next.type || copies(f, &inc->next) >= 1u + inc->next.intact);
}

/* Verdicts on what the scan found, now that the durable point is known. */
static int judge_incidents(struct fsck *f)
{
	uint64_t D = f->durable_seq;
	int err;
	if (f->nrkeys > 1)
		qsort(f->rkeys, f->nrkeys, sizeof(*f->rkeys), rkey_cmp);
	for (size_t i = 0; i < f->nincs; i++) {
		const struct fsck_incident *inc = &f->incs[i];
		uint64_t t;
		enum fsck_sev sev;
		if (inc->kind == INC_PAYLOAD) {
			/* Replay's rule: past the durable point, or in a segment opened after the last SYNC record. */
			if (inc->prev_seq >= D || inc->seq >= D || inc->gen >= f->gen_hw) {
				sev = FSCK_WARN;
				f->res->torn++;
				t = fsck_report_at(f, FSCK_REC_TORN, sev, inc->addr16, inc->type, inc->oid, inc->seq,
				                   inc->lpos,
				                   "%s of object %llu: payload torn by a crash before it was synced "
				                   "(seq %llu, durable point %llu); replay drops it",
				                   fsck_type_name(inc->type), (unsigned long long)inc->oid,
				                   (unsigned long long)inc->seq, (unsigned long long)D);
			} else if (redundant(f, inc)) {
				sev = FSCK_WARN;
				t = fsck_report_at(
				    f, FSCK_REC_DEAD, sev, inc->addr16, inc->type, inc->oid, inc->seq, inc->lpos,
				    "%s of object %llu: payload checksum mismatch in a copy; an intact copy "
				    "of the record (seq %llu) exists, nothing is lost",
				    fsck_type_name(inc->type), (unsigned long long)inc->oid,
				    (unsigned long long)inc->seq);
			} else {
				static const char *const what[] = {
				    [REC_CREATE] =
				        "the object's key record: the object is lost unless an older one exists",
				    [REC_PUNCH] = "a punch: the punched pages may read their old data again",
				    [REC_INVALIDATE] = "a prefix invalidation: the objects it dropped may come back",
				    [REC_SYNC] = "a durability mark: later damage may be taken for torn writes",
				};
				const char *w = inc->type < SO_ARRAY_SIZE(what) && what[inc->type]
				                    ? what[inc->type]
				                    : "replay ignores it";
				sev = FSCK_ERROR;
				t = fsck_report_at(f, FSCK_REC_PAYLOAD, sev, inc->addr16, inc->type, inc->oid, inc->seq,
				                   inc->lpos, "%s of object %llu: payload checksum mismatch; it was %s",
				                   fsck_type_name(inc->type), (unsigned long long)inc->oid, w);
			}
		} else {
			/*
			 * A damaged header is a write torn by a crash (the same rule as
			 * replay, which retires these at a read-write open) when it lies past
			 * the durable point: the record before it in the segment, or its own
			 * seq if the header checks out but for its magic, is not below it; or
			 * when its segment was opened
			 * after the last SYNC record was written.
			 */
			uint64_t seq = inc->legible && !inc->hint ? inc->seq : 0;
			bool torn = inc->prev_seq >= D || seq >= D || inc->gen >= f->gen_hw;
			f->res->damaged_headers++;
			char what[160] = "no legible header";
			if (inc->type)
				snprintf(what, sizeof(what), "%s%s of object %llu, seq %llu, offset %llu",
				         inc->hint ? "probably " : "", fsck_type_name(inc->type),
				         (unsigned long long)inc->oid, (unsigned long long)inc->seq,
				         (unsigned long long)inc->lpos);
			bool copy = !torn && redundant(f, inc);
			sev = torn || copy ? FSCK_WARN : FSCK_ERROR;
			if (torn)
				f->res->torn++;
			t = fsck_report_at(
			    f,
			    torn   ? FSCK_REC_TORN
			    : copy ? FSCK_REC_DEAD
			           : FSCK_REC_HEADER,
			    sev, inc->addr16, inc->hint ? 0 : inc->type, inc->hint ? 0 : inc->oid,
			    inc->hint ? 0 : inc->seq, inc->hint ? 0 : inc->lpos,
			    "%s: %u bytes%s (%s); replay skips them%s",
			    inc->kind == INC_TAIL ? "damaged record at the end of the segment's records"
			                          : "damaged record header",
			    inc->len, inc->kind == INC_TAIL ? "" : " without a valid record", what,
			    torn   ? "; torn by a crash before it was synced"
			    : copy ? "; copies the cleaner made, whose originals are intact: nothing is lost"
			           : "");
		}
		if ((err = plan_zap(f, inc->addr16, t, sev)) < 0)
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The library's view                                                  */
/* ------------------------------------------------------------------ */

static void lib_open(struct fsck *f, bool rw)
{
	const char *paths[SWAPOBJ_MAX_DEVICES];
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	for (unsigned i = 0; i < f->ndevs; i++)
		paths[i] = f->devs[i].path;
	/* A check reads through the page cache the scan filled; a repair session runs as the store normally does. */
	oo.flags = rw ? 0 : SWAPOBJ_OPEN_RDONLY | ((f->opts.flags & FSCK_DIRECT) ? 0 : SWAPOBJ_OPEN_NO_DIRECT);
	f->st = NULL;
	f->open_err = swapobj_store_open(&f->st, paths, f->ndevs, &oo);
	if (f->open_err < 0)
		snprintf(f->open_msg, sizeof(f->open_msg), "%s", swapobj_errmsg());
}

static void *lib_open_main(void *arg)
{
	lib_open(arg, false);
	return NULL;
}

static void lib_close(struct fsck *f)
{
	if (f->st)
		swapobj_store_close(f->st);
	f->st = NULL;
}

static void report_open_failure(struct fsck *f)
{
	fsck_report(f, FSCK_OPEN, FSCK_ERROR, -1, -1, 0, 0, 0, 0, 0, "the library cannot open the store: %s",
	            f->open_msg);
}

/* ------------------------------------------------------------------ */
/* Repair                                                              */
/* ------------------------------------------------------------------ */

static int reopen_devs(struct fsck *f)
{
	int err;
	for (unsigned i = 0; i < f->ndevs; i++) {
		struct fsck_dev *d = &f->devs[i];
		if ((err = io_open(&d->io, d->path, false, false, !(f->opts.flags & FSCK_DIRECT), true)) < 0)
			return err;
		d->open = true;
		uint8_t *blk = d->raw;
		struct sb_info sb;
		if ((err = io_pread(&d->io, blk, SO_SB_SIZE, 0)) < 0)
			return err;
		if (sb_decode(blk, SO_SB_SIZE, &sb) < 0 || memcmp(sb.uuid, f->uuid, 16) || sb.dev_index != i)
			return so_err(SWAPOBJ_EFORMAT, "%s changed while it was being repaired", d->path);
	}
	return 0;
}

/*
 * Read-modify-write of the blocks holding the bytes an action changes or
 * checks: a record header (which may straddle two 4 KiB blocks), a few
 * bytes of padding, a segment header. blk holds 2 * IO_ALIGN bytes.
 */
static int patch_block(struct fsck *f, uint64_t addr16, const struct fsck_action *a, uint8_t *blk)
{
	uint32_t segno = fsck_segno_of(f, addr16);
	unsigned d;
	uint64_t segoff = fsck_segoff_of(f, addr16);
	uint64_t base = fsck_seg_devoff(f, segno, &d);
	uint64_t from = a->kind == ACT_PADDING ? segoff + a->from : segoff;
	uint64_t to = a->kind == ACT_PADDING  ? from + a->len
	              : a->kind == ACT_SEGHDR ? segoff + sizeof(a->hdr)
	                                      : segoff + REC_HDR_LEN;
	uint64_t bstart = SO_ROUND_DOWN(from, IO_ALIGN);
	uint64_t blen = SO_MIN(SO_ROUND_UP(to, IO_ALIGN), (uint64_t)f->seg_size) - bstart;
	if (blen > 2 * IO_ALIGN || to > f->seg_size)
		return so_err(SWAPOBJ_EINVAL, "repair of %llu bytes at segment %u offset %llu: out of range",
		              (unsigned long long)(to - from), segno, (unsigned long long)from);
	/* blk + in: the record (or segment) start, for the actions other than ACT_PADDING (in may be < 0 there) */
	int64_t in = (int64_t)segoff - (int64_t)bstart;
	int err = io_pread(&f->devs[d].io, blk, blen, base + bstart);
	if (err < 0)
		return err;
	switch (a->kind) {
	case ACT_ZAP_CHECKED: {
		/* Only if the record there is still the one we mean, in the same use of the segment. */
		_Alignas(IO_ALIGN) uint8_t b0[IO_ALIGN];
		struct rec r;
		uint32_t sz;
		if ((err = io_pread(&f->devs[d].io, b0, IO_ALIGN, base)) < 0)
			return err;
		if (rec_decode(b0, IO_ALIGN, f->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR ||
		    r.seg_gen != a->gen)
			return 1;
		if (so_get_le32(blk + in + RH_MAGIC) != REC_MAGIC ||
		    (uint32_t)so_hash64(blk + in, RH_HDR_CSUM, f->seed) != so_get_le32(blk + in + RH_HDR_CSUM) ||
		    so_get_le64(blk + in + RH_SEQ) != a->seq || so_get_le64(blk + in + RH_OID) != a->oid ||
		    so_get_le32(blk + in + RH_SEG_GEN) != a->gen)
			return 1;
	}
		/* fall through */
	case ACT_ZAP:
		so_put_le32(blk + in + RH_MAGIC, 0);
		break;
	case ACT_PADDING:
		memset(blk + (from - bstart), 0, a->len);
		break;
	case ACT_SEGHDR:
		memcpy(blk, a->hdr, sizeof(a->hdr));
		break;
	case ACT_FIELD:
		memcpy(blk + in + a->from, a->hdr, a->len);
		break;
	}
	if ((err = io_pwrite(&f->devs[d].io, blk, blen, base + bstart)) < 0)
		return err;
	f->res->modified = true;
	if (f->seg_stream[segno] != SEG_STREAM_CKPT)
		f->log_modified = true;
	return 0;
}

/* Carry out the planned writes of kind filter (0: all but ACT_ZAP_CHECKED), then sync. */
static int run_actions(struct fsck *f, bool checked)
{
	uint8_t *blk = so_alloc_aligned(SO_MEM_BUFFER, 2 * IO_ALIGN);
	int err = 0;
	if (!blk)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->nacts; i++) {
		const struct fsck_action *a = &f->acts[i];
		if ((a->kind == ACT_ZAP_CHECKED) != checked)
			continue;
		int rc = patch_block(f, a->addr16, a, blk);
		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc == 0)
			fsck_fixed(f, a->ticket, (enum fsck_sev)a->sev);
		fsck_progress(f, "repair", i + 1, f->nacts);
	}
	for (unsigned d = 0; d < f->ndevs && err == 0; d++)
		if (f->devs[d].open)
			err = io_sync(&f->devs[d].io);
	so_free_aligned(SO_MEM_BUFFER, blk, 2 * IO_ALIGN);
	return err;
}

/*
 * What only the library can fix: punch the live pages whose only copy is
 * damaged (and, by opening read-write, let replay settle clashing keys).
 */
static int repair_through_library(struct fsck *f)
{
	int err = 0;
	lib_open(f, true);
	if (f->open_err < 0) {
		report_open_failure(f);
		return 0;
	}
	struct swapobj_store *st = f->st;
	for (size_t i = 0; i < f->nlost; i++) {
		struct fsck_lost *l = &f->lost[i];
		struct so_obj *o = index_get(&st->ix, l->oid);
		if (!o)
			continue;
		struct swapobj_obj h = {st, o};
		struct swapobj_obj_stat os;
		err = swapobj_obj_stat(&h, &os);
		if (err == 0 && l->lpos + SWAPOBJ_PAGE_SIZE > os.size) {
			/*
			 * The object's partial last page: a punch would rewrite it around
			 * its damaged bytes. Make it a whole page, punch, restore the size.
			 */
			if ((err = swapobj_obj_truncate(&h, l->lpos + SWAPOBJ_PAGE_SIZE)) == 0 &&
			    (err = swapobj_obj_punch(&h, l->lpos, SWAPOBJ_PAGE_SIZE)) == 0)
				err = swapobj_obj_truncate(&h, os.size);
		} else if (err == 0) {
			err = swapobj_obj_punch(&h, l->lpos, SWAPOBJ_PAGE_SIZE);
		}
		obj_put(o);
		if (err < 0) {
			err = so_err_ctx(err, "punching the damaged page at %llu of object %llu",
			                 (unsigned long long)l->lpos, (unsigned long long)l->oid);
			break;
		}
		struct fsck_action a = {0};
		a.kind = ACT_ZAP_CHECKED;
		a.addr16 = l->addr16;
		a.seq = l->seq;
		a.oid = l->oid;
		a.gen = l->gen;
		a.ticket = UINT64_MAX;
		if ((err = fsck_plan(f, &a)) < 0)
			break;
		fsck_fixed(f, l->ticket, FSCK_ERROR);
		f->res->modified = true;
	}
	if (err == 0)
		err = swapobj_store_sync(st);
	if (err == 0) {
		/* The keys replay settled (it logged a DELETE for each loser and synced). */
		for (size_t i = 0; i < f->res->nproblems; i++)
			if (f->res->problems[i].kind == FSCK_KEY_CONFLICT)
				fsck_fixed(f, i, f->res->problems[i].sev);
	}
	lib_close(f);
	return err;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static void fsck_free(struct fsck *f)
{
	lib_close(f);
	close_devs(f);
	for (unsigned i = 0; i < SWAPOBJ_MAX_DEVICES; i++)
		so_free_aligned(SO_MEM_OTHER, f->devs[i].raw, SO_SB_COPIES * SO_SB_SIZE);
	so_free(SO_MEM_OTHER, f->seg_gen);
	so_free(SO_MEM_OTHER, f->seg_state);
	so_free(SO_MEM_OTHER, f->seg_stream);
	so_free(SO_MEM_OTHER, f->rkeys);
	so_free(SO_MEM_OTHER, f->seg_live);
	so_free(SO_MEM_OTHER, f->ents);
	so_free(SO_MEM_OTHER, f->creates);
	so_free(SO_MEM_OTHER, f->deletes);
	so_free(SO_MEM_OTHER, f->auxs);
	so_free(SO_MEM_OTHER, f->invals);
	so_free(SO_MEM_OTHER, f->keys);
	so_free(SO_MEM_OTHER, f->incs);
	so_free(SO_MEM_OTHER, f->acts);
	so_free(SO_MEM_OTHER, f->lost);
	fsck_model_free(f);
}

int fsck_run(const char *const *paths, unsigned npaths, const struct fsck_opts *opts, struct fsck_result *out)
{
	struct fsck f;
	struct fsck_opts def = {0};
	pthread_t opener;
	bool opener_started = false;
	int err = 0;

	if (!out)
		return so_err(SWAPOBJ_EINVAL, "NULL result");
	memset(out, 0, sizeof(*out));
	if (!paths || npaths < 1 || npaths > SWAPOBJ_MAX_DEVICES)
		return so_err(SWAPOBJ_EINVAL, "need 1..%d devices, got %u", SWAPOBJ_MAX_DEVICES, npaths);
	memset(&f, 0, sizeof(f));
	f.opts = opts ? *opts : def;
	f.res = out;
	f.repair = f.opts.flags & FSCK_REPAIR;
	/* Discarding checkpoints writes the slots, even without -y. */
	f.rw = f.repair || (f.opts.flags & FSCK_REBUILD);
	f.paths = paths;
	f.ndevs = npaths;
	f.t0 = so_now_ns();

	fsck_progress(&f, "superblocks", 0, npaths);
	if ((err = check_superblocks(&f)) < 0)
		goto done;
	f.seg_gen = so_zalloc(SO_MEM_OTHER, f.nsegs * sizeof(*f.seg_gen));
	f.seg_state = so_zalloc(SO_MEM_OTHER, f.nsegs);
	f.seg_stream = so_zalloc(SO_MEM_OTHER, f.nsegs);
	f.seg_live = so_zalloc(SO_MEM_OTHER, f.nsegs * sizeof(*f.seg_live));
	if (!f.seg_gen || !f.seg_state || !f.seg_live || !f.seg_stream) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for a table of %llu segments", (unsigned long long)f.nsegs);
		goto done;
	}
	if ((err = fsck_checkpoints(&f)) < 0)
		goto done;
	/* A check opens the store read-only alongside the scan; a repair must first write. */
	if (!f.rw && !(f.opts.flags & FSCK_SERIAL) && pthread_create(&opener, NULL, lib_open_main, &f) == 0)
		opener_started = true;
	err = scan_log(&f);
	if (opener_started) {
		pthread_join(opener, NULL);
		opener_started = false;
	}
	if (err < 0)
		goto done;
	if ((err = judge_incidents(&f)) < 0)
		goto done;
	if (!f.repair) {
		if (f.rw)
			close_devs(&f); /* the library's open needs the locks */
		if (!f.st && f.open_err == 0)
			lib_open(&f, false);
		if (f.open_err < 0)
			report_open_failure(&f);
		fsck_progress(&f, "index", 0, 1);
		err = fsck_model(&f);
		fsck_ckpt_crosscheck(&f);
		goto done;
	}
	/* Repair: plan from the records, write, then compare with what the library now builds. */
	if ((err = fsck_model(&f)) < 0)
		goto done;
	if ((err = run_actions(&f, false)) < 0)
		goto done;
	/* A checkpoint may name records the repair retired: the next open must replay the whole log. */
	if (f.log_modified && (err = fsck_ckpt_discard(&f)) < 0)
		goto done;
	close_devs(&f);
	lib_open(&f, false);
	if (f.open_err < 0)
		report_open_failure(&f);
	else if ((err = fsck_model(&f)) < 0)
		goto done;
	fsck_ckpt_crosscheck(&f);
	lib_close(&f);
	if (f.open_err == 0 && f.need_rw_open) {
		if ((err = repair_through_library(&f)) < 0)
			goto done;
		if ((err = reopen_devs(&f)) < 0 || (err = run_actions(&f, true)) < 0)
			goto done;
	}
done:
	if (opener_started)
		pthread_join(opener, NULL);
	if (err < 0) {
		/* Keep the message across the cleanup below. */
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", swapobj_errmsg());
		fsck_free(&f);
		so_err(err, "%s", msg);
	} else {
		fsck_free(&f);
	}
	out->total_ns = so_now_ns() - f.t0;
	return err;
}

void fsck_result_free(struct fsck_result *res)
{
	if (!res)
		return;
	free(res->problems);
	res->problems = NULL;
	res->nproblems = res->problems_cap = 0;
}
