/*
 * replay_apply.c - step 3 of replay (replay.c): build each live object and
 * apply its records in sequence order through the same extent-map
 * operations the live paths use, so the highest sequence number wins per
 * page whatever order segments were read in; tail records on top of
 * objects loaded from a checkpoint.
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay_int.h"
#include "space.h"
#include "tombreg.h"
#include "util.h"

static int ent_cmp(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* Same record twice (a relocated copy): a damaged copy first so an intact one wins, then by address. */
	if (x->damaged != y->damaged)
		return (int)y->damaged - (int)x->damaged;
	return x->addr16 < y->addr16 ? -1 : x->addr16 > y->addr16;
}
static int group_cmp(const void *a, const void *b)
{
	const struct rgroup *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}
/* The page kind a DATA entry maps. */
static enum ext_kind ent_kind(const struct rentry *e)
{
	return e->flags & REC_F_ZERO ? EXT_ZERO : e->flags & REC_F_FILL ? EXT_FILL : EXT_DATA;
}
/* A PUNCH or TRUNCATE entry applied to o's map (the same operation the live paths do). */
static void apply_tombstone(struct so_obj *o, const struct rentry *e, struct objrec_rel *rel)
{
	uint64_t from = e->type == REC_PUNCH ? e->lpos / PG : (e->obj_size + PG - 1) / PG;
	uint64_t n = e->type == REC_PUNCH ? e->len / PG : UINT64_MAX - from;
	extmap_clear(&o->map, from, n, objrec_slot_released, rel);
}
int replay_doom(struct swapobj_store *st, uint64_t oid, uint8_t cls, uint8_t flags, uint64_t create_addr,
                uint64_t create_seq, uint32_t create_bytes)
{
	struct so_obj *d = obj_new(oid);
	int err;
	if (!d)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	d->renamed = 1;
	d->dead = 1;
	d->cls = cls;
	d->flags = flags;
	d->create_addr = create_addr;
	d->create_seq = d->aux_seq = create_seq;
	d->create_bytes = create_bytes;
	if ((err = oidmap_put(&st->ix.oids, oid, d)) < 0 || (err = objrec_doom(st, d)) < 0) {
		oidmap_del(&st->ix.oids, oid);
		obj_put(d);
		return err;
	}
	log_usage_add(&st->log, create_addr, create_bytes);
	objrec_account(st, d, 0);
	return 0;
}
/* Create the in-memory object for oid and apply its records ents[0..n). */
static int build_obj(struct replay *rp, uint64_t oid, const struct rentry *ents, size_t n)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	struct rcreate *c = oidmap_get(&rp->creates, oid);
	struct ns_node *leaf;
	int err;

	/*
	 * renamed: name records under another key may be on disk. Without
	 * reading them, any older name record counts (a pin re-logs a CREATE
	 * under the same key; after a rename the RENAME may be gone already).
	 */
	swapobj_key key;
	bool renamed = false;
	for (size_t i = 0; i < n; i++)
		renamed |= (ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && c && ents[i].seq != c->seq;
	if (c && key_decode(c->keyenc, c->keylen, &key) < 0)
		c = NULL; /* cannot happen: the payload passed its checksum and structure checks */
	/*
	 * In the tail of a checkpoint, an object it does not have whose newest
	 * name record is below the cut was dead when the checkpoint was taken
	 * (every object named before the cut was in the oid table by then): its
	 * tail records are copies the cleaner kept as tombstones, and the
	 * DELETE that killed it may be in a segment the tail does not read.
	 */
	if (!c || oidmap_get(&rp->deleted, oid) || (c->flags & CREATE_F_EPHEMERAL) ||
	    (rp->tail && c->seq < rp->cut_seq)) {
		replay_mark_dead(rp, oid, c, ents, n);
		return 0;
	}
	if (replay_invalidated(rp, c->seq, &key)) {
		replay_mark_dead(rp, oid, c, ents, n);
		if (!renamed)
			return 0;
		/*
		 * It may have name records under a key the INVALIDATE misses: as if
		 * just reaped, it waits (name record live) for the reaper's DELETE.
		 * Not logged here: the store may be too full before cleaning.
		 */
		return replay_doom(st, oid, c->cls, c->flags, c->addr16, c->seq, c->bytes);
	}
	struct objrec_rel rel = {lg, oid};
	struct so_obj *o = obj_new(oid);
	if (!o)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	o->cls = c->cls;
	o->flags = c->flags;
	o->renamed = renamed;
	o->version = c->version;
	o->create_addr = c->addr16;
	o->create_seq = c->seq;
	o->create_bytes = c->bytes;
	if ((err = replay_set_aux(rp, o, c->seq, c->keyenc + c->keylen, c->auxlen)) < 0) {
		obj_put(o);
		return err;
	}
	/*
	 * Objects come here in increasing seq of their name record, so whatever
	 * this one conflicts with is older and wins (see the top of the file).
	 */
	uint64_t seq = c->seq;
	for (;;) {
		err = ns_insert_obj(&ix->ns, &key, o, o->flags & CREATE_F_DIR, &leaf);
		if (err != SWAPOBJ_EEXIST && err != SWAPOBJ_ENOTDIR && err != SWAPOBJ_EISDIR)
			break;
		/*
		 * Go back through the object's older name records: the RENAME that
		 * brought it here was never synced (nor a CREATE re-logged on top).
		 * A new object has none left: it is dropped.
		 */
		int e2 = replay_older_name(rp, o, ents, n, 0, &seq, &key);
		if (e2 < 0) {
			obj_put(o);
			return e2;
		}
		if (e2 == 1 || (o->flags & CREATE_F_EPHEMERAL)) {
			obj_put(o);
			replay_mark_dead(rp, oid, c, ents, n);
			return replay_add_loser(rp, oid);
		}
	}
	if (err < 0) {
		obj_put(o);
		return err;
	}
	if (seq != c->seq) {
		/* Undone: the newer name records are dead, and the name must be restated after replay. */
		for (size_t i = 0; i < n; i++)
			if ((ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && ents[i].seq > seq)
				log_rec_died(lg, ents[i].addr16, 0, oid);
		if ((err = replay_add_restated(rp, oid)) < 0) {
			ns_remove(&ix->ns, leaf);
			obj_put(o);
			return err;
		}
	}
	if ((err = oidmap_put(&ix->oids, oid, o)) < 0) {
		ns_remove(&ix->ns, leaf);
		obj_put(o);
		return err;
	}
	o->node = leaf;
	log_usage_add(lg, o->create_addr, o->create_bytes);
	log_usage_add(lg, o->aux_addr, o->aux_bytes);
	extslot slots[64];
	for (size_t i = 0; i < n; i++) {
		const struct rentry *e = &ents[i];
		if ((e->type == REC_CREATE || e->type == REC_RENAME) && e->seq > seq)
			continue; /* an undone name record: dead, does not give the size */
		switch (e->type) {
		case REC_DATA: {
			enum ext_kind k = ent_kind(e);
			uint64_t pg = e->lpos / PG, np = e->len / PG;
			log_usage_add(lg, e->addr16, (uint32_t)(np * extslot_charge(extslot_make(k, e->addr16))));
			for (uint64_t p = 0; p < np; p += 64) {
				uint32_t cnt = (uint32_t)SO_MIN((uint64_t)64, np - p);
				for (uint32_t j = 0; j < cnt; j++)
					slots[j] = extslot_make(k, e->addr16);
				if ((err = extmap_set(&o->map, pg + p, cnt, slots, objrec_slot_released, &rel)) < 0)
					return err;
			}
			break;
		}
		case REC_PUNCH:
		case REC_TRUNCATE:
			apply_tombstone(o, e, &rel);
			break;
		default:
			break;
		}
		/* Entries are in sequence order: the last one carries the size. */
		o->size = e->obj_size;
		o->meta_addr = e->addr16;
		o->meta_seq = e->seq;
	}
	__atomic_add_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	objrec_account(st, o, 0);
	return 0;
}
/* Apply tail records to an object loaded from the checkpoint. */
static int apply_loaded(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n)
{
	struct so_log *lg = &rp->st->log;
	struct so_index *ix = &rp->st->ix;
	struct objrec_rel rel = {lg, o->oid};
	int err;
	uint64_t charge = objrec_charge(o);
	struct rcreate *c = oidmap_get(&rp->creates, o->oid);
	if (c && c->seq == o->create_seq && c->addr16 != o->create_addr) {
		/* The cleaner moved the name record after the snapshot was taken. */
		log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
		log_usage_add(lg, c->addr16, o->create_bytes);
		if (o->meta_addr == o->create_addr)
			o->meta_addr = c->addr16;
		o->create_addr = c->addr16;
	}
	if (o->dead)
		return 0; /* doomed (kill_loaded): only its name record counts, and it waits for its DELETE */
	uint64_t placed = o->create_seq;
	if (c && c->seq > o->create_seq) {
		/* Renamed (or re-logged) after the cut: unlinked by unlink_rekeyed, placed now. */
		if ((err = replay_place_rekeyed(rp, o, c, ents, n, &placed)) != 0)
			return err < 0 ? err : 0; /* 1: dropped, a loser */
	}
	if ((err = replay_apply_loaded_aux(rp, o)) < 0)
		return err;
	uint64_t before = extmap_pages(&o->map);
	for (size_t i = 0; i < n; i++) {
		const struct rentry *e = &ents[i];
		/*
		 * Below the cut, a tail record is a copy the cleaner made; a damaged
		 * one did not make it to disk intact, and the slot the snapshot has
		 * (the original, or this copy if it was durable) stands.
		 */
		if (e->damaged && e->seq < rp->cut_seq)
			continue;
		/*
		 * A PUNCH or TRUNCATE below the cut is a tombstone the cleaner carried
		 * forward: the snapshot already reflects it, and pages written after
		 * it but before the cut are not in the tail to undo it. (A DATA copy
		 * below the cut was live when copied, so it is the page's current
		 * record: applying it only moves the slot.)
		 */
		if (e->seq < rp->cut_seq && (e->type == REC_PUNCH || e->type == REC_TRUNCATE)) {
			if (e->seq == o->meta_seq)
				o->meta_addr = e->addr16;
			continue;
		}
		switch (e->type) {
		case REC_DATA: {
			enum ext_kind k = ent_kind(e);
			uint64_t pg = e->lpos / PG, np = e->len / PG;
			extslot sl = extslot_make(k, e->addr16);
			for (uint64_t p = 0; p < np; p++) {
				if (extmap_get(&o->map, pg + p) == sl)
					continue; /* the snapshot already has it */
				log_usage_add(lg, e->addr16, extslot_charge(sl));
				if ((err = extmap_set(&o->map, pg + p, 1, &sl, objrec_slot_released, &rel)) < 0)
					return err;
			}
			break;
		}
		case REC_PUNCH:
		case REC_TRUNCATE:
			apply_tombstone(o, e, &rel);
			break;
		default:
			break;
		}
		if ((e->type == REC_CREATE || e->type == REC_RENAME) && e->seq > placed)
			continue; /* an undone name record: dead, does not give the size */
		if (e->seq >= o->meta_seq) {
			o->size = e->obj_size;
			o->meta_addr = e->addr16;
			o->meta_seq = e->seq;
		}
	}
	objrec_account(rp->st, o, charge);
	uint64_t after = extmap_pages(&o->map);
	if (after >= before)
		__atomic_add_fetch(&ix->pages, after - before, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&ix->pages, before - after, __ATOMIC_RELAXED);
	return 0;
}

int replay_apply(struct replay *rp)
{
	struct swapobj_store *st = rp->st;
	struct rgroup *groups = NULL;
	int err = 0;
	if (rp->nents)
		qsort(rp->ents, rp->nents, sizeof(*rp->ents), ent_cmp);
	if (rp->tail && ((err = replay_kill_loaded_by_tail(rp)) < 0 || (err = replay_unlink_rekeyed(rp)) < 0))
		goto out;
	/* Build objects in increasing seq of their newest name record (the older one wins a conflict). */
	size_t ngroups = 0;
	for (size_t i = 0; i < rp->nents; i++)
		ngroups += i == 0 || rp->ents[i].oid != rp->ents[i - 1].oid;
	size_t gbytes;
	if (!so_mul_ok(ngroups ? ngroups : 1, sizeof(*groups), &gbytes) || !(groups = so_alloc(SO_MEM_OTHER, gbytes))) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log (%zu objects)", ngroups);
		goto out;
	}
	ngroups = 0;
	for (size_t i = 0, j; i < rp->nents; i = j) {
		for (j = i; j < rp->nents && rp->ents[j].oid == rp->ents[i].oid; j++)
			;
		struct rcreate *c = oidmap_get(&rp->creates, rp->ents[i].oid);
		groups[ngroups++] = (struct rgroup){c ? c->seq : 0, i, j - i};
	}
	qsort(groups, ngroups, sizeof(*groups), group_cmp);
	for (size_t g = 0; g < ngroups; g++) {
		struct rentry *e = rp->ents + groups[g].start;
		struct so_obj *lo = rp->tail ? oidmap_get(&st->ix.oids, e->oid) : NULL;
		if (lo)
			err = apply_loaded(rp, lo, e, groups[g].n);
		else
			err = build_obj(rp, e->oid, e, groups[g].n);
		if (err < 0)
			goto out;
	}
	if (rp->tail) {
		/* Objects whose only tail record is an AUX have no group above. */
		uint64_t apos = 0, aoid;
		void *aval;
		while (oidmap_next(&rp->auxs, &apos, &aoid, &aval)) {
			struct so_obj *lo = oidmap_get(&st->ix.oids, aoid);
			if (lo && (err = replay_apply_loaded_aux(rp, lo)) < 0)
				goto out;
		}
	}
out:
	so_free(SO_MEM_OTHER, groups);
	return err;
}
