/*
 * replay.c - rebuild the index from the log alone.
 *
 * 1. Scan: every segment whose block 0 holds a valid SEGHDR is read whole;
 *    its records (those whose seg_gen matches the SEGHDR's) are collected.
 *    A damaged record is skipped by searching forward, 16 bytes at a time,
 *    for the next valid record of the same generation, so one bad sector
 *    does not hide what follows it.
 *    A damaged header (or a damaged payload of a record other than DATA)
 *    that lies past the durable point, or in a segment opened after the last
 *    SYNC record, is a write a crash tore: like torn DATA it is retired on
 *    disk at a read-write open, so that later SYNC records cannot make it
 *    look like damage of durable data.
 * 2. Decide which objects live: an object lives iff it has a name record
 *    (CREATE or RENAME), no DELETE record, is named by no RENAME as the
 *    object it replaced, is not ephemeral, and no INVALIDATE record of a
 *    prefix of its key has a higher sequence number than its newest name
 *    record. Live objects enter the key tree in the order of their newest
 *    name record's seq. One that conflicts with an object already there (same
 *    key, under a non-directory object, or a non-directory object above
 *    others) lost: a record that removed the older object was lost in a
 *    crash, so it was never synced, and neither was anything after it. A
 *    losing RENAME is undone (the object goes back to its previous name
 *    record, re-logged as a CREATE after replay); any other loser is dropped
 *    and a DELETE for it logged after replay. (FORMAT.md, Replay step 3.)
 *    An object dropped by an INVALIDATE that has older name records on disk
 *    is queued for the reaper, which logs a DELETE of it: they may carry
 *    another key, which the INVALIDATE does not cover (see reaper_run in
 *    cleaner.c).
 * 3. Apply each live object's records in sequence order through the same
 *    extent-map operations the live paths use, so the highest sequence
 *    number wins per page whatever order segments were read in. The size
 *    is the obj_size of the object's highest-sequence record.
 * 4. Rebuild the usage table from the index; segments without a valid
 *    SEGHDR (or with nothing but one) go to the free queue.
 *
 * With a checkpoint (ckpt.c) the index, usage and segment summaries come
 * from it, and only the tail is scanned: segments whose generation changed
 * since the cut, and segments open at the cut from their noted fill on.
 * Tail records are applied on top of the loaded objects in sequence order
 * (re-applying what the snapshot already has is harmless); tail DELETE and
 * INVALIDATE records remove loaded objects.
 *
 * Memory: one 56-byte entry per data/tombstone record scanned.
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay_int.h"
#include "space.h"
#include "tombreg.h"
#include "util.h"

static int replay_init(struct replay *rp, struct swapobj_store *st);
static int start_from_checkpoint(struct replay *rp, struct ckpt_loaded *ck);
static int sort_damage(struct replay *rp);
static void restore_counters(struct replay *rp, const struct ckpt_loaded *ck);
static void free_empty_segs(struct replay *rp);
static int settle(struct replay *rp);
static void replay_free(struct replay *rp, struct ckpt_loaded *ck);

/* The recipe: each step is a function below or in replay_scan.c / replay_names.c / replay_apply.c. */
int replay_run(struct swapobj_store *st)
{
	struct replay rp;
	struct ckpt_loaded ck;
	int err;

	memset(&ck, 0, sizeof(ck));
	if ((err = replay_init(&rp, st)) < 0)
		goto out;
	/* 0. Start from the newest valid checkpoint, if there is one: then only the tail is scanned. */
	if ((err = start_from_checkpoint(&rp, &ck)) < 0)
		goto out;
	/* 1. Collect the records of every segment (or of the tail). */
	if ((err = replay_scan(&rp, &ck)) < 0)
		goto out;
	/* 1b. Damage past the durable point is a torn write (dropped); below it, damage (kept, reported). */
	if ((err = sort_damage(&rp)) < 0)
		goto out;
	/* 2, 3. Decide which objects live and apply their records in sequence order. */
	if ((err = replay_apply(&rp)) < 0)
		goto out;
	restore_counters(&rp, &ck);
	/* 4. Segments with nothing to replay are free. */
	free_empty_segs(&rp);
	/* Retire torn writes on disk; log the DELETEs of losers and the names of undone renames. */
	err = settle(&rp);
out:
	replay_free(&rp, &ck);
	return err;
}

