/*
 * format_format.h - every on-disk structure of libswapobj, as byte offsets.
 *
 * This header and docs/FORMAT.md are changed together. All integers are
 * little-endian and fixed-width; structures are encoded and decoded field
 * by field (format.c), never by casting a buffer to a struct.
 *
 * Device layout:
 *   [0, 4096)          superblock copy 0
 *   [4096, 8192)       superblock copy 1 (identical; either may be used)
 *   [8192, 12288)      checkpoint slot 0 (device 0 only; zero elsewhere)
 *   [12288, 16384)     checkpoint slot 1 (device 0 only)
 *   [16384, 1 MiB)     reserved, zero
 *   [1 MiB, ...)       segments, seg_size bytes each
 *
 * A segment holds records back to back from offset 0, each starting at a
 * 16-byte boundary; the first is a SEGHDR naming the segment's generation.
 * A record belongs to the segment's current use only if its seg_gen equals
 * the SEGHDR's: bytes left from an earlier use are ignored.
 *
 * The header has its own checksum, so a record whose payload is damaged is
 * still known (object, page, sequence): a read of it reports corruption
 * instead of returning older data. SYNC records tell damage of durable data
 * (reported) from a torn write that was never acknowledged (dropped).
 */
#ifndef SO_FORMAT_FORMAT_H
#define SO_FORMAT_FORMAT_H

#include <stdint.h>

#define SO_FORMAT_VERSION 1u
#define SO_SB_MAGIC 0x314a424f50415753ull /* "SWAPOBJ1" little-endian */
#define SO_SB_SIZE 4096u
#define SO_SB_COPIES 2u
#define SO_SB_USED 128u
#define SO_DATA_START (1u << 20)
#define SO_BLOCK 4096u

/* Superblock fields (offset, size). */
#define SB_MAGIC 0       /* 8  SO_SB_MAGIC */
#define SB_VERSION 8     /* 4  format version */
#define SB_HDR_SIZE 12   /* 4  SO_SB_USED: bytes covered by the checksum + 8 */
#define SB_UUID 16       /* 16 store identity, random at format */
#define SB_DEV_INDEX 32  /* 4  this device's index, 0..ndevs-1 */
#define SB_NDEVS 36      /* 4  devices in the store */
#define SB_SEG_SIZE 40   /* 4  bytes per segment, power of two */
#define SB_PAGE_SIZE 44  /* 4  4096 */
#define SB_DEV_BYTES 48  /* 8  bytes of the device the store uses */
#define SB_DATA_START 56 /* 8  byte offset of segment 0 */
#define SB_NSEGS 64      /* 4  segments on this device */
#define SB_SEG_BASE 68   /* 4  global number of this device's first segment */
#define SB_TOTAL_SEGS 72 /* 8  segments on all devices */
#define SB_CREATED 80    /* 8  format time, ns since the epoch */
#define SB_COMPAT 88     /* 8  compatible feature bits (ignored if unknown) */
#define SB_INCOMPAT 96   /* 8  incompatible feature bits (refuse to open if unknown) */
#define SB_RO_COMPAT 104 /* 8  read-only-compatible feature bits (open read-only if unknown) */
#define SB_RESERVED 112  /* 8  zero */
#define SB_CSUM 120      /* 8  XXH3-64 of bytes [0,120), seed 0 */
/*
 * Incompatible feature bits. SPLIT: segments may use the split layout
 * (SEGHDR_F_SPLIT); a library that predates it must refuse the store.
 */
#define SB_INCOMPAT_SPLIT 0x1ull
#define SB_INCOMPAT_KNOWN SB_INCOMPAT_SPLIT

