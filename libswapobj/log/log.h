/*
 * log.h - the log-structured store: devices, segments, append streams,
 * write-out, sync, record reads, and the segment usage table.
 *
 * Addresses: a record is named by its global address in 16-byte units
 * (addr16): byte address = global segment number * seg_size + offset.
 *
 * Segment life cycle (state, guarded by log.mu):
 *   FREE      no current use; its old content may still be on disk and is
 *             still replayable, so its summary (min_seq, oid bloom) is kept
 *   READY     a new SEGHDR (new generation) is durable: old content is gone
 *   OPEN      being appended to by one stream; has a memory buffer
 *   SEALED    full or closed; buffer attached until written out
 *   CLEANING  the cleaner is relocating its live records
 *   FREEING   cleaned; becomes FREE once the relocated copies are durable
 *
 * A FREE segment is also *erased* once a SEGHDR with the ERASED flag (and a
 * new generation) has been written over its block 0 and synced: from then
 * on its old records are not replayable and its summary is empty, and a
 * reopen counts it free without reading it (seg.erase).
 *
 * Streams: HOT takes user writes of new data and of pages rewritten soon
 * after their last write; WARM takes user rewrites of pages whose previous
 * copy had lived long; COLD takes the cleaner's relocations of records
 * written recently, FROZEN those of old records (space/space.h decides
 * both). So data that changes often, data that changes rarely, data caught
 * young by the cleaner and data that has sat still stop sharing segments
 * (F2FS's multi-head logging, with temperature told by age).
 *
 * Usage table (per segment): live bytes (records the index references,
 * exact), tombstone bytes, and the age stamp max_seq (the newest sequence
 * number written into the use: relocated records keep theirs, so a COLD
 * segment is as old as its data). All of it is derivable at open: live from
 * the rebuilt index, max_seq from the records or, without reading them,
 * from the SEGHDR's age stamp (hdr_seq).
 */
#ifndef SO_LOG_H
#define SO_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "io.h"
#include "swapobj.h"

enum { LOG_HOT = 0, LOG_COLD = 1, LOG_WARM = 2, LOG_FROZEN = 3, LOG_HOT2 = 4, LOG_NSTREAMS = 5 };
/* Streams the cleaner relocates into (any free segment, the reserve included, may be taken). */
static inline bool log_stream_is_reloc(int stream)
{
	return stream == LOG_COLD || stream == LOG_FROZEN;
}
/*
 * HOT has two lanes (LOG_HOT, LOG_HOT2), each a stream with its own lock,
 * buffers, open segment and write-out, so that writers of different
 * objects do not queue on one stream: an object's data records go to the
 * lane its oid hashes to (records of one object stay in one lane, which
 * keeps a sequential writer's pages back to back). Both lanes hold new and
 * often-rewritten data, so hot/cold separation is what it was.
 */
#define LOG_LANES_MIN_SEGS 24u /* smaller stores keep one HOT lane: a second open segment costs too much */
static inline uint32_t log_hot_lanes(uint64_t nsegs)
{
	return nsegs >= LOG_LANES_MIN_SEGS ? 2 : 1;
}
static inline bool log_stream_is_hot(int stream)
{
	return stream == LOG_HOT || stream == LOG_HOT2;
}
#define LOG_BUFS_PER_STREAM 2
#define SEG_BLOOM_BITS 8192u
#define SEG_BLOOM_BYTES (SEG_BLOOM_BITS / 8)
#define LOG_RESERVE_SEGS 2u /* free segments user writes never take (see log_seg_prepare) */
/*
 * The cleaner keeps this many more segments free (or READY) for user
 * streams: one ready for the next open while the open one fills, the
 * cleaner producing the next meanwhile. Not usable for live data either.
 */
#define LOG_CLEAN_AHEAD 1u
#define LOG_MIN_SEGS                                                                                                   \
	(LOG_RESERVE_SEGS + LOG_CLEAN_AHEAD + 4u + 2u) /* segments a store needs at least (format rule, kept) */
#define LOG_FLUSH_BYTES (1u << 20)                     /* write out once this much is complete */
#define SO_LOG_ROUND_DOWN(x, a) (((x) / (a)) * (a))

