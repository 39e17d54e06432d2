/*
 * test_io.c - the io layer's batches (io_batch), through both backends:
 * io_uring and pread/pwrite one after the other.
 *
 * Each behaviour is checked for both (a case per backend, from one table
 * of what to run): a batch larger than the ring writes and reads back every
 * byte; a failing request (read past the end, bad descriptor) fails alone,
 * with its error returned and the others complete; steady-state batches
 * allocate nothing; a thread's ring is freed when the thread exits. Where
 * the kernel refuses io_uring (io_uring_usable() false), the io_uring cases
 * say so and check that the fallback took over.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "testutil.h"
#include "util.h"

#define BLK 4096u
#define NREQ 200u /* more than IO_BATCH_DEPTH: the ring queues the rest */

enum backend { URING, SYNC };

static const char *backend_name(enum backend b)
{
	return b == URING ? "io_uring" : "pread/pwrite";
}

/* Open tu_img (len bytes) for the backend; O_DIRECT where the file system allows it. */
static void dev_open(struct io_dev *d, enum backend b, uint64_t len)
{
	uint8_t *zero = calloc(1, len);
	ck_assert(zero);
	tu_write_file(tu_img, zero, len);
	free(zero);
	ck_assert_msg(io_open(d, tu_img, false, false, false, false) == 0, "open: %s", swapobj_errmsg());
	if (b == SYNC)
		d->uring = false;
	else if (!io_uring_usable())
		fprintf(stderr, "test_io: the kernel refuses io_uring here: checking that batches fall back\n");
	ck_assert_int_eq(d->uring, b == URING && io_uring_usable());
}

/* Request i: 1..8 blocks at its own place, bytes stamped with i and the generation. */
static uint32_t req_len(unsigned i)
{
	return (1 + i % 8) * BLK;
}

static uint64_t req_off(unsigned i)
{
	return (uint64_t)i * 8 * BLK;
}

static void stamp(uint8_t *p, uint32_t len, unsigned i, unsigned gen)
{
	for (uint32_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 31 + k / BLK * 7 + gen + (k % 251));
}

static void big_batch_round_trip(enum backend b)
{
	struct io_dev d;
	uint64_t len = req_off(NREQ);
	struct io_req req[NREQ];
	uint8_t *bufs[NREQ];
	dev_open(&d, b, len);
	uint64_t total = 0;
	for (unsigned i = 0; i < NREQ; i++) {
		bufs[i] = aligned_alloc(BLK, req_len(i));
		ck_assert(bufs[i]);
		stamp(bufs[i], req_len(i), i, 1);
		req[i] =
		    (struct io_req){.dev = &d, .buf = bufs[i], .len = req_len(i), .op = IO_OP_WRITE, .off = req_off(i)};
		total += req_len(i);
	}
	ck_assert_msg(io_batch(req, NREQ) == 0, "%s: %s", backend_name(b), swapobj_errmsg());
	for (unsigned i = 0; i < NREQ; i++)
		ck_assert_int_eq(req[i].res, 0);
	ck_assert_uint_eq(d.bytes_written, total);

	/* The file holds every request's bytes at its place. */
	size_t flen;
	uint8_t *f = tu_read_file(tu_img, &flen);
	ck_assert_uint_eq(flen, len);
	for (unsigned i = 0; i < NREQ; i++)
		ck_assert_msg(memcmp(f + req_off(i), bufs[i], req_len(i)) == 0, "%s: request %u not on the file",
		              backend_name(b), i);
	free(f);

	/* Read it all back in one batch. */
	for (unsigned i = 0; i < NREQ; i++) {
		memset(bufs[i], 0, req_len(i));
		req[i].op = IO_OP_READ;
		req[i].res = 1;
	}
	ck_assert_msg(io_batch(req, NREQ) == 0, "%s: %s", backend_name(b), swapobj_errmsg());
	uint8_t *want = aligned_alloc(BLK, 8 * BLK);
	for (unsigned i = 0; i < NREQ; i++) {
		ck_assert_int_eq(req[i].res, 0);
		stamp(want, req_len(i), i, 1);
		ck_assert_msg(memcmp(want, bufs[i], req_len(i)) == 0, "%s: request %u read back wrong", backend_name(b),
		              i);
		free(bufs[i]);
	}
	ck_assert_uint_eq(d.bytes_read, total);
	free(want);
	io_close(&d);
}

