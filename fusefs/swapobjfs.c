/*
 * swapobjfs.c - mount a libswapobj store as a "swap directory".
 *
 *   swapobjfs STORE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]
 *
 * Start-up order matters:
 *  1. parse options;
 *  2. unless -f, fork: the parent waits on a pipe for the child's verdict
 *     and exits with it, so that `swapobjfs ...` (and mount -t
 *     fuse.swapobjfs) returns only once the file system is mounted, or
 *     prints why it is not. The store is opened in the child: its
 *     background threads would not survive a fork;
 *  3. open the store, create the FUSE session, mount;
 *  4. detach (setsid, chdir /, stdio to /dev/null) and report success;
 *  5. -o mlock: lock memory as it is touched (after the fork: mlockall
 *     is not inherited), and mark the process an I/O flusher where
 *     allowed; stack sizes and malloc arenas were bounded before any
 *     thread existed (fsmem.c), since locked mappings count whole;
 *  6. serve until unmounted or signalled (SIGTERM, SIGINT, SIGHUP), then
 *     unmount, write unsaved attributes, close the store (which syncs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fsnode.h"
#include "fsmem.h"
#include "fsnotify.h"
#include "fsops.h"
#include "fsutil.h"

enum { KEY_HELP, KEY_VERSION, KEY_DEVICE, KEY_RO, KEY_NOATIME };

#define FS_OPT(t, p, v)                                                                                                \
	{                                                                                                              \
		t, offsetof(struct fs_opts, p), v                                                                      \
	}

static const struct fuse_opt opt_spec[] = {
    FS_OPT("writeback", writeback, 1),
    FS_OPT("mlock", mlock, 1),
    FS_OPT("direct_io", direct_io, 1),
    FS_OPT("no_odirect", no_odirect, 1),
    FS_OPT("no_cull", no_cull, 1),
    FS_OPT("cache_run=%u", cache_run, 0),
    FS_OPT("cache_cull=%u", cache_cull, 0),
    FS_OPT("cache_stop=%u", cache_stop, 0),
    FS_OPT("threads=%u", threads, 0),
    FS_OPT("rtprio=%u", rtprio, 0),
    FS_OPT("entry_timeout=%lf", entry_timeout, 0),
    FS_OPT("attr_timeout=%lf", attr_timeout, 0),
    FS_OPT("uid=%u", uid, 0),
    FS_OPT("gid=%u", gid, 0),
    FS_OPT("fmode=%o", fmode, 0),
    FS_OPT("dmode=%o", dmode, 0),
    FUSE_OPT_KEY("device=", KEY_DEVICE),
    FUSE_OPT_KEY("ro", KEY_RO),
    FUSE_OPT_KEY("noatime", KEY_NOATIME),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END,
};

/* What option parsing found beside struct fs_opts fields. */
static struct parse_state {
	unsigned nonopt;
	int help, version, bad;
} parsed;

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct parse_state *ps = &parsed;
	struct fs_opts *o = data;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (ps->nonopt == 0) {
			o->devices[o->ndevices++] = arg;
		} else if (ps->nonopt == 1) {
			o->mountpoint = strdup(arg);
		} else {
			fprintf(stderr, "swapobjfs: unexpected argument '%s'\n", arg);
			ps->bad = 1;
		}
		ps->nonopt++;
		return 0;
	case KEY_DEVICE:
		if (o->ndevices >= SWAPOBJ_MAX_DEVICES) {
			fprintf(stderr, "swapobjfs: at most %d devices\n", SWAPOBJ_MAX_DEVICES);
			ps->bad = 1;
		} else {
			o->devices[o->ndevices++] = arg + strlen("device=");
		}
		return 0;
	case KEY_RO:
		o->readonly = 1;
		return 1; /* also a mount flag for the kernel */
	case KEY_NOATIME:
		o->noatime = 1;
		return 1;
	case KEY_HELP:
		ps->help = 1;
		return 0;
	case KEY_VERSION:
		ps->version = 1;
		return 0;
	}
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: swapobjfs STORE MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]\n"
	           "Mount a libswapobj store: directories are key prefixes, files are objects.\n"
	           "\n"
	           "swapobjfs options:\n"
	           "    -o device=PATH         another device of the store (repeat up to 15 times)\n"
	           "    -o writeback           kernel writeback cache (buffered writes are batched)\n"
	           "    -o direct_io           no page cache for files (every read and write reaches the store)\n"
	           "    -o mlock               lock the daemon in memory (kernel swap onto the mount)\n"
	           "    -o threads=N           worker threads, kept alive (default 8)\n"
	           "    -o rtprio=N            real-time priority 1..99 for every thread (SCHED_RR; kernel swap\n"
	           "                           on a busy machine: no waiting behind other processes)\n"
	           "    -o entry_timeout=S     kernel name cache timeout in seconds (default 1)\n"
	           "    -o attr_timeout=S      kernel attribute cache timeout in seconds (default 1)\n"
	           "    -o uid=N,gid=N         owner of the root, implicit directories and objects without\n"
	           "                           attributes (default: the user running swapobjfs)\n"
	           "    -o fmode=OCTAL         their file mode (default 0644)\n"
	           "    -o dmode=OCTAL         their directory mode (default 0755)\n"
	           "    -o no_odirect          buffered I/O on the store's devices\n"
	           "    -o cache_run=P,cache_cull=P,cache_stop=P\n"
	           "                           free-space levels, percent of the usable space (default 10,7,3):\n"
	           "                           below cull, files of class cache are evicted (least recently used\n"
	           "                           first, whole files) until run is free; below stop, writes to them\n"
	           "                           fail with ENOBUFS, and swap files evict them rather than fail\n"
	           "    -o no_cull             never evict cache files (a full store gives ENOSPC)\n"
	           "    -o ro                  read-only mount and store\n"
	           "    -o noatime             never update access times (default: relatime)\n"
	           "    -f                     stay in the foreground\n"
	           "    -d                     debug output (implies -f)\n"
	           "    -s                     single-threaded\n"
	           "    -h, --help             this help, then libfuse's options\n"
	           "    -V, --version          versions\n");
}

