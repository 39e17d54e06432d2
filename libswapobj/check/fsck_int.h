/*
 * fsck_int.h - state shared by the checker's files:
 *   fsck.c        the driver, reports, the library's view
 *   fsck_super.c  devices and superblocks
 *   fsck_scan.c   the log scan
 *   fsck_judge.c  verdicts once the durable point is known
 *   fsck_repair.c the repairs
 *   fsck_model.c  the independent index model and its comparison with the
 *                 library's index
 *   fsck_ckpt.c   the checkpoint phase
 */
#ifndef SO_FSCK_INT_H
#define SO_FSCK_INT_H

#include <stdarg.h>

#include "ckpt.h"
#include "format.h"
#include "fsck.h"
#include "io.h"
#include "swapobj.h"

struct swapobj_store;

struct fsck_dev {
	struct io_dev io;
	bool open;
	const char *path;
	struct sb_info sb;        /* the copy the library uses (copy 0 if it decodes) */
	bool sb_ok[SO_SB_COPIES]; /* copy decodes */
	uint8_t *raw;             /* both copies as read: SO_SB_COPIES * SO_SB_SIZE bytes, aligned */
	char sb_msg[SO_SB_COPIES][160];
};

/* A record the model needs (DATA, PUNCH, TRUNCATE, CREATE): 64 bytes. */
struct fsck_ent {
	uint64_t oid, seq, lpos, addr16, obj_size;
	uint64_t hdr16; /* the header's address: addr16, but for a page out of line (addr16 is the page's) */
	uint64_t len;   /* DATA: raw_len; PUNCH: length; else 0 */
	uint8_t type, flags;
	uint8_t damaged; /* DATA whose payload failed its checksum */
	uint8_t won;     /* model: maps at least one live page */
};

/* Every valid name record, CREATE or RENAME (the newest per object is chosen after the scan). */
struct fsck_create {
	uint64_t oid, seq, addr16, version;
	uint64_t key_off; /* into fsck.keys: key_len bytes of key encoding, then aux_len bytes of aux data */
	uint32_t bytes;   /* on-disk size of the record */
	uint32_t aux_len;
	uint16_t key_len;
	uint8_t cls, flags;
	uint8_t type; /* REC_CREATE or REC_RENAME */
};

/* Every valid AUX record. */
struct fsck_aux {
	uint64_t oid, seq, addr16;
	uint64_t data_off; /* into fsck.keys */
	uint32_t bytes, len;
};

/* What the checkpoint phase found in one slot. */
struct fsck_slot {
	uint8_t state; /* enum ckchk_state */
	bool cleared;  /* zeroed by the repair */
	uint64_t no, cut_seq, body_bytes;
	uint64_t ticket; /* of its problem, UINT64_MAX if none */
	uint32_t nsegs;
	uint32_t segs[CKPT_MAX_SEGS], gens[CKPT_MAX_SEGS];
	char why[200]; /* what is wrong with it */
};

struct fsck_inval {
	uint64_t seq;
	uint64_t key_off;
	uint16_t key_len;
};

/*
 * Something wrong found by the scan whose verdict needs the whole log (the
 * durable point) or the model (whether the record is still used).
 */
enum inc_kind {
	INC_PAYLOAD = 1, /* header intact, payload checksum mismatch: fields trusted */
	INC_REGION,      /* bytes that are no valid record, followed by valid records: fields are hints */
	INC_TAIL,        /* a damaged record where the segment's records end: fields are hints */
};

/* What names a record, so that copies of it (the cleaner's relocations keep the seq) can be found. */
struct fsck_rkey {
	uint64_t seq, oid, lpos;
	uint8_t type;   /* 0: none */
	uint8_t intact; /* this instance passed its payload checksum */
};

struct fsck_incident {
	uint64_t addr16;
	uint64_t prev_seq;           /* seq of the valid record before it in the segment (0 if none) */
	struct fsck_rkey prev, next; /* the valid records around it in the segment (type 0: none) */
	uint64_t oid, seq, lpos;
	uint32_t len; /* bytes */
	uint32_t gen; /* the segment's generation when found */
	uint8_t kind; /* enum inc_kind */
	uint8_t type;
	uint8_t hint;    /* the header fields are a guess (damaged header) */
	uint8_t legible; /* the header's fields could be read at all (magic present or restorable) */
	uint8_t split;   /* in a split segment's stream: illegible in both copies */
};

/* Writes the repair makes to a device, planned during the checks. */
enum act_kind {
	ACT_ZAP = 1,     /* clear the magic of the record (or damaged region) at addr16 */
	ACT_PADDING,     /* zero the padding [addr16*16 + from, + len) */
	ACT_SEGHDR,      /* write a rebuilt segment header (hdr) at the start of segment segno */
	ACT_ZAP_CHECKED, /* ACT_ZAP after re-reading: only if the record there still has seq/oid and the segment gen */
	ACT_FIELD,       /* write hdr[0, len) at byte from of the record (a magic or checksum field one bit off) */
	ACT_COPY,        /* split segment: copy [addr16*16 + from, + len) of the stream's copy src_copy to the other */
	ACT_HDRCOPY,     /* split segment: write hdr (a sound SEGHDR record) over its damaged copy at segment offset
	                    from16*16 */
};