START_TEST(test_io__uring_batch_larger_than_the_ring_writes_and_reads_back_every_byte)
{
	big_batch_round_trip(URING);
}
END_TEST

START_TEST(test_io__sync_batch_larger_than_the_ring_writes_and_reads_back_every_byte)
{
	big_batch_round_trip(SYNC);
}
END_TEST

/*
 * A batch with one read past the end of the file and one on a closed
 * descriptor among good ones: those two fail with SWAPOBJ_EIO, the others
 * complete, and io_batch returns the error with a message naming the cause.
 */
static void failing_requests(enum backend b)
{
	struct io_dev d, bad;
	enum { N = 8, PAST = 3, BAD = 6 };
	struct io_req req[N];
	uint8_t *buf = aligned_alloc(BLK, N * BLK);
	ck_assert(buf);
	dev_open(&d, b, 4 * BLK);
	bad = d;
	bad.fd = dup(d.fd); /* a descriptor number that is not open */
	close(bad.fd);
	for (unsigned i = 0; i < N; i++)
		req[i] = (struct io_req){
		    .dev = &d, .buf = buf + i * BLK, .len = BLK, .op = IO_OP_READ, .off = (i % 4) * BLK};
	req[PAST].off = 40 * BLK;
	req[BAD].dev = &bad;
	int err = io_batch(req, N);
	ck_assert_int_eq(err, SWAPOBJ_EIO);
	ck_assert_msg(strstr(swapobj_errmsg(), "past the end") || strstr(swapobj_errmsg(), "Bad file descriptor"),
	              "%s: message '%s'", backend_name(b), swapobj_errmsg());
	for (unsigned i = 0; i < N; i++)
		ck_assert_int_eq(req[i].res, i == PAST || i == BAD ? SWAPOBJ_EIO : 0);

	/* Writes too: the one on the closed descriptor fails, the rest land. */
	for (unsigned i = 0; i < N; i++) {
		memset(buf + i * BLK, 0x40 + i, BLK);
		req[i] = (struct io_req){
		    .dev = &d, .buf = buf + i * BLK, .len = BLK, .op = IO_OP_WRITE, .off = (i % 4) * BLK};
	}
	req[BAD].dev = &bad;
	req[BAD].off = 0;
	ck_assert_int_eq(io_batch(req, N), SWAPOBJ_EIO);
	for (unsigned i = 0; i < N; i++)
		ck_assert_int_eq(req[i].res, i == BAD ? SWAPOBJ_EIO : 0);
	free(buf);
	io_close(&d);
}

START_TEST(test_io__uring_batch_fails_only_the_bad_requests_and_returns_the_error)
{
	failing_requests(URING);
}
END_TEST

START_TEST(test_io__sync_batch_fails_only_the_bad_requests_and_returns_the_error)
{
	failing_requests(SYNC);
}
END_TEST

/* Batch 4 writes of one block on d; asserts success. */
static void small_batch(struct io_dev *d, uint8_t *buf)
{
	struct io_req req[4];
	for (unsigned i = 0; i < 4; i++)
		req[i] = (struct io_req){.dev = d, .buf = buf, .len = BLK, .op = IO_OP_WRITE, .off = i * BLK};
	ck_assert_msg(io_batch(req, 4) == 0, "%s", swapobj_errmsg());
}

struct thread_arg {
	struct io_dev *d;
	uint8_t *buf;
	uint64_t mem_during;
};

static void *batching_thread(void *p)
{
	struct thread_arg *a = p;
	small_batch(a->d, a->buf);
	a->mem_during = so_mem_used(SO_MEM_OTHER);
	return NULL;
}

/*
 * The first batch of a thread sets up its ring; later ones allocate
 * nothing; when the thread exits its ring is freed (the memory the library
 * accounts comes back to where it was).
 */
