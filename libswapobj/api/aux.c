/*
 * aux.c - per-object aux data: up to SWAPOBJ_AUX_MAX opaque bytes kept in
 * memory with the object and logged.
 *
 * Where the current bytes live on disk (struct so_obj, object.h): in the
 * object's name record (CREATE/RENAME, which always carries the aux data as
 * of its writing), or in a newer AUX record. Replay takes the newer of the
 * two, so the AUX record at aux_addr is a live record (charged to its
 * segment, relocated by the cleaner with its seq) exactly while it is the
 * newest; writing another AUX record or a name record kills it.
 *
 * An AUX record is not a name record: logged after a concurrent prefix
 * invalidation it cannot bring the object back (replay decides liveness from
 * name records only), so it needs no index lock, only the object's.
 */
#include "api_int.h"
#include "util.h"

int swapobj_obj_set_aux(swapobj_obj *h, const void *data, size_t len)
{
	struct rec r = {0};
	uint8_t *copy = NULL;
	uint64_t addr;
	int err;
	if (!h || !h->st || !h->o)
		return so_err(SWAPOBJ_EINVAL, "NULL object handle");
	if (len > SWAPOBJ_AUX_MAX || (!data && len))
		return so_err(SWAPOBJ_EINVAL, "aux data of %zu bytes (at most %u, not NULL)", len, SWAPOBJ_AUX_MAX);
	struct swapobj_store *st = h->st;
	struct so_obj *o = h->o;
	if ((err = log_check_writable(&st->log)) < 0 ||
	    (err = log_space_wait(&st->log, rec_size((uint32_t)len), false)) < 0)
		return err;
	/* Allocate first: once the record is logged the index must take it. */
	if (len && !(copy = so_alloc(SO_MEM_INDEX, len)))
		return so_err(SWAPOBJ_ENOMEM, "out of memory for %zu bytes of aux data", len);
	if (len)
		memcpy(copy, data, len);
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		goto done;
	}
	r.type = REC_AUX;
	r.oid = o->oid;
	if ((err = log_append(&st->log, LOG_HOT, 0, &r, data, (uint32_t)len, &addr)) < 0)
		goto done;
	uint32_t bytes = rec_size((uint32_t)len);
	if (o->aux_addr)
		log_rec_died(&st->log, o->aux_addr, o->aux_bytes, o->oid);
	log_usage_add(&st->log, addr, bytes);
	so_free(SO_MEM_INDEX, o->aux);
	o->aux = copy;
	o->aux_len = (uint32_t)len;
	o->aux_addr = addr;
	o->aux_seq = r.seq;
	o->aux_bytes = bytes;
	copy = NULL;
done:
	pthread_mutex_unlock(&o->lock);
	so_free(SO_MEM_INDEX, copy);
	return err;
}

int swapobj_obj_get_aux(swapobj_obj *h, void *buf, size_t cap)
{
	int err;
	if (!h || !h->st || !h->o)
		return so_err(SWAPOBJ_EINVAL, "NULL object handle");
	if (!buf && cap)
		return so_err(SWAPOBJ_EINVAL, "NULL buffer");
	struct so_obj *o = h->o;
	pthread_mutex_lock(&o->lock);
	if (obj_is_dead(&h->st->ix, o)) {
		err = so_err(SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
	} else {
		if (cap && o->aux_len)
			memcpy(buf, o->aux, SO_MIN(cap, (size_t)o->aux_len));
		err = (int)o->aux_len;
	}
	pthread_mutex_unlock(&o->lock);
	return err;
}
