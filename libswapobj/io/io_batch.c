/*
 * io_batch.c - several reads and writes in flight: io_batch(), the
 * one-after-the-other fallback, and the io_uring backend of POSIX devices.
 *
 * Owns the per-thread rings. A thread's first batch on an io_uring device
 * sets up its ring (IO_BATCH_DEPTH entries, a few pages the kernel maps);
 * later batches reuse it, so a batch allocates nothing. The ring is freed
 * when the thread exits (a pthread key destructor). A thread whose ring
 * cannot be set up, or whose ring refuses a submission, runs its batches
 * with pread/pwrite from then on: io_uring is an accelerator, never a
 * reason for an I/O to fail. A ring set up before a fork() is not used in
 * the child (its queues are memory shared with the parent, whose copy of
 * the queue indices would go stale): the child's thread sets up its own.
 *
 * Invariants of ring_batch:
 *  1. When it returns, the kernel holds none of the requests: a slot is
 *     freed only by its request's last completion, and it waits until
 *     every slot the kernel took is free again, errors or not. The
 *     buffers are the caller's again.
 *  2. slot.done counts the bytes of its request transferred so far; a
 *     short transfer is resubmitted for the rest (as posix_pread and
 *     posix_pwrite loop), so a request ends whole or with an error.
 *  3. At most IO_BATCH_DEPTH requests are in flight: the submission queue
 *     has that many entries and the completion queue twice that, so an
 *     entry is always there for a free slot and completions never
 *     overflow.
 * Locking: none; a ring belongs to one thread.
 */
#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "io.h"
#include "util.h"

struct io_slot {
	struct io_req *req;
	uint32_t done; /* bytes transferred so far (invariant 2) */
};

struct io_ring {
	struct io_uring ring;
	struct io_slot slot[IO_BATCH_DEPTH];
	uint32_t free[IO_BATCH_DEPTH]; /* free slot numbers, nfree of them */
	unsigned nfree;
	unsigned forks; /* fork_count when set up */
};

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool kernel_ok; /* set once by probe() */
static pthread_key_t ring_key;
static char ring_broken;    /* its address as a thread's key value: no ring on this thread */
static unsigned fork_count; /* forks this process descends through, since the probe (atfork handler) */

static void after_fork_child(void)
{
	fork_count++;
}

/* ------------------------------------------------------------------ */
/* One after the other                                                 */
/* ------------------------------------------------------------------ */

/* The first error of a batch and its message, kept while later failures set theirs. */
struct first_err {
	int err;
	char msg[512];
};

static void first_keep(struct first_err *f, int err)
{
	if (err < 0 && f->err == 0) {
		f->err = err;
		snprintf(f->msg, sizeof(f->msg), "%s", swapobj_errmsg());
	}
}

static int first_get(const struct first_err *f)
{
	return f->err < 0 ? so_err(f->err, "%s", f->msg) : 0;
}

static void each_keep(struct first_err *f, struct io_req *q)
{
	q->res =
	    q->op == IO_OP_READ ? io_pread(q->dev, q->buf, q->len, q->off) : io_pwrite(q->dev, q->buf, q->len, q->off);
	first_keep(f, q->res);
}

int io_batch_each(struct io_req *reqs, unsigned n, const unsigned *order)
{
	struct first_err f = {0};
	for (unsigned i = 0; i < n; i++)
		each_keep(&f, &reqs[order ? order[i] : i]);
	return first_get(&f);
}

/* ------------------------------------------------------------------ */
/* Rings                                                               */
/* ------------------------------------------------------------------ */

static void ring_free(void *p)
{
	struct io_ring *r = p;
	if (p == &ring_broken)
		return;
	io_uring_queue_exit(&r->ring);
	so_free(SO_MEM_OTHER, r);
}

