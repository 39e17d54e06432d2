/*
 * swapobj.h - libswapobj public API.
 *
 * libswapobj stores data evicted from memory: swapped-out pages of processes
 * and virtual machines, and cached copies of network-file data. Each region
 * is an *object* named by a binary *key*; an object maps byte offsets to
 * extents in a log-structured store that spans one or more files or block
 * devices.
 *
 * Conventions, for every function below:
 *  - Functions return 0 (or a non-negative count) on success and a negative
 *    SWAPOBJ_E* code on failure. Codes never change once released. After a
 *    failure, swapobj_errmsg() returns a one-line message for the calling
 *    thread saying what failed and why.
 *  - Out-parameters come first. Handles are opaque.
 *  - Option structs carry a `version` field; initialise them with their
 *    *_INIT macro. Result structs are size-tagged: the caller passes
 *    sizeof the struct it has, and the library fills that many bytes.
 *    Later versions only append fields to either, so a program built
 *    against this header keeps working with later library versions.
 *  - Every function is thread-safe unless it says otherwise. A handle may be
 *    used from several threads at once; it must not be used after the call
 *    that releases it (swapobj_obj_close, swapobj_store_close) has started.
 *  - Misuse, one rule: everything a caller passes is checked at this
 *    boundary and a bad argument gets SWAPOBJ_EINVAL, never a crash: NULL
 *    handles and pointers, lengths, offsets, unknown flags, struct versions
 *    (a daemon serving other programs' requests must not be crashed by
 *    them). What cannot be checked is undefined: a handle used after the
 *    call that releases it, buffers shorter than the length given. Inside
 *    the library, broken invariants are assertions, and bad bytes read
 *    from a device are never either: they are SWAPOBJ_ECORRUPT.
 *  - Each function lists the errors it can return. SWAPOBJ_ENOMEM and,
 *    for calls that touch the devices, SWAPOBJ_EIO are possible wherever
 *    listed; a store that failed a write turns read-only for good and its
 *    modifying calls return SWAPOBJ_EROFS.
 *
 * This header compiles alone as C99 (-pedantic) and as C++.
 */
#ifndef SWAPOBJ_H
#define SWAPOBJ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(SWAPOBJ_BUILDING)
#define SWAPOBJ_API __attribute__((visibility("default")))
#else
#define SWAPOBJ_API
#endif

#define SWAPOBJ_VERSION_MAJOR 0
#define SWAPOBJ_VERSION_MINOR 1
#define SWAPOBJ_VERSION_PATCH 0
#define SWAPOBJ_VERSION_STRING "0.1.0"

/** Library version string, e.g. "0.1.0". The pointer is static. */
SWAPOBJ_API const char *swapobj_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Error codes. Values are fixed forever once released; new codes are only
 * appended. swapobj_errno() maps each to the closest errno value.
 */
enum swapobj_error {
	SWAPOBJ_OK = 0,
	SWAPOBJ_EINVAL = -1,        /* invalid argument */
	SWAPOBJ_ENOMEM = -2,        /* out of memory */
	SWAPOBJ_EIO = -3,           /* device I/O error */
	SWAPOBJ_ENOSPC = -4,        /* store full (after cleaning) */
	SWAPOBJ_ENOENT = -5,        /* no such object or prefix */
	SWAPOBJ_EEXIST = -6,        /* object exists (SWAPOBJ_O_EXCL) */
	SWAPOBJ_ESTALE = -7,        /* handle's object was deleted, invalidated or replaced by a newer version */
	SWAPOBJ_ECORRUPT = -8,      /* on-disk data failed its checksum or is malformed */
	SWAPOBJ_EROFS = -9,         /* store opened read-only, or made read-only after a failed write */
	SWAPOBJ_EBUSY = -10,        /* store in use by another process, or handles still open */
	SWAPOBJ_ENOTDIR = -11,      /* a prefix of the key names an object */
	SWAPOBJ_EISDIR = -12,       /* the key is a prefix of other keys */
	SWAPOBJ_EFORMAT = -13,      /* not a swapobj store, or an unsupported format version */
	SWAPOBJ_EFBIG = -14,        /* offset or size beyond SWAPOBJ_MAX_OBJECT_SIZE */
	SWAPOBJ_ENAMETOOLONG = -15, /* key too long (components or total bytes) */
	SWAPOBJ_ENOTEMPTY = -16,    /* directory object still has children */
	SWAPOBJ_ENOTSUP = -17,      /* operation not supported on this object (e.g. renaming a non-empty directory) */
	SWAPOBJ_ECACHEFULL = -18    /* a CACHE write refused: free space is below the stop level (not cached) */
};

/** Static description of an error code ("no space left in store"). */
SWAPOBJ_API const char *swapobj_strerror(int err);
/** The calling thread's message for its last failed call. Valid until the thread's next failed call. */
SWAPOBJ_API const char *swapobj_errmsg(void);
/** The errno value closest to a swapobj error (EINVAL, ENOSPC, EIO, ...); 0 for 0. */
SWAPOBJ_API int swapobj_errno(int err);

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

#define SWAPOBJ_KEY_MAX_COMPONENTS 16
#define SWAPOBJ_COMPONENT_MAX 255  /* bytes in one component (at least 1) */
#define SWAPOBJ_KEY_MAX_BYTES 1024 /* sum of component bytes */

/*
 * A key: 1..16 binary components. The struct is plain data owned by the
 * caller (typically on the stack); the library copies what it keeps.
 * Build it with swapobj_key_init() and swapobj_key_push() or one of the
 * shape helpers. A prefix is a key whose components are the first k of
 * another key's.
 */
typedef struct swapobj_key {
	uint32_t ncomp;                           /* number of components */
	uint32_t nbytes;                          /* bytes used in buf */
	uint16_t off[SWAPOBJ_KEY_MAX_COMPONENTS]; /* start of component i in buf */
	uint8_t len[SWAPOBJ_KEY_MAX_COMPONENTS];  /* length of component i */
	uint8_t buf[SWAPOBJ_KEY_MAX_BYTES];       /* component bytes, back to back */
} swapobj_key;

