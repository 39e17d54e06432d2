/*
 * swapobj-fsck - check (and repair) a store: superblocks, segments, every
 * record, and the index the library builds against the records.
 *
 * Usage: swapobj-fsck [-n | -y] [--rebuild] [--json] [-v] DEVICE...
 * Exit status, as e2fsck (the sum of the conditions that hold):
 *   0 no errors, 1 errors corrected, 4 errors left uncorrected,
 *   8 operational error (cannot open or read the devices, not a store,
 *     store in use), 16 usage error.
 * The checking itself is libswapobj/check/fsck.c.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsck.h"
#include "swapobj.h"
#include "toolutil.h"
#include "util.h"

#define EXIT_CLEAN 0
#define EXIT_CORRECTED 1
#define EXIT_UNCORRECTED 4
#define EXIT_OPERATIONAL 8
#define EXIT_USAGE 16

static const char *prog = "swapobj-fsck";

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] DEVICE...\n"
	        "Check a swapobj store: both superblock copies of every device, every segment header and\n"
	        "record (header and payload checksums, structure), and the index the library builds when\n"
	        "it opens the store against an independent recount from the records. Changes nothing\n"
	        "unless -y is given.\n\n"
	        "  -n, --no          check only; open the devices read-only (the default)\n"
	        "  -y, --yes         repair: rewrite bad superblock copies, retire damaged records,\n"
	        "                    punch pages whose only copy is damaged (each one is reported)\n"
	        "      --rebuild     discard checkpoints so that the next open rebuilds the index from\n"
	        "                    the whole log (format 1 has none: verify and report)\n"
	        "  -j, --json        one JSON report on stdout\n"
	        "  -v, --verbose     also informational findings and the time of each phase\n"
	        "      --direct      read with O_DIRECT (default: buffered reads with read-ahead, which\n"
	        "                    the library's open of the store then finds in the page cache)\n"
	        "  -h, --help        this help\n"
	        "  -V, --version     print the version\n\n"
	        "Exit status (the sum of): 0 no errors, 1 errors corrected, 4 errors left uncorrected,\n"
	        "8 operational error (cannot open or read the devices, not a store, store in use),\n"
	        "16 usage error.\n",
	        prog);
}

/* ------------------------------------------------------------------ */
/* Progress on a terminal                                              */
/* ------------------------------------------------------------------ */

struct progress {
	bool on;
	uint64_t last_ns;
	const char *last_phase;
};

