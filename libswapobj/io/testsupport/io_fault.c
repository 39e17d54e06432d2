/*
 * io_fault.c - the fault-injecting, power-cut-simulating test backend
 * (model and use: io_fault.h).
 *
 * Owns one process-wide state, iof, under iof.mu. Invariants:
 *  1. tracking => durable holds size bytes and every pending operation
 *     lies inside [0, size).
 *  2. pending is in the order the operations reached the file: a write or
 *     discard is recorded and passed through under iof.mu, in one step.
 *  3. cut => every later modifying call fails before it counts or reaches
 *     the file; counts.ops stops at the cut point.
 *  4. fired is set at most once per arming, by the call that fails.
 *  5. A batch is nothing but its requests issued as single calls, in an
 *     order drawn under mu from order_state: invariants 2-4 hold for each.
 * Reads take the lock only to count and to look at cut and the fault, then
 * read without it (a concurrent read and write of one block is the store's
 * business, as on a real device).
 */
#include "io_fault.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "util.h"

#define SECTOR 512u

struct pending {
	uint64_t off;
	size_t len;
	uint8_t *data; /* NULL: a discard (reads back as zeros) */
};

static struct {
	pthread_mutex_t mu;
	/* injected fault */
	enum iofault_kind kind;
	uint64_t at;
	bool fired;
	struct iofault_counts n;
	/* power cut */
	bool tracking;
	uint8_t *durable;
	size_t size;
	struct pending *pend;
	size_t npend, cap;
	uint64_t cut_at;
	int cut; /* atomic reads outside mu */
	/* batch order */
	uint64_t order_seed, order_state;
} iof = {.mu = PTHREAD_MUTEX_INITIALIZER, .order_seed = 1, .order_state = 1};

static const char *const kind_names[IOFAULT_NKINDS] = {
    [IOFAULT_NONE] = "none",
    [IOFAULT_WRITE_EIO] = "write EIO",
    [IOFAULT_WRITE_ENOSPC] = "write ENOSPC",
    [IOFAULT_WRITE_SHORT] = "short write",
    [IOFAULT_SYNC_EIO] = "fsync EIO",
    [IOFAULT_READ_EIO] = "read EIO",
    [IOFAULT_DISCARD_EIO] = "discard EIO",
};

const char *iofault_kind_name(enum iofault_kind kind)
{
	return (unsigned)kind < IOFAULT_NKINDS ? kind_names[kind] : "unknown fault";
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "io_fault: %s %s: %m\n", what, path);
	abort();
}

static void *xrealloc(void *p, size_t len)
{
	p = realloc(p, len ? len : 1);
	if (!p)
		die("out of memory for", "the power-cut model");
	return p;
}

/* The backend below ours for this device (saved by the hook). */
static const struct io_ops *real(struct io_dev *d)
{
	return d->hook_priv;
}

