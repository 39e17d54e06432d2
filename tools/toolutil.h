/*
 * toolutil.h - shared bits of the command-line tools: size parsing,
 * version banner, error printing. Exit codes common to the tools:
 *   0 success, 1 the operation failed, 2 usage error.
 */
#ifndef SO_TOOLUTIL_H
#define SO_TOOLUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TOOL_EXIT_OK 0
#define TOOL_EXIT_FAIL 1
#define TOOL_EXIT_USAGE 2

/* Parse "123", "64K", "8M", "4G", "1T" (binary units). Returns false on junk or overflow. */
bool tool_parse_size(const char *s, uint64_t *out);
/* Print "<prog> (libswapobj) <version>" to stdout. */
void tool_version(const char *prog);
/*
 * The options every tool shares, for the default branch of its getopt
 * switch: 'h' prints usage to stdout, 'V' the version (both exit status 0);
 * anything else prints usage to stderr (exit status 2). Returns the status.
 */
int tool_common_opt(int c, const char *prog, void (*usage)(FILE *));
/* Print "prog: what: <swapobj message>" to stderr; returns TOOL_EXIT_FAIL. */
int tool_fail(const char *prog, const char *what, int err);
/* Human-readable bytes into buf ("1.5 GiB"). */
const char *tool_human(uint64_t bytes, char *buf, unsigned len);

/*
 * Page corpus for the demo and the benchmark: 4 KiB pages loaded from a
 * file (raw, or zstd-compressed: a file that opens with a zstd frame's
 * magic number; swapobj-corpus writes one) or generated. A file whose
 * (decompressed) length is not a whole number of pages is refused.
 */
struct tool_corpus {
	uint8_t *pages;
	uint64_t npages;
	char source[256];
};
/* Load path (NULL: generate npages synthetic pages). Returns 0 or -1 with a message on stderr. */
int tool_corpus_load(struct tool_corpus *c, const char *path, uint64_t npages_if_generated);
void tool_corpus_free(struct tool_corpus *c);
/*
 * Synthetic pages of the character of real process memory: text, structured
 * records, pointer-rich heap, about 1.1% zero pages. Deterministic in seed.
 */
void tool_gen_page(uint8_t *page, uint64_t index, uint64_t seed);

#endif