/* Record header: 64 bytes, then payload_len bytes, then zero padding to 16. */
#define REC_MAGIC 0x31526f53u /* "SoR1" */
#define REC_ALIGN 16u
#define RH_MAGIC 0       /* 4 REC_MAGIC */
#define RH_TYPE 4        /* 1 enum rec_type */
#define RH_FLAGS 5       /* 1 REC_F_* */
#define RH_HDR_LEN 6     /* 2 64 */
#define RH_PAYLOAD_LEN 8 /* 4 bytes of payload (before padding) */
#define RH_RAW_LEN 12    /* 4 DATA: logical bytes covered (npages * 4096); else 0 */
#define RH_SEQ 16        /* 8 sequence number: order of updates; highest wins */
#define RH_OID 24        /* 8 object id (0 for store-wide records) */
#define RH_LPOS 32       /* 8 DATA/PUNCH: byte offset in object; SEGHDR: global segno; RENAME: replaced oid */
#define RH_OBJ_SIZE 40   /* 8 object size after this record (CREATE/RENAME/DATA/PUNCH/TRUNCATE) */
#define RH_SEG_GEN 48    /* 4 generation of the segment the record was written into */
#define RH_HDR_CSUM 52   /* 4 low 32 bits of XXH3-64 of header[0,52), seed = store seed */
#define RH_CSUM 56       /* 8 XXH3-64 of the payload, seed = store seed; 0 if no payload */
#define REC_HDR_LEN 64u
/*
 * Out-of-line records (split segments only): an 80-byte header whose
 * payload (payload_len bytes, checksum at RH_CSUM as usual) lies in the
 * segment's data area instead of after the header. The header checksum
 * covers [0, RH_HDR_CSUM) and the extension [REC_HDR_LEN, REC_OOL_HDR_LEN).
 */
#define REC_OOL_HDR_LEN 80u
#define RX_DOFF 64     /* 4 payload offset in the segment / 16 (pages: a multiple of 4096) */
#define RX_CODEC 68    /* 1 0: stored as is (other codecs: none yet, refused) */
#define RX_TIER 69     /* 1 0 (device tiers: none yet, refused) */
#define RX_RESERVED 70 /* 10 zero */
/*
 * Split segments: a record of the stream never crosses a 512-byte sector
 * (it starts the next one; the rest of the sector stays zero), so a write
 * torn at a sector boundary never leaves half a header, in either copy.
 * Payloads that would not fit a sector with their header, and every page,
 * go out of line.
 */
#define SPLIT_SECTOR 512u
#define REC_INLINE_MAX (SPLIT_SECTOR - REC_HDR_LEN)
#define SPLIT_HDR_BLOCKS 2u /* blocks 0 and 1: the SEGHDR and its copy */

enum rec_type {
	REC_SEGHDR = 1,     /* payload SEGHDR_LEN (SEGHDR_*); header seq = the use's age stamp */
	REC_DATA = 2,       /* payload: page (4096), fill word (8), or none (ZERO) */
	REC_CREATE = 3,     /* payload: CREATE_* fields then the key encoding */
	REC_PUNCH = 4,      /* payload 8: length in bytes (page multiple) from lpos */
	REC_TRUNCATE = 5,   /* no payload; obj_size is the new size */
	REC_DELETE = 6,     /* no payload */
	REC_INVALIDATE = 7, /* payload: key encoding of the prefix */
	REC_SYNC = 8,       /* payload 16: durable_seq u64 (every lower seq was durable), next generation u64 */
	REC_AUX = 9,        /* payload: the object's aux data, 0..AUX_MAX bytes (0 clears it) */
	REC_RENAME = 10,    /* payload as CREATE (identity under the new key); lpos: replaced oid or 0 */
	REC_CKPT = 11,      /* checkpoint body chunk (only in CKPT-stream segments): lpos = offset in the body */
	REC_TYPE_MAX = 11
};

#define REC_F_ZERO 0x01        /* DATA: pages are all zero; no payload */
#define REC_ZERO_MAX_PAGES 64u /* DATA ZERO: at most this many pages (writers batch 64-page chunks) */
#define REC_F_FILL 0x02        /* DATA: one page of a repeated 8-byte word; payload is the word */
#define REC_F_KNOWN (REC_F_ZERO | REC_F_FILL)

#define SEGHDR_LEN 16u
#define SEGHDR_STREAM 0 /* 4 stream of the use: 0 HOT, 1 COLD (relocations), 2 WARM */
#define SEGHDR_FLAGS 4  /* 4 SEGHDR_F_* (zero in stores written before the flags existed) */
#define SEGHDR_OPENED 8 /* 8 wall-clock time the use began, ns since the epoch */
/*
 * ERASED: the segment is free. Written (with a new generation) once the
 * segment's cleaning is durable, so its old records stop being replayable
 * and a reopen counts it free without reading further. No record follows.
 * Readers that predate the flag see an empty segment, which is free too.
 */
