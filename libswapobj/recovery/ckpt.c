/*
 * ckpt.c - write and load checkpoints (see ckpt.h for the protocol and
 * docs/FORMAT.md for the body encoding).
 */
#include <stdlib.h>

#include "ckpt.h"
#include "objrec.h"
#include "replay.h"
#include "space.h"
#include "store_types.h"
#include "tombreg.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE

/*
 * Run kinds in the body; each implies a record stride (in 16-byte units).
 * RUN_PAGE: DATA pages out of line in split segments, 4096 bytes apart.
 */
enum { RUN_DATA = 1, RUN_ZERO = 2, RUN_FILL = 3, RUN_PAGE = 4 };

static uint64_t run_stride(unsigned kind)
{
	return kind == RUN_DATA   ? REC_DATA_SIZE / ADDR_UNIT
	       : kind == RUN_FILL ? REC_FILL_SIZE / ADDR_UNIT
	       : kind == RUN_PAGE ? PG / ADDR_UNIT
	                          : 0;
}

static unsigned run_kind_of(const struct so_log *lg, extslot sl)
{
	enum ext_kind k = extslot_kind(sl);
	const struct log_seg *s = log_seg_of(lg, extslot_addr(sl));
	return k == EXT_DATA ? (s && s->split ? RUN_PAGE : RUN_DATA) : k == EXT_ZERO ? RUN_ZERO : RUN_FILL;
}

static enum ext_kind ext_kind_of(unsigned run)
{
	return run == RUN_DATA || run == RUN_PAGE ? EXT_DATA : run == RUN_ZERO ? EXT_ZERO : EXT_FILL;
}

/* ------------------------------------------------------------------ */
/* Body writer                                                         */
/* ------------------------------------------------------------------ */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static uint8_t *wb_room(struct wbuf *w, size_t n)
{
	if (w->err)
		return NULL;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 1u << 20;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = so_realloc(SO_MEM_OTHER, w->p, cap);
		if (!p) {
			w->err = so_err(SWAPOBJ_ENOMEM, "out of memory for a %zu-byte checkpoint", cap);
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	uint8_t *r = w->p + w->len;
	w->len += n;
	return r;
}

static void wb_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *p = wb_room(w, 1);
	if (p)
		*p = v;
}
static void wb_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *p = wb_room(w, 2);
	if (p)
		so_put_le16(p, v);
}
static void wb_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *p = wb_room(w, 4);
	if (p)
		so_put_le32(p, v);
}
static void wb_u64(struct wbuf *w, uint64_t v)
{
	uint8_t *p = wb_room(w, 8);
	if (p)
		so_put_le64(p, v);
}
static void wb_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *p = wb_room(w, n);
	if (p && n)
		memcpy(p, src, n);
}
/* LEB128: 7 bits per byte, low first. */
static void wb_var(struct wbuf *w, uint64_t v)
{
	uint8_t tmp[10];
	unsigned n = 0;
	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	wb_bytes(w, tmp, n);
}
static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* ------------------------------------------------------------------ */
/* Body reader: every read is bounds-checked; a short body is ECORRUPT  */
/* ------------------------------------------------------------------ */

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *rb_take(struct rbuf *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}
static uint8_t rb_u8(struct rbuf *r)
{
	const uint8_t *p = rb_take(r, 1);
	return p ? *p : 0;
}
static uint16_t rb_u16(struct rbuf *r)
{
	const uint8_t *p = rb_take(r, 2);
	return p ? so_get_le16(p) : 0;
}
static uint32_t rb_u32(struct rbuf *r)
{
	const uint8_t *p = rb_take(r, 4);
	return p ? so_get_le32(p) : 0;
}
static uint64_t rb_u64(struct rbuf *r)
{
	const uint8_t *p = rb_take(r, 8);
	return p ? so_get_le64(p) : 0;
}
static uint64_t rb_var(struct rbuf *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		const uint8_t *p = rb_take(r, 1);
		if (!p)
			return 0;
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}
static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ------------------------------------------------------------------ */
/* Capture                                                             */
/* ------------------------------------------------------------------ */

#define SEGENT_LEN 48u /* fixed part of a segment-table entry */