static void probe(void)
{
	struct io_uring ring;
	if (pthread_key_create(&ring_key, ring_free) != 0 || pthread_atfork(NULL, NULL, after_fork_child) != 0)
		return;
	/* Refused with kernel.io_uring_disabled (EPERM), under seccomp filters, or by old kernels (ENOSYS). */
	if (io_uring_queue_init(4, &ring, 0) < 0)
		return;
	io_uring_queue_exit(&ring);
	kernel_ok = true;
}

bool io_uring_usable(void)
{
	const char *env = getenv("SWAPOBJ_IO");
	if (env && strcmp(env, "sync") == 0)
		return false;
	pthread_once(&probe_once, probe);
	return kernel_ok;
}

/* This thread's ring, set up on first use; NULL if it cannot have one. */
static struct io_ring *ring_get(void)
{
	pthread_once(&probe_once, probe);
	if (!kernel_ok)
		return NULL;
	void *p = pthread_getspecific(ring_key);
	if (p == &ring_broken)
		return NULL;
	if (p && ((struct io_ring *)p)->forks == fork_count)
		return p;
	if (p) { /* the parent's: unmap and close our copy, the parent's ring is untouched */
		ring_free(p);
		pthread_setspecific(ring_key, NULL);
	}
	struct io_ring *r = so_zalloc(SO_MEM_OTHER, sizeof(*r));
	if (!r)
		return NULL; /* try again next time */
	if (io_uring_queue_init(IO_BATCH_DEPTH, &r->ring, 0) < 0 || pthread_setspecific(ring_key, r) != 0) {
		so_free(SO_MEM_OTHER, r);
		pthread_setspecific(ring_key, &ring_broken);
		return NULL;
	}
	for (unsigned i = 0; i < IO_BATCH_DEPTH; i++)
		r->free[i] = IO_BATCH_DEPTH - 1 - i;
	r->nfree = IO_BATCH_DEPTH;
	r->forks = fork_count;
	return r;
}

/* The ring failed: free it, and run this thread's batches without one from now on. */
static void ring_abandon(struct io_ring *r)
{
	pthread_setspecific(ring_key, &ring_broken);
	ring_free(r);
}

/* ------------------------------------------------------------------ */
/* Batches through a ring                                              */
/* ------------------------------------------------------------------ */

/* Queue what is left of slot s's request (invariant 3: an entry is free). */
static void slot_queue(struct io_ring *r, unsigned s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	struct io_slot *sl = &r->slot[s];
	struct io_req *q = sl->req;
	assert(sqe);
	if (q->op == IO_OP_READ)
		io_uring_prep_read(sqe, q->dev->fd, (char *)q->buf + sl->done, q->len - sl->done, q->off + sl->done);
	else
		io_uring_prep_write(sqe, q->dev->fd, (char *)q->buf + sl->done, q->len - sl->done, q->off + sl->done);
	io_uring_sqe_set_data64(sqe, s);
}

/* A request failed with res (-errno, or 0: no progress); message only for the batch's first error. */
static int slot_error(const struct io_slot *sl, int res, int *first)
{
	const struct io_req *q = sl->req;
	const char *what = q->op == IO_OP_READ ? "read" : "write";
	unsigned long long at = (unsigned long long)(q->off + sl->done);
	int err = res == -ENOSPC && q->op == IO_OP_WRITE ? SWAPOBJ_ENOSPC : SWAPOBJ_EIO;
	if (*first)
		return err;
	*first = err;
	if (res == 0 && q->op == IO_OP_READ)
		return so_err(err, "%s: read at %llu is past the end of the device (truncated?)", q->dev->path, at);
	if (res == 0)
		return so_err(err, "%s: write of %u bytes at %llu made no progress", q->dev->path, q->len - sl->done,
		              at);
	return so_err(err, "%s: %s of %u bytes at %llu failed: %s", q->dev->path, what, q->len - sl->done, at,
	              strerror(-res));
}

