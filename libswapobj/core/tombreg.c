/*
 * tombreg.c - the tombstone registry (tombreg.h), an oid table keyed by
 * sequence number under st->tomb_mu.
 */
#include "tombreg.h"

#include "store_types.h"

void tombreg_set(struct swapobj_store *st, uint64_t seq, uint64_t addr16)
{
	pthread_mutex_lock(&st->tomb_mu);
	if (addr16)
		oidmap_put(&st->tombs, seq, (void *)(uintptr_t)addr16); /* ENOMEM: only costs a duplicate later */
	else
		oidmap_del(&st->tombs, seq);
	pthread_mutex_unlock(&st->tomb_mu);
}

uint64_t tombreg_get(struct swapobj_store *st, uint64_t seq)
{
	pthread_mutex_lock(&st->tomb_mu);
	uint64_t a = (uint64_t)(uintptr_t)oidmap_get(&st->tombs, seq);
	pthread_mutex_unlock(&st->tomb_mu);
	return a;
}
