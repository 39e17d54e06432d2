/*
 * test_fsname.c - swapobjfs's pure parts: the component <-> file name
 * bijection (fusefs/fsname.c) and the attribute record kept in aux data
 * (fusefs/fsattr.c).
 *
 * Randomized cases use tu_seed() (SWAPOBJ_SEED) and print it on failure;
 * SWAPOBJ_LONG=1 runs them ~20x longer.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fsattr.h"
#include "fsname.h"
#include "testutil.h"

#define CHECK(expr)                                                                                                    \
	do {                                                                                                           \
		if (__builtin_expect(!(expr), 0))                                                                      \
			ck_abort_msg("Assertion '%s' failed (seed %llu)", #expr, (unsigned long long)seed);            \
	} while (0)

static uint64_t seed;

static void setup(void)
{
	seed = tu_seed(0x6e616d65);
}

/* Encode, check the name is a legal, canonical file name, decode, compare. */
static void round_trip(const uint8_t *c, size_t len, uint64_t cookie, char *name)
{
	int n = fsname_encode(name, c, len, cookie);
	CHECK(n > 0 && n <= FSNAME_MAX);
	CHECK(strlen(name) == (size_t)n);
	CHECK(!strchr(name, '/'));
	CHECK(strcmp(name, ".") && strcmp(name, ".."));
	struct fsname_decoded d;
	CHECK(fsname_decode(&d, name) == 0);
	if (fsname_needs_digest(c, len)) {
		CHECK(d.kind == FSNAME_DIGEST);
		CHECK(d.cookie == cookie);
		CHECK(d.hash == fsname_digest_hash(c, len));
		CHECK(n == 34);
	} else {
		CHECK(d.kind == FSNAME_PLAIN);
		CHECK(d.len == len && !memcmp(d.comp, c, len));
	}
}

static const char *enc(const char *c, size_t len)
{
	static char name[FSNAME_MAX + 1];
	ck_assert_int_gt(fsname_encode(name, (const uint8_t *)c, len, 0), 0);
	return name;
}

