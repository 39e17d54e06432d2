/*
 * swapobj-demo - formats a store and exercises it end to end, printing what
 * it does: anonymous-memory objects swapped out in random order and swapped
 * back in, a shmem object written sequentially, fscache objects replaced by
 * a newer data version, a punch, a prefix invalidation, a restart, and a
 * byte-for-byte verification of everything after each step.
 *
 * Usage: swapobj-demo [-s SIZE] [-c CORPUS] [-m MIB] [IMAGE]
 * Exit: 0 every check passed, 1 a check or an operation failed, 2 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swapobj.h"
#include "toolutil.h"

static const char *prog = "swapobj-demo";

#define PG 4096u
#define NVMS 2
#define NVMAS 8

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] [IMAGE]\n"
	        "Format IMAGE (default ./swapobj-demo.img) as a store and exercise it end to end.\n\n"
	        "  -s, --size SIZE     image size (default 512M)\n"
	        "  -c, --corpus FILE   page corpus (raw or .zst); default: generated pages\n"
	        "  -m, --mib N         MiB of pages to swap out (default 64)\n"
	        "  -k, --keep          keep the image afterwards (default: keep too; use -r to remove)\n"
	        "  -r, --remove        remove the image at the end\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       print the version\n\n"
	        "Exit status: 0 all checks passed, 1 a check failed, 2 usage error.\n",
	        prog);
}

/* Which corpus page backs (vm, vma, page) in the demo. */
static const uint8_t *page_for(const struct tool_corpus *c, unsigned vm, unsigned vma, uint64_t pg)
{
	uint64_t i = ((uint64_t)vm * 1000003u + (uint64_t)vma * 7919u + pg) % c->npages;
	return c->pages + i * PG;
}

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s: CHECK FAILED at line %d: ", prog, __LINE__);                              \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fprintf(stderr, " (%s)\n", swapobj_errmsg());                                                  \
			goto fail;                                                                                     \
		}                                                                                                      \
	} while (0)

