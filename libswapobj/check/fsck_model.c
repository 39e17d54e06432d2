/*
 * fsck_model.c - the index as the records define it, and its comparison
 * with the index the library builds.
 *
 * The model follows the replay rules of docs/FORMAT.md with its own code
 * and data structures (sorted arrays, an interval sweep), so that a bug in
 * replay, the extent map or the usage accounting shows up as a difference:
 *  - an object lives iff its newest name record (CREATE or RENAME) is not
 *    ephemeral, no DELETE names it, no RENAME replaced it (a RENAME's lpos)
 *    and no INVALIDATE of a prefix of its key is newer. The live ones take
 *    their keys in the order of their newest name record's seq; one that
 *    clashes with an object placed before (the same key, under an object
 *    that is no directory, or keys under it while it is none) goes back to
 *    its previous name record (an undone RENAME) or, with none, is dropped;
 *  - aux data: the newest AUX record if newer than the name record the
 *    object lives by, else that record's aux;
 *  - a page maps to its newest DATA record unless a newer PUNCH covers it
 *    or a newer TRUNCATE cut it off; among copies of one record (the same
 *    seq), an intact one beats a damaged one, then the higher address wins
 *    (a full replay's choice; the comparison accepts any intact copy the
 *    library maps, as an index loaded from a checkpoint keeps the copy that
 *    was live at its cut);
 *  - the size is that of the object's newest record (name records newer
 *    than the one it lives by do not count);
 *  - a segment's live bytes are the bytes of the name and AUX records and
 *    of the page records (per page: the record for DATA and FILL, 16 bytes
 *    for a ZERO page) that live objects use in it; checkpoint segments hold
 *    none.
 * Memory: the scan's tables plus, per object, its pages while it is checked.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fsck_int.h"
#include "store_types.h"
#include "util.h"

#define PG SWAPOBJ_PAGE_SIZE
#define NONE UINT32_MAX
#define MAX_DIFFS_PER_OBJECT 8

struct live {
	uint64_t oid;
	const struct fsck_create *c;      /* the name record it lives by */
	const struct fsck_create *newest; /* its newest name record (c, unless a rename was undone) */
	size_t first, ncreates;           /* its name records: f->creates[first, first + ncreates) */
	const struct fsck_aux *aux;       /* its newest AUX record, if newer than c (else c carries the aux) */
	bool alive;                       /* false if it lost its key to an older object */
	bool inval;                       /* dropped by an INVALIDATE (not placed; alive is false) */
};

/* Hash set of keys or key prefixes (component bytes of an encoding, and the component count). */
struct kslot {
	uint64_t h;
	const uint8_t *comp;
	uint32_t len;
	uint32_t val; /* objects: live index or NONE; prefixes: objects below it */
	uint8_t ncomp;
	uint8_t used;
};

struct ktab {
	struct kslot *s;
	uint64_t cap, n;
};

struct cand {
	uint64_t pg;
	uint64_t ent;
};

struct tomb {
	uint64_t start, end;
	uint64_t ent;
};

struct model {
	bool ready;
	struct live *live;
	size_t nlive;
	uint64_t *alive_oids; /* sorted */
	size_t nalive;
	/* per-object scratch */
	struct cand *cand;
	size_t capcand;
	struct tomb *tomb;
	size_t captomb;
	uint64_t *heap;
	size_t capheap;
	struct cand *mapped;
	size_t capmapped;
};

