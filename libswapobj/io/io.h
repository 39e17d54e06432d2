/*
 * io.h - device access: aligned positional reads and writes, durability
 * barriers, size probing and exclusive locking of files and block devices.
 *
 * Every device goes through an ops table, so a test can interpose a
 * fault-injecting or crash-simulating backend (io_set_hook) without the
 * layers above knowing. All offsets and lengths passed to read/write are
 * multiples of IO_ALIGN, and buffers are IO_ALIGN-aligned (O_DIRECT rules).
 */
#ifndef SO_IO_H
#define SO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IO_ALIGN 4096u

struct io_dev;

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
};

struct io_dev {
	int fd;
	bool direct; /* opened with O_DIRECT */
	bool is_blk; /* block device */
	bool rdonly;
	uint64_t size; /* bytes */
	char *path;
	const struct io_ops *ops;
	void *hook_priv;        /* for an interposed backend */
	uint64_t bytes_written; /* atomic: bytes submitted by pwrite */
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
 * Test hook: when set, every device opened afterwards calls hook(d) right
 * after opening, which may replace d->ops and set d->hook_priv.
 */
typedef void (*io_open_hook)(struct io_dev *d);
void io_set_hook(io_open_hook hook);

#endif