/* The cut: segment table and counters, with every stream held still. */
static void capture_cut(struct swapobj_store *st, struct wbuf *w, uint64_t ckpt_no, uint64_t *cut_seq)
{
	struct so_log *lg = &st->log;
	/* Sampled before the streams are locked: every record placed after the cut has a seq at least this. */
	*cut_seq = __atomic_load_n(&lg->next_seq, __ATOMIC_ACQUIRE);
	for (int i = 0; i < LOG_NSTREAMS; i++)
		pthread_mutex_lock(&lg->streams[i].mu);
	pthread_mutex_lock(&lg->mu);
	wb_u64(w, CKPT_BODY_MAGIC);
	wb_u32(w, CKPT_VERSION);
	wb_u32(w, (uint32_t)lg->nsegs);
	wb_u64(w, ckpt_no);
	wb_u64(w, *cut_seq);
	wb_u64(w, lg->next_gen);
	wb_u64(w, st->damaged_records);
	/* next_seq, next_oid, durable_seq (offsets 48, 56, 64): filled in after the capture */
	wb_u64(w, 0);
	wb_u64(w, 0);
	wb_u64(w, 0);
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		uint8_t state = s->state == SEG_FREE || s->state == SEG_FREEING ? CKSEG_FREE
		                : s->state == SEG_READY || s->state == SEG_OPEN ? CKSEG_OPEN
		                                                                : CKSEG_SEALED;
		uint8_t dead_any = __atomic_load_n(&s->dead_any, __ATOMIC_RELAXED);
		uint8_t *p = wb_room(w, SEGENT_LEN);
		if (!p)
			break;
		so_put_le32(p, s->gen);
		p[4] = state;
		p[5] = s->stream;
		p[6] = dead_any;
		p[7] = s->known; /* the summary below covers every record of the use */
		so_put_le32(p + 8, (uint32_t)(s->state == SEG_READY ? SEGHDR_REC_SIZE : s->fill));
		so_put_le32(p + 12, s->split ? CKSEG_F_SPLIT : 0); /* flags: the layout, should the header be lost */
		so_put_le64(p + 16, s->hdr_ns);
		so_put_le64(p + 24, __atomic_load_n(&s->min_seq, __ATOMIC_RELAXED));
		so_put_le64(p + 32, __atomic_load_n(&s->max_seq, __ATOMIC_RELAXED));
		so_put_le64(p + 40, __atomic_load_n(&s->tomb_bytes, __ATOMIC_RELAXED));
		if (dead_any) {
			uint8_t *b = wb_room(w, SEG_BLOOM_BYTES);
			if (!b)
				break;
			for (unsigned k = 0; k < SEG_BLOOM_BYTES; k++)
				b[k] = __atomic_load_n(&s->bloom[k], __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&lg->mu);
	for (int i = LOG_NSTREAMS - 1; i >= 0; i--)
		pthread_mutex_unlock(&lg->streams[i].mu);
}

/*
 * One object (caller holds o->lock). Returns whether it was captured. A
 * live object is captured whole. A dead one only if it was renamed and its
 * name record is still live: it was dropped by a prefix invalidation and
 * waits for the reaper's DELETE (reaper_run in cleaner.c). It is captured as
 * DOOMED (no key, aux or pages), so that recovery queues it again: without
 * its DELETE the cleaner would drop its dead RENAME while an older name
 * record under another key may remain, and a full replay would bring it
 * back under that key.
 */
static bool capture_obj(struct swapobj_store *st, struct so_obj *o, struct wbuf *w)
{
	const struct so_log *lg = &st->log;
	uint8_t keyenc[KEYENC_MAX];
	swapobj_key key;
	uint32_t klen = 0;
	if (o->flags & CREATE_F_EPHEMERAL)
		return false; /* ephemeral objects do not survive a restart anyway */
	/* Under the index lock: the reaper unlinks nodes (and clears o->node) under it. */
	pthread_rwlock_rdlock(&st->ix.lock);
	bool dead = __atomic_load_n(&o->dead, __ATOMIC_ACQUIRE) || !o->node || ns_node_dead(o->node);
	if (!dead)
		ns_key_of(o->node, &key);
	pthread_rwlock_unlock(&st->ix.lock);
	bool renamed = __atomic_load_n(&o->renamed, __ATOMIC_RELAXED);
	if (dead && (!renamed || !o->create_addr))
		return false;
	if (!dead)
		klen = key_encode(keyenc, &key, key.ncomp);
	uint8_t flags = o->flags | (renamed ? CKPT_OBJ_RENAMED : 0) | (dead ? CKPT_OBJ_DOOMED : 0);

	wb_u64(w, o->oid);
	wb_u8(w, o->cls);
	wb_u8(w, flags);
	wb_u16(w, (uint16_t)klen);
	wb_u32(w, dead ? 0 : o->aux_len);
	wb_u64(w, o->version);
	wb_u64(w, o->size);
	wb_u64(w, o->create_addr);
	wb_u64(w, o->create_seq);
	wb_u32(w, o->create_bytes);
	wb_u64(w, o->meta_addr);
	wb_u64(w, o->meta_seq);
	wb_u64(w, o->aux_addr);
	wb_u64(w, o->aux_seq);
	wb_u32(w, o->aux_bytes);
	wb_bytes(w, keyenc, klen);
	if (dead) {
		wb_u64(w, 0); /* no runs: its pages are dead */
		return true;
	}
	wb_bytes(w, o->aux, o->aux_len);

	/* Runs: maximal spans of pages whose records follow each other at the kind's stride. */
	size_t count_at = w->len;
	wb_u64(w, 0); /* number of runs, patched below */
	uint64_t nruns = 0, next_pg = 0, prev_addr = 0;
	uint64_t run_pg = 0, run_n = 0, run_addr = 0;
	unsigned run_kind = 0;
	uint64_t pg = 0, from = 0;
	extslot sl;
	for (;;) {
		int more = extmap_next(&o->map, from, &pg, &sl);
		if (more) {
			unsigned k = run_kind_of(lg, sl);
			uint64_t a = extslot_addr(sl);
			if (run_n && k == run_kind && pg == run_pg + run_n && a == run_addr + run_n * run_stride(k)) {
				run_n++;
				from = pg + 1;
				continue;
			}
		}
		if (run_n) {
			wb_var(w, run_pg - next_pg);
			wb_var(w, run_n);
			wb_u8(w, (uint8_t)run_kind);
			wb_var(w, zigzag((int64_t)(run_addr - prev_addr)));
			nruns++;
			next_pg = run_pg + run_n;
			prev_addr = run_addr + run_n * run_stride(run_kind);
		}
		if (!more)
			break;
		run_pg = pg;
		run_n = 1;
		run_kind = run_kind_of(lg, sl);
		run_addr = extslot_addr(sl);
		from = pg + 1;
	}
	if (!w->err)
		so_put_le64(w->p + count_at, nruns);
	return true;
}

struct tomb_ent {
	uint64_t seq, addr;
};

static void capture_rest(struct swapobj_store *st, struct wbuf *w, uint64_t *nobjects)
{
	struct so_index *ix = &st->ix;
	struct so_obj **objs = NULL;
	size_t n = 0;

	pthread_rwlock_rdlock(&ix->lock);
	uint64_t cnt = oidmap_count(&ix->oids);
	if (cnt && !(objs = so_alloc(SO_MEM_OTHER, cnt * sizeof(*objs)))) {
		pthread_rwlock_unlock(&ix->lock);
		w->err = so_err(SWAPOBJ_ENOMEM, "out of memory listing %llu objects", (unsigned long long)cnt);
		return;
	}
	uint64_t pos = 0, oid;
	void *val;
	while (n < cnt && oidmap_next(&ix->oids, &pos, &oid, &val)) {
		obj_get(val);
		objs[n++] = val;
	}
	pthread_rwlock_unlock(&ix->lock);

	size_t count_at = w->len;
	wb_u64(w, 0);
	uint64_t nobj = 0;
	for (size_t i = 0; i < n; i++) {
		struct so_obj *o = objs[i];
		pthread_mutex_lock(&o->lock);
		if (!w->err && capture_obj(st, o, w))
			nobj++;
		pthread_mutex_unlock(&o->lock);
		obj_put(o);
	}
	so_free(SO_MEM_OTHER, objs);
	if (!w->err)
		so_put_le64(w->p + count_at, nobj);
	*nobjects = nobj;

	/* The tombstone registry: which copy of each tombstone counts. */
	pthread_mutex_lock(&st->tomb_mu);
	wb_u64(w, oidmap_count(&st->tombs));
	pos = 0;
	while (oidmap_next(&st->tombs, &pos, &oid, &val)) {
		wb_u64(w, oid);
		wb_u64(w, (uint64_t)(uintptr_t)val);
	}
	pthread_mutex_unlock(&st->tomb_mu);
	wb_u64(w, CKPT_END_MAGIC);
}

/* ------------------------------------------------------------------ */
/* Writing the body and the slot                                       */
/* ------------------------------------------------------------------ */

static uint32_t chunk_max(const struct so_log *lg)
{
	uint32_t room = lg->seg_size - SEGHDR_REC_SIZE - REC_HDR_LEN;
	return SO_MIN(room, (uint32_t)(1u << 20) - REC_HDR_LEN) & ~(REC_ALIGN - 1);
}

/*
 * Payload bytes of the next body record placed at pos of a segment, with
 * left bytes of the body to go; 0 if no record fits there (next segment).
 */
static uint32_t chunk_at(const struct so_log *lg, uint64_t pos, uint64_t left)
{
	if (pos + REC_HDR_LEN + REC_ALIGN > lg->seg_size)
		return 0;
	uint64_t n = SO_MIN((uint64_t)chunk_max(lg), left);
	return (uint32_t)SO_MIN(n, (lg->seg_size - pos - REC_HDR_LEN) & ~(uint64_t)(REC_ALIGN - 1));
}

/* Segments a body of len bytes takes: write_body's layout, without writing. */
static uint64_t body_segs(const struct so_log *lg, uint64_t len)
{
	uint64_t off = 0, n = 0;
	while (off < len) {
		uint64_t pos = SEGHDR_REC_SIZE;
		uint32_t c;
		n++;
		while (off < len && (c = chunk_at(lg, pos, len - off)) > 0) {
			pos += rec_size(c);
			off += c;
		}
	}
	return n;
}

/*
 * Make sure need free segments (beyond the cleaner's reserve) are there for
 * the body. User streams leave that room alone (log_ckpt_hold_locked) and
 * the background cleaner keeps it free, so this is normally met at once;
 * when it is not (the body grew, or a tombstone dug into the room), run
 * the cleaner here, a bounded number of passes (ckpt_mu comes before
 * clean_mu in the lock order, and the cleaner never waits for a
 * checkpoint). With manual cleaning, only the caller cleans.
 */
static int make_room(struct swapobj_store *st, uint64_t need)
{
	struct so_log *lg = &st->log;
	uint64_t room = log_ckpt_room(lg);
	for (int pass = 0; pass < 4 && room < need && !st->manual_clean; pass++) {
		int n = cleaner_run(st, 0, false);
		if (n < 0)
			return n;
		room = log_ckpt_room(lg);
		if (n == 0)
			break;
	}
	if (room < need)
		return so_err(SWAPOBJ_ENOSPC,
		              "no room for a checkpoint: its body needs %llu segments, %llu are free beyond the "
		              "cleaner's reserve%s",
		              (unsigned long long)need, (unsigned long long)room,
		              st->manual_clean ? " (cleaning is manual: run swapobj_store_clean)" : "");
	return 0;
}

static void release_ref(struct swapobj_store *st, const struct ckpt_ref *ref)
{
	for (uint32_t i = 0; i < ref->nsegs; i++) {
		struct log_seg *s = &st->log.segs[ref->segs[i]];
		if (s->gen == ref->gens[i])
			log_ckpt_release(&st->log, s);
	}
}

static int write_body(struct swapobj_store *st, const struct wbuf *w, uint64_t ckpt_no, struct ckpt_ref *ref)
{
	struct so_log *lg = &st->log;
	uint8_t *img = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
	bool dirty[SWAPOBJ_MAX_DEVICES] = {false};
	int err = 0;
	if (!img)
		return so_err(SWAPOBJ_ENOMEM, "out of memory for a checkpoint segment");
	uint64_t off = 0;
	while (off < w->len && err == 0) {
		if (ref->nsegs == CKPT_MAX_SEGS) {
			err = so_err(SWAPOBJ_ENOSPC, "checkpoint of %zu bytes needs more than %u segments", w->len,
			             CKPT_MAX_SEGS);
			break;
		}
		struct log_seg *s;
		if ((err = log_ckpt_take(lg, &s)) < 0)
			break;
		ref->segs[ref->nsegs] = s->segno;
		ref->gens[ref->nsegs] = s->gen;
		ref->nsegs++;
		memset(img, 0, lg->seg_size);
		log_encode_seghdr(lg, s, img);
		uint64_t pos = SEGHDR_REC_SIZE;
		uint32_t n;
		while (off < w->len && (n = chunk_at(lg, pos, w->len - off)) > 0) {
			struct rec r = {0};
			r.type = REC_CKPT;
			r.seq = ckpt_no;
			r.lpos = off;
			r.obj_size = w->len;
			r.payload_len = n;
			r.seg_gen = s->gen;
			memcpy(img + pos + REC_HDR_LEN, w->p + off, n);
			pos += rec_seal(img + pos, &r, lg->seed);
			off += n;
		}
		s->fill = pos;
		struct io_dev *d = &lg->devs[s->dev];
		if ((err = io_pwrite(d, img, SO_ROUND_UP(pos, IO_ALIGN), log_seg_devoff(lg, s))) < 0)
			err = log_fail(lg, err);
		dirty[s->dev] = true;
	}
	for (unsigned d = 0; d < lg->ndevs && err == 0; d++)
		if (dirty[d] && (err = io_sync(&lg->devs[d])) < 0)
			err = log_fail(lg, err);
	so_free_aligned(SO_MEM_BUFFER, img, lg->seg_size);
	return err;
}

static void encode_slot(const struct so_log *lg, uint8_t *blk, const struct ckpt_ref *ref, uint64_t body_bytes,
                        uint64_t body_csum)
{
	memset(blk, 0, CKPT_SLOT_SIZE);
	so_put_le64(blk + CS_MAGIC, CKPT_SLOT_MAGIC);
	so_put_le32(blk + CS_VERSION, CKPT_VERSION);
	so_put_le32(blk + CS_NSEGS, ref->nsegs);
	so_put_le64(blk + CS_CKPT_NO, ref->no);
	so_put_le64(blk + CS_CUT_SEQ, ref->cut_seq);
	so_put_le64(blk + CS_BODY_BYTES, body_bytes);
	so_put_le64(blk + CS_BODY_CSUM, body_csum);
	for (uint32_t i = 0; i < ref->nsegs; i++) {
		so_put_le32(blk + CS_SEGS + 8 * i, ref->segs[i]);
		so_put_le32(blk + CS_SEGS + 8 * i + 4, ref->gens[i]);
	}
	so_put_le64(blk + CS_CSUM, so_hash64(blk, CS_CSUM, lg->seed));
}

int ckpt_write(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	struct wbuf w = {0};
	struct ckpt_ref *ref = NULL;
	uint64_t cut_seq, nobj;
	int err;

	if ((err = log_check_writable(lg)) < 0)
		return err;
	pthread_mutex_lock(&st->ckpt_mu);
	uint64_t ckpt_no = st->ckpts[0].no + 1;
	capture_cut(st, &w, ckpt_no, &cut_seq);
	capture_rest(st, &w, &nobj);
	if ((err = w.err) < 0)
		goto out;
	/* Counters after the capture: at least every seq and oid the body can mention. */
	so_put_le64(w.p + 48, __atomic_load_n(&lg->next_seq, __ATOMIC_ACQUIRE));
	pthread_rwlock_rdlock(&st->ix.lock);
	so_put_le64(w.p + 56, st->ix.next_oid);
	pthread_rwlock_unlock(&st->ix.lock);
	/* Every record placed before the cut must be durable before anything points at it. */
	if ((err = log_sync(lg)) < 0)
		goto out;
	so_put_le64(w.p + 64, cut_seq);

	ref = so_zalloc(SO_MEM_OTHER, sizeof(*ref));
	if (!ref) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory");
		goto out;
	}
	ref->no = ckpt_no;
	ref->cut_seq = cut_seq;
	/* Room for the body: its size is known now, before any segment is taken. */
	uint64_t need = body_segs(lg, w.len);
	if (need > CKPT_MAX_SEGS) {
		err =
		    so_err(SWAPOBJ_ENOSPC, "checkpoint of %zu bytes needs %llu segments, more than the %u a slot names",
		           w.len, (unsigned long long)need, CKPT_MAX_SEGS);
		goto out;
	}
	log_ckpt_body_note(lg, need);
	if ((err = make_room(st, need)) < 0)
		goto out;
	if ((err = write_body(st, &w, ckpt_no, ref)) < 0) {
		if (err == SWAPOBJ_ENOSPC)
			release_ref(st, ref);
		goto out;
	}
	_Alignas(IO_ALIGN) uint8_t blk[CKPT_SLOT_SIZE];
	encode_slot(lg, blk, ref, w.len, so_hash64(w.p, w.len, lg->seed));
	if ((err = io_pwrite(&lg->devs[0], blk, CKPT_SLOT_SIZE, CKPT_SLOT_OFF(ckpt_no % 2))) < 0 ||
	    (err = io_sync(&lg->devs[0])) < 0) {
		err = log_fail(lg, err);
		goto out;
	}
	/* The slot just written replaced the checkpoint two back: its segments are free now. */
	release_ref(st, &st->ckpts[1]);
	st->ckpts[1] = st->ckpts[0];
	st->ckpts[0] = *ref;
	__atomic_store_n(&lg->ckpt_keep_seq, st->ckpts[1].no ? st->ckpts[1].cut_seq : cut_seq, __ATOMIC_RELAXED);
	/* Read by the maintenance thread (ckpt_due) and swapobj_store_stat without ckpt_mu. */
	__atomic_store_n(&st->ckpt_dev_bytes, log_device_bytes(lg), __ATOMIC_RELAXED);
	__atomic_store_n(&st->ckpt_ns, so_now_ns(), __ATOMIC_RELAXED);
	/* The time its first body segment was taken, which is what a later open reads from that segment's header. */
	__atomic_store_n(&st->ckpt_wall_ns, lg->segs[ref->segs[0]].hdr_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&st->ckpt_last_bytes, (uint64_t)w.len, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->ckpts_written, 1, __ATOMIC_RELAXED);
out:
	log_ckpt_end(lg);
	if (err < 0) {
		/* Counted and kept for swapobj_store_stat: a checkpoint that does not happen must show. */
		__atomic_add_fetch(&st->ckpt_failures, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&st->ckpt_last_err, err, __ATOMIC_RELAXED);
	}
	if (err < 0 && err != SWAPOBJ_EROFS && lg->kick)
		lg->kick(lg->kick_ctx, LOG_KICK_CLEAN); /* ENOSPC: the cleaner may make room for the next try */
	pthread_mutex_unlock(&st->ckpt_mu);
	so_free(SO_MEM_OTHER, ref);
	so_free(SO_MEM_OTHER, w.p);
	return err;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/* Decode slot i of device 0 into *ref (and body size/checksum). 0 if valid, 1 if damaged, 2 if all zero. */
static int read_slot(struct swapobj_store *st, unsigned i, struct ckpt_ref *ref, uint64_t *body_bytes,
                     uint64_t *body_csum)
{
	struct so_log *lg = &st->log;
	_Alignas(IO_ALIGN) uint8_t blk[CKPT_SLOT_SIZE];
	int err = io_pread(&lg->devs[0], blk, CKPT_SLOT_SIZE, CKPT_SLOT_OFF(i));
	if (err < 0)
		return err;
	bool zero = true;
	for (unsigned k = 0; k < CKPT_SLOT_SIZE && zero; k++)
		zero = blk[k] == 0;
	if (zero)
		return 2; /* never written */
	if (so_get_le64(blk + CS_MAGIC) != CKPT_SLOT_MAGIC ||
	    so_get_le64(blk + CS_CSUM) != so_hash64(blk, CS_CSUM, lg->seed))
		return 1;
	uint32_t nsegs = so_get_le32(blk + CS_NSEGS);
	if (so_get_le32(blk + CS_VERSION) != CKPT_VERSION || nsegs == 0 || nsegs > CKPT_MAX_SEGS)
		return 1;
	ref->no = so_get_le64(blk + CS_CKPT_NO);
	ref->cut_seq = so_get_le64(blk + CS_CUT_SEQ);
	ref->nsegs = nsegs;
	*body_bytes = so_get_le64(blk + CS_BODY_BYTES);
	*body_csum = so_get_le64(blk + CS_BODY_CSUM);
	for (uint32_t k = 0; k < nsegs; k++) {
		ref->segs[k] = so_get_le32(blk + CS_SEGS + 8 * k);
		ref->gens[k] = so_get_le32(blk + CS_SEGS + 8 * k + 4);
		if (ref->segs[k] >= lg->nsegs)
			return 1;
	}
	if (ref->no == 0 || *body_bytes == 0 || *body_bytes > (uint64_t)nsegs * lg->seg_size)
		return 1;
	return 0;
}

/*
 * Read the body named by ref into *out (so_alloc SO_MEM_OTHER). 0, 1 if
 * damaged, or an I/O error. *made_ns (unless NULL): when the checkpoint
 * was taken, the wall-clock time in its first segment's header.
 */
static int read_body(struct swapobj_store *st, const struct ckpt_ref *ref, uint64_t bytes, uint64_t csum, uint8_t **out,
                     uint64_t *made_ns)
{
	struct so_log *lg = &st->log;
	uint8_t *body = so_alloc(SO_MEM_OTHER, bytes);
	uint8_t *img = so_alloc_aligned(SO_MEM_BUFFER, lg->seg_size);
	int err = 1;
	uint64_t off = 0;
	if (!body || !img) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory reading a %llu-byte checkpoint", (unsigned long long)bytes);
		goto out;
	}
	for (uint32_t i = 0; i < ref->nsegs; i++) {
		struct log_seg *s = &lg->segs[ref->segs[i]];
		int rc = io_pread(&lg->devs[s->dev], img, lg->seg_size, log_seg_devoff(lg, s));
		if (rc < 0) {
			err = rc;
			goto out;
		}
		struct rec r;
		uint32_t sz;
		if (rec_decode(img, lg->seg_size, lg->seed, true, &r, &sz) != REC_OK || r.type != REC_SEGHDR ||
		    r.lpos != s->segno || r.seg_gen != ref->gens[i] || so_get_le32(r.payload) != SEG_STREAM_CKPT)
			goto out;
		if (i == 0 && made_ns)
			*made_ns = so_get_le64(r.payload + SEGHDR_OPENED);
		uint64_t pos = sz;
		while (off < bytes && pos + REC_HDR_LEN <= lg->seg_size) {
			if (rec_decode(img + pos, lg->seg_size - pos, lg->seed, true, &r, &sz) != REC_OK)
				break; /* end of this segment's chunks */
			if (r.type != REC_CKPT || r.seg_gen != ref->gens[i] || r.seq != ref->no ||
			    r.obj_size != bytes || r.lpos != off)
				goto out;
			memcpy(body + off, r.payload, r.payload_len);
			off += r.payload_len;
			pos += sz;
		}
	}
	if (off != bytes || so_hash64(body, bytes, lg->seed) != csum)
		goto out;
	*out = body;
	body = NULL;
	err = 0;
out:
	so_free(SO_MEM_OTHER, body);
	so_free_aligned(SO_MEM_BUFFER, img, lg->seg_size);
	return err;
}

