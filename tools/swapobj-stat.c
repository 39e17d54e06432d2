/*
 * swapobj-stat - space and object figures of a store (opened read-only).
 *
 * Usage: swapobj-stat [--json] DEVICE...
 * Exit: 0 printed, 1 the store could not be opened, 2 usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "swapobj.h"
#include "toolutil.h"

static const char *prog = "swapobj-stat";

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: %s [OPTIONS] DEVICE...\n"
	        "Show capacity, usable, used, live (per class), dead and free space, the segment\n"
	        "utilization histogram, objects, pages and segments of a store.\n"
	        "The store is opened read-only; its log is replayed in memory (nothing is written).\n"
	        "A store held open by another process (e.g. mounted) reports 'store is in use'.\n\n"
	        "  -j, --json     machine-readable output\n"
	        "  -h, --help     this help\n"
	        "  -V, --version  print the version\n\n"
	        "Exit status: 0 success, 1 the store could not be opened, 2 usage error.\n",
	        prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, 0, 'j'},
	                                         {"help", no_argument, 0, 'h'},
	                                         {"version", no_argument, 0, 'V'},
	                                         {0, 0, 0, 0}};
	int c, json = 0;
	while ((c = getopt_long(argc, argv, "jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		default:
			return tool_common_opt(c, prog, usage);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	struct swapobj_store_stat s;
	swapobj_store *st;
	oo.flags = SWAPOBJ_OPEN_RDONLY;
	int err = swapobj_store_open(&st, (const char *const *)argv + optind, (unsigned)(argc - optind), &oo);
	if (err < 0)
		return tool_fail(prog, "cannot open store", err);
	swapobj_store_stat(&s, sizeof(s), st);
	swapobj_store_close(st);
	double per_page = s.pages ? (double)s.index_bytes / (double)s.pages : 0.0;
	/* Since this open: a read-only open writes nothing, so both are 0 here; kept for symmetry with the API. */
	double wa = s.user_bytes_written ? (double)s.device_bytes_written / (double)s.user_bytes_written : 0.0;
	/* Age of the newest checkpoint (the one this open loaded); -1 if there is none. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double now_s = (double)now.tv_sec + now.tv_nsec / 1e9;
	double age_s = s.checkpoint_time_ns ? now_s - (double)s.checkpoint_time_ns / 1e9 : -1.0;
	uint64_t free_bytes = s.usable_bytes > s.live_bytes ? s.usable_bytes - s.live_bytes : 0;
	double free_pct = s.usable_bytes ? 100.0 * (double)free_bytes / (double)s.usable_bytes : 0.0;
	if (json) {
		printf("{\"capacity_bytes\":%" PRIu64 ",\"used_bytes\":%" PRIu64 ",\"live_bytes\":%" PRIu64
		       ",\"free_bytes\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"pages\":%" PRIu64
		       ",\"segment_size\":%u,\"devices\":%u,\"segments\":%" PRIu64 ",\"segments_free\":%" PRIu64
		       ",\"index_bytes\":%" PRIu64
		       ",\"index_bytes_per_page\":%.3f,\"replay_ms\":%.3f,\"next_seq\":%" PRIu64 ",\"direct_io\":%s"
		       ",\"from_checkpoint\":%s,\"checkpoint_bytes\":%" PRIu64 ",\"checkpoint_fallbacks\":%u"
		       ",\"replay_bytes\":%" PRIu64,
		       s.capacity_bytes, s.used_bytes, s.live_bytes, s.free_bytes, s.objects, s.pages, s.segment_size,
		       s.ndevices, s.segments, s.segments_free, s.index_bytes, per_page, s.replay_ns / 1e6, s.next_seq,
		       s.direct_io ? "true" : "false", s.from_checkpoint ? "true" : "false", s.checkpoint_bytes,
		       s.checkpoint_fallbacks, s.replay_bytes);
		printf(",\"checkpoint_time_ns\":%" PRIu64 ",\"checkpoint_age_s\":%.3f,\"checkpoint_failures\":%" PRIu64
		       ",\"checkpoint_last_error\":%d",
		       s.checkpoint_time_ns, age_s, s.checkpoint_failures, (int)s.checkpoint_last_error);
		printf(",\"usable_bytes\":%" PRIu64 ",\"reserved_bytes\":%" PRIu64 ",\"dead_bytes\":%" PRIu64
		       ",\"live_swap_bytes\":%" PRIu64 ",\"live_cache_bytes\":%" PRIu64 ",\"segments_used\":%" PRIu64
		       ",\"user_bytes_written\":%" PRIu64 ",\"device_bytes_written\":%" PRIu64
		       ",\"write_amplification\":%.3f",
		       s.usable_bytes, s.reserved_bytes, s.dead_bytes, s.live_swap_bytes, s.live_cache_bytes,
		       s.segments_used, s.user_bytes_written, s.device_bytes_written, wa);
		printf(",\"device_bytes_read\":%" PRIu64 ",\"io_uring\":%s", s.device_bytes_read,
		       s.io_uring ? "true" : "false");
		printf(",\"layout\":\"%s\",\"split_segments_used\":%u,\"page_check_bytes\":%" PRIu64
		       ",\"lost_regions\":%" PRIu64 ",\"cache_free_bytes\":%" PRIu64
		       ",\"cache_free_pct\":%.2f,\"util_histogram\":[",
		       s.layout == SWAPOBJ_LAYOUT_SPLIT ? "split" : "classic", s.split_segments_used,
		       s.page_check_bytes, s.lost_regions, free_bytes, free_pct);
		for (unsigned i = 0; i < SWAPOBJ_UTIL_BUCKETS; i++)
			printf("%s%" PRIu64, i ? "," : "", s.util_histogram[i]);
		printf("]}\n");
		return TOOL_EXIT_OK;
	}
	char b[9][32];
	printf("capacity      %s (%u device%s, %" PRIu64 " segments of %s)\n", tool_human(s.capacity_bytes, b[0], 32),
	       s.ndevices, s.ndevices > 1 ? "s" : "", s.segments, tool_human(s.segment_size, b[1], 32));
	printf("usable        %s (what live data may fill: capacity less %s kept free for the cleaner and the\n"
	       "              next checkpoint, a lookahead segment, one open segment per stream and room\n"
	       "              for the checkpoints kept)\n",
	       tool_human(s.usable_bytes, b[6], 32), tool_human(s.reserved_bytes, b[7], 32));
	printf("used          %s in %" PRIu64 " segments\n", tool_human(s.used_bytes, b[2], 32), s.segments_used);
	printf("live          %s (%.1f%% of usable; swap %s, cache %s)\n", tool_human(s.live_bytes, b[3], 32),
	       s.usable_bytes ? 100.0 * (double)s.live_bytes / (double)s.usable_bytes : 0.0,
	       tool_human(s.live_swap_bytes, b[8], 32), tool_human(s.live_cache_bytes, b[5], 32));
	printf("dead          %s (cleaning wins it back)\n", tool_human(s.dead_bytes, b[8], 32));
	/*
	 * Cache culling acts on free space (usable - live) against levels given
	 * at open; a read-only open culls nothing, so say where free space stands
	 * against the default levels (10/7/3%).
	 */
	printf("cache free    %s, %.1f%% of usable: %s the default levels (CACHE data evicted below 7%%, CACHE writes "
	       "refused below 3%%)\n",
	       tool_human(free_bytes, b[6], 32), free_pct,
	       free_pct < 3.0   ? "below the stop level of"
	       : free_pct < 7.0 ? "below the cull level of"
	                        : "above");
	printf("free          %s in %" PRIu64 " segments\n", tool_human(s.free_bytes, b[4], 32), s.segments_free);
	printf("utilization   ");
	for (unsigned i = 0; i < SWAPOBJ_UTIL_BUCKETS; i++)
		printf("%s%u-%u%%:%" PRIu64, i ? " " : "", i * 10, i * 10 + 10, s.util_histogram[i]);
	printf("  (used segments by live share)\n");
	printf("objects       %" PRIu64 "\n", s.objects);
	printf("pages         %" PRIu64 "\n", s.pages);
	printf("index memory  %s (%.2f bytes per page; of it %s of page checks, 4 bytes per 4 KiB of capacity)\n",
	       tool_human(s.index_bytes, b[5], 32), per_page, tool_human(s.page_check_bytes, b[6], 32));
	printf("layout        %s (%u of %" PRIu64 " segments in use are split)\n",
	       s.layout == SWAPOBJ_LAYOUT_SPLIT ? "split: pages aligned, record headers written twice"
	                                        : "classic (kept so by SWAPOBJ_OPEN_NO_UPGRADE or a read-only open)",
	       s.split_segments_used, s.segments_used);
	if (s.lost_regions)
		printf("LOST          %" PRIu64
		       " region(s) of the log lost both copies of their records: the store is\n"
		       "              read-only and serves no page until swapobj-fsck -y accepts the loss\n",
		       s.lost_regions);
	if (s.from_checkpoint)
		printf("replay        %.1f ms: from a checkpoint of %s, then %s of log%s\n", s.replay_ns / 1e6,
		       tool_human(s.checkpoint_bytes, b[0], 32), tool_human(s.replay_bytes, b[1], 32),
		       s.checkpoint_fallbacks ? " (the newest checkpoint was damaged: the older one was used)" : "");
	else
		printf("replay        %.1f ms: the whole log, %s (no usable checkpoint%s)\n", s.replay_ns / 1e6,
		       tool_human(s.replay_bytes, b[1], 32),
		       s.checkpoint_fallbacks ? "; damaged ones were skipped" : "");
	printf("device i/o    %s read to open; batched I/O through %s\n", tool_human(s.device_bytes_read, b[2], 32),
	       s.io_uring ? "io_uring" : "pread/pwrite (io_uring unavailable or turned off)");
	if (s.checkpoint_time_ns) {
		char when[64];
		time_t t = (time_t)(s.checkpoint_time_ns / 1000000000u);
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		printf("checkpoint    taken %s (%.0f s ago)", when, age_s > 0 ? age_s : 0.0);
	} else {
		printf("checkpoint    none");
	}
	if (s.checkpoint_failures)
		printf("; %" PRIu64 " failed since open, the last with %s (%d)\n", s.checkpoint_failures,
		       swapobj_strerror(s.checkpoint_last_error), (int)s.checkpoint_last_error);
	else
		printf("; none failed since open\n");
	return TOOL_EXIT_OK;
}
