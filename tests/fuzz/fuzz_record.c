/*
 * fuzz_record.c - rec_decode on arbitrary bytes (with and without payload
 * verification), as replay, the cleaner and the checker call it. A record
 * that decodes must lie within the bytes given, and decoding must not read
 * past them (ASan checks).
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy of exactly size bytes, so any overread is caught. */
	uint8_t *buf = malloc(size ? size : 1);
	struct rec r;
	uint32_t sz;
	memcpy(buf, data, size);
	for (int verify = 0; verify < 2; verify++) {
		enum rec_verdict v = rec_decode(buf, size, 0x5eed5eed5eed5eedull, verify, &r, &sz);
		if ((v == REC_OK || v == REC_BAD_CSUM) && (sz > size || sz < REC_HDR_LEN))
			abort();
		(void)rec_verdict_str(v);
	}
	free(buf);
	return 0;
}