/* Forget everything a failed decode put into the index and the segment summaries. */
static void reset_state(struct swapobj_store *st)
{
	struct so_log *lg = &st->log;
	index_destroy(&st->ix, NULL, NULL);
	index_init(&st->ix); /* only allocates a root node; failure shows as ENOMEM on first use */
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		struct log_seg *s = &lg->segs[i];
		s->live = 0;
		s->tomb_bytes = 0;
		s->min_seq = UINT64_MAX;
		s->max_seq = 0;
		s->dead_any = 0;
		memset(s->bloom, 0, SEG_BLOOM_BYTES);
	}
	pthread_mutex_lock(&st->tomb_mu);
	oidmap_destroy(&st->tombs);
	oidmap_init(&st->tombs);
	pthread_mutex_unlock(&st->tomb_mu);
}

static int load_obj(struct swapobj_store *st, struct rbuf *rb)
{
	struct so_log *lg = &st->log;
	struct so_index *ix = &st->ix;
	uint64_t oid = rb_u64(rb);
	uint8_t cls = rb_u8(rb), flags = rb_u8(rb);
	uint16_t klen = rb_u16(rb);
	uint32_t auxlen = rb_u32(rb);
	uint64_t version = rb_u64(rb), size = rb_u64(rb);
	uint64_t create_addr = rb_u64(rb), create_seq = rb_u64(rb);
	uint32_t create_bytes = rb_u32(rb);
	uint64_t meta_addr = rb_u64(rb), meta_seq = rb_u64(rb);
	uint64_t aux_addr = rb_u64(rb), aux_seq = rb_u64(rb);
	uint32_t aux_bytes = rb_u32(rb);
	const uint8_t *kenc = rb_take(rb, klen);
	const uint8_t *aux = rb_take(rb, auxlen);
	swapobj_key key;
	bool doomed = flags & CKPT_OBJ_DOOMED;
	if (rb->bad || oid == 0 || auxlen > AUX_MAX || (cls != SWAPOBJ_CLASS_SWAP && cls != SWAPOBJ_CLASS_CACHE) ||
	    (flags & ~(CREATE_F_KNOWN | CKPT_OBJ_RENAMED | CKPT_OBJ_DOOMED)) || size > SWAPOBJ_MAX_OBJECT_SIZE ||
	    !log_seg_of(lg, create_addr) || !log_seg_of(lg, meta_addr) || (aux_addr && !log_seg_of(lg, aux_addr)) ||
	    (doomed ? klen || auxlen || !(flags & CKPT_OBJ_RENAMED) : key_decode(kenc, klen, &key) < 0) ||
	    oidmap_get(&ix->oids, oid))
		return SWAPOBJ_ECORRUPT;
	if (doomed) {
		if (rb_u64(rb) != 0 || rb->bad)
			return SWAPOBJ_ECORRUPT;
		return replay_doom(st, oid, cls, flags & CREATE_F_KNOWN, create_addr, create_seq, create_bytes);
	}
	struct so_obj *o = obj_new(oid);
	if (!o)
		return so_err(SWAPOBJ_ENOMEM, "out of memory loading a checkpoint");
	o->cls = cls;
	o->flags = flags & CREATE_F_KNOWN;
	o->renamed = (flags & CKPT_OBJ_RENAMED) != 0;
	o->version = version;
	o->size = size;
	o->create_addr = create_addr;
	o->create_seq = create_seq;
	o->create_bytes = create_bytes;
	o->meta_addr = meta_addr;
	o->meta_seq = meta_seq;
	o->aux_addr = aux_addr;
	o->aux_seq = aux_seq;
	o->aux_bytes = aux_bytes;
	if (auxlen) {
		if (!(o->aux = so_alloc(SO_MEM_INDEX, auxlen))) {
			obj_put(o);
			return so_err(SWAPOBJ_ENOMEM, "out of memory loading a checkpoint");
		}
		memcpy(o->aux, aux, auxlen);
		o->aux_len = auxlen;
	}
	struct ns_node *leaf;
	int err = ns_insert_obj(&ix->ns, &key, o, o->flags & CREATE_F_DIR, &leaf);
	if (err == 0 && (err = oidmap_put(&ix->oids, oid, o)) < 0)
		ns_remove(&ix->ns, leaf);
	if (err < 0) {
		obj_put(o);
		return err == SWAPOBJ_ENOMEM ? err : SWAPOBJ_ECORRUPT;
	}
	o->node = leaf;
	log_usage_add(lg, create_addr, create_bytes);
	if (aux_addr)
		log_usage_add(lg, aux_addr, aux_bytes);

	uint64_t nruns = rb_u64(rb), next_pg = 0, prev_addr = 0;
	extslot slots[64];
	for (uint64_t i = 0; i < nruns && !rb->bad; i++) {
		uint64_t pg = next_pg + rb_var(rb), n = rb_var(rb);
		unsigned kind = rb_u8(rb);
		uint64_t addr = prev_addr + (uint64_t)unzigzag(rb_var(rb));
		uint64_t stride = run_stride(kind);
		if (rb->bad || kind < RUN_DATA || kind > RUN_PAGE || n == 0 || pg < next_pg ||
		    pg >= EXTMAP_PGOFF_LIMIT || n > EXTMAP_PGOFF_LIMIT - pg || addr > ADDR_MAX ||
		    !log_seg_of(lg, addr) || !log_seg_of(lg, addr + (n - 1) * stride))
			return SWAPOBJ_ECORRUPT;
		enum ext_kind k = ext_kind_of(kind);
		for (uint64_t p = 0; p < n; p += 64) {
			uint32_t cnt = (uint32_t)SO_MIN((uint64_t)64, n - p);
			for (uint32_t j = 0; j < cnt; j++) {
				slots[j] = extslot_make(k, addr + (p + j) * stride);
				log_usage_add(lg, extslot_addr(slots[j]), extslot_charge(slots[j]));
			}
			if ((err = extmap_set(&o->map, pg + p, cnt, slots, NULL, NULL)) < 0)
				return err;
		}
		next_pg = pg + n;
		prev_addr = addr + n * stride;
	}
	if (rb->bad)
		return SWAPOBJ_ECORRUPT;
	__atomic_add_fetch(&ix->pages, extmap_pages(&o->map), __ATOMIC_RELAXED);
	objrec_account(st, o, 0);
	return 0;
}