int replay_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024, bytes;
	if (!so_mul_ok(ncap, elem, &bytes))
		return so_err(SWAPOBJ_ENOMEM, "replay table overflow");
	void *p = so_realloc(SO_MEM_OTHER, *arr, bytes);
	if (!p)
		return so_err(SWAPOBJ_ENOMEM, "out of memory replaying the log (%zu records)", n);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int replay_init(struct replay *rp, struct swapobj_store *st)
{
	int err;
	memset(rp, 0, sizeof(*rp));
	rp->st = st;
	if ((err = oidmap_init(&rp->creates)) < 0 || (err = oidmap_init(&rp->deleted)) < 0 ||
	    (err = oidmap_init(&rp->auxs)) < 0 || (err = oidmap_init(&rp->ckkeys)) < 0)
		return err;
	return 0;
}

static int start_from_checkpoint(struct replay *rp, struct ckpt_loaded *ck)
{
	struct swapobj_store *st = rp->st;
	int err;
	unsigned fallbacks = 0;
	if ((err = ckpt_load(st, ck, &fallbacks)) < 0)
		return err;
	st->ckpt_fallbacks = fallbacks;
	if (err == 1) {
		rp->tail = true;
		rp->cut_seq = ck->cut_seq;
		rp->durable_seq = ck->durable_seq;
		rp->max_seq = ck->next_seq ? ck->next_seq - 1 : 0;
		rp->max_oid = ck->next_oid ? ck->next_oid - 1 : 0;
		rp->max_gen = ck->next_gen ? ck->next_gen - 1 : 0;
		st->ckpt_loaded = 1;
	}
	return 0;
}

static int sort_damage(struct replay *rp)
{
	struct so_log *lg = &rp->st->log;
	int err;
	/*
	 * A damaged payload below the durable point is media damage: keep the
	 * record so reads of its page fail loudly. Above it, it is a write that
	 * was torn by the crash and never acknowledged: drop it (old data stays).
	 */
	size_t kept = 0;
	for (size_t i = 0; i < rp->nents; i++) {
		if (rp->ents[i].damaged && rp->ents[i].seq >= rp->durable_seq) {
			rp->torn++;
			log_rec_died(lg, rp->ents[i].addr16, 0, rp->ents[i].oid);
			if ((err = replay_grow((void **)&rp->torn_ents, &rp->captorn, rp->ntorn_ents,
			                       sizeof(*rp->torn_ents))) < 0)
				return err;
			rp->torn_ents[rp->ntorn_ents++] = rp->ents[i];
			continue;
		}
		rp->damaged += rp->ents[i].damaged;
		rp->ents[kept++] = rp->ents[i];
	}
	rp->nents = kept;
	/*
	 * Damaged headers: a crash tore them if they lie past the durable point
	 * (the record before them, or their own seq if trustworthy, is not below it),
	 * or in a segment opened after the last SYNC record was written. Those
	 * are retired with the torn records below; the others are damage.
	 */
	kept = 0;
	for (size_t i = 0; i < rp->ngaps; i++) {
		const struct rgap *g = &rp->gaps[i];
		/*
		 * (A split segment's stream records never cross a sector, so a cut
		 * cannot leave one half written: illegible in both copies means
		 * damage there, twice, and below the durable point it is a loss.)
		 */
		bool torn = g->prev_seq >= rp->durable_seq || g->hint_seq >= rp->durable_seq || g->gen >= rp->gen_hw;
		if (torn) {
			rp->gaps[kept++] = *g;
		} else {
			rp->corrupt_regions++;
			rp->lost_regions += g->split;
		}
	}
	rp->ngaps = kept;
	return 0;
}

static void restore_counters(struct replay *rp, const struct ckpt_loaded *ck)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	st->ix.next_oid = rp->max_oid + 1;
	lg->next_seq = rp->max_seq + 1;
	/*
	 * Never reissue a generation: a segment whose new SEGHDR tore hides its
	 * old one, so the highest generation seen may be lower than one issued.
	 */
	lg->next_gen = (uint32_t)SO_MAX(rp->max_gen + 1, rp->gen_hw);
	lg->durable_seq = lg->sync_logged_seq = rp->durable_seq;
	st->damaged_records = rp->damaged + rp->corrupt_regions + (rp->tail ? ck->damaged : 0);
	/*
	 * A region of a split segment's stream illegible in both copies below
	 * the durable point held records nobody can name: which pages they
	 * updated is unknown, so no page can be served as current (an older
	 * copy might be all that is left of it). The store stays read-only and
	 * refuses data reads until swapobj-fsck accepts the loss.
	 */
	lg->lost_regions = rp->lost_regions;
	if (rp->lost_regions)
		lg->rdonly = true;
	if (st->ckpts[0].no)
		__atomic_store_n(&lg->ckpt_keep_seq, st->ckpts[1].no ? st->ckpts[1].cut_seq : st->ckpts[0].cut_seq,
		                 __ATOMIC_RELAXED);
}

