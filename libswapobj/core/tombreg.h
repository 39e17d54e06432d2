/*
 * tombreg.h - the tombstone registry: sequence number -> address of the one
 * copy of a tombstone record (PUNCH, TRUNCATE, DELETE, INVALIDATE, RENAME)
 * that counts.
 *
 * A relocated tombstone keeps its seq, and a copy left behind by an
 * interrupted cleaning pass must be recognised as a duplicate and dropped,
 * or duplicates would be carried (and multiply) forever. Writers register a
 * tombstone when they log it, the cleaner when it relocates one, replay and
 * the checkpoint loader when they find one; the cleaner asks before
 * carrying one.
 */
#ifndef SO_TOMBREG_H
#define SO_TOMBREG_H

#include <stdint.h>

struct swapobj_store;

/* Register where the tombstone with this seq lives (addr16 == 0: forget it). Never fails: without memory the
 * entry is not kept, which only costs a duplicate carried later. Thread-safe (st->tomb_mu, a leaf lock). */
void tombreg_set(struct swapobj_store *st, uint64_t seq, uint64_t addr16);
/* Where the tombstone with this seq lives, 0 if unknown. Thread-safe. */
uint64_t tombreg_get(struct swapobj_store *st, uint64_t seq);

#endif
