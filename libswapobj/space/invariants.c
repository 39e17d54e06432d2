/*
 * invariants.c - the debug-build invariant checks (invariants.h). Compiled
 * only with SO_DEBUG_INVARIANTS; each check runs the module's own verifier
 * (extmap_check, ns_check, space_check) and aborts on a violation.
 */
#ifdef SO_DEBUG_INVARIANTS

#include "invariants.h"

#include <stdio.h>
#include <stdlib.h>

#include "space.h"
#include "util.h"

static void violated(const char *what, const char *where)
{
	fprintf(stderr, "libswapobj: invariant violated (%s, at %s): %s\n", what, where, swapobj_errmsg());
	abort();
}

void inv_obj(struct swapobj_store *st, const struct so_obj *o, const char *where)
{
	(void)st;
	if (extmap_check(&o->map) != 0)
		violated("extent map", where);
}

void inv_ns(struct swapobj_store *st, const char *where)
{
	if (st->ix.ndetached == 0 && ns_check(&st->ix.ns) != 0)
		violated("key tree", where);
}

void inv_store(struct swapobj_store *st, const char *where)
{
	struct so_index *ix = &st->ix;
	uint64_t pos = 0, oid;
	void *val;
	pthread_rwlock_rdlock(&ix->lock);
	if (ix->ndetached == 0 && ns_check(&ix->ns) != 0)
		violated("key tree", where);
	while (oidmap_next(&ix->oids, &pos, &oid, &val))
		if (extmap_check(&((const struct so_obj *)val)->map) != 0)
			violated("extent map", where);
	pthread_rwlock_unlock(&ix->lock);
	int err = space_check(st);
	if (err != 0 && err != SWAPOBJ_ENOMEM)
		violated("usage table", where);
}

#else
typedef int so_invariants_unused; /* ISO C wants something in a translation unit */
#endif
