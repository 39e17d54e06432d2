/*
 * bench_stores.c - the page stores swapobj-bench compares, behind one
 * interface (struct store_ops in bench.h):
 *
 *  libswapobj  the library under test, through its public API only;
 *  slot-file   what kernel swap does: a preallocated file, a free-slot
 *              bitmap searched next-fit, an in-memory slot array per object,
 *              one 4 KiB pwrite/pread per page;
 *  zram        the kernel's compressed RAM block device used the same way
 *              (root only; the parent prepares the device);
 *  zstd        the codec alone: each page compressed into an in-memory arena;
 *  rocksdb     RocksDB through its C API, no WAL;
 *  lmdb        LMDB with MDB_NOSYNC.
 *
 * Each is one file, bench_store_<name>.c, defining bench_store_<name>.
 * tools/CMakeLists.txt compiles the files whose library was found and
 * generates bench_store_registry.c: the table of those it compiled, which
 * bench_store_ops() looks systems up in. A peer not built is simply absent
 * from the table. This file keeps the helpers the stores share.
 *
 * Thread-safety: write/read may be called from several threads with
 * distinct tids; a store keeps per-tid state where its library needs it.
 * Errors go to the thread-local bench_errbuf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_store.h"

char *path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir) + strlen(name) + 2;
	char *p = malloc(l);
	if (p)
		snprintf(p, l, "%s/%s", dir, name);
	return p;
}

void key16(uint8_t k[16], uint64_t obj, uint64_t pg)
{
	for (int i = 0; i < 8; i++) {
		k[i] = (uint8_t)(obj >> (56 - 8 * i));
		k[8 + i] = (uint8_t)(pg >> (56 - 8 * i));
	}
}

/* The page of a tiny object: one 8-byte word repeated. */
void tiny_page(uint8_t *page, uint64_t i)
{
	uint64_t w = bench_mix64(i) | 1;
	for (unsigned j = 0; j < BPG / 8; j++)
		memcpy(page + 8 * j, &w, 8);
}

int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return bench_err("open %s: %s", path, strerror(errno));
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(val))
		return bench_err("write '%s' to %s: %s", val, path, strerror(e));
	return 0;
}

int sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return bench_err("open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return bench_err("read %s: %s", path, strerror(errno));
	buf[n] = 0;
	return 0;
}

const struct store_ops *bench_store_ops(enum bench_sys sys)
{
	for (const struct store_ops *const *o = bench_store_registry; *o; o++)
		if ((*o)->sys == sys)
			return *o;
	return NULL;
}
