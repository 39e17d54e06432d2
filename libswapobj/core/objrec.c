/*
 * objrec.c - an object's records and charges as the whole store sees them.
 *
 * Owns: the live bytes an object is charged (its mapped pages plus its name
 * record) and the per-class totals kept from them; logging an object's name
 * record (CREATE or RENAME) and making it the object's live one; releasing
 * every record of an unlinked object; the queue of doomed objects (renamed
 * objects dropped by a prefix invalidation, waiting for their DELETE).
 *
 * Invariants (checked by space_check against a recount of the index):
 *  1. st->live_cls[c] == sum of objrec_charge(o) over live objects of class c.
 *  2. Every record an object references is charged to its segment in the
 *     usage table exactly once (log_usage_add when referenced,
 *     log_rec_died when it stops being referenced).
 *
 * Locking: the caller holds o->lock (or owns o alone, as replay does);
 * objrec_doom needs ix.lock (write). Nothing here waits for log space.
 */
#include "objrec.h"

#include "store_types.h"
#include "tombreg.h"
#include "util.h"

void objrec_slot_released(void *ctx, uint64_t pgoff, extslot old)
{
	struct objrec_rel *rel = ctx;
	(void)pgoff;
	log_rec_died(rel->lg, extslot_addr(old), extslot_charge(old), rel->oid);
}

uint64_t objrec_charge(const struct so_obj *o)
{
	uint64_t c = extmap_pages_kind(&o->map, EXT_DATA) * REC_DATA_SIZE +
	             extmap_pages_kind(&o->map, EXT_FILL) * REC_FILL_SIZE +
	             extmap_pages_kind(&o->map, EXT_ZERO) * EXT_ZERO_CHARGE;
	if (o->create_addr)
		c += o->create_bytes;
	return c;
}

void objrec_account(struct swapobj_store *st, const struct so_obj *o, uint64_t before)
{
	uint64_t after = objrec_charge(o);
	if (after != before && o->cls < SO_ARRAY_SIZE(st->live_cls))
		__atomic_add_fetch(&st->live_cls[o->cls], after - before,
		                   __ATOMIC_RELAXED); /* modular: may be a decrease */
}

uint64_t objrec_class_live(struct swapobj_store *st, unsigned cls)
{
	return cls < SO_ARRAY_SIZE(st->live_cls) ? __atomic_load_n(&st->live_cls[cls], __ATOMIC_RELAXED) : 0;
}

int objrec_log_name(struct swapobj_store *st, struct so_obj *o, const swapobj_key *key, uint8_t type, uint64_t victim)
{
	uint8_t payload[NAME_REC_MAX];
	struct rec r = {0};
	uint64_t addr;
	int err;
	uint32_t plen = name_rec_encode(payload, o->cls, o->flags, o->version, key, o->aux, o->aux_len);
	struct so_log *lg = &st->log;
	if (!o->create_addr && __atomic_load_n(&lg->live_total, __ATOMIC_RELAXED) + rec_size(plen) >
	                           __atomic_load_n(&lg->usable, __ATOMIC_RELAXED))
		return so_err(SWAPOBJ_ENOSPC, "store is full: %llu bytes live, %llu usable",
		              (unsigned long long)__atomic_load_n(&lg->live_total, __ATOMIC_RELAXED),
		              (unsigned long long)__atomic_load_n(&lg->usable, __ATOMIC_RELAXED));
	uint64_t charge = objrec_charge(o);
	r.type = type;
	r.oid = o->oid;
	r.lpos = victim;
	r.obj_size = o->size;
	if ((err = log_append(&st->log, LOG_HOT, 0, &r, payload, plen, &addr)) < 0)
		return err;
	uint32_t bytes = rec_size(plen);
	if (o->create_addr) {
		log_rec_died(&st->log, o->create_addr, o->create_bytes, o->oid);
		/* An older name record may remain on disk, as replay would see (build_obj in replay.c). */
		__atomic_store_n(&o->renamed, 1, __ATOMIC_RELAXED);
	}
	log_usage_add(&st->log, addr, bytes);
	o->create_addr = addr;
	o->create_bytes = bytes;
	o->create_seq = r.seq;
	objrec_account(st, o, charge);
	if (r.seq > o->meta_seq) {
		o->meta_addr = addr;
		o->meta_seq = r.seq;
	}
	/* The new name record carries the aux data: an AUX record holding it is superseded. */
	if (o->aux_addr)
		log_rec_died(&st->log, o->aux_addr, o->aux_bytes, o->oid);
	o->aux_addr = 0;
	o->aux_bytes = 0;
	o->aux_seq = r.seq;
	if (type == REC_RENAME)
		tombreg_set(st, r.seq, addr); /* a RENAME is also a tombstone (see cleaner.c) */
	return 0;
}

void objrec_release(struct swapobj_store *st, struct so_obj *o)
{
	uint64_t charge = objrec_charge(o);
	uint64_t before = extmap_pages(&o->map);
	struct objrec_rel rel = {&st->log, o->oid};
	extmap_clear(&o->map, 0, UINT64_MAX, objrec_slot_released, &rel);
	index_pages_account(&st->ix, before, 0);
	if (o->create_addr)
		log_rec_died(&st->log, o->create_addr, o->create_bytes, o->oid);
	o->create_addr = 0;
	if (o->aux_addr)
		log_rec_died(&st->log, o->aux_addr, o->aux_bytes, o->oid);
	o->aux_addr = 0;
	o->aux_bytes = 0;
	objrec_account(st, o, charge);
}

int objrec_doom(struct swapobj_store *st, struct so_obj *o)
{
	if (st->ndoomed == st->cap_doomed) {
		size_t cap = st->cap_doomed ? 2 * st->cap_doomed : 16;
		void *p = so_realloc(SO_MEM_INDEX, st->doomed, cap * sizeof(*st->doomed));
		if (!p)
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		st->doomed = p;
		st->cap_doomed = cap;
	}
	st->doomed[st->ndoomed++] = o;
	return 0;
}

int objrec_delete(struct swapobj_store *st, struct so_obj *o)
{
	struct rec r = {0};
	int err;
	uint64_t taddr;
	r.type = REC_DELETE;
	r.oid = o->oid;
	/* Under the index lock: a directory object must not gain a child between the check and the removal. */
	pthread_rwlock_wrlock(&st->ix.lock);
	if (o->node && ns_node_is_prefix(o->node) && !ns_node_dead(o->node)) {
		pthread_rwlock_unlock(&st->ix.lock);
		return so_err(SWAPOBJ_ENOTEMPTY, "directory object has %u children", o->node->nchildren);
	}
	if ((err = log_append(&st->log, LOG_HOT, LOG_URGENT, &r, NULL, 0, &taddr)) < 0) {
		pthread_rwlock_unlock(&st->ix.lock);
		return err;
	}
	tombreg_set(st, r.seq, taddr);
	bool linked = o->node != NULL;
	if (linked) {
		ns_remove(&st->ix.ns, o->node);
		o->node = NULL;
		oidmap_del(&st->ix.oids, o->oid);
	}
	pthread_rwlock_unlock(&st->ix.lock);
	__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	objrec_release(st, o);
	if (linked)
		obj_put(o); /* the index's reference */
	return 0;
}
