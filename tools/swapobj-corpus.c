/*
 * swapobj-corpus - capture a page corpus from running processes' anonymous
 * memory, for swapobj-bench --corpus and swapobj-demo --corpus.
 *
 * Usage: swapobj-corpus [-o FILE] [-m MAX_MIB] [--zero-pages keep|drop] PID...
 *
 * For each PID, in order, the private anonymous mappings of /proc/PID/maps
 * that are readable (no file behind them, or [heap], [stack], [anon:...])
 * are read through /proc/PID/mem and written as 4 KiB pages to one zstd
 * stream (checksummed frames), which the corpus loader of the tools reads
 * back (zstd -dc gives the raw pages). Only the pages /proc/PID/pagemap
 * shows in memory or in swap are read: a page the process never touched
 * would read as zeros, but swap never sees it, and reading it would map the
 * zero page into the process (and fill its page tables, ruinous for a huge
 * sparse mapping such as a sanitizer's shadow); those are counted as not
 * in memory. All-zero pages that are in memory are kept or dropped
 * (--zero-pages) and counted. Ranges the kernel refuses to read (EIO,
 * EFAULT) are skipped page by page and counted. Capture stops at MAX_MIB of
 * pages written.
 *
 * Reading another process's memory needs ptrace access to it (same user and
 * the Yama ptrace_scope allowing it, or CAP_SYS_PTRACE). The pages are read
 * while the process runs: a corpus is a sample, not a snapshot.
 *
 * Exit: 0 corpus written, 1 a process could not be read or the file not
 * written (the partial file is removed), 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "toolutil.h"

#define PG 4096u
#define CHUNK (1u << 20)    /* bytes read from /proc/PID/mem per call */
#define PM_BATCH (1u << 15) /* pagemap entries per read: a huge sparse mapping is mostly holes */
/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

static const char *prog = "swapobj-corpus";

struct capture {
	FILE *out;
	ZSTD_CCtx *cc;
	uint8_t *zbuf; /* compressed output staging */
	size_t zcap;
	bool drop_zero;
	uint64_t max_pages; /* pages to write at most */
	/* figures */
	uint64_t pages;      /* pages written */
	uint64_t zero;       /* all-zero pages seen (written or dropped) */
	uint64_t unreadable; /* pages the kernel would not read */
	uint64_t absent;     /* pages neither in memory nor in swap: skipped */
	uint64_t mappings;
	uint64_t zbytes; /* compressed bytes written */
	bool progress;
	uint64_t next_report;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] PID...\n"
	        "Capture the private anonymous memory (heap, stack, anonymous mappings) of running\n"
	        "processes as a zstd-compressed stream of 4 KiB pages: a page corpus for\n"
	        "swapobj-bench --corpus and swapobj-demo --corpus. Only pages in memory or in swap\n"
	        "are read (as /proc/PID/pagemap shows them).\n\n"
	        "  -o, --output FILE          where the corpus goes (default corpus.zst; - for stdout)\n"
	        "  -m, --max-mib N            stop after N MiB of pages (default 256)\n"
	        "  -z, --zero-pages keep|drop keep all-zero pages (default; real memory has them)\n"
	        "                             or leave them out\n"
	        "  -l, --level N              zstd level (default 3)\n"
	        "  -h, --help                 this help\n"
	        "  -V, --version              print the version\n\n"
	        "Needs ptrace access to each process (same user and Yama ptrace_scope 0, or root).\n"
	        "Exit status: 0 corpus written, 1 a process could not be read or the file not written,\n"
	        "2 usage error.\n",
	        prog);
}

