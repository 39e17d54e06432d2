/*
 * api_int.h - what the files of the api layer share (obj.c, aux.c,
 * rename.c, seek.c, store.c, batch.c); nothing below api/ sees it.
 */
#ifndef SO_API_INT_H
#define SO_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include "extslot.h"
#include "store_types.h"

/* api/obj.c: write pages of an object; caller holds o->lock and has waited for space. */
int64_t obj_write_locked(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off);
/*
 * api/obj.c: decode and check the record a slot names for page pg of o
 * (p holds avail bytes of it); *payload is the page (DATA) or the 8-byte
 * word (FILL). SWAPOBJ_ECORRUPT (message names the place) otherwise.
 */
/* Does a DATA slot name an out-of-line page of a split segment (a bare 4 KiB page, checked by log_page_verify)? */
static inline bool obj_slot_split(const struct so_log *lg, extslot slot)
{
	const struct log_seg *s = log_seg_of(lg, extslot_addr(slot));
	return extslot_kind(slot) == EXT_DATA && s && s->split;
}
/* Bytes to read for a slot's page: the page alone (split), else its record. */
static inline uint32_t obj_slot_bytes(const struct so_log *lg, extslot slot)
{
	return obj_slot_split(lg, slot) ? SWAPOBJ_PAGE_SIZE : extslot_rec_bytes(extslot_kind(slot));
}
int obj_check_rec(struct swapobj_store *st, struct so_obj *o, uint64_t pg, extslot slot, const uint8_t *p,
                  uint32_t avail, const uint8_t **payload);
/*
 * api/obj.c: the release half of an exclusive read of [off, end) of o: its
 * whole pages become a hole, as a punch would make them. Caller holds o->lock.
 */
int obj_release_read(struct swapobj_store *st, struct so_obj *o, uint64_t off, uint64_t end);
/*
 * api/batch.c: read n (1..SWAPOBJ_READ_BATCH_MAX) ranges, as
 * swapobj_read_batch documents (flags already checked); the read path of
 * swapobj_obj_read too. Returns the number of failed requests, or a
 * negative error if nothing was read.
 */
struct swapobj_read_req;
struct ra_fill;
int obj_read_ranges(struct swapobj_store *st, struct swapobj_read_req *reqs, size_t n, unsigned flags,
                    struct ra_fill *fill);
/*
 * api/batch.c: read-ahead for a handle read sequentially. Serves [off,
 * off+len) from the handle's window if every page in it still maps to the
 * record it was read from; otherwise, if the read starts where the
 * handle's last read ended, fills the window with OBJ_RA_PAGES pages from
 * off (four reads in flight) and serves from it. Returns the bytes read, or
 * OBJ_RA_MISS: the caller reads as usual (which also reports any error).
 */
#define OBJ_RA_MISS INT64_MIN
#define OBJ_RA_PAGES 256u /* 1 MiB: the disk's sequential read unit here */
int64_t obj_read_ahead(swapobj_obj *h, void *buf, size_t len, uint64_t off);
/* api/batch.c: a read of n bytes at off was served without the window: track sequential access. */
void obj_ra_note(swapobj_obj *h, uint64_t off, uint64_t n);
/* api/batch.c: free a handle's read-ahead window (at close). */
void obj_ra_free(swapobj_obj *h);

#endif
