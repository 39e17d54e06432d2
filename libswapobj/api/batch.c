/*
 * batch.c - the read path: swapobj_read_batch, and swapobj_obj_read as a
 * batch of one (obj_read_ranges). Ranges across objects are read with their
 * device reads submitted together.
 *
 * The call locks every object it names (each once, in increasing oid
 * order, the order rename.c locks pairs in), so the batch is one snapshot
 * and no cleaner can move a record between planning a read and checking
 * it. It then walks the requests page by page, as swapobj_obj_read does:
 * holes and zero pages are filled at once; records are gathered into
 * reads (pages whose records lie back to back in one segment share one)
 * until the per-thread bounce buffer or LOG_READ_MANY_MAX reads are used
 * up; then log_read_many submits them together, each record is checked
 * and copied out, and the walk goes on. A failed read fails only the
 * requests it serves.
 *
 * Allocation: none per call. The bounce buffer is allocated once per
 * thread (BATCH_BOUNCE bytes) and freed when the thread exits.
 */
#include <pthread.h>
#include <stdlib.h>

#include "api_int.h"
#include "invariants.h"
#include "space.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE
#define RUN_MAX (OBJ_RA_PAGES / 4) /* records one read covers at most: a read-ahead window is four reads in flight */
#define BATCH_BOUNCE (2u << 20)    /* per-thread bounce bytes: room for 64+ scattered reads */

/* ------------------------------------------------------------------ */
/* Per-thread bounce buffer                                            */
/* ------------------------------------------------------------------ */

static pthread_key_t bb_key;
static pthread_once_t bb_once = PTHREAD_ONCE_INIT;

static void bb_free(void *p)
{
	so_free_aligned(SO_MEM_BUFFER, p, BATCH_BOUNCE);
}
static void bb_init(void)
{
	pthread_key_create(&bb_key, bb_free);
}
static uint8_t *bb_get(void)
{
	pthread_once(&bb_once, bb_init);
	uint8_t *b = pthread_getspecific(bb_key);
	if (!b) {
		b = so_alloc_aligned(SO_MEM_BUFFER, BATCH_BOUNCE);
		if (b)
			pthread_setspecific(bb_key, b);
	}
	return b;
}

/* ------------------------------------------------------------------ */
/* Planned reads                                                       */
/* ------------------------------------------------------------------ */

/* One planned read: cnt records (DATA back to back, or one FILL) for pages pg.. of request req. */
struct piece {
	uint32_t req;
	uint32_t cnt;
	uint64_t pg;
	uint64_t pos; /* byte offset in the object where this piece's copy starts */
	extslot slot; /* of the first page */
	bool direct;  /* split pages read straight into the caller's buffer (verified in place) */
};

struct batch {
	struct swapobj_store *st;
	struct swapobj_read_req *reqs;
	uint8_t *bounce;
	uint32_t used; /* bounce bytes planned */
	unsigned n;    /* planned reads */
	struct piece pc[LOG_READ_MANY_MAX];
	struct log_rd rd[LOG_READ_MANY_MAX];
};

static void req_fail(struct swapobj_read_req *r, int err)
{
	if (r->result >= 0)
		r->result = err;
}

/* End (exclusive) of request r's clipped range: result holds its length while it is read. */
static uint64_t req_end(const struct swapobj_read_req *r)
{
	return r->off + (uint64_t)r->result;
}