/* Compress what in holds (or finish the frame): 0 or -1 with a message. */
static int emit(struct capture *c, const void *src, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {src, len, 0};
	size_t left;
	do {
		ZSTD_outBuffer ob = {c->zbuf, c->zcap, 0};
		left = ZSTD_compressStream2(c->cc, &ob, &in, mode);
		if (ZSTD_isError(left)) {
			fprintf(stderr, "%s: zstd: %s\n", prog, ZSTD_getErrorName(left));
			return -1;
		}
		if (ob.pos && fwrite(c->zbuf, 1, ob.pos, c->out) != ob.pos) {
			fprintf(stderr, "%s: write: %s\n", prog, strerror(errno));
			return -1;
		}
		c->zbytes += ob.pos;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PG / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Take the npages pages at buf: count zeros, write what is kept. */
static int take_pages(struct capture *c, const uint8_t *buf, uint64_t npages)
{
	for (uint64_t i = 0; i < npages && c->pages < c->max_pages; i++) {
		const uint8_t *p = buf + i * PG;
		bool zero = page_is_zero(p);
		c->zero += zero;
		if (zero && c->drop_zero)
			continue;
		if (emit(c, p, PG, ZSTD_e_continue) < 0)
			return -1;
		c->pages++;
	}
	if (c->progress && c->pages >= c->next_report) {
		fprintf(stderr, "\r%s: %" PRIu64 " MiB captured", prog, c->pages * PG >> 20);
		c->next_report = c->pages + (64u << 20) / PG;
	}
	return 0;
}

/* Read npages pages from addr on; pages the kernel will not read are skipped and counted. */
static int read_pages(struct capture *c, int memfd, const char *pid, uint64_t addr, uint64_t npages, uint8_t *buf)
{
	uint64_t end = addr + npages * PG;
	for (uint64_t a = addr; a < end && c->pages < c->max_pages;) {
		size_t len = end - a < CHUNK ? (size_t)(end - a) : CHUNK;
		ssize_t n = pread(memfd, buf, len, (off_t)a);
		if (n < 0 && errno == EINTR)
			continue;
		if (n >= (ssize_t)PG) {
			uint64_t np = (uint64_t)n / PG;
			if (take_pages(c, buf, np) < 0)
				return -1;
			a += np * PG;
			continue;
		}
		if (n < 0 && errno != EIO && errno != EFAULT) {
			fprintf(stderr, "%s: process %s: read at 0x%" PRIx64 ": %s\n", prog, pid, a, strerror(errno));
			return -1;
		}
		/* The page at a cannot be read (or a short read left less than a page): skip it. */
		c->unreadable++;
		a += PG;
	}
	return 0;
}

/*
 * Capture [start, end) of the process: /proc/PID/pagemap says which pages
 * are in memory or in swap; only those are read. A page that is neither was
 * never touched (or was discarded): swap never sees it, and reading it
 * through /proc/PID/mem would map the zero page into the process and fill
 * its page tables, so it is counted as absent and skipped.
 */
static int read_range(struct capture *c, int memfd, int pmfd, const char *pid, uint64_t start, uint64_t end,
                      uint8_t *buf, uint64_t *pm)
{
	for (uint64_t a = start; a < end && c->pages < c->max_pages;) {
		uint64_t npg = (end - a) / PG < PM_BATCH ? (end - a) / PG : PM_BATCH;
		ssize_t n = pread(pmfd, pm, npg * sizeof(*pm), (off_t)(a / PG * sizeof(*pm)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(*pm)) {
			fprintf(stderr, "%s: process %s: pagemap at 0x%" PRIx64 ": %s\n", prog, pid, a,
			        n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		npg = (uint64_t)n / sizeof(*pm);
		for (uint64_t i = 0; i < npg && c->pages < c->max_pages;) {
			if (!(pm[i] & (PM_PRESENT | PM_SWAPPED))) {
				c->absent++;
				i++;
				continue;
			}
			uint64_t j = i;
			while (j < npg && (pm[j] & (PM_PRESENT | PM_SWAPPED)))
				j++;
			if (read_pages(c, memfd, pid, a + i * PG, j - i, buf) < 0)
				return -1;
			i = j;
		}
		a += npg * PG;
	}
	return 0;
}

/*
 * Whether a /proc/PID/maps line names a mapping to capture: readable,
 * private, no file behind it, and not a kernel-provided page ([vdso],
 * [vvar], [vsyscall]).
 */
static bool wanted(const char *perms, unsigned long long inode, const char *path)
{
	if (perms[0] != 'r' || perms[3] != 'p' || inode != 0)
		return false;
	return !*path || strcmp(path, "[heap]") == 0 || strncmp(path, "[stack", 6) == 0 ||
	       strncmp(path, "[anon:", 6) == 0;
}

static int capture_pid(struct capture *c, const char *pid, uint8_t *buf, uint64_t *pm)
{
	char path[64], line[PATH_MAX + 128];
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	FILE *maps = fopen(path, "r");
	if (!maps) {
		int e = errno;
		fprintf(stderr, "%s: process %s: %s%s\n", prog, pid, e == ENOENT ? "no such process" : strerror(e),
		        e == EACCES || e == EPERM ? " (reading its maps needs ptrace access)" : "");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	int memfd = open(path, O_RDONLY);
	if (memfd < 0) {
		int e = errno;
		fprintf(stderr, "%s: process %s: cannot open its memory: %s%s\n", prog, pid, strerror(e),
		        e == EACCES || e == EPERM ? " (needs ptrace access: same user and Yama ptrace_scope 0, or root)"
		                                  : "");
		fclose(maps);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%s/pagemap", pid);
	int pmfd = open(path, O_RDONLY);
	if (pmfd < 0) {
		fprintf(stderr, "%s: process %s: cannot open its pagemap: %s\n", prog, pid, strerror(errno));
		close(memfd);
		fclose(maps);
		return -1;
	}
	int rc = 0;
	while (rc == 0 && c->pages < c->max_pages && fgets(line, sizeof(line), maps)) {
		unsigned long long start, end, off, inode;
		char perms[8], dev[32];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms, &off, dev, &inode, &pos) < 6 ||
		    strlen(perms) < 4) {
			fprintf(stderr, "%s: process %s: cannot parse maps line: %s", prog, pid, line);
			rc = -1;
			break;
		}
		char *name = line + pos;
		name[strcspn(name, "\n")] = 0;
		if (!wanted(perms, inode, name))
			continue;
		c->mappings++;
		rc = read_range(c, memfd, pmfd, pid, start, end, buf, pm);
	}
	close(pmfd);
	close(memfd);
	fclose(maps);
	return rc;
}

static bool parse_pid(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return !errno && end != s && !*end && v > 0 && v <= INT_MAX;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
	                                         {"max-mib", required_argument, 0, 'm'},
	                                         {"zero-pages", required_argument, 0, 'z'},
	                                         {"level", required_argument, 0, 'l'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"version", no_argument, 0, 'V'},
	                                         {0, 0, 0, 0}};
	const char *out_path = "corpus.zst";
	uint64_t max_mib = 256;
	int level = 3, c;
	bool drop_zero = false;
	while ((c = getopt_long(argc, argv, "o:m:z:l:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || v == 0 || v > (1ull << 30)) {
				fprintf(stderr, "%s: bad --max-mib '%s' (a number of MiB, at least 1)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			max_mib = v;
			break;
		}
		case 'z':
			if (strcmp(optarg, "keep") == 0) {
				drop_zero = false;
			} else if (strcmp(optarg, "drop") == 0) {
				drop_zero = true;
			} else {
				fprintf(stderr, "%s: bad --zero-pages '%s' (keep or drop)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'l': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > ZSTD_maxCLevel()) {
				fprintf(stderr, "%s: bad --level '%s' (1..%d)\n", prog, optarg, ZSTD_maxCLevel());
				return TOOL_EXIT_USAGE;
			}
			level = (int)v;
			break;
		}
		default:
			return tool_common_opt(c, prog, usage);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no PID given\n", prog);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (!parse_pid(argv[i])) {
			fprintf(stderr, "%s: '%s' is not a process id\n", prog, argv[i]);
			return TOOL_EXIT_USAGE;
		}

	struct capture cap;
	memset(&cap, 0, sizeof(cap));
	cap.drop_zero = drop_zero;
	cap.max_pages = max_mib * ((1u << 20) / PG);
	cap.zcap = ZSTD_CStreamOutSize();
	bool to_stdout = strcmp(out_path, "-") == 0;
	FILE *report = to_stdout ? stderr : stdout;
	cap.progress = isatty(STDERR_FILENO);
	cap.next_report = (64u << 20) / PG;
	int rc = TOOL_EXIT_FAIL;
	uint8_t *buf = malloc(CHUNK);
	uint64_t *pm = malloc(PM_BATCH * sizeof(*pm));
	cap.zbuf = malloc(cap.zcap);
	cap.cc = ZSTD_createCCtx();
	if (!buf || !pm || !cap.zbuf || !cap.cc) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto done;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cap.cc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cap.cc, ZSTD_c_checksumFlag, 1))) {
		fprintf(stderr, "%s: zstd parameters refused\n", prog);
		goto done;
	}
	cap.out = to_stdout ? stdout : fopen(out_path, "wb");
	if (!cap.out) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, out_path, strerror(errno));
		goto done;
	}
	for (int i = optind; i < argc && cap.pages < cap.max_pages; i++)
		if (capture_pid(&cap, argv[i], buf, pm) < 0)
			goto done;
	if (cap.progress)
		fprintf(stderr, "\r");
	if (cap.pages == 0) {
		fprintf(stderr,
		        "%s: no pages captured (%" PRIu64 " mappings, %" PRIu64 " zero pages%s, %" PRIu64
		        " pages not in memory)\n",
		        prog, cap.mappings, cap.zero, drop_zero ? " dropped" : "", cap.absent);
		goto done;
	}
	if (emit(&cap, NULL, 0, ZSTD_e_end) < 0)
		goto done;
	if (fflush(cap.out) != 0 || ferror(cap.out)) {
		fprintf(stderr, "%s: write %s: %s\n", prog, out_path, strerror(errno));
		goto done;
	}
	char h1[32], h2[32];
	fprintf(report,
	        "%s: %" PRIu64 " pages (%s) from %" PRIu64 " mappings of %d process%s; %" PRIu64
	        " zero pages %s, %" PRIu64 " pages not in memory and %" PRIu64 " unreadable pages skipped; %" PRIu64
	        " bytes (%s) written to %s\n",
	        prog, cap.pages, tool_human(cap.pages * PG, h1, sizeof(h1)), cap.mappings, argc - optind,
	        argc - optind == 1 ? "" : "es", cap.zero, drop_zero ? "dropped" : "kept", cap.absent, cap.unreadable,
	        cap.zbytes, tool_human(cap.zbytes, h2, sizeof(h2)), to_stdout ? "stdout" : out_path);
	rc = TOOL_EXIT_OK;
done:
	if (cap.out && !to_stdout) {
		if (fclose(cap.out) != 0 && rc == TOOL_EXIT_OK) {
			fprintf(stderr, "%s: close %s: %s\n", prog, out_path, strerror(errno));
			rc = TOOL_EXIT_FAIL;
		}
		if (rc != TOOL_EXIT_OK)
			unlink(out_path);
	}
	ZSTD_freeCCtx(cap.cc);
	free(cap.zbuf);
	free(pm);
	free(buf);
	return rc;
}