static void free_empty_segs(struct replay *rp)
{
	struct so_log *lg = &rp->st->log;
	pthread_mutex_lock(&lg->mu);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		if (s->state != SEG_SEALED || s->fill <= SEGHDR_REC_SIZE) {
			if (s->state == SEG_SEALED)
				__atomic_store_n(&s->min_seq, UINT64_MAX, __ATOMIC_RELAXED);
			log_seg_free_locked(lg, s);
			s->erase = ERASE_DONE; /* erased, never used, torn header or header only: nothing to replay */
		}
	}
	pthread_mutex_unlock(&lg->mu);
}

static int settle(struct replay *rp)
{
	struct swapobj_store *st = rp->st;
	struct so_log *lg = &st->log;
	int err = 0;
	/*
	 * Torn writes must never be taken for durable damage later, when newer
	 * SYNC records raise the durable point past their seq: retire them on
	 * disk now, durably, before anything is appended.
	 */
	if (!lg->rdonly && (rp->ntorn_ents || rp->ngaps)) {
		for (size_t i = 0; i < rp->ntorn_ents && err == 0; i++)
			err = log_zap(lg, rp->torn_ents[i].hdr16);
		for (size_t i = 0; i < rp->ngaps && err == 0; i++)
			err = log_zap(lg, rp->gaps[i].addr16);
		if (err == 0)
			err = log_sync_devices(lg);
		if (err < 0)
			return err;
	}
	/* Split segments' stream blocks with a record in one copy only: both copies made whole again. */
	if (!lg->rdonly && rp->nresync) {
		for (size_t i = 0; i < rp->nresync && err == 0; i++) {
			struct log_seg *s = &lg->segs[rp->resync[i] >> 32];
			if (s->state == SEG_SEALED && s->split)
				err = log_resync_block(lg, s, rp->resync[i] & 0xffffffffu);
		}
		if (err == 0)
			err = log_sync_devices(lg);
		if (err < 0)
			return err;
		st->resynced_blocks = rp->nresync;
	}
	/* Settle duplicate keys for good, so the loser cannot come back later. */
	if (!lg->rdonly)
		for (size_t i = 0; i < rp->nlosers && err == 0; i++) {
			struct rec r = {0};
			r.type = REC_DELETE;
			r.oid = rp->losers[i];
			uint64_t taddr;
			if ((err = log_append(lg, LOG_HOT, LOG_URGENT, &r, NULL, 0, &taddr)) == 0)
				tombreg_set(st, r.seq, taddr);
		}
	/* Undone renames: restate each object's name, so that no later replay takes the RENAME again. */
	if (!lg->rdonly)
		for (size_t i = 0; i < rp->nrestated && err == 0; i++) {
			struct so_obj *o = oidmap_get(&st->ix.oids, rp->restated[i]);
			swapobj_key key;
			ns_key_of(o->node, &key);
			err = objrec_log_name(st, o, &key, REC_CREATE, 0);
		}
	if (err == 0 && (rp->nlosers || rp->nrestated) && !lg->rdonly)
		err = log_sync(lg);
	return err;
}

static void replay_free(struct replay *rp, struct ckpt_loaded *ck)
{
	so_free(SO_MEM_OTHER, ck->segs);
	so_free(SO_MEM_OTHER, rp->ents);
	so_free(SO_MEM_OTHER, rp->invals);
	so_free(SO_MEM_OTHER, rp->losers);
	so_free(SO_MEM_OTHER, rp->torn_ents);
	so_free(SO_MEM_OTHER, rp->restated);
	if (rp->bounce)
		so_free_aligned(SO_MEM_BUFFER, rp->bounce, log_rec_bounce(rec_size(NAME_REC_MAX)));
	so_free(SO_MEM_OTHER, rp->gaps);
	so_free(SO_MEM_OTHER, rp->resync);
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&rp->creates, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp->creates);
	pos = 0;
	while (oidmap_next(&rp->auxs, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp->auxs);
	oidmap_destroy(&rp->deleted);
	pos = 0;
	while (oidmap_next(&rp->ckkeys, &pos, &oid, &val))
		so_free(SO_MEM_OTHER, val);
	oidmap_destroy(&rp->ckkeys);
}
