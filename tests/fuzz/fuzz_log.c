/*
 * fuzz_log.c - replay and the checker on hostile but well-formed logs.
 *
 * The input is a list of records, not bytes of an image: each is sealed
 * with the store's seed into the segment it names, after that segment's
 * header, so every one of them passes its checksums and reaches replay's
 * and the checker's logic: objects created, deleted, invalidated and
 * re-created under clashing keys, pages written, punched and truncated in
 * any order, duplicate and out-of-order sequence numbers, durable points
 * anywhere. Optionally a few bytes are then damaged.
 *
 * Input: mode byte (1: repair then check again, 2: damage bytes, 4: the
 * checker's helper threads, 8: the split segment layout: headers in a
 * stream written twice, pages and large payloads out of line), then
 * 12-byte record descriptions:
 *   segment, type, flags, oid, seq (u16), page (u16), pages, size (pages),
 *   key/payload selector, version/value
 * Properties: no crash, hang or unbounded allocation; after a repair the
 * store opens and checks without errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "fsck.h"
#include "io.h"
#include "swapobj.h"
#include "util.h"

#define NSEG 8u
#define SEG (1u << 20)
#define DEV_BYTES (SO_DATA_START + NSEG * SEG)

static uint8_t *dev;
static char path[64];
static uint64_t seed;
static uint32_t fill[NSEG];  /* classic: next byte; split: next stream offset */
static uint32_t dfill[NSEG]; /* split: next byte of the data area */
static bool split;

static int mem_pread(struct io_dev *d, void *buf, size_t len, uint64_t off)
{
	(void)d;
	if (off > DEV_BYTES || len > DEV_BYTES - off)
		return so_err(SWAPOBJ_EIO, "read past the end of the device");
	memcpy(buf, dev + off, len);
	return 0;
}

static int mem_pwrite(struct io_dev *d, const void *buf, size_t len, uint64_t off)
{
	(void)d;
	if (off > DEV_BYTES || len > DEV_BYTES - off)
		return so_err(SWAPOBJ_ENOSPC, "write past the end of the device");
	memcpy(dev + off, buf, len);
	return 0;
}

static int mem_sync(struct io_dev *d)
{
	(void)d;
	return 0;
}

static const struct io_ops mem_ops = {.pread = mem_pread, .pwrite = mem_pwrite, .sync = mem_sync};

static void hook(struct io_dev *d)
{
	d->ops = &mem_ops;
	d->size = DEV_BYTES;
}

/* A few keys that share prefixes, so creates, invalidations and clashes meet. */
static uint32_t key_of(uint8_t sel, uint8_t *out)
{
	swapobj_key k;
	switch (sel % 6) {
	case 0:
		swapobj_key_anon(&k, 1, sel / 6 % 3);
		break;
	case 1:
		swapobj_key_anon(&k, 1, 0);
		break;
	case 2:
		swapobj_key_fscache(&k, "v", 1, "c", 1);
		break;
	case 3:
		swapobj_key_fscache(&k, "v", 1, sel & 0x40 ? "d" : "c", 1);
		break;
	case 4: /* a prefix of the others, as an object key */
		swapobj_key_init(&k);
		swapobj_key_push(&k, "anon", 4);
		swapobj_key_push_u64(&k, 1);
		break;
	default:
		swapobj_key_init(&k);
		swapobj_key_push(&k, "fscache", 7);
		break;
	}
	return key_encode(out, &k, k.ncomp);
}

/* Split layout: the record into segment s's stream (both copies), its payload out of line if it must be. */
static void seal_split(uint32_t s, struct rec *r, const uint8_t *payload, uint32_t plen)
{
	uint8_t *seg = dev + SO_DATA_START + (uint64_t)s * SEG;
	bool page = r->type == REC_DATA && !(r->flags & REC_F_KNOWN);
	bool ool = page || plen > REC_INLINE_MAX;
	uint32_t len = ool ? REC_OOL_HDR_LEN : rec_size(plen);
	uint64_t p = fill[s];
	if (p % SPLIT_SECTOR + len > SPLIT_SECTOR)
		p = seg_next_sector(p);
	uint64_t top = (p + len - 1) / 4096, nblk = SEG / 4096;
	if (top + 1 > (nblk - SPLIT_HDR_BLOCKS) / 2)
		return;
	uint64_t low = (nblk - 2 - 2 * top) * 4096;
	uint64_t d = ool ? SO_ROUND_UP((uint64_t)dfill[s], page ? 4096u : REC_ALIGN) : dfill[s];
	if (d + (ool ? plen : 0) > low)
		return;
	uint8_t *hdr = seg + seg_phys(SEG, true, p);
	r->payload_len = plen;
	r->seg_gen = s + 1;
	if (ool) {
		memcpy(seg + d, payload, plen);
		rec_seal_ool(hdr, r, seg + d, (uint32_t)d, seed);
		dfill[s] = (uint32_t)(d + plen);
	} else {
		if (plen)
			memcpy(hdr + REC_HDR_LEN, payload, plen);
		rec_seal(hdr, r, seed);
	}
	memcpy(hdr + 4096, hdr, len); /* copy B */
	fill[s] = (uint32_t)(p + len);
}