/* ---- daemonizing with a verdict ---- */

static int status_fd = -1;

/* Fork; the parent waits for the child's verdict and exits with it. */
static void daemon_start(void)
{
	int p[2];
	if (pipe(p) < 0) {
		perror("swapobjfs: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("swapobjfs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		char msg[1024];
		ssize_t n, got = 0;
		while ((n = read(p[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
			got += n;
		if (got <= 0)
			_exit(1); /* died without a word: its stderr said why */
		msg[got] = 0;
		if (msg[0] == '0')
			_exit(0);
		fprintf(stderr, "swapobjfs: %s\n", msg + 1);
		_exit(1);
	}
	close(p[0]);
	status_fd = p[1];
	setsid();
}

/* In the child: say how start-up ended (ok, or the message) and detach. */
static void daemon_verdict(int ok, const char *msg)
{
	if (status_fd < 0)
		return;
	if (ok) {
		if (chdir("/") < 0) {
			/* not fatal: the mount is up */
		}
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		fs_log_to_syslog();
	}
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%c%s", ok ? '0' : '1', ok ? "" : msg);
	if (write(status_fd, buf, (size_t)n) < 0) {
		/* the parent is gone: nothing to tell */
	}
	close(status_fd);
	status_fd = -1;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status_fd >= 0)
		daemon_verdict(0, msg);
	else
		fprintf(stderr, "swapobjfs: %s\n", msg);
	exit(1);
}

/*
 * -o rtprio: every thread there is now (main, the library's flusher and
 * maintenance threads, the invalidation thread) becomes SCHED_RR; libfuse's
 * workers, started later by the main thread, inherit it. Kernel swap waits
 * on this daemon: on a busy machine each request would otherwise wait for a
 * CPU twice (measured: 4 to 10 s of waiting per 10 s swap run, 0.1 to 0.4 s
 * with SCHED_RR). RR, not FIFO, so that a busy thread of the daemon (the
 * cleaner) shares its CPU with the others; the kernel's real-time
 * throttling still leaves the rest of the system a share.
 */
static int set_rtprio(unsigned prio)
{
	struct sched_param sp = {.sched_priority = (int)prio};
	int err = 0, n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
		if (tid <= 0)
			continue;
		if (sched_setscheduler(tid, SCHED_RR, &sp) < 0 && errno != ESRCH) {
			err = -errno;
			break;
		}
		n++;
	}
	closedir(d);
	return err < 0 ? err : n > 0 ? 0 : -ESRCH;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct fs *fs = calloc(1, sizeof(*fs));
	struct parse_state *ps = &parsed;
	int ret = 1;
	if (!fs)
		return 1;
	fs->o.threads = 8;
	fs->o.entry_timeout = 1.0;
	fs->o.attr_timeout = 1.0;
	fs->o.uid = getuid();
	fs->o.gid = getgid();
	fs->o.fmode = 0644;
	fs->o.dmode = 0755;
	if (fuse_opt_parse(&args, &fs->o, opt_spec, opt_proc) < 0 || ps->bad) {
		ret = 2;
		goto out;
	}
	if (ps->help) {
		usage(stdout);
		printf("\nlibfuse options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out;
	}
	if (ps->version) {
		printf("swapobjfs %s (libswapobj %s, libfuse %s)\n", SWAPOBJ_VERSION_STRING, swapobj_version(),
		       fuse_pkgversion());
		ret = 0;
		goto out;
	}
	ret = 2;
	if (!fs->o.ndevices || !fs->o.mountpoint) {
		usage(stderr);
		goto out;
	}
	if (fs->o.threads < 1 || fs->o.threads > 256 || fs->o.fmode > 07777 || fs->o.dmode > 07777 ||
	    fs->o.entry_timeout < 0 || fs->o.attr_timeout < 0) {
		fprintf(stderr, "swapobjfs: threads must be 1..256, modes at most 07777, timeouts >= 0\n");
		goto out;
	}
	if (fs->o.rtprio > (unsigned)sched_get_priority_max(SCHED_RR)) {
		fprintf(stderr, "swapobjfs: rtprio must be 1..%d\n", sched_get_priority_max(SCHED_RR));
		goto out;
	}
	char fsname[PATH_MAX + 16];
	snprintf(fsname, sizeof(fsname), "-osubtype=swapobjfs,default_permissions,fsname=%s", fs->o.devices[0]);
	/* commas in the store's path would split the option: fsname is cosmetic, drop them */
	for (char *c = fsname + strlen("-osubtype=swapobjfs,default_permissions,fsname="); *c; c++)
		if (*c == ',')
			*c = '_';
	if (fuse_opt_add_arg(&args, fsname) < 0 || fuse_parse_cmdline(&args, &co) != 0)
		goto out;
	fs->o.foreground = co.foreground || co.debug;
	fs->o.debug = co.debug;
	fs->o.single_thread = co.singlethread;
	fs->o.clone_fd = co.clone_fd;
	free(co.mountpoint);

	fs_mem_prepare(fs->o.mlock); /* before any thread: stacks and arenas are sized at creation */
	if (!fs->o.foreground)
		daemon_start();

	struct swapobj_open_opts oo = SWAPOBJ_OPEN_OPTS_INIT;
	oo.flags = (fs->o.readonly ? SWAPOBJ_OPEN_RDONLY : 0) | (fs->o.no_odirect ? SWAPOBJ_OPEN_NO_DIRECT : 0) |
	           (fs->o.no_cull ? SWAPOBJ_OPEN_NO_CULL : 0);
	oo.cache_run = fs->o.cache_run;
	oo.cache_cull = fs->o.cache_cull;
	oo.cache_stop = fs->o.cache_stop;
	int rc = swapobj_store_open(&fs->st, fs->o.devices, fs->o.ndevices, &oo);
	if (rc < 0)
		fail("cannot open store %s: %s", fs->o.devices[0], swapobj_errmsg());
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);
	if (fs_table_init(fs) < 0)
		fail("out of memory");
	fs_attr_default(fs, &fs->root.attr, true);
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se)
		fail("cannot create the FUSE session (bad option?)");
	if (fuse_set_signal_handlers(fs->se) != 0)
		fail("cannot install signal handlers");
	if (fuse_session_mount(fs->se, fs->o.mountpoint) != 0)
		fail("cannot mount on %s", fs->o.mountpoint);
	if (fs_notify_start(fs) < 0) {
		fuse_session_unmount(fs->se);
		fail("cannot start the notification thread");
	}
	if (fs->o.rtprio && (rc = set_rtprio(fs->o.rtprio)) < 0) {
		fuse_session_unmount(fs->se);
		fail("rtprio=%u: %s (needs CAP_SYS_NICE or RLIMIT_RTPRIO)", fs->o.rtprio, strerror(-rc));
	}
	daemon_verdict(1, NULL);
	if (fs->o.mlock)
		fs_mem_lock();

	if (fs->o.single_thread) {
		rc = fuse_session_loop(fs->se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)fs->o.clone_fd);
		fuse_loop_cfg_set_max_threads(cfg, fs->o.threads);
		/* idle threads are kept: no thread creation (and its memory) once warmed up */
		fuse_loop_cfg_set_idle_threads(cfg, fs->o.threads);
		rc = fuse_session_loop_mt(fs->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	fuse_session_unmount(fs->se);
	fs_notify_stop(fs);
	fuse_remove_signal_handlers(fs->se);
	fuse_session_destroy(fs->se); /* runs fs_destroy: unsaved attributes are written */
	fs_table_destroy(fs);
	int crc = swapobj_store_close(fs->st);
	if (crc < 0)
		fs_log(LOG_ERR, "closing the store: %s", swapobj_errmsg());
	ret = (rc < 0 || crc < 0) ? 1 : 0;
out:
	fuse_opt_free_args(&args);
	free(fs->o.mountpoint);
	free(fs);
	return ret;
}
