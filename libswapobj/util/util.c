/*
 * util.c - allocation accounting, page classification, errors, clocks.
 *
 * Owns: the process-wide memory counters (atomics, no lock) and the
 * per-thread error message buffer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SO_MALLOC_OVERHEAD 8 /* glibc chunk header on 64-bit */

static uint64_t so_mem[SO_MEM_NCAT];
/*
 * Successful allocations (alloc, zalloc, realloc, aligned) made by the
 * calling thread, for tests: what a data-path call allocates, not what the
 * store's background threads (cleaner, checkpoints, debug checks) do
 * meanwhile.
 */
static __thread uint64_t so_allocs;

uint64_t so_alloc_count(void)
{
	return so_allocs;
}

static inline void mem_add(enum so_mem_cat cat, int64_t delta)
{
	if (delta > 0)
		so_allocs++;
	__atomic_add_fetch(&so_mem[cat], (uint64_t)delta, __ATOMIC_RELAXED);
}

static inline size_t charge(void *p)
{
	return malloc_usable_size(p) + SO_MALLOC_OVERHEAD;
}

void *so_alloc(enum so_mem_cat cat, size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p)
		mem_add(cat, (int64_t)charge(p));
	return p;
}

void *so_zalloc(enum so_mem_cat cat, size_t size)
{
	void *p = calloc(1, size ? size : 1);
	if (p)
		mem_add(cat, (int64_t)charge(p));
	return p;
}

void *so_realloc(enum so_mem_cat cat, void *p, size_t size)
{
	size_t old = p ? charge(p) : 0;
	void *n = realloc(p, size ? size : 1);
	if (!n)
		return NULL;
	mem_add(cat, (int64_t)charge(n) - (int64_t)old);
	return n;
}

void so_free(enum so_mem_cat cat, void *p)
{
	if (!p)
		return;
	mem_add(cat, -(int64_t)charge(p));
	free(p);
}

void *so_alloc_aligned(enum so_mem_cat cat, size_t size)
{
	void *p = NULL;
	size = SO_ROUND_UP(size ? size : 1, 4096);
	if (posix_memalign(&p, 4096, size) != 0)
		return NULL;
	mem_add(cat, (int64_t)size);
	return p;
}

void so_free_aligned(enum so_mem_cat cat, void *p, size_t size)
{
	if (!p)
		return;
	mem_add(cat, -(int64_t)SO_ROUND_UP(size ? size : 1, 4096));
	free(p);
}

uint64_t so_mem_used(enum so_mem_cat cat)
{
	return __atomic_load_n(&so_mem[cat], __ATOMIC_RELAXED);
}

/* Word loads through memcpy: user buffers need not be 8-byte aligned. */
static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

bool so_mem_is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

bool so_page_is_zero(const void *page)
{
	const uint8_t *b = page;
	for (size_t i = 0; i < 4096; i += 64) {
		uint64_t acc = 0;
		for (size_t j = 0; j < 64; j += 8)
			acc |= load64(b + i + j);
		if (acc)
			return false;
	}
	return true;
}

bool so_page_is_fill(const void *page, uint64_t *word)
{
	const uint8_t *b = page;
	uint64_t first = load64(b);
	for (size_t i = 8; i < 4096; i += 8)
		if (load64(b + i) != first)
			return false;
	*word = first;
	return true;
}

static _Thread_local char so_msg[512];

int so_err(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(so_msg, sizeof(so_msg), fmt, ap);
	va_end(ap);
	return err;
}

int so_err_ctx(int err, const char *fmt, ...)
{
	char prefix[256], old[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, so_msg, sizeof(old));
	const char *tail = old[0] ? old : swapobj_strerror(err);
	size_t pl = strnlen(prefix, sizeof(prefix) - 1), tl = strlen(tail);
	if (pl > sizeof(so_msg) - 3)
		pl = sizeof(so_msg) - 3;
	memcpy(so_msg, prefix, pl);
	memcpy(so_msg + pl, ": ", 2);
	if (tl > sizeof(so_msg) - pl - 3)
		tl = sizeof(so_msg) - pl - 3;
	memcpy(so_msg + pl + 2, tail, tl);
	so_msg[pl + 2 + tl] = 0;
	return err;
}

void so_err_clear(void)
{
	so_msg[0] = 0;
}

const char *swapobj_errmsg(void)
{
	return so_msg;
}

uint64_t so_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t so_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