/** Empty key (no components). */
SWAPOBJ_API void swapobj_key_init(swapobj_key *key);
/**
 * Append one component of 1..255 bytes.
 * Errors: SWAPOBJ_EINVAL (NULL, len 0), SWAPOBJ_ENAMETOOLONG (len > 255,
 * more than 16 components, or more than 1024 bytes in all). On error the key
 * is unchanged.
 */
SWAPOBJ_API int swapobj_key_push(swapobj_key *key, const void *data, size_t len);
/**
 * Append a component holding a 64-bit number (8 bytes, big-endian so keys
 * sort numerically). Errors: as swapobj_key_push.
 */
SWAPOBJ_API int swapobj_key_push_u64(swapobj_key *key, uint64_t v);
/*
 * The shape helpers below start key afresh (swapobj_key_init) and push
 * their components. Errors: SWAPOBJ_EINVAL (NULL key or component, empty
 * component), SWAPOBJ_ENAMETOOLONG (a component over 255 bytes).
 */
/** Anonymous memory: "anon" / owner (e.g. VM or mm id) / anon_vma id. */
SWAPOBJ_API int swapobj_key_anon(swapobj_key *key, uint64_t owner, uint64_t anon_vma);
/** Shared memory: "shmem" / device / inode / generation. */
SWAPOBJ_API int swapobj_key_shmem(swapobj_key *key, uint64_t dev, uint64_t ino, uint64_t gen);
/** Network-file cache: "fscache" / volume key / cookie key (binary, 1..255 bytes each). */
SWAPOBJ_API int swapobj_key_fscache(swapobj_key *key, const void *volume, size_t volume_len, const void *cookie,
                                    size_t cookie_len);
/** Prefix of key (its first ncomp components) into out. EINVAL if ncomp > key->ncomp. */
SWAPOBJ_API int swapobj_key_prefix(swapobj_key *out, const swapobj_key *key, uint32_t ncomp);

/* ------------------------------------------------------------------------ */
/* Stores                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct swapobj_store swapobj_store;
typedef struct swapobj_obj swapobj_obj;

#define SWAPOBJ_PAGE_SIZE 4096u
#define SWAPOBJ_MAX_DEVICES 16
#define SWAPOBJ_SEGMENT_MIN (1u << 20)
#define SWAPOBJ_SEGMENT_MAX (64u << 20)
#define SWAPOBJ_SEGMENT_DEFAULT (8u << 20)
/** Largest object size: 2^50 bytes (1 PiB). */
#define SWAPOBJ_MAX_OBJECT_SIZE (1ull << 50)

/*
 * Segment layouts (docs/FORMAT.md). SPLIT, the default: pages sit 4 KiB
 * aligned in a data area and record headers, written twice, in a stream at
 * the segment's end, so a page is read with one aligned read and one
 * damaged sector never loses a record. CLASSIC: headers and pages back to
 * back, readable by libswapobj releases before the split layout.
 */
#define SWAPOBJ_LAYOUT_DEFAULT 0
#define SWAPOBJ_LAYOUT_CLASSIC 1
#define SWAPOBJ_LAYOUT_SPLIT 2

#define SWAPOBJ_FORMAT_OPTS_VERSION 2
struct swapobj_format_opts {
	unsigned version;      /* SWAPOBJ_FORMAT_OPTS_VERSION (1: the struct without layout) */
	uint32_t segment_size; /* bytes, power of two in [SEGMENT_MIN, SEGMENT_MAX]; 0 = default 8 MiB */
	uint64_t size;         /* bytes to use on each regular file: 0 = its current size; a file
	                          smaller than this is extended (sparse). Ignored for block devices. */
	unsigned layout;       /* SWAPOBJ_LAYOUT_* */
};
#define SWAPOBJ_FORMAT_OPTS_INIT                                                                                       \
	{                                                                                                              \
		SWAPOBJ_FORMAT_OPTS_VERSION, 0, 0, SWAPOBJ_LAYOUT_DEFAULT                                              \
	}

/**
 * Format a new store on one or more files or block devices (paths, npaths
 * in 1..SWAPOBJ_MAX_DEVICES). Regular files are created if missing. Each
 * device needs room for its superblocks and at least 2 segments, the store
 * at least 9 in all (the cleaner's reserve and lookahead, one open segment
 * per log stream, and room for data).
 * Destroys whatever the devices held.
 * Errors: SWAPOBJ_EINVAL (bad options, device too small), SWAPOBJ_EIO
 * (cannot open, size or write a device), SWAPOBJ_ENOMEM.
 */
SWAPOBJ_API int swapobj_format(const char *const *paths, unsigned npaths, const struct swapobj_format_opts *opts);

/* Flags for swapobj_open_opts.flags */
#define SWAPOBJ_OPEN_RDONLY 0x1u    /* no writes, no background threads; the log is replayed in memory only */
#define SWAPOBJ_OPEN_NO_DIRECT 0x2u /* use buffered I/O even where O_DIRECT works */
/*
 * No background cleaning: the caller drives it with swapobj_store_clean()
 * (an embedding VM monitor that schedules its own work, say). A write that
 * needs a new segment while none is free gets SWAPOBJ_ENOSPC at once rather
 * than waiting: a caller that never cleans sees ENOSPC once the store has
 * been written through once, never a hang. Invalidated prefixes are freed
 * by swapobj_store_clean() too. Write-out still runs in the background.
 */
#define SWAPOBJ_OPEN_MANUAL_CLEAN 0x4u
/*
 * Discard segments once they are free and their erasure is durable:
 * fallocate(PUNCH_HOLE) on files, BLKDISCARD on block devices (SSDs, thin
 * volumes get the space back). A device that refuses is simply not
 * discarded again. Off by default: on files it costs a block allocation
 * when the segment is reused.
 */
