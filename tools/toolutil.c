#include "toolutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "swapobj.h"

bool tool_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return false;
	}
	if (*end && end[1] && !(end[1] == 'i' && end[2] == 'B' && !end[3]) && !(end[1] == 'B' && !end[2]))
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

void tool_version(const char *prog)
{
	printf("%s (libswapobj) %s\n", prog, swapobj_version());
}

int tool_common_opt(int c, const char *prog, void (*usage)(FILE *))
{
	if (c == 'h') {
		usage(stdout);
		return TOOL_EXIT_OK;
	}
	if (c == 'V') {
		tool_version(prog);
		return TOOL_EXIT_OK;
	}
	usage(stderr);
	return TOOL_EXIT_USAGE;
}

int tool_fail(const char *prog, const char *what, int err)
{
	const char *msg = swapobj_errmsg();
	fprintf(stderr, "%s: %s: %s\n", prog, what, msg && *msg ? msg : swapobj_strerror(err));
	return TOOL_EXIT_FAIL;
}

const char *tool_human(uint64_t bytes, char *buf, unsigned len)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

#include <string.h>
#include <zstd.h>

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static const char *const words[] = {
    "the",    "of",    "and",    "to",     "in",     "is",     "that",    "for",    "return", "if",
    "else",   "while", "struct", "int",    "static", "const",  "char",    "void",   "self",   "def",
    "import", "value", "index",  "table",  "record", "user",   "session", "name",   "data",   "size",
    "count",  "list",  "key",    "page",   "memory", "object", "error",   "file",   "None",   "True",
    "False",  "class", "print",  "string", "number", "offset", "length",  "buffer", "node"};

void tool_gen_page(uint8_t *page, uint64_t index, uint64_t seed)
{
	uint64_t h = mix64(index * 0x9e3779b97f4a7c15ull ^ seed);
	unsigned kind = (unsigned)(h % 1000);
	if (kind < 11) { /* ~1.1% zero pages */
		memset(page, 0, 4096);
		return;
	}
	uint64_t r = h;
	if (kind < 450) { /* text: words and punctuation */
		size_t pos = 0;
		while (pos < 4096) {
			r = mix64(r + 1);
			const char *w = words[r % (sizeof(words) / sizeof(words[0]))];
			size_t l = strlen(w);
			for (size_t i = 0; i < l && pos < 4096; i++)
				page[pos++] = (uint8_t)w[i];
			if (pos < 4096)
				page[pos++] = (r >> 20) % 11 == 0 ? '\n' : (r >> 20) % 7 == 0 ? ',' : ' ';
		}
		return;
	}
	if (kind < 800) { /* structured records: 32-byte rows with small ints and a few random bytes */
		uint64_t base = r % 100000;
		for (unsigned row = 0; row < 128; row++) {
			uint8_t *p = page + row * 32;
			uint64_t id = base + row;
			uint32_t qty = (uint32_t)(mix64(id) % 100);
			uint64_t price = (mix64(id ^ 7) % 50000) * 25;
			memset(p, 0, 32);
			memcpy(p, &id, 8);
			memcpy(p + 8, &qty, 4);
			memcpy(p + 16, &price, 8);
			p[24] = (uint8_t)(mix64(id ^ 3) & 0x7);
		}
		return;
	}
	/* heap: pointers sharing high bits, refcounts, type tags */
	uint64_t heapbase = 0x7f3a00000000ull + ((r % 64) << 24);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t w;
		r = mix64(r + i);
		switch (i % 4) {
		case 0:
			w = heapbase + (r % (1u << 20)) * 16;
			break;
		case 1:
			w = 1 + r % 5;
			break;
		case 2:
			w = 0x55d0a0000000ull + (r % 4096) * 64;
			break;
		default:
			w = (r % 3 == 0) ? r : (r % 256);
			break;
		}
		memcpy(page + 8 * i, &w, 8);
	}
}

int tool_corpus_load(struct tool_corpus *c, const char *path, uint64_t ngen)
{
	memset(c, 0, sizeof(*c));
	if (!path) {
		c->pages = malloc(ngen * 4096);
		if (!c->pages) {
			fprintf(stderr, "out of memory for %llu corpus pages\n", (unsigned long long)ngen);
			return -1;
		}
		for (uint64_t i = 0; i < ngen; i++)
			tool_gen_page(c->pages + i * 4096, i, 0x5eed);
		c->npages = ngen;
		snprintf(c->source, sizeof(c->source), "generated (%llu pages)", (unsigned long long)ngen);
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open corpus %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 26, len = 0;
	uint8_t *out = malloc(cap);
	/* zstd-compressed if the file opens with a zstd frame, whatever its name */
	uint8_t magic[4];
	size_t nmagic = fread(magic, 1, sizeof(magic), f);
	int zst = nmagic == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd;
	int rc = -1;
	rewind(f);
	if (!out)
		goto done;
	if (!zst) {
		size_t n;
		while ((n = fread(out + len, 1, cap - len, f)) > 0) {
			len += n;
			if (len == cap) {
				uint8_t *p = realloc(out, cap *= 2);
				if (!p)
					goto done;
				out = p;
			}
		}
	} else {
		ZSTD_DCtx *dc = ZSTD_createDCtx();
		size_t inl = ZSTD_DStreamInSize(), ret = 0;
		uint8_t *in = malloc(inl);
		bool eof = false, bad = !dc || !in;
		ZSTD_inBuffer ib = {in, 0, 0};
		while (!bad) {
			if (ib.pos == ib.size && !eof) {
				ib.size = fread(in, 1, inl, f);
				ib.pos = 0;
				eof = ib.size == 0;
			}
			if (eof && ret == 0)
				break; /* every frame ended with the input */
			if (cap - len < (1 << 20)) {
				uint8_t *p = realloc(out, cap *= 2);
				if (!p) {
					bad = true;
					break;
				}
				out = p;
			}
			ZSTD_outBuffer ob = {out + len, cap - len, 0};
			ret = ZSTD_decompressStream(dc, &ob, &ib);
			len += ob.pos;
			if (ZSTD_isError(ret)) {
				fprintf(stderr, "corpus %s: %s\n", path, ZSTD_getErrorName(ret));
				bad = true;
			} else if (eof && ob.pos < ob.size) {
				break; /* input consumed, output flushed */
			}
		}
		ZSTD_freeDCtx(dc);
		free(in);
		if (!bad && ret != 0) {
			fprintf(stderr, "corpus %s: the zstd stream ends in the middle of a frame\n", path);
			bad = true;
		}
		if (bad)
			goto done;
	}
	if (ferror(f)) {
		fprintf(stderr, "corpus %s: read error\n", path);
		goto done;
	}
	if (len < 4096) {
		fprintf(stderr, "corpus %s holds less than one page\n", path);
		goto done;
	}
	if (len % 4096) {
		fprintf(stderr, "corpus %s: %zu bytes%s is not a whole number of 4 KiB pages\n", path, len,
		        zst ? " decompressed" : "");
		goto done;
	}
	c->pages = out;
	c->npages = len / 4096;
	snprintf(c->source, sizeof(c->source), "%s (%llu pages, %s)", path, (unsigned long long)c->npages,
	         zst ? "zstd" : "raw");
	out = NULL;
	rc = 0;
done:
	if (rc < 0 && out)
		fprintf(stderr, "cannot load corpus %s\n", path);
	free(out);
	fclose(f);
	return rc;
}

void tool_corpus_free(struct tool_corpus *c)
{
	free(c->pages);
	memset(c, 0, sizeof(*c));
}
