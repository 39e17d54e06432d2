/*
 * format.c - encoders and bounds-checked decoders for superblocks, records
 * and keys. Nothing here does I/O or allocates.
 */
#include "format.h"

#include "util.h"

_Static_assert(SB_CSUM + 8 <= SO_SB_USED, "superblock fields overflow the used area");
_Static_assert(RH_CSUM + 8 == REC_HDR_LEN, "record header is 64 bytes");
_Static_assert(REC_HDR_LEN % REC_ALIGN == 0, "header keeps payload aligned");

void sb_encode(uint8_t *buf, const struct sb_info *sb)
{
	memset(buf, 0, SO_SB_SIZE);
	so_put_le64(buf + SB_MAGIC, SO_SB_MAGIC);
	so_put_le32(buf + SB_VERSION, sb->version);
	so_put_le32(buf + SB_HDR_SIZE, SO_SB_USED);
	memcpy(buf + SB_UUID, sb->uuid, 16);
	so_put_le32(buf + SB_DEV_INDEX, sb->dev_index);
	so_put_le32(buf + SB_NDEVS, sb->ndevs);
	so_put_le32(buf + SB_SEG_SIZE, sb->seg_size);
	so_put_le32(buf + SB_PAGE_SIZE, sb->page_size);
	so_put_le64(buf + SB_DEV_BYTES, sb->dev_bytes);
	so_put_le64(buf + SB_DATA_START, sb->data_start);
	so_put_le32(buf + SB_NSEGS, sb->nsegs);
	so_put_le32(buf + SB_SEG_BASE, sb->seg_base);
	so_put_le64(buf + SB_TOTAL_SEGS, sb->total_segs);
	so_put_le64(buf + SB_CREATED, sb->created_ns);
	so_put_le64(buf + SB_COMPAT, sb->compat);
	so_put_le64(buf + SB_INCOMPAT, sb->incompat);
	so_put_le64(buf + SB_RO_COMPAT, sb->ro_compat);
	so_put_le64(buf + SB_CSUM, so_hash64(buf, SB_CSUM, 0));
}

int sb_decode(const uint8_t *buf, size_t len, struct sb_info *out)
{
	if (len < SO_SB_USED)
		return so_err(SWAPOBJ_EFORMAT, "superblock truncated (%zu bytes)", len);
	if (so_get_le64(buf + SB_MAGIC) != SO_SB_MAGIC)
		return so_err(SWAPOBJ_EFORMAT, "no swapobj superblock (bad magic)");
	if (so_get_le64(buf + SB_CSUM) != so_hash64(buf, SB_CSUM, 0))
		return so_err(SWAPOBJ_EFORMAT, "superblock checksum mismatch");
	memset(out, 0, sizeof(*out));
	out->version = so_get_le32(buf + SB_VERSION);
	if (out->version != SO_FORMAT_VERSION)
		return so_err(SWAPOBJ_EFORMAT, "unsupported format version %u (this library reads %u)", out->version,
		              SO_FORMAT_VERSION);
	if (so_get_le32(buf + SB_HDR_SIZE) != SO_SB_USED)
		return so_err(SWAPOBJ_EFORMAT, "superblock header size %u unexpected", so_get_le32(buf + SB_HDR_SIZE));
	memcpy(out->uuid, buf + SB_UUID, 16);
	out->dev_index = so_get_le32(buf + SB_DEV_INDEX);
	out->ndevs = so_get_le32(buf + SB_NDEVS);
	out->seg_size = so_get_le32(buf + SB_SEG_SIZE);
	out->page_size = so_get_le32(buf + SB_PAGE_SIZE);
	out->dev_bytes = so_get_le64(buf + SB_DEV_BYTES);
	out->data_start = so_get_le64(buf + SB_DATA_START);
	out->nsegs = so_get_le32(buf + SB_NSEGS);
	out->seg_base = so_get_le32(buf + SB_SEG_BASE);
	out->total_segs = so_get_le64(buf + SB_TOTAL_SEGS);
	out->created_ns = so_get_le64(buf + SB_CREATED);
	out->compat = so_get_le64(buf + SB_COMPAT);
	out->incompat = so_get_le64(buf + SB_INCOMPAT);
	out->ro_compat = so_get_le64(buf + SB_RO_COMPAT);
	if (out->incompat & ~SB_INCOMPAT_KNOWN)
		return so_err(SWAPOBJ_EFORMAT, "unknown incompatible features 0x%llx",
		              (unsigned long long)(out->incompat & ~SB_INCOMPAT_KNOWN));
	if (out->ndevs < 1 || out->ndevs > SWAPOBJ_MAX_DEVICES || out->dev_index >= out->ndevs)
		return so_err(SWAPOBJ_EFORMAT, "bad device count %u / index %u", out->ndevs, out->dev_index);
	if (out->seg_size < SWAPOBJ_SEGMENT_MIN || out->seg_size > SWAPOBJ_SEGMENT_MAX ||
	    (out->seg_size & (out->seg_size - 1)))
		return so_err(SWAPOBJ_EFORMAT, "bad segment size %u", out->seg_size);
	if (out->page_size != SWAPOBJ_PAGE_SIZE)
		return so_err(SWAPOBJ_EFORMAT, "unsupported page size %u", out->page_size);
	if (out->data_start != SO_DATA_START)
		return so_err(SWAPOBJ_EFORMAT, "bad data start %llu", (unsigned long long)out->data_start);
	if (out->nsegs < 1 || out->total_segs < out->nsegs || (uint64_t)out->seg_base + out->nsegs > out->total_segs)
		return so_err(SWAPOBJ_EFORMAT, "bad segment counts (nsegs %u base %u total %llu)", out->nsegs,
		              out->seg_base, (unsigned long long)out->total_segs);
	if (out->dev_bytes < out->data_start + (uint64_t)out->nsegs * out->seg_size)
		return so_err(SWAPOBJ_EFORMAT, "device size %llu too small for %u segments",
		              (unsigned long long)out->dev_bytes, out->nsegs);
	if (out->total_segs * (uint64_t)out->seg_size / 16 > (1ull << 46))
		return so_err(SWAPOBJ_EFORMAT, "store larger than the address space");
	return 0;
}

