/*
 * bench_harness.c - swapobj-bench's harness: the corpus pages and their
 * verification, what every run shares (store parameters, timed read passes),
 * one forked child per run, the interleaved run loop that collects medians,
 * the machine description and the sibling tools (swapobj-fsck, swapobjfs)
 * found in the build tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

const char *prog = "swapobj-bench";
/* The workloads, in the order they run and are reported; each is defined in its bench_wl_<name>.c. */
const struct bench_wl *const bench_wls[WL_N] = {
    [WL_SWAPOUT] = &bench_wl_swapout, [WL_SWAPIN] = &bench_wl_swapin,   [WL_SEQ] = &bench_wl_seq,
    [WL_CHURN] = &bench_wl_churn,     [WL_RESTART] = &bench_wl_restart, [WL_INVAL] = &bench_wl_inval,
    [WL_FUSE] = &bench_wl_fuse,       [WL_THREADS] = &bench_wl_threads, [WL_FSCK] = &bench_wl_fsck,
    [WL_BATCH] = &bench_wl_batch,     [WL_CACHE] = &bench_wl_cache,
};

struct bench_cfg cfg;
const char *dir_arg;
volatile sig_atomic_t interrupted;
static volatile pid_t child_pid;

/* The corpus page that (obj, pg) holds at generation gen; consecutive generations differ. */
const uint8_t *page_at(uint32_t obj, uint64_t pg, uint32_t gen)
{
	uint64_t h = bench_mix64(((uint64_t)obj << 40) ^ pg ^ 0x5a5a5a00000000ull);
	return cfg.pages + ((h + (uint64_t)gen * 7919u) % cfg.npages) * BPG;
}

int verify_page(struct run_result *r, const char *sys, const uint8_t *got, uint32_t obj, uint64_t pg,
                const uint8_t *want, const uint8_t *alt)
{
	r->verified++;
	if (memcmp(got, want, BPG) == 0 || (alt && memcmp(got, alt, BPG) == 0))
		return 0;
	unsigned first = 0, ndiff = 0;
	for (unsigned i = BPG; i-- > 0;)
		if (got[i] != want[i]) {
			first = i;
			ndiff++;
		}
	rr_fail(r,
	        "VERIFICATION FAILED: %s returned wrong data for object %u page %" PRIu64 ": %u of 4096 bytes "
	        "differ, first at byte %u (got 0x%02x, want 0x%02x)",
	        sys, obj, pg, ndiff, first, got[first], want[first]);
	return -1;
}

const struct store_ops *ops_of(enum bench_sys s)
{
	return bench_store_ops(s);
}

struct store_params base_params(const struct run_ctx *x, uint64_t npages, uint64_t capacity)
{
	struct store_params p;
	memset(&p, 0, sizeof(p));
	p.dir = x->dir;
	p.nobj = cfg.nobj;
	p.obj_pages = (npages + cfg.nobj - 1) / cfg.nobj;
	p.capacity = capacity;
	p.nthreads = 1;
	p.segment_size = cfg.segment;
	p.layout = cfg.layout;
	p.zstd_level = cfg.zstd_level;
	p.zram_id = cfg.zram_id;
	return p;
}

/* Device space for a store that must hold npages without needing its cleaner. */
uint64_t roomy_capacity(uint64_t npages)
{
	uint64_t seg = cfg.segment ? cfg.segment : SWAPOBJ_SEGMENT_DEFAULT;
	uint64_t c = npages * BPG + npages * BPG / 4 + 32 * seg;
	return (c + seg - 1) / seg * seg;
}

void record_common(struct run_result *r, const struct run_ctx *x, const struct store_stats *ss, double npages,
                   const char *prefix)
{
	char k[RR_KEY];
	uint64_t rss, hwm;
	bench_rss(&rss, &hwm);
	snprintf(k, sizeof(k), "%sdisk_bpp", prefix);
	if (ss->disk_bytes >= 0)
		rr_set(r, k, ss->disk_bytes / npages);
	snprintf(k, sizeof(k), "%sindex_bpp", prefix);
	if (ss->index_bytes >= 0)
		rr_set(r, k, ss->index_bytes / (ss->pages > 0 ? ss->pages : npages));
	snprintf(k, sizeof(k), "%scheck_bpp", prefix);
	if (ss->index_bytes >= 0 && ss->check_bytes > 0)
		rr_set(r, k, ss->check_bytes / (ss->pages > 0 ? ss->pages : npages));
	snprintf(k, sizeof(k), "%srss_mib", prefix);
	rr_set(r, k, (double)(hwm > x->rss0 ? hwm - x->rss0 : 0) / (1 << 20));
}