#define SWAPOBJ_OPEN_DISCARD 0x8u
/*
 * Do not use io_uring: write-out issues its requests one after the other
 * with pwrite instead of several at once through a per-thread io_uring
 * ring. The library falls back to that on its own where the kernel refuses
 * io_uring (kernel.io_uring_disabled, a seccomp filter, an old kernel);
 * the environment variable SWAPOBJ_IO=sync does the same for every store a
 * process opens. swapobj_store_stat's io_uring says which is in use.
 */
#define SWAPOBJ_OPEN_NO_IO_URING 0x10u
/*
 * Keep a store formatted with the classic layout (SWAPOBJ_LAYOUT_CLASSIC)
 * classic. Without it, opening such a store for writing upgrades it: its
 * superblocks get the split-layout feature bit (releases before that
 * layout then refuse the store), new segments take the split layout, and
 * the cleaner rewrites old records into it as it relocates them.
 */
#define SWAPOBJ_OPEN_NO_UPGRADE 0x20u
/* Never evict CACHE objects (swapobj_open_opts.cache_*): a full store answers every write with ENOSPC. */
#define SWAPOBJ_OPEN_NO_CULL 0x40u

/* Version 2 appended cache_run/cache_cull/cache_stop; version 1 structs (without them) are still accepted. */
#define SWAPOBJ_OPEN_OPTS_VERSION 2
struct swapobj_open_opts {
	unsigned version;
	unsigned flags; /* SWAPOBJ_OPEN_* */
	/*
	 * Take a checkpoint (index snapshot, so the next open replays only what
	 * follows it) after this many bytes written to the devices; also every
	 * 30 s while anything is written, and at close. 0 = default: a quarter
	 * of the capacity, between 32 and 256 MiB. UINT64_MAX = never (every
	 * open then replays the whole log).
	 */
	uint64_t checkpoint_bytes;
	/*
	 * Cache culling (version 2), in percent of usable_bytes that is free
	 * (usable_bytes - live_bytes, swapobj_store_stat), as cachefilesd's
	 * brun/bcull/bstop. Below cache_cull the background evicts unpinned
	 * CACHE objects, least recently used first, until cache_run is free
	 * again. Below cache_stop, writes to CACHE objects fail at once with
	 * SWAPOBJ_ECACHEFULL, and a SWAP write that finds the store full evicts
	 * CACHE objects itself rather than fail. SWAP data and pinned CACHE
	 * objects are never evicted. All three 0: the defaults 10, 7, 3; else
	 * 0 <= cache_stop < cache_cull < cache_run < 100. SWAPOBJ_OPEN_NO_CULL
	 * turns eviction off (CACHE writes then get SWAPOBJ_ENOSPC like SWAP).
	 */
	unsigned cache_run;
	unsigned cache_cull;
	unsigned cache_stop;
};
#define SWAPOBJ_OPEN_OPTS_INIT                                                                                         \
	{                                                                                                              \
		SWAPOBJ_OPEN_OPTS_VERSION, 0, 0, 0, 0, 0                                                               \
	}

/**
 * Open a store formatted by swapobj_format on the same devices (any order).
 * Rebuilds the in-memory index from the newest valid checkpoint plus the
 * log written after it (the whole log if no checkpoint is usable): data
 * acknowledged by a sync is there; data written after the last sync may be
 * missing, never corrupted. Takes an exclusive lock on every device (flock); a second
 * opener gets SWAPOBJ_EBUSY. opts may be NULL.
 * *out is valid until swapobj_store_close().
 * Errors: SWAPOBJ_EFORMAT (not a store, foreign or missing devices,
 * unsupported version), SWAPOBJ_EBUSY, SWAPOBJ_EIO, SWAPOBJ_ENOMEM,
 * SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int swapobj_store_open(swapobj_store **out, const char *const *paths, unsigned npaths,
                                   const struct swapobj_open_opts *opts);

/**
 * Sync, stop background work, free the store. Object handles still open must
 * afterwards be released with swapobj_obj_close() (which stays safe) and
 * must not be used otherwise. Returns the result of the final sync; the
 * store is freed even on error.
 * Errors: SWAPOBJ_EIO (the final sync failed: what was not synced before
 * may be lost), SWAPOBJ_EINVAL (NULL store).
 */
SWAPOBJ_API int swapobj_store_close(swapobj_store *st);

/**
 * Make every create, write, punch, truncate, delete, rename, aux update and
 * invalidation that returned before this call durable: after it returns 0 they survive a crash or power
 * cut. Errors: SWAPOBJ_EIO (the store then turns read-only: every later
 * modifying call returns SWAPOBJ_EROFS), SWAPOBJ_EROFS.
 */
SWAPOBJ_API int swapobj_store_sync(swapobj_store *st);

/**
 * Take a checkpoint now: write a snapshot of the index into the store, so
 * that the next open reads it and replays only what is logged after it.
 * The store also takes checkpoints on its own (swapobj_open_opts) and at
 * close. Writers may go on meanwhile. Errors: SWAPOBJ_ENOSPC (no free
 * segment for it: nothing changes), SWAPOBJ_EIO (the store turns
 * read-only), SWAPOBJ_EROFS, SWAPOBJ_ENOMEM.
 */
SWAPOBJ_API int swapobj_store_checkpoint(swapobj_store *st);

/**
 * Run the cleaner now, bounded: with max_segments > 0, clean that many
 * victim segments (fewer if no segment has anything to gain), even if space
 * is plentiful; with 0, clean until the store has a free segment ready for
 * writers, visiting each segment at most once. Victims are chosen by
 * cost-benefit (emptiness weighed by the age of their data); their live
 * data is relocated and the victims freed, durably (the call syncs). Also
 * frees up to 65536 objects of invalidated prefixes per call. The
 * background cleaner does the same on its own unless the store was opened
 * with SWAPOBJ_OPEN_MANUAL_CLEAN. Returns the number of segments freed.
 * Errors: SWAPOBJ_EROFS, SWAPOBJ_EIO, SWAPOBJ_ENOMEM, SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int swapobj_store_clean(swapobj_store *st, unsigned max_segments);

/* Buckets of swapobj_store_stat.util_histogram. */
#define SWAPOBJ_UTIL_BUCKETS 10