/* Submit the planned reads, check each record, copy the bytes out. */
static void run(struct batch *b)
{
	struct so_log *lg = &b->st->log;
	if (b->n == 0)
		return;
	log_read_many(lg, b->rd, b->n);
	for (unsigned i = 0; i < b->n; i++) {
		struct piece *p = &b->pc[i];
		struct swapobj_read_req *r = &b->reqs[p->req];
		struct so_obj *o = r->obj->o;
		if (r->result < 0)
			continue;
		if (b->rd[i].res < 0) {
			req_fail(r, b->rd[i].res);
			continue;
		}
		uint8_t *out = r->buf;
		uint64_t end = req_end(r), pos = p->pos;
		enum ext_kind k = extslot_kind(p->slot);
		bool split = obj_slot_split(lg, p->slot);
		uint32_t rsz = obj_slot_bytes(lg, p->slot);
		for (uint32_t j = 0; j < p->cnt; j++) {
			const uint8_t *payload = b->rd[i].rec + (size_t)j * rsz;
			uint64_t aj = extslot_addr(p->slot) + (uint64_t)j * (rsz / ADDR_UNIT);
			int err = split
			              ? log_page_verify(lg, aj, payload, o->oid, (p->pg + j) * PG)
			              : obj_check_rec(b->st, o, p->pg + j, extslot_make(k, aj), payload, rsz, &payload);
			if (err < 0) {
				req_fail(r, err);
				break;
			}
			uint32_t ip = (uint32_t)(pos % PG);
			uint32_t m = (uint32_t)SO_MIN((uint64_t)(PG - ip), end - pos);
			if (p->direct) {
				/* already in place */
			} else if (k == EXT_DATA) {
				memcpy(out + (pos - r->off), payload + ip, m);
			} else {
				uint64_t word;
				memcpy(&word, payload, 8);
				for (uint32_t x = 0; x < m; x++)
					out[pos - r->off + x] = ((const uint8_t *)&word)[(ip + x) % 8];
			}
			pos += m;
		}
	}
	b->n = 0;
	b->used = 0;
}

/* Plan one read of cnt records starting at page pg (byte pos) of request ri; runs the batch if full. */
static void plan(struct batch *b, uint32_t ri, uint64_t pg, uint64_t pos, extslot slot, uint32_t cnt)
{
	struct swapobj_read_req *r = &b->reqs[ri];
	uint32_t len = cnt * obj_slot_bytes(&b->st->log, slot);
	/*
	 * Whole pages of a split segment into a 4 KiB-aligned spot of the
	 * caller's buffer: read there directly (one I/O, no copy), then checked
	 * in place. A page failing its check fails the request, whose buffer
	 * then holds unspecified bytes (as documented).
	 */
	uint8_t *dst = (uint8_t *)r->buf + (pos - r->off);
	bool direct = obj_slot_split(&b->st->log, slot) && pos % PG == 0 && (pg + cnt) * PG <= req_end(r) &&
	              (uintptr_t)dst % IO_ALIGN == 0;
	uint32_t need = direct ? 0 : log_rd_bounce(len);
	if (b->n == LOG_READ_MANY_MAX || b->used + need > BATCH_BOUNCE)
		run(b);
	b->pc[b->n] = (struct piece){ri, cnt, pg, pos, slot, direct};
	b->rd[b->n] = (struct log_rd){extslot_addr(slot), len, direct ? dst : b->bounce + b->used, NULL, 0};
	b->used += need;
	b->n++;
}

/* Walk request ri's pages (object locked), planning the reads it needs. */
static void walk(struct batch *b, uint32_t ri)
{
	struct so_log *lg = &b->st->log;
	struct swapobj_read_req *r = &b->reqs[ri];
	struct so_obj *o = r->obj->o;
	uint8_t *out = r->buf;
	uint64_t pos = r->off, end = req_end(r);
	while (pos < end && r->result >= 0) {
		uint64_t pg = pos / PG;
		uint32_t n = (uint32_t)SO_MIN((uint64_t)(PG - pos % PG), end - pos);
		extslot slot = extmap_get(&o->map, pg);
		enum ext_kind k = extslot_kind(slot);
		if (k == EXT_NONE || k == EXT_ZERO) {
			memset(out + (pos - r->off), 0, n);
			pos += n;
			continue;
		}
		uint32_t cnt = 1;
		if (k == EXT_DATA) {
			uint64_t a0 = extslot_addr(slot);
			struct log_seg *seg = log_seg_of(lg, a0);
			uint32_t stride = obj_slot_bytes(lg, slot) / ADDR_UNIT;
			while (cnt < RUN_MAX && (pg + cnt) * PG < end) {
				extslot nx = extmap_get(&o->map, pg + cnt);
				uint64_t want = a0 + (uint64_t)cnt * stride;
				if (extslot_kind(nx) != EXT_DATA || extslot_addr(nx) != want ||
				    log_seg_of(lg, want) != seg)
					break;
				cnt++;
			}
		}
		plan(b, ri, pg, pos, slot, cnt);
		pos = SO_MIN(end, (pg + cnt) * PG);
	}
}

