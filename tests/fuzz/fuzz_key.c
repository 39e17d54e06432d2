/*
 * fuzz_key.c - key_decode on arbitrary bytes. A key that decodes is a valid
 * key (key_check) and encodes back to exactly the bytes it came from.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	swapobj_key k;
	uint8_t enc[KEYENC_MAX];
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if (size <= UINT32_MAX && key_decode(buf, (uint32_t)size, &k) == 0) {
		if (key_check(&k, 1) != 0)
			abort();
		uint32_t n = key_encode(enc, &k, k.ncomp);
		if (n != size || memcmp(enc, buf, n) != 0)
			abort();
	}
	free(buf);
	return 0;
}
