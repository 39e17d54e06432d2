/*
 * io.c - POSIX device backend.
 *
 * Short reads and writes are retried; EINTR is retried; any other failure
 * becomes SWAPOBJ_EIO with a message naming the path, the offset and errno.
 * A read past the end of the device (a truncated image) is SWAPOBJ_EIO too,
 * never silently zero-filled. Batches: io_batch.c.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static io_open_hook io_hook;

void io_set_hook(io_open_hook hook)
{
	io_hook = hook;
}

static int posix_pread(struct io_dev *d, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(d->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return so_err(SWAPOBJ_EIO, "%s: read of %zu bytes at %llu failed: %s", d->path, len - done,
			              (unsigned long long)(off + done), strerror(errno));
		if (n == 0)
			return so_err(SWAPOBJ_EIO, "%s: read at %llu is past the end of the device (truncated?)",
			              d->path, (unsigned long long)(off + done));
		done += (size_t)n;
	}
	__atomic_add_fetch(&d->bytes_read, len, __ATOMIC_RELAXED);
	return 0;
}

static int posix_pwrite(struct io_dev *d, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(d->fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return so_err(errno == ENOSPC ? SWAPOBJ_ENOSPC : SWAPOBJ_EIO,
			              "%s: write of %zu bytes at %llu failed: %s", d->path, len - done,
			              (unsigned long long)(off + done), strerror(errno));
		done += (size_t)n;
	}
	__atomic_add_fetch(&d->bytes_written, len, __ATOMIC_RELAXED);
	return 0;
}

static int posix_sync(struct io_dev *d)
{
	if (fdatasync(d->fd) < 0)
		return so_err(SWAPOBJ_EIO, "%s: fdatasync failed: %s", d->path, strerror(errno));
	__atomic_add_fetch(&d->syncs, 1, __ATOMIC_RELAXED);
	return 0;
}

static int posix_discard(struct io_dev *d, uint64_t off, uint64_t len)
{
	int rc;
	if (d->no_discard)
		return 1;
	if (d->is_blk) {
		uint64_t range[2] = {off, len};
		rc = ioctl(d->fd, BLKDISCARD, range);
	} else {
		rc = fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	}
	if (rc == 0) {
		__atomic_add_fetch(&d->discards, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL || errno == ENOSYS) {
		d->no_discard = true; /* the file system or device cannot: a hint only, never an error */
		return 1;
	}
	return so_err(SWAPOBJ_EIO, "%s: discard of %llu bytes at %llu failed: %s", d->path, (unsigned long long)len,
	              (unsigned long long)off, strerror(errno));
}

const struct io_ops io_posix_ops = {
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .sync = posix_sync,
    .discard = posix_discard,
    .batch = io_posix_batch,
};

/* SWAPOBJ_IO: unset, "io_uring" (the default) or "sync" (batches without io_uring). */
static int env_check(void)
{
	const char *env = getenv("SWAPOBJ_IO");
	if (env && strcmp(env, "sync") != 0 && strcmp(env, "io_uring") != 0)
		return so_err(SWAPOBJ_EINVAL, "SWAPOBJ_IO=%s: use sync or io_uring", env);
	return 0;
}

int io_open(struct io_dev *d, const char *path, bool rdonly, bool create, bool no_direct, bool lock)
{
	struct stat stb;
	int flags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int err = 0;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->lock_fd = -1;
	if (!path || !*path)
		return so_err(SWAPOBJ_EINVAL, "empty device path");
	if ((err = env_check()) < 0)
		return err;
	d->path = strdup(path);
	if (!d->path)
		return so_err(SWAPOBJ_ENOMEM, "out of memory");
	if (create && !rdonly)
		flags |= O_CREAT;
	d->fd = -1;
	if (!no_direct) {
		d->fd = open(path, flags | O_DIRECT, 0644);
		d->direct = d->fd >= 0;
	}
	if (d->fd < 0 && (no_direct || errno == EINVAL))
		d->fd = open(path, flags, 0644);
	if (d->fd < 0) {
		err = so_err(errno == ENOENT ? SWAPOBJ_ENOENT : SWAPOBJ_EIO, "%s: cannot open: %s", path,
		             strerror(errno));
		goto done;
	}
	if (fstat(d->fd, &stb) < 0) {
		err = so_err(SWAPOBJ_EIO, "%s: fstat: %s", path, strerror(errno));
		goto done;
	}
	if (S_ISBLK(stb.st_mode)) {
		uint64_t sz;
		if (ioctl(d->fd, BLKGETSIZE64, &sz) < 0) {
			err = so_err(SWAPOBJ_EIO, "%s: BLKGETSIZE64: %s", path, strerror(errno));
			goto done;
		}
		d->is_blk = true;
		d->size = sz;
	} else if (S_ISREG(stb.st_mode)) {
		d->size = (uint64_t)stb.st_size;
	} else {
		err = so_err(SWAPOBJ_EINVAL, "%s: not a regular file or block device", path);
		goto done;
	}
	/*
	 * The lock is taken on a descriptor of its own that no I/O ever goes
	 * through. A flock lasts while any reference to its open file remains,
	 * and io_uring holds references to the files of its requests: after a
	 * crash (SIGKILL with I/O in flight) the kernel tears the ring down
	 * asynchronously, after the process is gone, and a lock on the I/O
	 * descriptor would outlive the process, so a restarted user would find
	 * its store "in use". The lock descriptor is closed with the process.
	 */
	if (lock) {
		d->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (d->lock_fd < 0) {
			err = so_err(SWAPOBJ_EIO, "%s: cannot open for locking: %s", path, strerror(errno));
			goto done;
		}
		if (flock(d->lock_fd, (rdonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
			err = so_err(errno == EWOULDBLOCK ? SWAPOBJ_EBUSY : SWAPOBJ_EIO,
			             "%s: store is in use (lock: %s)", path, strerror(errno));
			goto done;
		}
	}
	d->rdonly = rdonly;
	d->ops = &io_posix_ops;
	if (io_hook)
		io_hook(d);
	/* A hook's backend runs batches its own way. */
	d->uring = d->ops == &io_posix_ops && io_uring_usable();
done:
	if (err < 0)
		io_close(d);
	return err;
}

int io_set_size(struct io_dev *d, uint64_t size)
{
	if (d->is_blk)
		return 0;
	if (ftruncate(d->fd, (off_t)size) < 0)
		return so_err(errno == ENOSPC || errno == EFBIG ? SWAPOBJ_ENOSPC : SWAPOBJ_EIO,
		              "%s: cannot set size to %llu: %s", d->path, (unsigned long long)size, strerror(errno));
	d->size = size;
	return 0;
}

void io_close(struct io_dev *d)
{
	/* The lock has a descriptor of its own (see io_open), so it ends here whatever io_uring still holds. */
	if (d->lock_fd >= 0) {
		flock(d->lock_fd, LOCK_UN);
		close(d->lock_fd);
	}
	d->lock_fd = -1;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->path);
	d->path = NULL;
}