uint64_t store_seed(const uint8_t uuid[16])
{
	return so_get_le64(uuid) ^ so_get_le64(uuid + 8) ^ 0x5eed5eed5eed5eedull;
}

static uint32_t hdr_csum(const uint8_t *rec, uint64_t seed)
{
	return (uint32_t)XXH3_64bits_withSeed(rec, RH_HDR_CSUM, seed);
}

static uint64_t payload_csum(const uint8_t *rec, uint32_t payload_len, uint64_t seed)
{
	return payload_len ? XXH3_64bits_withSeed(rec + REC_HDR_LEN, payload_len, seed) : 0;
}

/* Header checksum of an out-of-line header: its first RH_HDR_CSUM bytes and its extension. */
static uint32_t hdr_csum_ool(const uint8_t *rec, uint64_t seed)
{
	uint8_t tmp[RH_HDR_CSUM + REC_OOL_HDR_LEN - REC_HDR_LEN];
	memcpy(tmp, rec, RH_HDR_CSUM);
	memcpy(tmp + RH_HDR_CSUM, rec + REC_HDR_LEN, REC_OOL_HDR_LEN - REC_HDR_LEN);
	return (uint32_t)XXH3_64bits_withSeed(tmp, sizeof(tmp), seed);
}

uint32_t rec_hdr_csum(const uint8_t *rec, uint64_t seed)
{
	return so_get_le16(rec + RH_HDR_LEN) == REC_OOL_HDR_LEN ? hdr_csum_ool(rec, seed) : hdr_csum(rec, seed);
}

uint32_t rec_payload_csum32(const uint8_t *payload, uint32_t len, uint64_t seed)
{
	return (uint32_t)XXH3_64bits_withSeed(payload, len, seed);
}

static void put_common(uint8_t *dst, const struct rec *r, uint16_t hdr_len)
{
	so_put_le32(dst + RH_MAGIC, REC_MAGIC);
	dst[RH_TYPE] = r->type;
	dst[RH_FLAGS] = r->flags;
	so_put_le16(dst + RH_HDR_LEN, hdr_len);
	so_put_le32(dst + RH_PAYLOAD_LEN, r->payload_len);
	so_put_le32(dst + RH_RAW_LEN, r->raw_len);
	so_put_le64(dst + RH_SEQ, r->seq);
	so_put_le64(dst + RH_OID, r->oid);
	so_put_le64(dst + RH_LPOS, r->lpos);
	so_put_le64(dst + RH_OBJ_SIZE, r->obj_size);
	so_put_le32(dst + RH_SEG_GEN, r->seg_gen);
}

