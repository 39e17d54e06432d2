/*
 * format.h - encode and decode on-disk structures (superblock, records,
 * keys). Decoders treat their input as untrusted: every length is checked
 * against the bytes available, unknown types and flags are rejected, and a
 * bad checksum is reported, never asserted.
 */
#ifndef SO_FORMAT_H
#define SO_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format_format.h"
#include "swapobj.h"

struct sb_info {
	uint32_t version;
	uint8_t uuid[16];
	uint32_t dev_index, ndevs, seg_size, page_size;
	uint64_t dev_bytes, data_start;
	uint32_t nsegs, seg_base;
	uint64_t total_segs, created_ns;
	uint64_t compat, incompat, ro_compat;
};

/* Encode a superblock into a SO_SB_SIZE buffer (zero-filled past SO_SB_USED). */
void sb_encode(uint8_t *buf, const struct sb_info *sb);
/*
 * Decode and validate one superblock copy. Returns 0, or SWAPOBJ_EFORMAT with
 * a message naming the first problem (magic, checksum, version, geometry).
 */
int sb_decode(const uint8_t *buf, size_t len, struct sb_info *out);

/* Record checksum seed of a store (derived from its uuid). */
uint64_t store_seed(const uint8_t uuid[16]);

/* A decoded record header; payload points into the decoded buffer. */
struct rec {
	uint8_t type, flags;
	uint32_t payload_len, raw_len;
	uint64_t seq, oid, lpos, obj_size;
	uint32_t seg_gen;
	uint16_t hdr_len;       /* REC_HDR_LEN, or REC_OOL_HDR_LEN for an out-of-line record */
	uint32_t doff;          /* out of line: byte offset of the payload in its segment; else 0 */
	uint64_t csum;          /* the payload checksum the header states */
	const uint8_t *payload; /* NULL for an out-of-line record until rec_ool_payload resolves it */
};

/*
 * The store's address space: a record is named by its global address in
 * ADDR_UNIT-byte units (global segment number * segment size + offset in
 * segment). ADDR_BITS of 16-byte units span 1 PiB; the extent map packs an
 * address into a slot (index/extslot.h), the checkpoint stores it as is.
 */
#define ADDR_UNIT 16u
#define ADDR_BITS 46
#define ADDR_MAX ((1ull << ADDR_BITS) - 1)
_Static_assert(REC_HDR_LEN % ADDR_UNIT == 0 && REC_ALIGN % ADDR_UNIT == 0, "records start on address units");

/* On-disk sizes of the page records (records laid back to back are recognised by them). */
#define REC_DATA_SIZE (REC_HDR_LEN + SWAPOBJ_PAGE_SIZE) /* header + page: 4160 bytes = 260 units */
#define REC_ZERO_SIZE REC_HDR_LEN                       /* header only, may cover several pages */
#define REC_FILL_SIZE (REC_HDR_LEN + 16u)               /* header + one 16-byte word block */
_Static_assert(REC_DATA_SIZE % REC_ALIGN == 0 && REC_FILL_SIZE % REC_ALIGN == 0, "page records need no padding");

/* Total on-disk bytes of a record with this payload (header + padded payload). */
static inline uint32_t rec_size(uint32_t payload_len)
{
	return REC_HDR_LEN + ((payload_len + REC_ALIGN - 1) & ~(REC_ALIGN - 1));
}

/*
 * Write a record header at dst (the payload must already be at dst+64),
 * zero the padding and compute the checksum. Returns the record's size.
 */
uint32_t rec_seal(uint8_t *dst, const struct rec *r, uint64_t seed);

/* Re-stamp a sealed record with a new seg_gen (re-checksums the header only). */
void rec_restamp(uint8_t *rec, uint32_t seg_gen, uint64_t seed);

enum rec_verdict {
	REC_OK = 0,
	REC_OOL,          /* header fine, payload out of line (split segments): *out and *size are valid */
	REC_BAD_MAGIC,    /* not a record start */
	REC_BAD_HDR_CSUM, /* magic present, header checksum mismatch: nothing in it can be trusted */
	REC_BAD_HEADER,   /* header checksum ok, fields impossible */
	REC_TRUNCATED,    /* runs past the available bytes */
	REC_BAD_CSUM,     /* header fine (*out and *size are valid), payload checksum mismatch */
	REC_BAD_PAYLOAD,  /* checksums ok but payload malformed for the type */
};
const char *rec_verdict_str(enum rec_verdict v);