enum seg_state { SEG_FREE = 0, SEG_READY, SEG_OPEN, SEG_SEALED, SEG_CLEANING, SEG_FREEING };
/* Erasure of a FREE segment (guarded by log.mu). */
enum seg_erase {
	ERASE_NONE = 0, /* old records may still be replayable: summary kept */
	ERASE_WRITTEN,  /* ERASED SEGHDR written, not yet synced */
	ERASE_ARMED,    /* a sync that began after the write is in progress */
	ERASE_DONE      /* durable: old records gone, summary empty */
};

struct log_buf;

struct log_seg {
	uint32_t segno;
	uint8_t state;    /* enum seg_state */
	uint8_t stream;   /* stream of the current use */
	uint8_t armed;    /* FREEING: a sync that began after cleaning is in progress (invariant 4) */
	uint16_t dev;     /* device index */
	uint32_t gen;     /* generation of the current (or last) use */
	uint64_t hdr_ns;  /* SEGHDR timestamp, so a rewrite of block 0 is byte-identical */
	uint64_t live;    /* atomic: bytes of records the index references */
	uint64_t fill;    /* end of the last record reserved (OPEN) or present (SEALED); stored atomically
	                     while OPEN (stat reads it without the stream's lock) */
	uint64_t written; /* [0, written) is on the device (not necessarily durable) */
	uint64_t min_seq; /* atomic min over replayable records in the segment; UINT64_MAX if none */
	uint64_t max_seq;
	uint64_t sealed_ns;
	uint64_t tomb_bytes; /* atomic: tombstone bytes here (an upper bound of what cleaning must carry on) */
	uint64_t tomb_need;  /* atomic: tombstone bytes cleaning would carry, as last measured (<= tomb_bytes) */
	uint64_t tomb_seen;  /* next_seq when tomb_need was measured; the estimate decays from there */
	uint64_t hdr_seq;    /* age stamp of the use, written in its SEGHDR (see log.h top) */
	uint8_t erase;       /* enum seg_erase (FREE segments only) */
	uint8_t known;       /* summary (min/max_seq, tomb_bytes, bloom) covers every record of the use */
	/*
	 * Split layout (SEGHDR_F_SPLIT) of the current or last use. Then fill
	 * and written above are offsets in the record stream (format.h,
	 * seg_phys), and the data area has its own two marks.
	 */
	uint8_t split;
	uint8_t csum_ok;     /* atomic: csum holds every out-of-line page of the use (else log_csum_load) */
	uint64_t csum_upto;  /* else: log_csum_load reads the stream up to here (the rest was noted at open) */
	uint64_t dfill;      /* split: end of the data area reserved (OPEN) or present */
	uint64_t dwritten;   /* split: [SPLIT_HDR_BLOCKS * 4096, dwritten) of the data area is on the device */
	uint32_t *csum;      /* split: per 4 KiB block, the check of the page there (log_page_check), 0 unknown */
	struct log_buf *buf; /* memory image while OPEN or not yet written out; guarded by buf_lock */
	uint8_t *bloom;      /* SEG_BLOOM_BYTES bit set of objects with dead records here */
	uint8_t dead_any;    /* some record here has died */
};

struct log_buf {
	uint8_t *data;       /* seg_size bytes, IO_ALIGN aligned */
	struct log_seg *seg; /* segment using it, or NULL if free */
};

struct log_stream {
	pthread_mutex_t mu; /* reservation state below */
	pthread_cond_t cv;  /* inflight drained, buffer freed */
	struct log_seg *seg;
	uint64_t reserved;  /* next free byte (split: stream offset) */
	uint64_t dreserved; /* split: next free byte of the data area */
	uint32_t inflight[2];
	uint32_t epoch;
	uint32_t waiters;
	struct log_seg *ready; /* prepared segment for the next open (guarded by log.mu; HOT lanes only) */
	struct log_buf bufs[LOG_BUFS_PER_STREAM];
	pthread_mutex_t flush_mu; /* serialises write-out of this stream's buffers */
	void *wo_plan;            /* write-out scratch (log_write.c), under flush_mu */
};

