/*
 * bench_store.h - what swapobj-bench's store files (bench_store_*.c) share
 * among themselves; the rest of the bench sees only struct store_ops and
 * bench_store_ops() in bench.h.
 *
 * The peers store the same pages under the key (object u64 big-endian,
 * page u64 big-endian). Objects made by make_tiny (the invalidation
 * workload) live in their own key range: object ids from TINY_BASE.
 */
#ifndef SO_BENCH_STORE_H
#define SO_BENCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define TINY_BASE (1ull << 40)

/* The head of every store's own struct. */
struct store {
	enum bench_sys sys;
};

/* dir/name, malloc'd; NULL when out of memory. */
char *path_join(const char *dir, const char *name);
/* The 16-byte key of (obj, pg) in the key-value peers. */
void key16(uint8_t k[16], uint64_t obj, uint64_t pg);
/* The page of a tiny object: one 8-byte word repeated. */
void tiny_page(uint8_t *page, uint64_t i);
/* Write val to a sysfs file / read one into buf: 0 or -1 with a message in bench_errbuf. */
int sysfs_write(const char *path, const char *val);
int sysfs_read(const char *path, char *buf, size_t len);

/* The slot file's calls, which the zram store shares (bench_store_slot.c). */
int slot_create_common(struct store **out, const struct store_params *p, bool zram);
int slot_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n);
int slot_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n);
int slot_sync(struct store *base);
int slot_reopen(struct store *base);
void slot_stats(struct store *base, struct store_stats *o);
void slot_close(struct store *base);

/*
 * The stores compiled into this build, NULL-terminated: generated from
 * bench_store_registry.c.in by tools/CMakeLists.txt, which compiles a
 * bench_store_<name>.c only when its library was found.
 */
extern const struct store_ops *const bench_store_registry[];

#endif
