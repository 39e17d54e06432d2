/*
 * testutil.h - helpers shared by the Check suites: one case per test and
 * the runner, the store fixture, seeds, a small PRNG, scratch directories,
 * store images. tests/README.md says how suites use them.
 *
 * SWAPOBJ_SEED=N fixes the seed of randomized tests (default: a fixed seed,
 * so CI is reproducible). SWAPOBJ_LONG=1 makes randomized tests run longer.
 * Randomized tests print their seed when they fail.
 */
#ifndef SO_TESTUTIL_H
#define SO_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stddef.h>

#include "swapobj.h"

/* ---- cases and the runner ---- */

/* How tu_add makes a test's case. Zero-initialised fields: none. */
struct tu_case_opts {
	void (*setup)(void); /* checked fixture (run in the test's process), or NULL */
	void (*teardown)(void);
	const char *tags; /* Check tags, space-separated ("long powercut"), or NULL */
	double timeout;   /* seconds; 0: Check's default (CK_DEFAULT_TIMEOUT) */
	int loop_to;      /* > 0: a loop test run for _i in [0, loop_to) */
};

/*
 * Add test to s in a case of its own named exactly as the test function
 * (test_space__overwrite_moves_the_charge_to_the_new_copy), so that
 * CK_RUN_CASE=<that name> runs it alone, and its tags select it with
 * CK_INCLUDE_TAGS / CK_EXCLUDE_TAGS. Aborts the program on a repeated name.
 */
void tu_add(Suite *s, const TTest *test, const struct tu_case_opts *o);

/*
 * Run s and return main's exit status. CK_RUN_SUITE, CK_RUN_CASE,
 * CK_INCLUDE_TAGS and CK_EXCLUDE_TAGS select as Check documents; a
 * CK_RUN_SUITE or CK_RUN_CASE that selects no test is an error (a typo must
 * not pass). "--list" as the only argument prints each case and its tags
 * instead of running them.
 */
int tu_run(Suite *s, int argc, char **argv);

/* ---- the store fixture ---- */

/*
 * tu_store_setup makes a scratch directory (tu_dir) named after the
 * program, and the path of one device image in it (tu_img, not created;
 * tu_paths is {tu_img}, as swapobj_format and swapobj_store_open take it).
 * tu_store_teardown removes the directory and uninstalls any I/O hook a
 * test left behind. Use them as a case's setup/teardown, or call them from
 * a suite's own.
 */
extern char *tu_dir, *tu_img;
extern const char *tu_paths[1];
void tu_store_setup(void);
void tu_store_teardown(void);

/*
 * The segment layout tu_format gives stores (swapobj_format_opts.layout):
 * SWAPOBJ_LAYOUT_DEFAULT unless a test sets it; tu_store_setup resets it.
 */
extern unsigned tu_layout;
/* Format tu_img: size bytes, seg_size-byte segments, layout tu_layout. Fails the test on error. */
void tu_format(uint64_t size, uint32_t seg_size);
/*
 * Open tu_img with oo (NULL: defaults; SWAPOBJ_OPEN_NO_UPGRADE added when
 * tu_layout is SWAPOBJ_LAYOUT_CLASSIC). Fails the test on error.
 */
swapobj_store *tu_store_open(const struct swapobj_open_opts *oo);
/* tu_format then tu_store_open. */
swapobj_store *tu_mkstore(uint64_t size, uint32_t seg_size, const struct swapobj_open_opts *oo);
/* Close st (unless NULL; a failed close fails the test), then tu_store_open(oo). */
swapobj_store *tu_reopen(swapobj_store *st, const struct swapobj_open_opts *oo);

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

/* Open (creating it if missing) the object whose key is the one component name; extra SWAPOBJ_O_* flags. */
swapobj_obj *tu_obj_named(swapobj_store *st, const char *name, unsigned flags);
/*
 * Damage a store image on disk: find the 16-byte marker (written at the
 * start of a page) in tu_img and change the byte 2000 bytes after it, in
 * the page's payload. Fails the test if the marker is not found.
 */
void tu_damage_after_marker(const char *marker);

/* Fill a 4 KiB page with varied content derived from (tag, pgoff, version). */
void tu_fill_page(void *page, uint64_t tag, uint64_t pgoff, uint64_t version);