START_TEST(test_fsname__safe_names_show_as_themselves)
{
	const char *plain[] = {"hello",
	                       "a b",
	                       "anon",
	                       "x.y",
	                       "...",
	                       ".hidden",
	                       "-rf",
	                       "caf\xc3\xa9",
	                       "\xe6\x97\xa5\xe6\x9c\xac",
	                       "\xf0\x9f\x98\x80",
	                       "~!@#$^&*()_+={}[]|\\:;\"'<>,?"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		ck_assert_str_eq(enc(plain[i], strlen(plain[i])), plain[i]);
}
END_TEST

START_TEST(test_fsname__unsafe_bytes_are_percent_escaped)
{
	ck_assert_str_eq(enc(".", 1), "%2E");
	ck_assert_str_eq(enc("..", 2), "%2E%2E");
	ck_assert_str_eq(enc("a/b", 3), "a%2Fb");
	ck_assert_str_eq(enc("%", 1), "%25");
	ck_assert_str_eq(enc("50%", 3), "50%25");
	ck_assert_str_eq(enc("\0", 1), "%00");
	ck_assert_str_eq(enc("a\nb", 3), "a%0Ab");
	ck_assert_str_eq(enc("\x7f", 1), "%7F");
	ck_assert_str_eq(enc("\xff\xfe", 2), "%FF%FE");
	/* overlong '/', a lone continuation byte, a surrogate, U+0085, RLO */
	ck_assert_str_eq(enc("\xc0\xaf", 2), "%C0%AF");
	ck_assert_str_eq(enc("\x80", 1), "%80");
	ck_assert_str_eq(enc("\xed\xa0\x80", 3), "%ED%A0%80");
	ck_assert_str_eq(enc("\xc2\x85", 2), "%C2%85");
	ck_assert_str_eq(enc("a\xe2\x80\xae"
	                     "b",
	                     5),
	                 "a%E2%80%AEb");
	/* a truncated character escapes only its own bytes */
	ck_assert_str_eq(enc("\xc3\xa9\xc3", 3), "\xc3\xa9%C3");
	/* the key helpers' big-endian numbers */
	ck_assert_str_eq(enc("\0\0\0\0\0\0\0\x2a", 8), "%00%00%00%00%00%00%00*");
}
END_TEST

START_TEST(test_fsname__length_limits_choose_the_form)
{
	uint8_t c[255];
	char name[FSNAME_MAX + 1];
	memset(c, 'a', sizeof(c));
	ck_assert_int_eq(fsname_encode(name, c, 255, 0), 255); /* plain at the limit */
	memset(c, 0x01, sizeof(c));
	ck_assert_int_eq(fsname_encode(name, c, 85, 0), 255);     /* percent fits exactly */
	ck_assert_int_eq(fsname_encode(name, c, 86, 0), 2 + 115); /* base64 */
	ck_assert(name[0] == '%' && name[1] == '=');
	ck_assert_int_eq(fsname_encode(name, c, 189, 0), 254);
	ck_assert(!fsname_needs_digest(c, 189));
	ck_assert(fsname_needs_digest(c, 190));
	ck_assert_int_eq(fsname_encode(name, c, 190, 0x0123456789abcdefull), 34);
	ck_assert(!strncmp(name, "%#0123456789ABCDEF", 18));
	ck_assert_int_eq(fsname_encode(name, c, 0, 0), -1);
	ck_assert_int_eq(fsname_encode(name, c, 256, 0), -1);
}
END_TEST

START_TEST(test_fsname__every_one_and_two_byte_component_round_trips_uniquely)
{
	/* 256 + 65536 components; names must all differ (checked by sorting) */
	size_t n = 256 + 65536, k = 0;
	char(*names)[FSNAME_MAX + 1] = malloc(n * sizeof(*names));
	ck_assert_ptr_nonnull(names);
	for (unsigned a = 0; a < 256; a++) {
		uint8_t c[1] = {(uint8_t)a};
		round_trip(c, 1, 0, names[k++]);
	}
	for (unsigned a = 0; a < 65536; a++) {
		uint8_t c[2] = {(uint8_t)(a >> 8), (uint8_t)a};
		round_trip(c, 2, 0, names[k++]);
	}
	qsort(names, n, sizeof(*names), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(names[i - 1], names[i]) != 0);
	free(names);
}
END_TEST

/* Random component: mostly binary, sometimes text with escapes mixed in. */
static size_t random_comp(struct tu_rng *r, uint8_t *c)
{
	size_t len = 1 + tu_rng_below(r, tu_rng_below(r, 4) ? 40 : 255);
	unsigned style = (unsigned)tu_rng_below(r, 3);
	static const char tricky[] = "%./=#AE2e\xc3\xa9\xe2\x80\xae";
	for (size_t i = 0; i < len; i++) {
		if (style == 0)
			c[i] = (uint8_t)tu_rng_next(r);
		else if (style == 1)
			c[i] = (uint8_t)(0x20 + tu_rng_below(r, 95));
		else
			c[i] = (uint8_t)tricky[tu_rng_below(r, sizeof(tricky) - 1)];
	}
	return len;
}

START_TEST(test_fsname__random_binary_components_round_trip_uniquely)
{
	struct tu_rng r;
	tu_rng_init(&r, seed);
	size_t n = tu_scale(50000, 20);
	char(*names)[FSNAME_MAX + 1] = malloc(n * sizeof(*names));
	ck_assert_ptr_nonnull(names);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c[255];
		size_t len = random_comp(&r, c);
		/* distinct components only, so that equal names would be a bug: make each unique by its index */
		if (len >= 4)
			memcpy(c, &i, 4);
		else
			continue;
		if (fsname_needs_digest(c, len)) {
			round_trip(c, len, tu_rng_next(&r), names[k]);
			continue; /* digest names carry the cookie: uniqueness is the store's hash's */
		}
		round_trip(c, len, 0, names[k++]);
	}
	qsort(names, k, sizeof(*names), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 1; i < k; i++)
		CHECK(strcmp(names[i - 1], names[i]) != 0);
	free(names);
}
END_TEST