static void seal_into(uint32_t s, struct rec *r, const uint8_t *payload, uint32_t plen)
{
	if (split && r->type != REC_SEGHDR) {
		seal_split(s, r, payload, plen);
		return;
	}
	uint32_t sz = rec_size(plen);
	if (fill[s] + sz > SEG)
		return;
	uint8_t *dst = dev + SO_DATA_START + (uint64_t)s * SEG + fill[s];
	r->payload_len = plen;
	r->seg_gen = s + 1;
	if (plen)
		memcpy(dst + REC_HDR_LEN, payload, plen);
	rec_seal(dst, r, seed);
	fill[s] += sz;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/dev/shm/swapobj-fuzzlog-%d.img", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, DEV_BYTES) != 0)
		abort();
	close(fd);
	dev = malloc(DEV_BYTES);
	if (!dev)
		abort();
	io_set_hook(hook);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	memset(dev, 0, DEV_BYTES);
	/* Superblocks. */
	struct sb_info sb = {0};
	sb.version = SO_FORMAT_VERSION;
	memcpy(sb.uuid, "fuzzlog-uuid-16b", 16);
	sb.ndevs = 1;
	sb.seg_size = SEG;
	sb.page_size = SWAPOBJ_PAGE_SIZE;
	sb.dev_bytes = DEV_BYTES;
	sb.data_start = SO_DATA_START;
	sb.nsegs = NSEG;
	sb.total_segs = NSEG;
	split = (mode & 8) != 0;
	sb.incompat = split ? SB_INCOMPAT_SPLIT : 0;
	sb_encode(dev, &sb);
	memcpy(dev + SO_SB_SIZE, dev, SO_SB_SIZE);
	seed = store_seed(sb.uuid);
	/* Segment headers: every segment in use, generation = index + 1. */
	for (uint32_t s = 0; s < NSEG; s++) {
		struct rec h = {0};
		uint8_t p[SEGHDR_LEN] = {0};
		fill[s] = 0;
		h.type = REC_SEGHDR;
		h.lpos = s;
		if (split)
			so_put_le32(p + SEGHDR_FLAGS, SEGHDR_F_SPLIT);
		seal_into(s, &h, p, SEGHDR_LEN);
		if (split) {
			/* Its copies: block 1 and the head of the stream (both copies of that). */
			uint8_t *seg = dev + SO_DATA_START + (uint64_t)s * SEG;
			memcpy(seg + 4096, seg, SEGHDR_REC_SIZE);
			memcpy(seg + seg_phys(SEG, true, 0), seg, SEGHDR_REC_SIZE);
			memcpy(seg + seg_phys(SEG, true, 0) + 4096, seg, SEGHDR_REC_SIZE);
			fill[s] = SEGHDR_REC_SIZE;
			dfill[s] = SPLIT_HDR_BLOCKS * 4096;
		}
	}
	size_t pos = 1;
	for (; pos + 12 <= size; pos += 12) {
		const uint8_t *d = data + pos;
		uint32_t s = d[0] % NSEG;
		struct rec r = {0};
		uint8_t payload[SWAPOBJ_PAGE_SIZE];
		uint32_t plen = 0;
		r.type = (uint8_t)(1 + d[1] % 8);
		r.flags = d[2];
		r.oid = d[3] % 8;
		r.seq = so_get_le16(d + 4);
		r.lpos = (uint64_t)(so_get_le16(d + 6) % 512) * SWAPOBJ_PAGE_SIZE;
		r.obj_size = (uint64_t)d[9] * SWAPOBJ_PAGE_SIZE + (d[11] & 0x0f) * 100;
		switch (r.type) {
		case REC_SEGHDR:
			continue; /* one per segment */
		case REC_DATA:
			if (r.flags & REC_F_ZERO) {
				r.flags = REC_F_ZERO;
				r.raw_len = (uint32_t)(1 + d[8] % REC_ZERO_MAX_PAGES) * SWAPOBJ_PAGE_SIZE;
			} else if (r.flags & REC_F_FILL) {
				r.flags = REC_F_FILL;
				r.raw_len = SWAPOBJ_PAGE_SIZE;
				memset(payload, d[11], 8);
				plen = 8;
			} else {
				r.flags = 0;
				r.raw_len = SWAPOBJ_PAGE_SIZE;
				memset(payload, d[11], SWAPOBJ_PAGE_SIZE);
				plen = SWAPOBJ_PAGE_SIZE;
			}
			break;
		case REC_CREATE:
			r.flags = 0;
			payload[CREATE_CLASS] = d[10] & 1 ? SWAPOBJ_CLASS_CACHE : SWAPOBJ_CLASS_SWAP;
			payload[CREATE_FLAGS] = d[2] & CREATE_F_KNOWN;
			so_put_le32(payload + CREATE_AUXLEN, 0); /* no aux data */
			so_put_le64(payload + CREATE_VERSION, d[11] % 4);
			plen = key_of(d[10] >> 1, payload + CREATE_KEY);
			so_put_le16(payload + CREATE_KEYLEN, (uint16_t)plen);
			plen += CREATE_KEY;
			break;
		case REC_PUNCH:
			r.flags = 0;
			so_put_le64(payload, (uint64_t)d[8] * SWAPOBJ_PAGE_SIZE);
			plen = 8;
			break;
		case REC_INVALIDATE: {
			uint8_t k[KEYENC_MAX];
			swapobj_key full, pre;
			uint32_t kl = key_of(d[10], k);
			r.flags = 0;
			r.oid = 0;
			key_decode(k, kl, &full);
			swapobj_key_prefix(&pre, &full, 1 + d[8] % full.ncomp);
			plen = key_encode(payload, &pre, pre.ncomp);
			break;
		}
		case REC_SYNC:
			r.flags = 0;
			r.oid = 0;
			so_put_le64(payload, so_get_le16(d + 8));
			so_put_le64(payload + 8, d[11]);
			plen = 16;
			break;
		default: /* TRUNCATE, DELETE */
			r.flags = 0;
			break;
		}
		if (r.type != REC_SYNC && r.type != REC_INVALIDATE && r.oid == 0)
			r.oid = 1;
		seal_into(s, &r, payload, plen);
	}
	if ((mode & 2) && size > 1) {
		/* Damage: a few bytes, chosen by the input's tail. */
		for (size_t i = pos; i + 4 <= size; i += 4) {
			uint32_t at = so_get_le32(data + i) % (NSEG * SEG);
			dev[SO_DATA_START + at] ^= data[i + 3] | 1;
		}
	}
	const char *paths[1] = {path};
	struct fsck_opts fo = {0};
	struct fsck_result r;
	fo.flags = (mode & 4) ? 0 : FSCK_SERIAL;
	fsck_run(paths, 1, &fo, &r);
	if (getenv("FUZZ_VERBOSE"))
		for (uint64_t i = 0; i < r.nproblems; i++)
			fprintf(stderr, "check: segment %lld offset %llu seq %llu: %s %s: %s\n",
			        (long long)r.problems[i].segno, (unsigned long long)r.problems[i].off,
			        (unsigned long long)r.problems[i].seq, fsck_sev_name(r.problems[i].sev),
			        fsck_kind_name(r.problems[i].kind), r.problems[i].msg);
	fsck_result_free(&r);
	if (mode & 1) {
		fo.flags |= FSCK_REPAIR;
		int err = fsck_run(paths, 1, &fo, &r);
		uint64_t left = fsck_errors_left(&r);
		fsck_result_free(&r);
		if (err != 0 || left)
			return 0;
		fo.flags &= ~FSCK_REPAIR;
		if (fsck_run(paths, 1, &fo, &r) != 0 || r.errors) {
			for (uint64_t i = 0; i < r.nproblems; i++)
				fprintf(stderr, "after repair: segment %lld offset %llu seq %llu: %s %s: %s\n",
				        (long long)r.problems[i].segno, (unsigned long long)r.problems[i].off,
				        (unsigned long long)r.problems[i].seq, fsck_sev_name(r.problems[i].sev),
				        fsck_kind_name(r.problems[i].kind), r.problems[i].msg);
			abort();
		}
		fsck_result_free(&r);
		swapobj_store *st;
		if (swapobj_store_open(&st, paths, 1, NULL) != 0) {
			fprintf(stderr, "after repair the store does not open: %s\n", swapobj_errmsg());
			abort();
		}
		swapobj_store_close(st);
	}
	return 0;
}