static void progress_cb(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	uint64_t now = so_now_ns();
	if (!p->on || (phase == p->last_phase && now - p->last_ns < 100000000ull && done < total))
		return;
	p->last_ns = now;
	p->last_phase = phase;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 0, w = 40, fill = pct * w / 100;
	char bar[48];
	for (unsigned i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[w] = 0;
	fprintf(stderr, "\r%-12s [%s] %3u%%", phase, bar, pct);
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->on && p->last_phase)
		fprintf(stderr, "\r\033[K");
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_problem_text(const struct fsck_problem *p)
{
	char where[96] = "";
	if (p->segno >= 0)
		snprintf(where, sizeof(where), "segment %" PRId64 " offset %" PRIu64 " (device %d): ", p->segno, p->off,
		         p->dev);
	else if (p->dev >= 0)
		snprintf(where, sizeof(where), "device %d offset %" PRIu64 ": ", p->dev, p->off);
	printf("%s: %s%s%s\n", fsck_sev_name(p->sev), where, p->msg, p->fixed ? " [fixed]" : "");
}

static void print_problem_json(const struct fsck_problem *p)
{
	printf("{\"severity\":\"%s\",\"kind\":\"%s\",\"fixed\":%s,\"device\":%d,\"segment\":%" PRId64
	       ",\"offset\":%" PRIu64 ",\"type\":\"%s\",\"oid\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"lpos\":%" PRIu64
	       ",\"message\":",
	       fsck_sev_name(p->sev), fsck_kind_name(p->kind), p->fixed ? "true" : "false", p->dev, p->segno, p->off,
	       p->type ? fsck_type_name(p->type) : "", p->oid, p->seq, p->lpos);
	json_str(p->msg);
	putchar('}');
}

static int exit_status(const struct fsck_result *r)
{
	int st = 0;
	if (r->fixed_errors || r->modified)
		st |= EXIT_CORRECTED;
	if (fsck_errors_left(r))
		st |= EXIT_UNCORRECTED;
	return st;
}

static void report_json(const struct fsck_result *r, char **devs, unsigned ndev, int status, int err, bool verbose)
{
	printf("{\"devices\":[");
	for (unsigned i = 0; i < ndev; i++) {
		if (i)
			putchar(',');
		json_str(devs[i]);
	}
	printf("],\"exit\":%d,", status);
	if (err < 0) {
		printf("\"error\":");
		json_str(swapobj_errmsg());
		putchar(',');
	}
	printf("\"segment_size\":%u,\"segments\":%" PRIu64 ",\"segments_used\":%" PRIu64 ",\"store_bytes\":%" PRIu64
	       ",\"bytes_read\":%" PRIu64 ",\"records\":%" PRIu64 ",\"durable_seq\":%" PRIu64 ",\"objects\":%" PRIu64
	       ",\"pages\":%" PRIu64 ",\"live_bytes\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"warnings\":%" PRIu64
	       ",\"infos\":%" PRIu64 ",\"errors_corrected\":%" PRIu64 ",\"errors_left\":%" PRIu64
	       ",\"damaged_headers\":%" PRIu64 ",\"damaged_payloads\":%" PRIu64 ",\"torn\":%" PRIu64
	       ",\"lost_pages\":%" PRIu64 ",\"copy_damage\":%" PRIu64 ",\"lost_regions\":%" PRIu64
	       ",\"modified\":%s,\"scan_ms\":%.1f,\"total_ms\":%.1f,\"checkpoint\":",
	       r->seg_size, r->segments, r->segments_used, r->store_bytes, r->bytes_read, r->records, r->durable_seq,
	       r->objects, r->pages, r->live_bytes, r->errors, r->warnings, r->infos, r->fixed_errors,
	       fsck_errors_left(r), r->damaged_headers, r->damaged_payloads, r->torn, r->lost_pages, r->copy_damage,
	       r->lost_regions, r->modified ? "true" : "false", (double)r->scan_ns / 1e6, (double)r->total_ns / 1e6);
	json_str(r->checkpoint);
	printf(",\"problems_not_listed\":%" PRIu64 ",\"problems\":[", r->problems_dropped);
	bool first = true;
	for (uint64_t i = 0; i < r->nproblems; i++) {
		if (r->problems[i].sev == FSCK_INFO && !verbose)
			continue;
		if (!first)
			putchar(',');
		first = false;
		print_problem_json(&r->problems[i]);
	}
	printf("]}\n");
}

static void report_text(const struct fsck_result *r, bool verbose)
{
	char b1[32], b2[32];
	for (uint64_t i = 0; i < r->nproblems; i++)
		if (r->problems[i].sev != FSCK_INFO || verbose)
			print_problem_text(&r->problems[i]);
	if (r->problems_dropped)
		printf("... and %" PRIu64 " more problems not listed\n", r->problems_dropped);
	printf("store: %u device%s, %" PRIu64 " segments of %s (%" PRIu64 " in use), %" PRIu64 " records, %" PRIu64
	       " objects, %" PRIu64 " pages, %s live\n",
	       r->ndevs, r->ndevs == 1 ? "" : "s", r->segments, tool_human(r->seg_size, b1, sizeof(b1)),
	       r->segments_used, r->records, r->objects, r->pages, tool_human(r->live_bytes, b2, sizeof(b2)));
	printf("checkpoint: %s\n", r->checkpoint);
	double secs = (double)r->total_ns / 1e9;
	printf("checked %s in %.2f s (%.2f GB/s; %s read)\n", tool_human(r->store_bytes, b1, sizeof(b1)), secs,
	       secs > 0 ? (double)r->store_bytes / secs / 1e9 : 0.0, tool_human(r->bytes_read, b2, sizeof(b2)));
	if (verbose)
		printf("log scan %.1f ms, durable point seq %" PRIu64 "\n", (double)r->scan_ns / 1e6, r->durable_seq);
	if (!r->errors && !r->warnings)
		printf("clean\n");
	else
		printf("%" PRIu64 " error%s (%" PRIu64 " corrected, %" PRIu64 " left), %" PRIu64 " warning%s (%" PRIu64
		       " fixed); %" PRIu64 " damaged headers, %" PRIu64 " damaged payloads, %" PRIu64
		       " torn writes, %" PRIu64 " damaged pages; %" PRIu64
		       " records damaged in one copy (nothing lost), %" PRIu64 " regions lost in both copies\n",
		       r->errors, r->errors == 1 ? "" : "s", r->fixed_errors, fsck_errors_left(r), r->warnings,
		       r->warnings == 1 ? "" : "s", r->fixed_warnings, r->damaged_headers, r->damaged_payloads, r->torn,
		       r->lost_pages, r->copy_damage, r->lost_regions);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"no", no_argument, 0, 'n'},   {"yes", no_argument, 0, 'y'},     {"rebuild", no_argument, 0, 'R'},
	    {"json", no_argument, 0, 'j'}, {"verbose", no_argument, 0, 'v'}, {"direct", no_argument, 0, 'D'},
	    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
	int c, no = 0, yes = 0, json = 0, verbose = 0;
	struct fsck_opts fo = {0};
	while ((c = getopt_long(argc, argv, "nyjvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			no = 1;
			break;
		case 'y':
			yes = 1;
			break;
		case 'R':
			fo.flags |= FSCK_REBUILD;
			break;
		case 'j':
			json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'D':
			fo.flags |= FSCK_DIRECT;
			break;
		case 'h':
		case 'V':
			return tool_common_opt(c, prog, usage);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (no && yes) {
		fprintf(stderr, "%s: -n and -y exclude each other\n", prog);
		return EXIT_USAGE;
	}
	if (optind >= argc || argc - optind > SWAPOBJ_MAX_DEVICES) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (yes)
		fo.flags |= FSCK_REPAIR;
	if (getenv("SWAPOBJ_FSCK_SERIAL"))
		fo.flags |= FSCK_SERIAL;
	struct progress pr = {isatty(2) != 0, 0, NULL};
	fo.progress = progress_cb;
	fo.progress_ctx = &pr;
	unsigned ndev = (unsigned)(argc - optind);
	struct fsck_result res;
	int err = fsck_run((const char *const *)(argv + optind), ndev, &fo, &res);
	progress_end(&pr);
	int status = err < 0 ? EXIT_OPERATIONAL : exit_status(&res);
	if (json) {
		report_json(&res, argv + optind, ndev, status, err, verbose);
	} else if (err < 0) {
		fprintf(stderr, "%s: %s\n", prog, swapobj_errmsg());
		if (err == SWAPOBJ_EBUSY)
			fprintf(stderr, "%s: the store is in use; close it first\n", prog);
	} else {
		report_text(&res, verbose);
	}
	fsck_result_free(&res);
	return status;
}