void rec_seal_ool(uint8_t *dst, const struct rec *r, const uint8_t *payload, uint32_t doff, uint64_t seed)
{
	put_common(dst, r, REC_OOL_HDR_LEN);
	memset(dst + REC_HDR_LEN, 0, REC_OOL_HDR_LEN - REC_HDR_LEN);
	so_put_le32(dst + RX_DOFF, doff / ADDR_UNIT);
	so_put_le32(dst + RH_HDR_CSUM, hdr_csum_ool(dst, seed));
	so_put_le64(dst + RH_CSUM, r->payload_len ? XXH3_64bits_withSeed(payload, r->payload_len, seed) : 0);
}

uint32_t rec_seal(uint8_t *dst, const struct rec *r, uint64_t seed)
{
	uint32_t size = rec_size(r->payload_len);
	put_common(dst, r, REC_HDR_LEN);
	if (size > REC_HDR_LEN + r->payload_len)
		memset(dst + REC_HDR_LEN + r->payload_len, 0, size - REC_HDR_LEN - r->payload_len);
	so_put_le32(dst + RH_HDR_CSUM, hdr_csum(dst, seed));
	so_put_le64(dst + RH_CSUM, payload_csum(dst, r->payload_len, seed));
	return size;
}

void rec_restamp(uint8_t *rec, uint32_t seg_gen, uint64_t seed)
{
	so_put_le32(rec + RH_SEG_GEN, seg_gen);
	so_put_le32(rec + RH_HDR_CSUM,
	            so_get_le16(rec + RH_HDR_LEN) == REC_OOL_HDR_LEN ? hdr_csum_ool(rec, seed) : hdr_csum(rec, seed));
}

const char *rec_verdict_str(enum rec_verdict v)
{
	switch (v) {
	case REC_OK:
		return "ok";
	case REC_OOL:
		return "payload out of line";
	case REC_BAD_MAGIC:
		return "no record magic";
	case REC_BAD_HDR_CSUM:
		return "header checksum mismatch";
	case REC_BAD_HEADER:
		return "impossible header fields";
	case REC_TRUNCATED:
		return "record runs past the end of the segment";
	case REC_BAD_CSUM:
		return "payload checksum mismatch";
	case REC_BAD_PAYLOAD:
		return "malformed payload";
	}
	return "?";
}

/* Per-type structural checks once the checksum matched (or was skipped). */
static enum rec_verdict rec_check_payload(const struct rec *r)
{
	switch (r->type) {
	case REC_SEGHDR:
		return r->payload_len == SEGHDR_LEN ? REC_OK : REC_BAD_PAYLOAD;
	case REC_DATA:
		if (r->flags & ~REC_F_KNOWN || (r->flags & REC_F_ZERO && r->flags & REC_F_FILL))
			return REC_BAD_PAYLOAD;
		if (r->lpos % SWAPOBJ_PAGE_SIZE || r->raw_len == 0 || r->raw_len % SWAPOBJ_PAGE_SIZE)
			return REC_BAD_PAYLOAD;
		if (r->lpos >= SWAPOBJ_MAX_OBJECT_SIZE || r->raw_len > SWAPOBJ_MAX_OBJECT_SIZE - r->lpos)
			return REC_BAD_PAYLOAD;
		if (r->flags & REC_F_ZERO)
			return r->payload_len == 0 && r->raw_len <= REC_ZERO_MAX_PAGES * SWAPOBJ_PAGE_SIZE
			           ? REC_OK
			           : REC_BAD_PAYLOAD;
		if (r->raw_len != SWAPOBJ_PAGE_SIZE)
			return REC_BAD_PAYLOAD;
		if (r->flags & REC_F_FILL)
			return r->payload_len == 8 ? REC_OK : REC_BAD_PAYLOAD;
		return r->payload_len == SWAPOBJ_PAGE_SIZE ? REC_OK : REC_BAD_PAYLOAD;
	case REC_CREATE:
	case REC_RENAME: {
		struct name_rec nr;
		if (r->oid == 0 || r->obj_size > SWAPOBJ_MAX_OBJECT_SIZE || (r->type == REC_CREATE && r->lpos) ||
		    r->lpos == r->oid || r->lpos == UINT64_MAX)
			return REC_BAD_PAYLOAD;
		return name_rec_decode(r->payload, r->payload_len, &nr, NULL) == 0 ? REC_OK : REC_BAD_PAYLOAD;
	}
	case REC_AUX:
		return r->oid && r->payload_len <= AUX_MAX ? REC_OK : REC_BAD_PAYLOAD;
	case REC_PUNCH: {
		if (r->payload_len != 8 || r->lpos % SWAPOBJ_PAGE_SIZE || r->oid == 0)
			return REC_BAD_PAYLOAD;
		uint64_t len = so_get_le64(r->payload);
		return (len % SWAPOBJ_PAGE_SIZE == 0 && r->lpos <= SWAPOBJ_MAX_OBJECT_SIZE &&
		        len <= SWAPOBJ_MAX_OBJECT_SIZE - r->lpos)
		           ? REC_OK
		           : REC_BAD_PAYLOAD;
	}
	case REC_TRUNCATE:
		return r->payload_len == 0 && r->oid && r->obj_size <= SWAPOBJ_MAX_OBJECT_SIZE ? REC_OK
		                                                                               : REC_BAD_PAYLOAD;
	case REC_DELETE:
		return r->payload_len == 0 && r->oid ? REC_OK : REC_BAD_PAYLOAD;
	case REC_SYNC:
		return r->payload_len == 16 ? REC_OK : REC_BAD_PAYLOAD;
	case REC_CKPT:
		return r->payload_len > 0 && r->oid == 0 && r->lpos < r->obj_size &&
		               r->payload_len <= r->obj_size - r->lpos
		           ? REC_OK
		           : REC_BAD_PAYLOAD;
	case REC_INVALIDATE: {
		swapobj_key k;
		return r->payload_len >= 2 && key_decode(r->payload, r->payload_len, &k) == 0 ? REC_OK
		                                                                              : REC_BAD_PAYLOAD;
	}
	}
	return REC_BAD_HEADER;
}

