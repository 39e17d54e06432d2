/*
 * replay_names.c - step 2 of replay (replay.c): which objects live and under
 * which key. Name records, deletes, renames and prefix invalidations decide
 * it; conflicts are settled in favour of what was there first (a losing
 * RENAME is undone, any other loser dropped); objects loaded from a
 * checkpoint are killed or re-keyed by tail records.
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay_int.h"
#include "space.h"
#include "tombreg.h"
#include "util.h"

bool replay_invalidated(const struct replay *rp, uint64_t seq, const swapobj_key *key)
{
	for (size_t i = 0; i < rp->ninvals; i++) {
		const swapobj_key *p = &rp->invals[i].prefix;
		if (rp->invals[i].seq <= seq || p->ncomp > key->ncomp)
			continue;
		uint32_t plen = p->nbytes;
		bool match = true;
		for (uint32_t k = 0; k < p->ncomp && match; k++)
			match = p->len[k] == key->len[k];
		if (match && memcmp(p->buf, key->buf, plen) == 0)
			return true;
	}
	return false;
}
int replay_add_loser(struct replay *rp, uint64_t oid)
{
	int err = replay_grow((void **)&rp->losers, &rp->caplosers, rp->nlosers, sizeof(*rp->losers));
	if (err == 0)
		rp->losers[rp->nlosers++] = oid;
	return err;
}
/* Every record of a dead object is dead, and tombstones must outlive them. */
void replay_mark_dead(struct replay *rp, uint64_t oid, const struct rcreate *c, const struct rentry *ents, size_t n)
{
	struct raux *a = oidmap_get(&rp->auxs, oid);
	for (size_t i = 0; i < n; i++)
		log_rec_died(&rp->st->log, ents[i].addr16, 0, oid);
	if (c)
		log_rec_died(&rp->st->log, c->addr16, 0, oid);
	if (a)
		log_rec_died(&rp->st->log, a->addr16, 0, oid);
}
/*
 * Give o the aux data of whichever is newer: its name record (seq name_seq,
 * aux bytes given) or its newest AUX record. The loser's record is dead.
 */
int replay_set_aux(struct replay *rp, struct so_obj *o, uint64_t name_seq, const uint8_t *aux, uint32_t auxlen)
{
	struct so_log *lg = &rp->st->log;
	struct raux *a = oidmap_get(&rp->auxs, o->oid);
	if (a && a->seq > name_seq) {
		aux = a->data;
		auxlen = a->len;
	}
	uint8_t *copy = NULL;
	if (auxlen && !(copy = so_alloc(SO_MEM_INDEX, auxlen)))
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	if (auxlen)
		memcpy(copy, aux, auxlen);
	so_free(SO_MEM_INDEX, o->aux);
	o->aux = copy;
	o->aux_len = auxlen;
	if (a && a->seq > name_seq) {
		o->aux_addr = a->addr16;
		o->aux_seq = a->seq;
		o->aux_bytes = a->bytes;
	} else {
		if (a)
			log_rec_died(lg, a->addr16, 0, o->oid);
		o->aux_addr = 0;
		o->aux_seq = name_seq;
		o->aux_bytes = 0;
	}
	return 0;
}
/*
 * The newest name record of o older than *seq, read back from the device
 * (this is rare: only a RENAME that lost a conflict needs it). On success o's
 * identity and aux come from it, *key is its key and *seq its seq; 1 if
 * there is none left, or an error.
 */
