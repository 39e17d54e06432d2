/*
 * rename.c - swapobj_rename: give an object another key, replacing what the
 * key named.
 *
 * Crash atomicity comes from the format: one RENAME record both restates the
 * moved object's whole identity under its new key (it becomes the object's
 * name record, superseding its CREATE) and, in its lpos, names the replaced
 * object, which replay then treats as deleted. A record is valid as a whole
 * or not at all, so after a crash either the rename happened (new name, old
 * target gone) or it did not (old names, old target intact). The RENAME is
 * also the replaced object's tombstone: the cleaner keeps a copy while dead
 * records of that object may remain (cleaner.c).
 *
 * Locking: the moved object's lock and the replaced object's lock (in oid
 * order: no other path holds two object locks), then the index lock
 * (write), under which the keys are checked again, the record is logged (so
 * it is ordered with prefix invalidations, which log under the same lock)
 * and the tree is changed. Every step that can fail (allocating the new
 * key's nodes) comes before the record is logged; after it nothing can.
 */
#include "api_int.h"
#include "invariants.h"
#include "objrec.h"
#include "tombreg.h"
#include "util.h"

/* k lies strictly under p (p is a proper prefix of k). */
static bool key_under(const swapobj_key *k, const swapobj_key *p)
{
	if (k->ncomp <= p->ncomp)
		return false;
	for (uint32_t i = 0; i < p->ncomp; i++)
		if (k->len[i] != p->len[i])
			return false;
	return memcmp(k->buf, p->buf, p->nbytes) == 0;
}

static bool key_equal(const swapobj_key *a, const swapobj_key *b)
{
	return a->ncomp == b->ncomp && a->nbytes == b->nbytes && !key_under(a, b) &&
	       memcmp(a->len, b->len, a->ncomp) == 0 && memcmp(a->buf, b->buf, a->nbytes) == 0;
}

/* Is `from` (node n, looked up under ix->lock) something rename can move? */
static int check_from(struct ns_node *n)
{
	if (!n)
		return so_err(SWAPOBJ_ENOENT, "nothing is stored under the source key");
	if (!ns_node_is_object(n))
		return so_err(SWAPOBJ_ENOTSUP, "the source key is only a prefix of other keys (not an object)");
	if (ns_node_is_prefix(n))
		return so_err(SWAPOBJ_ENOTSUP, "the source is a directory object with children");
	return 0;
}

/* May the object m (dir or not) take the key `to`, whose node is t (may be NULL)? ix->lock held. */
static int check_to(struct ns_node *t, bool m_dir, unsigned flags)
{
	if (!t)
		return 0;
	if (!ns_node_is_object(t))
		return so_err(SWAPOBJ_EISDIR, "the target key is a prefix of other keys");
	if (flags & SWAPOBJ_RENAME_NOREPLACE)
		return so_err(SWAPOBJ_EEXIST, "the target key names an object");
	if (!m_dir && ns_node_is_dir(t))
		return so_err(SWAPOBJ_EISDIR, "cannot replace a directory object by a non-directory object");
	if (m_dir && !ns_node_is_dir(t))
		return so_err(SWAPOBJ_ENOTDIR, "cannot replace a non-directory object by a directory object");
	if (ns_node_is_prefix(t))
		return so_err(SWAPOBJ_ENOTEMPTY, "the target directory object has children");
	return 0;
}

static void lock_pair(struct so_obj *a, struct so_obj *b)
{
	if (b && b->oid < a->oid) {
		struct so_obj *t = a;
		a = b;
		b = t;
	}
	pthread_mutex_lock(&a->lock);
	if (b)
		pthread_mutex_lock(&b->lock);
}

static void unlock_pair(struct so_obj *a, struct so_obj *b)
{
	if (b)
		pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&a->lock);
}

