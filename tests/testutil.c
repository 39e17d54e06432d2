#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t tu_seed(uint64_t def)
{
	const char *s = getenv("SWAPOBJ_SEED");
	return (s && *s) ? strtoull(s, NULL, 0) : def;
}

int tu_long(void)
{
	const char *s = getenv("SWAPOBJ_LONG");
	return s && *s && strcmp(s, "0") != 0;
}

uint64_t tu_scale(uint64_t n, uint64_t mult)
{
	return tu_long() ? n * mult : n;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void tu_rng_init(struct tu_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tu_rng_next(struct tu_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint64_t tu_rng_below(struct tu_rng *r, uint64_t n)
{
	return n ? tu_rng_next(r) % n : 0;
}

char *tu_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;
	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/swapobj-%s-XXXXXX", base, tag) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

void tu_rmdir(const char *path)
{
	char *cmd;
	if (!path)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", path) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

char *tu_path(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

void tu_fill_page(void *page, uint64_t tag, uint64_t pgoff, uint64_t version)
{
	uint64_t x = tag * 0x100000001b3ull ^ pgoff * 0x9e3779b97f4a7c15ull ^ version * 0xc2b2ae3d27d4eb4full;
	uint64_t *w = page;
	for (int i = 0; i < 512; i++)
		w[i] = splitmix(&x);
	/* A readable stamp at the start, handy when debugging dumps. */
	snprintf(page, 48, "tag=%llu pg=%llu v=%llu", (unsigned long long)tag, (unsigned long long)pgoff,
	         (unsigned long long)version);
}
