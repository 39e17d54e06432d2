/*
 * gen_golden.c - writes the golden store image and its manifest.
 *
 * Usage: swapobj-golden-gen IMAGE MANIFEST
 *
 * Builds a small store (1 MiB segments) through the public API with one of
 * every kind of record and state the format has: data, zero and fill pages,
 * a partial last page, a punch, a truncation, a pin change (a re-logged
 * CREATE), a data-version replacement, a delete, an ephemeral object, a
 * prefix invalidation, binary and 16-component keys, a cache-class object,
 * and a cleaner pass (relocated records in the cold stream). The content is
 * deterministic; the image's bytes are not quite (random store uuid, clock
 * stamps), which changes nothing the manifest records.
 *
 * The manifest holds one line per live object, sorted:
 *   key=<components, %XX-escaped, '/'-separated> class=<swap|cache>
 *   version=<n> size=<bytes> pinned=<0|1> xxh3=<16 hex digits of the content>
 * after a "format <version>" line. It is written from the generator's own
 * model of what it stored, then checked against a read-back of the image.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_format.h"
#include "swapobj.h"
#define XXH_INLINE_ALL
#include <xxhash.h>

#define PG 4096u
#define MAXOBJ 16
#define MAXSIZE (80u * PG)

struct mobj {
	swapobj_key key;
	int cls;
	uint64_t version;
	int pinned, live;
	int replaced; /* its key now names a newer version */
	uint64_t size;
	uint8_t *data; /* MAXSIZE bytes */
	swapobj_obj *h;
};

static struct mobj objs[MAXOBJ];
static int nobj;
static swapobj_store *st;

static void die(const char *what, int err)
{
	fprintf(stderr, "swapobj-golden-gen: %s: %s (%s)\n", what, swapobj_strerror(err), swapobj_errmsg());
	exit(1);
}

static void ck(int err, const char *what)
{
	if (err < 0)
		die(what, err);
}

/* Page content: readable, compressible, different per object and page. */
static void text_page(uint8_t *p, int obj, uint64_t pg, int ver)
{
	size_t o = 0;
	for (int line = 0; o < PG; line++)
		o += (size_t)snprintf((char *)p + o, PG - o,
		                      "golden object %d page %llu version %d line %d: the quick brown fox\n", obj,
		                      (unsigned long long)pg, ver, line);
}

static struct mobj *create(const swapobj_key *k, int cls, uint64_t version, unsigned flags)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	struct mobj *m = &objs[nobj++];
	memset(m, 0, sizeof(*m));
	m->key = *k;
	m->cls = cls;
	m->version = version;
	m->pinned = (flags & SWAPOBJ_O_PIN) != 0;
	m->live = !(flags & SWAPOBJ_O_EPHEMERAL);
	m->data = calloc(1, MAXSIZE);
	oo.flags = SWAPOBJ_O_CREATE | flags;
	oo.cls = cls;
	oo.data_version = version;
	ck(swapobj_obj_open(&m->h, st, k, &oo), "create");
	return m;
}

static void wr(struct mobj *m, const void *buf, size_t len, uint64_t off)
{
	if (swapobj_obj_write(m->h, buf, len, off) != (int64_t)len)
		die("write", -1);
	memcpy(m->data + off, buf, len);
	if (off + len > m->size)
		m->size = off + len;
}

static void write_pages(struct mobj *m, int id, uint64_t first, uint64_t n, int ver)
{
	uint8_t p[PG];
	for (uint64_t i = first; i < first + n; i++) {
		text_page(p, id, i, ver);
		wr(m, p, PG, i * PG);
	}
}

static void punch(struct mobj *m, uint64_t off, uint64_t len)
{
	ck(swapobj_obj_punch(m->h, off, len), "punch");
	uint64_t end = off + len < m->size ? off + len : m->size;
	if (off < end)
		memset(m->data + off, 0, end - off);
}

static void trunc_to(struct mobj *m, uint64_t size)
{
	ck(swapobj_obj_truncate(m->h, size), "truncate");
	if (size < m->size)
		memset(m->data + size, 0, m->size - size);
	m->size = size;
}