#define SEGHDR_F_ERASED 0x1u
/*
 * SPLIT: the use has the format-2 layout ("split segment", FORMAT.md):
 * blocks 0 and 1 hold the SEGHDR (two copies), page data and other
 * out-of-line payloads grow upward from block 2, and the record stream
 * (the segment's summary) grows downward from the end in pairs of blocks,
 * each written twice: logical block i of the stream is at block
 * nblocks-2-2i (copy A) and nblocks-1-2i (copy B). Logical offsets
 * [0, SEGHDR_REC_SIZE) of the stream hold a third copy of the SEGHDR.
 * A record never crosses a 512-byte sector of the stream (SPLIT_SECTOR);
 * the bytes a sector leaves unused are zero.
 */
#define SEGHDR_F_SPLIT 0x2u
#define SEGHDR_F_KNOWN (SEGHDR_F_ERASED | SEGHDR_F_SPLIT)
/* SEGHDR stream values: 0..14 append streams (HOT user writes, the cleaner's streams), 15 CKPT (checkpoint bodies,
 * never replayed). */
#define SEG_STREAM_CKPT 15u
/*
 * CREATE and RENAME payload (a "name record": the object's whole identity).
 * The aux length sits where format 1 had a reserved zero u32, so records
 * without aux data read the same as before.
 */
#define CREATE_CLASS 0   /* 1 enum swapobj_class */
#define CREATE_FLAGS 1   /* 1 CREATE_F_* */
#define CREATE_KEYLEN 2  /* 2 bytes of key encoding that follow the fixed fields */
#define CREATE_AUXLEN 4  /* 4 bytes of aux data that follow the key encoding (0..AUX_MAX) */
#define CREATE_VERSION 8 /* 8 data version */
#define CREATE_KEY 16    /* key encoding (CREATE_KEYLEN bytes), then the aux data (CREATE_AUXLEN bytes) */
#define CREATE_F_PIN 0x01
#define CREATE_F_EPHEMERAL 0x02
#define CREATE_F_DIR 0x04 /* a directory object: no data; other keys may lie under its key */
#define CREATE_F_KNOWN (CREATE_F_PIN | CREATE_F_EPHEMERAL | CREATE_F_DIR)

/* Aux data: at most this many bytes per object (SWAPOBJ_AUX_MAX). */
#define AUX_MAX 3072u

/*
 * Key encoding: u8 ncomp (1..16), then per component u8 len (1..255) and
 * len bytes. At most 16 + 1024 bytes.
 */
#define KEYENC_MAX (1u + 16u + 1024u)

/*
 * Checkpoint slot: one 4 KiB block at CKPT_SLOT_OFF(i) of device 0. A slot
 * names a complete checkpoint body, stored as REC_CKPT records in the listed
 * segments (in body order); the slot with the highest valid ckpt_no wins.
 */
#define CKPT_SLOT_OFF(i) (8192u + 4096u * (i))
#define CKPT_SLOT_SIZE 4096u
#define CKPT_SLOT_MAGIC 0x31305450434b4f53ull /* "SOKCPT01" little-endian */
#define CS_MAGIC 0                            /* 8  CKPT_SLOT_MAGIC */
#define CS_VERSION 8                          /* 4  1 */
#define CS_NSEGS 12                           /* 4  segments holding the body, 1..CKPT_MAX_SEGS */
#define CS_CKPT_NO 16                         /* 8  checkpoint number, 1, 2, ... */
#define CS_CUT_SEQ 24                         /* 8  every record with a lower seq is reflected in the body */
#define CS_BODY_BYTES 32                      /* 8  length of the body */
#define CS_BODY_CSUM 40                       /* 8  XXH3-64 of the body, seed = store seed */
#define CS_RESERVED 48                        /* 16 zero */
#define CS_SEGS 64                            /* 8 * nsegs: u32 global segno, u32 generation */
#define CS_CSUM 4088                          /* 8  XXH3-64 of bytes [0,4088), seed = store seed */
#define CKPT_MAX_SEGS ((CS_CSUM - CS_SEGS) / 8u)
#define CKPT_BODY_MAGIC 0x59444f42544b4f53ull /* "SOKTBODY" */
#define CKPT_END_MAGIC 0x21444e45544b4f53ull  /* "SOKTEND!" */
#define CKPT_VERSION 1u
/* Checkpoint object flags beside CREATE_F_* (FORMAT.md, Checkpoints). */
#define CKPT_OBJ_RENAMED 0x40 /* older name records, maybe under another key, may remain */
#define CKPT_OBJ_DOOMED 0x80  /* invalidated, renamed: waits for its DELETE; no key, aux or pages */

#endif