/* Later versions of the library only append fields (see swapobj_store_stat). */
/* Why CACHE objects were evicted (swapobj_store_stat.evicted_*). */
enum swapobj_evict_reason {
	SWAPOBJ_EVICT_THRESHOLD = 0, /* the background: free space fell below cache_cull */
	SWAPOBJ_EVICT_SWAP = 1,      /* a SWAP write found the store full */
	SWAPOBJ_EVICT_CLEANER = 2,   /* the cleaner dropped a cold CACHE object instead of relocating it */
	SWAPOBJ_EVICT_REASONS = 3
};
/* swapobj_store_stat.cache_state */
enum swapobj_cache_state {
	SWAPOBJ_CACHE_OK = 0,      /* free space at or above cache_cull */
	SWAPOBJ_CACHE_CULLING = 1, /* below cache_cull: the background evicts (until cache_run) */
	SWAPOBJ_CACHE_STOPPED = 2  /* below cache_stop: CACHE writes are refused */
};

struct swapobj_store_stat {
	uint64_t capacity_bytes; /* segment space on all devices */
	uint64_t used_bytes;     /* bytes in segments that are not free */
	uint64_t live_bytes;     /* bytes of records the index references */
	uint64_t free_bytes;     /* bytes in free segments */
	uint64_t objects;        /* live objects */
	uint64_t pages;          /* pages mapped by all objects (data, zero and fill) */
	uint32_t segment_size;
	uint32_t ndevices;
	uint64_t segments; /* total */
	uint64_t segments_free;
	uint64_t segments_open;        /* being appended to */
	uint64_t user_bytes_written;   /* bytes passed to swapobj_obj_write since open */
	uint64_t device_bytes_written; /* bytes submitted to the devices since open */
	uint64_t index_bytes;          /* RAM used by the index (namespace, objects, extent maps) */
	uint64_t buffer_bytes;         /* RAM used by log buffers */
	uint64_t segments_cleaned;     /* since open */
	uint64_t bytes_relocated;      /* by the cleaner, since open */
	uint64_t replay_ns;            /* time the open spent rebuilding the index */
	uint64_t damaged_records;      /* damaged records found while replaying (swapobj-fsck tells more) */
	uint64_t next_seq;             /* next record sequence number */
	uint32_t readonly;             /* 1 if opened read-only or turned read-only by an error */
	uint32_t direct_io;            /* 1 if every device uses O_DIRECT */
	uint64_t replay_bytes;         /* log bytes the open read to rebuild the index after the checkpoint */
	uint32_t from_checkpoint;      /* 1 if the open started from a checkpoint */
	uint32_t checkpoint_fallbacks; /* damaged checkpoints the open had to skip */
	uint64_t checkpoints_written;  /* since open */
	uint64_t checkpoint_bytes;     /* size of the newest checkpoint */
	/*
	 * Space accounting. live_bytes counts record bytes (a 4 KiB page is a
	 * 4160-byte record; an all-zero page counts 16 bytes, a repeated-word
	 * page 80). Byte figures below are segment space unless said otherwise.
	 */
	uint64_t usable_bytes;       /* live bytes the store accepts: capacity minus the reserve, one open
	                                segment per stream and room for three checkpoints (two kept, one held
	                                free for the next), in whole records. Writes that would take
	                                live_bytes past it fail with SWAPOBJ_ENOSPC; up to it, overwrites never
	                                do. It shrinks if checkpoints outgrow their room (many small objects) */
	uint64_t reserved_bytes;     /* free segments user writes never take: the cleaner's reserve (which
	                                deletes may also use) and the room held for the next checkpoint */
	uint64_t dead_bytes;         /* in used segments, bytes no record the index references occupies:
	                                what cleaning can win back */
	uint64_t live_swap_bytes;    /* live_bytes of SWAP objects */
	uint64_t live_cache_bytes;   /* live_bytes of CACHE objects */
	uint64_t segments_used;      /* holding records (sealed, open, being cleaned) */
	uint64_t segments_erased;    /* freed and marked erased since open */
	uint64_t segments_discarded; /* of those, discarded (SWAPOBJ_OPEN_DISCARD) */
	/* Used segments by live bytes / segment size: [0,10%), [10,20%), ..., [90,100%]. */
	uint64_t util_histogram[SWAPOBJ_UTIL_BUCKETS];
	uint32_t manual_clean; /* 1 if opened with SWAPOBJ_OPEN_MANUAL_CLEAN */
	uint32_t discard;      /* 1 if opened with SWAPOBJ_OPEN_DISCARD */
	/*
	 * Checkpoint health. A checkpoint that cannot be taken loses nothing,
	 * but every open replays the log written since the last one, so these
	 * say whether they still happen.
	 */
	uint64_t checkpoint_time_ns;   /* when the newest checkpoint (taken since open, or the one the open
	                                  loaded) was taken: wall clock, ns since the Unix epoch; 0 if none */
	uint64_t checkpoint_failures;  /* checkpoint attempts that failed since open (periodic, at close, or
	                                  swapobj_store_checkpoint), but for those refused because the store
	                                  was already read-only (readonly says so) */
	int32_t checkpoint_last_error; /* SWAPOBJ_E* code of the last failed attempt; 0 if none failed */
	uint32_t io_uring;             /* 1 if the store's I/O goes through io_uring (SWAPOBJ_OPEN_NO_IO_URING) */
	uint64_t device_bytes_read;    /* bytes read from the devices since open */
	/*
	 * Of index_bytes, the page checks of split segments: 4 bytes per 4 KiB
	 * block of the store's capacity (what verifies a one-block page read).
	 */
	uint64_t page_check_bytes;
	uint32_t layout;              /* SWAPOBJ_LAYOUT_SPLIT or _CLASSIC: the layout new segments are written in */
	uint32_t split_segments_used; /* segments in use (sealed or open) that have the split layout */
	/*
	 * Regions of split segments whose records were lost in both copies
	 * below the durable point: while non-zero the store is read-only and
	 * data reads fail (SWAPOBJ_ECORRUPT); swapobj-fsck -y accepts the loss.
	 */
	uint64_t lost_regions;
	/*
	 * Blocks of split segments' record streams the open found with a record
	 * in one copy only (a write a crash cut short, or damage) and rewrote
	 * with both copies whole.
	 */
	uint64_t resynced_blocks;
	/*
	 * Cache culling (swapobj_open_opts.cache_*). The levels in bytes of
	 * free space (usable_bytes - live_bytes, 0 if live_bytes is larger);
	 * all 0 when culling is off. Evictions since open, by reason
	 * (SWAPOBJ_EVICT_*): objects evicted and the live bytes they held.
	 */
	uint64_t cache_run_bytes;
	uint64_t cache_cull_bytes;
	uint64_t cache_stop_bytes;
	uint64_t evicted_objects[SWAPOBJ_EVICT_REASONS];
	uint64_t evicted_bytes[SWAPOBJ_EVICT_REASONS];
	uint64_t cache_writes_refused; /* CACHE writes that got SWAPOBJ_ECACHEFULL since open */
	uint32_t culling;              /* 1 if CACHE objects may be evicted (not SWAPOBJ_OPEN_NO_CULL, not read-only) */
	uint32_t cache_state;          /* SWAPOBJ_CACHE_*: where free space stands against the levels now */
};