/* Header-only structural checks: these need no payload. */
static enum rec_verdict rec_check_header(const struct rec *r)
{
	if (r->type < 1 || r->type > REC_TYPE_MAX || r->payload_len > SWAPOBJ_SEGMENT_MAX)
		return REC_BAD_HEADER;
	if (r->type == REC_DATA) {
		if (r->flags & ~REC_F_KNOWN || (r->flags & REC_F_ZERO && r->flags & REC_F_FILL))
			return REC_BAD_HEADER;
		if (r->lpos % SWAPOBJ_PAGE_SIZE || r->raw_len == 0 || r->raw_len % SWAPOBJ_PAGE_SIZE || r->oid == 0)
			return REC_BAD_HEADER;
		if (r->lpos >= SWAPOBJ_MAX_OBJECT_SIZE || r->raw_len > SWAPOBJ_MAX_OBJECT_SIZE - r->lpos)
			return REC_BAD_HEADER;
		/* A bound on the pages one 64-byte record maps keeps replay's work and memory linear in the log. */
		if (r->raw_len > REC_ZERO_MAX_PAGES * SWAPOBJ_PAGE_SIZE)
			return REC_BAD_HEADER;
		uint32_t want = r->flags & REC_F_ZERO ? 0 : r->flags & REC_F_FILL ? 8 : SWAPOBJ_PAGE_SIZE;
		if (r->payload_len != want || (!(r->flags & REC_F_ZERO) && r->raw_len != SWAPOBJ_PAGE_SIZE))
			return REC_BAD_HEADER;
	}
	return REC_OK;
}

enum rec_verdict rec_decode(const uint8_t *buf, size_t avail, uint64_t seed, bool verify, struct rec *out,
                            uint32_t *size)
{
	if (avail < REC_HDR_LEN)
		return REC_TRUNCATED;
	if (so_get_le32(buf + RH_MAGIC) != REC_MAGIC)
		return REC_BAD_MAGIC;
	uint16_t hlen = so_get_le16(buf + RH_HDR_LEN); /* not trusted until the checksum matches */
	if (hlen == REC_OOL_HDR_LEN) {
		if (avail < REC_OOL_HDR_LEN)
			return REC_TRUNCATED;
		if (so_get_le32(buf + RH_HDR_CSUM) != hdr_csum_ool(buf, seed))
			return REC_BAD_HDR_CSUM;
	} else if (so_get_le32(buf + RH_HDR_CSUM) != hdr_csum(buf, seed))
		return REC_BAD_HDR_CSUM;
	out->type = buf[RH_TYPE];
	out->flags = buf[RH_FLAGS];
	out->payload_len = so_get_le32(buf + RH_PAYLOAD_LEN);
	out->raw_len = so_get_le32(buf + RH_RAW_LEN);
	out->seq = so_get_le64(buf + RH_SEQ);
	out->oid = so_get_le64(buf + RH_OID);
	out->lpos = so_get_le64(buf + RH_LPOS);
	out->obj_size = so_get_le64(buf + RH_OBJ_SIZE);
	out->seg_gen = so_get_le32(buf + RH_SEG_GEN);
	out->csum = so_get_le64(buf + RH_CSUM);
	out->hdr_len = hlen;
	out->doff = 0;
	out->payload = buf + REC_HDR_LEN;
	if ((hlen != REC_HDR_LEN && hlen != REC_OOL_HDR_LEN) || rec_check_header(out) != REC_OK)
		return REC_BAD_HEADER;
	if (hlen == REC_OOL_HDR_LEN) {
		/* Only what a split segment puts out of line: pages, and payloads too large to sit inline. */
		bool page = out->type == REC_DATA && !(out->flags & REC_F_KNOWN);
		out->doff = so_get_le32(buf + RX_DOFF) * ADDR_UNIT;
		out->payload = NULL;
		if (buf[RX_CODEC] != 0 || buf[RX_TIER] != 0 || !so_mem_is_zero(buf + RX_RESERVED, 10) ||
		    out->type == REC_SEGHDR || out->type == REC_CKPT || (!page && out->payload_len <= REC_INLINE_MAX) ||
		    (page && out->doff % SWAPOBJ_PAGE_SIZE))
			return REC_BAD_HEADER;
		*size = REC_OOL_HDR_LEN;
		return REC_OOL;
	}
	uint32_t sz = rec_size(out->payload_len);
	if (sz > avail)
		return REC_TRUNCATED;
	*size = sz;
	if (verify && so_get_le64(buf + RH_CSUM) != payload_csum(buf, out->payload_len, seed))
		return REC_BAD_CSUM;
	if (!verify && out->type != REC_DATA)
		return REC_OK; /* structure of other payloads is checked only once their checksum is */
	return rec_check_payload(out);
}

