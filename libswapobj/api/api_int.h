/*
 * api_int.h - what the files of the api layer share (obj.c, aux.c,
 * rename.c, seek.c, store.c); nothing below api/ sees it.
 */
#ifndef SO_API_INT_H
#define SO_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store_types.h"

/* api/obj.c: write pages of an object; caller holds o->lock and has waited for space. */
int64_t obj_write_locked(struct swapobj_store *st, struct so_obj *o, const uint8_t *buf, size_t len, uint64_t off);
/*
 * Log a DELETE for o and unlink it (caller holds o->lock; takes ix->lock).
 * SWAPOBJ_ENOTEMPTY (nothing logged) if o is a directory object with children.
 */
int obj_delete_locked(struct swapobj_store *st, struct so_obj *o);

#endif
