/*
 * swapobj-dump - show what a store holds: superblocks, segments, records,
 * objects. Reads the devices directly (read-only, through the format
 * decoders), so it also works on a store that does not open.
 *
 * Segments of either layout are read through seg_img (format.h): a split
 * segment's records are listed by their stream offset, with the copy read
 * (A or B, '!' when the other copy says something else) and, for payloads
 * out of line, their offset and length in the data area.
 *
 * Usage: swapobj-dump [--segments] [--records] [--objects] [--json] DEVICE...
 * Exit: 0 printed, 1 cannot read the devices, 2 usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "io.h"
#include "swapobj.h"
#include "toolutil.h"
#include "util.h"

static const char *prog = "swapobj-dump";

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] DEVICE...\n"
	        "Show the superblocks, segments, records and objects of a store, read directly from\n"
	        "the devices (read-only; works on stores that do not open).\n\n"
	        "  -s, --segments  one line per segment in use (default if nothing else is chosen)\n"
	        "  -r, --records   every record of every segment in use\n"
	        "  -o, --objects   objects, as the library sees them after replaying the log\n"
	        "  -j, --json      JSON lines instead of text\n"
	        "  -h, --help      this help\n"
	        "  -V, --version   print the version\n\n"
	        "Exit status: 0 printed, 1 the devices could not be read, 2 usage error.\n",
	        prog);
}

static const char *type_name(uint8_t t)
{
	static const char *names[] = {"?",      "SEGHDR",     "DATA", "CREATE", "PUNCH", "TRUNCATE",
	                              "DELETE", "INVALIDATE", "SYNC", "AUX",    "RENAME"};
	return t < SO_ARRAY_SIZE(names) ? names[t] : "?";
}

static void print_key(const swapobj_key *k, int json)
{
	for (uint32_t i = 0; i < k->ncomp; i++) {
		putchar('/');
		for (uint32_t b = 0; b < k->len[i]; b++) {
			uint8_t c = k->buf[k->off[i] + b];
			if (c >= 0x21 && c < 0x7f && c != '%' && c != '/' && c != '"' && c != '\\')
				putchar(c);
			else
				printf("%%%02x", c);
		}
	}
	(void)json;
}

struct dev {
	struct io_dev io;
	struct sb_info sb;
};

/* What a name record (CREATE, RENAME) or AUX record says beyond its header; nothing for other types. */
static void print_ident(const struct rec *r, bool intact, int json)
{
	struct name_rec nr;
	swapobj_key k;
	if (!intact)
		return;
	if (r->type == REC_AUX) {
		printf(json ? ",\"aux_len\":%u" : " aux %u", r->payload_len);
		return;
	}
	if ((r->type != REC_CREATE && r->type != REC_RENAME) ||
	    name_rec_decode(r->payload, r->payload_len, &nr, &k) < 0)
		return;
	printf(json ? ",\"key\":\"" : " key ");
	print_key(&k, json);
	if (json)
		printf("\",\"aux_len\":%u,\"dir\":%s", nr.auxlen, nr.flags & CREATE_F_DIR ? "true" : "false");
	else
		printf(" aux %u%s", nr.auxlen, nr.flags & CREATE_F_DIR ? " DIR" : "");
	if (r->type == REC_RENAME && r->lpos)
		printf(json ? ",\"replaced\":%" PRIu64 : " replaces %" PRIu64, r->lpos);
}

/*
 * The other copy of a split segment's stream record (phys: copy A's offset, copy: the one read)
 * says something else in the bytes the checksums cover?
 */
static bool other_copy_differs(const struct seg_img *si, uint64_t phys, int copy, const struct rec *r,
                               enum rec_verdict v, uint32_t sz)
{
	if (!si->split)
		return false;
	uint32_t n = r->hdr_len == REC_OOL_HDR_LEN ? REC_OOL_HDR_LEN : v == REC_OK ? REC_HDR_LEN + r->payload_len : sz;
	const uint8_t *used = si->img + (copy ? SEG_COPY_B(phys) : phys);
	const uint8_t *other = si->img + (copy ? phys : SEG_COPY_B(phys));
	return memcmp(used, other, n) != 0;
}