struct fsck_action {
	uint64_t addr16;
	uint64_t seq, oid;
	uint64_t ticket; /* problem to mark fixed once done */
	uint32_t gen;
	uint16_t from, len;
	uint8_t kind;
	uint8_t sev;
	uint8_t src_copy; /* ACT_COPY: 0 copy A is sound, 1 copy B */
	uint64_t from16;  /* ACT_HDRCOPY: where the damaged copy lies */
	uint8_t hdr[REC_HDR_LEN + SEGHDR_LEN];
};

/* A live page whose record is damaged, to be punched by the repair. */
struct fsck_lost {
	uint64_t oid, lpos, addr16, seq;
	uint64_t hdr16; /* its record header (addr16 is the page's for a page out of line) */
	uint64_t ticket;
	uint32_t gen;
};

struct fsck {
	struct fsck_opts opts;
	struct fsck_result *res;
	bool repair;
	bool rw; /* devices opened read-write (repair, or discarding checkpoints) */
	unsigned ndevs;
	const char *const *paths;
	struct fsck_dev devs[SWAPOBJ_MAX_DEVICES]; /* in device-index order once the superblocks are read */
	uint8_t uuid[16];
	uint64_t seed;
	uint32_t seg_size, seg_shift;
	uint64_t nsegs;
	uint64_t t0;

	/* segments */
	uint32_t *seg_gen;   /* generation of the current use (0: free) */
	uint8_t *seg_stream; /* stream its segment header names (0 hot, 1..14 the cleaner's, 15 checkpoint bodies) */
	uint8_t *seg_state;  /* SEGS_* */
	uint8_t *seg_split;  /* the current use has the split layout (SEGHDR_F_SPLIT) */
	uint64_t *seg_live;  /* model: live bytes per segment (usage recount) */

	/* scan output */
	struct fsck_ent *ents;
	size_t nents, capents;
	struct fsck_create *creates;
	size_t ncreates, capcreates;
	uint64_t *deletes; /* DELETE records, and the objects RENAME records replaced */
	size_t ndeletes, capdeletes;
	struct fsck_aux *auxs;
	size_t nauxs, capauxs;
	struct fsck_inval *invals;
	size_t ninvals, capinvals;
	uint8_t *keys;
	uint64_t nkeys, capkeys;
	struct fsck_incident *incs;
	size_t nincs, capincs;
	struct fsck_rkey *rkeys; /* every intact record of the segments' current uses */
	size_t nrkeys, caprkeys;
	uint64_t durable_seq, max_seq, max_oid;
	uint64_t gen_hw;     /* highest "next generation" the SYNC records name */
	uint64_t unmodelled; /* records of types the model does not know (from later formats) */

	/* repair plan */
	struct fsck_action *acts;
	size_t nacts, capacts;
	struct fsck_lost *lost;
	size_t nlost, caplost;
	bool need_rw_open; /* key conflicts or lost pages: the library must fix them */
	bool log_modified; /* the repair wrote to a segment replay reads (not a checkpoint segment) */

	/* the checkpoint slots (fsck_ckpt.c) */
	struct fsck_slot slots[2];
	uint64_t ckpt_body_max; /* highest checkpoint number whose body records the scan met */

	/* fsck_model.c's state, kept between its passes */
	void *model;

	/* the library's view */
	struct swapobj_store *st;
	int open_err;
	char open_msg[240];
};

enum { SEGS_FREE = 0, SEGS_USED, SEGS_RESTORED, SEGS_DAMAGED_HDR };

/*
 * Report a problem. Returns a ticket for fsck_fixed() (UINT64_MAX when the
 * problem list is full; the problem is still counted).
 */
uint64_t fsck_report(struct fsck *f, enum fsck_kind kind, enum fsck_sev sev, int dev, int64_t segno, uint64_t off,
                     int type, uint64_t oid, uint64_t seq, uint64_t lpos, const char *fmt, ...)
    __attribute__((format(printf, 11, 12)));
/* The problem with this ticket (and severity) was repaired. */
void fsck_fixed(struct fsck *f, uint64_t ticket, enum fsck_sev sev);
/* Report a problem at a record address (device, segment and offset derived from it). */
uint64_t fsck_report_at(struct fsck *f, enum fsck_kind kind, enum fsck_sev sev, uint64_t addr16, int type, uint64_t oid,
                        uint64_t seq, uint64_t lpos, const char *fmt, ...) __attribute__((format(printf, 9, 10)));