int replay_older_name(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n, uint64_t floor,
                      uint64_t *seq, swapobj_key *key)
{
	struct so_log *lg = &rp->st->log;
	uint32_t maxlen = rec_size(NAME_REC_MAX);
	int err;
	if (!rp->bounce && !(rp->bounce = so_alloc_aligned(SO_MEM_BUFFER, log_rec_bounce(maxlen))))
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	for (size_t i = n; i-- > 0;) {
		const struct rentry *e = &ents[i];
		struct rec r;
		struct name_rec nr;
		uint32_t sz;
		if ((e->type != REC_CREATE && e->type != REC_RENAME) || e->seq >= *seq || e->seq <= floor)
			continue;
		enum rec_verdict v = log_read_rec(lg, e->addr16, maxlen, rp->bounce, true, &r, &sz, &err);
		if (err < 0)
			return err;
		if (v != REC_OK || r.type != e->type || r.oid != o->oid || r.seq != e->seq ||
		    name_rec_decode(r.payload, r.payload_len, &nr, key) < 0)
			continue; /* read back damaged: try an older one */
		*seq = e->seq;
		if (replay_invalidated(rp, e->seq, key))
			continue;
		o->cls = nr.cls;
		o->flags = nr.flags;
		o->version = nr.version;
		o->create_addr = e->addr16;
		o->create_seq = e->seq;
		o->create_bytes = rec_size(r.payload_len); /* the charge, whatever the layout */
		if ((err = replay_set_aux(rp, o, e->seq, nr.aux, nr.auxlen)) < 0)
			return err;
		return 0;
	}
	return 1;
}
int replay_add_restated(struct replay *rp, uint64_t oid)
{
	int err = replay_grow((void **)&rp->restated, &rp->caprestated, rp->nrestated, sizeof(*rp->restated));
	if (err == 0)
		rp->restated[rp->nrestated++] = oid;
	return err;
}
/* Remove an object loaded from the checkpoint that a tail DELETE or INVALIDATE killed. */
/*
 * Drop an object loaded from the checkpoint that a tail record killed. A
 * renamed one killed by an INVALIDATE (doom) is queued for its DELETE
 * instead, name record live, as build_obj does (see reaper_run).
 */