/* A completion of slot s: true if its request is complete (the slot is free again). */
static bool slot_complete(struct io_ring *r, unsigned s, int res, int *first)
{
	struct io_slot *sl = &r->slot[s];
	struct io_req *q = sl->req;
	if (res == -EINTR || res == -EAGAIN) {
		slot_queue(r, s);
		return false;
	}
	if (res <= 0) {
		q->res = slot_error(sl, res, first);
		return true;
	}
	sl->done += (uint32_t)res;
	if (sl->done < q->len) {
		slot_queue(r, s); /* short: the rest again (invariant 2) */
		return false;
	}
	q->res = 0;
	__atomic_add_fetch(q->op == IO_OP_READ ? &q->dev->bytes_read : &q->dev->bytes_written, q->len,
	                   __ATOMIC_RELAXED);
	return true;
}

/*
 * The ring refused a submission while the kernel held none of our
 * requests: give the ring up and finish the batch without it. Requests
 * queued in the ring but never taken run whole; first is the error met so
 * far (its message is the current one).
 */
static int ring_bail(struct io_ring *r, struct io_req *reqs, unsigned n, unsigned next, int first)
{
	struct first_err f = {0};
	first_keep(&f, first);
	for (unsigned s = 0; s < IO_BATCH_DEPTH; s++)
		if (r->slot[s].req)
			each_keep(&f, r->slot[s].req);
	for (unsigned i = next; i < n; i++)
		each_keep(&f, &reqs[i]);
	ring_abandon(r);
	return first_get(&f);
}

/* Run reqs through r: 0 or the first error met. */
static int ring_batch(struct io_ring *r, struct io_req *reqs, unsigned n)
{
	unsigned next = 0, inflight = 0, in_kernel = 0;
	int first = 0;
	while (next < n || inflight) {
		while (next < n && r->nfree) {
			unsigned s = r->free[--r->nfree];
			r->slot[s].req = &reqs[next++];
			r->slot[s].done = 0;
			slot_queue(r, s);
			inflight++;
		}
		int rc = io_uring_submit_and_wait(&r->ring, 1);
		if (rc > 0) {
			in_kernel += (unsigned)rc;
		} else if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			/* Refused (a seccomp filter on io_uring_enter, say): never give up a ring the kernel holds
			 * requests of (invariant 1). */
			if (in_kernel == 0)
				return ring_bail(r, reqs, n, next, first);
			struct io_uring_cqe *c;
			io_uring_wait_cqe(&r->ring, &c); /* reaped below */
		}
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
			unsigned s = (unsigned)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&r->ring, cqe);
			in_kernel--;
			assert(s < IO_BATCH_DEPTH && r->slot[s].req);
			if (slot_complete(r, s, res, &first)) {
				r->slot[s].req = NULL;
				r->free[r->nfree++] = s;
				inflight--;
			}
		}
	}
	return first;
}

int io_posix_batch(struct io_req *reqs, unsigned n)
{
	bool uring = true;
	for (unsigned i = 0; i < n; i++)
		uring = uring && reqs[i].dev->uring;
	struct io_ring *r = uring ? ring_get() : NULL;
	return r ? ring_batch(r, reqs, n) : io_batch_each(reqs, n, NULL);
}

int io_batch(struct io_req *reqs, unsigned n)
{
	const struct io_ops *ops = n ? reqs[0].dev->ops : NULL;
	for (unsigned i = 0; i < n; i++) {
		const struct io_req *q = &reqs[i];
		assert(q->len > 0 && q->len % IO_ALIGN == 0 && q->off % IO_ALIGN == 0);
		assert((uintptr_t)q->buf % IO_ALIGN == 0 && (q->op == IO_OP_READ || q->op == IO_OP_WRITE));
		reqs[i].res = 0;
		if (q->dev->ops != ops)
			ops = NULL; /* devices with different backends: each request through its own */
	}
	if (!n)
		return 0;
	return ops && ops->batch ? ops->batch(reqs, n) : io_batch_each(reqs, n, NULL);
}
