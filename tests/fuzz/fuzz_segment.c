/*
 * fuzz_segment.c - the segment decoder (seg_img_open_whole, seg_rec_at) on
 * a hostile segment image, walked the way replay walks a stream: record
 * by record, searching forward past what does not decode.
 *
 * Input: store seed (u64), segment number (u64), then the image (any
 * length; it is placed in a 1 MiB segment, zero-padded).
 * Properties: no crash or out-of-bounds read (ASan); a record that decodes
 * lies within its sector of the stream; an out-of-line payload lies in the
 * data area (from block 2, within the segment), pages 4 KiB-aligned;
 * headers and payload lengths are what rec_decode allows.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

#define SEG (1u << 20)

static uint8_t *img;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	if (!img && !(img = malloc(SEG)))
		abort();
	uint64_t seed = so_get_le64(data), segno = so_get_le64(data + 8);
	size_t n = size - 16 < SEG ? size - 16 : SEG;
	memset(img, 0, SEG);
	memcpy(img, data + 16, n);
	struct seg_img si;
	struct rec r;
	if (seg_img_open_whole(&si, img, SEG, seed, segno, &r) != REC_OK)
		return 0;
	if (r.type != REC_SEGHDR || r.lpos != segno)
		abort();
	uint64_t end = seg_stream_end(&si);
	if (end > SEG)
		abort();
	for (int verify = 0; verify < 2; verify++) {
		for (uint64_t pos = SEGHDR_REC_SIZE; pos + REC_HDR_LEN <= end;) {
			uint32_t sz;
			uint64_t phys;
			int copy;
			enum rec_verdict v = seg_rec_at(&si, pos, verify, &r, &sz, &phys, &copy);
			if (v == REC_OOL)
				abort(); /* seg_rec_at always attaches the payload */
			if (v != REC_OK && v != REC_BAD_CSUM) {
				pos += REC_ALIGN;
				continue;
			}
			if (si.split && (pos % SPLIT_SECTOR + sz > SPLIT_SECTOR || phys != seg_phys(SEG, true, pos)))
				abort();
			if (!si.split && pos + sz > SEG)
				abort();
			if (r.hdr_len == REC_OOL_HDR_LEN) {
				bool page = r.type == REC_DATA && !(r.flags & REC_F_KNOWN);
				if (!si.split || r.doff < SPLIT_HDR_BLOCKS * 4096u || r.doff > SEG ||
				    r.payload_len > SEG - r.doff || (page && r.doff % 4096) ||
				    r.payload != img + r.doff || (!page && r.payload_len <= REC_INLINE_MAX))
					abort();
			}
			if (v == REC_OK && r.payload_len) {
				/* The payload is readable where it claims to be (ASan checks the bounds). */
				volatile uint8_t x = r.payload[0] ^ r.payload[r.payload_len - 1];
				(void)x;
			}
			pos += sz;
		}
	}
	return 0;
}