/* A reservation: where a writer copies its records. */
struct log_resv {
	struct log_seg *seg;
	uint8_t *ptr;    /* buffer memory for the reserved bytes */
	uint64_t off;    /* byte offset in segment */
	uint64_t addr16; /* global address of the first byte / 16 */
	uint32_t len;
	uint32_t epoch;
	uint32_t gen; /* stamp for records' seg_gen */
	/* Split segments: room in the data area for an out-of-line payload (dlen bytes; 0: none). */
	uint8_t *dptr;
	uint64_t doff;
	uint64_t daddr16;
	uint32_t dlen;
};

struct so_log {
	uint32_t ndevs;
	struct io_dev devs[SWAPOBJ_MAX_DEVICES];
	struct sb_info sbs[SWAPOBJ_MAX_DEVICES];
	bool dev_dirty[SWAPOBJ_MAX_DEVICES]; /* written since last sync (atomic) */
	uint8_t uuid[16];
	uint64_t seed;
	uint32_t seg_size;
	uint32_t seg_shift;
	bool split;              /* new append segments take the split layout (SB_INCOMPAT_SPLIT) */
	pthread_mutex_t csum_mu; /* log_csum_load */
	uint8_t *csum_scratch;   /* seg_size bytes for log_csum_load (under csum_mu) */
	uint64_t nsegs;
	struct log_seg *segs;
	uint8_t *blooms;

	pthread_mutex_t mu;      /* segment states, free queue, counters below */
	pthread_cond_t space_cv; /* free segments appeared, or the cleaner gave up */
	uint32_t *freeq;         /* ring of FREE segment numbers */
	uint64_t freeq_head, freeq_len;
	uint64_t clean_passes; /* cleaner passes completed */
	uint64_t clean_stuck;  /* value of clean_passes when a pass could free nothing */

	uint64_t next_seq;        /* atomic */
	uint32_t next_gen;        /* under mu */
	uint64_t durable_seq;     /* every record with a lower seq is durable (set by log_sync) */
	uint64_t sync_logged_seq; /* durable_seq carried by the last SYNC record appended */
	uint64_t last_sync_ns;    /* atomic: when log_sync last completed */
	struct log_stream streams[LOG_NSTREAMS];
	pthread_rwlock_t buf_lock; /* readers of buffers vs. detach */
	pthread_mutex_t sync_mu;

	bool rdonly;
	int sticky_err; /* first write-path failure: later modifications get EROFS */
	/*
	 * Regions of split segments whose record stream was illegible in both
	 * copies below the durable point (found at open): the store is then
	 * read-only and data reads fail (log_check_readable).
	 */
	uint64_t lost_regions;

	/* Wakes the background flusher / cleaner (set by the store). */
	void (*kick)(void *ctx, int what);
	void *kick_ctx;

	/*
	 * Tombstones with a seq at or above this must be kept: the oldest
	 * checkpoint still referenced by a slot may need them when its tail is
	 * replayed. UINT64_MAX while no checkpoint exists (atomic).
	 */
	uint64_t ckpt_keep_seq;
	uint64_t ckpt_segs; /* CKPT segments held (under mu); at most log_ckpt_allow */
	/*
	 * Segments one checkpoint body takes: the largest body measured since
	 * open, at least log_ckpt_per (under mu; only grows, so the usable
	 * capacity only shrinks). That many free segments are held for the next
	 * checkpoint, less what the one being written has taken (ckpt_taken):
	 * user streams leave them alone and the cleaner keeps them free
	 * (log_ckpt_hold_locked), so a checkpoint finds room in a churned store.
	 */
	uint64_t ckpt_body;
	uint64_t ckpt_taken; /* segments the checkpoint being written has taken so far (under mu) */
	/* space (see space/space.h) */
	uint64_t live_total;  /* atomic: sum of every segment's live bytes */
	uint64_t usable;      /* atomic: live bytes the store accepts (log_usable; shrinks if checkpoints grow) */
	uint64_t cold_stamp;  /* atomic: age stamp for the next COLD SEGHDR: the victim being cleaned */
	bool discard;         /* discard segments once they are erased (SWAPOBJ_OPEN_DISCARD) */
	bool manual_clean;    /* no background cleaner: waits for space fail at once */
	bool hot_preparing;   /* the flusher is readying a HOT segment (mu; space_cv on change) */
	uint32_t *erase_list; /* nsegs entries: scratch of log_sync (under sync_mu) */

