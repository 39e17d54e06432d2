/*
 * corpus_fill - helper of tests/corpus_test.sh.
 *
 *   corpus_fill fill MIB   map MIB MiB of anonymous memory, write a known
 *                          pattern into every page, map 1 MiB written with
 *                          zeros and 1 MiB never touched, print "ready" and
 *                          sleep until killed.
 *   corpus_fill check MIB  read raw 4 KiB pages on stdin (zstd -dc of a
 *                          corpus) and print "pattern N zero Z other O
 *                          total T": N distinct pattern pages among the MIB
 *                          MiB, Z all-zero pages, O anything else.
 *
 * A pattern page starts with a 16-byte tag and its index; every other
 * 8-byte word is a function of the index and its position, so a page that
 * came back torn or shifted does not count.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PG 4096u

static const char tag[8] = {'S', 'O', 'C', 'O', 'R', 'P', 'U', 'S'};

static uint64_t word(uint64_t idx, unsigned w)
{
	uint64_t x = idx * 0x9e3779b97f4a7c15ull + w * 0xbf58476d1ce4e5b9ull + 1;
	x ^= x >> 31;
	return x * 0x94d049bb133111ebull;
}

static void make_page(uint8_t *p, uint64_t idx)
{
	memcpy(p, tag, 8);
	memcpy(p + 8, &idx, 8);
	for (unsigned w = 2; w < PG / 8; w++) {
		uint64_t v = word(idx, w);
		memcpy(p + 8 * w, &v, 8);
	}
}

static int fill(uint64_t npages)
{
	uint8_t *m = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Written with zeros: zero pages in memory. */
	uint8_t *zeroed = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Never touched: not in memory, so not in a corpus. */
	void *untouched = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || zeroed == MAP_FAILED || untouched == MAP_FAILED) {
		perror("corpus_fill: mmap");
		return 1;
	}
	for (uint64_t i = 0; i < npages; i++)
		make_page(m + i * PG, i);
	for (unsigned i = 0; i < (1u << 20); i += PG)
		*(volatile uint8_t *)(zeroed + i) = 0;
	/* Let any process of this user read our memory, whatever Yama's ptrace_scope. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int check(uint64_t npages)
{
	uint8_t got[PG], want[PG];
	bool *seen = calloc(npages ? npages : 1, 1);
	uint64_t pattern = 0, zero = 0, other = 0, total = 0;
	if (!seen)
		return 1;
	while (fread(got, 1, PG, stdin) == PG) {
		uint64_t idx;
		total++;
		memcpy(&idx, got + 8, 8);
		if (memcmp(got, tag, 8) == 0 && idx < npages) {
			make_page(want, idx);
			if (memcmp(got, want, PG) == 0) {
				pattern += !seen[idx];
				seen[idx] = true;
				continue;
			}
		}
		static const uint8_t zeros[PG];
		if (memcmp(got, zeros, PG) == 0)
			zero++;
		else
			other++;
	}
	printf("pattern %llu zero %llu other %llu total %llu\n", (unsigned long long)pattern, (unsigned long long)zero,
	       (unsigned long long)other, (unsigned long long)total);
	free(seen);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: corpus_fill fill|check MIB\n");
		return 2;
	}
	uint64_t npages = (uint64_t)atoi(argv[2]) * ((1u << 20) / PG);
	if (strcmp(argv[1], "fill") == 0)
		return fill(npages);
	if (strcmp(argv[1], "check") == 0)
		return check(npages);
	fprintf(stderr, "usage: corpus_fill fill|check MIB\n");
	return 2;
}