static int load_body(struct swapobj_store *st, const uint8_t *body, uint64_t bytes, struct ckpt_loaded *out)
{
	struct so_log *lg = &st->log;
	struct rbuf rb = {body, bytes, 0, false};
	int err;
	if (rb_u64(&rb) != CKPT_BODY_MAGIC || rb_u32(&rb) != CKPT_VERSION || rb_u32(&rb) != lg->nsegs)
		return SWAPOBJ_ECORRUPT;
	out->no = rb_u64(&rb);
	out->cut_seq = rb_u64(&rb);
	out->next_gen = rb_u64(&rb);
	out->damaged = rb_u64(&rb);
	out->next_seq = rb_u64(&rb);
	out->next_oid = rb_u64(&rb);
	out->durable_seq = rb_u64(&rb);
	if (rb.bad || out->next_gen > UINT32_MAX || out->cut_seq > out->next_seq)
		return SWAPOBJ_ECORRUPT;
	out->segs = so_zalloc(SO_MEM_OTHER, lg->nsegs * sizeof(*out->segs));
	if (!out->segs)
		return so_err(SWAPOBJ_ENOMEM, "out of memory loading a checkpoint");
	for (uint64_t i = 0; i < lg->nsegs; i++) {
		const uint8_t *p = rb_take(&rb, SEGENT_LEN);
		if (!p)
			return SWAPOBJ_ECORRUPT;
		struct log_seg *s = &lg->segs[i];
		struct ckpt_seg *c = &out->segs[i];
		c->gen = so_get_le32(p);
		c->state = p[4];
		c->stream = p[5];
		c->fill = so_get_le32(p + 8);
		c->split = (so_get_le32(p + 12) & CKSEG_F_SPLIT) != 0;
		if (c->state > CKSEG_OPEN || c->stream > SEG_STREAM_CKPT || p[6] > 1 || p[7] > 1 ||
		    c->fill > lg->seg_size || (so_get_le32(p + 12) & ~CKSEG_F_SPLIT))
			return SWAPOBJ_ECORRUPT;
		s->known = p[7]; /* a tail scan of the segment notes every record anyway */
		s->hdr_ns = so_get_le64(p + 16);
		s->min_seq = so_get_le64(p + 24);
		s->max_seq = so_get_le64(p + 32);
		s->tomb_bytes = so_get_le64(p + 40);
		s->dead_any = p[6];
		if (p[6]) {
			const uint8_t *b = rb_take(&rb, SEG_BLOOM_BYTES);
			if (!b)
				return SWAPOBJ_ECORRUPT;
			memcpy(s->bloom, b, SEG_BLOOM_BYTES);
		}
	}
	uint64_t nobj = rb_u64(&rb);
	if (rb.bad || nobj > bytes / 64)
		return SWAPOBJ_ECORRUPT;
	for (uint64_t i = 0; i < nobj; i++)
		if ((err = load_obj(st, &rb)) < 0)
			return err;
	uint64_t ntombs = rb_u64(&rb);
	if (rb.bad || ntombs > (bytes - rb.pos) / 16)
		return SWAPOBJ_ECORRUPT;
	for (uint64_t i = 0; i < ntombs; i++) {
		uint64_t seq = rb_u64(&rb), addr = rb_u64(&rb);
		if (!log_seg_of(lg, addr))
			return SWAPOBJ_ECORRUPT;
		tombreg_set(st, seq, addr);
	}
	if (rb_u64(&rb) != CKPT_END_MAGIC || rb.bad || rb.pos != bytes)
		return SWAPOBJ_ECORRUPT;
	return 0;
}