static int oid_cmp(const void *a, const void *b)
{
	const struct so_obj *x = *(struct so_obj *const *)a, *y = *(struct so_obj *const *)b;
	return x->oid < y->oid ? -1 : x->oid > y->oid;
}

/* Messages name the request only when there are several. */
static int req_err(size_t n, size_t i, int code, const char *what)
{
	if (n > 1)
		return so_err(code, "request %zu: %s", i, what);
	return so_err(code, "%s", what);
}

/* ------------------------------------------------------------------ */
/* Read-ahead                                                          */
/* ------------------------------------------------------------------ */

/*
 * A handle's window: pages [pg0, pg0 + npg) of its object as read at one
 * instant, bytes [pg0 * PG, end) valid (end: the object's size then, if it
 * fell inside). slots[i] is the extent-map slot page pg0 + i had when read:
 * a page is served from the window only while its slot is unchanged, which
 * no write, punch, truncation, exclusive read or relocation leaves true
 * (and a relocated page is only re-read, never wrong). Guarded by o->lock.
 */
struct obj_ra {
	uint64_t pg0;
	uint64_t end;
	uint32_t npg;
	uint8_t *buf; /* OBJ_RA_PAGES pages, IO_ALIGN-aligned */
	extslot slots[OBJ_RA_PAGES];
};

/* A window fill riding on obj_read_ranges: record the slots and serve the caller under the same lock. */
struct ra_fill {
	struct obj_ra *ra;
	uint8_t *dst;
	uint64_t off;
	size_t len;
	int64_t result; /* bytes served, or OBJ_RA_MISS */
};

/* Serve [off, off+len) from the window (o->lock held): bytes copied, or OBJ_RA_MISS. */
static int64_t ra_serve_locked(struct so_obj *o, struct obj_ra *ra, uint8_t *dst, size_t len, uint64_t off)
{
	if (!ra->npg || off < ra->pg0 * PG)
		return OBJ_RA_MISS;
	if (off >= o->size)
		return 0;
	uint64_t end = off + SO_MIN((uint64_t)len, o->size - off);
	if (end > ra->end)
		return OBJ_RA_MISS;
	for (uint64_t pg = off / PG; pg * PG < end; pg++)
		if (extmap_get(&o->map, pg) != ra->slots[pg - ra->pg0])
			return OBJ_RA_MISS;
	memcpy(dst, ra->buf + (off - ra->pg0 * PG), end - off);
	return (int64_t)(end - off);
}

void obj_ra_free(swapobj_obj *h)
{
	struct obj_ra *ra = h->ra;
	if (!ra)
		return;
	so_free_aligned(SO_MEM_BUFFER, ra->buf, (size_t)OBJ_RA_PAGES * PG);
	so_free(SO_MEM_BUFFER, ra);
	h->ra = NULL;
}

