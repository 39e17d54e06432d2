/*
 * fsname.c - key component <-> file name escaping (see fsname.h for the
 * forms).
 *
 * Invariant that makes the map a bijection: fsname_decode() accepts a name
 * only when fsname_encode() of the decoded component yields the same bytes.
 * Encoding is a function, so each component has one name; decoding checks
 * the round trip, so each accepted name has one component. Both directions
 * are deterministic and depend on nothing but the bytes (and, for digest
 * names, on the listing cookie the store gives the component).
 */
#include "fsname.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Seed of the digest-name hash. Part of the naming scheme: never change it. */
#define FSNAME_DIGEST_SEED 0x73776f6266736e31ull /* "swobfsn1" */
#define DIGEST_LEN (2 + 16 + 16)
#define B64_MAX_COMP 189 /* 2 + ceil(189 * 4 / 3) = 254 <= 255 */

static const char hexdig[] = "0123456789ABCDEF";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Code points shown escaped although UTF-8 allows them: invisible or
 * direction-changing characters that let two names look alike. */
static int cp_hidden(uint32_t cp)
{
	return cp == 0xAD || (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
	       (cp >= 0x205F && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF0 && cp <= 0xFFFF);
}

/*
 * Length of the plain run starting at c[i]: 1 for a printable ASCII byte
 * other than '/' and '%', 2..4 for a well-formed printable UTF-8 character,
 * 0 if c[i] must be escaped.
 */
static size_t plain_at(const uint8_t *c, size_t len, size_t i)
{
	uint8_t b = c[i];
	if (b < 0x80)
		return b >= 0x20 && b < 0x7f && b != '/' && b != '%' ? 1 : 0;
	size_t n;
	uint32_t cp, min;
	if ((b & 0xE0) == 0xC0) {
		n = 2, cp = b & 0x1F, min = 0x80;
	} else if ((b & 0xF0) == 0xE0) {
		n = 3, cp = b & 0x0F, min = 0x800;
	} else if ((b & 0xF8) == 0xF0) {
		n = 4, cp = b & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (i + n > len)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((c[i + k] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (c[i + k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0 || cp_hidden(cp))
		return 0;
	return n;
}

static int is_dots(const uint8_t *c, size_t len)
{
	return (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.');
}

/* Length of the percent form of c. */
static size_t percent_len(const uint8_t *c, size_t len)
{
	if (is_dots(c, len))
		return 3 * len;
	size_t out = 0;
	for (size_t i = 0; i < len;) {
		size_t p = plain_at(c, len, i);
		if (p) {
			out += p;
			i += p;
		} else {
			out += 3;
			i++;
		}
	}
	return out;
}

int fsname_needs_digest(const uint8_t *comp, size_t len)
{
	return len > B64_MAX_COMP && percent_len(comp, len) > FSNAME_MAX;
}

uint64_t fsname_digest_hash(const uint8_t *comp, size_t len)
{
	return XXH3_64bits_withSeed(comp, len, FSNAME_DIGEST_SEED);
}

static void put_hex64(char *out, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = hexdig[v & 15];
}

int fsname_encode(char *out, const uint8_t *c, size_t len, uint64_t cookie)
{
	if (!c || len == 0 || len > FSNAME_MAX)
		return -1;
	size_t plen = percent_len(c, len), o = 0;
	if (plen <= FSNAME_MAX) {
		int dots = is_dots(c, len);
		for (size_t i = 0; i < len;) {
			size_t p = dots ? 0 : plain_at(c, len, i);
			if (p) {
				memcpy(out + o, c + i, p);
				o += p;
				i += p;
			} else {
				out[o++] = '%';
				out[o++] = hexdig[c[i] >> 4];
				out[o++] = hexdig[c[i] & 15];
				i++;
			}
		}
	} else if (len <= B64_MAX_COMP) {
		out[o++] = '%';
		out[o++] = '=';
		size_t i = 0;
		for (; i + 3 <= len; i += 3) {
			uint32_t v = (uint32_t)c[i] << 16 | (uint32_t)c[i + 1] << 8 | c[i + 2];
			out[o++] = b64[v >> 18];
			out[o++] = b64[(v >> 12) & 63];
			out[o++] = b64[(v >> 6) & 63];
			out[o++] = b64[v & 63];
		}
		if (len - i == 1) {
			out[o++] = b64[c[i] >> 2];
			out[o++] = b64[(c[i] & 3) << 4];
		} else if (len - i == 2) {
			uint32_t v = (uint32_t)c[i] << 8 | c[i + 1];
			out[o++] = b64[v >> 10];
			out[o++] = b64[(v >> 4) & 63];
			out[o++] = b64[(v & 15) << 2];
		}
	} else {
		out[o++] = '%';
		out[o++] = '#';
		put_hex64(out + o, cookie);
		put_hex64(out + o + 16, fsname_digest_hash(c, len));
		o += 32;
	}
	out[o] = 0;
	return (int)o;
}

static int hexval(char ch)
{
	/* upper case only: "%2e" is not the name of "." */
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

static int get_hex64(const char *s, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 16; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		*v = *v << 4 | (uint64_t)h;
	}
	return 0;
}

int fsname_decode(struct fsname_decoded *out, const char *name)
{
	size_t nlen = name ? strnlen(name, FSNAME_MAX + 1) : 0;
	if (nlen == 0 || nlen > FSNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return -1;
	if (memchr(name, '/', nlen))
		return -1;
	out->kind = FSNAME_PLAIN;
	out->len = 0;
	if (nlen >= 2 && name[0] == '%' && name[1] == '#') {
		if (nlen != DIGEST_LEN || get_hex64(name + 2, &out->cookie) < 0 || get_hex64(name + 18, &out->hash) < 0)
			return -1;
		out->kind = FSNAME_DIGEST;
		return 0;
	}
	if (nlen >= 2 && name[0] == '%' && name[1] == '=') {
		size_t n = nlen - 2, o = 0;
		if (n % 4 == 1)
			return -1;
		uint32_t acc = 0;
		unsigned bits = 0;
		for (size_t i = 0; i < n; i++) {
			int v = b64val(name[2 + i]);
			if (v < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out->comp[o++] = (uint8_t)(acc >> bits);
				acc &= (1u << bits) - 1;
			}
		}
		if (acc != 0) /* leftover bits must be zero: one spelling per component */
			return -1;
		out->len = (uint32_t)o;
	} else {
		size_t o = 0;
		for (size_t i = 0; i < nlen;) {
			if (name[i] == '%') {
				/* the name is NUL-terminated: a short escape meets the NUL */
				int hi = hexval(name[i + 1]);
				int lo = hi >= 0 ? hexval(name[i + 2]) : -1;
				if (hi < 0 || lo < 0)
					return -1;
				out->comp[o++] = (uint8_t)(hi << 4 | lo);
				i += 3;
			} else {
				out->comp[o++] = (uint8_t)name[i++];
			}
		}
		out->len = (uint32_t)o;
	}
	if (out->len == 0)
		return -1;
	char again[FSNAME_MAX + 1];
	if (fsname_encode(again, out->comp, out->len, 0) != (int)nlen || memcmp(again, name, nlen) != 0)
		return -1;
	return 0;
}