int ckpt_load(struct swapobj_store *st, struct ckpt_loaded *out, unsigned *fallbacks)
{
	struct ckpt_ref *refs = so_zalloc(SO_MEM_OTHER, 2 * sizeof(*refs));
	uint64_t bytes[2], csum[2];
	int valid[2], err = 0;
	*fallbacks = 0;
	memset(out, 0, sizeof(*out));
	if (!refs)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	for (unsigned i = 0; i < 2; i++) {
		int rc = read_slot(st, i, &refs[i], &bytes[i], &csum[i]);
		if (rc < 0) {
			so_free(SO_MEM_OTHER, refs);
			return rc;
		}
		valid[i] = rc == 0;
		*fallbacks += rc == 1; /* a damaged slot is a checkpoint skipped */
	}
	/* Newest first. */
	unsigned order[2] = {0, 1};
	if (valid[1] && (!valid[0] || refs[1].no > refs[0].no)) {
		order[0] = 1;
		order[1] = 0;
	}
	for (unsigned k = 0; k < 2; k++) {
		unsigned i = order[k];
		if (!valid[i])
			continue;
		uint8_t *body = NULL;
		uint64_t made_ns = 0;
		int rc = read_body(st, &refs[i], bytes[i], csum[i], &body, &made_ns);
		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc == 0) {
			rc = load_body(st, body, bytes[i], out);
			so_free(SO_MEM_OTHER, body);
			if (rc == 0 && out->no == refs[i].no && out->cut_seq == refs[i].cut_seq) {
				st->ckpts[0] = refs[i];
				/* The other slot's checkpoint stays referenced only if it is the one just before. */
				unsigned j = order[k ^ 1];
				if (k == 0 && valid[j] && refs[j].no < refs[i].no)
					st->ckpts[1] = refs[j];
				st->ckpt_last_bytes = bytes[i];
				st->ckpt_wall_ns = made_ns;
				/* Hold room for a body as large as the ones kept (they were written in this store). */
				log_ckpt_body_note(&st->log, SO_MAX(st->ckpts[0].nsegs, st->ckpts[1].nsegs));
				err = 1;
				break;
			}
			so_free(SO_MEM_OTHER, out->segs);
			memset(out, 0, sizeof(*out));
			reset_state(st);
			if (rc == SWAPOBJ_ENOMEM) {
				err = rc;
				break;
			}
		}
		(*fallbacks)++;
	}
	so_free(SO_MEM_OTHER, refs);
	return err;
}