START_TEST(test_fsname__non_canonical_names_are_rejected)
{
	const char *bad[] = {"",
	                     ".",
	                     "..",
	                     "%",
	                     "%4",
	                     "%G1",
	                     "%41",
	                     "%2e",
	                     "%2Ea",
	                     "%2E%2E%2E",
	                     "a%2F%",
	                     "%fF",
	                     "%=",
	                     "%=QQ",
	                     "%=QR",
	                     "%=A",
	                     "%=AAA*",
	                     "%#",
	                     "%#0123",
	                     "%#0123456789abcdef0123456789ABCDEF",
	                     "\x01",
	                     "a\x7f",
	                     "\xff",
	                     "\xc0\xaf",
	                     "\xed\xa0\x80",
	                     "a\xe2\x80\xae"
	                     "b",
	                     "a/b",
	                     "%2Fx%2"};
	struct fsname_decoded d;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fsname_decode(&d, bad[i]) < 0, "accepted \"%s\"", bad[i]);
	char longname[300];
	memset(longname, 'a', 299);
	longname[299] = 0;
	ck_assert_int_lt(fsname_decode(&d, longname), 0);
	/* the canonical spellings are accepted */
	ck_assert_int_eq(fsname_decode(&d, "%2E"), 0);
	ck_assert(d.len == 1 && d.comp[0] == '.');
	ck_assert_int_eq(fsname_decode(&d, "%25%2F"), 0);
	ck_assert(d.len == 2 && d.comp[0] == '%' && d.comp[1] == '/');
	ck_assert_int_eq(fsname_decode(&d, "%#0123456789ABCDEF0123456789ABCDEF"), 0);
	ck_assert(d.kind == FSNAME_DIGEST && d.cookie == 0x0123456789abcdefull);
}
END_TEST

/*
 * Every name of up to 4 characters over an alphabet of escape material:
 * the accepted ones must decode to pairwise different components, and each
 * must be the encoding of what it decodes to. This checks injectivity of the
 * decoder independently of how it is written.
 */
START_TEST(test_fsname__short_names_over_escape_characters_decode_injectively)
{
	static const char alpha[] = "%2EeAF0=Q.#/a\x01";
	const size_t na = sizeof(alpha) - 1;
	size_t total = 0, accepted = 0, cap = 1 << 16;
	struct {
		uint8_t len;
		uint8_t c[8];
		char name[8];
	} *acc = malloc(cap * sizeof(*acc));
	ck_assert_ptr_nonnull(acc);
	for (size_t len = 1; len <= 4; len++) {
		size_t count = 1;
		for (size_t i = 0; i < len; i++)
			count *= na;
		for (size_t v = 0; v < count; v++) {
			char name[8];
			size_t x = v;
			for (size_t i = 0; i < len; i++, x /= na)
				name[i] = alpha[x % na];
			name[len] = 0;
			total++;
			struct fsname_decoded d;
			if (fsname_decode(&d, name) < 0)
				continue;
			CHECK(d.kind == FSNAME_PLAIN && d.len <= 4);
			char again[FSNAME_MAX + 1];
			CHECK(fsname_encode(again, d.comp, d.len, 0) == (int)len && !strcmp(again, name));
			CHECK(accepted < cap);
			acc[accepted].len = (uint8_t)d.len;
			memcpy(acc[accepted].c, d.comp, d.len);
			strcpy(acc[accepted].name, name);
			accepted++;
		}
	}
	for (size_t i = 0; i < accepted; i++)
		for (size_t j = i + 1; j < accepted; j++)
			CHECK(acc[i].len != acc[j].len || memcmp(acc[i].c, acc[j].c, acc[i].len));
	ck_assert_uint_gt(accepted, 1000);
	ck_assert_uint_lt(accepted, total);
	free(acc);
}
END_TEST

START_TEST(test_fsname__random_names_decode_only_when_canonical)
{
	struct tu_rng r;
	tu_rng_init(&r, seed ^ 0x5a5a);
	static const char mat[] = "%=#0123456789ABCDEFabcdef.-_xyz\xc3\xa9\x80\x01";
	size_t ok = 0, n = tu_scale(200000, 20);
	for (size_t i = 0; i < n; i++) {
		char name[FSNAME_MAX + 1];
		size_t len = 1 + tu_rng_below(&r, 12);
		for (size_t k = 0; k < len; k++)
			name[k] = mat[tu_rng_below(&r, sizeof(mat) - 1)];
		name[len] = 0;
		struct fsname_decoded d;
		if (fsname_decode(&d, name) < 0)
			continue;
		ok++;
		char again[FSNAME_MAX + 1];
		CHECK(d.kind == FSNAME_PLAIN);
		CHECK(fsname_encode(again, d.comp, d.len, 0) == (int)len && !memcmp(again, name, len));
	}
	ck_assert_uint_gt(ok, n / 50);
}
END_TEST

