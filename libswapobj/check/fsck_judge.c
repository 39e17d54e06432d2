/*
 * fsck_judge.c - phase 4 of the checker: verdicts on what the scan found,
 * now that the durable point is known (torn writes vs damage, copies).
 *
 * Phases, the reading of damage and the repairs: fsck.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fsck.h"
#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

static int rkey_cmp(const void *a, const void *b)
{
	const struct fsck_rkey *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->lpos < y->lpos ? -1 : x->lpos > y->lpos;
}

/* Intact records named k (relocated copies share their seq). */
static size_t copies(const struct fsck *f, const struct fsck_rkey *k)
{
	if (!k->type || !f->nrkeys)
		return 0;
	size_t lo = 0, hi = f->nrkeys;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rkey_cmp(&f->rkeys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < f->nrkeys && rkey_cmp(&f->rkeys[lo + n], k) == 0)
		n++;
	return n;
}

/*
 * Damage that loses nothing: the damaged record has an intact copy
 * elsewhere (the cleaner relocates records with their seq, and frees the
 * original only after the copy is durable, so a write of copies torn by a
 * crash, or a damaged redundant copy, leaves the data in place).
 */
static bool redundant(const struct fsck *f, const struct fsck_incident *inc)
{
	if (inc->kind == INC_PAYLOAD || (inc->legible && inc->type)) {
		struct fsck_rkey k = {inc->seq, inc->oid,
		                      inc->type == REC_DATA || inc->type == REC_PUNCH ? inc->lpos : 0, inc->type, 0};
		if (copies(f, &k))
			return true;
		if (inc->kind == INC_PAYLOAD || !inc->hint)
			return false;
	}
	/* An illegible region between relocated copies whose originals are intact, in the cleaner's stream. */
	uint32_t segno = fsck_segno_of(f, inc->addr16);
	if (!fsck_cleaner_stream(f->seg_stream[segno]) || (!inc->prev.type && !inc->next.type))
		return false;
	/* A neighbour has another intact copy: beside itself if it is intact, at all if it is damaged too. */
	return (!inc->prev.type || copies(f, &inc->prev) >= 1u + inc->prev.intact) &&
	       (!inc->next.type || copies(f, &inc->next) >= 1u + inc->next.intact);
}

