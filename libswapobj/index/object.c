/*
 * object.c - object allocation, references and the liveness check.
 */
#include "object.h"

#include "util.h"

int index_init(struct so_index *ix)
{
	int err;
	memset(ix, 0, sizeof(*ix));
	if ((err = ns_init(&ix->ns)) < 0)
		return err;
	if ((err = oidmap_init(&ix->oids)) < 0) {
		ns_destroy(&ix->ns, NULL, NULL);
		return err;
	}
	pthread_rwlock_init(&ix->lock, NULL);
	ix->next_oid = 1;
	return 0;
}

struct destroy_ctx {
	extmap_cb cb;
	void *ctx;
};

static void destroy_obj(void *c, void *obj)
{
	struct destroy_ctx *dc = c;
	struct so_obj *o = obj;
	extmap_destroy(&o->map, dc->cb, dc->ctx);
	o->node = NULL;
	__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	obj_put(o);
}

void index_destroy(struct so_index *ix, extmap_cb cb, void *ctx)
{
	struct destroy_ctx dc = {cb, ctx};
	for (size_t i = 0; i < ix->ndetached; i++)
		while (ix->detached[i])
			ns_reap(&ix->ns, &ix->detached[i], SIZE_MAX, destroy_obj, &dc);
	so_free(SO_MEM_INDEX, ix->detached);
	ns_destroy(&ix->ns, destroy_obj, &dc);
	oidmap_destroy(&ix->oids);
	pthread_rwlock_destroy(&ix->lock);
}

struct so_obj *obj_new(uint64_t oid)
{
	struct so_obj *o = so_zalloc(SO_MEM_INDEX, sizeof(*o));
	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	o->oid = oid;
	o->refs = 1;
	extmap_init(&o->map);
	return o;
}

void obj_put(struct so_obj *o)
{
	if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		extmap_destroy(&o->map, NULL, NULL);
		so_free(SO_MEM_INDEX, o->aux);
		pthread_mutex_destroy(&o->lock);
		so_free(SO_MEM_INDEX, o);
	}
}

struct so_obj *index_get(struct so_index *ix, uint64_t oid)
{
	pthread_rwlock_rdlock(&ix->lock);
	struct so_obj *o = oidmap_get(&ix->oids, oid);
	if (o)
		obj_get(o);
	pthread_rwlock_unlock(&ix->lock);
	return o;
}

bool obj_is_dead(struct so_index *ix, struct so_obj *o)
{
	if (__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE))
		return true;
	uint64_t epoch = __atomic_load_n(&ix->inval_epoch, __ATOMIC_ACQUIRE);
	if (o->inval_seen == epoch)
		return false;
	pthread_rwlock_rdlock(&ix->lock);
	bool dead = o->node == NULL || ns_node_dead(o->node);
	pthread_rwlock_unlock(&ix->lock);
	if (dead)
		__atomic_store_n(&o->dead, 1, __ATOMIC_RELEASE);
	else
		o->inval_seen = epoch;
	return dead;
}
