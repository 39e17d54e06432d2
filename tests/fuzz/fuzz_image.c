/*
 * fuzz_image.c - open, read and check (and repair) a hostile store image.
 *
 * The store lives in memory behind an io hook (io_set_hook): a sparse
 * 64 MiB device whose 4 KiB blocks are allocated when written; the file
 * the library opens (and locks) is an empty sparse file, never touched.
 *
 * Input: one mode byte, the 8 KiB superblock area, then chunks of
 * [u16 segment][u16 offset / 16][u16 length][bytes], each placed at that
 * offset of that segment (segments of the size the superblock names).
 * Mode bits:
 *   1  re-seal what looks like a superblock or a record (valid checksums,
 *      as if a hostile writer knew the store's seed), so the fuzzer gets
 *      past the checksums into replay and the checker's logic;
 *   2  repair (fsck -y), then check again: a repaired store must open and
 *      check without errors;
 *   4  the checker with its helper threads (else serial).
 * Whatever the bytes, nothing may crash, hang or allocate without bound.
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

#define DEV_BYTES (64u << 20)
#define BLK 4096u
#define NBLK (DEV_BYTES / BLK)

static uint8_t *blocks[NBLK];
static char path[64];
static const struct io_ops *posix_ops;

static int mem_pread(struct io_dev *d, void *buf, size_t len, uint64_t off)
{
	(void)d;
	if (off > DEV_BYTES || len > DEV_BYTES - off)
		return so_err(SWAPOBJ_EIO, "read past the end of the device");
	for (size_t done = 0; done < len;) {
		uint64_t b = (off + done) / BLK, in = (off + done) % BLK;
		size_t n = SO_MIN(len - done, (size_t)(BLK - in));
		if (blocks[b])
			memcpy((uint8_t *)buf + done, blocks[b] + in, n);
		else
			memset((uint8_t *)buf + done, 0, n);
		done += n;
	}
	return 0;
}

static int mem_pwrite(struct io_dev *d, const void *buf, size_t len, uint64_t off)
{
	(void)d;
	if (off > DEV_BYTES || len > DEV_BYTES - off)
		return so_err(SWAPOBJ_ENOSPC, "write past the end of the device");
	for (size_t done = 0; done < len;) {
		uint64_t b = (off + done) / BLK, in = (off + done) % BLK;
		size_t n = SO_MIN(len - done, (size_t)(BLK - in));
		if (!blocks[b] && !(blocks[b] = calloc(1, BLK)))
			return so_err(SWAPOBJ_ENOMEM, "out of memory");
		memcpy(blocks[b] + in, (const uint8_t *)buf + done, n);
		done += n;
	}
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
	posix_ops = d->ops;
	d->ops = &mem_ops;
	d->size = DEV_BYTES;
}

static void put(uint64_t off, const uint8_t *src, size_t len)
{
	if (off < DEV_BYTES)
		mem_pwrite(NULL, src, SO_MIN(len, (size_t)(DEV_BYTES - off)), off);
}

static void reset(void)
{
	for (size_t i = 0; i < NBLK; i++) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
}

/* Re-seal both superblock copies and every record-looking thing in the first bytes of each segment. */
static void reseal(uint32_t seg_size)
{
	uint8_t sb[SO_SB_SIZE];
	uint64_t seed = 0;
	for (unsigned c = 0; c < SO_SB_COPIES; c++) {
		mem_pread(NULL, sb, SO_SB_SIZE, c * SO_SB_SIZE);
		so_put_le64(sb + SB_CSUM, so_hash64(sb, SB_CSUM, 0));
		mem_pwrite(NULL, sb, SO_SB_SIZE, c * SO_SB_SIZE);
		if (c == 0)
			seed = store_seed(sb + SB_UUID);
	}
	static uint8_t buf[1u << 20];
	for (uint64_t s = 0; SO_DATA_START + (s + 1) * seg_size <= DEV_BYTES; s++) {
		uint64_t base = SO_DATA_START + s * seg_size;
		if (!blocks[base / BLK])
			continue;
		uint32_t len = SO_MIN(seg_size, (uint32_t)sizeof(buf));
		mem_pread(NULL, buf, len, base);
		for (uint64_t pos = 0; pos + REC_HDR_LEN <= len;) {
			if (so_get_le32(buf + pos) != REC_MAGIC) {
				pos += REC_ALIGN;
				continue;
			}
			uint32_t plen = so_get_le32(buf + pos + RH_PAYLOAD_LEN);
			if (so_get_le16(buf + pos + RH_HDR_LEN) == REC_OOL_HDR_LEN && pos + REC_OOL_HDR_LEN <= len) {
				/* An out-of-line header (split segments): its payload where its extension says. */
				uint64_t doff = (uint64_t)so_get_le32(buf + pos + RX_DOFF) * ADDR_UNIT;
				if (doff > len)
					doff = len;
				if (plen > len - doff)
					plen = (uint32_t)(len - doff);
				so_put_le32(buf + pos + RH_HDR_CSUM, rec_hdr_csum(buf + pos, seed));
				so_put_le64(buf + pos + RH_CSUM, plen ? so_hash64(buf + doff, plen, seed) : 0);
				pos += REC_OOL_HDR_LEN;
				continue;
			}
			if (plen > len - pos - REC_HDR_LEN)
				plen = (uint32_t)(len - pos - REC_HDR_LEN);
			so_put_le16(buf + pos + RH_HDR_LEN, REC_HDR_LEN);
			so_put_le32(buf + pos + RH_HDR_CSUM, (uint32_t)so_hash64(buf + pos, RH_HDR_CSUM, seed));
			so_put_le64(buf + pos + RH_CSUM, plen ? so_hash64(buf + pos + REC_HDR_LEN, plen, seed) : 0);
			pos += rec_size(plen);
		}
		mem_pwrite(NULL, buf, len, base);
	}
}

