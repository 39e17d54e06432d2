/*
 * replay_int.h - what the files of replay share: the working state of one
 * replay and the steps of replay_run (replay.c has the recipe and the rules).
 */
#ifndef SO_REPLAY_INT_H
#define SO_REPLAY_INT_H

#include "ckpt.h"
#include "replay.h"
#include "store_types.h"

#define PG SWAPOBJ_PAGE_SIZE

struct rentry {
	uint64_t oid, seq, lpos, len, addr16, obj_size;
	uint64_t hdr16; /* the record header's address (addr16 is the page's for a page out of line) */
	uint8_t type, flags;
	uint8_t damaged; /* DATA whose payload failed its checksum */
};
/* The newest name record of an object: its key kept in its compact on-disk encoding, then its aux data. */
struct rcreate {
	uint64_t seq, addr16, version;
	uint32_t bytes;
	uint8_t cls, flags;
	uint16_t keylen;
	uint32_t auxlen;
	uint8_t keyenc[]; /* keylen bytes of key encoding, then auxlen bytes of aux data */
};
/* The newest AUX record of an object. */
struct raux {
	uint64_t seq, addr16;
	uint32_t bytes, len;
	uint8_t data[];
};
struct rinval {
	uint64_t seq;
	swapobj_key prefix;
};
/*
 * Bytes where a record should start but none does: a damaged region (valid
 * records follow) or a damaged record at the end of a segment's records.
 * Decided once the durable point is known: torn by a crash, or damage.
 */
struct rgap {
	uint64_t addr16;
	uint64_t prev_seq; /* seq of the segment's last valid record before it (0: none) */
	uint64_t hint_seq; /* seq its header names, if the header checks out but for its magic (0: not) */
	uint32_t gen;      /* the segment's generation */
	bool split;        /* in a split segment: both copies of the stream are illegible there */
};
struct replay {
	struct swapobj_store *st;
	struct rentry *ents;
	size_t nents, cap;
	struct oidmap creates; /* oid -> struct rcreate* (newest name record) */
	struct oidmap auxs;    /* oid -> struct raux* (newest AUX record) */
	struct oidmap deleted; /* oid -> (void*)1 */
	struct oidmap ckkeys;  /* oid -> swapobj_key*: checkpoint key of a loaded object renamed in the tail */
	struct rinval *invals;
	size_t ninvals, capinvals;
	uint64_t max_seq, max_gen, max_oid;
	uint64_t corrupt_regions; /* damaged spans skipped (headers that cannot be trusted) */
	uint64_t lost_regions;    /* of them, in split segments (both copies): the store stays read-only */
	uint64_t damaged;         /* durable records with a damaged payload, kept so reads report them */
	uint64_t torn;            /* damaged records past the durable point: unsynced writes, dropped */
	uint64_t durable_seq;     /* highest durable_seq of the SYNC records found */
	uint64_t gen_hw;          /* highest "next generation" of the SYNC records found */
	uint64_t *losers;
	size_t nlosers, caplosers;
	struct rentry *torn_ents; /* torn DATA records: their pages get rewritten after replay */
	size_t ntorn_ents, captorn;
	bool tail;          /* replaying the tail of a loaded checkpoint */
	uint64_t cut_seq;   /* its cut: tail records below it are relocated copies */
	uint64_t *restated; /* objects whose RENAME was undone: their name is re-logged after replay */
	size_t nrestated, caprestated;
	uint8_t *bounce; /* for re-reading older name records (rare) */
	struct rgap *gaps;
	size_t ngaps, capgaps;
	/* Split segments' stream blocks holding a record found in one copy only: (segno << 32) | block. */
	uint64_t *resync;
	size_t nresync, capresync;
};
/* Did an INVALIDATE newer than the name record with this seq drop the object at key? */
/* One object's entries in rp->ents, and the seq of its newest name record (0: none). */
struct rgroup {
	uint64_t seq;
	size_t start, n;
};
/* The identity a loaded object had at the cut, to go back to if every tail name record of it loses. */
struct ident {
	uint8_t cls, flags;
	uint64_t version, create_addr, create_seq;
	uint32_t create_bytes;
	uint8_t *aux;
	uint32_t aux_len;
	uint64_t aux_addr, aux_seq;
	uint32_t aux_bytes;
};

/* replay.c: grow *arr (n used, *cap allocated, elem bytes each) to hold one more. */
int replay_grow(void **arr, size_t *cap, size_t n, size_t elem);
/* replay_scan.c: step 1. */
int replay_scan(struct replay *rp, const struct ckpt_loaded *ck);
/* replay_names.c: step 2 (see the comments at the definitions). */
void replay_mark_dead(struct replay *rp, uint64_t oid, const struct rcreate *c, const struct rentry *ents, size_t n);
bool replay_invalidated(const struct replay *rp, uint64_t seq, const swapobj_key *key);
int replay_set_aux(struct replay *rp, struct so_obj *o, uint64_t name_seq, const uint8_t *aux, uint32_t auxlen);
int replay_older_name(struct replay *rp, struct so_obj *o, const struct rentry *ents, size_t n, uint64_t floor,
                      uint64_t *seq, swapobj_key *key);
int replay_add_loser(struct replay *rp, uint64_t oid);
int replay_add_restated(struct replay *rp, uint64_t oid);
int replay_place_rekeyed(struct replay *rp, struct so_obj *o, const struct rcreate *c, const struct rentry *ents,
                         size_t n, uint64_t *placed);
int replay_apply_loaded_aux(struct replay *rp, struct so_obj *o);
int replay_kill_loaded_by_tail(struct replay *rp);
int replay_unlink_rekeyed(struct replay *rp);
/* replay_apply.c: steps 2 and 3. */
int replay_apply(struct replay *rp);

#endif
