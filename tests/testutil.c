#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "io.h"

/* ---- cases and the runner ---- */

#define TU_MAXCASES 256

static struct {
	const char *name, *tags;
} tu_cases[TU_MAXCASES];
static unsigned tu_ncases;

void tu_add(Suite *s, const TTest *test, const struct tu_case_opts *o)
{
	static const struct tu_case_opts none;
	if (!o)
		o = &none;
	for (unsigned i = 0; i < tu_ncases; i++)
		if (strcmp(tu_cases[i].name, test->name) == 0) {
			fprintf(stderr, "testutil: two cases named %s\n", test->name);
			abort();
		}
	if (tu_ncases == TU_MAXCASES) {
		fprintf(stderr, "testutil: more than %d cases in one suite\n", TU_MAXCASES);
		abort();
	}
	tu_cases[tu_ncases].name = test->name;
	tu_cases[tu_ncases++].tags = o->tags;
	TCase *tc = tcase_create(test->name); /* keeps the pointer: test->name is a string literal */
	if (o->setup || o->teardown)
		tcase_add_checked_fixture(tc, o->setup, o->teardown);
	if (o->tags)
		tcase_set_tags(tc, o->tags);
	if (o->timeout > 0)
		tcase_set_timeout(tc, o->timeout);
	if (o->loop_to > 0)
		tcase_add_loop_test(tc, test, 0, o->loop_to);
	else
		tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int tu_run(Suite *s, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (unsigned i = 0; i < tu_ncases; i++)
			printf("%s%s%s\n", tu_cases[i].name, tu_cases[i].tags ? "  tags: " : "",
			       tu_cases[i].tags ? tu_cases[i].tags : "");
		return EXIT_SUCCESS;
	}
	if (argc > 1) {
		fprintf(stderr,
		        "usage: %s [--list]\n"
		        "  CK_RUN_CASE=<case> runs one case; CK_INCLUDE_TAGS / CK_EXCLUDE_TAGS select by tag\n",
		        argv[0]);
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int ran = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (ran == 0 && (env("CK_RUN_CASE") || env("CK_RUN_SUITE"))) {
		fprintf(stderr, "%s: CK_RUN_SUITE=%s CK_RUN_CASE=%s selects no test; %s --list shows the cases\n",
		        argv[0], env("CK_RUN_SUITE") ? env("CK_RUN_SUITE") : "",
		        env("CK_RUN_CASE") ? env("CK_RUN_CASE") : "", argv[0]);
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- the store fixture ---- */

char *tu_dir, *tu_img;
unsigned tu_layout = SWAPOBJ_LAYOUT_DEFAULT;
const char *tu_paths[1];

void tu_store_setup(void)
{
	tu_dir = tu_mkdtemp(program_invocation_short_name);
	tu_img = tu_path(tu_dir, "store.img");
	tu_paths[0] = tu_img;
	tu_layout = SWAPOBJ_LAYOUT_DEFAULT;
}

void tu_store_teardown(void)
{
	io_set_hook(NULL);
	tu_rmdir(tu_dir);
	free(tu_dir);
	free(tu_img);
	tu_dir = tu_img = NULL;
	tu_paths[0] = NULL;
}

void tu_format(uint64_t size, uint32_t seg_size)
{
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = size;
	fo.segment_size = seg_size;
	fo.layout = tu_layout;
	ck_assert_msg(swapobj_format(tu_paths, 1, &fo) == 0, "format %s: %s", tu_img, swapobj_errmsg());
}

swapobj_store *tu_store_open(const struct swapobj_open_opts *oo)
{
	swapobj_store *st = NULL;
	struct swapobj_open_opts keep = SWAPOBJ_OPEN_OPTS_INIT;
	if (tu_layout == SWAPOBJ_LAYOUT_CLASSIC) {
		/* A classic store stays classic (a read-write open would upgrade it). */
		if (oo)
			keep = *oo;
		keep.flags |= SWAPOBJ_OPEN_NO_UPGRADE;
		oo = &keep;
	}
	ck_assert_msg(swapobj_store_open(&st, tu_paths, 1, oo) == 0, "open %s: %s", tu_img, swapobj_errmsg());
	return st;
}

swapobj_store *tu_mkstore(uint64_t size, uint32_t seg_size, const struct swapobj_open_opts *oo)
{
	tu_format(size, seg_size);
	return tu_store_open(oo);
}

swapobj_store *tu_reopen(swapobj_store *st, const struct swapobj_open_opts *oo)
{
	if (st)
		ck_assert_msg(swapobj_store_close(st) == 0, "close %s: %s", tu_img, swapobj_errmsg());
	return tu_store_open(oo);
}

uint64_t tu_seed(uint64_t def)
{
	const char *s = getenv("SWAPOBJ_SEED");
	return (s && *s) ? strtoull(s, NULL, 0) : def;
}

int tu_long(void)
{
	const char *s = getenv("SWAPOBJ_LONG");
	return s && *s && strcmp(s, "0") != 0;
}

uint64_t tu_scale(uint64_t n, uint64_t mult)
{
	return tu_long() ? n * mult : n;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void tu_rng_init(struct tu_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tu_rng_next(struct tu_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint64_t tu_rng_below(struct tu_rng *r, uint64_t n)
{
	return n ? tu_rng_next(r) % n : 0;
}

uint64_t tu_rng_draw(void *rng, uint64_t n)
{
	return tu_rng_below(rng, n);
}

char *tu_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;
	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/swapobj-%s-XXXXXX", base, tag) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

void tu_rmdir(const char *path)
{
	char *cmd;
	if (!path)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", path) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

swapobj_obj *tu_obj_named(swapobj_store *st, const char *name, unsigned flags)
{
	swapobj_key k;
	swapobj_obj *o = NULL;
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE | flags;
	swapobj_key_init(&k);
	ck_assert_int_eq(swapobj_key_push(&k, name, strlen(name)), 0);
	ck_assert_msg(swapobj_obj_open(&o, st, &k, &oo) == 0, "create %s: %s", name, swapobj_errmsg());
	return o;
}

void tu_damage_after_marker(const char *marker)
{
	int fd = open(tu_img, O_RDWR);
	struct stat sb;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	uint8_t *blk = malloc(1 << 20);
	off_t found = -1;
	ck_assert_ptr_nonnull(blk);
	/* Windows overlap by 64 bytes, so a marker across a window boundary is found too. */
	for (off_t off = 0; off < sb.st_size && found < 0; off += (1 << 20) - 64) {
		ssize_t n = pread(fd, blk, 1 << 20, off);
		for (ssize_t i = 0; i + 16 <= n; i++)
			if (!memcmp(blk + i, marker, 16)) {
				found = off + i;
				break;
			}
	}
	ck_assert_msg(found >= 0, "marker %.16s not found on %s", marker, tu_img);
	uint8_t x = 'R';
	ck_assert_int_eq(pwrite(fd, &x, 1, found + 2000), 1);
	close(fd);
	free(blk);
}

char *tu_path(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

void tu_fill_page(void *page, uint64_t tag, uint64_t pgoff, uint64_t version)
{
	uint64_t x = tag * 0x100000001b3ull ^ pgoff * 0x9e3779b97f4a7c15ull ^ version * 0xc2b2ae3d27d4eb4full;
	uint64_t *w = page;
	for (int i = 0; i < 512; i++)
		w[i] = splitmix(&x);
	/* A readable stamp at the start, handy when debugging dumps. */
	snprintf(page, 48, "tag=%llu pg=%llu v=%llu", (unsigned long long)tag, (unsigned long long)pgoff,
	         (unsigned long long)version);
}

void tu_vpage_fill(void *page, uint64_t tag, uint64_t pgoff, uint32_t ver)
{
	tu_fill_page(page, tag, pgoff, ver);
	memcpy((uint8_t *)page + 64, &ver, 4);
}

int64_t tu_vpage_version(const void *page, uint64_t tag, uint64_t pgoff)
{
	const uint8_t *p = page;
	uint8_t want[4096];
	uint32_t ver;
	if (p[0] == 0 && memcmp(p, p + 1, sizeof(want) - 1) == 0)
		return 0;
	memcpy(&ver, p + 64, 4);
	tu_vpage_fill(want, tag, pgoff, ver);
	return memcmp(p, want, sizeof(want)) == 0 ? (int64_t)ver : -1;
}

void tu_pstate_write(struct tu_pstate *ps, uint32_t ver, int ok)
{
	ps->dirty = 1;
	ps->maxver = ver;
	if (ok)
		ps->cur = ver;
}

void tu_pstate_punch(struct tu_pstate *ps, int ok)
{
	ps->dirty = ps->zeroed = 1;
	if (ok)
		ps->cur = 0;
}

void tu_pstate_ack(struct tu_pstate *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ps[i].synced = ps[i].cur;
		ps[i].maxver = 0;
		ps[i].dirty = ps[i].zeroed = 0;
	}
}

int tu_pstate_allows(const struct tu_pstate *ps, uint32_t ver)
{
	return ver == ps->synced || (ps->dirty && ver > ps->synced && ver <= ps->maxver) ||
	       (ps->dirty && ver == 0 && ps->zeroed);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		abort();
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *buf = malloc(end > 0 ? (size_t)end : 1);
	if (!buf || pread(fd, buf, (size_t)end, 0) != (ssize_t)end)
		abort();
	close(fd);
	*len = (size_t)end;
	return buf;
}

void tu_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, buf, len, 0) != (ssize_t)len)
		abort();
	close(fd);
}

void tu_flip_bit(const char *path, uint64_t bitoff)
{
	uint8_t b;
	int fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, &b, 1, (off_t)(bitoff / 8)) != 1)
		abort();
	b ^= (uint8_t)(1u << (bitoff % 8));
	if (pwrite(fd, &b, 1, (off_t)(bitoff / 8)) != 1)
		abort();
	close(fd);
}

long tu_walk_locs(const uint8_t *img, size_t len, tu_loc_fn fn, void *ctx)
{
	struct sb_info sb;
	long n = 0;
	if (len < 2 * SO_SB_SIZE ||
	    (sb_decode(img, SO_SB_SIZE, &sb) != 0 && sb_decode(img + SO_SB_SIZE, SO_SB_SIZE, &sb) != 0))
		return -1;
	uint64_t seed = store_seed(sb.uuid);
	for (uint32_t k = 0; k < sb.nsegs; k++) {
		uint64_t base = sb.data_start + (uint64_t)k * sb.seg_size;
		if (base + sb.seg_size > len)
			break;
		struct seg_img si;
		struct rec r;
		if (seg_img_open(&si, img + base, sb.seg_size, seed, sb.seg_base + k, &r) != REC_OK)
			continue;
		uint32_t gen = r.seg_gen;
		struct tu_rec_loc loc = {base + (si.hdr_copy == 1 ? SO_BLOCK : 0), 0, 0, SEGHDR_REC_SIZE, 0, si.split};
		fn(ctx, &loc, &r, REC_OK);
		n++;
		uint64_t lim = seg_stream_end(&si);
		for (uint64_t pos = SEGHDR_REC_SIZE; pos + REC_HDR_LEN <= lim;) {
			uint64_t phys;
			uint32_t sz;
			int copy;
			enum rec_verdict v = seg_rec_at(&si, pos, true, &r, &sz, &phys, &copy);
			if ((v != REC_OK && v != REC_BAD_CSUM) || r.seg_gen != gen || r.type == REC_SEGHDR) {
				pos += REC_ALIGN;
				continue;
			}
			loc.off = base + phys;
			loc.off_b = si.split ? base + SEG_COPY_B(phys) : 0;
			loc.data_off = r.hdr_len == REC_OOL_HDR_LEN ? base + r.doff : 0;
			loc.size = sz;
			loc.copy = copy;
			fn(ctx, &loc, &r, v);
			n++;
			pos += sz;
		}
	}
	return n;
}

struct walk_adapter {
	tu_rec_fn fn;
	void *ctx;
};

static void walk_adapt(void *ctx, const struct tu_rec_loc *loc, const struct rec *r, int verdict)
{
	struct walk_adapter *w = ctx;
	w->fn(w->ctx, loc->off, loc->size, r, verdict);
}

long tu_walk_records(const uint8_t *img, size_t len, tu_rec_fn fn, void *ctx)
{
	struct walk_adapter w = {fn, ctx};
	return tu_walk_locs(img, len, walk_adapt, &w);
}

struct zap_ctx {
	int type;
	uint64_t oid;
	int fd;
	long n;
};

static void zap_cb(void *ctx, const struct tu_rec_loc *loc, const struct rec *r, int verdict)
{
	struct zap_ctx *z = ctx;
	uint8_t zero[4] = {0};
	if (verdict != REC_OK || r->type != z->type || r->oid != z->oid)
		return;
	if (pwrite(z->fd, zero, 4, (off_t)loc->off) != 4 ||
	    (loc->off_b && pwrite(z->fd, zero, 4, (off_t)loc->off_b) != 4))
		abort();
	z->n++;
}

long tu_zap_records(const char *path, int type, uint64_t oid)
{
	size_t len;
	uint8_t *img = tu_read_file(path, &len);
	struct zap_ctx z = {type, oid, open(path, O_RDWR), 0};
	if (z.fd < 0)
		abort();
	tu_walk_locs(img, len, zap_cb, &z);
	close(z.fd);
	free(img);
	return z.n;
}