uint32_t name_rec_encode(uint8_t *dst, uint8_t cls, uint8_t flags, uint64_t version, const swapobj_key *key,
                         const uint8_t *aux, uint32_t auxlen)
{
	uint32_t klen = key_encode(dst + CREATE_KEY, key, key->ncomp);
	dst[CREATE_CLASS] = cls;
	dst[CREATE_FLAGS] = flags;
	so_put_le16(dst + CREATE_KEYLEN, (uint16_t)klen);
	so_put_le32(dst + CREATE_AUXLEN, auxlen);
	so_put_le64(dst + CREATE_VERSION, version);
	if (auxlen)
		memcpy(dst + CREATE_KEY + klen, aux, auxlen);
	return CREATE_KEY + klen + auxlen;
}

int name_rec_decode(const uint8_t *payload, uint32_t len, struct name_rec *out, swapobj_key *key)
{
	swapobj_key k;
	if (len < CREATE_KEY)
		return SWAPOBJ_ECORRUPT;
	out->cls = payload[CREATE_CLASS];
	out->flags = payload[CREATE_FLAGS];
	out->keylen = so_get_le16(payload + CREATE_KEYLEN);
	out->auxlen = so_get_le32(payload + CREATE_AUXLEN);
	out->version = so_get_le64(payload + CREATE_VERSION);
	if ((out->cls != SWAPOBJ_CLASS_SWAP && out->cls != SWAPOBJ_CLASS_CACHE) || (out->flags & ~CREATE_F_KNOWN) ||
	    out->auxlen > AUX_MAX || out->keylen > KEYENC_MAX ||
	    (uint64_t)CREATE_KEY + out->keylen + out->auxlen != len)
		return SWAPOBJ_ECORRUPT;
	out->keyenc = payload + CREATE_KEY;
	out->aux = payload + CREATE_KEY + out->keylen;
	return key_decode(out->keyenc, out->keylen, key ? key : &k);
}

uint32_t key_encode(uint8_t *dst, const swapobj_key *key, uint32_t ncomp)
{
	uint32_t n = 0;
	dst[n++] = (uint8_t)ncomp;
	for (uint32_t i = 0; i < ncomp; i++) {
		dst[n++] = key->len[i];
		memcpy(dst + n, key->buf + key->off[i], key->len[i]);
		n += key->len[i];
	}
	return n;
}

int key_decode(const uint8_t *src, uint32_t len, swapobj_key *out)
{
	swapobj_key_init(out);
	if (len < 1)
		return SWAPOBJ_ECORRUPT;
	uint32_t ncomp = src[0], pos = 1;
	if (ncomp < 1 || ncomp > SWAPOBJ_KEY_MAX_COMPONENTS)
		return SWAPOBJ_ECORRUPT;
	for (uint32_t i = 0; i < ncomp; i++) {
		if (pos >= len)
			return SWAPOBJ_ECORRUPT;
		uint32_t cl = src[pos++];
		if (cl == 0 || cl > len - pos || swapobj_key_push(out, src + pos, cl) != 0)
			return SWAPOBJ_ECORRUPT;
		pos += cl;
	}
	return pos == len ? 0 : SWAPOBJ_ECORRUPT;
}

