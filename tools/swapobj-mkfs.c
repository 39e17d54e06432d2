/*
 * swapobj-mkfs - format files or block devices as a libswapobj store.
 *
 * Usage: swapobj-mkfs [-s SIZE] [-S SEGSIZE] [-q] DEVICE...
 * Exit: 0 formatted, 1 failed (message on stderr), 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "swapobj.h"
#include "toolutil.h"

static const char *prog = "swapobj-mkfs";

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] DEVICE...\n"
	        "Format one or more regular files or block devices as one libswapobj store.\n"
	        "Everything on the devices is lost.\n\n"
	        "  -s, --size SIZE         size of each regular file (created or extended, sparse);\n"
	        "                          default: the file's current size. Ignored for block devices.\n"
	        "  -S, --segment-size SIZE segment size, power of two from 1M to 64M (default 8M)\n"
	        "  -q, --quiet             print nothing on success\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n\n"
	        "SIZE takes K, M, G, T suffixes (powers of 1024).\n"
	        "Exit status: 0 formatted, 1 failed, 2 usage error.\n",
	        prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"size", required_argument, 0, 's'}, {"segment-size", required_argument, 0, 'S'},
	    {"quiet", no_argument, 0, 'q'},      {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},    {0, 0, 0, 0}};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	uint64_t v;
	int c, quiet = 0;

	while ((c = getopt_long(argc, argv, "s:S:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_size(optarg, &fo.size)) {
				fprintf(stderr, "%s: bad size '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'S':
			if (!tool_parse_size(optarg, &v) || v > UINT32_MAX) {
				fprintf(stderr, "%s: bad segment size '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			fo.segment_size = (uint32_t)v;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return tool_common_opt(c, prog, usage);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	int n = argc - optind;
	if (n > SWAPOBJ_MAX_DEVICES) {
		fprintf(stderr, "%s: at most %d devices\n", prog, SWAPOBJ_MAX_DEVICES);
		return TOOL_EXIT_USAGE;
	}
	int err = swapobj_format((const char *const *)argv + optind, (unsigned)n, &fo);
	if (err < 0)
		return tool_fail(prog, "format failed", err);
	if (!quiet) {
		swapobj_store *st;
		struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
		struct swapobj_store_stat ss;
		char b1[32];
		oo.flags = SWAPOBJ_OPEN_RDONLY;
		if ((err = swapobj_store_open(&st, (const char *const *)argv + optind, (unsigned)n, &oo)) < 0)
			return tool_fail(prog, "formatted store does not open", err);
		swapobj_store_stat(&ss, sizeof(ss), st);
		printf("formatted %d device%s: %s in %llu segments of %s\n", n, n > 1 ? "s" : "",
		       tool_human(ss.capacity_bytes, b1, sizeof(b1)), (unsigned long long)ss.segments,
		       tool_human(ss.segment_size, (char[32]){0}, 32));
		swapobj_store_close(st);
	}
	return TOOL_EXIT_OK;
}