/* ------------------------------------------------------------------ */
/* Verification (swapobj-fsck)                                         */
/* ------------------------------------------------------------------ */

int ckpt_verify(struct swapobj_store *st, struct ckpt_check out[2])
{
	struct ckpt_ref *ref = so_zalloc(SO_MEM_OTHER, sizeof(*ref));
	if (!ref)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	int err = 0;
	for (unsigned i = 0; i < 2 && err == 0; i++) {
		struct ckpt_check *c = &out[i];
		memset(c, 0, sizeof(*c));
		uint64_t bytes = 0, csum = 0;
		memset(ref, 0, sizeof(*ref));
		int rc = read_slot(st, i, ref, &bytes, &csum);
		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc == 2) {
			c->state = CKCHK_EMPTY;
			continue;
		}
		if (rc == 1) {
			c->state = CKCHK_BAD_SLOT;
			continue;
		}
		c->no = ref->no;
		c->cut_seq = ref->cut_seq;
		c->body_bytes = bytes;
		c->nsegs = ref->nsegs;
		uint8_t *body = NULL;
		rc = read_body(st, ref, bytes, csum, &body, NULL);
		if (rc < 0) {
			err = rc;
			break;
		}
		so_free(SO_MEM_OTHER, body);
		c->state = rc == 0 ? CKCHK_OK : CKCHK_BAD_BODY;
	}
	so_free(SO_MEM_OTHER, ref);
	return err;
}

int ckpt_clear_slot(struct swapobj_store *st, unsigned i)
{
	struct so_log *lg = &st->log;
	_Alignas(IO_ALIGN) uint8_t blk[CKPT_SLOT_SIZE];
	int err;
	if (i > 1 || lg->rdonly)
		return so_err(SWAPOBJ_EINVAL, "cannot clear checkpoint slot %u", i);
	memset(blk, 0, sizeof(blk));
	if ((err = io_pwrite(&lg->devs[0], blk, CKPT_SLOT_SIZE, CKPT_SLOT_OFF(i))) < 0 ||
	    (err = io_sync(&lg->devs[0])) < 0)
		return log_fail(lg, err);
	return 0;
}