	/* statistics (atomic) */
	uint64_t user_bytes;
	uint64_t segs_cleaned;
	uint64_t bytes_relocated;
	uint64_t segs_erased;
	uint64_t segs_discarded;
	uint64_t segs_prepared_synced; /* segments whose opening needed a header write plus fdatasync */
};

enum { LOG_KICK_FLUSH = 1, LOG_KICK_CLEAN = 2 };

/* The HOT lane of an object's data records. */
static inline int log_hot_lane(const struct so_log *lg, uint64_t oid)
{
	uint64_t h = oid * 0x9e3779b97f4a7c15ull;
	return log_hot_lanes(lg->nsegs) > 1 && (h >> 63) ? LOG_HOT2 : LOG_HOT;
}

/* ---- lifecycle ---- */
int log_format(const char *const *paths, unsigned npaths, const struct swapobj_format_opts *opts);
/* Open devices, validate superblocks, allocate the segment table. Segments start FREE with empty summaries. */
int log_open(struct so_log *lg, const char *const *paths, unsigned npaths, bool rdonly, bool no_direct);
void log_close(struct so_log *lg);
/* Mark every device's superblocks with SB_INCOMPAT_SPLIT (durably); new segments then take the split layout. */
int log_upgrade_split(struct so_log *lg);

/* ---- addresses ---- */
static inline uint64_t log_addr16(const struct so_log *lg, uint32_t segno, uint64_t off)
{
	return (((uint64_t)segno << lg->seg_shift) + off) / ADDR_UNIT;
}
static inline struct log_seg *log_seg_of(const struct so_log *lg, uint64_t addr16)
{
	uint64_t segno = (addr16 * ADDR_UNIT) >> lg->seg_shift;
	return segno < lg->nsegs ? &lg->segs[segno] : NULL;
}
static inline uint64_t log_seg_off(const struct so_log *lg, uint64_t addr16)
{
	return (addr16 * ADDR_UNIT) & (lg->seg_size - 1);
}
/* Byte offset of a segment on its device. */
uint64_t log_seg_devoff(const struct so_log *lg, const struct log_seg *s);

/* ---- appending ---- */
/*
 * Reserve len bytes (<= seg_size - SEGHDR_REC_SIZE) in a stream, opening a
 * new segment if the current one cannot hold them. Never blocks on space:
 * returns SWAPOBJ_ENOSPC if a new segment is needed and none may be taken
 * (user writes leave LOG_RESERVE_SEGS to the cleaner and to LOG_URGENT
 * tombstones, so deleting still works in a full store). May wait for a
 * buffer to be written out. Caller copies into r->ptr, then log_commit().
 */
/* flags for log_reserve / log_append */
#define LOG_URGENT 0x1u /* a tombstone that frees space: may take the cleaner's reserve */
int log_reserve(struct so_log *lg, int stream, uint32_t len, unsigned flags, struct log_resv *r);
/*
 * Reserve nrec records of rlen[i] stream bytes each (in order, in one
 * segment) and, in a split segment, dlen bytes of its data area aligned to
 * dalign (out-of-line payloads; 0: none). phys[i] = byte offset in the
 * segment of record i (r->seg->buf->data + phys[i] is where to copy it):
 * contiguous in a classic segment, in a split one not necessarily (a
 * record never crosses a logical block of the stream).
 */
#define LOG_RESV_MAX 64u
int log_reserve_v(struct so_log *lg, int stream, const uint32_t *rlen, uint32_t nrec, uint32_t dlen, uint32_t dalign,
                  unsigned flags, struct log_resv *r, uint64_t *phys);
/*
 * Is a payload of this type and length put out of line (in the data area
 * of a split segment, 80-byte header in the stream)? Pages always, other
 * payloads over REC_INLINE_MAX.
 */
