/*
 * fsmem.c - the daemon's memory: how much of it there is, and locking it.
 *
 * Kernel swap onto the mount needs the daemon resident (a swapped-out daemon
 * page would have to be swapped in through the daemon). With -o mlock every
 * mapping is locked, so every mapping counts: what is locked is bounded by
 * sizing what is mapped, not by what is used.
 *
 *  - Thread stacks. glibc gives each thread RLIMIT_STACK (8 MiB here), and
 *    a locked mapping counts whole. libfuse's workers take their stack size
 *    from FUSE_THREAD_STACK (read by libfuse when it starts a worker), our
 *    own threads from fs_thread_attr: FS_THREAD_STACK each, far above what
 *    a request needs (a few KiB of frames: the largest locals are 3 KiB
 *    attribute buffers). The library's flusher and maintenance threads keep
 *    the default size (not ours to change); fs_mem_stat reports it.
 *  - malloc arenas. Each arena beyond the main one reserves 64 MiB of
 *    address space, so with mlock the heap is one arena (M_ARENA_MAX=1): the
 *    request path allocates only libfuse's small request struct. Blocks up
 *    to FS_MMAP_THRESHOLD (the 1 MiB per-worker buffers) come from the heap
 *    and are reused; larger, rarer ones get their own mapping and leave the
 *    locked set when freed. Free heap top beyond FS_TRIM_THRESHOLD goes back
 *    to the kernel, less is kept (reused without a new fault).
 *  - mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) (Linux >= 4.4): a
 *    page is locked when first touched, so the untouched parts of stacks
 *    and buffers are neither resident nor locked; once touched it never
 *    leaves. Older kernels get MCL_CURRENT | MCL_FUTURE (every mapping
 *    made resident at once).
 *
 * Not thread-safe before the FUSE loop starts (called from main only);
 * fs_mem_stat may run on any worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <syslog.h>

#include "fsmem.h"

#include "fs.h"
#include "fsutil.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define FS_THREAD_STACK (256u << 10)
#define FS_MMAP_THRESHOLD (4u << 20)
#define FS_TRIM_THRESHOLD (8u << 20)

static const char *lock_mode = "off"; /* "off", "onfault", "all" or "failed" */
static size_t worker_stack;           /* what libfuse's workers get (0: the default) */

void fs_mem_prepare(bool mlock)
{
	/* FUSE_THREAD_STACK set by the user wins */
	const char *env = getenv("FUSE_THREAD_STACK");
	if (!env) {
		char v[32];
		snprintf(v, sizeof(v), "%u", FS_THREAD_STACK);
		setenv("FUSE_THREAD_STACK", v, 0);
		worker_stack = FS_THREAD_STACK;
	} else {
		worker_stack = strtoul(env, NULL, 10);
	}
	if (!mlock)
		return;
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, FS_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, FS_TRIM_THRESHOLD);
}

int fs_thread_attr(pthread_attr_t *attr)
{
	int rc = pthread_attr_init(attr);
	if (rc == 0 && (rc = pthread_attr_setstacksize(attr, FS_THREAD_STACK)) != 0)
		pthread_attr_destroy(attr);
	return -rc;
}

void fs_mem_lock(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0) {
		lock_mode = "onfault";
	} else if (errno == EINVAL && mlockall(MCL_CURRENT | MCL_FUTURE) == 0) {
		lock_mode = "all"; /* a kernel before 4.4 */
	} else {
		lock_mode = "failed";
		fs_log(LOG_WARNING, "mlockall: %s (memory is not locked)", strerror(errno));
	}
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		fs_log(LOG_WARNING, "PR_SET_IO_FLUSHER: %s (reclaim may still wait on this daemon's own I/O)",
		       strerror(errno));
}

/* Fields of /proc/self/status, in KiB (threads: a count); -1 where absent. */
struct proc_status {
	long vmlck, vmrss, vmhwm, vmsize, threads;
};

static void read_status(struct proc_status *ps)
{
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
	    {"VmLck:", offsetof(struct proc_status, vmlck)},     {"VmRSS:", offsetof(struct proc_status, vmrss)},
	    {"VmHWM:", offsetof(struct proc_status, vmhwm)},     {"VmSize:", offsetof(struct proc_status, vmsize)},
	    {"Threads:", offsetof(struct proc_status, threads)},
	};
	char line[256];
	ps->vmlck = ps->vmrss = ps->vmhwm = ps->vmsize = ps->threads = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			size_t l = strlen(want[i].name);
			if (!strncmp(line, want[i].name, l))
				*(long *)((char *)ps + want[i].off) = strtol(line + l, NULL, 10);
		}
	}
	fclose(f);
}

int fs_mem_stat(char *out, size_t cap)
{
	struct proc_status ps;
	pthread_attr_t def;
	size_t lib_stack = 0;
	read_status(&ps);
	if (pthread_getattr_default_np(&def) == 0) {
		pthread_attr_getstacksize(&def, &lib_stack);
		pthread_attr_destroy(&def);
	}
	int n = snprintf(out, cap,
	                 "mlock=%s vmlck_kib=%ld vmrss_kib=%ld vmhwm_kib=%ld vmsize_kib=%ld threads=%ld"
	                 " worker_stack_kib=%zu own_thread_stack_kib=%u library_thread_stack_kib=%zu io_buffers=%u"
	                 " io_buffer_kib=%u",
	                 lock_mode, ps.vmlck, ps.vmrss, ps.vmhwm, ps.vmsize, ps.threads, worker_stack >> 10,
	                 FS_THREAD_STACK >> 10, lib_stack >> 10, fs_iobuf_count(), FS_IO_MAX >> 10);
	return n < 0 || (size_t)n >= cap ? -ERANGE : n;
}

/* ------------------------------------------------------------------------ */
/* Per-thread I/O buffer                                                     */
/* ------------------------------------------------------------------------ */

static pthread_key_t iobuf_key;
static pthread_once_t iobuf_once = PTHREAD_ONCE_INIT;
static unsigned iobuf_count;

static void iobuf_init(void)
{
	pthread_key_create(&iobuf_key, free);
}

/* FS_IO_MAX bytes, page aligned, allocated once per worker thread. */
uint8_t *fs_iobuf(void)
{
	pthread_once(&iobuf_once, iobuf_init);
	uint8_t *b = pthread_getspecific(iobuf_key);
	if (!b) {
		void *p = NULL;
		if (posix_memalign(&p, SWAPOBJ_PAGE_SIZE, FS_IO_MAX))
			return NULL;
		b = p;
		pthread_setspecific(iobuf_key, b);
		__atomic_add_fetch(&iobuf_count, 1, __ATOMIC_RELAXED);
	}
	return b;
}

unsigned fs_iobuf_count(void)
{
	return __atomic_load_n(&iobuf_count, __ATOMIC_RELAXED);
}