/*
 * Decode a record at buf (avail bytes readable). The header checksum is
 * always verified; the payload checksum only if verify is true. On REC_OK
 * and on REC_BAD_CSUM, *out is filled and *size is the record's total size
 * (for REC_BAD_CSUM the header can be trusted, the payload cannot).
 */
enum rec_verdict rec_decode(const uint8_t *buf, size_t avail, uint64_t seed, bool verify, struct rec *out,
                            uint32_t *size);

/*
 * Write an out-of-line record's 80-byte header at dst; its payload
 * (r->payload_len bytes at payload) lies at byte offset doff of the segment
 * (a multiple of ADDR_UNIT) and is checksummed here, not copied.
 */
void rec_seal_ool(uint8_t *dst, const struct rec *r, const uint8_t *payload, uint32_t doff, uint64_t seed);
/*
 * Attach and check the payload of a record rec_decode returned REC_OOL for:
 * payload points at its r->payload_len bytes. Returns REC_OK, REC_BAD_CSUM
 * (only when verify) or REC_BAD_PAYLOAD, as rec_decode would.
 */
enum rec_verdict rec_ool_payload(struct rec *r, const uint8_t *payload, bool verify, uint64_t seed);
/*
 * The header checksum rec_seal / rec_seal_ool would store for the header
 * at rec (of the length its header-length field says; rec must hold
 * REC_OOL_HDR_LEN bytes when that field says so).
 */
uint32_t rec_hdr_csum(const uint8_t *rec, uint64_t seed);
/* Low 32 bits of a payload's checksum (what the index keeps per out-of-line page). */
uint32_t rec_payload_csum32(const uint8_t *payload, uint32_t len, uint64_t seed);

/*
 * A segment image in memory (seg_size bytes, read whole), in either
 * layout. Decoders of segments go through this so that both layouts and
 * both copies of a split segment's stream are handled in one place.
 * Positions are *stream offsets*: in a classic segment the byte offset; in
 * a split segment the offset in the logical record stream (see
 * SEGHDR_F_SPLIT), which seg_phys maps to the byte offset of copy A.
 */
struct seg_img {
	const uint8_t *img;
	uint32_t seg_size;
	uint64_t seed;
	bool split;
	int hdr_copy; /* the SEGHDR used: 0 block 0, 1 block 1, 2 the stream's copy (split), -1 none */
	/*
	 * The use's generation (seg_img_open sets it; 0: any). Between the two
	 * copies, a record of another generation (left by an earlier use where
	 * this one's write was lost) never wins over one of this generation.
	 */
	uint32_t gen;
};
/*
 * Read a segment's SEGHDR (block 0, or in a split segment its copy in
 * block 1 when block 0 does not decode) and set up si. Returns REC_OK with
 * *hdr filled, or the verdict of block 0 when neither copy is a SEGHDR of
 * segment segno. img may hold just the first two blocks for this call.
 */
enum rec_verdict seg_img_open(struct seg_img *si, const uint8_t *img, uint32_t seg_size, uint64_t seed, uint64_t segno,
                              struct rec *hdr);
/*
 * seg_img_open on a whole segment image: when neither block 0 nor 1 holds
 * the header, a split segment's third copy, at the head of its record
 * stream (the segment's last two blocks), is tried too (hdr_copy 2).
 */
enum rec_verdict seg_img_open_whole(struct seg_img *si, const uint8_t *img, uint32_t seg_size, uint64_t seed,
                                    uint64_t segno, struct rec *hdr);
/* The split SEGHDR copy at the head of the stream: last2 holds the segment's last two blocks. */
enum rec_verdict seg_hdr_from_stream(const uint8_t *last2, uint64_t seed, uint64_t segno, struct rec *hdr);
/* First stream offset past the SEGHDR, and the end no record may cross. */
#define SEGHDR_REC_SIZE (REC_HDR_LEN + SEGHDR_LEN)
static inline uint64_t seg_stream_start(void)
{
	return SEGHDR_REC_SIZE;
}
uint64_t seg_stream_end(const struct seg_img *si);
/* Byte offset in the segment of stream offset pos (copy A in a split segment). */
uint64_t seg_phys(uint32_t seg_size, bool split, uint64_t pos);
/* Split segment: the copy B of the byte at segment offset phys (in the stream) is here. */
#define SEG_COPY_B(phys) ((phys) + 4096u)
/*
 * Decode the record at stream offset pos: rec_decode's verdicts, except
 * that an out-of-line payload is attached (REC_OOL never comes back) and,
 * in a split segment, copy B is used when copy A is not a sound header
 * (*copy tells which: 0 A, 1 B). *phys = byte offset of the header's copy
 * A: a record's address is always its copy A's, whichever copy was read.
 * An out-of-line payload placed outside the data area (below the stream
 * block holding its header) makes REC_BAD_CSUM with payload NULL: the
 * header is known, the payload is not.
 * In a split segment a record is only looked for within pos's sector:
 * where the sector ends in zeros the next record starts at the next
 * sector (seg_next_sector).
 */