/* Read npages pages in the order ord (page k = (k % nobj, k / nobj)), timing each read and verifying it. */
int read_pass(struct run_result *r, const struct store_ops *o, struct store *s, const uint32_t *ord, uint64_t n,
              uint32_t *lat, double *secs, const uint16_t *gen, const uint16_t *gen_alt)
{
	uint8_t *buf = bench_alloc_aligned(BPG);
	if (!buf)
		return bench_err("out of memory");
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint32_t k = ord[i], obj = k % cfg.nobj;
		uint64_t pg = k / cfg.nobj;
		uint64_t a = bench_now_ns();
		if (o->read(s, 0, obj, pg, buf, 1) < 0) {
			free(buf);
			return -1;
		}
		uint64_t b = bench_now_ns();
		if (lat)
			lat[i] = (uint32_t)(b - a < UINT32_MAX ? b - a : UINT32_MAX);
		uint32_t g = gen ? gen[k] : 0;
		const uint8_t *alt = gen_alt && gen_alt[k] != g ? page_at(obj, pg, gen_alt[k]) : NULL;
		if (verify_page(r, bench_sys_name[o->sys], buf, obj, pg, page_at(obj, pg, g), alt) < 0) {
			free(buf);
			return -1;
		}
		if (interrupted)
			break;
	}
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	free(buf);
	return 0;
}

/* Path of a sibling tool in the build tree (tools/, fusefs/) or NULL. */
const char *find_tool(const char *name, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return NULL;
	self[l] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	const char *cands[] = {"%s/%s", "%s/../fusefs/%s", "%s/../%s"};
	for (unsigned i = 0; i < 3; i++) {
		snprintf(buf, len, cands[i], self, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Path of the swapobjfs binary or NULL: --swapobjfs, else next to this tool's build tree. */
const char *find_swapobjfs(const char *argv0)
{
	static char buf[PATH_MAX + 64];
	if (cfg.swapobjfs)
		return access(cfg.swapobjfs, X_OK) == 0 ? cfg.swapobjfs : NULL;
	return find_tool("swapobjfs", buf, sizeof(buf));
}

static struct run_result *shared_rr;

/* Run one (workload, system, round) in a child process; the result lands in *out. */
static void run_one(struct run_ctx *x, struct run_result *out)
{
	memset(shared_rr, 0, sizeof(*shared_rr));
	x->dir = bench_subdir(cfg.dir, bench_sys_name[x->sys]);
	if (!x->dir) {
		memset(out, 0, sizeof(*out));
		rr_fail(out, "%s", bench_errbuf);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		memset(out, 0, sizeof(*out));
		rr_fail(out, "fork: %s", strerror(errno));
		free(x->dir);
		return;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (cfg.timeout)
			alarm(cfg.timeout);
		uint64_t hwm;
		bench_rss(&x->rss0, &hwm);
		bench_errbuf[0] = 0;
		int rc = bench_wls[x->wl]->run(x, shared_rr);
		if (rc < 0 && shared_rr->status != RR_FAIL)
			rr_fail(shared_rr, "%s", bench_errbuf[0] ? bench_errbuf : "failed");
		fflush(NULL);
		_exit(shared_rr->status == RR_FAIL ? 1 : 0);
	}
	child_pid = pid;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	memcpy(out, shared_rr, sizeof(*out));
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		char m[1100];
		if (sig == SIGALRM)
			snprintf(m, sizeof(m), "timed out after %u s (--timeout)", cfg.timeout);
		else
			snprintf(m, sizeof(m), "the run's process died of signal %d (%s)%s%s", sig, strsignal(sig),
			         out->msg[0] ? "; before that: " : "", out->msg);
		out->status = RR_OK;
		rr_fail(out, "%s", m);
		out->killed = 1;
	} else if (WEXITSTATUS(status) != 0 && out->status != RR_FAIL) {
		rr_fail(out, "exited with status %d", WEXITSTATUS(status));
	}
	bench_rmtree(x->dir);
	free(x->dir);
	x->dir = NULL;
}

void on_signal(int sig)
{
	interrupted = 1;
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
}

void machine_desc(char *buf, size_t len)
{
	struct utsname u;
	char cpu[128] = "?", line[256];
	unsigned long long memkb = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				snprintf(cpu, sizeof(cpu), "%s", c + 2);
				cpu[strcspn(cpu, "\n")] = 0;
			}
			break;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &memkb) == 1)
			break;
	if (f)
		fclose(f);
	uname(&u);
	struct statfs fs;
	struct stat sb;
	char dev[600] = "?";
	if (stat(cfg.dir, &sb) == 0) {
		char p[96], ue[512];
		snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/uevent", major(sb.st_dev), minor(sb.st_dev));
		FILE *u2 = fopen(p, "r");
		while (u2 && fgets(ue, sizeof(ue), u2))
			if (strncmp(ue, "DEVNAME=", 8) == 0) {
				snprintf(dev, sizeof(dev), "/dev/%s", ue + 8);
				dev[strcspn(dev, "\n")] = 0;
			}
		if (u2)
			fclose(u2);
	}
	const char *fst = "?";
	if (statfs(cfg.dir, &fs) == 0)
		fst = fs.f_type == 0xEF53       ? "ext4"
		      : fs.f_type == 0x58465342 ? "xfs"
		      : fs.f_type == 0x9123683E ? "btrfs"
		      : fs.f_type == 0x01021994 ? "tmpfs"
		                                : "other";
	snprintf(buf, len, "%s %s, %ld CPUs (%s), %.1f GiB RAM; --dir on %s (%s)", u.sysname, u.release,
	         sysconf(_SC_NPROCESSORS_ONLN), cpu, (double)memkb / (1 << 20), dev, fst);
}

