/*
 * seek.c - where an object's data and holes are (lseek SEEK_DATA/SEEK_HOLE),
 * answered from the extent map alone: no record is read.
 *
 * "Data" is every mapped page, whatever its record (DATA, ZERO or FILL):
 * the page was written, and a written page of zeros is data to a reader
 * that asked for it (a file system has no way to tell it from a hole it
 * must report, and keeping it so makes the answer not depend on content).
 */
#include "api_int.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

int64_t swapobj_obj_next_data(swapobj_obj *h, uint64_t off, enum swapobj_seek what)
{
	struct so_obj *o;
	uint64_t pg, res;
	extslot slot;
	int64_t err;

	if (!h || !h->st || !h->o)
		return so_err(SWAPOBJ_EINVAL, "NULL object handle");
	if (what != SWAPOBJ_SEEK_DATA && what != SWAPOBJ_SEEK_HOLE)
		return so_err(SWAPOBJ_EINVAL, "swapobj_obj_next_data: %d is neither SWAPOBJ_SEEK_DATA nor _HOLE",
		              (int)what);
	o = h->o;
	if (o->flags & CREATE_F_DIR) /* never changes: no lock needed */
		return so_err(SWAPOBJ_EISDIR, "a directory object holds no data");
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&h->st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	if (off >= o->size) {
		err = so_err(SWAPOBJ_ENOENT, "offset %llu is at or past the end of the object (%llu bytes)",
		             (unsigned long long)off, (unsigned long long)o->size);
		goto done;
	}
	/* off < size <= SWAPOBJ_MAX_OBJECT_SIZE: page numbers and their offsets fit below 2^50. */
	if (what == SWAPOBJ_SEEK_DATA) {
		/* Pages past the size are never mapped (truncate drops them), but do not rely on it. */
		if (!extmap_next(&o->map, off / PG, &pg, &slot) || pg * PG >= o->size) {
			err = so_err(SWAPOBJ_ENOENT, "no data at or after offset %llu", (unsigned long long)off);
			goto done;
		}
		res = SO_MAX(pg * PG, off);
	} else {
		/* A page mapped through EOF leaves the virtual hole at EOF, as lseek has it. */
		pg = extmap_next_hole(&o->map, off / PG);
		res = SO_MIN(SO_MAX(pg * PG, off), o->size);
	}
	err = (int64_t)res;
done:
	pthread_mutex_unlock(&o->lock);
	return err;
}