START_TEST(test_io__uring_rings_are_per_thread_kept_and_freed_at_thread_exit)
{
	struct io_dev d;
	uint8_t *buf = aligned_alloc(BLK, BLK);
	ck_assert(buf);
	memset(buf, 0x5a, BLK);
	dev_open(&d, URING, 4 * BLK);
	small_batch(&d, buf); /* this thread's ring */
	uint64_t allocs = so_alloc_count();
	for (int i = 0; i < 100; i++)
		small_batch(&d, buf);
	ck_assert_uint_eq(so_alloc_count(), allocs);

	uint64_t mem0 = so_mem_used(SO_MEM_OTHER);
	struct thread_arg a = {.d = &d, .buf = buf};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, batching_thread, &a), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	if (io_uring_usable())
		ck_assert_uint_gt(a.mem_during, mem0); /* the thread had a ring of its own */
	ck_assert_uint_eq(so_mem_used(SO_MEM_OTHER), mem0);
	free(buf);
	io_close(&d);
}
END_TEST

/*
 * A child process forked after the parent set up its ring sets up its own
 * (the parent's queues are memory shared with it) and both go on batching.
 */
START_TEST(test_io__a_forked_child_batches_on_its_own_ring_and_the_parent_still_can)
{
	struct io_dev d;
	uint8_t *buf = aligned_alloc(BLK, BLK);
	ck_assert(buf);
	memset(buf, 0x11, BLK);
	dev_open(&d, URING, 4 * BLK);
	small_batch(&d, buf);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct io_req q = {.dev = &d, .buf = buf, .len = BLK, .op = IO_OP_READ, .off = 0};
		for (int i = 0; i < 50; i++) {
			memset(buf, 0, BLK);
			if (io_batch(&q, 1) != 0 || buf[0] != 0x11 || buf[BLK - 1] != 0x11)
				_exit(1);
		}
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	for (int i = 0; i < 50; i++)
		small_batch(&d, buf);
	free(buf);
	io_close(&d);
}
END_TEST

/* SWAPOBJ_IO=sync turns io_uring off for devices opened afterwards; a value it does not know is an error. */
START_TEST(test_io__environment_variable_selects_the_backend_and_rejects_unknown_values)
{
	struct io_dev d;
	dev_open(&d, URING, 4 * BLK);
	io_close(&d);
	ck_assert_int_eq(setenv("SWAPOBJ_IO", "sync", 1), 0);
	ck_assert_int_eq(io_open(&d, tu_img, false, false, false, false), 0);
	ck_assert(!d.uring);
	io_close(&d);
	ck_assert_int_eq(setenv("SWAPOBJ_IO", "fast", 1), 0);
	ck_assert_int_eq(io_open(&d, tu_img, false, false, false, false), SWAPOBJ_EINVAL);
	ck_assert_msg(strstr(swapobj_errmsg(), "SWAPOBJ_IO=fast"), "message '%s'", swapobj_errmsg());
	ck_assert_int_eq(setenv("SWAPOBJ_IO", "io_uring", 1), 0);
	ck_assert_int_eq(io_open(&d, tu_img, false, false, false, false), 0);
	ck_assert_int_eq(d.uring, io_uring_usable());
	io_close(&d);
	unsetenv("SWAPOBJ_IO");
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("io");
	const struct tu_case_opts opts = {.setup = tu_store_setup, .teardown = tu_store_teardown, .timeout = 120};
	tu_add(s, test_io__uring_batch_larger_than_the_ring_writes_and_reads_back_every_byte, &opts);
	tu_add(s, test_io__sync_batch_larger_than_the_ring_writes_and_reads_back_every_byte, &opts);
	tu_add(s, test_io__uring_batch_fails_only_the_bad_requests_and_returns_the_error, &opts);
	tu_add(s, test_io__sync_batch_fails_only_the_bad_requests_and_returns_the_error, &opts);
	tu_add(s, test_io__uring_rings_are_per_thread_kept_and_freed_at_thread_exit, &opts);
	tu_add(s, test_io__a_forked_child_batches_on_its_own_ring_and_the_parent_still_can, &opts);
	tu_add(s, test_io__environment_variable_selects_the_backend_and_rejects_unknown_values, &opts);
	return tu_run(s, argc, argv);
}
