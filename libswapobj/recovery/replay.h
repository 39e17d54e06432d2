/*
 * replay.h - rebuilding the index from the log at open (replay.c): from the
 * newest valid checkpoint and the log written after it, or from the whole log.
 */
#ifndef SO_REPLAY_H
#define SO_REPLAY_H

#include <stdint.h>

struct swapobj_store;

/* Rebuild the index, usage table and class totals of a store whose log is open. 0 or a negative error. */
int replay_run(struct swapobj_store *st);
/*
 * At open: an object dropped by a prefix invalidation that was renamed goes
 * into the oid table (not the namespace) and the reaper's queue, its name
 * record live, to have its DELETE logged once the store runs (see
 * reaper_run in space/cleaner.c). Used by replay and the checkpoint loader.
 */
int replay_doom(struct swapobj_store *st, uint64_t oid, uint8_t cls, uint8_t flags, uint64_t create_addr,
                uint64_t create_seq, uint32_t create_bytes);

#endif
