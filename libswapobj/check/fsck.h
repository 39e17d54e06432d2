/*
 * fsck.h - the store checker behind swapobj-fsck (internal API; tools and
 * tests link the static library with internal headers).
 *
 * fsck_run() reads the devices directly and verifies, in phases:
 *   1. superblocks   both copies of every device: magic, version, checksum,
 *                    geometry, zero tail, identical copies, devices of one
 *                    store with contiguous segment numbers;
 *   2. checkpoints   fsck_checkpoints() (fsck_ckpt.c): both slots and the
 *                    bodies they name, re-verified from FORMAT.md;
 *   3. log           every segment header and every record: header and
 *                    payload checksums, structure, padding, damaged regions,
 *                    torn tails;
 *   4. index         an independent model of the index built from the
 *                    records alone (which objects live, their keys, sizes
 *                    and the record each page maps to) compared with the
 *                    index the library builds when it opens the store, the
 *                    usage table against a recount, store-wide counts.
 * With FSCK_REPAIR it then drops what is damaged and nothing else (see
 * fsck.c for each repair) and leaves a store that opens and checks clean.
 *
 * Problems are kept in the result (the first FSCK_MAX_PROBLEMS in detail,
 * all of them counted). Severity decides the verdict: errors make the store
 * "not clean" unless repaired; warnings (torn writes of a crash, damage in
 * records nothing uses any more) are reported but do not.
 */
#ifndef SO_FSCK_H
#define SO_FSCK_H

#include <stdbool.h>
#include <stdint.h>

#define FSCK_REPAIR 0x1u  /* -y: fix what is damaged (opens the devices read-write) */
#define FSCK_REBUILD 0x2u /* --rebuild: discard checkpoints so the next open replays the whole log (writes) */
#define FSCK_DIRECT 0x4u  /* O_DIRECT reads (default: buffered with read-ahead, shared with the library's open) */
#define FSCK_SERIAL 0x8u  /* no helper threads (library open after the scan, no reader thread) */

#define FSCK_MAX_PROBLEMS 100000u

enum fsck_sev { FSCK_INFO = 0, FSCK_WARN = 1, FSCK_ERROR = 2 };

enum fsck_kind {
	FSCK_SB_BAD = 1,    /* a superblock copy does not decode */
	FSCK_SB_DIFFER,     /* both copies decode but differ */
	FSCK_SB_TAIL,       /* non-zero bytes past the used part of a superblock block */
	FSCK_SEGHDR,        /* a segment holds records but its header is damaged */
	FSCK_REC_HEADER,    /* a record header is damaged: the record cannot be used */
	FSCK_REC_PAYLOAD,   /* a durable record's payload is damaged */
	FSCK_REC_TORN,      /* an unacknowledged write cut by a crash (after the durable point) */
	FSCK_REC_DEAD,      /* damage in a record nothing refers to any more */
	FSCK_REC_PADDING,   /* non-zero padding after a record's payload */
	FSCK_REC_MALFORMED, /* checksums match but the fields are impossible */
	FSCK_PAGE_DAMAGED,  /* a live page maps to a damaged record: reads of it fail */
	FSCK_KEY_CONFLICT,  /* two live objects' keys clash (same key or one a prefix of the other) */
	FSCK_INDEX,         /* the library's index differs from the model built from the records */
	FSCK_USAGE,         /* a segment's live byte count differs from the recount */
	FSCK_COUNTS,        /* store-wide counts differ */
	FSCK_OPEN,          /* the library cannot open the store */
	FSCK_CHECKPOINT,    /* checkpoint phase */
	FSCK_REC_COPY,    /* split segment: one copy of a record (or SEGHDR) damaged, the other intact: nothing lost */
	FSCK_REGION_LOST, /* split segment: stream bytes illegible in both copies below the durable point */
};

struct fsck_problem {
	enum fsck_kind kind;
	enum fsck_sev sev;
	bool fixed;    /* repaired (FSCK_REPAIR) */
	int dev;       /* device index, -1 if none */
	int64_t segno; /* global segment number, -1 if none */
	uint64_t off;  /* byte offset in the segment (or on the device, for superblocks) */
	int type;      /* record type, 0 if unknown */
	uint64_t oid;  /* object id, 0 if none or unknown */
	uint64_t seq;  /* record sequence number, 0 if unknown */
	uint64_t lpos; /* byte offset in the object, when it names a page */
	char msg[240]; /* one line, no newline */
};

/* Called now and then from the thread running fsck_run: phase name, work done / total (bytes). */
typedef void (*fsck_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

struct fsck_opts {
	unsigned flags; /* FSCK_* */
	fsck_progress_fn progress;
	void *progress_ctx;
};

#define FSCK_NTYPES 16

struct fsck_result {
	/* what was checked */
	uint32_t ndevs;
	uint32_t seg_size;
	uint64_t store_bytes;   /* device bytes the store spans (all devices) */
	uint64_t segments;      /* total */
	uint64_t segments_used; /* with a valid segment header */
	uint64_t bytes_read;    /* from the devices by the scan */
	uint64_t records;       /* valid records of segments' current uses */
	uint64_t records_by_type[FSCK_NTYPES];
	uint64_t durable_seq; /* highest durable point named by a SYNC record */
	uint64_t objects, pages, live_bytes;
	uint64_t scan_ns, total_ns;
	char checkpoint[160]; /* what the checkpoint phase found, one line */
	/* what was found */
	uint64_t errors, warnings, infos;
	uint64_t fixed_errors, fixed_warnings;
	uint64_t damaged_headers, damaged_payloads, torn, lost_pages;
	uint64_t copy_damage;  /* split segments: records damaged in one copy only (FSCK_REC_COPY) */
	uint64_t lost_regions; /* split segments: regions lost in both copies (FSCK_REGION_LOST) */
	bool modified;         /* the repair wrote to the devices */
	/* the first FSCK_MAX_PROBLEMS problems, in the order found */
	struct fsck_problem *problems;
	uint64_t nproblems, problems_cap;
	uint64_t problems_dropped;
};

/*
 * Check (and with FSCK_REPAIR repair) the store on paths (1..16 devices, any
 * order). Returns 0 when the check ran, whatever it found (see *out), or a
 * negative SWAPOBJ_E* code when it could not: SWAPOBJ_EFORMAT (not a store,
 * no valid superblock on a device, devices of different stores, a device
 * shorter than its superblock says), SWAPOBJ_EBUSY (the store is open
 * elsewhere), SWAPOBJ_EIO, SWAPOBJ_ENOMEM, SWAPOBJ_ENOENT, SWAPOBJ_EINVAL.
 * On error *out still holds what was found so far. Release *out with
 * fsck_result_free() in every case.
 */
int fsck_run(const char *const *paths, unsigned npaths, const struct fsck_opts *opts, struct fsck_result *out);
void fsck_result_free(struct fsck_result *res);

/* Errors not repaired. */
static inline uint64_t fsck_errors_left(const struct fsck_result *r)
{
	return r->errors - r->fixed_errors;
}

const char *fsck_kind_name(enum fsck_kind k);
const char *fsck_sev_name(enum fsck_sev s);
const char *fsck_type_name(int type);

#endif