static int kill_loaded(struct replay *rp, struct so_obj *o, bool doom)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	struct objrec_rel rel = {lg, o->oid};
	uint64_t charge = objrec_charge(o);
	if (o->node)
		ns_remove(&ix->ns, o->node);
	o->node = NULL;
	struct rcreate *c = oidmap_get(&rp->creates, o->oid);
	bool newer = c && c->seq > o->create_seq; /* renamed (or re-logged) in the tail */
	doom = doom && (o->renamed || newer) && !o->dead;
	if (doom) {
		int err = objrec_doom(st, o);
		if (err < 0)
			return err;
		o->renamed = 1;
		if (newer) {
			/* The newest name record is the one to keep until the DELETE. */
			log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
			o->create_addr = c->addr16;
			o->create_seq = c->seq;
			o->create_bytes = c->bytes;
			log_usage_add(lg, o->create_addr, o->create_bytes);
		}
	} else {
		if (o->dead) {
			/* Loaded doomed: its DELETE is in the tail. Out of the reaper's queue (its reference is the
			 * index's). */
			for (size_t i = 0; i < st->ndoomed; i++)
				if (st->doomed[i] == o) {
					st->doomed[i] = st->doomed[--st->ndoomed];
					break;
				}
		}
		oidmap_del(&ix->oids, o->oid);
		log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
		o->create_addr = 0;
	}
	/* Pages and aux data go either way; a doomed object keeps only its name record. */
	__atomic_sub_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	extmap_clear(&o->map, 0, UINT64_MAX, objrec_slot_released, &rel);
	if (o->aux_addr)
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
	o->aux_addr = 0;
	o->aux_bytes = 0;
	objrec_account(st, o, charge);
	o->dead = 1;
	if (!doom)
		obj_put(o);
	return 0;
}
int replay_kill_loaded_by_tail(struct replay *rp)
{
	struct so_index *ix = &rp->st->ix;
	uint64_t pos = 0, oid;
	void *val;
	int err;
	while (oidmap_next(&rp->deleted, &pos, &oid, &val)) {
		struct so_obj *o = oidmap_get(&ix->oids, oid);
		if (o && (err = kill_loaded(rp, o, false)) < 0)
			return err;
	}
	if (!rp->ninvals)
		return 0;
	uint64_t n = oidmap_count(&ix->oids), k = 0;
	struct so_obj **victims = n ? so_alloc(SO_MEM_OTHER, n * sizeof(*victims)) : NULL;
	if (n && !victims)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
	pos = 0;
	while (k < n && oidmap_next(&ix->oids, &pos, &oid, &val)) {
		struct so_obj *o = val;
		swapobj_key key;
		if (o->dead)
			continue; /* doomed already */
		/* By its newest name record, as build_obj: a tail rename may have moved it in or out of the prefix. */
		struct rcreate *c = oidmap_get(&rp->creates, o->oid);
		uint64_t seq = o->create_seq;
		if (c && c->seq > seq) {
			if (key_decode(c->keyenc, c->keylen, &key) < 0)
				continue; /* cannot happen: checked when read; apply_loaded reports it */
			seq = c->seq;
		} else {
			ns_key_of(o->node, &key);
		}
		if (replay_invalidated(rp, seq, &key))
			victims[k++] = o;
	}
	err = 0;
	for (uint64_t i = 0; i < k && err == 0; i++)
		err = kill_loaded(rp, victims[i], true);
	so_free(SO_MEM_OTHER, victims);
	return err;
}
/* A tail AUX record of an object loaded from the checkpoint (AUX records are not in rp->ents). */
int replay_apply_loaded_aux(struct replay *rp, struct so_obj *o)
{
	struct so_log *lg = &rp->st->log;
	int err;
	struct raux *a = oidmap_get(&rp->auxs, o->oid);
	if (a && a->seq == o->aux_seq && o->aux_addr && a->addr16 != o->aux_addr) {
		/* The cleaner moved the AUX record. */
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
		log_usage_add(lg, a->addr16, a->bytes);
		o->aux_addr = a->addr16;
	} else if (a && a->seq > o->aux_seq) {
		if (o->aux_addr)
			log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
		if ((err = replay_set_aux(rp, o, o->aux_seq, NULL, 0)) < 0)
			return err;
		log_usage_add(lg, o->aux_addr, o->aux_bytes);
	}
	return 0;
}
/*
 * A loaded object whose newest name record is in the tail is placed, as in
 * a full replay, when objects are built in the order of their newest name
 * record; until then it must not hold its checkpoint key, which a newer
 * object may have taken after the rename (unlink_rekeyed). Its checkpoint
 * key is kept in rp->ckkeys.
 */
int replay_unlink_rekeyed(struct replay *rp)
{
	struct so_index *ix = &rp->st->ix;
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&ix->oids, &pos, &oid, &val)) {
		struct so_obj *o = val;
		struct rcreate *c = oidmap_get(&rp->creates, oid);
		if (o->dead || !o->node || !c || c->seq <= o->create_seq)
			continue;
		swapobj_key *k = so_alloc(SO_MEM_OTHER, sizeof(*k));
		if (!k)
			return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log");
		ns_key_of(o->node, k);
		int err = oidmap_put(&rp->ckkeys, oid, k);
		if (err < 0) {
			so_free(SO_MEM_OTHER, k);
			return err;
		}
		ns_remove(&ix->ns, o->node);
		o->node = NULL;
	}
	return 0;
}
static void ident_take(struct ident *id, struct so_obj *o)
{
	*id = (struct ident){o->cls, o->flags,   o->version,  o->create_addr, o->create_seq, o->create_bytes,
	                     o->aux, o->aux_len, o->aux_addr, o->aux_seq,     o->aux_bytes};
	o->aux = NULL; /* now id's */
	o->aux_len = 0;
}
static void ident_put(struct so_obj *o, struct ident *id)
{
	so_free(SO_MEM_INDEX, o->aux);
	o->cls = id->cls;
	o->flags = id->flags;
	o->version = id->version;
	o->create_addr = id->create_addr;
	o->create_seq = id->create_seq;
	o->create_bytes = id->create_bytes;
	o->aux = id->aux;
	o->aux_len = id->aux_len;
	o->aux_addr = id->aux_addr;
	o->aux_seq = id->aux_seq;
	o->aux_bytes = id->aux_bytes;
	id->aux = NULL;
}
static bool key_conflict(int err)
{
	return err == SWAPOBJ_EEXIST || err == SWAPOBJ_ENOTDIR || err == SWAPOBJ_EISDIR;
}
/*
 * Place a loaded object unlinked by unlink_rekeyed under its newest name
 * record c, as build_obj does: a key taken by an older claim sends it back
 * through its older tail name records (that rename was never synced), then
 * to its checkpoint key; with none left it is dropped as a loser. Returns 0
 * placed (*placed: the seq of the name record it stands on), 1 dropped, or
 * an error.
 */