/* ---- fsattr ------------------------------------------------------------- */

static void attr_init(struct fsattr *a, uint32_t mode)
{
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->uid = 1000;
	a->gid = 100;
	a->atime.tv_sec = 1700000000;
	a->atime.tv_nsec = 1;
	a->mtime.tv_sec = -5;
	a->mtime.tv_nsec = 999999999;
	a->ctime.tv_sec = 1LL << 40;
}

START_TEST(test_fsattr__encode_decode_round_trips_with_xattrs_and_link)
{
	struct fsattr a, b;
	attr_init(&a, S_IFLNK | 0777);
	ck_assert_int_eq(fsattr_set_link(&a, "../target", 9), 0);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.one", "1", 1, 0), 0);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.empty", "", 0, 0), 0);
	uint8_t buf[FSATTR_AUX_MAX];
	int n = fsattr_encode(&a, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)fsattr_size(&a));
	ck_assert_int_eq(fsattr_decode(&b, buf, (size_t)n), 0);
	ck_assert_uint_eq(b.mode, S_IFLNK | 0777);
	ck_assert_uint_eq(b.uid, 1000);
	ck_assert_uint_eq(b.gid, 100);
	ck_assert(b.atime.tv_sec == 1700000000 && b.atime.tv_nsec == 1);
	ck_assert(b.mtime.tv_sec == -5 && b.mtime.tv_nsec == 999999999);
	ck_assert(b.ctime.tv_sec == 1LL << 40);
	ck_assert_uint_eq(b.link_len, 9);
	ck_assert(!memcmp(b.tail, "../target", 9));
	const uint8_t *v;
	size_t vl;
	ck_assert_int_eq(fsattr_xattr_get(&b, "user.one", &v, &vl), 0);
	ck_assert(vl == 1 && v[0] == '1');
	ck_assert_int_eq(fsattr_xattr_get(&b, "user.empty", &v, &vl), 0);
	ck_assert_uint_eq(vl, 0);
	char list[64];
	ck_assert_uint_eq(fsattr_xattr_list(&b, list, sizeof(list)), 20);
	ck_assert(!memcmp(list, "user.one\0user.empty\0", 20));
	ck_assert_uint_eq(fsattr_xattr_list(&b, list, 3), 20);
	fsattr_free(&a);
	fsattr_free(&b);
}
END_TEST

START_TEST(test_fsattr__xattr_flags_replace_and_remove)
{
	struct fsattr a;
	attr_init(&a, S_IFREG | 0644);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.a", "x", 1, XATTR_REPLACE), -ENODATA);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.a", "x", 1, XATTR_CREATE), 0);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.a", "y", 1, XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.b", "bb", 2, 0), 0);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.a", "longer", 6, XATTR_REPLACE), 0);
	const uint8_t *v;
	size_t vl;
	ck_assert_int_eq(fsattr_xattr_get(&a, "user.a", &v, &vl), 0);
	ck_assert(vl == 6 && !memcmp(v, "longer", 6));
	ck_assert_int_eq(fsattr_xattr_get(&a, "user.b", &v, &vl), 0);
	ck_assert(vl == 2 && !memcmp(v, "bb", 2));
	ck_assert_int_eq(fsattr_xattr_remove(&a, "user.a"), 0);
	ck_assert_int_eq(fsattr_xattr_remove(&a, "user.a"), -ENODATA);
	ck_assert_int_eq(fsattr_xattr_get(&a, "user.a", &v, &vl), -ENODATA);
	ck_assert_uint_eq(a.nxattr, 1);
	ck_assert_int_eq(fsattr_xattr_remove(&a, "user.b"), 0);
	ck_assert_uint_eq(a.tail_len, 0);
	fsattr_free(&a);
}
END_TEST