enum rec_verdict seg_rec_at(const struct seg_img *si, uint64_t pos, bool verify, struct rec *out, uint32_t *size,
                            uint64_t *phys, int *copy);
/*
 * Split segment: might a record of the use (si->gen) that both copies lost
 * have started at stream offset q? Both copies must look like a record of
 * the use that does not decode, and either differ (damage), or both check
 * out (impossible, in both), or be alike in a sector the use wrote in both
 * copies (the valid record before it, prev, or after it, next, is in the
 * same sector in both copies; UINT64_MAX: none). Anything else is an
 * earlier use's or another store's leftovers where a write was lost, or
 * the end. *hint: a seq the header names if it checks out. Replay and the
 * checker decide lost regions with it.
 */
bool seg_lost_at(const struct seg_img *si, uint64_t q, uint64_t prev, uint64_t next, uint64_t *hint);
/*
 * Does the header at p (lim bytes of room: the rest of a classic segment,
 * or of a split stream's sector) look like a record of generation gen that
 * does not decode: its magic present, or a header that checks out once the
 * magic is put back? Zero magic is the end of the records or a record
 * retired; a header that checks out but names another generation is an
 * earlier use's. *ok: the header checks out (magic aside); *seq then the
 * seq it names, else 0 (a damaged seq field must not make it look torn).
 */
bool rec_looks_damaged(const uint8_t *p, size_t lim, uint64_t seed, uint32_t gen, bool *ok, uint64_t *seq);
/*
 * The first stream offset at or after pos (16-aligned) where a record of
 * generation gen other than a SEGHDR decodes with a sound header (REC_OK,
 * or REC_BAD_CSUM: its payload damaged), as seg_rec_at reads it; 0 if none
 * before the stream's end. *out, *size, *phys, *copy as seg_rec_at gives
 * them for that record. How replay and the checker find the next record
 * after a spot that holds none.
 */
uint64_t seg_next_record(const struct seg_img *si, uint64_t pos, uint32_t gen, struct rec *out, uint32_t *size,
                         uint64_t *phys, int *copy, enum rec_verdict *v);
/* The record magic at stream offset pos: copy A's, or B's if A's is not the record magic. */
uint32_t seg_magic_at(const struct seg_img *si, uint64_t pos);
/* Split segment: true if the bytes of pos's sector from pos on are zero in copy A (and B). */
bool seg_sector_rest_zero(const struct seg_img *si, uint64_t pos);
static inline uint64_t seg_next_sector(uint64_t pos)
{
	return (pos + SPLIT_SECTOR) & ~(uint64_t)(SPLIT_SECTOR - 1);
}

/*
 * A name record's payload (CREATE or RENAME): the object's identity. The
 * pointers point into the decoded payload.
 */
struct name_rec {
	uint8_t cls, flags;
	uint16_t keylen;
	uint32_t auxlen;
	uint64_t version;
	const uint8_t *keyenc; /* keylen bytes of key encoding */
	const uint8_t *aux;    /* auxlen bytes */
};
#define NAME_REC_MAX (CREATE_KEY + KEYENC_MAX + AUX_MAX)

/* Encode a name record payload into dst (NAME_REC_MAX bytes); returns its length. */
uint32_t name_rec_encode(uint8_t *dst, uint8_t cls, uint8_t flags, uint64_t version, const swapobj_key *key,
                         const uint8_t *aux, uint32_t auxlen);
/*
 * Decode and check a name record payload of len bytes: known class and
 * flags, lengths adding up, aux at most AUX_MAX, a valid key encoding
 * (decoded into *key if key is not NULL). Returns 0 or SWAPOBJ_ECORRUPT.
 */
int name_rec_decode(const uint8_t *payload, uint32_t len, struct name_rec *out, swapobj_key *key);

/* Encode key's first ncomp components; returns bytes written (<= KEYENC_MAX). */
uint32_t key_encode(uint8_t *dst, const swapobj_key *key, uint32_t ncomp);
/* Decode a key encoding of exactly len bytes. Returns 0 or SWAPOBJ_ECORRUPT. */
int key_decode(const uint8_t *src, uint32_t len, swapobj_key *out);
/* Validate a key from the caller: 1..16 components, lengths consistent. */
int key_check(const swapobj_key *key, uint32_t min_comp);

#endif
