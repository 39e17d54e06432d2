/*
 * util.h - allocation with accounting, overflow-checked sizes, hashing,
 * little-endian helpers and the per-thread error message.
 *
 * Lowest layer: includes nothing of libswapobj but the public header's error
 * codes. Every allocation of the library goes through so_alloc()/so_free()
 * so that the index memory the library reports (swapobj_store_stat) is what
 * the allocator really handed out, not an estimate.
 */
#ifndef SO_UTIL_H
#define SO_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "swapobj.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define SO_LIKELY(x) __builtin_expect(!!(x), 1)
#define SO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SO_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SO_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SO_ROUND_UP(x, a) ((((x) + (a)-1) / (a)) * (a))
#define SO_ROUND_DOWN(x, a) (((x) / (a)) * (a))
#define SO_CONTAINER_OF(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* Memory accounting categories. INDEX is what "index RAM per page" reports. */
enum so_mem_cat {
	SO_MEM_INDEX = 0, /* namespace tree, object structs, extent maps */
	SO_MEM_BUFFER,    /* log append buffers and I/O bounce buffers */
	SO_MEM_OTHER,
	SO_MEM_NCAT
};

/*
 * Allocation wrappers. Sizes are accounted as the allocator's usable size
 * plus one malloc chunk header (8 bytes on glibc x86-64), which is what the
 * process really pays. Return NULL on failure (never abort).
 */
void *so_alloc(enum so_mem_cat cat, size_t size);
void *so_zalloc(enum so_mem_cat cat, size_t size);
void *so_realloc(enum so_mem_cat cat, void *p, size_t size);
void so_free(enum so_mem_cat cat, void *p);
/* 4096-aligned allocation for O_DIRECT buffers. */
void *so_alloc_aligned(enum so_mem_cat cat, size_t size);
void so_free_aligned(enum so_mem_cat cat, void *p, size_t size);
/* Bytes currently allocated in a category (process-wide). */
uint64_t so_mem_used(enum so_mem_cat cat);
/* Allocations the library made in the calling thread since it started (every call that grew its memory): tests of
 * paths that must allocate nothing, undisturbed by the store's background threads. */
uint64_t so_alloc_count(void);

/* Overflow-checked a*b; returns false on overflow. */
static inline bool so_mul_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}
static inline bool so_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

/* Little-endian fixed-width access; on-disk structures use only these. */
static inline void so_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void so_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline void so_put_le64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t so_get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t so_get_le32(const void *p)
{
	const uint8_t *b = p;
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}
static inline uint64_t so_get_le64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static inline uint64_t so_hash64(const void *p, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, len, seed);
}

/* True if the 4 KiB page is all zero bytes. */
bool so_page_is_zero(const void *page);
/* True if the n bytes at p are all zero. */
bool so_mem_is_zero(const void *p, size_t n);
/* True if the page is one 8-byte word repeated; stores the word. */
bool so_page_is_fill(const void *page, uint64_t *word);

/*
 * Per-thread error message. so_err() formats the message, stores it for
 * swapobj_errmsg() and returns err, so call sites read
 *     return so_err(SWAPOBJ_EINVAL, "key has %u components", n);
 */
int so_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with context, keep the code ("propagate, never mask"). */
int so_err_ctx(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void so_err_clear(void);

/* Monotonic clock in nanoseconds. */
uint64_t so_now_ns(void);
/* Wall clock in nanoseconds since the epoch. */
uint64_t so_wall_ns(void);

#endif