static inline bool log_ool(const struct so_log *lg, const struct rec *r)
{
	bool page = r->type == REC_DATA && !(r->flags & REC_F_KNOWN);
	return lg->split && (page || r->payload_len > REC_INLINE_MAX);
}
/*
 * The check the index keeps for an out-of-line page (log_seg.csum): its
 * payload checksum mixed with the page it claims to be, so a page read
 * through a stale or wrong slot fails it. Never 0 (0: not known).
 */
static inline uint32_t log_page_check(uint64_t csum64, uint64_t oid, uint64_t lpos)
{
	uint64_t h = csum64 ^ (oid * 0x9e3779b97f4a7c15ull) ^ ((lpos + 1) * 0xc2b2ae3d27d4eb4full);
	uint32_t c = (uint32_t)(h ^ (h >> 32));
	return c ? c : 1;
}
void log_commit(struct so_log *lg, int stream, const struct log_resv *r);
/* Record that a record of oid with seq now lives in seg (summary for tombstone decisions). */
void log_note(struct so_log *lg, struct log_seg *seg, uint64_t oid, uint64_t seq);
/* Allocate n consecutive sequence numbers. */
static inline uint64_t log_next_seq(struct so_log *lg, uint64_t n)
{
	return __atomic_fetch_add(&lg->next_seq, n, __ATOMIC_RELAXED);
}
/*
 * Wait (without holding object locks) until a user write of about len
 * bytes can find space, kicking the cleaner: room in the open HOT segment
 * (unless need_seg: the caller found the open segment full) or a segment
 * a user stream may take. SWAPOBJ_ENOSPC if the cleaner reports that it
 * cannot free one, or at once with manual cleaning (the caller must run
 * swapobj_store_clean). Never waits forever: the cleaner always finishes
 * its pass, and a pass that frees nothing ends the wait.
 */
int log_space_wait(struct so_log *lg, uint64_t len, bool need_seg);
/* Segments user streams may still take: free ones beyond the reserve plus READY ones. */
uint64_t log_user_avail(struct so_log *lg);

/* ---- write-out ---- */
/* Write out complete data of a stream: full blocks only, or everything incl. the partial tail block. */
int log_flush(struct so_log *lg, int stream, bool tail);
/* Background step: write out what is due, prepare READY segments. Returns 1 if it did anything. */
int log_background(struct so_log *lg);
/* Flush everything, fdatasync dirty devices, then release FREEING segments. */
int log_sync(struct so_log *lg);
/* Enter the sticky read-only state after a failed write or sync. */
int log_fail(struct so_log *lg, int err);
/* 0, or SWAPOBJ_EROFS (with message) if read-only or after a sticky failure. */
int log_check_writable(struct so_log *lg);
/* 0, or SWAPOBJ_ECORRUPT if records were lost in both copies (lost_regions): no page can be trusted as current. */
int log_check_readable(struct so_log *lg);

/* ---- reading ---- */
/*
 * Read the record at addr16 (at most maxlen bytes of it; records never
 * cross segments). bounce must be IO_ALIGN-aligned and hold maxlen +
 * 2*IO_ALIGN bytes. *rec points at the record inside bounce.
 */
int log_read(struct so_log *lg, uint64_t addr16, uint32_t maxlen, uint8_t *bounce, const uint8_t **rec);
/*
 * Read and decode the record at addr16 (in a split segment: copy A of its
 * header, else copy B, and its out-of-line payload): rec_decode's verdicts
 * (never REC_OOL), *err set if the read itself failed. bounce: IO_ALIGN
 * aligned, log_rec_bounce(maxlen) bytes; maxlen bounds the payload.
 */
static inline uint32_t log_rec_bounce(uint32_t maxlen)
{
	return 2u * 4096u + (uint32_t)SO_LOG_ROUND_DOWN(maxlen + 4095u, 4096u) + 2u * 4096u;
}
enum rec_verdict log_read_rec(struct so_log *lg, uint64_t addr16, uint32_t maxlen, uint8_t *bounce, bool verify,
                              struct rec *out, uint32_t *size, int *err);
