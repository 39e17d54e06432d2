/*
 * bench_wl_fuse.c - workload 7: files through the swapobjfs mount against the
 * library directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_run.h"
#include "swapobj.h"

#define FUSE_IO (1u << 20)

/* File-side workload, the same on the library (through a file-like wrapper) and on the mount. */
static int fuse_files(struct run_result *r, const char *mnt, uint64_t n)
{
	char path[PATH_MAX + 64];
	uint8_t *buf = bench_alloc_aligned(FUSE_IO);
	uint32_t *lat = NULL, *ord = NULL;
	int fd = -1, rc = -1;
	uint64_t per = n / 4;
	if (!buf)
		return bench_err("out of memory");
	snprintf(path, sizeof(path), "%s/bench", mnt);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		bench_err("mkdir %s: %s", path, strerror(errno));
		goto done;
	}
	uint64_t spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			bench_err("open %s: %s", path, strerror(errno));
			goto done;
		}
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			for (uint32_t i = 0; i < c; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, 0), BPG);
			uint64_t a = bench_now_ns();
			ssize_t w = pwrite(fd, buf, (size_t)c * BPG, (off_t)(pg * BPG));
			spent += bench_now_ns() - a;
			if (w != (ssize_t)c * BPG) {
				bench_err("pwrite %s: %s", path, w < 0 ? strerror(errno) : "short");
				goto done;
			}
		}
		uint64_t a = bench_now_ns();
		if (fsync(fd) < 0) {
			bench_err("fsync %s: %s", path, strerror(errno));
			goto done;
		}
		spent += bench_now_ns() - a;
		close(fd);
		fd = -1;
	}
	rr_set(r, "fu_w_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	bench_drop_caches();
	spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			bench_err("open %s: %s", path, strerror(errno));
			goto done;
		}
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			uint64_t a = bench_now_ns();
			ssize_t g = pread(fd, buf, (size_t)c * BPG, (off_t)(pg * BPG));
			spent += bench_now_ns() - a;
			if (g != (ssize_t)c * BPG) {
				bench_err("pread %s: %s", path, g < 0 ? strerror(errno) : "short");
				goto done;
			}
			for (uint32_t i = 0; i < c; i++)
				if (verify_page(r, "swapobjfs", buf + (size_t)i * BPG, obj, pg + i,
				                page_at(obj, pg + i, 0), NULL) < 0)
					goto done;
		}
		close(fd);
		fd = -1;
	}
	rr_set(r, "fu_r_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	/* 4 KiB random reads, cold */
	bench_drop_caches();
	ord = bench_perm(per * 4, 0xf5);
	lat = malloc(per * 4 * sizeof(*lat));
	if (!ord || !lat) {
		bench_err("out of memory");
		goto done;
	}
	int fds[4] = {-1, -1, -1, -1};
	for (uint32_t obj = 0; obj < 4; obj++) {
		snprintf(path, sizeof(path), "%s/bench/f%u", mnt, obj);
		fds[obj] = open(path, O_RDONLY);
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < per * 4; i++) {
		uint32_t obj = ord[i] % 4;
		uint64_t pg = ord[i] / 4;
		uint64_t a = bench_now_ns();
		ssize_t g = fds[obj] < 0 ? -1 : pread(fds[obj], buf, BPG, (off_t)(pg * BPG));
		lat[i] = (uint32_t)(bench_now_ns() - a);
		if (g != BPG || verify_page(r, "swapobjfs", buf, obj, pg, page_at(obj, pg, 0), NULL) < 0) {
			if (g != BPG)
				bench_err("random pread of f%u page %" PRIu64 " failed", obj, pg);
			for (int j = 0; j < 4; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			goto done;
		}
	}
	rr_set(r, "fu_rr_pps", (double)per * 4 / ((double)(bench_now_ns() - t0) / 1e9));
	rr_latency(r, "fu_rr", lat, per * 4);
	for (int j = 0; j < 4; j++)
		if (fds[j] >= 0)
			close(fds[j]);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(lat);
	free(ord);
	return rc;
}

/* The library directly: same pattern (1 MiB writes and reads, 4 KiB random reads), same pages. */
static int fuse_lib(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	const struct store_ops *o = ops_of(SYS_SWAPOBJ);
	struct store_params p = base_params(x, n, roomy_capacity(n));
	struct store *s = NULL;
	uint64_t per = n / 4, spent = 0;
	uint8_t *buf = bench_alloc_aligned(FUSE_IO);
	uint32_t *ord = NULL, *lat = NULL;
	int rc = -1;
	p.nobj = 4;
	p.obj_pages = per;
	if (!buf || o->create(&s, &p) < 0)
		goto done;
	for (uint32_t obj = 0; obj < 4; obj++)
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			for (uint32_t i = 0; i < c; i++)
				memcpy(buf + (size_t)i * BPG, page_at(obj, pg + i, 0), BPG);
			uint64_t a = bench_now_ns();
			if (o->write(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - a;
		}
	uint64_t a = bench_now_ns();
	if (o->sync(s) < 0)
		goto done;
	spent += bench_now_ns() - a;
	rr_set(r, "fu_w_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	if (o->reopen(s) < 0)
		goto done;
	spent = 0;
	for (uint32_t obj = 0; obj < 4; obj++)
		for (uint64_t pg = 0; pg < per; pg += FUSE_IO / BPG) {
			uint32_t c = (uint32_t)(per - pg < FUSE_IO / BPG ? per - pg : FUSE_IO / BPG);
			uint64_t b = bench_now_ns();
			if (o->read(s, 0, obj, pg, buf, c) < 0)
				goto done;
			spent += bench_now_ns() - b;
			for (uint32_t i = 0; i < c; i++)
				if (verify_page(r, "libswapobj", buf + (size_t)i * BPG, obj, pg + i,
				                page_at(obj, pg + i, 0), NULL) < 0)
					goto done;
		}
	rr_set(r, "fu_r_mbps", (double)per * 4 * BPG / 1e6 / ((double)spent / 1e9));
	if (o->reopen(s) < 0)
		goto done;
	ord = bench_perm(per * 4, 0xf5);
	lat = malloc(per * 4 * sizeof(*lat));
	if (!ord || !lat) {
		bench_err("out of memory");
		goto done;
	}
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < per * 4; i++) {
		uint32_t obj = ord[i] % 4;
		uint64_t pg = ord[i] / 4;
		uint64_t b = bench_now_ns();
		if (o->read(s, 0, obj, pg, buf, 1) < 0)
			goto done;
		lat[i] = (uint32_t)(bench_now_ns() - b);
		if (verify_page(r, "libswapobj", buf, obj, pg, page_at(obj, pg, 0), NULL) < 0)
			goto done;
	}
	rr_set(r, "fu_rr_pps", (double)per * 4 / ((double)(bench_now_ns() - t0) / 1e9));
	rr_latency(r, "fu_rr", lat, per * 4);
	rc = 0;
done:
	if (s)
		o->close(s);
	free(buf);
	free(ord);
	free(lat);
	return rc;
}

static bool is_mounted_on(const char *mnt, dev_t parent_dev)
{
	struct stat sb;
	return stat(mnt, &sb) == 0 && sb.st_dev != parent_dev;
}

static int run_fuse(struct run_ctx *x, struct run_result *r)
{
	uint64_t n = cfg.size / BPG;
	if (x->sys == SYS_SWAPOBJ)
		return fuse_lib(x, r, n);
	const char *fs = find_swapobjfs(NULL);
	char img[PATH_MAX], mnt[PATH_MAX];
	struct stat sb;
	int rc = -1;
	if (!fs)
		return bench_err("swapobjfs not built");
	snprintf(img, sizeof(img), "%s/store.img", x->dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", x->dir);
	if (mkdir(mnt, 0700) < 0 || stat(mnt, &sb) < 0)
		return bench_err("mkdir %s: %s", mnt, strerror(errno));
	const char *paths[1] = {img};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	fo.size = roomy_capacity(n);
	fo.segment_size = cfg.segment;
	fo.layout = cfg.layout;
	if (swapobj_format(paths, 1, &fo) < 0)
		return bench_err("format %s: %s", img, swapobj_errmsg());
	/* -f: stay in the foreground, so this pid is the daemon and its end is seen here */
	pid_t pid = fork();
	if (pid == 0) {
		execl(fs, fs, img, mnt, "-f", (char *)NULL);
		_exit(127);
	}
	int status;
	for (int i = 0; i < 200 && !is_mounted_on(mnt, sb.st_dev); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid && !is_mounted_on(mnt, sb.st_dev))
			return bench_err("%s %s %s exited (status %d) without mounting", fs, img, mnt, status);
		usleep(50000);
	}
	if (!is_mounted_on(mnt, sb.st_dev)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return bench_err("%s did not mount %s within 10 s", fs, mnt);
	}
	rc = fuse_files(r, mnt, n);
	const char *const umount_cmds[2][4] = {{"fusermount3", "-u", mnt, NULL}, {"umount", mnt, NULL, NULL}};
	for (int c = 0; c < 2 && is_mounted_on(mnt, sb.st_dev); c++) {
		pid_t um = fork();
		if (um == 0) {
			execvp(umount_cmds[c][0], (char *const *)umount_cmds[c]);
			_exit(127);
		}
		waitpid(um, &status, 0);
	}
	for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (rc == 0)
			rc = bench_err("%s did not exit within 10 s of the unmount", fs);
	}
	if (is_mounted_on(mnt, sb.st_dev) && rc == 0)
		rc = bench_err("could not unmount %s", mnt);
	return rc;
}

static void fuse_detail(char *buf, size_t len)
{
	char a[32];
	snprintf(buf, len,
	         "%s in 4 files: 1 MiB writes + fsync, cold 1 MiB reads, cold 4 KiB random reads; through the "
	         "mount vs the library directly",
	         tool_human(cfg.size, a, sizeof(a)));
}

const struct bench_wl bench_wl_fuse = {
    .name = "fuse",
    .title = "7. through the swapobjfs mount",
    .systems = SYS_BIT(SYS_SWAPOBJ) | SYS_BIT(SYS_FUSEFS),
    .run = run_fuse,
    .detail = fuse_detail,
};