static void key_text(const swapobj_key *k, char *out, size_t len)
{
	size_t o = 0;
	for (uint32_t i = 0; i < k->ncomp; i++) {
		o += (size_t)snprintf(out + o, len - o, "/");
		for (uint32_t b = 0; b < k->len[i]; b++) {
			uint8_t c = k->buf[k->off[i] + b];
			if (c > 0x20 && c < 0x7f && c != '%' && c != '/' && c != '=')
				o += (size_t)snprintf(out + o, len - o, "%c", c);
			else
				o += (size_t)snprintf(out + o, len - o, "%%%02x", c);
		}
	}
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: swapobj-golden-gen IMAGE MANIFEST\n");
		return 2;
	}
	const char *paths[1] = {argv[1]};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	swapobj_key k, pre;
	uint8_t p[PG];
	remove(argv[1]);
	fo.size = 24 << 20; /* 23 segments: room for the reserve, open segments and checkpoints */
	fo.segment_size = 1 << 20;
	ck(swapobj_format(paths, 1, &fo), "format");
	/* No automatic checkpoints: the one taken below is the image's newest, with a tail after it. */
	struct swapobj_open_opts op = SWAPOBJ_OPEN_OPTS_INIT;
	op.checkpoint_bytes = UINT64_MAX;
	ck(swapobj_store_open(&st, paths, 1, &op), "open");

	/* 0: data, zero and fill pages, a partial last page; rewritten pages (dead records to clean). */
	swapobj_key_anon(&k, 1, 100);
	struct mobj *a = create(&k, SWAPOBJ_CLASS_SWAP, 0, 0);
	write_pages(a, 0, 0, 12, 1);
	memset(p, 0, PG);
	for (int i = 12; i < 15; i++)
		wr(a, p, PG, (uint64_t)i * PG);
	for (int i = 0; i < (int)(PG / 8); i++)
		memcpy(p + 8 * i, "\x0d\xf0\xfe\xca\xef\xbe\xad\xde", 8);
	wr(a, p, PG, 15 * PG);
	memset(p, 'z', 123);
	wr(a, p, 123, 16 * PG);
	write_pages(a, 0, 3, 4, 2);
	/* 1: deleted. */
	swapobj_key_anon(&k, 1, 101);
	struct mobj *d = create(&k, SWAPOBJ_CLASS_SWAP, 0, 0);
	write_pages(d, 1, 0, 3, 1);
	ck(swapobj_obj_delete(d->h), "delete");
	d->live = 0;
	/* 2: punched, truncated, pinned later (a second CREATE record). */
	swapobj_key_shmem(&k, 3, 7, 1);
	struct mobj *s = create(&k, SWAPOBJ_CLASS_SWAP, 0, 0);
	write_pages(s, 2, 0, 5, 1);
	punch(s, 2 * PG, PG);
	trunc_to(s, 4 * PG + 10);
	ck(swapobj_obj_set_pin(s->h, 1), "pin");
	s->pinned = 1;
	/* 3: cache class, binary cookie, pinned at creation, data version 3. */
	static const uint8_t cookie[] = {0x00, 0xff, 0x10, '/', '%'};
	swapobj_key_fscache(&k, "afs:cell", 8, cookie, sizeof(cookie));
	struct mobj *c = create(&k, SWAPOBJ_CLASS_CACHE, 3, SWAPOBJ_O_PIN);
	write_pages(c, 3, 0, 2, 1);
	/* 4 and 5: version 1 replaced by version 2. */
	swapobj_key_fscache(&k, "afs:cell", 8, "vnode-9", 7);
	struct mobj *v1 = create(&k, SWAPOBJ_CLASS_CACHE, 1, 0);
	write_pages(v1, 4, 0, 2, 1);
	struct mobj *v2 = create(&k, SWAPOBJ_CLASS_CACHE, 2, 0);
	v1->live = 0;
	v1->replaced = 1;
	write_pages(v2, 5, 0, 1, 1);
	/* 6, 7: under a prefix that is invalidated. */
	for (int i = 0; i < 2; i++) {
		swapobj_key_fscache(&k, "gone", 4, i ? "b" : "a", 1);
		struct mobj *g = create(&k, SWAPOBJ_CLASS_CACHE, 0, 0);
		write_pages(g, 6 + i, 0, 1, 1);
		g->live = 0;
	}
	swapobj_key_fscache(&k, "gone", 4, "a", 1);
	ck(swapobj_key_prefix(&pre, &k, 2), "prefix");
	ck(swapobj_invalidate(st, &pre), "invalidate");
	/* 8: ephemeral (need not survive a restart, and does not). */
	swapobj_key_anon(&k, 2, 1);
	struct mobj *e = create(&k, SWAPOBJ_CLASS_SWAP, 0, SWAPOBJ_O_EPHEMERAL);
	write_pages(e, 8, 0, 1, 1);
	/* 9: sixteen components of all byte values; a sequential 64-page run. */
	swapobj_key_init(&k);
	for (int i = 0; i < 16; i++) {
		uint8_t comp[3] = {(uint8_t)(i * 16), (uint8_t)(255 - i), (uint8_t)'a' + (uint8_t)i};
		ck(swapobj_key_push(&k, comp, 1 + (size_t)(i % 3)), "key");
	}
	struct mobj *big = create(&k, SWAPOBJ_CLASS_SWAP, 0, 0);
	write_pages(big, 9, 0, 64, 1);
	/* 10: renamed (a RENAME record names it now), with aux data; then a checkpoint, and a tail after it. */
	swapobj_key_anon(&k, 1, 200);
	struct mobj *rn = create(&k, SWAPOBJ_CLASS_SWAP, 0, 0);
	write_pages(rn, 10, 0, 3, 1);
	ck(swapobj_obj_set_aux(rn->h, "golden aux", 10), "aux");
	swapobj_key_anon(&k, 1, 201);
	ck(swapobj_rename(st, &rn->key, &k, 0), "rename");
	rn->key = k;
	ck(swapobj_store_checkpoint(st), "checkpoint");
	write_pages(rn, 10, 1, 1, 2);
	/* More garbage, then a cleaner pass: live records move to the cold stream. */
	write_pages(big, 9, 0, 32, 2);
	ck(swapobj_store_sync(st), "sync");
	ck(swapobj_store_clean(st, 2), "clean");
	for (int i = 0; i < nobj; i++)
		swapobj_obj_close(objs[i].h);
	ck(swapobj_store_close(st), "close");

	/* Manifest from the model, then checked against the image as this version reads it. */
	char *lines[MAXOBJ];
	int nl = 0;
	for (int i = 0; i < nobj; i++) {
		struct mobj *m = &objs[i];
		if (!m->live)
			continue;
		char ks[2048];
		key_text(&m->key, ks, sizeof(ks));
		if (asprintf(&lines[nl++], "key=%s class=%s version=%llu size=%llu pinned=%d xxh3=%016llx", ks,
		             m->cls == SWAPOBJ_CLASS_CACHE ? "cache" : "swap", (unsigned long long)m->version,
		             (unsigned long long)m->size, m->pinned,
		             (unsigned long long)XXH3_64bits(m->data, m->size)) < 0)
			die("asprintf", SWAPOBJ_ENOMEM);
	}
	qsort(lines, (size_t)nl, sizeof(*lines), line_cmp);
	ck(swapobj_store_open(&st, paths, 1, &op), "reopen");
	int bad = 0;
	for (int i = 0; i < nobj; i++) {
		struct mobj *m = &objs[i];
		swapobj_obj *h;
		int err = swapobj_obj_open(&h, st, &m->key, NULL);
		if (!m->live) {
			if (err != SWAPOBJ_ENOENT && !m->replaced) {
				fprintf(stderr, "swapobj-golden-gen: object %d should be gone\n", i);
				bad++;
			}
			if (err == 0)
				swapobj_obj_close(h);
			continue;
		}
		uint8_t *got = calloc(1, MAXSIZE);
		struct swapobj_obj_stat os;
		if (err < 0 || swapobj_obj_stat(&os, sizeof(os), h) < 0 || os.size != m->size ||
		    os.data_version != m->version || swapobj_obj_read(h, got, MAXSIZE, 0, 0) != (int64_t)m->size ||
		    memcmp(got, m->data, m->size) != 0) {
			fprintf(stderr, "swapobj-golden-gen: object %d does not read back as written\n", i);
			bad++;
		}
		free(got);
		if (err == 0)
			swapobj_obj_close(h);
	}
	ck(swapobj_store_close(st), "close");
	if (bad)
		return 1;
	FILE *f = fopen(argv[2], "w");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	fprintf(f, "format %u\n", SO_FORMAT_VERSION);
	for (int i = 0; i < nl; i++)
		fprintf(f, "%s\n", lines[i]);
	if (fclose(f) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