/* Open read-only and read every object's first pages (the read path on hostile data). */
static void read_all(const char *const *paths)
{
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	swapobj_store *st;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	if (swapobj_store_open(&st, paths, 1, &oo) != 0)
		return;
	swapobj_key stack[8];
	struct swapobj_cursor cur[8];
	int depth = 0;
	swapobj_key_init(&stack[0]);
	memset(&cur[0], 0, sizeof(cur[0]));
	static uint8_t page[4 * 4096];
	unsigned visited = 0;
	while (depth >= 0 && visited < 256) {
		struct swapobj_dirent de;
		int rc = swapobj_list_next(&de, st, &stack[depth], &cur[depth]);
		if (rc != 1) {
			depth--;
			continue;
		}
		visited++;
		swapobj_key k = stack[depth];
		if (swapobj_key_push(&k, de.name, de.name_len) != 0)
			continue;
		if (de.type == SWAPOBJ_DT_PREFIX) {
			if (depth + 1 < 8) {
				depth++;
				stack[depth] = k;
				memset(&cur[depth], 0, sizeof(cur[depth]));
			}
			continue;
		}
		swapobj_obj *o;
		struct swapobj_obj_stat os;
		if (swapobj_obj_open(&o, st, &k, NULL) != 0)
			continue;
		swapobj_obj_stat(&os, sizeof(os), o);
		swapobj_obj_read(o, page, sizeof(page), 0, 0);
		if (os.size > sizeof(page))
			swapobj_obj_read(o, page, sizeof(page), os.size - sizeof(page), 0);
		swapobj_obj_close(o);
	}
	swapobj_store_close(st);
}

/* FUZZ_VERBOSE=1: what each pass of the checker found (for reproducing a finding). */
static void show(const char *pass, const struct fsck_result *r)
{
	if (!getenv("FUZZ_VERBOSE"))
		return;
	for (uint64_t i = 0; i < r->nproblems; i++)
		fprintf(stderr, "%s: %s %s seg %lld off %llu%s: %s\n", pass, fsck_sev_name(r->problems[i].sev),
		        fsck_kind_name(r->problems[i].kind), (long long)r->problems[i].segno,
		        (unsigned long long)r->problems[i].off, r->problems[i].fixed ? " [fixed]" : "",
		        r->problems[i].msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/dev/shm/swapobj-fuzz-%d.img", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, DEV_BYTES) != 0)
		abort();
	close(fd);
	io_set_hook(hook);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;
	reset();
	put(0, data, SO_MIN(size, (size_t)(SO_SB_COPIES * SO_SB_SIZE)));
	struct sb_info sb;
	uint32_t seg_size = sb_decode(data, SO_MIN(size, (size_t)SO_SB_SIZE), &sb) == 0 ? sb.seg_size : (1u << 20);
	for (size_t pos = SO_SB_COPIES * SO_SB_SIZE; pos + 6 <= size;) {
		uint32_t seg = so_get_le16(data + pos), off = so_get_le16(data + pos + 2) * 16u;
		uint32_t len = so_get_le16(data + pos + 4);
		pos += 6;
		len = (uint32_t)SO_MIN((size_t)len, size - pos);
		if (off < seg_size)
			put(SO_DATA_START + (uint64_t)seg * seg_size + off, data + pos, SO_MIN(len, seg_size - off));
		pos += len;
	}
	if (mode & 1)
		reseal(seg_size);
	const char *paths[1] = {path};
	struct fsck_opts fo = {0};
	struct fsck_result r;
	fo.flags = (mode & 4) ? 0 : FSCK_SERIAL;
	fsck_run(paths, 1, &fo, &r);
	show("check", &r);
	fsck_result_free(&r);
	read_all(paths);
	if (mode & 2) {
		fo.flags |= FSCK_REPAIR;
		int err = fsck_run(paths, 1, &fo, &r);
		show("repair", &r);
		uint64_t left = fsck_errors_left(&r);
		fsck_result_free(&r);
		if (err == 0 && left == 0) {
			fo.flags &= ~FSCK_REPAIR;
			if (fsck_run(paths, 1, &fo, &r) == 0 && r.errors) {
				for (uint64_t i = 0; i < r.nproblems; i++)
					fprintf(stderr, "after repair: %s: %s\n", fsck_kind_name(r.problems[i].kind),
					        r.problems[i].msg);
				abort();
			}
			fsck_result_free(&r);
		}
	}
	return 0;
}