static void print_record(uint32_t segno, const struct seg_img *si, uint64_t pos, uint64_t phys, int copy, bool differs,
                         const struct rec *r, enum rec_verdict v, uint32_t sz, int json)
{
	bool ool = r->hdr_len == REC_OOL_HDR_LEN;
	if (json) {
		printf("{\"segment\":%u,\"offset\":%" PRIu64 ",\"type\":\"%s\",\"flags\":%u,"
		       "\"seq\":%" PRIu64 ",\"oid\":%" PRIu64 ",\"lpos\":%" PRIu64
		       ",\"raw_len\":%u,\"obj_size\":%" PRIu64 ",\"size\":%u,\"damaged\":%s",
		       segno, phys, type_name(r->type), r->flags, r->seq, r->oid, r->lpos, r->raw_len, r->obj_size, sz,
		       v == REC_BAD_CSUM ? "true" : "false");
		if (si->split)
			printf(",\"stream_offset\":%" PRIu64 ",\"copy\":\"%c\",\"other_copy_differs\":%s", pos,
			       copy ? 'B' : 'A', differs ? "true" : "false");
		if (ool)
			printf(",\"data_offset\":%u,\"data_len\":%u", r->doff, r->payload_len);
	} else {
		if (si->split)
			printf("  seg %5u s+%-7" PRIu64 " %c%s", segno, pos, copy ? 'B' : 'A', differs ? "!" : " ");
		else
			printf("  seg %5u +%-8" PRIu64 "  ", segno, pos);
		printf(" %-10s seq %-10" PRIu64 " oid %-8" PRIu64 " lpos %-12" PRIu64 " len %-6u size %-12" PRIu64
		       "%s%s",
		       type_name(r->type), r->seq, r->oid, r->lpos, r->raw_len, r->obj_size,
		       r->type != REC_DATA     ? ""
		       : r->flags & REC_F_ZERO ? " ZERO"
		       : r->flags & REC_F_FILL ? " FILL"
		                               : "",
		       v == REC_BAD_CSUM ? " DAMAGED-PAYLOAD" : "");
		if (ool)
			printf(" data +%u len %u", r->doff, r->payload_len);
		if (differs)
			printf(" (copy %c differs)", copy ? 'A' : 'B');
	}
	print_ident(r, v == REC_OK, json);
	printf(json ? "}\n" : "\n");
}