void fsck_progress(struct fsck *f, const char *phase, uint64_t done, uint64_t total);
int fsck_plan(struct fsck *f, const struct fsck_action *a);
int fsck_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* fsck.c: plan to retire (zap) the record at addr16, fixing ticket's problem at sev when done. */
int fsck_plan_zap(struct fsck *f, uint64_t addr16, uint64_t ticket, enum fsck_sev sev);
/* fsck.c: the library's view: open the store (read-only, or read-write for repairs) in f->lib. */
void fsck_lib_open(struct fsck *f, bool rw);
void fsck_lib_close(struct fsck *f);
/* fsck.c: report why the library could not open the store. */
void fsck_report_open_failure(struct fsck *f);

/* fsck_super.c: phase 1. Open every device, read and decode both superblock copies, order the devices. */
int fsck_superblocks(struct fsck *f);
void fsck_close_devs(struct fsck *f);
/* fsck_super.c: are the n bytes at p all zero? */
bool fsck_all_zero(const uint8_t *p, size_t n);
/* fsck_scan.c: phase 3, the log scan. */
int fsck_scan_log(struct fsck *f);
/* fsck_judge.c: phase 4, verdicts on what the scan found, now that the durable point is known. */
int fsck_judge(struct fsck *f);
/* fsck_repair.c: phase 5. */
int fsck_reopen_devs(struct fsck *f);
/* Carry out the planned writes (checked: only the zaps of records checked after the library's repair), then sync. */
int fsck_run_actions(struct fsck *f, bool checked);
int fsck_repair_through_library(struct fsck *f);

static inline uint32_t fsck_segno_of(const struct fsck *f, uint64_t addr16)
{
	return (uint32_t)((addr16 * 16) >> f->seg_shift);
}
static inline uint64_t fsck_segoff_of(const struct fsck *f, uint64_t addr16)
{
	return (addr16 * 16) & (f->seg_size - 1);
}
/*
 * Split segment: is segment offset off in the record stream (the blocks
 * from the end down to the SEGHDR blocks), and is it in copy A?
 */
static inline bool fsck_in_stream(const struct fsck *f, uint64_t off)
{
	uint64_t nblk = f->seg_size / SO_BLOCK, pairs = (nblk - SPLIT_HDR_BLOCKS) / 2;
	return off / SO_BLOCK >= nblk - 2 * pairs;
}
static inline bool fsck_copy_a(const struct fsck *f, uint64_t off)
{
	return (f->seg_size / SO_BLOCK - off / SO_BLOCK) % 2 == 0;
}
/* Device index holding global segment segno. */
unsigned fsck_dev_of(const struct fsck *f, uint32_t segno);

/*
 * fsck_model.c: decide from the records which objects live, their keys,
 * sizes and pages. The first call reports damage that depends on it (live
 * pages whose record is damaged, dead damaged records, clashing keys) and
 * plans the repairs; every call with the library's store open (f->st)
 * compares the library's index, usage table and counts with the model.
 */
int fsck_model(struct fsck *f);
void fsck_model_free(struct fsck *f);

/* Device offset of global segment segno, *dev its device index. */
uint64_t fsck_seg_devoff(const struct fsck *f, uint32_t segno, unsigned *dev);

/*
 * Streams a segment header names: 0 and 4 HOT, 2 WARM (user writes), 1 COLD
 * and 3 FROZEN (the cleaner's), 5..14 unused, SEG_STREAM_CKPT. Is it one
 * the cleaner relocates into?
 */
static inline bool fsck_cleaner_stream(uint8_t stream)
{
	return stream == 1 || stream == 3;
}

/* fsck_ckpt.c: the checkpoint phase (after the superblocks, before the log scan). */
int fsck_checkpoints(struct fsck *f);
/*
 * A valid record in a checkpoint segment (f->seg_stream == SEG_STREAM_CKPT).
 * Returns true if it is a checkpoint record (verified with its body by
 * fsck_checkpoints), false if it does not belong there.
 */
bool fsck_ckpt_record(struct fsck *f, const struct rec *r, uint64_t addr16);
/*
 * After the log scan: the verdict on damaged slots (a torn write of the
 * checkpoint being taken at a crash is a warning, other damage an error),
 * and with a repair their clearing.
 */
int fsck_ckpt_slots(struct fsck *f);
/*
 * Damage found by the scan in a checkpoint segment of generation gen (a
 * record or region at addr16, len bytes, or the segment header when
 * addr16 is the segment's start). Reports it unless it is part of a
 * checkpoint body already reported damaged, and plans its retirement.
 */
int fsck_ckpt_damage(struct fsck *f, uint32_t segno, uint32_t gen, uint64_t addr16, uint32_t len, const char *what);
/*
 * Zero both slots (the repair changed what replay reads from the log: a
 * checkpoint taken before may name records it retired). The next open
 * replays the whole log; its next close writes a fresh checkpoint.
 */
int fsck_ckpt_discard(struct fsck *f);
/* With the library's store open (f->st): did it load the checkpoint the slots say it should? */
void fsck_ckpt_crosscheck(struct fsck *f);

#endif