START_TEST(test_fsattr__space_is_bounded_by_the_aux_limit)
{
	struct fsattr a;
	attr_init(&a, S_IFREG | 0644);
	static char big[FSATTR_AUX_MAX];
	memset(big, 'v', sizeof(big));
	/* a value that could never fit is E2BIG; one that fits alone is fine */
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.big", big, FSATTR_AUX_MAX, 0), -E2BIG);
	size_t fit = FSATTR_AUX_MAX - FSATTR_HDR - FSATTR_XATTR_HDR - 8;
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.big", big, fit, 0), 0);
	ck_assert_uint_eq(fsattr_size(&a), FSATTR_AUX_MAX);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.x", "1", 1, 0), -ENOSPC);
	/* replacing by a smaller value makes room */
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.big", big, 100, 0), 0);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.x", "1", 1, 0), 0);
	unsigned n = 0;
	char name[32];
	int err;
	do {
		snprintf(name, sizeof(name), "user.n%u", n++);
		err = fsattr_xattr_set(&a, name, big, 10, 0);
	} while (err == 0);
	ck_assert_int_eq(err, -ENOSPC);
	ck_assert_uint_le(fsattr_size(&a), FSATTR_AUX_MAX);
	char longn[300];
	memset(longn, 'n', 299);
	longn[299] = 0;
	ck_assert_int_eq(fsattr_xattr_set(&a, longn, "", 0, 0), -ERANGE);
	fsattr_free(&a);
	attr_init(&a, S_IFLNK | 0777);
	ck_assert_int_eq(fsattr_set_link(&a, big, FSATTR_LINK_MAX + 1), -ENAMETOOLONG);
	ck_assert_int_eq(fsattr_set_link(&a, big, FSATTR_LINK_MAX), 0);
	fsattr_free(&a);
}
END_TEST

START_TEST(test_fsattr__malformed_records_are_rejected)
{
	struct fsattr a, b;
	attr_init(&a, S_IFREG | 0600);
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.k", "v", 1, 0), 0);
	uint8_t buf[FSATTR_AUX_MAX], c[FSATTR_AUX_MAX];
	int n = fsattr_encode(&a, buf, sizeof(buf));
	memcpy(c, buf, (size_t)n);
	ck_assert_int_eq(fsattr_decode(&b, c, 2), -EINVAL); /* truncated */
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n - 1), -EINVAL);
	c[0] = 'X';
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	memcpy(c, buf, (size_t)n);
	c[2] = 2;
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EPROTO);
	memcpy(c, buf, (size_t)n);
	c[24 + 3] = 0xff; /* atime nanoseconds >= 1e9 */
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	memcpy(c, buf, (size_t)n);
	c[5] = 0x21; /* st_mode type bits become S_IFCHR */
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	/* two entries with one name */
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.l", "w", 1, 0), 0);
	n = fsattr_encode(&a, buf, sizeof(buf));
	memcpy(c, buf, (size_t)n);
	c[FSATTR_HDR + 4 + 6 + 3 + 5] = 'k';
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	fsattr_free(&a);
}
END_TEST

START_TEST(test_fsattr__device_records_carry_their_device_number_and_nothing_else_does)
{
	struct fsattr a, b;
	uint8_t buf[FSATTR_AUX_MAX], c[FSATTR_AUX_MAX];
	/* A character device round-trips with its device number, and its xattrs after it. */
	attr_init(&a, S_IFCHR | 0620);
	a.rdev = 0x0123456789abcdefull;
	ck_assert_int_eq(fsattr_xattr_set(&a, "user.k", "v", 1, 0), 0);
	int n = fsattr_encode(&a, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)fsattr_size(&a));
	ck_assert_uint_eq(buf[3] & FSATTR_F_RDEV, FSATTR_F_RDEV);
	ck_assert_int_eq(fsattr_decode(&b, buf, (size_t)n), 0);
	ck_assert_uint_eq(b.mode, S_IFCHR | 0620);
	ck_assert_uint_eq(b.rdev, 0x0123456789abcdefull);
	const uint8_t *v;
	size_t vl;
	ck_assert_int_eq(fsattr_xattr_get(&b, "user.k", &v, &vl), 0);
	ck_assert(vl == 1 && v[0] == 'v');
	fsattr_free(&b);
	/* Cut short inside the device number: refused. */
	ck_assert_int_eq(fsattr_decode(&b, buf, FSATTR_HDR + FSATTR_RDEV_LEN - 1), -EINVAL);
	/* The flag without a device type, or a device type without the flag: refused (the tail would shift). */
	memcpy(c, buf, (size_t)n);
	c[3] &= (uint8_t)~FSATTR_F_RDEV;
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	fsattr_free(&a);
	attr_init(&a, S_IFIFO | 0644);
	n = fsattr_encode(&a, buf, sizeof(buf));
	ck_assert_uint_eq(buf[3] & FSATTR_F_RDEV, 0);
	ck_assert_int_eq(fsattr_decode(&b, buf, (size_t)n), 0);
	ck_assert_uint_eq(b.mode, S_IFIFO | 0644);
	ck_assert_uint_eq(b.rdev, 0);
	fsattr_free(&b);
	memcpy(c, buf, (size_t)n);
	c[3] |= FSATTR_F_RDEV;
	ck_assert_int_eq(fsattr_decode(&b, c, (size_t)n), -EINVAL);
	fsattr_free(&a);
}
END_TEST