/**
 * Space and activity figures into *out. out_size is sizeof(*out) as the
 * caller was compiled: the library fills the fields that fit in it (a
 * program built against an older header gets the fields it knows; one
 * built against a newer header than the library's gets zeros in the fields
 * the library does not know).
 * Errors: SWAPOBJ_EINVAL (NULL, or out_size smaller than the first
 * released version of the struct).
 */
SWAPOBJ_API int swapobj_store_stat(struct swapobj_store_stat *out, size_t out_size, swapobj_store *st);

/* ------------------------------------------------------------------------ */
/* Objects                                                                   */
/* ------------------------------------------------------------------------ */

enum swapobj_class {
	SWAPOBJ_CLASS_SWAP = 1, /* data no one else has: never dropped by the store */
	SWAPOBJ_CLASS_CACHE = 2 /* recyclable copy of data held elsewhere */
};

/* Flags for swapobj_obj_opts.flags */
#define SWAPOBJ_O_CREATE 0x1u    /* create if missing (or replace with a newer data version) */
#define SWAPOBJ_O_EXCL 0x2u      /* with CREATE: fail with EEXIST if the key exists */
#define SWAPOBJ_O_PIN 0x4u       /* on create: object is pinned (never evicted) */
#define SWAPOBJ_O_EPHEMERAL 0x8u /* on create: need not survive a restart (plain swap) */
#define SWAPOBJ_O_DIR 0x10u      /* on create: a directory object (no data; its key may be a prefix of other keys) */

/** Pass as data_version to open whatever version exists. */
#define SWAPOBJ_VERSION_ANY UINT64_MAX

/* Version 2 appended aux/aux_len; version 1 structs (without them) are still accepted. */
#define SWAPOBJ_OBJ_OPTS_VERSION 2
struct swapobj_obj_opts {
	unsigned version;
	unsigned flags;         /* SWAPOBJ_O_* */
	enum swapobj_class cls; /* on create; 0 means SWAP */
	uint64_t data_version;  /* see swapobj_obj_open */
	const void *aux;        /* on create: initial aux data (see swapobj_obj_set_aux), logged atomically with */
	size_t aux_len;         /* the create; ignored when the object already exists. 0..SWAPOBJ_AUX_MAX bytes */
};
#define SWAPOBJ_OBJ_OPTS_INIT                                                                                          \
	{                                                                                                              \
		SWAPOBJ_OBJ_OPTS_VERSION, 0, SWAPOBJ_CLASS_SWAP, 0, NULL, 0                                            \
	}

/**
 * Open the object named key, creating it with SWAPOBJ_O_CREATE.
 *
 * Directory objects: created with SWAPOBJ_O_CREATE | SWAPOBJ_O_DIR. They
 * hold no data (read, write, punch and truncate give SWAPOBJ_EISDIR) but
 * carry flags, class, version and aux data like any object, and other keys
 * may lie under them. Creating one at a key that is already a prefix of
 * other keys attaches it there. An existing directory object opens with or
 * without SWAPOBJ_O_DIR; SWAPOBJ_O_DIR on an existing non-directory object
 * gives SWAPOBJ_EEXIST with SWAPOBJ_O_CREATE (it cannot be created) and
 * SWAPOBJ_ENOTDIR without. Keys under a non-directory object are refused
 * (SWAPOBJ_ENOTDIR); keys under a directory object are fine.
 *
 * Data versions: if an object exists with
 *  - the same version (or data_version is SWAPOBJ_VERSION_ANY): it is opened;
 *  - an older version: with SWAPOBJ_O_CREATE it is replaced at once by a new
 *    empty object with the new version (the old data is unreachable from then
 *    on and handles to it get SWAPOBJ_ESTALE); without it, SWAPOBJ_ENOENT;
 *  - a newer version: SWAPOBJ_ESTALE (the caller's data is out of date).
 * Creating with SWAPOBJ_VERSION_ANY creates version 0. Replacing a
 * directory object that has children by a newer version gives
 * SWAPOBJ_ENOTEMPTY.
 * *out is valid until swapobj_obj_close(). opts may be NULL (open existing).
 * Errors: SWAPOBJ_ENOENT, SWAPOBJ_EEXIST, SWAPOBJ_ESTALE, SWAPOBJ_ENOTDIR
 * (a prefix of key is a non-directory object), SWAPOBJ_EISDIR (key is a
 * prefix of other keys and holds no object, and this is not a directory
 * create), SWAPOBJ_ENOTEMPTY, SWAPOBJ_EROFS, SWAPOBJ_ENOSPC, SWAPOBJ_ENOMEM,
 * SWAPOBJ_EINVAL (also: aux_len > SWAPOBJ_AUX_MAX, or aux NULL with a
 * length).
 */