static int dump_records(struct dev *devs, unsigned ndev, int want_seg, int want_rec, int json)
{
	uint32_t seg_size = devs[0].sb.seg_size;
	uint64_t seed = store_seed(devs[0].sb.uuid);
	uint8_t *buf = so_alloc_aligned(SO_MEM_OTHER, seg_size);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return TOOL_EXIT_FAIL;
	}
	for (unsigned d = 0; d < ndev; d++) {
		for (uint32_t k = 0; k < devs[d].sb.nsegs; k++) {
			uint32_t segno = devs[d].sb.seg_base + k;
			uint64_t devoff = devs[d].sb.data_start + (uint64_t)k * seg_size;
			struct rec r;
			struct seg_img si;
			uint32_t sz;
			/* Blocks 0 and 1: a split segment's header has a copy in block 1. */
			if (io_pread(&devs[d].io, buf, 2 * IO_ALIGN, devoff) < 0) {
				fprintf(stderr, "%s: %s\n", prog, swapobj_errmsg());
				so_free_aligned(SO_MEM_OTHER, buf, seg_size);
				return TOOL_EXIT_FAIL;
			}
			if (seg_img_open(&si, buf, seg_size, seed, segno, &r) != REC_OK ||
			    (so_get_le32(r.payload + SEGHDR_FLAGS) & SEGHDR_F_ERASED))
				continue; /* free (never used, or erased after cleaning) */
			if (io_pread(&devs[d].io, buf, seg_size, devoff) < 0) {
				fprintf(stderr, "%s: %s\n", prog, swapobj_errmsg());
				so_free_aligned(SO_MEM_OTHER, buf, seg_size);
				return TOOL_EXIT_FAIL;
			}
			uint32_t gen = r.seg_gen;
			int hdr_copy = si.hdr_copy;
			uint64_t count[REC_TYPE_MAX + 1] = {0}, bytes = SEGHDR_REC_SIZE, damaged = 0, skipped = 0,
			                              minseq = UINT64_MAX, maxseq = 0, pos = SEGHDR_REC_SIZE, end = pos;
			uint64_t data_end = 0, differ = 0, lim = seg_stream_end(&si);
			while (pos + REC_HDR_LEN <= lim) {
				uint64_t phys;
				int copy;
				enum rec_verdict v = SPLIT_SECTOR - pos % SPLIT_SECTOR < REC_HDR_LEN && si.split
				                         ? REC_TRUNCATED
				                         : seg_rec_at(&si, pos, true, &r, &sz, &phys, &copy);
				if ((v != REC_OK && v != REC_BAD_CSUM) || r.seg_gen != gen || r.type == REC_SEGHDR) {
					if (si.split && seg_sector_rest_zero(&si, pos)) {
						pos =
						    seg_next_sector(pos); /* the rest of a sector no record fitted in */
						continue;
					}
					pos += REC_ALIGN; /* end of records, or damage: resynchronise */
					skipped += REC_ALIGN;
					continue;
				}
				if (skipped && want_rec)
					printf(json ? "{\"segment\":%u,\"gap\":%" PRIu64 ",\"at\":%" PRIu64 "}\n"
					            : "  seg %u: %" PRIu64
					              " bytes without a valid record before %" PRIu64 "\n",
					       segno, skipped, pos);
				skipped = 0;
				bool differs = other_copy_differs(&si, phys, copy, &r, v, sz);
				differ += differs;
				count[r.type]++;
				damaged += v == REC_BAD_CSUM;
				bytes += sz;
				minseq = SO_MIN(minseq, r.seq);
				maxseq = SO_MAX(maxseq, r.seq);
				if (r.hdr_len == REC_OOL_HDR_LEN)
					data_end = SO_MAX(data_end, (uint64_t)r.doff + r.payload_len);
				if (want_rec)
					print_record(segno, &si, pos, phys, copy, differs, &r, v, sz, json);
				pos += sz;
				end = pos;
			}
			if (want_seg) {
				if (json)
					printf(
					    "{\"segment\":%u,\"device\":%u,\"gen\":%u,\"layout\":\"%s\",\"bytes\":"
					    "%" PRIu64 ",\"data\":%" PRIu64 ",\"create\":%" PRIu64 ",\"punch\":%" PRIu64
					    ",\"truncate\":%" PRIu64 ",\"delete\":%" PRIu64 ",\"invalidate\":%" PRIu64
					    ",\"sync\":%" PRIu64 ",\"aux\":%" PRIu64 ",\"rename\":%" PRIu64
					    ",\"damaged\":%" PRIu64 ",\"min_seq\":%" PRIu64 ",\"max_seq\":%" PRIu64,
					    segno, d, gen, si.split ? "split" : "classic", bytes, count[REC_DATA],
					    count[REC_CREATE], count[REC_PUNCH], count[REC_TRUNCATE], count[REC_DELETE],
					    count[REC_INVALIDATE], count[REC_SYNC], count[REC_AUX], count[REC_RENAME],
					    damaged, minseq == UINT64_MAX ? 0 : minseq, maxseq);
				else
					printf("segment %5u dev %u gen %-6u %-7s %8" PRIu64 " bytes: %" PRIu64
					       " data, %" PRIu64 " create, %" PRIu64 " punch, %" PRIu64
					       " truncate, %" PRIu64 " delete, %" PRIu64 " invalidate, %" PRIu64
					       " sync, %" PRIu64 " aux, %" PRIu64 " rename%s; seq %" PRIu64
					       "..%" PRIu64,
					       segno, d, gen, si.split ? "split" : "classic", bytes, count[REC_DATA],
					       count[REC_CREATE], count[REC_PUNCH], count[REC_TRUNCATE],
					       count[REC_DELETE], count[REC_INVALIDATE], count[REC_SYNC],
					       count[REC_AUX], count[REC_RENAME], damaged ? " (DAMAGED records)" : "",
					       minseq == UINT64_MAX ? 0 : minseq, maxseq);
				if (si.split) {
					/* Split: how far the stream (down from the end) and the data area (up from
					 * block 2) reach. */
					if (json)
						printf(",\"stream_bytes\":%" PRIu64 ",\"data_end\":%" PRIu64
						       ",\"header_copy\":%d,\"copies_differ\":%" PRIu64,
						       end, data_end, hdr_copy, differ);
					else
						printf("; stream %" PRIu64 " bytes, data area to +%" PRIu64 "%s%s", end,
						       data_end, hdr_copy == 1 ? ", header read from block 1" : "",
						       differ ? ", COPIES DIFFER" : "");
				}
				printf(json ? "}\n" : "\n");
			}
		}
	}
	so_free_aligned(SO_MEM_OTHER, buf, seg_size);
	return TOOL_EXIT_OK;
}

