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
/* tu_rng_below for callers that take a generator as (void *, n): rng is a struct tu_rng. */
uint64_t tu_rng_draw(void *rng, uint64_t n);

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

/* ---- store images (tests that damage stores on purpose) ---- */

/* Whole file into a malloc'd buffer (*len bytes); aborts the test on error. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Replace the file's content with buf (len bytes). */
void tu_write_file(const char *path, const void *buf, size_t len);
/* Flip one bit of a file: bit (bitoff % 8) of byte bitoff / 8. */
void tu_flip_bit(const char *path, uint64_t bitoff);

struct rec;
/*
 * Visit every record of a single-device image the way replay reads it:
 * segments whose block 0 holds a valid segment header (which is visited
 * too), then their records of the header's generation (intact, or with a
 * damaged payload: verdict REC_BAD_CSUM). off is the byte offset in the
 * image, size the record's on-disk size. Returns the records visited, or
 * -1 if the image has no valid superblock.
 */
typedef void (*tu_rec_fn)(void *ctx, uint64_t off, uint32_t size, const struct rec *r, int verdict);
long tu_walk_records(const uint8_t *img, size_t len, tu_rec_fn fn, void *ctx);

#endif