static int verify_anon(swapobj_store *st, const struct tool_corpus *c, unsigned vm, uint64_t pages_per_vma,
                       uint64_t punch_pg, uint64_t *checked)
{
	uint8_t buf[PG];
	for (unsigned v = 0; v < NVMAS; v++) {
		swapobj_key k;
		swapobj_obj *o;
		swapobj_key_anon(&k, vm, v);
		int err = swapobj_obj_open(&o, st, &k, NULL);
		if (err < 0) {
			fprintf(stderr, "%s: open anon/%u/%u: %s\n", prog, vm, v, swapobj_errmsg());
			return -1;
		}
		for (uint64_t p = 0; p < pages_per_vma; p++) {
			int64_t n = swapobj_obj_read(o, buf, PG, p * PG, 0);
			bool punched = vm == 0 && v == 0 && p >= punch_pg && p < punch_pg + 16;
			const uint8_t *want = punched ? NULL : page_for(c, vm, v, p);
			if (n != PG || (want && memcmp(buf, want, PG) != 0) ||
			    (!want && buf[0] + buf[100] + buf[4095] != 0)) {
				fprintf(stderr, "%s: anon/%u/%u page %" PRIu64 " reads back wrong (n=%" PRId64 ")\n",
				        prog, vm, v, p, n);
				swapobj_obj_close(o);
				return -1;
			}
			(*checked)++;
		}
		swapobj_obj_close(o);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"size", required_argument, 0, 's'}, {"corpus", required_argument, 0, 'c'},
	    {"mib", required_argument, 0, 'm'},  {"keep", no_argument, 0, 'k'},
	    {"remove", no_argument, 0, 'r'},     {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},    {0, 0, 0, 0}};
	uint64_t size = 512ull << 20, mib = 64;
	const char *corpus_path = NULL, *image = "swapobj-demo.img";
	int c, remove_img = 0;
	while ((c = getopt_long(argc, argv, "s:c:m:krhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_size(optarg, &size)) {
				fprintf(stderr, "%s: bad size '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'c':
			corpus_path = optarg;
			break;
		case 'm':
			mib = strtoull(optarg, NULL, 10);
			if (mib < 1 || mib > 65536) {
				fprintf(stderr, "%s: bad --mib '%s'\n", prog, optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'k':
			break;
		case 'r':
			remove_img = 1;
			break;
		default:
			return tool_common_opt(c, prog, usage);
		}
	}
	if (optind < argc)
		image = argv[optind];
	if (optind + 1 < argc) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}

	struct tool_corpus corpus;
	uint64_t total_pages = mib * 256, pages_per_vma = total_pages / (NVMS * NVMAS);
	if (tool_corpus_load(&corpus, corpus_path, 4096) < 0)
		return TOOL_EXIT_FAIL;
	const char *paths[1] = {image};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	swapobj_store *st = NULL;
	swapobj_obj *o = NULL, *old = NULL;
	struct swapobj_store_stat ss;
	swapobj_key k;
	uint8_t buf[PG];
	uint64_t checked = 0;
	int err;
	char hb[4][32];

	printf("== libswapobj %s demo\n", swapobj_version());
	printf("corpus: %s\n", corpus.source);
	fo.size = size;
	err = swapobj_format(paths, 1, &fo);
	CHECK(err == 0, "format %s", image);
	err = swapobj_store_open(&st, paths, 1, NULL);
	CHECK(err == 0, "open %s", image);
	swapobj_store_stat(&ss, sizeof(ss), st);
	printf("formatted %s: %s, %" PRIu64 " segments of %s, O_DIRECT %s\n", image,
	       tool_human(ss.capacity_bytes, hb[0], 32), ss.segments, tool_human(ss.segment_size, hb[1], 32),
	       ss.direct_io ? "yes" : "no (file system refused it)");

	/* 1. Swap out: pages of NVMS x NVMAS anonymous regions, in random order. */
	swapobj_obj *vmas[NVMS][NVMAS];
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	for (unsigned vm = 0; vm < NVMS; vm++)
		for (unsigned v = 0; v < NVMAS; v++) {
			swapobj_key_anon(&k, vm, v);
			err = swapobj_obj_open(&vmas[vm][v], st, &k, &oo);
			CHECK(err == 0, "create anon/%u/%u", vm, v);
		}
	uint64_t *order = malloc(total_pages * sizeof(*order));
	CHECK(order != NULL, "out of memory");
	uint64_t n_out = pages_per_vma * NVMS * NVMAS;
	for (uint64_t i = 0; i < n_out; i++)
		order[i] = i;
	uint64_t rs = 0x12345;
	for (uint64_t i = n_out - 1; i > 0; i--) {
		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t j = (rs >> 17) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	double t0 = now_s();
	for (uint64_t i = 0; i < n_out; i++) {
		uint64_t x = order[i], p = x % pages_per_vma, vv = x / pages_per_vma;
		unsigned vm = (unsigned)(vv / NVMAS), v = (unsigned)(vv % NVMAS);
		int64_t n = swapobj_obj_write(vmas[vm][v], page_for(&corpus, vm, v, p), PG, p * PG);
		CHECK(n == PG, "swap-out of anon/%u/%u page %" PRIu64, vm, v, p);
	}
	err = swapobj_store_sync(st);
	CHECK(err == 0, "sync");
	double t1 = now_s();
	free(order);
	swapobj_store_stat(&ss, sizeof(ss), st);
	printf("swap-out: %" PRIu64 " pages over %d anon objects in random order + sync: %.2f s, %.0f MB/s\n", n_out,
	       NVMS * NVMAS, t1 - t0, (double)n_out * PG / 1e6 / (t1 - t0));
	printf("          index RAM %s = %.2f bytes/page; device bytes written %s for %s of pages\n",
	       tool_human(ss.index_bytes, hb[0], 32), (double)ss.index_bytes / (double)ss.pages,
	       tool_human(ss.device_bytes_written, hb[1], 32), tool_human(n_out * PG, hb[2], 32));

	/* 2. A shmem object written sequentially: its extent map costs a few bytes per MiB. */
	swapobj_key_shmem(&k, 0x803, 4242, 1);
	err = swapobj_obj_open(&o, st, &k, &oo);
	CHECK(err == 0, "create shmem");
	uint64_t before = ss.index_bytes;
	for (uint64_t p = 0; p < 4096; p += 64) {
		uint8_t chunk[64 * PG];
		for (unsigned i = 0; i < 64; i++)
			memcpy(chunk + i * PG, corpus.pages + ((p + i) % corpus.npages) * PG, PG);
		CHECK(swapobj_obj_write(o, chunk, sizeof(chunk), p * PG) == (int64_t)sizeof(chunk), "shmem write");
	}
	struct swapobj_obj_stat os;
	swapobj_obj_stat(&os, sizeof(os), o);
	swapobj_store_stat(&ss, sizeof(ss), st);
	printf("shmem:    16 MiB written sequentially: %" PRIu64 " pages (%" PRIu64 " zero), %" PRIu64
	       " extents, index grew by %" PRId64 " bytes\n",
	       os.pages, os.zero_pages, os.extents, (int64_t)(ss.index_bytes - before));
	swapobj_obj_close(o);
	o = NULL;

	/* 3. fscache objects with data versions: a newer version replaces the old data at once. */
	swapobj_key_fscache(&k, "cell=demo.example,vol=root", 26, "inode=77", 8);
	oo.cls = SWAPOBJ_CLASS_CACHE;
	oo.data_version = 1;
	err = swapobj_obj_open(&old, st, &k, &oo);
	CHECK(err == 0, "create fscache v1");
	CHECK(swapobj_obj_write(old, corpus.pages, PG, 0) == PG, "fscache v1 write");
	oo.data_version = 2;
	err = swapobj_obj_open(&o, st, &k, &oo);
	CHECK(err == 0, "create fscache v2");
	CHECK(swapobj_obj_read(old, buf, PG, 0, 0) == SWAPOBJ_ESTALE, "old version handle is stale");
	CHECK(swapobj_obj_read(o, buf, PG, 0, 0) == 0, "new version starts empty");
	printf("fscache:  version 1 replaced by version 2: old handle -> '%s', new object empty\n",
	       swapobj_strerror(SWAPOBJ_ESTALE));
	swapobj_obj_close(old);
	swapobj_obj_close(o);
	old = o = NULL;

	/* 4. Swap-in: read every anon page back and compare. Punch 16 pages of one region first. */
	CHECK(swapobj_obj_punch(vmas[0][0], 100 * PG, 16 * PG) == 0, "punch");
	t0 = now_s();
	checked = 0;
	for (unsigned vm = 0; vm < NVMS; vm++)
		CHECK(verify_anon(st, &corpus, vm, pages_per_vma, 100, &checked) == 0, "verify vm %u", vm);
	t1 = now_s();
	printf("swap-in:  %" PRIu64 " pages read back and verified (16 punched pages read as zeros): %.0f MB/s\n",
	       checked, (double)checked * PG / 1e6 / (t1 - t0));

	/* 5. Prefix invalidation: drop everything of VM 1 in O(1). */
	swapobj_key pre;
	swapobj_key_anon(&k, 1, 0);
	swapobj_key_prefix(&pre, &k, 2);
	t0 = now_s();
	err = swapobj_invalidate(st, &pre);
	t1 = now_s();
	CHECK(err == 0, "invalidate anon/1");
	CHECK(swapobj_obj_read(vmas[1][3], buf, PG, 0, 0) == SWAPOBJ_ESTALE, "invalidated handle is stale");
	printf("invalidate: prefix anon/1 (%d objects) dropped in %.1f us; their handles are stale\n", NVMAS,
	       (t1 - t0) * 1e6);
	for (unsigned vm = 0; vm < NVMS; vm++)
		for (unsigned v = 0; v < NVMAS; v++)
			swapobj_obj_close(vmas[vm][v]);

	/* 6. List the root and anon/ */
	struct swapobj_cursor cur = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent de;
	printf("listing:  /:");
	while (swapobj_list_next(&de, st, NULL, &cur) == 1)
		printf(" %.*s%s", (int)de.name_len, de.name, de.type == SWAPOBJ_DT_PREFIX ? "/" : "");
	swapobj_key_init(&pre);
	swapobj_key_push(&pre, "anon", 4);
	memset(&cur, 0, sizeof(cur));
	unsigned nvm = 0;
	while (swapobj_list_next(&de, st, &pre, &cur) == 1)
		nvm++;
	printf("   anon/: %u owner%s left\n", nvm, nvm == 1 ? "" : "s");
	CHECK(nvm == 1, "one VM left under anon/");

	/* 7. Restart: close (syncs), reopen, replay the log, verify again. */
	err = swapobj_store_close(st);
	st = NULL;
	CHECK(err == 0, "close");
	err = swapobj_store_open(&st, paths, 1, NULL);
	CHECK(err == 0, "reopen");
	swapobj_store_stat(&ss, sizeof(ss), st);
	checked = 0;
	CHECK(verify_anon(st, &corpus, 0, pages_per_vma, 100, &checked) == 0, "verify after reopen");
	swapobj_key_anon(&k, 1, 3);
	CHECK(swapobj_obj_open(&o, st, &k, NULL) == SWAPOBJ_ENOENT, "invalidated object stays gone");
	printf("restart:  replayed the log in %.1f ms: %" PRIu64 " objects, %" PRIu64 " pages; %" PRIu64
	       " pages verified again; anon/1 stays dropped\n",
	       ss.replay_ns / 1e6, ss.objects, ss.pages, checked);

	/* 8. Space comes back through the cleaner. */
	int freed = swapobj_store_clean(st, 0);
	CHECK(freed >= 0, "clean");
	swapobj_store_stat(&ss, sizeof(ss), st);
	printf("cleaner:  freed %d segments; used %s, live %s, free %s\n", freed, tool_human(ss.used_bytes, hb[0], 32),
	       tool_human(ss.live_bytes, hb[1], 32), tool_human(ss.free_bytes, hb[2], 32));
	err = swapobj_store_close(st);
	st = NULL;
	CHECK(err == 0, "final close");
	printf("== all checks passed\n");
	if (remove_img)
		remove(image);
	tool_corpus_free(&corpus);
	return TOOL_EXIT_OK;
fail:
	if (o)
		swapobj_obj_close(o);
	if (old)
		swapobj_obj_close(old);
	if (st)
		swapobj_store_close(st);
	tool_corpus_free(&corpus);
	return TOOL_EXIT_FAIL;
}