int key_check(const swapobj_key *key, uint32_t min_comp)
{
	if (!key)
		return so_err(SWAPOBJ_EINVAL, "key is NULL");
	if (key->ncomp < min_comp || key->ncomp > SWAPOBJ_KEY_MAX_COMPONENTS)
		return so_err(SWAPOBJ_EINVAL, "key has %u components (need %u..%u)", key->ncomp, min_comp,
		              SWAPOBJ_KEY_MAX_COMPONENTS);
	if (key->nbytes > SWAPOBJ_KEY_MAX_BYTES)
		return so_err(SWAPOBJ_EINVAL, "key has %u bytes (max %u)", key->nbytes, SWAPOBJ_KEY_MAX_BYTES);
	uint32_t end = 0;
	for (uint32_t i = 0; i < key->ncomp; i++) {
		if (key->len[i] == 0 || key->off[i] != end)
			return so_err(SWAPOBJ_EINVAL, "key component %u malformed (build keys with swapobj_key_push)",
			              i);
		end += key->len[i];
	}
	if (end != key->nbytes)
		return so_err(SWAPOBJ_EINVAL, "key byte count inconsistent");
	return 0;
}

enum rec_verdict rec_ool_payload(struct rec *r, const uint8_t *payload, bool verify, uint64_t seed)
{
	r->payload = payload;
	if (verify && (r->payload_len ? XXH3_64bits_withSeed(payload, r->payload_len, seed) : 0) != r->csum)
		return REC_BAD_CSUM;
	if (!verify && r->type != REC_DATA)
		return REC_OK;
	return rec_check_payload(r);
}

/* ------------------------------------------------------------------ */
/* Segment images                                                      */
/* ------------------------------------------------------------------ */

uint64_t seg_phys(uint32_t seg_size, bool split, uint64_t pos)
{
	if (!split)
		return pos;
	uint64_t nblk = seg_size / SO_BLOCK;
	return (nblk - 2 - 2 * (pos / SO_BLOCK)) * SO_BLOCK + pos % SO_BLOCK;
}

uint64_t seg_stream_end(const struct seg_img *si)
{
	if (!si->split)
		return si->seg_size;
	/* Pairs of blocks from the end down to (not into) the SEGHDR blocks. */
	return (uint64_t)(si->seg_size / SO_BLOCK - SPLIT_HDR_BLOCKS) / 2 * SO_BLOCK;
}

static bool seghdr_of(const uint8_t *blk, uint64_t seed, uint64_t segno, struct rec *r)
{
	uint32_t sz;
	return rec_decode(blk, SO_BLOCK, seed, true, r, &sz) == REC_OK && r->type == REC_SEGHDR && r->lpos == segno;
}

enum rec_verdict seg_img_open(struct seg_img *si, const uint8_t *img, uint32_t seg_size, uint64_t seed, uint64_t segno,
                              struct rec *hdr)
{
	struct rec r;
	uint32_t sz;
	si->img = img;
	si->seg_size = seg_size;
	si->seed = seed;
	si->split = false;
	si->hdr_copy = -1;
	enum rec_verdict v = rec_decode(img, SO_BLOCK, seed, true, &r, &sz);
	if (v == REC_OK && r.type == REC_SEGHDR && r.lpos == segno) {
		si->hdr_copy = 0;
	} else if (seghdr_of(img + SO_BLOCK, seed, segno, &r) &&
	           (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_SPLIT)) {
		/* Block 0 illegible; a split segment's copy in block 1 stands in (it is written with it). */
		si->hdr_copy = 1;
	} else {
		return v == REC_OK ? REC_BAD_HEADER : v;
	}
	si->split = (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_SPLIT) != 0;
	si->gen = r.seg_gen;
	*hdr = r;
	return REC_OK;
}