int replay_place_rekeyed(struct replay *rp, struct so_obj *o, const struct rcreate *c, const struct rentry *ents,
                         size_t n, uint64_t *placed)
{
	struct so_log *lg = &rp->st->log;
	struct so_index *ix = &rp->st->ix;
	swapobj_key key, *ckkey = oidmap_get(&rp->ckkeys, o->oid);
	struct ns_node *leaf = NULL;
	struct ident id;
	int err;
	o->renamed = 1; /* an older name record remains either way (see build_obj) */
	if (!ckkey || key_decode(c->keyenc, c->keylen, &key) < 0)
		return so_err(SWAPOBJ_ECORRUPT, "bad key in a name record");
	/* The checkpoint's name and aux records stop counting; those the object ends up with count below. */
	log_rec_died(lg, o->create_addr, o->create_bytes, o->oid);
	if (o->aux_addr)
		log_rec_died(lg, o->aux_addr, o->aux_bytes, o->oid);
	ident_take(&id, o);
	o->cls = c->cls;
	o->flags = c->flags;
	o->version = c->version;
	o->create_addr = c->addr16;
	o->create_seq = c->seq;
	o->create_bytes = c->bytes;
	uint64_t seq = c->seq;
	if ((err = replay_set_aux(rp, o, c->seq, c->keyenc + c->keylen, c->auxlen)) < 0)
		goto out;
	for (;;) {
		err = ns_insert_obj(&ix->ns, &key, o, o->flags & CREATE_F_DIR, &leaf);
		if (!key_conflict(err))
			break;
		int e2 = replay_older_name(rp, o, ents, n, id.create_seq, &seq, &key);
		if (e2 < 0) {
			err = e2;
			goto out;
		}
		if (e2 == 1)
			break;
	}
	if (key_conflict(err)) {
		/* Back to where the checkpoint had it, unless taken or invalidated since. */
		ident_put(o, &id);
		seq = o->create_seq;
		err = replay_invalidated(rp, seq, ckkey)
		          ? SWAPOBJ_EEXIST
		          : ns_insert_obj(&ix->ns, ckkey, o, o->flags & CREATE_F_DIR, &leaf);
	}
	if (err == 0 && seq != c->seq) {
		/* Undone: the newer name records are dead, and the name must be restated after replay. */
		for (size_t i = 0; i < n; i++)
			if ((ents[i].type == REC_CREATE || ents[i].type == REC_RENAME) && ents[i].seq > seq)
				log_rec_died(lg, ents[i].addr16, 0, o->oid);
		if ((err = replay_add_restated(rp, o->oid)) < 0)
			ns_remove(&ix->ns, leaf);
	}
	if (err == 0) {
		o->node = leaf;
		*placed = seq;
	}
	log_usage_add(lg, o->create_addr, o->create_bytes);
	if (o->aux_addr)
		log_usage_add(lg, o->aux_addr, o->aux_bytes);
	if (key_conflict(err)) {
		/* Every name lost: dropped, and a DELETE logged after replay (as build_obj does). */
		uint64_t oid = o->oid;
		if ((err = kill_loaded(rp, o, false)) == 0 && (err = replay_add_loser(rp, oid)) == 0)
			err = 1;
	}
out:
	so_free(SO_MEM_INDEX, id.aux);
	return err;
}