/* One read of log_read_many: in addr16, len, bounce (as log_read's); out rec, res. */
struct log_rd {
	uint64_t addr16;
	uint32_t len;
	uint8_t *bounce;
	const uint8_t *rec;
	int res; /* 0 or a negative swapobj error */
};
/* Bounce bytes one log_rd of len bytes needs: whole blocks covering it wherever it starts. */
static inline uint32_t log_rd_bounce(uint32_t len)
{
	return (uint32_t)SO_LOG_ROUND_DOWN(len + IO_ALIGN - 1, IO_ALIGN) + IO_ALIGN;
}
#define LOG_READ_MANY_MAX 64u /* reads one log_read_many call takes */
/*
 * Several log_reads at once: records still in memory are copied, the rest
 * are read from the devices with every read submitted together. Each entry
 * gets its own result; returns the number of entries that failed.
 */
int log_read_many(struct so_log *lg, struct log_rd *v, unsigned n);
/* Read a whole segment prefix [0, len) into buf (aligned, >= roundup(len)); a split segment is read whole. */
int log_read_seg(struct so_log *lg, struct log_seg *s, uint8_t *buf, uint64_t len);

/*
 * Retire a record in place by clearing its magic (used at open for torn
 * writes, so no later SYNC can make them look durable). The rest of the
 * block is rewritten unchanged, so a torn rewrite cannot hurt its
 * neighbours. Not durable until the device is synced (log_sync_devices).
 */
int log_zap(struct so_log *lg, uint64_t addr16);
/*
 * Split segment s: make both copies of logical block lblock of its stream
 * whole again (sector by sector, the copy holding more records of the use
 * wins). At open, for blocks where replay found a record in one copy only.
 * Not durable until log_sync_devices.
 */
int log_resync_block(struct so_log *lg, struct log_seg *s, uint64_t lblock);
/* fdatasync every device written to since the last sync. */
int log_sync_devices(struct so_log *lg);

/* ---- usage table ---- */
static inline void log_usage_add(struct so_log *lg, uint64_t addr16, uint32_t bytes)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	if (s && bytes) {
		__atomic_add_fetch(&s->live, bytes, __ATOMIC_RELAXED);
		__atomic_add_fetch(&lg->live_total, bytes, __ATOMIC_RELAXED);
	}
}
static inline void log_usage_sub(struct so_log *lg, uint64_t addr16, uint32_t bytes)
{
	struct log_seg *s = log_seg_of(lg, addr16);
	if (s && bytes) {
		__atomic_sub_fetch(&s->live, bytes, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&lg->live_total, bytes, __ATOMIC_RELAXED);
	}
}
/*
 * Pages one new segment holds when all it gets is pages: classic, records
 * back to back after the SEGHDR; split, pages in the data area and their
 * headers (twice) in the stream's blocks.
 */
static inline uint64_t log_seg_pages(const struct so_log *lg)
{
	if (!lg->split)
		return (lg->seg_size - SEGHDR_REC_SIZE) / REC_DATA_SIZE;
	/* Headers never cross a sector of the stream: 6 of 80 bytes per 512, 48 per block. */
	uint64_t nblk = lg->seg_size / SO_BLOCK, n = 0;
	uint64_t per_blk = (SPLIT_SECTOR / REC_OOL_HDR_LEN) * (SO_BLOCK / SPLIT_SECTOR);
	/* n pages need ceil((n + 1) / per_blk) stream blocks (the first holds the SEGHDR's copy), twice. */
	uint64_t lo = 0, hi = nblk;
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2, sblk = (mid + 1 + per_blk - 1) / per_blk;
		if (SPLIT_HDR_BLOCKS + mid + 2 * sblk <= nblk)
			lo = mid;
		else
			hi = mid - 1;
	}
	n = lo;
	return n;
}
/* Live bytes (charges: extslot.h) one segment can hold. */
static inline uint64_t log_seg_payload(const struct so_log *lg)
{
	return log_seg_pages(lg) * REC_DATA_SIZE;
}
/* Bytes of log_rec_cost one segment can hold. */
static inline uint64_t log_seg_room(const struct so_log *lg)
{
	return lg->split ? log_seg_pages(lg) * (SWAPOBJ_PAGE_SIZE + 2u * REC_OOL_HDR_LEN)
	                 : lg->seg_size - SEGHDR_REC_SIZE - REC_DATA_SIZE;
}
/*
 * Segments one checkpoint body is first assumed to take: room for an index
 * of ~8 bytes per 4 KiB page of the whole store (random writes; the
 * segment table and its summaries fit in that too). A store of many small
 * objects (or large aux data) has a larger body: ckpt_body grows to it.
 */