/* Under mu: one more modifying call; true if the power is (now) off. */
static bool power_tick(void)
{
	if (iof.cut)
		return true;
	if (++iof.n.ops == iof.cut_at) {
		__atomic_store_n(&iof.cut, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Under mu: count is the class's count, just incremented; true if this call is the one to fail. */
static bool fault_hit(uint64_t count, bool ours)
{
	if (!ours || iof.fired || count != iof.at)
		return false;
	iof.fired = true;
	return true;
}

/* Under mu: remember a write (data) or a discard (NULL) until the next sync. */
static void pend(uint64_t off, size_t len, const void *data)
{
	if (!iof.tracking)
		return;
	if (off > iof.size || len > iof.size - off) {
		fprintf(stderr, "io_fault: %zu bytes at %llu lie past the %zu-byte image\n", len,
		        (unsigned long long)off, iof.size);
		abort();
	}
	if (iof.npend == iof.cap) {
		iof.cap = iof.cap ? 2 * iof.cap : 256;
		iof.pend = xrealloc(iof.pend, iof.cap * sizeof(*iof.pend));
	}
	struct pending *p = &iof.pend[iof.npend++];
	p->off = off;
	p->len = len;
	p->data = NULL;
	if (data) {
		p->data = xrealloc(NULL, len);
		memcpy(p->data, data, len);
	}
}

static void apply(const struct pending *p, size_t from, size_t len)
{
	if (p->data)
		memcpy(iof.durable + p->off + from, p->data + from, len);
	else
		memset(iof.durable + p->off + from, 0, len);
}

static void forget_pending(void)
{
	for (size_t i = 0; i < iof.npend; i++)
		free(iof.pend[i].data);
	iof.npend = 0;
}

static int cut_err(struct io_dev *d, const char *what)
{
	return so_err(SWAPOBJ_EIO, "%s: %s failed: Input/output error (simulated power cut)", d->path, what);
}

static int iof_pread(struct io_dev *d, void *buf, size_t len, uint64_t off)
{
	pthread_mutex_lock(&iof.mu);
	bool cut = iof.cut;
	bool hit = !cut && fault_hit(++iof.n.reads, iof.kind == IOFAULT_READ_EIO);
	pthread_mutex_unlock(&iof.mu);
	if (cut)
		return cut_err(d, "read");
	if (hit)
		return so_err(SWAPOBJ_EIO, "%s: read of %zu bytes at %llu failed: Input/output error (injected)",
		              d->path, len, (unsigned long long)off);
	return real(d)->pread(d, buf, len, off);
}

static int iof_pwrite(struct io_dev *d, const void *buf, size_t len, uint64_t off)
{
	int err = 0;
	pthread_mutex_lock(&iof.mu);
	if (power_tick()) {
		err = cut_err(d, "write");
		goto done;
	}
	uint64_t nth = ++iof.n.writes;
	bool ours =
	    iof.kind == IOFAULT_WRITE_EIO || iof.kind == IOFAULT_WRITE_ENOSPC || iof.kind == IOFAULT_WRITE_SHORT;
	if (!fault_hit(nth, ours)) {
		pend(off, len, buf);
		err = real(d)->pwrite(d, buf, len, off);
		goto done;
	}
	if (iof.kind == IOFAULT_WRITE_ENOSPC) {
		err =
		    so_err(SWAPOBJ_ENOSPC, "%s: write of %zu bytes at %llu failed: No space left on device (injected)",
		           d->path, len, (unsigned long long)off);
		goto done;
	}
	if (iof.kind == IOFAULT_WRITE_SHORT && len > SECTOR) {
		/* Part of the data reaches the device (whole sectors), then the call fails. */
		size_t part = len / 2 / SECTOR * SECTOR;
		pend(off, part, buf);
		if (pwrite(d->fd, buf, part, (off_t)off) != (ssize_t)part)
			die("short write to", d->path);
	}
	err = so_err(SWAPOBJ_EIO, "%s: write of %zu bytes at %llu failed: Input/output error (injected)", d->path, len,
	             (unsigned long long)off);
done:
	pthread_mutex_unlock(&iof.mu);
	return err;
}

static int iof_sync(struct io_dev *d)
{
	int err = 0;
	pthread_mutex_lock(&iof.mu);
	if (power_tick()) {
		err = cut_err(d, "fdatasync");
		goto done;
	}
	uint64_t nth = ++iof.n.syncs;
	if (fault_hit(nth, iof.kind == IOFAULT_SYNC_EIO)) {
		err = so_err(SWAPOBJ_EIO, "%s: fdatasync failed: Input/output error (injected)", d->path);
		goto done;
	}
	if (!iof.tracking) {
		err = real(d)->sync(d);
		goto done;
	}
	for (size_t i = 0; i < iof.npend; i++)
		apply(&iof.pend[i], 0, iof.pend[i].len);
	forget_pending();
	__atomic_add_fetch(&d->syncs, 1, __ATOMIC_RELAXED);
done:
	pthread_mutex_unlock(&iof.mu);
	return err;
}

static int iof_discard(struct io_dev *d, uint64_t off, uint64_t len)
{
	static _Alignas(IO_ALIGN) const uint8_t zeros[1u << 16];
	int err = 0;
	pthread_mutex_lock(&iof.mu);
	if (power_tick()) {
		err = cut_err(d, "discard");
		goto done;
	}
	uint64_t nth = ++iof.n.discards;
	if (fault_hit(nth, iof.kind == IOFAULT_DISCARD_EIO)) {
		err = so_err(SWAPOBJ_EIO, "%s: discard of %llu bytes at %llu failed: Input/output error (injected)",
		             d->path, (unsigned long long)len, (unsigned long long)off);
		goto done;
	}
	if (!iof.tracking) {
		err = real(d)->discard ? real(d)->discard(d, off, len) : 1;
		goto done;
	}
	pend(off, (size_t)len, NULL);
	for (uint64_t o = 0; o < len; o += sizeof(zeros)) { /* the file reads back zeros, on any file system */
		size_t n = (size_t)SO_MIN((uint64_t)sizeof(zeros), len - o);
		if (pwrite(d->fd, zeros, n, (off_t)(off + o)) != (ssize_t)n)
			die("zeroing a discarded range of", d->path);
	}
	__atomic_add_fetch(&d->discards, 1, __ATOMIC_RELAXED);
done:
	pthread_mutex_unlock(&iof.mu);
	return err;
}

/* Under mu: uniform in [0, n) (splitmix64; the slight modulo bias does not matter here). */
static uint64_t order_draw(uint64_t n)
{
	uint64_t z = (iof.order_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % n;
}

/* Each IO_BATCH_DEPTH requests in a random order, one at a time, through iof_pread / iof_pwrite. */
static int iof_batch(struct io_req *reqs, unsigned n)
{
	unsigned order[IO_BATCH_DEPTH];
	char msg[512];
	int first = 0;
	bool any_done = false, cut_before = iofault_power_is_cut();
	for (unsigned base = 0; base < n; base += IO_BATCH_DEPTH) {
		unsigned k = (unsigned)SO_MIN((unsigned)IO_BATCH_DEPTH, n - base);
		for (unsigned i = 0; i < k; i++)
			order[i] = i;
		pthread_mutex_lock(&iof.mu);
		for (unsigned i = k; i > 1; i--) { /* Fisher-Yates */
			unsigned j = (unsigned)order_draw(i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		pthread_mutex_unlock(&iof.mu);
		int err = io_batch_each(reqs + base, k, order);
		if (err < 0 && first == 0) {
			first = err;
			snprintf(msg, sizeof(msg), "%s", swapobj_errmsg());
		}
		for (unsigned i = 0; i < k; i++)
			any_done = any_done || reqs[base + i].res == 0;
	}
	pthread_mutex_lock(&iof.mu);
	iof.n.batches++;
	if (!cut_before && iof.cut && any_done)
		iof.n.batch_cuts++;
	pthread_mutex_unlock(&iof.mu);
	return first < 0 ? so_err(first, "%s", msg) : 0; /* the first error's message, not a later one's */
}

static const struct io_ops iofault_ops = {
    .pread = iof_pread,
    .pwrite = iof_pwrite,
    .sync = iof_sync,
    .discard = iof_discard,
    .batch = iof_batch,
};

static void iofault_hook(struct io_dev *d)
{
	d->hook_priv = (void *)d->ops;
	d->ops = &iofault_ops;
}

void iofault_install(void)
{
	io_set_hook(iofault_hook);
}

void iofault_uninstall(void)
{
	io_set_hook(NULL);
}

void iofault_arm(enum iofault_kind kind, uint64_t at)
{
	pthread_mutex_lock(&iof.mu);
	iof.kind = kind;
	iof.at = at;
	iof.fired = false;
	uint64_t ops = iof.n.ops;
	memset(&iof.n, 0, sizeof(iof.n));
	iof.n.ops = ops; /* the power-cut count goes on */
	pthread_mutex_unlock(&iof.mu);
}

bool iofault_fired(void)
{
	pthread_mutex_lock(&iof.mu);
	bool f = iof.fired;
	pthread_mutex_unlock(&iof.mu);
	return f;
}

void iofault_get_counts(struct iofault_counts *out)
{
	pthread_mutex_lock(&iof.mu);
	*out = iof.n;
	pthread_mutex_unlock(&iof.mu);
}

static void write_image(const char *path, const void *image, size_t len)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		die("cannot open", path);
	if (pwrite(fd, image, len, 0) != (ssize_t)len)
		die("cannot write", path);
	close(fd);
}

void iofault_power_start(const char *path, const void *image, size_t len, uint64_t cut_at)
{
	pthread_mutex_lock(&iof.mu);
	if (iof.size != len || !iof.durable)
		iof.durable = xrealloc(iof.durable, len);
	iof.size = len;
	memcpy(iof.durable, image, len);
	forget_pending();
	iof.kind = IOFAULT_NONE;
	iof.fired = false;
	memset(&iof.n, 0, sizeof(iof.n));
	iof.cut_at = cut_at;
	__atomic_store_n(&iof.cut, 0, __ATOMIC_RELAXED);
	iof.order_state = iof.order_seed;
	iof.tracking = true;
	write_image(path, image, len);
	pthread_mutex_unlock(&iof.mu);
}

void iofault_order_seed(uint64_t seed)
{
	pthread_mutex_lock(&iof.mu);
	iof.order_seed = seed;
	pthread_mutex_unlock(&iof.mu);
}

bool iofault_power_is_cut(void)
{
	return __atomic_load_n(&iof.cut, __ATOMIC_RELAXED) != 0;
}

size_t iofault_power_restore(const char *path, enum iofault_cut_mode mode, iofault_rand_fn rnd, void *ctx)
{
	pthread_mutex_lock(&iof.mu);
	size_t n = iof.npend;
	if (!iof.tracking) {
		fprintf(stderr, "io_fault: iofault_power_restore without iofault_power_start\n");
		abort();
	}
	for (size_t i = 0; i < iof.npend && mode != IOFAULT_CUT_LOSE_ALL; i++) {
		const struct pending *p = &iof.pend[i];
		uint64_t fate = rnd(ctx, mode == IOFAULT_CUT_TORN ? 3 : 2); /* 0 lost, 1 whole, 2 torn */
		if (fate == 1)
			apply(p, 0, p->len);
		else if (fate == 2)
			for (size_t s = 0; s < p->len; s += SECTOR)
				if (rnd(ctx, 2))
					apply(p, s, SO_MIN((size_t)SECTOR, p->len - s));
	}
	forget_pending();
	write_image(path, iof.durable, iof.size);
	iof.tracking = false;
	__atomic_store_n(&iof.cut, 0, __ATOMIC_RELAXED);
	iof.cut_at = 0;
	pthread_mutex_unlock(&iof.mu);
	return n;
}

void iofault_free(void)
{
	pthread_mutex_lock(&iof.mu);
	forget_pending();
	free(iof.pend);
	free(iof.durable);
	iof.pend = NULL;
	iof.durable = NULL;
	iof.cap = iof.size = 0;
	iof.tracking = false;
	iof.kind = IOFAULT_NONE;
	iof.fired = false;
	iof.cut_at = 0;
	__atomic_store_n(&iof.cut, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&iof.mu);
}