void fsck_model_free(struct fsck *f)
{
	struct model *m = f->model;
	if (!m)
		return;
	so_free(SO_MEM_OTHER, m->live);
	so_free(SO_MEM_OTHER, m->alive_oids);
	so_free(SO_MEM_OTHER, m->cand);
	so_free(SO_MEM_OTHER, m->tomb);
	so_free(SO_MEM_OTHER, m->heap);
	so_free(SO_MEM_OTHER, m->mapped);
	so_free(SO_MEM_OTHER, m);
	f->model = NULL;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/* "/comp/comp" with bytes outside printable ASCII as %XX, cut to fit out. */
static const char *key_str(const uint8_t *enc, uint32_t len, char *out, size_t outlen)
{
	size_t o = 0;
	uint32_t pos = 1, n = len ? enc[0] : 0;
	out[0] = 0;
	for (uint32_t c = 0; c < n && pos < len && o + 8 < outlen; c++) {
		uint32_t l = enc[pos++];
		out[o++] = '/';
		for (uint32_t b = 0; b < l && pos < len && o + 8 < outlen; b++, pos++) {
			uint8_t ch = enc[pos];
			if (ch > 0x20 && ch < 0x7f && ch != '%' && ch != '/')
				out[o++] = (char)ch;
			else
				o += (size_t)snprintf(out + o, outlen - o, "%%%02x", ch);
		}
	}
	if (o + 8 >= outlen && o + 4 < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o] = 0;
	return out;
}

static int ktab_init(struct ktab *t, uint64_t n)
{
	uint64_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	t->s = so_zalloc(SO_MEM_OTHER, cap * sizeof(*t->s));
	t->cap = cap;
	t->n = 0;
	return t->s ? 0 : so_err(SWAPOBJ_ENOMEM, "out of memory for the key table");
}

static void ktab_free(struct ktab *t)
{
	so_free(SO_MEM_OTHER, t->s);
	t->s = NULL;
}

/* The slot of (comp, len, ncomp); with add, a new slot (value init) if absent. */
static struct kslot *ktab_find(struct ktab *t, const uint8_t *comp, uint32_t len, uint8_t ncomp, bool add,
                               uint32_t init)
{
	uint64_t h = so_hash64(comp, len, ncomp);
	for (uint64_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct kslot *s = &t->s[i];
		if (!s->used) {
			if (!add)
				return NULL;
			if (2 * (t->n + 1) > t->cap)
				return NULL; /* cannot happen: sized for every insertion up front */
			s->used = 1;
			s->h = h;
			s->comp = comp;
			s->len = len;
			s->ncomp = ncomp;
			s->val = init;
			t->n++;
			return s;
		}
		if (s->h == h && s->len == len && s->ncomp == ncomp && memcmp(s->comp, comp, len) == 0)
			return s;
	}
}

/* Byte length of the first k components of an encoding (without the count byte). */
static uint32_t prefix_len(const uint8_t *enc, uint32_t k)
{
	uint32_t pos = 1;
	for (uint32_t i = 0; i < k; i++)
		pos += 1u + enc[pos];
	return pos - 1;
}

static bool invalidated(const struct fsck *f, const struct fsck_create *c)
{
	const uint8_t *key = f->keys + c->key_off;
	for (size_t i = 0; i < f->ninvals; i++) {
		const struct fsck_inval *iv = &f->invals[i];
		const uint8_t *p = f->keys + iv->key_off;
		if (iv->seq <= c->seq || iv->key_len < 1 || p[0] > key[0] || iv->key_len > c->key_len)
			continue;
		if (memcmp(p + 1, key + 1, iv->key_len - 1u) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Ordering                                                            */
/* ------------------------------------------------------------------ */

static int ent_cmp(const void *a, const void *b)
{
	const struct fsck_ent *x = a, *y = b;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->damaged != y->damaged)
		return x->damaged ? -1 : 1; /* a damaged copy first: an intact copy of the same record wins */
	return x->addr16 < y->addr16 ? -1 : x->addr16 > y->addr16;
}

static int create_cmp(const void *a, const void *b)
{
	const struct fsck_create *x = a, *y = b;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;                   /* newest first */
	return x->addr16 < y->addr16 ? -1 : x->addr16 > y->addr16; /* replay keeps the copy it met first */
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->pg != y->pg)
		return x->pg < y->pg ? -1 : 1;
	return x->ent > y->ent ? -1 : x->ent < y->ent; /* newest first */
}

static int tomb_cmp(const void *a, const void *b)
{
	const struct tomb *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* ------------------------------------------------------------------ */
/* Which objects live                                                  */
/* ------------------------------------------------------------------ */

static int aux_cmp(const void *a, const void *b)
{
	const struct fsck_aux *x = a, *y = b;
	if (x->oid != y->oid)
		return x->oid < y->oid ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;                   /* newest first */
	return x->addr16 < y->addr16 ? -1 : x->addr16 > y->addr16; /* replay keeps the copy it met first */
}

static const struct model *order_model; /* for live_seq_cmp (qsort has no context argument) */

static int live_seq_cmp(const void *a, const void *b)
{
	const struct live *x = &order_model->live[*(const uint32_t *)a], *y = &order_model->live[*(const uint32_t *)b];
	return x->c->seq < y->c->seq ? -1 : x->c->seq > y->c->seq;
}

/*
 * Would key (ncomp nc, directory or not) conflict with the objects placed
 * so far? The namespace's rules: the same key, a proper prefix naming an
 * object that is no directory, or other keys below a key that is none.
 */
static bool key_conflicts(const struct model *m, struct ktab *objs, struct ktab *prefs, const uint8_t *key,
                          uint32_t key_len, bool isdir)
{
	uint8_t nc = key[0];
	for (uint32_t k = 1; k < nc; k++) {
		struct kslot *o = ktab_find(objs, key + 1, prefix_len(key, k), (uint8_t)k, false, NONE);
		if (o && o->val != NONE && !(m->live[o->val].c->flags & CREATE_F_DIR))
			return true;
	}
	struct kslot *s = ktab_find(objs, key + 1, key_len - 1u, nc, false, NONE);
	if (s && s->val != NONE)
		return true;
	struct kslot *pk = ktab_find(prefs, key + 1, key_len - 1u, nc, false, 0);
	return pk && pk->val > 0 && !isdir;
}

/* The object's newest name record older than seq (the highest-addressed copy, as replay reads them back). */
static const struct fsck_create *older_name(const struct fsck *f, const struct live *l, uint64_t seq)
{
	const struct fsck_create *best = NULL;
	for (size_t i = l->first; i < l->first + l->ncreates; i++) {
		const struct fsck_create *c = &f->creates[i];
		if (c->seq >= seq)
			continue;
		if (!best || c->seq > best->seq || (c->seq == best->seq && c->addr16 > best->addr16))
			best = c;
	}
	return best;
}

/*
 * Replay's rules (recovery/replay.c): an object lives iff its newest name
 * record (CREATE or RENAME) exists, no DELETE names it, no RENAME replaced
 * it, it is not ephemeral and no newer INVALIDATE covers its key. The live
 * ones take their keys in the order of their newest name record's seq; one
 * that conflicts with an object placed before goes back through its older
 * name records (a RENAME that was never synced is undone); with none left
 * (or an ephemeral one) it is dropped.
 */
static int decide_live(struct fsck *f, struct model *m)
{
	struct ktab objs = {0}, prefs = {0};
	uint32_t *order = NULL;
	size_t norder = 0;
	int err;
	if (f->ncreates)
		qsort(f->creates, f->ncreates, sizeof(*f->creates), create_cmp);
	if (f->ndeletes)
		qsort(f->deletes, f->ndeletes, sizeof(*f->deletes), u64_cmp);
	if (f->nauxs)
		qsort(f->auxs, f->nauxs, sizeof(*f->auxs), aux_cmp);
	m->live = so_alloc(SO_MEM_OTHER, (f->ncreates + 1) * sizeof(*m->live));
	order = so_alloc(SO_MEM_OTHER, (f->ncreates + 1) * sizeof(*order));
	if (!m->live || !order) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = ktab_init(&objs, f->ncreates)) < 0 ||
	    (err = ktab_init(&prefs, f->ncreates * SWAPOBJ_KEY_MAX_COMPONENTS)) < 0)
		goto out;
	for (size_t i = 0, j; i < f->ncreates; i = j) {
		const struct fsck_create *c = &f->creates[i];
		for (j = i; j < f->ncreates && f->creates[j].oid == c->oid; j++)
			;
		if ((f->ndeletes && bsearch(&c->oid, f->deletes, f->ndeletes, sizeof(*f->deletes), u64_cmp)) ||
		    (c->flags & CREATE_F_EPHEMERAL))
			continue;
		/*
		 * An invalidated object is dead, but the library may hold it, name
		 * record live, until it has logged its DELETE: replay does so when
		 * it has older name records (maybe under a key the INVALIDATE does
		 * not cover), the running library when it was renamed or its name
		 * re-logged (reaper_run in cleaner.c). Kept here, unplaced, so the
		 * comparison can accept that.
		 */
		bool inval = invalidated(f, c);
		struct live *l = &m->live[m->nlive];
		l->oid = c->oid;
		l->c = l->newest = c;
		l->first = i;
		l->ncreates = j - i;
		l->aux = NULL;
		l->alive = false;
		l->inval = inval;
		if (!inval)
			order[norder++] = (uint32_t)m->nlive;
		m->nlive++;
	}
	order_model = m;
	if (norder > 1)
		qsort(order, norder, sizeof(*order), live_seq_cmp);
	for (size_t oi = 0; oi < norder; oi++) {
		struct live *l = &m->live[order[oi]];
		const struct fsck_create *c = l->c;
		char ks[120], ks2[120];
		for (;;) {
			const uint8_t *key = f->keys + c->key_off;
			if (!key_conflicts(m, &objs, &prefs, key, c->key_len, c->flags & CREATE_F_DIR))
				break;
			/* Replay goes back to the name record before (one a newer INVALIDATE covers does not count). */
			const struct fsck_create *o = c;
			do
				o = older_name(f, l, o->seq);
			while (o && invalidated(f, o));
			c = o;
			if (!c || (c->flags & CREATE_F_EPHEMERAL))
				break;
		}
		const struct fsck_create *n = l->newest;
		key_str(f->keys + n->key_off, n->key_len, ks, sizeof(ks));
		if (!c || (c->flags & CREATE_F_EPHEMERAL)) {
			fsck_report_at(f, FSCK_KEY_CONFLICT, FSCK_ERROR, n->addr16, n->type, n->oid, n->seq, 0,
			               "object %llu %s: its key clashes with an older live object's (the same key, or "
			               "one under an object that is no directory, or keys under one that is none); "
			               "replay drops it",
			               (unsigned long long)n->oid, ks);
			f->need_rw_open = true;
			continue;
		}
		if (c != n) {
			fsck_report_at(f, FSCK_KEY_CONFLICT, FSCK_ERROR, n->addr16, n->type, n->oid, n->seq, 0,
			               "object %llu: its name %s clashes with an older live object's; replay undoes "
			               "the %s and keeps its earlier name %s",
			               (unsigned long long)n->oid, ks, n->type == REC_RENAME ? "rename" : "name record",
			               key_str(f->keys + c->key_off, c->key_len, ks2, sizeof(ks2)));
			f->need_rw_open = true;
			l->c = c;
		}
		const uint8_t *key = f->keys + c->key_off;
		uint8_t nc = key[0];
		struct kslot *s = ktab_find(&objs, key + 1, c->key_len - 1u, nc, true, NONE);
		if (!s) {
			err = so_err(SWAPOBJ_ENOMEM, "key table full");
			goto out;
		}
		s->val = (uint32_t)(l - m->live);
		l->alive = true;
		for (uint32_t k = 1; k < nc; k++) {
			struct kslot *p = ktab_find(&prefs, key + 1, prefix_len(key, k), (uint8_t)k, true, 0);
			if (!p) {
				err = so_err(SWAPOBJ_ENOMEM, "key table full");
				goto out;
			}
			p->val++;
		}
		/* Aux data: the newest AUX record if newer than the name record, else the name record's. */
		struct fsck_aux key_a = {.oid = l->oid, .seq = UINT64_MAX, .addr16 = 0};
		size_t lo = 0, hi = f->nauxs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (aux_cmp(&f->auxs[mid], &key_a) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < f->nauxs && f->auxs[lo].oid == l->oid && f->auxs[lo].seq > c->seq)
			l->aux = &f->auxs[lo];
	}
	m->alive_oids = so_alloc(SO_MEM_OTHER, (m->nlive + 1) * sizeof(*m->alive_oids));
	if (!m->alive_oids) {
		err = so_err(SWAPOBJ_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->nlive; i++)
		if (m->live[i].alive)
			m->alive_oids[m->nalive++] = m->live[i].oid;
	err = 0;
out:
	so_free(SO_MEM_OTHER, order);
	ktab_free(&objs);
	ktab_free(&prefs);
	return err;
}

/* ------------------------------------------------------------------ */
/* Pages of one object                                                 */
/* ------------------------------------------------------------------ */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	return fsck_grow(arr, cap, n, elem);
}

static void heap_push(uint64_t *h, size_t *n, const struct tomb *t, uint64_t v)
{
	size_t i = (*n)++;
	h[i] = v;
	while (i > 0 && t[h[(i - 1) / 2]].ent < t[h[i]].ent) {
		uint64_t x = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static void heap_pop(uint64_t *h, size_t *n, const struct tomb *t)
{
	h[0] = h[--*n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, big = i;
		if (l < *n && t[h[l]].ent > t[h[big]].ent)
			big = l;
		if (r < *n && t[h[r]].ent > t[h[big]].ent)
			big = r;
		if (big == i)
			break;
		uint64_t x = h[i];
		h[i] = h[big];
		h[big] = x;
		i = big;
	}
}

/*
 * The pages of the object whose records are ents[a, b) (in replay order):
 * m->mapped[0..*n) = (page, index of the record it maps to), by page.
 */
static int object_pages(struct fsck *f, struct model *m, size_t a, size_t b, size_t *n)
{
	size_t ncand = 0, ntomb = 0, nheap = 0, nmapped = 0;
	int err;
	for (size_t i = a; i < b; i++) {
		const struct fsck_ent *e = &f->ents[i];
		if (e->type == REC_DATA) {
			uint64_t pg0 = e->lpos / PG, np = e->len / PG; /* the decoder bounds np (REC_ZERO_MAX_PAGES) */
			for (uint64_t k = 0; k < np; k++) {
				if ((err = grow((void **)&m->cand, &m->capcand, ncand, sizeof(*m->cand))) < 0)
					return err;
				m->cand[ncand].pg = pg0 + k;
				m->cand[ncand++].ent = i;
			}
		} else if (e->type == REC_PUNCH || e->type == REC_TRUNCATE) {
			uint64_t s = e->type == REC_PUNCH ? e->lpos / PG : (e->obj_size + PG - 1) / PG;
			uint64_t t = e->type == REC_PUNCH ? s + e->len / PG : UINT64_MAX;
			if (t <= s)
				continue;
			if ((err = grow((void **)&m->tomb, &m->captomb, ntomb, sizeof(*m->tomb))) < 0)
				return err;
			m->tomb[ntomb].start = s;
			m->tomb[ntomb].end = t;
			m->tomb[ntomb++].ent = i;
		}
	}
	if (ncand > 1)
		qsort(m->cand, ncand, sizeof(*m->cand), cand_cmp);
	if (ntomb > 1)
		qsort(m->tomb, ntomb, sizeof(*m->tomb), tomb_cmp);
	if ((err = grow((void **)&m->heap, &m->capheap, ntomb, sizeof(*m->heap))) < 0)
		return err;
	/* Sweep the pages in order, with the tombstones covering the current page in a max-heap (newest on top). */
	size_t j = 0;
	for (size_t i = 0; i < ncand; i++) {
		const struct cand *c = &m->cand[i];
		if (i > 0 && m->cand[i - 1].pg == c->pg)
			continue; /* an older record of the same page */
		while (j < ntomb && m->tomb[j].start <= c->pg)
			heap_push(m->heap, &nheap, m->tomb, j++);
		while (nheap && m->tomb[m->heap[0]].end <= c->pg)
			heap_pop(m->heap, &nheap, m->tomb);
		if (nheap && m->tomb[m->heap[0]].ent > c->ent)
			continue; /* punched or truncated after it was written */
		if ((err = grow((void **)&m->mapped, &m->capmapped, nmapped, sizeof(*m->mapped))) < 0)
			return err;
		m->mapped[nmapped++] = *c;
	}
	*n = nmapped;
	return 0;
}

static extslot ent_slot(const struct fsck_ent *e)
{
	enum ext_kind k = e->flags & REC_F_ZERO ? EXT_ZERO : e->flags & REC_F_FILL ? EXT_FILL : EXT_DATA;
	return extslot_make(k, e->addr16);
}

static const char *slot_str(const struct fsck *f, extslot s, char *buf, size_t len)
{
	static const char *const kinds[] = {"hole", "data", "zero", "fill"};
	if (extslot_kind(s) == EXT_NONE)
		return "hole";
	uint64_t a = extslot_addr(s);
	snprintf(buf, len, "%s record at segment %u offset %llu", kinds[extslot_kind(s)], fsck_segno_of(f, a),
	         (unsigned long long)fsck_segoff_of(f, a));
	return buf;
}

/*
 * Copies of one record. The cleaner relocates records keeping their seq, so
 * a record may have several intact copies; which one the library uses
 * depends on how it built its index (a full replay takes the highest
 * address, a checkpoint the one that was live at its cut, and segments the
 * checkpoint says were freed are not read again). Any intact copy is the
 * same record: the comparison accepts the library's choice, and the usage
 * recount then charges the copy the library uses.
 */
static void move_charge(struct fsck *f, uint64_t from16, uint64_t to16, uint64_t bytes)
{
	f->seg_live[fsck_segno_of(f, from16)] -= bytes;
	f->seg_live[fsck_segno_of(f, to16)] += bytes;
}

static bool name_copy(const struct fsck *f, const struct live *l, const struct fsck_create *c, uint64_t addr16)
{
	for (size_t i = l->first; i < l->first + l->ncreates; i++)
		if (f->creates[i].seq == c->seq && f->creates[i].addr16 == addr16 && f->creates[i].bytes == c->bytes)
			return true;
	return false;
}

/* The entry of oid in m->live (sorted by oid), or NULL. */
static const struct live *find_live(const struct model *m, uint64_t oid)
{
	size_t lo = 0, hi = m->nlive;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->live[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nlive && m->live[lo].oid == oid ? &m->live[lo] : NULL;
}

static bool aux_copy(const struct fsck *f, const struct fsck_aux *a, uint64_t addr16)
{
	for (const struct fsck_aux *x = a; x < f->auxs + f->nauxs && x->oid == a->oid && x->seq == a->seq; x++)
		if (x->addr16 == addr16 && x->bytes == a->bytes)
			return true;
	return false;
}

/* An intact copy of ents[w] (a DATA record mapping page pg) at the slot s? */
static bool data_copy(const struct fsck *f, size_t w, uint64_t pg, extslot s)
{
	const struct fsck_ent *e = &f->ents[w];
	size_t lo = w, hi = w;
	while (lo > 0 && f->ents[lo - 1].oid == e->oid && f->ents[lo - 1].seq == e->seq)
		lo--;
	while (hi + 1 < f->nents && f->ents[hi + 1].oid == e->oid && f->ents[hi + 1].seq == e->seq)
		hi++;
	for (size_t i = lo; i <= hi; i++) {
		const struct fsck_ent *x = &f->ents[i];
		if (x->type == REC_DATA && !x->damaged && ent_slot(x) == s && x->lpos / PG <= pg &&
		    pg < x->lpos / PG + x->len / PG)
			return true;
	}
	return false;
}

/* Compare one live object of the model with the library's. Returns the differences found. */
static unsigned compare_object(struct fsck *f, struct model *m, const struct live *l, uint64_t size, size_t nmapped)
{
	struct swapobj_store *st = f->st;
	const struct fsck_create *c = l->c;
	const uint8_t *key = f->keys + c->key_off;
	char ks[120], b1[80], b2[80];
	unsigned diffs = 0;
	struct so_obj *o = oidmap_get(&st->ix.oids, l->oid);
	key_str(key, c->key_len, ks, sizeof(ks));
	if (!o) {
		fsck_report_at(f, FSCK_INDEX, FSCK_ERROR, c->addr16, REC_CREATE, l->oid, c->seq, 0,
		               "object %llu %s lives according to the records but is missing from the index",
		               (unsigned long long)l->oid, ks);
		return 1;
	}
	pthread_mutex_lock(&o->lock);
	uint8_t enc[KEYENC_MAX];
	swapobj_key k;
	uint32_t elen = 0;
	if (o->node) {
		ns_key_of(o->node, &k);
		elen = key_encode(enc, &k, k.ncomp);
	}
	if (elen != c->key_len || memcmp(enc, key, elen) != 0) {
		fsck_report(f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, l->oid, 0, 0,
		            "object %llu: the index names it %s, the records %s", (unsigned long long)l->oid,
		            o->node ? key_str(enc, elen, b1, sizeof(b1)) : "(unlinked)", ks);
		diffs++;
	}
	/* Aux data: from the newest AUX record if it is newer than the name record, else the name record's. */
	const uint8_t *aux = l->aux ? f->keys + l->aux->data_off : key + c->key_len;
	uint32_t aux_len = l->aux ? l->aux->len : c->aux_len;
	uint64_t aux_addr = l->aux ? l->aux->addr16 : 0;
	uint32_t aux_bytes = l->aux ? l->aux->bytes : 0;
	if (l->aux && o->aux_addr != aux_addr && aux_copy(f, l->aux, o->aux_addr)) {
		move_charge(f, aux_addr, o->aux_addr, aux_bytes);
		aux_addr = o->aux_addr;
	}
	uint64_t create_addr = c->addr16;
	if (o->create_addr != create_addr && name_copy(f, l, c, o->create_addr)) {
		move_charge(f, create_addr, o->create_addr, c->bytes);
		create_addr = o->create_addr;
	}
	if (o->aux_len != aux_len || (aux_len && (!o->aux || memcmp(o->aux, aux, aux_len) != 0)) ||
	    o->aux_addr != aux_addr || o->aux_bytes != aux_bytes) {
		fsck_report(f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, l->oid, 0, 0,
		            "object %llu %s: index has %u bytes of aux data%s (record %llu/%u); the records give %u "
		            "bytes (record %llu/%u)",
		            (unsigned long long)l->oid, ks, o->aux_len,
		            o->aux_len == aux_len && aux_len ? " that differ" : "", (unsigned long long)o->aux_addr,
		            o->aux_bytes, aux_len, (unsigned long long)aux_addr, aux_bytes);
		diffs++;
	}
	if (o->cls != c->cls || o->flags != c->flags || o->version != c->version || o->size != size ||
	    o->create_addr != create_addr || o->create_bytes != c->bytes) {
		fsck_report(f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, l->oid, 0, 0,
		            "object %llu %s: index has class %u flags %u version %llu size %llu create record %llu/%u; "
		            "the records give %u %u %llu %llu %llu/%u",
		            (unsigned long long)l->oid, ks, o->cls, o->flags, (unsigned long long)o->version,
		            (unsigned long long)o->size, (unsigned long long)o->create_addr, o->create_bytes, c->cls,
		            c->flags, (unsigned long long)c->version, (unsigned long long)size,
		            (unsigned long long)c->addr16, c->bytes);
		diffs++;
	}
	/* Walk both page lists in order. */
	uint64_t from = 0, pg;
	extslot slot;
	size_t i = 0;
	bool have = extmap_next(&o->map, from, &pg, &slot);
	while ((have || i < nmapped) && diffs < MAX_DIFFS_PER_OBJECT) {
		uint64_t mp = i < nmapped ? m->mapped[i].pg : UINT64_MAX;
		extslot ms = i < nmapped ? ent_slot(&f->ents[m->mapped[i].ent]) : 0;
		uint64_t lp = have ? pg : UINT64_MAX;
		if (lp == mp && slot != ms && data_copy(f, m->mapped[i].ent, mp, slot)) {
			move_charge(f, extslot_addr(ms), extslot_addr(slot), extslot_charge(ms));
			ms = slot;
		}
		if (lp == mp && slot == ms) {
			i++;
		} else {
			uint64_t at = SO_MIN(lp, mp);
			fsck_report(f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, l->oid, 0, at * PG,
			            "object %llu %s page at %llu: index maps %s, the records %s",
			            (unsigned long long)l->oid, ks, (unsigned long long)(at * PG),
			            slot_str(f, lp == at ? slot : 0, b1, sizeof(b1)),
			            slot_str(f, mp == at ? ms : 0, b2, sizeof(b2)));
			diffs++;
			if (mp == at)
				i++;
		}
		if (lp <= mp && have)
			have = extmap_next(&o->map, lp + 1, &pg, &slot);
	}
	pthread_mutex_unlock(&o->lock);
	return diffs;
}

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

static int prepare(struct fsck *f, struct model *m)
{
	uint64_t D = f->durable_seq;
	int err;
	/* Damaged DATA past the durable point: torn writes, which replay drops. */
	size_t kept = 0;
	for (size_t i = 0; i < f->nents; i++) {
		struct fsck_ent *e = &f->ents[i];
		if (e->damaged && e->seq >= D) {
			f->res->torn++;
			uint64_t t =
			    fsck_report_at(f, FSCK_REC_TORN, FSCK_WARN, e->addr16, REC_DATA, e->oid, e->seq, e->lpos,
			                   "DATA of object %llu at %llu: payload torn by a crash before it was "
			                   "synced (seq %llu, durable point %llu); replay drops it",
			                   (unsigned long long)e->oid, (unsigned long long)e->lpos,
			                   (unsigned long long)e->seq, (unsigned long long)D);
			struct fsck_action a = {0};
			a.kind = ACT_ZAP;
			a.addr16 = e->hdr16;
			a.ticket = t;
			a.sev = FSCK_WARN;
			if ((err = fsck_plan(f, &a)) < 0)
				return err;
			continue;
		}
		f->ents[kept++] = *e;
	}
	f->nents = kept;
	if (f->nents > 1)
		qsort(f->ents, f->nents, sizeof(*f->ents), ent_cmp);
	return decide_live(f, m);
}

int fsck_model(struct fsck *f)
{
	struct model *m = f->model;
	int err;
	if (!m) {
		m = so_zalloc(SO_MEM_OTHER, sizeof(*m));
		if (!m)
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		f->model = m;
	}
	bool first = !m->ready;
	if (first) {
		if ((err = prepare(f, m)) < 0)
			return err;
		m->ready = true;
	}
	struct swapobj_store *st = f->st;
	uint64_t pages = 0, objects = 0, diffs = 0, ndoomed = 0;
	memset(f->seg_live, 0, f->nsegs * sizeof(*f->seg_live));
	if (st)
		pthread_rwlock_rdlock(&st->ix.lock);
	size_t e = 0; /* cursor in ents (sorted by oid, as live is) */
	for (size_t li = 0; li < m->nlive; li++) {
		const struct live *l = &m->live[li];
		if (!l->alive)
			continue;
		while (e < f->nents && f->ents[e].oid < l->oid)
			e++;
		size_t a = e;
		while (e < f->nents && f->ents[e].oid == l->oid)
			e++;
		size_t nmapped;
		if ((err = object_pages(f, m, a, e, &nmapped)) < 0)
			goto out;
		/*
		 * The size is that of the newest record, not counting name records
		 * newer than the one it lives by (an undone rename). a >= e cannot
		 * happen: the name record is among the entries.
		 */
		size_t last = e;
		while (last > a && (f->ents[last - 1].type == REC_CREATE || f->ents[last - 1].type == REC_RENAME) &&
		       f->ents[last - 1].seq > l->c->seq)
			last--;
		uint64_t size = last > a ? f->ents[last - 1].obj_size : 0;
		objects++;
		pages += nmapped;
		f->seg_live[fsck_segno_of(f, l->c->addr16)] += l->c->bytes;
		if (l->aux)
			f->seg_live[fsck_segno_of(f, l->aux->addr16)] += l->aux->bytes;
		for (size_t i = 0; i < nmapped; i++) {
			struct fsck_ent *pe = &f->ents[m->mapped[i].ent];
			f->seg_live[fsck_segno_of(f, pe->addr16)] += extslot_charge(ent_slot(pe));
			if (!first)
				continue;
			pe->won = 1;
			if (!pe->damaged)
				continue;
			char ks[120];
			uint64_t lpos = m->mapped[i].pg * PG;
			uint64_t t = fsck_report_at(
			    f, FSCK_PAGE_DAMAGED, FSCK_ERROR, pe->addr16, REC_DATA, l->oid, pe->seq, lpos,
			    "object %llu %s: the page at %llu has only a damaged copy (payload "
			    "checksum mismatch, seq %llu); reads of it fail%s",
			    (unsigned long long)l->oid, key_str(f->keys + l->c->key_off, l->c->key_len, ks, sizeof(ks)),
			    (unsigned long long)lpos, (unsigned long long)pe->seq,
			    f->repair ? "; punched (it reads as zeros now)" : "");
			f->res->lost_pages++;
			if (!f->repair)
				continue;
			if ((err = grow((void **)&f->lost, &f->caplost, f->nlost, sizeof(*f->lost))) < 0)
				goto out;
			struct fsck_lost *lo = &f->lost[f->nlost++];
			lo->oid = l->oid;
			lo->lpos = lpos;
			lo->addr16 = pe->addr16;
			lo->hdr16 = pe->hdr16;
			lo->seq = pe->seq;
			lo->ticket = t;
			lo->gen = f->seg_gen[fsck_segno_of(f, pe->addr16)];
			f->need_rw_open = true;
		}
		if (st)
			diffs += compare_object(f, m, l, size, nmapped);
		if (li % 4096 == 0)
			fsck_progress(f, "index", li, m->nlive);
	}
	if (first) {
		/* Damaged copies no live page maps to any more: nothing is lost, the bytes are retired. */
		for (size_t i = 0; i < f->nents; i++) {
			const struct fsck_ent *pe = &f->ents[i];
			if (!pe->damaged || pe->won)
				continue;
			uint64_t t = fsck_report_at(
			    f, FSCK_REC_DEAD, FSCK_WARN, pe->addr16, REC_DATA, pe->oid, pe->seq, pe->lpos,
			    "DATA of object %llu at %llu: payload checksum mismatch in a copy no "
			    "live page uses (seq %llu)",
			    (unsigned long long)pe->oid, (unsigned long long)pe->lpos, (unsigned long long)pe->seq);
			struct fsck_action a = {0};
			a.kind = ACT_ZAP;
			a.addr16 = pe->hdr16;
			a.ticket = t;
			a.sev = FSCK_WARN;
			if ((err = fsck_plan(f, &a)) < 0)
				goto out;
		}
	}
	if (st) {
		/* Invalidated objects the library holds for their DELETE: their name record is live. */
		uint64_t pos = 0, oid;
		void *val;
		while (oidmap_next(&st->ix.oids, &pos, &oid, &val)) {
			struct so_obj *o = val;
			const struct live *l = find_live(m, oid);
			if (!__atomic_load_n(&o->dead, __ATOMIC_ACQUIRE) || !l || !l->inval)
				continue;
			if (o->node || !name_copy(f, l, l->newest, o->create_addr)) {
				char ks[120];
				fsck_report(
				    f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, oid, 0, 0,
				    "object %llu %s: dropped by an invalidation, waiting for its DELETE, but the "
				    "index has it %s",
				    (unsigned long long)oid,
				    key_str(f->keys + l->newest->key_off, l->newest->key_len, ks, sizeof(ks)),
				    o->node ? "linked" : "by another name record");
				diffs++;
				continue;
			}
			f->seg_live[fsck_segno_of(f, o->create_addr)] += l->newest->bytes;
			ndoomed++;
		}
	}
	f->res->objects = objects;
	f->res->pages = pages;
	f->res->live_bytes = 0;
	for (uint64_t s = 0; s < f->nsegs; s++)
		f->res->live_bytes += f->seg_live[s];
	if (st) {
		/* Objects the index has and the records do not. */
		uint64_t pos = 0, oid;
		void *val;
		while (oidmap_next(&st->ix.oids, &pos, &oid, &val))
			if (!bsearch(&oid, m->alive_oids, m->nalive, sizeof(*m->alive_oids), u64_cmp) &&
			    !(__atomic_load_n(&((struct so_obj *)val)->dead, __ATOMIC_ACQUIRE) && find_live(m, oid) &&
			      find_live(m, oid)->inval)) {
				fsck_report(f, FSCK_INDEX, FSCK_ERROR, -1, -1, 0, 0, oid, 0, 0,
				            "object %llu is in the index but dead according to the records",
				            (unsigned long long)oid);
				diffs++;
			}
		uint64_t lib_objects = oidmap_count(&st->ix.oids) - ndoomed, lib_pages = st->ix.pages, lib_live = 0;
		if (lib_objects != objects || lib_pages != pages)
			fsck_report(f, FSCK_COUNTS, FSCK_ERROR, -1, -1, 0, 0, 0, 0, 0,
			            "the index counts %llu objects and %llu pages; the records give %llu and %llu",
			            (unsigned long long)lib_objects, (unsigned long long)lib_pages,
			            (unsigned long long)objects, (unsigned long long)pages);
		struct so_log *lg = &st->log;
		uint64_t bad_segs = 0;
		for (uint64_t s = 0; s < f->nsegs && s < lg->nsegs; s++) {
			uint64_t lib = __atomic_load_n(&lg->segs[s].live, __ATOMIC_RELAXED);
			lib_live += lib;
			if (lib == f->seg_live[s])
				continue;
			if (bad_segs++ < 16)
				fsck_report(
				    f, FSCK_USAGE, FSCK_ERROR, (int)fsck_dev_of(f, (uint32_t)s), (int64_t)s, 0, 0, 0, 0,
				    0, "segment %llu: the usage table says %llu live bytes, the recount %llu",
				    (unsigned long long)s, (unsigned long long)lib, (unsigned long long)f->seg_live[s]);
		}
		if (bad_segs > 16)
			fsck_report(f, FSCK_USAGE, FSCK_ERROR, -1, -1, 0, 0, 0, 0, 0,
			            "%llu more segments whose usage differs from the recount",
			            (unsigned long long)(bad_segs - 16));
		if (lib_live != f->res->live_bytes && !bad_segs)
			fsck_report(f, FSCK_COUNTS, FSCK_ERROR, -1, -1, 0, 0, 0, 0, 0,
			            "the usage table totals %llu live bytes, the recount %llu",
			            (unsigned long long)lib_live, (unsigned long long)f->res->live_bytes);
	}
	err = 0;
out:
	if (st)
		pthread_rwlock_unlock(&st->ix.lock);
	(void)diffs;
	return err;
}