static inline uint64_t log_ckpt_per(const struct so_log *lg)
{
	uint64_t per = (lg->nsegs * (uint64_t)lg->seg_size / 512 + lg->seg_size - 1) / lg->seg_size;
	return per ? per : 1;
}
/*
 * Segments checkpoints may hold: two kept plus one being written (held
 * free until it is), each of ckpt_body segments.
 */
static inline uint64_t log_ckpt_allow(const struct so_log *lg)
{
	uint64_t body = __atomic_load_n(&lg->ckpt_body, __ATOMIC_RELAXED);
	return 3 * (body > log_ckpt_per(lg) ? body : log_ckpt_per(lg));
}
/*
 * Live bytes the store accepts: every segment but the reserve, the
 * cleaner's lookahead, one open segment per stream and the checkpoints'
 * allowance (log_ckpt_allow), each holding log_seg_payload bytes. With at
 * most this much live, the cleaner can always free a segment (at worst by
 * compacting every other one) and keep one checkpoint body's room free, so
 * overwrites never fail for lack of space and checkpoints go on.
 */
static inline uint64_t log_usable(const struct so_log *lg)
{
	uint64_t keep =
	    LOG_RESERVE_SEGS + LOG_CLEAN_AHEAD + (LOG_NSTREAMS - 2) + log_hot_lanes(lg->nsegs) + log_ckpt_allow(lg);
	return lg->nsegs > keep ? (lg->nsegs - keep) * log_seg_payload(lg) : 0;
}
/*
 * Free segments held for the next checkpoint body (mu held): user streams
 * never take them, and the cleaner counts them as not available to users.
 */
static inline uint64_t log_ckpt_hold_locked(const struct so_log *lg)
{
	return lg->ckpt_body > lg->ckpt_taken ? lg->ckpt_body - lg->ckpt_taken : 0;
}
/* Free segments user streams may not take (mu held): the cleaner's reserve and the checkpoint's room. */
static inline uint64_t log_user_keep_locked(const struct so_log *lg)
{
	return LOG_RESERVE_SEGS + log_ckpt_hold_locked(lg);
}
/* ---- segments for the cleaner and replay ---- */
/* Mark segment FREE and queue it (caller holds mu). */
void log_seg_free_locked(struct so_log *lg, struct log_seg *s);
/*
 * True if some segment other than except may hold a *dead* record of oid
 * older than seq (oid 0: of any object). A tombstone must stay on disk while
 * this holds, or replay could resurrect what it killed. Live records need no
 * shadowing, which is why only dead ones are counted.
 */
bool log_older_exists(struct so_log *lg, const struct log_seg *except, uint64_t oid, uint64_t seq);
uint64_t log_free_count(struct so_log *lg);

/* ---- checkpoint segments (recovery/ckpt.c) ---- */
/*
 * Take a FREE segment for a checkpoint body: it gets a new generation and
 * stream SEG_STREAM_CKPT and is SEALED at once (the cleaner never picks
 * CKPT segments). The caller writes the SEGHDR itself, with the body.
 * Takes from the room held for checkpoints (log_ckpt_hold_locked) first,
 * never from the cleaner's reserve (LOG_RESERVE_SEGS): SWAPOBJ_ENOSPC then.
 */
int log_ckpt_take(struct so_log *lg, struct log_seg **out);
/*
 * A checkpoint body of nsegs segments was measured (or loaded): raise
 * ckpt_body to it if larger, which holds more room for the next one and
 * shrinks the usable capacity to match.
 */