START_TEST(test_fsattr__random_corruption_never_crashes_and_decoded_records_re_encode)
{
	struct tu_rng r;
	tu_rng_init(&r, seed ^ 0xa77);
	struct fsattr a, b;
	attr_init(&a, S_IFREG | 0600);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "user.%d", i);
		ck_assert_int_eq(fsattr_xattr_set(&a, name, name, strlen(name), 0), 0);
	}
	uint8_t buf[FSATTR_AUX_MAX], c[FSATTR_AUX_MAX], again[FSATTR_AUX_MAX];
	int n = fsattr_encode(&a, buf, sizeof(buf));
	size_t rounds = tu_scale(20000, 20), decoded = 0;
	for (size_t i = 0; i < rounds; i++) {
		memcpy(c, buf, (size_t)n);
		size_t len = (size_t)n;
		unsigned flips = 1 + (unsigned)tu_rng_below(&r, 3);
		for (unsigned f = 0; f < flips; f++)
			c[tu_rng_below(&r, len)] ^= (uint8_t)(1u << tu_rng_below(&r, 8));
		if (tu_rng_below(&r, 4) == 0)
			len = tu_rng_below(&r, len + 1);
		if (fsattr_decode(&b, c, len) == 0) {
			decoded++;
			CHECK(fsattr_encode(&b, again, sizeof(again)) == (int)len);
			CHECK(!memcmp(again, c, len) || c[3] != 0); /* only the flags byte is not kept */
			fsattr_free(&b);
		}
	}
	ck_assert_uint_gt(decoded, 0);
	fsattr_free(&a);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("fsname");
	const struct tu_case_opts opts_names = {.setup = setup, .tags = "names", .timeout = 600};
	const struct tu_case_opts opts_attrs = {.setup = setup, .tags = "attrs"};
	tu_add(s, test_fsname__safe_names_show_as_themselves, &opts_names);
	tu_add(s, test_fsname__unsafe_bytes_are_percent_escaped, &opts_names);
	tu_add(s, test_fsname__length_limits_choose_the_form, &opts_names);
	tu_add(s, test_fsname__every_one_and_two_byte_component_round_trips_uniquely, &opts_names);
	tu_add(s, test_fsname__random_binary_components_round_trip_uniquely, &opts_names);
	tu_add(s, test_fsname__non_canonical_names_are_rejected, &opts_names);
	tu_add(s, test_fsname__short_names_over_escape_characters_decode_injectively, &opts_names);
	tu_add(s, test_fsname__random_names_decode_only_when_canonical, &opts_names);
	tu_add(s, test_fsattr__encode_decode_round_trips_with_xattrs_and_link, &opts_attrs);
	tu_add(s, test_fsattr__xattr_flags_replace_and_remove, &opts_attrs);
	tu_add(s, test_fsattr__space_is_bounded_by_the_aux_limit, &opts_attrs);
	tu_add(s, test_fsattr__malformed_records_are_rejected, &opts_attrs);
	tu_add(s, test_fsattr__device_records_carry_their_device_number_and_nothing_else_does, &opts_attrs);
	tu_add(s, test_fsattr__random_corruption_never_crashes_and_decoded_records_re_encode, &opts_attrs);
	return tu_run(s, argc, argv);
}
