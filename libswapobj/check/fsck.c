/*
 * fsck.c - the store checker: the driver (fsck_run), reports and the
 * library's view; fsck_super.c reads the superblocks, fsck_scan.c scans the
 * log, fsck_judge.c gives verdicts once the durable point is known,
 * fsck_repair.c writes the repairs.
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
 *  - split segments (SEGHDR_F_SPLIT) are read through seg_img/seg_rec_at,
 *    as replay reads them: every record of the stream, and the SEGHDR, has
 *    copies. Damage to one copy while another is intact loses nothing
 *    (FSCK_REC_COPY, a warning; an error where replay would take it for a
 *    lost region). A region illegible in both copies below the durable
 *    point is a lost region (FSCK_REGION_LOST): replay keeps the store
 *    read-only and refuses data reads, since which pages it updated is
 *    unknown. A payload out of line failing its checksum is a damaged page.
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
 *  - non-zero padding is zeroed;
 *  - split segments: a damaged copy is rewritten from the intact one (a
 *    SEGHDR lost in both header blocks from its copy in the stream); a lost
 *    region is retired in both copies, which is the operator accepting the
 *    loss (its finding says so): the store opens again, and the pages the
 *    lost records wrote read as their older records say. Every zap and
 *    padding fix of a split stream writes both copies.
 * A repair never changes a store's layout (its read-write open keeps a
 * classic store classic).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsck.h"
#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

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
	    [FSCK_REC_COPY] = "record-copy",
	    [FSCK_REGION_LOST] = "region-lost",
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

int fsck_plan_zap(struct fsck *f, uint64_t addr16, uint64_t ticket, enum fsck_sev sev)
{
	struct fsck_action a = {0};
	a.kind = ACT_ZAP;
	a.addr16 = addr16;
	a.ticket = ticket;
	a.sev = (uint8_t)sev;
	return fsck_plan(f, &a);
}

/* ------------------------------------------------------------------ */
/* The library's view                                                  */
/* ------------------------------------------------------------------ */

void fsck_lib_open(struct fsck *f, bool rw)
{
	const char *paths[SWAPOBJ_MAX_DEVICES];
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	for (unsigned i = 0; i < f->ndevs; i++)
		paths[i] = f->devs[i].path;
	/* A check reads through the page cache the scan filled; a repair session runs as the store normally does. */
	/* (A repair changes no store's layout: a classic store stays classic.) */
	oo.flags = rw ? SWAPOBJ_OPEN_NO_UPGRADE
	              : SWAPOBJ_OPEN_RDONLY | ((f->opts.flags & FSCK_DIRECT) ? 0 : SWAPOBJ_OPEN_NO_DIRECT);
	f->st = NULL;
	f->open_err = swapobj_store_open(&f->st, paths, f->ndevs, &oo);
	if (f->open_err < 0)
		snprintf(f->open_msg, sizeof(f->open_msg), "%s", swapobj_errmsg());
}

static void *lib_open_main(void *arg)
{
	fsck_lib_open(arg, false);
	return NULL;
}

void fsck_lib_close(struct fsck *f)
{
	if (f->st)
		swapobj_store_close(f->st);
	f->st = NULL;
}

void fsck_report_open_failure(struct fsck *f)
{
	fsck_report(f, FSCK_OPEN, FSCK_ERROR, -1, -1, 0, 0, 0, 0, 0, "the library cannot open the store: %s",
	            f->open_msg);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static void fsck_free(struct fsck *f)
{
	fsck_lib_close(f);
	fsck_close_devs(f);
	for (unsigned i = 0; i < SWAPOBJ_MAX_DEVICES; i++)
		so_free_aligned(SO_MEM_OTHER, f->devs[i].raw, SO_SB_COPIES * SO_SB_SIZE);
	so_free(SO_MEM_OTHER, f->seg_gen);
	so_free(SO_MEM_OTHER, f->seg_state);
	so_free(SO_MEM_OTHER, f->seg_stream);
	so_free(SO_MEM_OTHER, f->seg_split);
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
	if ((err = fsck_superblocks(&f)) < 0)
		goto done;
	f.seg_gen = so_zalloc(SO_MEM_OTHER, f.nsegs * sizeof(*f.seg_gen));
	f.seg_state = so_zalloc(SO_MEM_OTHER, f.nsegs);
	f.seg_stream = so_zalloc(SO_MEM_OTHER, f.nsegs);
	f.seg_split = so_zalloc(SO_MEM_OTHER, f.nsegs);
	f.seg_live = so_zalloc(SO_MEM_OTHER, f.nsegs * sizeof(*f.seg_live));
	if (!f.seg_gen || !f.seg_state || !f.seg_live || !f.seg_stream || !f.seg_split) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory for a table of %llu segments", (unsigned long long)f.nsegs);
		goto done;
	}
	if ((err = fsck_checkpoints(&f)) < 0)
		goto done;
	/* A check opens the store read-only alongside the scan; a repair must first write. */
	if (!f.rw && !(f.opts.flags & FSCK_SERIAL) && pthread_create(&opener, NULL, lib_open_main, &f) == 0)
		opener_started = true;
	err = fsck_scan_log(&f);
	if (opener_started) {
		pthread_join(opener, NULL);
		opener_started = false;
	}
	if (err < 0)
		goto done;
	if ((err = fsck_ckpt_slots(&f)) < 0 || (err = fsck_judge(&f)) < 0)
		goto done;
	if (!f.repair) {
		if (f.rw)
			fsck_close_devs(&f); /* the library's open needs the locks */
		if (!f.st && f.open_err == 0)
			fsck_lib_open(&f, false);
		if (f.open_err < 0)
			fsck_report_open_failure(&f);
		fsck_progress(&f, "index", 0, 1);
		err = fsck_model(&f);
		fsck_ckpt_crosscheck(&f);
		goto done;
	}
	/* Repair: plan from the records, write, then compare with what the library now builds. */
	if ((err = fsck_model(&f)) < 0)
		goto done;
	if ((err = fsck_run_actions(&f, false)) < 0)
		goto done;
	/* A checkpoint may name records the repair retired: the next open must replay the whole log. */
	if (f.log_modified && (err = fsck_ckpt_discard(&f)) < 0)
		goto done;
	fsck_close_devs(&f);
	fsck_lib_open(&f, false);
	if (f.open_err < 0)
		fsck_report_open_failure(&f);
	else if ((err = fsck_model(&f)) < 0)
		goto done;
	fsck_ckpt_crosscheck(&f);
	fsck_lib_close(&f);
	if (f.open_err == 0 && f.need_rw_open) {
		if ((err = fsck_repair_through_library(&f)) < 0)
			goto done;
		if ((err = fsck_reopen_devs(&f)) < 0 || (err = fsck_run_actions(&f, true)) < 0)
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