int swapobj_rename(swapobj_store *st, const swapobj_key *from, const swapobj_key *to, unsigned flags)
{
	struct so_index *ix;
	int err;

	if (!st)
		return so_err(SWAPOBJ_EINVAL, "NULL store");
	if ((err = key_check(from, 1)) < 0 || (err = key_check(to, 1)) < 0)
		return err;
	if (flags & ~SWAPOBJ_RENAME_NOREPLACE)
		return so_err(SWAPOBJ_EINVAL, "unknown rename flags 0x%x", flags);
	if (key_under(to, from))
		return so_err(SWAPOBJ_EINVAL, "cannot move an object under its own key");
	ix = &st->ix;
	if (key_equal(from, to)) {
		pthread_rwlock_rdlock(&ix->lock);
		err = check_from(ns_lookup(&ix->ns, from, from->ncomp));
		pthread_rwlock_unlock(&ix->lock);
		return err;
	}
	if ((err = log_check_writable(&st->log)) < 0)
		return err;

	for (int attempt = 0;; attempt++) {
		struct so_obj *m, *v = NULL;
		if ((err = log_space_wait(&st->log, 2 * IO_ALIGN + NAME_REC_MAX, false)) < 0)
			return err;
		/* Find the two objects, then lock them (object locks come before the index lock). */
		pthread_rwlock_rdlock(&ix->lock);
		struct ns_node *nf = ns_lookup(&ix->ns, from, from->ncomp);
		if ((err = check_from(nf)) < 0) {
			pthread_rwlock_unlock(&ix->lock);
			return err;
		}
		m = nf->obj;
		obj_get(m);
		struct ns_node *nt = ns_lookup(&ix->ns, to, to->ncomp);
		if (nt && ns_node_is_object(nt)) {
			v = nt->obj;
			obj_get(v);
		}
		pthread_rwlock_unlock(&ix->lock);
		lock_pair(m, v);
		pthread_rwlock_wrlock(&ix->lock);

		/* Check again under the write lock: anything may have changed in between. */
		nf = ns_lookup(&ix->ns, from, from->ncomp);
		nt = ns_lookup(&ix->ns, to, to->ncomp);
		struct ns_node *leaf = NULL;
		bool retry = !nf || nf->obj != m || m->node != nf || (nt && nt->obj && nt->obj != v) ||
		             (v && (!nt || nt->obj != v));
		bool m_dir = m->flags & CREATE_F_DIR, undo_insert = false;
		if (retry)
			goto unlock;
		if ((err = check_from(nf)) < 0 || (err = check_to(nt, m_dir, flags)) < 0)
			goto unlock;
		if (!v) {
			/* The only step that can fail for lack of memory, or find the path blocked: before logging. */
			if ((err = ns_insert_obj(&ix->ns, to, m, m_dir, &leaf)) < 0)
				goto unlock;
			undo_insert = true;
		}
		if ((err = objrec_log_name(st, m, to, REC_RENAME, v ? v->oid : 0)) < 0) {
			if (undo_insert)
				ns_remove(&ix->ns, leaf);
			if (err == SWAPOBJ_ENOSPC && attempt < 3)
				retry = true; /* the open segment filled up: wait for the cleaner and try again */
			goto unlock;
		}
		if (v) {
			ns_replace(&ix->ns, nt, m, m_dir);
			oidmap_del(&ix->oids, v->oid);
			v->node = NULL;
			leaf = nt;
		}
		ns_remove(&ix->ns, nf);
		m->node = leaf;
		__atomic_store_n(&m->renamed, 1, __ATOMIC_RELAXED);
		inv_ns(st, "rename");
	unlock:
		pthread_rwlock_unlock(&ix->lock);
		if (err == 0 && !retry && v) {
			__atomic_store_n(&v->dead, 1, __ATOMIC_RELEASE);
			objrec_release(st, v);
		}
		unlock_pair(m, v);
		if (err == 0 && !retry && v)
			obj_put(v); /* the index's reference */
		if (v)
			obj_put(v);
		obj_put(m);
		if (!retry)
			return err;
		if (attempt > 100)
			return so_err(SWAPOBJ_EBUSY, "keys keep changing concurrently");
	}
}
