/*
 * fuzz_record_type.c - the structure checks of one record type (FUZZ_TYPE,
 * set at compile time: one fuzzer per payload decoder). The input gives
 * the header fields and the payload; the harness seals the record (valid
 * checksums, as a writer or a hostile image crafted with the store's seed
 * would) so that decoding reaches the per-type checks. A record that
 * decodes must be one the library can use: sizes consistent, keys
 * decodable, offsets in range.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

#ifndef FUZZ_TYPE
#error "FUZZ_TYPE must name a record type"
#endif

#define SEED 0x0123456789abcdefull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 40)
		return 0;
	struct rec r = {0};
	r.type = FUZZ_TYPE;
	r.flags = data[0];
	r.raw_len = so_get_le32(data + 1);
	r.seq = so_get_le64(data + 5);
	r.oid = so_get_le64(data + 13);
	r.lpos = so_get_le64(data + 21);
	r.obj_size = so_get_le64(data + 29);
	r.seg_gen = data[37];
	uint32_t plen = (uint32_t)(size - 40);
	if (data[38] & 1)
		plen = so_get_le16(data + 38) >> 1; /* a payload length that disagrees with the bytes given */
	r.payload_len = plen;
	uint32_t recsz = rec_size(plen);
	size_t avail = (size_t)recsz > size - 40 + REC_HDR_LEN ? (size_t)recsz : size - 40 + REC_HDR_LEN;
	uint8_t *buf = calloc(1, avail + REC_ALIGN);
	memcpy(buf + REC_HDR_LEN, data + 40, SO_MIN((size_t)plen, size - 40));
	rec_seal(buf, &r, SEED);
	/* Decode with exactly the bytes the record claims, and with fewer. */
	size_t tries[2] = {recsz, size - 40 + REC_HDR_LEN};
	for (int t = 0; t < 2; t++) {
		struct rec o;
		uint32_t sz;
		enum rec_verdict v = rec_decode(buf, tries[t], SEED, true, &o, &sz);
		if (v != REC_OK)
			continue;
		if (sz != recsz || sz > tries[t] || o.type != FUZZ_TYPE)
			abort();
		swapobj_key k;
		switch (o.type) {
		case REC_DATA:
			if (o.lpos % 4096 || o.raw_len == 0 || o.raw_len % 4096 ||
			    o.raw_len > REC_ZERO_MAX_PAGES * 4096 || o.lpos + o.raw_len > SWAPOBJ_MAX_OBJECT_SIZE)
				abort();
			break;
		case REC_CREATE:
			/* Name record: the key, then aux_len bytes of aux data. */
			if (o.payload_len < CREATE_KEY ||
			    so_get_le16(o.payload + CREATE_KEYLEN) > o.payload_len - CREATE_KEY ||
			    key_decode(o.payload + CREATE_KEY, so_get_le16(o.payload + CREATE_KEYLEN), &k) != 0 ||
			    key_check(&k, 1) != 0 || so_get_le32(o.payload + CREATE_AUXLEN) > AUX_MAX)
				abort();
			break;
		case REC_INVALIDATE:
			if (key_decode(o.payload, o.payload_len, &k) != 0 || key_check(&k, 1) != 0)
				abort();
			break;
		case REC_PUNCH:
			if (o.payload_len != 8 || so_get_le64(o.payload) % 4096)
				abort();
			break;
		default:
			break;
		}
	}
	free(buf);
	return 0;
}
