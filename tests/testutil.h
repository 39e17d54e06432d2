/*
 * testutil.h - helpers shared by the Check suites: seeds, a small PRNG,
 * scratch directories.
 *
 * SWAPOBJ_SEED=N fixes the seed of randomized tests (default: a fixed seed,
 * so CI is reproducible). SWAPOBJ_LONG=1 makes randomized tests run longer.
 * Randomized tests print their seed when they fail.
 */
#ifndef SO_TESTUTIL_H
#define SO_TESTUTIL_H

#include <stdint.h>
#include <stddef.h>

/* Seed for randomized tests: $SWAPOBJ_SEED or def. */
uint64_t tu_seed(uint64_t def);
/* 1 if $SWAPOBJ_LONG is set to a non-zero value. */
int tu_long(void);
/* Scale a count: n normally, n*mult with SWAPOBJ_LONG. */
uint64_t tu_scale(uint64_t n, uint64_t mult);

/* xoshiro-style PRNG; state must be seeded with tu_rng_init. */
struct tu_rng {
	uint64_t s[4];
};
void tu_rng_init(struct tu_rng *r, uint64_t seed);
uint64_t tu_rng_next(struct tu_rng *r);
/* Uniform in [0, n). */
uint64_t tu_rng_below(struct tu_rng *r, uint64_t n);

/*
 * A fresh scratch directory (under $TMPDIR or /tmp), removed with its
 * contents by tu_rmdir. Returns a malloc'd path.
 */
char *tu_mkdtemp(const char *tag);
void tu_rmdir(const char *path);
/* path = dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name);

/* Fill a 4 KiB page with varied content derived from (tag, pgoff, version). */
void tu_fill_page(void *page, uint64_t tag, uint64_t pgoff, uint64_t version);

#endif
