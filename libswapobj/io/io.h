/*
 * io.h - device access: aligned positional reads and writes, durability
 * barriers, size probing and exclusive locking of files and block devices.
 *
 * Every device goes through an ops table, so a test can interpose a
 * fault-injecting or crash-simulating backend (io_set_hook) without the
 * layers above knowing. All offsets and lengths passed to read/write are
 * multiples of IO_ALIGN, and buffers are IO_ALIGN-aligned (O_DIRECT rules).
 *
 * Single reads and writes are plain syscalls. A batch (io_batch) puts
 * several requests in flight at once: on the POSIX backend through a
 * per-thread io_uring ring (io_batch.c), or one request after the other
 * with pread/pwrite where io_uring is unavailable or turned off (the
 * SWAPOBJ_IO=sync environment variable, or io_dev.uring cleared by the
 * opener).
 */
#ifndef SO_IO_H
#define SO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IO_ALIGN 4096u

/* Requests a thread's io_uring ring keeps in flight at once; larger batches queue behind them. */
#define IO_BATCH_DEPTH 64u

struct io_dev;

enum io_op { IO_OP_READ, IO_OP_WRITE };

/* One request of a batch. The caller fills all but res. */
struct io_req {
	struct io_dev *dev;
	void *buf;    /* IO_ALIGN-aligned; read into, or written from (not changed) */
	uint32_t len; /* bytes, a multiple of IO_ALIGN, > 0 */
	uint8_t op;   /* enum io_op */
	uint64_t off; /* byte offset on dev, a multiple of IO_ALIGN */
	int res;      /* out: 0 (the whole len transferred) or a negative swapobj error */
};

struct io_ops {
	/* Full transfer or a negative swapobj error (with message). */
	int (*pread)(struct io_dev *d, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct io_dev *d, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct io_dev *d);
	/*
	 * Optional (NULL: not supported). Tell the device that [off, off+len)
	 * holds nothing of value; it may read back as zeros or as its old bytes.
	 * SWAPOBJ_ENOTSUP-like failures are reported as 1 (unsupported here),
	 * real I/O errors as a negative code.
	 */
	int (*discard)(struct io_dev *d, uint64_t off, uint64_t len);
	/*
	 * Optional (NULL: io_batch calls pread/pwrite per request). Run n
	 * requests, all on devices with these ops, in any order or at once;
	 * return when every one is complete, with res set in each. Returns 0
	 * or the first error met (its message set).
	 */
	int (*batch)(struct io_req *reqs, unsigned n);
};

struct io_dev {
	int fd;      /* every read and write goes through it */
	int lock_fd; /* holds the store's flock, nothing else (-1: not locked; see io_open) */
	bool direct; /* opened with O_DIRECT */
	bool is_blk; /* block device */
	bool rdonly;
	uint64_t size; /* bytes */
	char *path;
	const struct io_ops *ops;
	void *hook_priv;        /* for an interposed backend */
	bool uring;             /* batches go through io_uring (set by io_open; the opener may clear it) */
	uint64_t bytes_written; /* atomic: bytes submitted by pwrite */
	uint64_t bytes_read;    /* atomic: bytes read */
	uint64_t syncs;         /* atomic: successful sync calls (tests assert on it) */
	uint64_t discards;      /* atomic: successful discard calls */
	bool no_discard;        /* the device refused a discard once: do not try again */
};

/* The plain POSIX backend. */
extern const struct io_ops io_posix_ops;

/*
 * Open path (create = create a regular file if missing). Tries O_DIRECT
 * unless no_direct, falling back to buffered I/O where the file system
 * refuses it. lock = take an exclusive flock (SWAPOBJ_EBUSY if held).
 * d->uring is set if batches can go through io_uring (io_uring_usable) and
 * no test hook replaced the backend. SWAPOBJ_EINVAL if SWAPOBJ_IO holds
 * anything but "sync" or "io_uring".
 */
int io_open(struct io_dev *d, const char *path, bool rdonly, bool create, bool no_direct, bool lock);
void io_close(struct io_dev *d);
/* Extend a regular file to size bytes (sparse). */
int io_set_size(struct io_dev *d, uint64_t size);

static inline int io_pread(struct io_dev *d, void *buf, size_t len, uint64_t off)
{
	return d->ops->pread(d, buf, len, off);
}
static inline int io_pwrite(struct io_dev *d, const void *buf, size_t len, uint64_t off)
{
	return d->ops->pwrite(d, buf, len, off);
}
static inline int io_sync(struct io_dev *d)
{
	return d->ops->sync(d);
}
/*
 * Discard a range (whole IO_ALIGN blocks): fallocate(PUNCH_HOLE|KEEP_SIZE)
 * on files, BLKDISCARD on block devices. Returns 0 done, 1 not supported by
 * this device or backend (nothing happened), or a negative error.
 */
static inline int io_discard(struct io_dev *d, uint64_t off, uint64_t len)
{
	return d->ops->discard ? d->ops->discard(d, off, len) : 1;
}

/*
 * Run n requests with several in flight (see struct io_ops.batch), through
 * the devices' backend: io_uring on POSIX devices with d->uring set, else
 * pread/pwrite one after the other. Any completion order; requests of one
 * batch must not overlap if one of them writes. Returns 0 if every request
 * succeeded, else the first error met (with its message); each request's
 * res says how it went. Allocates nothing but a thread's ring, the first
 * time that thread batches. Thread-safe (each thread has its own ring).
 */
int io_batch(struct io_req *reqs, unsigned n);
/*
 * The plain way to run a batch: each request through its device's
 * pread/pwrite, in the order given (order: a permutation of 0..n-1, or
 * NULL for 0, 1, ...). Same result as io_batch. For backends' batch ops.
 */
int io_batch_each(struct io_req *reqs, unsigned n, const unsigned *order);
/*
 * True if this process may use io_uring: the kernel lets it set up a ring
 * (not so with kernel.io_uring_disabled, a seccomp filter, or a kernel
 * without it) and SWAPOBJ_IO is not "sync". Probed once per process.
 */
bool io_uring_usable(void);
/* io_posix_ops.batch (io_batch.c). */
int io_posix_batch(struct io_req *reqs, unsigned n);

/*
 * Test hook: when set, every device opened afterwards calls hook(d) right
 * after opening, which may replace d->ops and set d->hook_priv.
 */
typedef void (*io_open_hook)(struct io_dev *d);
void io_set_hook(io_open_hook hook);

#endif
