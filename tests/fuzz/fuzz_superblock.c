/*
 * fuzz_superblock.c - sb_decode on arbitrary bytes. A superblock that
 * decodes must encode back to the same fields and decode again.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_info a, b;
	uint8_t blk[SO_SB_SIZE];
	if (sb_decode(data, size, &a) != 0)
		return 0;
	sb_encode(blk, &a);
	if (sb_decode(blk, sizeof(blk), &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return 0;
}