SWAPOBJ_API int swapobj_obj_open(swapobj_obj **out, swapobj_store *st, const swapobj_key *key,
                                 const struct swapobj_obj_opts *opts);

/** Release a handle. The object stays in the store. Errors: SWAPOBJ_EINVAL (NULL handle) only. */
SWAPOBJ_API int swapobj_obj_close(swapobj_obj *obj);

/* Flags for swapobj_obj_read (reads always verify checksums: there is no flag for it) */
/*
 * Exclusive read (swap-in that frees the swap slot): return the data and,
 * in the same call, release the pages read, as swapobj_obj_punch would:
 * they read as a hole afterwards and their space goes back to the cleaner
 * at once (durably once synced). Only whole pages inside [off, off+len) are
 * released; partial pages at the edges are read but kept. The object size
 * does not change. Needs a writable store (SWAPOBJ_EROFS otherwise).
 */
#define SWAPOBJ_READ_EXCLUSIVE 0x1u

/**
 * Read up to len bytes at off into buf. Holes read as zeros. Returns the
 * bytes read: less than len only at the end of the object, 0 at or past it.
 * The data is checksum-verified: a damaged record gives SWAPOBJ_ECORRUPT
 * (the message names device, segment and offset), never wrong bytes.
 * flags: 0 or SWAPOBJ_READ_EXCLUSIVE. With SWAPOBJ_READ_EXCLUSIVE, an
 * error means nothing was released (buf may hold the data all the same).
 * Errors: SWAPOBJ_ECORRUPT, SWAPOBJ_EIO, SWAPOBJ_ESTALE, SWAPOBJ_EISDIR
 * (directory object), SWAPOBJ_EINVAL (NULL buffer, unknown flags), and
 * with SWAPOBJ_READ_EXCLUSIVE SWAPOBJ_EROFS, SWAPOBJ_ENOSPC.
 */
SWAPOBJ_API int64_t swapobj_obj_read(swapobj_obj *obj, void *buf, size_t len, uint64_t off, unsigned flags);

/* One range of a batched read (swapobj_read_batch). */
struct swapobj_read_req {
	swapobj_obj *obj; /* in: an open handle of the store passed to the call */
	void *buf;        /* in: len bytes owned by the caller; any alignment (4 KiB-aligned is fastest) */
	uint64_t off;     /* in: byte offset in the object */
	size_t len;       /* in: bytes to read */
	int64_t result;   /* out: bytes read (as swapobj_obj_read returns them) or a negative SWAPOBJ_E* code */
};

/** Most ranges one swapobj_read_batch call takes. */
#define SWAPOBJ_READ_BATCH_MAX 256

/**
 * Read many ranges at once, across objects (a VM restoring memory, or the
 * kernel's swap readahead): the device reads of every range are submitted
 * together, several in flight, rather than one range after another.
 *
 * Each request is read as swapobj_obj_read(req->obj, req->buf, req->len,
 * req->off, flags) would read it, and its outcome goes to req->result: the
 * bytes read, or a negative code. Requests fail or succeed independently:
 * a damaged page fails its own request (SWAPOBJ_ECORRUPT), not the batch.
 *
 * Ordering: the objects the batch names are locked together (in a fixed
 * order) for the whole call, so the batch is one consistent snapshot: a
 * write to any of them either happened before every request or after all.
 * Requests may name the same object, overlap and come in any order.
 *
 * Buffers: the caller owns them, before, during and after the call; the
 * library keeps no reference after it returns. Buffers must not overlap
 * each other. A failed request's buffer holds unspecified bytes.
 *
 * flags: 0 or SWAPOBJ_READ_EXCLUSIVE, which applies to every request: after
 * all ranges are read, the whole pages of each request that succeeded are
 * released as swapobj_obj_read releases them (a release that fails sets
 * that request's result to the error; the data may be in buf all the
 * same). Overlapping exclusive ranges all read the data.
 *
 * Returns the number of requests whose result is negative (0: all
 * succeeded), or a negative code when the call itself is refused and
 * nothing was read: SWAPOBJ_EINVAL (NULL store or reqs with n > 0, n above
 * SWAPOBJ_READ_BATCH_MAX, unknown flags), SWAPOBJ_EROFS (exclusive on a
 * read-only store), SWAPOBJ_ENOMEM. Per request: SWAPOBJ_EINVAL (NULL or
 * foreign handle, NULL buf with len > 0), SWAPOBJ_EISDIR, SWAPOBJ_ESTALE,
 * SWAPOBJ_ECORRUPT, SWAPOBJ_EIO, and for exclusive reads SWAPOBJ_ENOSPC.
 */
SWAPOBJ_API int swapobj_read_batch(swapobj_store *st, struct swapobj_read_req *reqs, size_t n, unsigned flags);

/* What swapobj_obj_next_data looks for. */
enum swapobj_seek {
	SWAPOBJ_SEEK_DATA = 0, /* the next data (lseek's SEEK_DATA) */
	SWAPOBJ_SEEK_HOLE = 1  /* the next hole (lseek's SEEK_HOLE) */
};

/**
 * Find data or a hole without reading (what lseek SEEK_DATA / SEEK_HOLE
 * need). Data is every page that was written and not punched or truncated
 * away since, whatever it holds: a written page of zeros is data. With
 * SWAPOBJ_SEEK_DATA returns the smallest offset >= off in a data page; with
 * SWAPOBJ_SEEK_HOLE, the smallest offset >= off in a hole, or the size if
 * data runs to the end (the end of an object counts as a hole). Page-granular,
 * except that the answer is never below off: off itself when it lies in
 * what is looked for. Costs one index lookup plus the index entries of
 * the pages skipped, never device I/O.
 * Errors: SWAPOBJ_ENOENT (off at or past the size; or no data at or after
 * off, SWAPOBJ_SEEK_DATA), SWAPOBJ_EISDIR (directory object), SWAPOBJ_ESTALE,
 * SWAPOBJ_EINVAL (NULL handle, what is neither value).
 */
