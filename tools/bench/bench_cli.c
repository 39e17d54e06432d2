/*
 * swapobj-bench - libswapobj's performance measured against peers and
 * physical limits in the same run, on the same pages, as ratios.
 *
 * Design:
 *  - Every measured run happens in a forked child process: its peak RSS is
 *    its own, a crash or hang of the library (or a peer) is reported as that
 *    run's failure instead of killing the benchmark, and nothing cached in
 *    process memory survives from one run to the next. Results come back in
 *    a shared anonymous mapping (struct run_result).
 *  - Systems are interleaved: for each workload, round r runs every system
 *    once (A B C A B C ...), after --warmup discarded rounds; medians over
 *    --runs rounds are reported, with libswapobj's ratio to each peer.
 *  - Every page read back is compared with the page written; a mismatch
 *    fails the run and the exit status.
 *  - Pages come from a corpus (--corpus FILE, or generated), copied once
 *    into 4 KiB-aligned memory so O_DIRECT stores can write them as they are.
 *
 * Exit status: 0 every run passed, 1 a run failed or returned wrong data,
 * 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS]\n"
	        "Measure libswapobj against peers and limits in one run: ratios, medians, verification.\n\n"
	        "  -s, --size SIZE         bytes of 4 KiB pages per workload (default 128M; reports use 1G)\n"
	        "  -w, --workloads LIST    comma-separated, default all:\n"
	        "                          swapout,swapin,seq,churn,restart,invalidate,fuse,threads,fsck,\n"
	        "                          swapin-batch,cache\n"
	        "  -p, --peers LIST        systems besides libswapobj, default all available:\n"
	        "                          slot-file,rocksdb,lmdb,zstd,zram,disk\n"
	        "  -r, --runs N            measured rounds, medians reported (default 3)\n"
	        "      --warmup N          discarded rounds first (default 1)\n"
	        "  -o, --objects N         objects the pages are spread over (default 64)\n"
	        "  -d, --dir DIR           where stores and files go (default a new /var/tmp/swapobj-bench.XXXXXX,\n"
	        "                          removed at the end)\n"
	        "  -c, --corpus FILE       page corpus: 4 KiB pages, raw or zstd-compressed, e.g. from\n"
	        "                          swapobj-corpus (default: generated pages)\n"
	        "  -j, --json FILE         write every figure as JSON\n"
	        "  -P, --plot DIR          write SVG charts (throughput bars, latency CDFs)\n"
	        "      --segment SIZE      libswapobj segment size (default: the library's)\n"
	        "      --layout L          libswapobj segment layout: split (default) or classic\n"
	        "      --churn-size SIZE   store size for churn (default: --size, at least 64M)\n"
	        "      --churn-factor X    measured overwrites per live page in churn (default 2)\n"
	        "      --churn-warmup X    unmeasured overwrites per live page before them (default 2)\n"
	        "      --churn-fill LIST   fill levels for churn, 80 and/or 90 (default 80,90)\n"
	        "      --restart-churn X   restart: libswapobj also reopened after a store of --size,\n"
	        "                          3/4 full, was rewritten X times its capacity (default 3, 0 = no)\n"
	        "      --inval-objects N   objects under the invalidated prefix (default 1000000)\n"
	        "      --cache-obj SIZE    cache: bytes of one CACHE object (default 64K, 4K..4M, 4K multiple)\n"
	        "      --cache-accesses N  cache: measured accesses (default 3x the key space)\n"
	        "      --seq-io SIZE       call size in the sequential workload (default 256K)\n"
	        "      --zstd-level N      level for the zstd codec limit (default -1)\n"
	        "      --swapobjfs PATH    the swapobjfs binary (default: looked up in the build tree)\n"
	        "      --timeout SEC       kill a run after SEC seconds (default 3600, 0 = never)\n"
	        "  -q, --quiet             no progress lines\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n\n"
	        "Cold reads: every store is closed and reopened and, as root, the page cache is dropped\n"
	        "(sync; echo 3 > /proc/sys/vm/drop_caches); libswapobj, the slot file and the disk limits\n"
	        "read with O_DIRECT in any case.\n\n"
	        "Exit status: 0 all runs passed, 1 a run failed or read back wrong data, 2 usage error.\n"
	        "The workloads, the peers and how to read the ratios: swapobj-bench(1).\n",
	        prog);
}

static bool parse_list(const char *s, const char *const *names, unsigned n, bool *sel, const char *what)
{
	char *dup = strdup(s), *save = NULL;
	bool ok = dup != NULL;
	for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;
		for (i = 0; i < n; i++)
			if (names[i] && strcmp(t, names[i]) == 0)
				break;
		if (i == n) {
			fprintf(stderr, "%s: unknown %s '%s'\n", prog, what, t);
			ok = false;
			break;
		}
		sel[i] = true;
	}
	free(dup);
	return ok;
}

enum {
	OPT_WARMUP = 256,
	OPT_SEGMENT,
	OPT_LAYOUT,
	OPT_CHURN_SIZE,
	OPT_CHURN_FACTOR,
	OPT_CHURN_WARMUP,
	OPT_CHURN_FILL,
	OPT_RESTART_CHURN,
	OPT_INVAL,
	OPT_SEQ_IO,
	OPT_CACHE_OBJ,
	OPT_CACHE_ACCESSES,
	OPT_ZSTD,
	OPT_FUSEFS,
	OPT_TIMEOUT
};

static bool parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"size", required_argument, 0, 's'},
	                                         {"workloads", required_argument, 0, 'w'},
	                                         {"peers", required_argument, 0, 'p'},
	                                         {"runs", required_argument, 0, 'r'},
	                                         {"warmup", required_argument, 0, OPT_WARMUP},
	                                         {"objects", required_argument, 0, 'o'},
	                                         {"dir", required_argument, 0, 'd'},
	                                         {"corpus", required_argument, 0, 'c'},
	                                         {"json", required_argument, 0, 'j'},
	                                         {"plot", required_argument, 0, 'P'},
	                                         {"segment", required_argument, 0, OPT_SEGMENT},
	                                         {"layout", required_argument, 0, OPT_LAYOUT},
	                                         {"churn-size", required_argument, 0, OPT_CHURN_SIZE},
	                                         {"churn-factor", required_argument, 0, OPT_CHURN_FACTOR},
	                                         {"churn-warmup", required_argument, 0, OPT_CHURN_WARMUP},
	                                         {"churn-fill", required_argument, 0, OPT_CHURN_FILL},
	                                         {"restart-churn", required_argument, 0, OPT_RESTART_CHURN},
	                                         {"inval-objects", required_argument, 0, OPT_INVAL},
	                                         {"seq-io", required_argument, 0, OPT_SEQ_IO},
	                                         {"cache-obj", required_argument, 0, OPT_CACHE_OBJ},
	                                         {"cache-accesses", required_argument, 0, OPT_CACHE_ACCESSES},
	                                         {"zstd-level", required_argument, 0, OPT_ZSTD},
	                                         {"swapobjfs", required_argument, 0, OPT_FUSEFS},
	                                         {"timeout", required_argument, 0, OPT_TIMEOUT},
	                                         {"quiet", no_argument, 0, 'q'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"version", no_argument, 0, 'V'},
	                                         {0, 0, 0, 0}};
	const char *wl_arg = NULL, *peers_arg = NULL;
	uint64_t v;
	int c;
	cfg.size = 128ull << 20;
	cfg.nobj = 64;
	cfg.runs = 3;
	cfg.warmup = 1;
	cfg.timeout = 3600;
	cfg.inval_objects = 1000000;
	cfg.seq_io = 256 << 10;
	cfg.cache_obj = 64 << 10;
	cfg.churn_factor = 2;
	cfg.churn_warmup = 2;
	cfg.churn_fill[0] = cfg.churn_fill[1] = true;
	cfg.restart_churn = 3;
	cfg.zstd_level = -1;
	cfg.zram_id = -1;
	while ((c = getopt_long(argc, argv, "s:w:p:r:o:d:c:j:P:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_size(optarg, &cfg.size) || cfg.size < (1u << 20)) {
				fprintf(stderr, "%s: bad --size '%s' (at least 1M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'w':
			wl_arg = optarg;
			break;
		case 'p':
			peers_arg = optarg;
			break;
		case 'r':
			if (!parse_uint(optarg, 1, 1000, &v)) {
				fprintf(stderr, "%s: bad --runs '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.runs = (unsigned)v;
			break;
		case OPT_WARMUP:
			if (!parse_uint(optarg, 0, 100, &v)) {
				fprintf(stderr, "%s: bad --warmup '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.warmup = (unsigned)v;
			break;
		case 'o':
			if (!parse_uint(optarg, 1, 1u << 20, &v)) {
				fprintf(stderr, "%s: bad --objects '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.nobj = (uint32_t)v;
			break;
		case 'd':
			dir_arg = optarg;
			break;
		case 'c':
			cfg.corpus_path = optarg;
			break;
		case 'j':
			cfg.json = optarg;
			break;
		case 'P':
			cfg.plot = optarg;
			break;
		case OPT_SEGMENT:
			if (!tool_parse_size(optarg, &v) || v < SWAPOBJ_SEGMENT_MIN || v > SWAPOBJ_SEGMENT_MAX ||
			    (v & (v - 1))) {
				fprintf(stderr, "%s: bad --segment '%s' (power of two, 1M..64M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.segment = (uint32_t)v;
			break;
		case OPT_LAYOUT:
			if (strcmp(optarg, "split") == 0) {
				cfg.layout = SWAPOBJ_LAYOUT_SPLIT;
			} else if (strcmp(optarg, "classic") == 0) {
				cfg.layout = SWAPOBJ_LAYOUT_CLASSIC;
			} else {
				fprintf(stderr, "%s: bad --layout '%s' (split or classic)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_CHURN_SIZE:
			if (!tool_parse_size(optarg, &cfg.churn_size) || cfg.churn_size < (16u << 20)) {
				fprintf(stderr, "%s: bad --churn-size '%s' (at least 16M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_CHURN_FILL: {
			static const char *const fills[2] = {"80", "90"};
			cfg.churn_fill[0] = cfg.churn_fill[1] = false;
			if (!parse_list(optarg, fills, 2, cfg.churn_fill, "--churn-fill value (80 or 90)"))
				return TOOL_EXIT_USAGE;
			break;
		}
		case OPT_CHURN_FACTOR: {
			char *end;
			cfg.churn_factor = strtod(optarg, &end);
			if (*end || !(cfg.churn_factor > 0 && cfg.churn_factor <= 100)) {
				fprintf(stderr, "%s: bad --churn-factor '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		}
		case OPT_RESTART_CHURN: {
			char *end;
			cfg.restart_churn = strtod(optarg, &end);
			if (*end || !(cfg.restart_churn >= 0 && cfg.restart_churn <= 100)) {
				fprintf(stderr, "%s: bad --restart-churn '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		}
		case OPT_CHURN_WARMUP: {
			char *end;
			cfg.churn_warmup = strtod(optarg, &end);
			if (*end || !(cfg.churn_warmup >= 0 && cfg.churn_warmup <= 100)) {
				fprintf(stderr, "%s: bad --churn-warmup '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		}
		case OPT_INVAL:
			if (!parse_uint(optarg, 3, 100000000, &cfg.inval_objects)) {
				fprintf(stderr, "%s: bad --inval-objects '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_SEQ_IO:
			if (!tool_parse_size(optarg, &cfg.seq_io) || cfg.seq_io < BPG || cfg.seq_io % BPG ||
			    cfg.seq_io > (64u << 20)) {
				fprintf(stderr, "%s: bad --seq-io '%s' (multiple of 4K, at most 64M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_CACHE_OBJ:
			if (!tool_parse_size(optarg, &cfg.cache_obj) || cfg.cache_obj < BPG || cfg.cache_obj % BPG ||
			    cfg.cache_obj > (4u << 20)) {
				fprintf(stderr, "%s: bad --cache-obj '%s' (multiple of 4K, 4K..4M)\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_CACHE_ACCESSES:
			if (!parse_uint(optarg, 1, 1000000000, &cfg.cache_accesses)) {
				fprintf(stderr, "%s: bad --cache-accesses '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case OPT_ZSTD: {
			char *end;
			long l = strtol(optarg, &end, 10);
			if (*end || l < -50 || l > 22) {
				fprintf(stderr, "%s: bad --zstd-level '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.zstd_level = (int)l;
			break;
		}
		case OPT_FUSEFS:
			cfg.swapobjfs = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 0, 86400 * 7, &v)) {
				fprintf(stderr, "%s: bad --timeout '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			cfg.timeout = (unsigned)v;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return TOOL_EXIT_OK;
		case 'V':
			tool_version(prog);
			return TOOL_EXIT_OK;
		default:
			usage(stderr);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (wl_arg) {
		const char *names[WL_N];
		for (int i = 0; i < WL_N; i++)
			names[i] = bench_wls[i]->name;
		if (!parse_list(wl_arg, names, WL_N, cfg.wl_sel, "workload"))
			return TOOL_EXIT_USAGE;
	} else {
		for (int i = 0; i < WL_N; i++)
			cfg.wl_sel[i] = true;
	}
	if (peers_arg) {
		const char *pn[SYS_N];
		for (int i = 0; i < SYS_N; i++)
			pn[i] = i == SYS_SWAPOBJ || i == SYS_FUSEFS || i == SYS_LRU ? NULL : bench_sys_name[i];
		if (strcmp(peers_arg, "none") != 0 && !parse_list(peers_arg, pn, SYS_N, cfg.sys_sel, "peer"))
			return TOOL_EXIT_USAGE;
	} else {
		for (int i = 0; i < SYS_N; i++)
			cfg.sys_sel[i] = true;
	}
	cfg.sys_sel[SYS_SWAPOBJ] = cfg.sys_sel[SYS_FUSEFS] = cfg.sys_sel[SYS_LRU] = true;
	if (!cfg.churn_size)
		cfg.churn_size = cfg.size < (64u << 20) ? 64u << 20 : cfg.size;
	if (cfg.size / BPG >= UINT32_MAX || cfg.churn_size / BPG >= UINT32_MAX) {
		fprintf(stderr, "%s: --size too large\n", prog);
		return TOOL_EXIT_USAGE;
	}
	if (cfg.size / BPG < 4ull * cfg.nobj) {
		fprintf(stderr, "%s: --size %s holds fewer than 4 pages per object (--objects %u)\n", prog,
		        tool_human(cfg.size, (char[32]){0}, 32), cfg.nobj);
		return TOOL_EXIT_USAGE;
	}
	return bench_main(argc, argv);
}