/* Verdicts on what the scan found, now that the durable point is known. */
int fsck_judge(struct fsck *f)
{
	uint64_t D = f->durable_seq;
	int err;
	if (f->nrkeys > 1)
		qsort(f->rkeys, f->nrkeys, sizeof(*f->rkeys), rkey_cmp);
	for (size_t i = 0; i < f->nincs; i++) {
		const struct fsck_incident *inc = &f->incs[i];
		uint64_t t;
		enum fsck_sev sev;
		if (inc->kind == INC_PAYLOAD) {
			/* Replay's rule: past the durable point, or in a segment opened after the last SYNC record. */
			if (inc->prev_seq >= D || inc->seq >= D || inc->gen >= f->gen_hw) {
				sev = FSCK_WARN;
				f->res->torn++;
				t = fsck_report_at(f, FSCK_REC_TORN, sev, inc->addr16, inc->type, inc->oid, inc->seq,
				                   inc->lpos,
				                   "%s of object %llu: payload torn by a crash before it was synced "
				                   "(seq %llu, durable point %llu); replay drops it",
				                   fsck_type_name(inc->type), (unsigned long long)inc->oid,
				                   (unsigned long long)inc->seq, (unsigned long long)D);
			} else if (redundant(f, inc)) {
				sev = FSCK_WARN;
				t = fsck_report_at(
				    f, FSCK_REC_DEAD, sev, inc->addr16, inc->type, inc->oid, inc->seq, inc->lpos,
				    "%s of object %llu: payload checksum mismatch in a copy; an intact copy "
				    "of the record (seq %llu) exists, nothing is lost",
				    fsck_type_name(inc->type), (unsigned long long)inc->oid,
				    (unsigned long long)inc->seq);
			} else {
				static const char *const what[] = {
				    [REC_CREATE] =
				        "the object's key record: the object is lost unless an older one exists",
				    [REC_PUNCH] = "a punch: the punched pages may read their old data again",
				    [REC_INVALIDATE] = "a prefix invalidation: the objects it dropped may come back",
				    [REC_SYNC] = "a durability mark: later damage may be taken for torn writes",
				};
				const char *w = inc->type < SO_ARRAY_SIZE(what) && what[inc->type]
				                    ? what[inc->type]
				                    : "replay ignores it";
				sev = FSCK_ERROR;
				t = fsck_report_at(f, FSCK_REC_PAYLOAD, sev, inc->addr16, inc->type, inc->oid, inc->seq,
				                   inc->lpos, "%s of object %llu: payload checksum mismatch; it was %s",
				                   fsck_type_name(inc->type), (unsigned long long)inc->oid, w);
			}
		} else {
			/*
			 * A damaged header is a write torn by a crash (the same rule as
			 * replay, which retires these at a read-write open) when it lies past
			 * the durable point: the record before it in the segment, or its own
			 * seq if the header checks out but for its magic, is not below it; or
			 * when its segment was opened
			 * after the last SYNC record was written.
			 */
			uint64_t seq = inc->legible && !inc->hint ? inc->seq : 0;
			bool torn = inc->prev_seq >= D || seq >= D || inc->gen >= f->gen_hw;
			f->res->damaged_headers++;
			char what[160] = "no legible header";
			if (inc->type)
				snprintf(what, sizeof(what), "%s%s of object %llu, seq %llu, offset %llu",
				         inc->hint ? "probably " : "", fsck_type_name(inc->type),
				         (unsigned long long)inc->oid, (unsigned long long)inc->seq,
				         (unsigned long long)inc->lpos);
			bool copy = !torn && redundant(f, inc);
			sev = torn || copy ? FSCK_WARN : FSCK_ERROR;
			if (torn)
				f->res->torn++;
			if (inc->split && !torn) {
				/*
				 * Illegible in both copies of a split segment's stream, below
				 * the durable point: replay counts a lost region and keeps the
				 * store read-only (no page can be trusted current). Retiring it
				 * in both copies is the operator accepting the loss.
				 */
				f->res->lost_regions++;
				t = fsck_report_at(
				    f, FSCK_REGION_LOST, FSCK_ERROR, inc->addr16, inc->hint ? 0 : inc->type,
				    inc->hint ? 0 : inc->oid, inc->hint ? 0 : inc->seq, inc->hint ? 0 : inc->lpos,
				    "%u bytes of the record stream illegible in both copies below the durable point "
				    "(%s): "
				    "the records there are lost%s; the store opens read-only and refuses data reads%s",
				    inc->len, what,
				    copy ? " (copies the cleaner made, whose originals are intact)" : "",
				    f->repair ? "; repair: loss accepted, the region is retired in both copies and the "
				                "pages read as their records elsewhere say"
				              : " until a repair accepts the loss");
				if ((err = fsck_plan_zap(f, inc->addr16, t, FSCK_ERROR)) < 0)
					return err;
				continue;
			}
			t = fsck_report_at(
			    f,
			    torn   ? FSCK_REC_TORN
			    : copy ? FSCK_REC_DEAD
			           : FSCK_REC_HEADER,
			    sev, inc->addr16, inc->hint ? 0 : inc->type, inc->hint ? 0 : inc->oid,
			    inc->hint ? 0 : inc->seq, inc->hint ? 0 : inc->lpos,
			    "%s: %u bytes%s (%s); replay skips them%s",
			    inc->kind == INC_TAIL ? "damaged record at the end of the segment's records"
			                          : "damaged record header",
			    inc->len, inc->kind == INC_TAIL ? "" : " without a valid record", what,
			    torn   ? "; torn by a crash before it was synced"
			    : copy ? "; copies the cleaner made, whose originals are intact: nothing is lost"
			           : "");
		}
		if ((err = fsck_plan_zap(f, inc->addr16, t, sev)) < 0)
			return err;
	}
	return 0;
}