SWAPOBJ_API int64_t swapobj_obj_next_data(swapobj_obj *obj, uint64_t off, enum swapobj_seek what);

/**
 * Write len bytes at off, extending the object if needed. Each 4 KiB page is
 * written atomically: after a crash a page holds its old or its new content,
 * never a mix. All-zero pages take no data space; pages of one repeated
 * 8-byte word store only the word. Returns len, or a shorter count if the
 * store filled up part way (then the first pages were written). The store
 * is full when live data would pass swapobj_store_stat's usable_bytes;
 * below that, a write waits for the background cleaner when it must, and
 * gets SWAPOBJ_ENOSPC only with manual cleaning (see
 * SWAPOBJ_OPEN_MANUAL_CLEAN) or if tombstones that must be kept fill the
 * store. With cache culling (swapobj_open_opts.cache_*): a write to a CACHE
 * object below the stop level fails with SWAPOBJ_ECACHEFULL, nothing of it
 * written, and one that finds the store full part way returns the shorter
 * count, or SWAPOBJ_ECACHEFULL if nothing was written; a write to a
 * SWAP object that finds the store full evicts CACHE objects and goes on,
 * and fails only when none is left to evict. The object being written
 * may itself be evicted between calls (SWAPOBJ_ESTALE).
 * Errors: SWAPOBJ_ENOSPC, SWAPOBJ_ECACHEFULL, SWAPOBJ_EFBIG, SWAPOBJ_ESTALE,
 * SWAPOBJ_EROFS, SWAPOBJ_EIO, SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int64_t swapobj_obj_write(swapobj_obj *obj, const void *buf, size_t len, uint64_t off);

/**
 * Discard [off, off+len): it reads as zeros afterwards and its space is
 * released. Whole pages are dropped; partial pages at the edges are zeroed
 * (rewritten). The size does not change. Durable at the next sync.
 * Errors: SWAPOBJ_ESTALE, SWAPOBJ_EISDIR (directory object), SWAPOBJ_EROFS,
 * SWAPOBJ_ENOSPC (only when a partial edge page must be rewritten in a full
 * store), SWAPOBJ_EIO, SWAPOBJ_EINVAL (NULL handle).
 */
SWAPOBJ_API int swapobj_obj_punch(swapobj_obj *obj, uint64_t off, uint64_t len);

/**
 * Set the size; data past it is dropped, growing leaves a hole. Durable at
 * the next sync.
 * Errors: SWAPOBJ_EFBIG (size past SWAPOBJ_MAX_OBJECT_SIZE), SWAPOBJ_ESTALE,
 * SWAPOBJ_EISDIR (directory object), SWAPOBJ_EROFS, SWAPOBJ_ENOSPC (the
 * partial last page must be rewritten in a full store), SWAPOBJ_EIO,
 * SWAPOBJ_EINVAL (NULL handle).
 */
SWAPOBJ_API int swapobj_obj_truncate(swapobj_obj *obj, uint64_t size);

/**
 * Delete the object (its key becomes free). The handle becomes stale; other
 * handles to the object too. Durable at the next sync. Works in a full store.
 * Errors: SWAPOBJ_ENOTEMPTY (a directory object that still has children:
 * not deleted), SWAPOBJ_ESTALE (already gone), SWAPOBJ_EROFS, SWAPOBJ_EIO,
 * SWAPOBJ_EINVAL (NULL handle).
 */
SWAPOBJ_API int swapobj_obj_delete(swapobj_obj *obj);

/**
 * Delete the object named key, as swapobj_obj_delete does.
 * Errors: SWAPOBJ_ENOENT (no object at key), SWAPOBJ_EISDIR (key is only a
 * prefix of other keys), SWAPOBJ_ENOTDIR (a prefix of key is a
 * non-directory object), SWAPOBJ_ENOTEMPTY, SWAPOBJ_EROFS, SWAPOBJ_EIO,
 * SWAPOBJ_ENAMETOOLONG, SWAPOBJ_EINVAL (bad key).
 */
SWAPOBJ_API int swapobj_delete(swapobj_store *st, const swapobj_key *key);

/** Largest aux data of one object, bytes. */
#define SWAPOBJ_AUX_MAX 3072u

/**
 * Replace the object's aux data: 0..SWAPOBJ_AUX_MAX opaque bytes kept with
 * the object (e.g. fscache coherency data or file attributes); len 0 clears
 * it. Logged: durable at the next sync, survives restart; after a crash the
 * object has its aux as of the last sync or a later one, never a mix. The
 * library keeps a copy in memory (counted in index_bytes).
 * Errors: SWAPOBJ_EINVAL (len > SWAPOBJ_AUX_MAX, data NULL with len > 0),
 * SWAPOBJ_ESTALE, SWAPOBJ_EROFS, SWAPOBJ_ENOSPC, SWAPOBJ_ENOMEM.
 */
SWAPOBJ_API int swapobj_obj_set_aux(swapobj_obj *obj, const void *data, size_t len);

/**
 * Copy up to cap bytes of the aux data into buf (buf may be NULL if cap is
 * 0). Returns the aux data's full length, which may exceed cap (then only
 * cap bytes were copied). Errors: SWAPOBJ_ESTALE, SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int swapobj_obj_get_aux(swapobj_obj *obj, void *buf, size_t cap);

/* Flags for swapobj_rename */
#define SWAPOBJ_RENAME_NOREPLACE 0x1u /* fail with SWAPOBJ_EEXIST if `to` names an object */

