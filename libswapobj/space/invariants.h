/*
 * invariants.h - debug-build checks of the index and the usage table at the
 * points where their invariants must hold (SQLite's assert_pager_state).
 *
 * Built with -DSWAPOBJ_DEBUG_INVARIANTS=ON (the ASan stage of CI does), the
 * calls below run:
 *   inv_obj    after every change of an object's extent map (write, punch,
 *              truncate, exclusive read, delete, the cleaner's relocation):
 *              extmap_check of that map, under o->lock;
 *   inv_ns     after a rename, under ix.lock: ns_check of the key tree
 *              (skipped while detached subtrees wait for the reaper, whose
 *              nodes ns_check would count);
 *   inv_store  where nothing else runs (open after replay, close after the
 *              background threads stopped): ns_check, extmap_check of every
 *              object, and the usage table and class totals against a
 *              recount from the index (space_check).
 * A violation is a bug of the library, never bad media: the check prints
 * what broke, where, and aborts. In other builds the calls compile to
 * nothing.
 */
#ifndef SO_INVARIANTS_H
#define SO_INVARIANTS_H

#include "store_types.h"

#ifdef SO_DEBUG_INVARIANTS
void inv_obj(struct swapobj_store *st, const struct so_obj *o, const char *where);
void inv_ns(struct swapobj_store *st, const char *where);
void inv_store(struct swapobj_store *st, const char *where);
#else
static inline void inv_obj(struct swapobj_store *st, const struct so_obj *o, const char *where)
{
	(void)st, (void)o, (void)where;
}
static inline void inv_ns(struct swapobj_store *st, const char *where)
{
	(void)st, (void)where;
}
static inline void inv_store(struct swapobj_store *st, const char *where)
{
	(void)st, (void)where;
}
#endif

#endif
