/*
 * extslot.h - where one 4 KiB page of an object lives, in 64 bits.
 *
 * A slot names the on-disk record that holds the page's current state.
 * Layout (in memory a uint64_t; extent maps pack it to 48 bits or, as an
 * offset from a chunk's lowest address, to fewer):
 *   bits 0..1   kind: EXT_NONE (hole), EXT_DATA, EXT_ZERO, EXT_FILL
 *   bits 2..47  address of the record in the store's address space
 *               (format.h: ADDR_BITS bits of ADDR_UNIT bytes).
 * A DATA page's record is REC_DATA_SIZE bytes (header + page). A ZERO record
 * is header-only and may cover several consecutive pages: each of those
 * pages' slots then holds the same address. A FILL record is header + one
 * 16-byte word block and covers one page.
 *
 * The slot never names a memory tier yet; bit 47 of the address space is
 * where one would go (addresses >= 2^45 units are reserved for tiers).
 */
#ifndef SO_EXTSLOT_H
#define SO_EXTSLOT_H

#include <stdint.h>

#include "format.h"

typedef uint64_t extslot;

enum ext_kind { EXT_NONE = 0, EXT_DATA = 1, EXT_ZERO = 2, EXT_FILL = 3 };

/*
 * Live bytes a slot charges to its segment in the usage table. A ZERO record
 * (64 bytes) may cover several pages; each zero page is charged 16 bytes,
 * its share of a record covering 4 pages. Charges only need to be
 * consistent (the same for add and release) for the table to balance; this
 * keeps segments full of live zero records from looking empty to the cleaner.
 */
#define EXT_ZERO_CHARGE 16u

static inline extslot extslot_make(enum ext_kind kind, uint64_t addr16)
{
	return (addr16 << 2) | (uint64_t)kind;
}
static inline enum ext_kind extslot_kind(extslot s)
{
	return (enum ext_kind)(s & 3u);
}
static inline uint64_t extslot_addr(extslot s)
{
	return s >> 2;
}
/* Bytes of the record a slot of this kind points at (ZERO records may be shared by several pages). */
static inline uint32_t extslot_rec_bytes(enum ext_kind k)
{
	return k == EXT_DATA ? REC_DATA_SIZE : k == EXT_FILL ? REC_FILL_SIZE : k == EXT_ZERO ? REC_ZERO_SIZE : 0;
}

/* Live bytes the slot charges to its record's segment (EXT_ZERO_CHARGE per zero page). */
static inline uint32_t extslot_charge(extslot s)
{
	enum ext_kind k = extslot_kind(s);
	return k == EXT_ZERO ? EXT_ZERO_CHARGE : extslot_rec_bytes(k);
}

#endif