void log_ckpt_body_note(struct so_log *lg, uint64_t nsegs);
/* Free segments a checkpoint body may take now (beyond the cleaner's reserve). */
uint64_t log_ckpt_room(struct so_log *lg);
/* The checkpoint being written is done (published or abandoned): its room is held again in full. */
void log_ckpt_end(struct so_log *lg);
/* A checkpoint segment is no longer referenced by any slot: free it. */
void log_ckpt_release(struct so_log *lg, struct log_seg *s);
/* Encode s's SEGHDR record (SEGHDR_REC_SIZE bytes) at dst. */
void log_encode_seghdr(struct so_log *lg, const struct log_seg *s, uint8_t *dst);
/* Must a tombstone with this seq stay on disk for a retained checkpoint? */
static inline bool log_ckpt_needs(struct so_log *lg, uint64_t seq)
{
	return seq >= __atomic_load_n(&lg->ckpt_keep_seq, __ATOMIC_RELAXED);
}
/* Bytes submitted to all devices so far. */
uint64_t log_device_bytes(struct so_log *lg);

/*
 * Append one record (header fields in r, payload of plen bytes) to a stream:
 * reserve, assign r->seq, copy, seal with the segment's generation, note it
 * in the segment summary, commit. *addr16 = its address. Callers hold the
 * lock that orders their object's (or the namespace's) updates.
 */
int log_append(struct so_log *lg, int stream, unsigned flags, struct rec *r, const void *payload, uint32_t plen,
               uint64_t *addr16);
/*
 * log_append, or with reloc a relocation (the cleaner's: r->seq and the
 * payload checksum r->csum are kept), in the layout of the store's new
 * segments (a classic record relocated into a split segment changes form). For
 * a page put out of line, *addr16 is the page's data address (what extent
 * slots name); otherwise the record's.
 */
int log_put(struct so_log *lg, int stream, unsigned flags, struct rec *r, const void *payload, uint32_t plen,
            bool reloc, uint64_t *addr16);
/*
 * Bytes a stream's open segment still has room for (0 if none is open): a
 * hint, for deciding whether to wait or how many segments a move needs.
 */
uint64_t log_stream_room(struct so_log *lg, int stream);
/*
 * Bytes a record of this size (stream bytes sz, payload plen) takes from
 * a segment of the store's layout when appended or relocated.
 */
static inline uint64_t log_rec_cost(const struct so_log *lg, const struct rec *r, uint32_t sz)
{
	if (!lg->split)
		return sz;
	if (log_ool(lg, r))
		return 2u * REC_OOL_HDR_LEN + ((r->payload_len + SWAPOBJ_PAGE_SIZE - 1) & ~(SWAPOBJ_PAGE_SIZE - 1));
	return 2u * (sz < REC_HDR_LEN ? REC_HDR_LEN : sz);
}
/* Split segment s: the out-of-line page at byte offset doff has this check (log_page_check). */
void log_csum_set(struct log_seg *s, uint64_t doff, uint32_t check);
/* Give split segment s an empty table of page checks (allocated once, kept across uses). */
int log_csum_alloc(struct so_log *lg, struct log_seg *s);
void log_csum_drop(struct so_log *lg, struct log_seg *s);
/* Give every segment its table (a store with the split layout, at open). */
int log_csum_alloc_all(struct so_log *lg);
/*
 * Make sure split segment s's page checks are all known, reading its
 * record stream once if not (after an open from a checkpoint, which does
 * not read sealed segments). 0, or an error reading or allocating.
 */
int log_csum_load(struct so_log *lg, struct log_seg *s);
/*
 * Verify a 4 KiB page read from split-segment address addr16 against the
 * check its record noted, for page lpos of oid: 0 or SWAPOBJ_ECORRUPT
 * (with the place named), or an error loading the checks.
 */
int log_page_verify(struct so_log *lg, uint64_t addr16, const uint8_t *page, uint64_t oid, uint64_t lpos);

/*
 * A record of oid at addr16 died (replaced, punched, deleted): uncharge it
 * and remember in its segment that oid has a dead record there, which a
 * newer tombstone of oid must outlive (see log_older_exists).
 */
void log_rec_died(struct so_log *lg, uint64_t addr16, uint32_t bytes, uint64_t oid);

#endif
