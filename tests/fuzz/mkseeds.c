/*
 * mkseeds.c - seed corpora for the fuzzers: a small store is written
 * through the API (every record type, zero and fill pages, punch, truncate,
 * pin, delete, invalidation, a version replacement), once in each segment
 * layout (split and classic), then cut into the inputs each fuzzer takes.
 *
 * Usage: fuzz-mkseeds OUTDIR   (creates OUTDIR/<fuzzer>/seed-*)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "swapobj.h"
#include "util.h"

#define PG 4096u

static const char *outdir;
static unsigned nseeds[32];

static void seed(const char *target, unsigned idx, const void *a, size_t alen, const void *b, size_t blen)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", outdir, target);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/%s/seed-%u", outdir, target, nseeds[idx]++);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

static void ck(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "fuzz-mkseeds: %s: %s\n", what, swapobj_errmsg());
		exit(1);
	}
}

static swapobj_obj *mk(swapobj_store *st, const swapobj_key *k, uint64_t version)
{
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	swapobj_obj *o;
	oo.flags = SWAPOBJ_O_CREATE;
	oo.data_version = version;
	ck(swapobj_obj_open(&o, st, k, &oo), "create");
	return o;
}

static void build(const char *img, unsigned layout)
{
	const char *paths[1] = {img};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	swapobj_store *st;
	swapobj_key k, pre;
	uint8_t p[PG];
	fo.size = 20 << 20; /* the reserve, open segments and checkpoints leave room for the seed objects */
	fo.segment_size = 1 << 20;
	fo.layout = layout;
	ck(swapobj_format(paths, 1, &fo), "format");
	ck(swapobj_store_open(&st, paths, 1, NULL), "open");
	swapobj_key_anon(&k, 1, 1);
	swapobj_obj *a = mk(st, &k, 0);
	for (unsigned i = 0; i < PG; i++)
		p[i] = (uint8_t)(i * 7);
	ck((int)swapobj_obj_write(a, p, PG, 0), "write");
	memset(p, 0, PG);
	ck((int)swapobj_obj_write(a, p, PG, PG), "write");
	ck((int)swapobj_obj_write(a, p, PG, 2 * PG), "write");
	memset(p, 0x33, PG);
	ck((int)swapobj_obj_write(a, p, PG, 3 * PG), "write");
	ck((int)swapobj_obj_write(a, p, 10, 5 * PG), "write");
	ck(swapobj_obj_punch(a, 3 * PG, PG), "punch");
	ck(swapobj_obj_set_pin(a, 1), "pin");
	swapobj_key_shmem(&k, 1, 2, 3);
	swapobj_obj *b = mk(st, &k, 0);
	ck((int)swapobj_obj_write(b, p, PG, 0), "write");
	ck(swapobj_obj_truncate(b, 100), "truncate");
	swapobj_key_anon(&k, 1, 2);
	swapobj_obj *c = mk(st, &k, 0);
	ck((int)swapobj_obj_write(c, p, PG, 0), "write");
	ck(swapobj_obj_delete(c), "delete");
	swapobj_key_fscache(&k, "v", 1, "c", 1);
	swapobj_obj *d = mk(st, &k, 1);
	swapobj_obj *e = mk(st, &k, 2);
	ck((int)swapobj_obj_write(e, p, PG, 0), "write");
	swapobj_key_fscache(&k, "w", 1, "c", 1);
	swapobj_obj *g = mk(st, &k, 0);
	swapobj_key_prefix(&pre, &k, 2);
	ck(swapobj_invalidate(st, &pre), "invalidate");
	swapobj_obj *objs[] = {a, b, c, d, e, g};
	for (unsigned i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		swapobj_obj_close(objs[i]);
	ck(swapobj_store_close(st), "close");
}