static int load_corpus(void)
{
	struct tool_corpus c;
	if (tool_corpus_load(&c, cfg.corpus_path, 16384) < 0)
		return -1;
	cfg.npages = c.npages;
	cfg.pages = bench_alloc_aligned(c.npages * BPG);
	if (!cfg.pages) {
		tool_corpus_free(&c);
		fprintf(stderr, "%s: out of memory for the corpus\n", prog);
		return -1;
	}
	memcpy(cfg.pages, c.pages, c.npages * BPG);
	uint64_t zero = 0;
	for (uint64_t i = 0; i < c.npages; i++) {
		const uint64_t *w = (const uint64_t *)(cfg.pages + i * BPG);
		unsigned j = 0;
		while (j < BPG / 8 && !w[j])
			j++;
		zero += j == BPG / 8;
	}
	snprintf(cfg.corpus_desc, sizeof(cfg.corpus_desc), "%s, %.1f%% zero pages", c.source,
	         100.0 * (double)zero / (double)c.npages);
	tool_corpus_free(&c);
	return 0;
}

int bench_main(int argc, char **argv)
{
	struct report rp;
	char started[64];
	time_t now = time(NULL);
	int rc = TOOL_EXIT_OK;
	memset(&rp, 0, sizeof(rp));
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	snprintf(rp.started, sizeof(rp.started), "%s", started);
	size_t off = 0;
	for (int i = 0; i < argc && off < sizeof(rp.command) - 1; i++)
		off += (size_t)snprintf(rp.command + off, sizeof(rp.command) - off, "%s%s", i ? " " : "", argv[i]);

	if (dir_arg) {
		if (mkdir(dir_arg, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "%s: cannot create --dir %s: %s\n", prog, dir_arg, strerror(errno));
			return TOOL_EXIT_FAIL;
		}
		cfg.dir = strdup(dir_arg);
	} else {
		char tmpl[] = "/var/tmp/swapobj-bench.XXXXXX";
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, tmpl, strerror(errno));
			return TOOL_EXIT_FAIL;
		}
		cfg.dir = strdup(tmpl);
		cfg.dir_made = true;
	}
	if (load_corpus() < 0) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	shared_rr = mmap(NULL, sizeof(*shared_rr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_rr == MAP_FAILED) {
		fprintf(stderr, "%s: mmap: %s\n", prog, strerror(errno));
		rc = TOOL_EXIT_FAIL;
		goto out;
	}

	/* Which systems exist here. */
	for (int s = 0; s < SYS_N; s++) {
		cfg.sys_avail[s] = cfg.sys_sel[s];
		if (!cfg.sys_sel[s])
			snprintf(cfg.sys_note[s], sizeof(cfg.sys_note[s]), "not selected (--peers)");
	}
	if (cfg.sys_sel[SYS_ROCKSDB] && !bench_store_ops(SYS_ROCKSDB)) {
		cfg.sys_avail[SYS_ROCKSDB] = false;
		snprintf(cfg.sys_note[SYS_ROCKSDB], 160, "not built (librocksdb-dev not found at build time)");
	}
	if (cfg.sys_sel[SYS_LMDB] && !bench_store_ops(SYS_LMDB)) {
		cfg.sys_avail[SYS_LMDB] = false;
		snprintf(cfg.sys_note[SYS_LMDB], 160, "not built (liblmdb-dev not found at build time)");
	}
	if (cfg.sys_sel[SYS_ZRAM]) {
		cfg.zram_id = bench_zram_add();
		if (cfg.zram_id < 0) {
			cfg.sys_avail[SYS_ZRAM] = false;
			snprintf(cfg.sys_note[SYS_ZRAM], 160, "skipped: %.140s", bench_errbuf);
		} else {
			snprintf(cfg.sys_note[SYS_ZRAM], 160, "/dev/zram%d, algorithm %s", cfg.zram_id,
			         bench_zram_algo(cfg.zram_id));
		}
	}
	if (!find_swapobjfs(argv[0])) {
		cfg.sys_avail[SYS_FUSEFS] = false;
		snprintf(cfg.sys_note[SYS_FUSEFS], 160, "swapobjfs not built");
	}
	for (int s = 0; s < SYS_N; s++) {
		const struct store_ops *o = bench_store_ops((enum bench_sys)s);
		rp.sys_config[s] = o ? o->config : NULL;
		rp.sys_avail[s] = cfg.sys_avail[s];
		snprintf(rp.sys_note[s], sizeof(rp.sys_note[s]), "%s", cfg.sys_note[s]);
	}
	rp.sys_config[SYS_DISK] = "the limits of the same file system and disk: O_DIRECT 1 MiB sequential writes "
	                          "(then fdatasync) and reads at queue depth 1 in a posix_fallocate'd file, 4 KiB "
	                          "O_DIRECT random reads at queue depth 1, and 4 KiB O_DIRECT random reads kept 32 "
	                          "in flight with io_uring";
	rp.sys_config[SYS_FUSEFS] = "swapobjfs IMAGE MOUNTPOINT (a fresh store), files under MOUNTPOINT/bench, "
	                            "buffered I/O, fsync after writing, page cache dropped before reading";
	rp.sys_config[SYS_LRU] = "no store: an exact LRU of whole objects (array by key + doubly linked list) "
	                         "replaying the cache workload's trace with the capacity libswapobj's cache keeps "
	                         "after each culling pass (usable bytes - the run level's free bytes)";
	snprintf(rp.drop_note, sizeof(rp.drop_note), "%s",
	         bench_is_root() ? "cold = store closed and reopened + page cache dropped (root); libswapobj, "
	                           "slot file and disk limits also read with O_DIRECT"
	                         : "cold = store closed and reopened; NOT root so the page cache was NOT dropped: "
	                           "RocksDB and LMDB cold reads may be warm");

	rp.version = swapobj_version();
	machine_desc(rp.machine, sizeof(rp.machine));
	snprintf(rp.corpus, sizeof(rp.corpus), "%s", cfg.corpus_desc);
	rp.size = cfg.size;
	rp.inval_objects = cfg.inval_objects;
	rp.runs = cfg.runs;
	rp.warmup = cfg.warmup;
	rp.nwl = WL_N;
	rp.wl = calloc(WL_N, sizeof(*rp.wl));
	if (!rp.wl) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	for (int w = 0; w < WL_N; w++) {
		struct report_wl *rw = &rp.wl[w];
		rw->name = bench_wls[w]->name;
		rw->title = bench_wls[w]->title;
		rw->selected = cfg.wl_sel[w];
		bench_wls[w]->detail(rw->detail, sizeof(rw->detail));
		for (int s = 0; s < SYS_N; s++) {
			struct report_sys *rs = &rw->sys[s];
			if (!(bench_wls[w]->systems & SYS_BIT(s)) || !cfg.sys_sel[s])
				continue;
			rs->used = true;
			rs->runs = calloc(cfg.runs, sizeof(*rs->runs));
			if (!rs->runs) {
				rc = TOOL_EXIT_FAIL;
				goto out;
			}
			if (!cfg.sys_avail[s]) {
				rs->status = RR_SKIP;
				snprintf(rs->msg, sizeof(rs->msg), "%s", cfg.sys_note[s]);
			}
		}
		if (w == WL_FUSE && !cfg.sys_avail[SYS_FUSEFS]) {
			rw->sys[SYS_SWAPOBJ].status = RR_SKIP;
			snprintf(rw->sys[SYS_SWAPOBJ].msg, sizeof(rw->sys[0].msg), "swapobjfs not built: skipped");
		}
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (!cfg.quiet)
		fprintf(stderr, "%s: %s; corpus %s; dir %s\n", prog, rp.machine, cfg.corpus_desc, cfg.dir);
	uint64_t t_start = bench_now_ns();
	struct run_result *tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		rc = TOOL_EXIT_FAIL;
		goto out;
	}
	for (int w = 0; w < WL_N && !interrupted; w++) {
		bool swap = w == WL_SWAPOUT || w == WL_SWAPIN;
		if (w == WL_SWAPIN)
			continue; /* run together with swap-out */
		if (swap ? !(cfg.wl_sel[WL_SWAPOUT] || cfg.wl_sel[WL_SWAPIN]) : !cfg.wl_sel[w])
			continue;
		struct report_wl *rw = &rp.wl[w];
		for (int round = -(int)cfg.warmup; round < (int)cfg.runs && !interrupted; round++)
			for (int s = 0; s < SYS_N && !interrupted; s++) {
				struct report_sys *rs = &rw->sys[s];
				if (!rs->used || rs->status == RR_SKIP || rs->stopped)
					continue;
				struct run_ctx x = {(enum wl)w, (enum bench_sys)s, round, cfg.wl_sel[WL_SWAPIN], NULL,
				                    0};
				uint64_t t0 = bench_now_ns();
				if (!cfg.quiet)
					fprintf(stderr, "[%s] %s %d/%u %s ...",
					        swap ? "swapout+swapin" : bench_wls[w]->name,
					        round < 0 ? "warm-up" : "run",
					        round < 0 ? round + (int)cfg.warmup + 1 : round + 1,
					        round < 0 ? cfg.warmup : cfg.runs, bench_sys_name[s]);
				run_one(&x, tmp);
				if (!cfg.quiet)
					fprintf(stderr, " %.1f s %s\n", (double)(bench_now_ns() - t0) / 1e9,
					        tmp->status == RR_FAIL   ? "FAILED"
					        : tmp->status == RR_SKIP ? "skipped"
					                                 : "ok");
				if (tmp->status == RR_SKIP) {
					/* What the system lacks here will not appear in a later round. */
					for (int k = 0; k < 2; k++) {
						struct report_sys *t =
						    &rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s];
						t->status = RR_SKIP;
						snprintf(t->msg, sizeof(t->msg), "%s", tmp->msg);
						if (!swap)
							break;
					}
					continue;
				}
				if (tmp->status == RR_FAIL) {
					fprintf(stderr, "%s: %s on %s%s: %s\n", prog, bench_wls[w]->name,
					        bench_sys_name[s], round < 0 ? " (warm-up)" : "", tmp->msg);
					rp.failed = true;
					for (int k = 0; k < 2; k++) {
						struct report_sys *t =
						    &rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s];
						t->status = RR_FAIL;
						snprintf(t->msg, sizeof(t->msg), "%s", tmp->msg);
						if (!swap)
							break;
					}
					/*
					 * After a crash, a hang or wrong data, this system's further runs are skipped;
					 * after a plain error (ENOSPC, say) the next rounds still run. Figures measured
					 * before the failure are kept, unless data came back wrong.
					 */
					bool wrong = strncmp(tmp->msg, "VERIFICATION FAILED", 19) == 0;
					if (wrong || tmp->killed)
						for (int k = 0; k < 2; k++) {
							rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s].stopped =
							    true;
							if (!swap)
								break;
						}
					if (wrong)
						continue;
				}
				if (round < 0)
					continue;
				for (int k = 0; k < 2; k++) {
					struct report_sys *t = &rp.wl[swap ? (k ? WL_SWAPIN : WL_SWAPOUT) : w].sys[s];
					memcpy(&t->runs[t->nruns++], tmp, sizeof(*tmp));
					if (!swap)
						break;
				}
			}
	}
	free(tmp);
	rp.elapsed_s = (double)(bench_now_ns() - t_start) / 1e9;
	if (interrupted) {
		fprintf(stderr, "%s: interrupted\n", prog);
		rp.failed = true;
	}
	report_print(&rp, stdout);
	if (cfg.json && report_json(&rp, cfg.json) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, cfg.json, bench_errbuf);
		rp.failed = true;
	}
	if (cfg.plot && report_plots(&rp, cfg.plot) < 0) {
		fprintf(stderr, "%s: cannot write plots to %s: %s\n", prog, cfg.plot, bench_errbuf);
		rp.failed = true;
	}
	rc = rp.failed ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	if (cfg.zram_id >= 0)
		bench_zram_remove(cfg.zram_id);
	if (cfg.dir_made)
		bench_rmtree(cfg.dir);
	if (rp.wl) {
		for (int w = 0; w < WL_N; w++)
			for (int s = 0; s < SYS_N; s++)
				free(rp.wl[w].sys[s].runs);
		free(rp.wl);
	}
	free(cfg.pages);
	free(cfg.dir);
	return rc;
}