/* ---- what may survive a power cut or a failed device ---- */

/*
 * Versioned pages: tu_fill_page content with the version stamped at byte
 * 64, so that a page read back names the version it claims to be.
 * tu_vpage_version returns that version if the page is exactly version v of
 * (tag, pgoff), 0 if it is all zeros, -1 if it is anything else (garbage).
 */
void tu_vpage_fill(void *page, uint64_t tag, uint64_t pgoff, uint32_t ver);
int64_t tu_vpage_version(const void *page, uint64_t tag, uint64_t pgoff);

/*
 * A versioned value (a page, an aux record) under a workload that syncs
 * now and then. After a cut or a device failure it must hold its version as
 * of the last acknowledged sync, or a version written since, or zeros if
 * it was punched since: never anything else. Versions are > 0, and grow;
 * 0 means zeros. A call may land even if it failed, so the intent is
 * recorded whatever the outcome; ok says the call succeeded.
 */
struct tu_pstate {
	uint32_t synced; /* version at the last acknowledged sync (0: zeros) */
	uint32_t maxver; /* highest version written since */
	uint32_t cur;    /* version now, as the acknowledged calls say */
	uint8_t dirty;   /* written or punched since the sync */
	uint8_t zeroed;  /* punched since the sync */
};
void tu_pstate_write(struct tu_pstate *ps, uint32_t ver, int ok);
void tu_pstate_punch(struct tu_pstate *ps, int ok);
/* A sync was acknowledged: the n states' current versions are durable. */
void tu_pstate_ack(struct tu_pstate *ps, size_t n);
/* 1 if ver (0: zeros) is a state the value may be found in. */
int tu_pstate_allows(const struct tu_pstate *ps, uint32_t ver);

/* ---- store images (tests that damage stores on purpose) ---- */

/* Whole file into a malloc'd buffer (*len bytes); aborts the test on error. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Replace the file's content with buf (len bytes). */
void tu_write_file(const char *path, const void *buf, size_t len);
/* Flip one bit of a file: bit (bitoff % 8) of byte bitoff / 8. */
void tu_flip_bit(const char *path, uint64_t bitoff);

struct rec;
/*
 * Visit every record of a single-device image the way replay reads it,
 * in either layout: segments with a valid segment header (which is visited
 * too), then their records of the header's generation (intact, or with a
 * damaged payload: verdict REC_BAD_CSUM). off is the byte offset in the
 * image (a split segment: copy A's, or block 1's for a header read from
 * its copy there), size the record's on-disk size (its stream bytes). Returns the records visited, or
 * -1 if the image has no valid superblock.
 */
typedef void (*tu_rec_fn)(void *ctx, uint64_t off, uint32_t size, const struct rec *r, int verdict);
long tu_walk_records(const uint8_t *img, size_t len, tu_rec_fn fn, void *ctx);

/*
 * Where a record lies, in either layout. In a split segment the stream
 * holds every record twice (copy A at off, copy B at off_b): damage meant
 * to lose a record must hit both, or replay reads the other copy.
 */
struct tu_rec_loc {
	uint64_t off;      /* image offset of the header (copy A's in a split segment) */
	uint64_t off_b;    /* split segment: image offset of copy B of the header; classic: 0 */
	uint64_t data_off; /* payload out of line: its image offset; else 0 */
	uint32_t size;     /* bytes the record takes in the segment (its stream bytes) */
	int copy;          /* split segment: the copy replay reads (0 A, 1 B) */
	int split;         /* the segment has the split layout */
};
typedef void (*tu_loc_fn)(void *ctx, const struct tu_rec_loc *loc, const struct rec *r, int verdict);
/* tu_walk_records with the whole location (tu_walk_records passes loc->off and loc->size). */
long tu_walk_locs(const uint8_t *img, size_t len, tu_loc_fn fn, void *ctx);
/*
 * Retire (clear the magic of, in both copies) every intact record of type
 * and object oid of the image at path, as replay finds them: what a crash
 * does to a record whose write tore. Returns the records retired.
 */
long tu_zap_records(const char *path, int type, uint64_t oid);

#endif