static void cut(const uint8_t *im, size_t len)
{
	struct sb_info sb;
	if (sb_decode(im, SO_SB_SIZE, &sb) != 0) {
		fprintf(stderr, "fuzz-mkseeds: the image does not decode\n");
		exit(1);
	}
	uint64_t seed_v = store_seed(sb.uuid);
	seed("fuzz_superblock", 0, im, SO_SB_SIZE, NULL, 0);
	seed("fuzz_superblock", 0, im + SO_SB_SIZE, SO_SB_USED, NULL, 0);
	/* The image in fuzz_image's chunk format: every non-zero 4 KiB block of a segment in use. */
	size_t cap = 16u << 20, n = 0;
	uint8_t *in = malloc(cap);
	in[n++] = 0;
	memcpy(in + n, im, SO_SB_COPIES * SO_SB_SIZE);
	n += SO_SB_COPIES * SO_SB_SIZE;
	for (uint32_t s = 0; s < sb.nsegs; s++) {
		const uint8_t *seg = im + sb.data_start + (uint64_t)s * sb.seg_size;
		if (sb.data_start + (uint64_t)(s + 1) * sb.seg_size > len || so_get_le32(seg) == 0)
			continue;
		struct rec r;
		struct seg_img si;
		uint32_t sz;
		uint32_t gen = 0, end = 0;
		if (seg_img_open_whole(&si, seg, sb.seg_size, seed_v, sb.seg_base + s, &r) != REC_OK)
			continue;
		gen = r.seg_gen;
		/* Records of the segment: each one a seed for the record fuzzers. */
		for (uint64_t pos = 0; pos + REC_HDR_LEN <= seg_stream_end(&si);) {
			uint64_t phys;
			int copy;
			enum rec_verdict v = seg_rec_at(&si, pos, true, &r, &sz, &phys, &copy);
			if (v != REC_OK || r.seg_gen != gen) {
				pos += REC_ALIGN;
				continue;
			}
			/* A split segment's blocks matter wherever they are (its stream is at the end). */
			end = si.split ? sb.seg_size : (uint32_t)(pos + sz);
			seed("fuzz_record", 1, seg + phys, sz, NULL, 0);
			static const char *const tn[] = {"",         "seghdr", "data",       "create", "punch",
			                                 "truncate", "delete", "invalidate", "sync"};
			if (r.type < sizeof(tn) / sizeof(tn[0])) {
				char name[64];
				uint8_t h[40] = {0};
				h[0] = r.flags;
				so_put_le32(h + 1, r.raw_len);
				so_put_le64(h + 5, r.seq);
				so_put_le64(h + 13, r.oid);
				so_put_le64(h + 21, r.lpos);
				so_put_le64(h + 29, r.obj_size);
				h[37] = (uint8_t)r.seg_gen;
				snprintf(name, sizeof(name), "fuzz_rec_%s", tn[r.type]);
				seed(name, 2 + r.type, h, sizeof(h), r.payload, r.payload_len);
			}
			if (r.type == REC_CREATE)
				seed("fuzz_key", 20, r.payload + CREATE_KEY, r.payload_len - CREATE_KEY, NULL, 0);
			if (r.type == REC_INVALIDATE)
				seed("fuzz_key", 20, r.payload, r.payload_len, NULL, 0);
			pos += sz;
		}
		for (uint32_t off = 0; off < end; off += 4096) {
			uint32_t l = SO_MIN(4096u, end - off);
			if (so_mem_is_zero(seg + off, l))
				continue;
			if (n + 6 + l > cap)
				break;
			so_put_le16(in + n, (uint16_t)s);
			so_put_le16(in + n + 2, (uint16_t)(off / 16));
			so_put_le16(in + n + 4, (uint16_t)l);
			memcpy(in + n + 6, seg + off, l);
			n += 6 + l;
		}
	}
	/* Split segments whole, for the segment decoder's fuzzer. */
	for (uint32_t s = 0; s < sb.nsegs; s++) {
		const uint8_t *seg = im + sb.data_start + (uint64_t)s * sb.seg_size;
		struct seg_img si;
		struct rec r;
		if (sb.data_start + (uint64_t)(s + 1) * sb.seg_size > len ||
		    seg_img_open_whole(&si, seg, sb.seg_size, seed_v, sb.seg_base + s, &r) != REC_OK || !si.split)
			continue;
		uint8_t hdr[16];
		so_put_le64(hdr, seed_v);
		so_put_le64(hdr + 8, sb.seg_base + s);
		seed("fuzz_segment", 23, hdr, sizeof(hdr), seg, sb.seg_size);
	}
	/* The same image in each mode: plain, re-sealed with a repair, threaded. */
	unsigned modes[] = {0, 3, 4};
	for (unsigned i = 0; i < 3; i++) {
		in[0] = (uint8_t)modes[i];
		seed("fuzz_image", 21, in, n, NULL, 0);
	}
	free(in);
}

/* fuzz_log: record lists (12 bytes each) from a fixed pseudo-random sequence, in each mode. */
static void log_seeds(void)
{
	uint64_t x = 0x5eed;
	uint8_t in[1 + 12 * 80];
	unsigned modes[] = {1, 3, 5, 9, 11, 13}; /* 8: split layout */
	for (unsigned m = 0; m < 6; m++) {
		in[0] = (uint8_t)modes[m];
		for (unsigned i = 0; i < 80; i++) {
			uint8_t *d = in + 1 + 12 * i;
			for (unsigned b = 0; b < 12; b++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				d[b] = (uint8_t)(x >> 56);
			}
			so_put_le16(d + 4, (uint16_t)(1 + i * 3 + d[4] % 3)); /* mostly ascending seqs */
			d[3] %= 4;
			d[9] %= 32;
		}
		seed("fuzz_log", 22, in, sizeof(in), NULL, 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	char img[4096];
	snprintf(img, sizeof(img), "%s/.seed-store.img", outdir);
	static const unsigned layouts[] = {SWAPOBJ_LAYOUT_SPLIT, SWAPOBJ_LAYOUT_CLASSIC};
	for (unsigned l = 0; l < 2; l++) {
		unlink(img);
		build(img, layouts[l]);
		FILE *f = fopen(img, "rb");
		if (!f)
			return 1;
		fseek(f, 0, SEEK_END);
		long len = ftell(f);
		fseek(f, 0, SEEK_SET);
		uint8_t *im = malloc((size_t)len);
		if (!im || fread(im, 1, (size_t)len, f) != (size_t)len)
			return 1;
		fclose(f);
		unlink(img);
		cut(im, (size_t)len);
		free(im);
	}
	log_seeds();
	return 0;
}