/**
 * Give the object named `from` the key `to`, atomically: after a crash `to`
 * names its old object or the renamed one (never nothing) and `from` the
 * renamed object or nothing; handles to the renamed object stay valid.
 * `from` must name an object: a file, or a directory object without
 * children. If `to` names an object, that object is replaced (deleted in
 * the same step; its handles become stale, as with delete) unless:
 * SWAPOBJ_RENAME_NOREPLACE (SWAPOBJ_EEXIST), a file over a directory object
 * (SWAPOBJ_EISDIR), a directory object over a file (SWAPOBJ_ENOTDIR), a
 * directory object over one with children (SWAPOBJ_ENOTEMPTY). Keys above
 * `to` that do not exist are created as prefixes, as by a create. The same
 * key for both does nothing and returns 0. Durable at the next sync.
 * Errors: SWAPOBJ_ENOENT (`from` names nothing), SWAPOBJ_ENOTSUP (`from`
 * is only a prefix of other keys, or a directory object with children),
 * SWAPOBJ_EINVAL (`to` lies under `from`, bad flags or keys), SWAPOBJ_EISDIR
 * (`to` is a prefix of other keys holding no object), SWAPOBJ_ENOTDIR (a
 * prefix of `to` is a non-directory object), SWAPOBJ_EEXIST,
 * SWAPOBJ_ENOTEMPTY, SWAPOBJ_EROFS, SWAPOBJ_ENOSPC, SWAPOBJ_ENOMEM.
 */
SWAPOBJ_API int swapobj_rename(swapobj_store *st, const swapobj_key *from, const swapobj_key *to, unsigned flags);

/**
 * Set (pinned != 0) or clear the pin flag: a pinned object is never evicted.
 * Logged: durable at the next sync, survives restart.
 * Errors: SWAPOBJ_ESTALE, SWAPOBJ_EROFS, SWAPOBJ_ENOSPC, SWAPOBJ_EIO,
 * SWAPOBJ_ENOMEM, SWAPOBJ_EINVAL (NULL handle).
 */
SWAPOBJ_API int swapobj_obj_set_pin(swapobj_obj *obj, int pinned);

/**
 * Make this object's writes durable (as swapobj_store_sync, which it
 * currently calls: the whole store is synced).
 * Errors: SWAPOBJ_EIO (the store turns read-only), SWAPOBJ_EROFS,
 * SWAPOBJ_ESTALE, SWAPOBJ_EINVAL (NULL handle).
 */
SWAPOBJ_API int swapobj_obj_sync(swapobj_obj *obj);

/* Later versions of the library only append fields (see swapobj_obj_stat). */
struct swapobj_obj_stat {
	uint64_t size;         /* bytes */
	uint64_t stored_bytes; /* bytes the object's records occupy on the devices */
	uint64_t pages;        /* mapped pages (data + zero + fill) */
	uint64_t zero_pages;   /* pages stored as zero (no data) */
	uint64_t fill_pages;   /* pages stored as a repeated word */
	uint64_t extents;      /* runs of pages contiguous in the object and on the device */
	uint64_t data_version;
	uint64_t id; /* internal object id (stable for the object's life) */
	enum swapobj_class cls;
	unsigned flags; /* SWAPOBJ_O_PIN, SWAPOBJ_O_EPHEMERAL, SWAPOBJ_O_DIR */
};

/**
 * Object figures into *out (stored_bytes includes the records holding its
 * name and aux data). out_size is sizeof(*out) as the caller was compiled,
 * as for swapobj_store_stat.
 * Errors: SWAPOBJ_ESTALE, SWAPOBJ_EINVAL (NULL, out_size too small).
 */
SWAPOBJ_API int swapobj_obj_stat(struct swapobj_obj_stat *out, size_t out_size, swapobj_obj *obj);

/* ------------------------------------------------------------------------ */
/* Prefixes                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Drop every object whose key starts with prefix (1..16 components),
 * including a directory object at the prefix itself,
 * durably once synced. Foreground cost is O(1) in the number of objects: the
 * subtree is detached and one record logged; objects are freed in the
 * background and their space comes back through the cleaner. Handles to the
 * dropped objects get SWAPOBJ_ESTALE. Objects created under the prefix
 * afterwards are new objects.
 * Errors: SWAPOBJ_ENOENT (nothing under prefix), SWAPOBJ_EROFS, SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int swapobj_invalidate(swapobj_store *st, const swapobj_key *prefix);

/** Listing cursor; zero it (or use SWAPOBJ_CURSOR_INIT) to start. Plain data. */
struct swapobj_cursor {
	uint64_t hash;    /* position: children are listed in (hash, name) order */
	uint32_t started; /* 0 before the first entry */
	uint32_t name_len;
	uint8_t name[SWAPOBJ_COMPONENT_MAX];
};
#define SWAPOBJ_CURSOR_INIT                                                                                            \
	{                                                                                                              \
		0, 0, 0,                                                                                               \
		{                                                                                                      \
			0                                                                                              \
		}                                                                                                      \
	}

/* A child that is a directory object, or has children, is a PREFIX; any other is an OBJECT. */
enum swapobj_dirent_type { SWAPOBJ_DT_OBJECT = 1, SWAPOBJ_DT_PREFIX = 2 };

struct swapobj_dirent {
	enum swapobj_dirent_type type;
	uint32_t name_len;
	uint8_t name[SWAPOBJ_COMPONENT_MAX]; /* the component, binary */
	uint64_t cookie;                     /* hash position; stable across calls */
};

/**
 * Next child of prefix (ncomp 0 lists the root) after the cursor, into
 * *out; advances the cursor. Returns 1 with *out filled, 0 at the end. Children present for
 * the whole listing are returned exactly once even while others are created
 * or deleted concurrently; those may or may not appear.
 * A directory object lists its children (none yet: returns 0).
 * Errors: SWAPOBJ_ENOENT (prefix does not exist), SWAPOBJ_ENOTDIR (prefix
 * is a non-directory object), SWAPOBJ_EINVAL.
 */
SWAPOBJ_API int swapobj_list_next(struct swapobj_dirent *out, swapobj_store *st, const swapobj_key *prefix,
                                  struct swapobj_cursor *cursor);

#ifdef __cplusplus
}
#endif

#endif /* SWAPOBJ_H */