enum rec_verdict seg_hdr_from_stream(const uint8_t *last2, uint64_t seed, uint64_t segno, struct rec *hdr)
{
	for (int c = 0; c < 2; c++)
		if (seghdr_of(last2 + c * SO_BLOCK, seed, segno, hdr) &&
		    (so_get_le32(hdr->payload + SEGHDR_FLAGS) & SEGHDR_F_SPLIT) &&
		    !(so_get_le32(hdr->payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED))
			return REC_OK;
	return REC_BAD_HEADER;
}

enum rec_verdict seg_img_open_whole(struct seg_img *si, const uint8_t *img, uint32_t seg_size, uint64_t seed,
                                    uint64_t segno, struct rec *hdr)
{
	enum rec_verdict v = seg_img_open(si, img, seg_size, seed, segno, hdr);
	if (v == REC_OK || seg_hdr_from_stream(img + seg_size - 2 * SO_BLOCK, seed, segno, hdr) != REC_OK)
		return v;
	si->split = true;
	si->hdr_copy = 2;
	si->gen = hdr->seg_gen;
	return REC_OK;
}

static enum rec_verdict decode_one(const struct seg_img *si, uint64_t phys, uint64_t below, size_t avail, bool verify,
                                   struct rec *out, uint32_t *size)
{
	enum rec_verdict v = rec_decode(si->img + phys, avail, si->seed, verify, out, size);
	if (v != REC_OOL)
		return v;
	if (!si->split)
		return REC_BAD_HEADER; /* out of line only in split segments */
	/*
	 * The payload lies in the data area: from block 2, and below the stream
	 * block holding its header (the area grows up, the stream down, and a
	 * payload is placed before its header's block is reached).
	 */
	uint64_t lo = (uint64_t)SPLIT_HDR_BLOCKS * SO_BLOCK;
	if (out->doff < lo || out->doff > below || out->payload_len > below - out->doff) {
		/* The header is sound (its checksum matched) but says nothing usable about the payload. */
		out->payload = NULL;
		return REC_BAD_CSUM;
	}
	return rec_ool_payload(out, si->img + out->doff, verify, si->seed);
}

/* How good a copy's verdict is for picking between the two copies (a record of another use: worthless). */
static int verdict_rank(const struct seg_img *si, enum rec_verdict v, const struct rec *r)
{
	if ((v == REC_OK || v == REC_BAD_CSUM || v == REC_BAD_PAYLOAD) && si->gen && r->seg_gen != si->gen)
		return 0;
	return v == REC_OK ? 3 : v == REC_BAD_CSUM ? 2 : v == REC_BAD_PAYLOAD ? 1 : 0;
}

enum rec_verdict seg_rec_at(const struct seg_img *si, uint64_t pos, bool verify, struct rec *out, uint32_t *size,
                            uint64_t *phys, int *copy)
{
	*copy = 0;
	if (!si->split) {
		*phys = pos;
		if (pos >= si->seg_size)
			return REC_TRUNCATED;
		return decode_one(si, pos, si->seg_size, si->seg_size - pos, verify, out, size);
	}
	if (pos >= seg_stream_end(si))
		return REC_TRUNCATED;
	uint64_t a = seg_phys(si->seg_size, true, pos);
	size_t avail = SPLIT_SECTOR - pos % SPLIT_SECTOR;
	*phys = a;
	uint64_t below = SO_ROUND_DOWN(a, (uint64_t)SO_BLOCK);
	enum rec_verdict va = decode_one(si, a, below, avail, verify, out, size);
	int ra = verdict_rank(si, va, out);
	if (ra == 3)
		return va;
	struct rec rb;
	uint32_t szb;
	enum rec_verdict vb = decode_one(si, SEG_COPY_B(a), below, avail, verify, &rb, &szb);
	if (verdict_rank(si, vb, &rb) > ra) {
		*out = rb;
		*size = szb;
		*copy = 1;
		return vb;
	}
	return va;
}

uint32_t seg_magic_at(const struct seg_img *si, uint64_t pos)
{
	uint64_t a = seg_phys(si->seg_size, si->split, pos);
	if (a + 4 > si->seg_size)
		return 0;
	uint32_t m = so_get_le32(si->img + a + RH_MAGIC);
	if (m != REC_MAGIC && si->split)
		m = so_get_le32(si->img + SEG_COPY_B(a) + RH_MAGIC);
	return m;
}

/* Might a record of generation gen start at stream offset p (either copy: its magic and generation)? */
static bool seg_candidate(const struct seg_img *si, uint64_t p, uint32_t gen)
{
	if (si->split && p % SPLIT_SECTOR + REC_HDR_LEN > SPLIT_SECTOR)
		return false; /* no record starts where one would cross a sector */
	uint64_t a = seg_phys(si->seg_size, si->split, p);
	if (so_get_le32(si->img + a + RH_MAGIC) == REC_MAGIC && so_get_le32(si->img + a + RH_SEG_GEN) == gen)
		return true;
	a = SEG_COPY_B(a);
	return si->split && so_get_le32(si->img + a + RH_MAGIC) == REC_MAGIC &&
	       so_get_le32(si->img + a + RH_SEG_GEN) == gen;
}

uint64_t seg_next_record(const struct seg_img *si, uint64_t pos, uint32_t gen, struct rec *out, uint32_t *size,
                         uint64_t *phys, int *copy, enum rec_verdict *v)
{
	uint64_t lim = seg_stream_end(si);
	for (; pos + REC_HDR_LEN <= lim; pos += REC_ALIGN) {
		if (!seg_candidate(si, pos, gen))
			continue;
		*v = seg_rec_at(si, pos, true, out, size, phys, copy);
		if ((*v == REC_OK || *v == REC_BAD_CSUM) && out->seg_gen == gen && out->type != REC_SEGHDR)
			return pos;
	}
	return 0;
}

bool seg_sector_rest_zero(const struct seg_img *si, uint64_t pos)
{
	if (!si->split)
		return false;
	uint64_t a = seg_phys(si->seg_size, true, pos);
	size_t n = SPLIT_SECTOR - pos % SPLIT_SECTOR;
	return so_mem_is_zero(si->img + a, n) && so_mem_is_zero(si->img + SEG_COPY_B(a), n);
}

bool rec_looks_damaged(const uint8_t *p, size_t lim, uint64_t seed, uint32_t gen, bool *ok, uint64_t *seq)
{
	uint8_t tmp[REC_OOL_HDR_LEN];
	*ok = false;
	*seq = 0;
	if (lim < REC_HDR_LEN)
		return false;
	uint32_t magic = so_get_le32(p + RH_MAGIC);
	if (magic == 0)
		return false;
	memcpy(tmp, p, lim < REC_OOL_HDR_LEN ? REC_HDR_LEN : REC_OOL_HDR_LEN);
	so_put_le32(tmp + RH_MAGIC, REC_MAGIC);
	if (lim < REC_OOL_HDR_LEN)
		so_put_le16(tmp + RH_HDR_LEN, REC_HDR_LEN);
	bool csum = rec_hdr_csum(tmp, seed) == so_get_le32(tmp + RH_HDR_CSUM);
	if (magic != REC_MAGIC && !csum)
		return false;
	if (csum && so_get_le32(tmp + RH_SEG_GEN) != gen)
		return false; /* intact, of another use */
	*ok = csum;
	*seq = csum ? so_get_le64(tmp + RH_SEQ) : 0;
	return true;
}

/* Is there a valid record of the use at stream offset at, in both copies? */
static bool valid_both(const struct seg_img *si, uint64_t at)
{
	uint64_t a = seg_phys(si->seg_size, true, at);
	size_t lim = SPLIT_SECTOR - at % SPLIT_SECTOR;
	for (int c = 0; c < 2; c++) {
		struct rec r;
		uint32_t sz;
		enum rec_verdict v = rec_decode(si->img + (c ? SEG_COPY_B(a) : a), lim, si->seed, false, &r, &sz);
		if ((v != REC_OK && v != REC_OOL) || r.seg_gen != si->gen)
			return false;
	}
	return true;
}

bool seg_lost_at(const struct seg_img *si, uint64_t q, uint64_t prev, uint64_t next, uint64_t *hint)
{
	size_t lim = SPLIT_SECTOR - q % SPLIT_SECTOR;
	if (!si->split || lim < REC_HDR_LEN)
		return false;
	uint64_t a = seg_phys(si->seg_size, true, q), sa, sb;
	const uint8_t *pa = si->img + a, *pb = si->img + SEG_COPY_B(a);
	bool oka, okb;
	if (!rec_looks_damaged(pa, lim, si->seed, si->gen, &oka, &sa) ||
	    !rec_looks_damaged(pb, lim, si->seed, si->gen, &okb, &sb))
		return false;
	*hint = sa > sb ? sa : sb;
	if (memcmp(pa, pb, lim < REC_OOL_HDR_LEN ? lim : REC_OOL_HDR_LEN) != 0 || (oka && okb))
		return true;
	/*
	 * The same bytes in both copies, not a header that checks out: an
	 * earlier use's or another store's leftovers where this use's write
	 * was lost, unless this use wrote the sector in both copies (a valid
	 * record of it before or after in the same sector: a sector is
	 * written whole), in which case it is damage, twice alike.
	 */
	uint64_t sec = q / SPLIT_SECTOR;
	return (prev != UINT64_MAX && prev / SPLIT_SECTOR == sec && valid_both(si, prev)) ||
	       (next != UINT64_MAX && next / SPLIT_SECTOR == sec && valid_both(si, next));
}