static struct obj_ra *ra_get(swapobj_obj *h)
{
	struct obj_ra *ra = __atomic_load_n(&h->ra, __ATOMIC_ACQUIRE);
	if (ra)
		return ra;
	ra = so_alloc(SO_MEM_BUFFER, sizeof(*ra));
	if (!ra)
		return NULL;
	memset(ra, 0, sizeof(*ra));
	ra->buf = so_alloc_aligned(SO_MEM_BUFFER, (size_t)OBJ_RA_PAGES * PG);
	struct obj_ra *none = NULL;
	if (!ra->buf || !__atomic_compare_exchange_n(&h->ra, &none, ra, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (ra->buf)
			so_free_aligned(SO_MEM_BUFFER, ra->buf, (size_t)OBJ_RA_PAGES * PG);
		so_free(SO_MEM_BUFFER, ra);
		return none; /* another thread's window, or NULL out of memory */
	}
	return ra;
}

int64_t obj_read_ahead(swapobj_obj *h, void *buf, size_t len, uint64_t off)
{
	struct so_obj *o = h->o;
	struct obj_ra *ra = __atomic_load_n(&h->ra, __ATOMIC_ACQUIRE);
	int64_t n = OBJ_RA_MISS;
	if (ra) {
		pthread_mutex_lock(&o->lock);
		if (!obj_is_dead(&h->st->ix, o))
			n = ra_serve_locked(o, ra, buf, len, off);
		pthread_mutex_unlock(&o->lock);
	}
	/*
	 * A fill needs the third read in a row that continues the one before (two
	 * neighbouring pages swapped in at random must not cost a 1 MiB read),
	 * and a read smaller than half the window.
	 */
	if (n == OBJ_RA_MISS && off == __atomic_load_n(&h->ra_next, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&h->ra_seq, __ATOMIC_RELAXED) >= 2 && off % PG + len <= (size_t)OBJ_RA_PAGES * PG / 2 &&
	    (ra = ra_get(h)) != NULL) {
		struct swapobj_read_req r = {h, ra->buf, off / PG * PG, (size_t)OBJ_RA_PAGES * PG, 0};
		struct ra_fill f = {ra, buf, off, len, OBJ_RA_MISS};
		if (obj_read_ranges(h->st, &r, 1, 0, &f) == 0)
			n = f.result;
	}
	if (n != OBJ_RA_MISS)
		obj_ra_note(h, off, (uint64_t)n);
	return n;
}

void obj_ra_note(swapobj_obj *h, uint64_t off, uint64_t n)
{
	bool seq = off == __atomic_load_n(&h->ra_next, __ATOMIC_RELAXED);
	uint32_t c = __atomic_load_n(&h->ra_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&h->ra_seq, seq ? (c < UINT32_MAX ? c + 1 : c) : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->ra_next, off + n, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* The read path                                                       */
/* ------------------------------------------------------------------ */

int obj_read_ranges(swapobj_store *st, struct swapobj_read_req *reqs, size_t n, unsigned flags, struct ra_fill *fill)
{
	struct so_obj *objs[SWAPOBJ_READ_BATCH_MAX];
	unsigned nobj = 0, failed = 0;
	int err;
	if ((flags & SWAPOBJ_READ_EXCLUSIVE) && (err = log_check_writable(&st->log)) < 0)
		return err;
	if ((err = log_check_readable(&st->log)) < 0)
		return err;
	uint8_t *bounce = bb_get();
	if (!bounce)
		return so_err(SWAPOBJ_ENOMEM, "out of memory for a read buffer");
	struct batch bstore; /* the plan: ~5 KiB of stack */
	struct batch *b = &bstore;
	b->st = st;
	b->reqs = reqs;
	b->bounce = bounce;
	b->used = 0;
	b->n = 0;

	/* Validate each request; collect the objects. */
	for (size_t i = 0; i < n; i++) {
		struct swapobj_read_req *r = &reqs[i];
		r->result = 0;
		if (!r->obj || r->obj->st != st || !r->obj->o)
			r->result =
			    req_err(n, i, SWAPOBJ_EINVAL, r->obj ? "handle of another store" : "NULL object handle");
		else if (!r->buf && r->len)
			r->result = req_err(n, i, SWAPOBJ_EINVAL, "NULL buffer");
		else if (r->obj->o->flags & CREATE_F_DIR)
			r->result = req_err(n, i, SWAPOBJ_EISDIR, "a directory object holds no data");
		else
			objs[nobj++] = r->obj->o;
	}
	qsort(objs, nobj, sizeof(objs[0]), oid_cmp);
	unsigned u = 0;
	for (unsigned i = 0; i < nobj; i++)
		if (u == 0 || objs[u - 1] != objs[i])
			objs[u++] = objs[i];
	nobj = u;
	for (unsigned i = 0; i < nobj; i++)
		pthread_mutex_lock(&objs[i]->lock);

	/* Clip each range to its object's size; result holds the length until the end. */
	for (size_t i = 0; i < n; i++) {
		struct swapobj_read_req *r = &reqs[i];
		if (r->result < 0)
			continue;
		struct so_obj *o = r->obj->o;
		if (obj_is_dead(&st->ix, o))
			r->result = req_err(n, i, SWAPOBJ_ESTALE, "object was deleted, invalidated or replaced");
		else if (r->off >= o->size)
			r->result = 0;
		else
			r->result = (int64_t)SO_MIN((uint64_t)SO_MIN(r->len, (size_t)INT64_MAX), o->size - r->off);
	}
	for (size_t i = 0; i < n; i++)
		if (reqs[i].result > 0)
			walk(b, (uint32_t)i);
	run(b);
	if (fill && reqs[0].result >= 0) {
		/* A read-ahead window was read (one request, objects still locked): note its slots, serve the caller.
		 */
		struct obj_ra *ra = fill->ra;
		struct so_obj *o = reqs[0].obj->o;
		ra->pg0 = reqs[0].off / PG;
		ra->end = reqs[0].off + (uint64_t)reqs[0].result;
		ra->npg = (uint32_t)((ra->end - reqs[0].off + PG - 1) / PG);
		for (uint32_t i = 0; i < ra->npg; i++)
			ra->slots[i] = extmap_get(&o->map, ra->pg0 + i);
		fill->result = ra_serve_locked(o, ra, fill->dst, fill->len, fill->off);
	} else if (fill) {
		fill->ra->npg = 0; /* the window's buffer holds a failed read: nothing in it is served */
	}

	if (flags & SWAPOBJ_READ_EXCLUSIVE) {
		for (size_t i = 0; i < n; i++) {
			struct swapobj_read_req *r = &reqs[i];
			if (r->result > 0 && (err = obj_release_read(st, r->obj->o, r->off, req_end(r))) < 0)
				r->result = err;
		}
		for (unsigned i = 0; i < nobj; i++)
			inv_obj(st, objs[i], "exclusive batch read");
	}
	for (unsigned i = nobj; i-- > 0;)
		pthread_mutex_unlock(&objs[i]->lock);
	for (size_t i = 0; i < n; i++)
		failed += reqs[i].result < 0;
	return (int)failed;
}

int swapobj_read_batch(swapobj_store *st, struct swapobj_read_req *reqs, size_t n, unsigned flags)
{
	if (!st || (!reqs && n))
		return so_err(SWAPOBJ_EINVAL, "NULL store or request array");
	if (n > SWAPOBJ_READ_BATCH_MAX)
		return so_err(SWAPOBJ_EINVAL, "%zu ranges in one batch (at most %d)", n, SWAPOBJ_READ_BATCH_MAX);
	if (flags & ~SWAPOBJ_READ_EXCLUSIVE)
		return so_err(SWAPOBJ_EINVAL, "unknown read flags");
	for (size_t i = 0; i < n; i++)
		if (reqs[i].obj && reqs[i].obj->o)
			cull_touch(st, reqs[i].obj->o); /* recency for cache culling */
	return n ? obj_read_ranges(st, reqs, n, flags, NULL) : 0;
}