/* Walk the namespace through the public API (read-only open). */
static int walk(swapobj_store *st, swapobj_key *prefix, int json)
{
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	int rc;
	while ((rc = swapobj_list_next(&de, st, prefix, &cur)) == 1) {
		swapobj_key k = *prefix;
		if (swapobj_key_push(&k, de.name, de.name_len) < 0)
			return -1;
		swapobj_obj *o;
		struct swapobj_obj_stat os;
		int err = swapobj_obj_open(&o, st, &k, NULL);
		if (de.type == SWAPOBJ_DT_PREFIX && err == SWAPOBJ_EISDIR) {
			if (walk(st, &k, json) < 0) /* a plain prefix: no object of its own */
				return -1;
			continue;
		}
		if (err < 0 || swapobj_obj_stat(&os, sizeof(os), o) < 0)
			return -1;
		int aux = swapobj_obj_get_aux(o, NULL, 0);
		swapobj_obj_close(o);
		printf(json ? "{\"key\":\"" : "");
		print_key(&k, json);
		if (json)
			printf("\",\"id\":%" PRIu64 ",\"class\":\"%s\",\"version\":%" PRIu64 ",\"size\":%" PRIu64
			       ",\"pages\":%" PRIu64 ",\"zero_pages\":%" PRIu64 ",\"extents\":%" PRIu64
			       ",\"stored_bytes\":%" PRIu64 ",\"pinned\":%s,\"dir\":%s,\"aux_len\":%d}\n",
			       os.id, os.cls == SWAPOBJ_CLASS_CACHE ? "cache" : "swap", os.data_version, os.size,
			       os.pages, os.zero_pages, os.extents, os.stored_bytes,
			       os.flags & SWAPOBJ_O_PIN ? "true" : "false", os.flags & SWAPOBJ_O_DIR ? "true" : "false",
			       aux);
		else
			printf("  id %" PRIu64 " %s v%" PRIu64 " size %" PRIu64 " pages %" PRIu64 " (zero %" PRIu64
			       ") extents %" PRIu64 " stored %" PRIu64 " aux %d%s%s\n",
			       os.id, os.cls == SWAPOBJ_CLASS_CACHE ? "cache" : "swap", os.data_version, os.size,
			       os.pages, os.zero_pages, os.extents, os.stored_bytes, aux,
			       os.flags & SWAPOBJ_O_PIN ? " pinned" : "", os.flags & SWAPOBJ_O_DIR ? " directory" : "");
		if (de.type == SWAPOBJ_DT_PREFIX && walk(st, &k, json) < 0) /* a directory object's children */
			return -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"segments", no_argument, 0, 's'},
	                                         {"records", no_argument, 0, 'r'},
	                                         {"objects", no_argument, 0, 'o'},
	                                         {"json", no_argument, 0, 'j'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"version", no_argument, 0, 'V'},
	                                         {0, 0, 0, 0}};
	int c, want_seg = 0, want_rec = 0, want_obj = 0, json = 0;
	while ((c = getopt_long(argc, argv, "srojhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			want_seg = 1;
			break;
		case 'r':
			want_rec = 1;
			break;
		case 'o':
			want_obj = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return tool_common_opt(c, prog, usage);
		}
	}
	if (optind >= argc || argc - optind > SWAPOBJ_MAX_DEVICES) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (!want_seg && !want_rec && !want_obj)
		want_seg = 1;
	unsigned ndev = (unsigned)(argc - optind);
	struct dev devs[SWAPOBJ_MAX_DEVICES];
	uint8_t *blk = so_alloc_aligned(SO_MEM_OTHER, 2 * SO_SB_SIZE);
	int rc = TOOL_EXIT_OK;
	unsigned opened = 0;
	for (; opened < ndev; opened++) {
		struct dev *d = &devs[opened];
		if (io_open(&d->io, argv[optind + opened], true, false, false, false) < 0 ||
		    io_pread(&d->io, blk, 2 * SO_SB_SIZE, 0) < 0) {
			fprintf(stderr, "%s: %s\n", prog, swapobj_errmsg());
			rc = TOOL_EXIT_FAIL;
			goto out;
		}
		int c0 = sb_decode(blk, SO_SB_SIZE, &d->sb), c1 = sb_decode(blk + SO_SB_SIZE, SO_SB_SIZE, &d->sb);
		if (c0 < 0 && c1 < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[optind + opened], swapobj_errmsg());
			rc = TOOL_EXIT_FAIL;
			opened++;
			goto out;
		}
		if (c0 == 0)
			sb_decode(blk, SO_SB_SIZE, &d->sb);
		char uuid[33];
		for (int i = 0; i < 16; i++)
			snprintf(uuid + 2 * i, 3, "%02x", d->sb.uuid[i]);
		if (json)
			printf("{\"device\":\"%s\",\"index\":%u,\"devices\":%u,\"uuid\":\"%s\",\"version\":%u,"
			       "\"segment_size\":%u,\"segments\":%u,\"seg_base\":%u,\"superblock_copies_valid\":%d}\n",
			       argv[optind + opened], d->sb.dev_index, d->sb.ndevs, uuid, d->sb.version, d->sb.seg_size,
			       d->sb.nsegs, d->sb.seg_base, (c0 == 0) + (c1 == 0));
		else
			printf(
			    "device %s: index %u of %u, store %s, format %u, %u segments of %u bytes from global %u; "
			    "superblock copies valid: %d of 2\n",
			    argv[optind + opened], d->sb.dev_index, d->sb.ndevs, uuid, d->sb.version, d->sb.nsegs,
			    d->sb.seg_size, d->sb.seg_base, (c0 == 0) + (c1 == 0));
	}
	/* Devices in index order, as the store numbers its segments. */
	for (unsigned i = 0; i < ndev; i++)
		for (unsigned j = i + 1; j < ndev; j++)
			if (devs[j].sb.dev_index < devs[i].sb.dev_index) {
				struct dev t = devs[i];
				devs[i] = devs[j];
				devs[j] = t;
			}
	if (want_seg || want_rec)
		rc = dump_records(devs, ndev, want_seg, want_rec, json);
	if (rc == TOOL_EXIT_OK && want_obj) {
		const char *paths[SWAPOBJ_MAX_DEVICES];
		struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
		swapobj_store *st;
		swapobj_key root;
		for (unsigned i = 0; i < ndev; i++)
			paths[i] = argv[optind + i];
		oo.flags = SWAPOBJ_OPEN_RDONLY;
		if (swapobj_store_open(&st, paths, ndev, &oo) < 0) {
			rc = tool_fail(prog, "cannot open store to list objects", -1);
		} else {
			swapobj_key_init(&root);
			if (walk(st, &root, json) < 0)
				rc = tool_fail(prog, "listing objects", -1);
			swapobj_store_close(st);
		}
	}
out:
	for (unsigned i = 0; i < opened; i++)
		io_close(&devs[i].io);
	so_free_aligned(SO_MEM_OTHER, blk, 2 * SO_SB_SIZE);
	return rc;
}
