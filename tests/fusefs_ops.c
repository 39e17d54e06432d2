/*
 * fusefs_ops.c - checks of a mounted swapobjfs that shell tools cannot
 * express (exact errno values, flags, byte patterns, concurrency), plus the
 * library side of the name round trips. Each subcommand exits 0 when every
 * check held and prints what failed otherwise.
 *
 *   errnos DIR                 unsupported operations fail with the right errno
 *   falloc DIR                 punch hole, zero range, KEEP_SIZE, allocate
 *   seek FILE                  SEEK_DATA/SEEK_HOLE walk: exact, skipped ranges read as zeros
 *   xattr DIR                  user xattrs: flags, sizes, limits
 *   names DIR SEED N           hostile names created through the mount round-trip
 *   lib-mkkeys IMAGE SEED N    create N objects with random binary keys (store not mounted)
 *   lib-checkkeys IMAGE SEED N their names through the mount: see `mnt-checkkeys`
 *   mnt-checkkeys DIR SEED N   every library key has exactly one path, with its content
 *   lib-checknames IMAGE SEED N  keys made by `names` are the decoded components
 *   unlinked DIR ROOT          files unlinked or replaced while open keep working, then go
 *   holdopen FILE              create, unlink, fsync, print "ready" and wait with it open
 *   lib-orphans IMAGE          print the number of orphans (unlinked open files) in the store
 *   namelen DIR                a too long name or key: ENAMETOOLONG from every operation
 *   special DIR                FIFO, socket, character and block device nodes
 *   readdir-stable DIR         listing under concurrent creates/deletes sees stable entries once
 *   concurrent DIR NPROC       processes writing the same and different files
 *   writesync FILE SEED MIB    write a pattern and fsync
 *   verify FILE SEED MIB       check the pattern
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsname.h"
#include "swapobj.h"

#define PG 4096u

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

#define EXPECT_ERR(call, want)                                                                                         \
	do {                                                                                                           \
		errno = 0;                                                                                             \
		long r_ = (long)(call);                                                                                \
		if (r_ != -1 || errno != (want))                                                                       \
			fail("%s: returned %ld errno %d (%s), want %s", #call, r_, errno, strerror(errno), #want);     \
	} while (0)
#define EXPECT_OK(call)                                                                                                \
	do {                                                                                                           \
		errno = 0;                                                                                             \
		long r_ = (long)(call);                                                                                \
		if (r_ < 0)                                                                                            \
			fail("%s: %s", #call, strerror(errno));                                                        \
	} while (0)

static char *path(const char *dir, const char *name)
{
	static char bufs[4][8192];
	static int i;
	char *b = bufs[i++ % 4];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static void pattern(uint8_t *p, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = mix(seed ^ ((off + i) / 8));
		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* ---- errnos ---- */

static int cmd_errnos(const char *dir)
{
	char f[8192], d[8192];
	snprintf(f, sizeof(f), "%s/e_file", dir);
	snprintf(d, sizeof(d), "%s/e_dir", dir);
	int fd = open(f, O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		fail("create %s: %s", f, strerror(errno));
		return 1;
	}
	close(fd);
	EXPECT_OK(mkdir(d, 0755));
	EXPECT_ERR(link(f, path(dir, "e_link")), EPERM);
	EXPECT_OK(mknod(path(dir, "e_reg"), S_IFREG | 0600, 0));
	EXPECT_ERR(renameat2(AT_FDCWD, f, AT_FDCWD, d, RENAME_EXCHANGE), EINVAL);
	EXPECT_ERR(renameat2(AT_FDCWD, f, AT_FDCWD, path(dir, "e_reg"), RENAME_NOREPLACE), EEXIST);
	EXPECT_ERR(rename(f, d), EISDIR);
	EXPECT_ERR(rename(d, f), ENOTDIR);
	EXPECT_ERR(rmdir(f), ENOTDIR);
	EXPECT_ERR(unlink(d), EISDIR);
	EXPECT_ERR(open(path(dir, "%41"), O_CREAT | O_RDWR, 0644), EINVAL); /* would alias "A" */
	EXPECT_ERR(open(path(dir, "%2e"), O_CREAT | O_RDWR, 0644), EINVAL);
	EXPECT_ERR(mkdir(path(dir, "a\x01"), 0755), EINVAL); /* raw control byte: its name is a%01 */
	EXPECT_ERR(open(path(dir, "%41"), O_RDONLY), ENOENT);
	EXPECT_ERR(open(path(dir, "%#0123456789ABCDEF0123456789ABCDEF"), O_CREAT | O_RDWR, 0644), EINVAL);
	EXPECT_ERR(open(dir, O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);
	/* a name whose escaped form is the same component is fine and is one file */
	EXPECT_OK(fd = open(path(dir, "%25x"), O_CREAT | O_RDWR, 0644));
	if (fd >= 0)
		close(fd);
	/* too deep: keys have at most 16 components (the mount's root is none) */
	char deep[8192];
	snprintf(deep, sizeof(deep), "%s/e_deep", dir);
	int depth_ok = 1;
	struct stat st;
	/* components of dir below the mount's root, told by the caller */
	const char *lvl = getenv("FUSEFS_DIR_DEPTH");
	int base = lvl ? atoi(lvl) : 0;
	for (int i = base + 1; i <= 16; i++) {
		if (mkdir(deep, 0755) < 0) {
			fail("mkdir depth %d: %s", i, strerror(errno));
			depth_ok = 0;
			break;
		}
		strcat(deep, "/d");
	}
	if (depth_ok) {
		EXPECT_ERR(mkdir(deep, 0755), ENAMETOOLONG);
		EXPECT_ERR(open(deep, O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
		EXPECT_ERR(stat(deep, &st), ENAMETOOLONG);
	}
	char longname[300];
	memset(longname, 'x', 256);
	longname[256] = 0;
	EXPECT_ERR(open(path(dir, longname), O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	/* 1024 bytes per key: four 255-byte components fit only 4 levels */
	memset(longname, 'L', 255);
	longname[255] = 0;
	char lp[8192];
	snprintf(lp, sizeof(lp), "%s/e_long", dir);
	EXPECT_OK(mkdir(lp, 0755));
	int made = 0;
	for (int i = 0; i < 5; i++) {
		strcat(lp, "/");
		strcat(lp, longname);
		if (mkdir(lp, 0755) < 0) {
			if (errno != ENAMETOOLONG)
				fail("mkdir of long components: %s", strerror(errno));
			break;
		}
		made++;
	}
	if (made >= 5)
		fail("a key over 1024 bytes was accepted");
	/* unsupported fallocate modes */
	fd = open(f, O_RDWR);
	EXPECT_ERR(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PG), EOPNOTSUPP);
	EXPECT_ERR(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, PG), EOPNOTSUPP);
	close(fd);
	EXPECT_ERR(setxattr(f, "security.test", "x", 1, 0), EOPNOTSUPP);
	EXPECT_ERR(getxattr(f, "system.posix_acl_access", NULL, 0), EOPNOTSUPP);
	return failures != 0;
}

/* ---- fallocate ---- */

static int read_check(int fd, uint64_t off, size_t len, const uint8_t *want, const char *what)
{
	uint8_t *b = malloc(len);
	ssize_t r = pread(fd, b, len, (off_t)off);
	int ok = r == (ssize_t)len && !memcmp(b, want, len);
	if (!ok)
		fail("%s: read at %" PRIu64 " (+%zu) differs (%zd)", what, off, len, r);
	free(b);
	return ok;
}

static int cmd_falloc(const char *dir)
{
	char *f = path(dir, "falloc");
	int fd = open(f, O_CREAT | O_TRUNC | O_RDWR, 0644);
	size_t len = 64 * PG;
	uint8_t *data = malloc(len), *zero = calloc(1, len);
	struct stat st;
	pattern(data, len, 1, 0);
	if (fd < 0 || pwrite(fd, data, len, 0) != (ssize_t)len) {
		fail("write %s", f);
		return 1;
	}
	/* punch: edges zeroed, whole pages dropped, size kept */
	EXPECT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 3 * PG));
	memset(data + 100, 0, 3 * PG);
	read_check(fd, 0, len, data, "punch");
	EXPECT_OK(fstat(fd, &st));
	if ((size_t)st.st_size != len)
		fail("punch changed the size to %jd", (intmax_t)st.st_size);
	EXPECT_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, PG), EOPNOTSUPP); /* punch needs KEEP_SIZE */
	/* zero range inside, then past EOF without and with KEEP_SIZE */
	EXPECT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 10 * PG + 5, PG));
	memset(data + 10 * PG + 5, 0, PG);
	read_check(fd, 0, len, data, "zero range");
	EXPECT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, len - PG, 4 * PG));
	memset(data + len - PG, 0, PG);
	EXPECT_OK(fstat(fd, &st));
	if ((size_t)st.st_size != len)
		fail("zero range KEEP_SIZE changed the size to %jd", (intmax_t)st.st_size);
	EXPECT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, len - PG, 4 * PG));
	EXPECT_OK(fstat(fd, &st));
	if ((size_t)st.st_size != len + 3 * PG)
		fail("zero range past EOF: size %jd, want %zu", (intmax_t)st.st_size, len + 3 * PG);
	read_check(fd, 0, len, data, "after zero range past EOF");
	read_check(fd, len, 3 * PG, zero, "zeroed tail");
	/* allocate: extends, KEEP_SIZE does not; data untouched */
	EXPECT_OK(fallocate(fd, 0, 0, (off_t)(len + 8 * PG)));
	EXPECT_OK(fstat(fd, &st));
	if ((size_t)st.st_size != len + 8 * PG)
		fail("allocate: size %jd", (intmax_t)st.st_size);
	EXPECT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)(len + 100 * PG)));
	EXPECT_OK(fstat(fd, &st));
	if ((size_t)st.st_size != len + 8 * PG)
		fail("allocate KEEP_SIZE changed the size: %jd", (intmax_t)st.st_size);
	read_check(fd, 0, len, data, "after allocate");
	/* a punched file takes less space */
	blkcnt_t before = st.st_blocks;
	EXPECT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)len));
	EXPECT_OK(fstat(fd, &st));
	if (st.st_blocks >= before)
		fail("punching everything left st_blocks at %jd (was %jd)", (intmax_t)st.st_blocks, (intmax_t)before);
	/* more space than the store has */
	EXPECT_ERR(fallocate(fd, 0, 0, (off_t)1 << 50), ENOSPC);
	close(fd);
	free(data);
	free(zero);
	return failures != 0;
}

/* ---- seek ---- */

/*
 * Walk the file's data ranges with SEEK_DATA/SEEK_HOLE. The answers are
 * exact (the store knows which pages were written): every skipped range
 * reads as zeros and is a hole to SEEK_HOLE, data starts and ends on page
 * boundaries (or EOF), every step makes progress. FUSEFS_EXPECT_DATA
 * (exact) or FUSEFS_EXPECT_DATA_MAX bound the bytes found in data ranges.
 */
static int cmd_seek(const char *file)
{
	int fd = open(file, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fail("open %s: %s", file, strerror(errno));
		return 1;
	}
	uint64_t size = (uint64_t)st.st_size;
	uint64_t off = 0, data_bytes = 0;
	uint8_t *b = malloc(1 << 20);
	unsigned steps = 0;
	while (off < size && steps++ < 100000) {
		off_t d = lseek(fd, (off_t)off, SEEK_DATA);
		if (d < 0) {
			if (errno != ENXIO)
				fail("SEEK_DATA at %" PRIu64 ": %s", off, strerror(errno));
			d = (off_t)size;
		} else if ((uint64_t)d < off || (uint64_t)d >= size || ((uint64_t)d > off && d % PG)) {
			fail("SEEK_DATA at %" PRIu64 " = %jd (size %" PRIu64 ")", off, (intmax_t)d, size);
			break;
		}
		if ((uint64_t)d > off && lseek(fd, (off_t)off, SEEK_HOLE) != (off_t)off)
			fail("SEEK_DATA skips from %" PRIu64 " but SEEK_HOLE there says data", off);
		/* the skipped range reads as zeros: its edges and a sample every 16 MiB (big files) */
		for (uint64_t p = off; p < (uint64_t)d;) {
			size_t l = (uint64_t)d - p < 65536 ? (size_t)((uint64_t)d - p) : 65536;
			if (pread(fd, b, l, (off_t)p) != (ssize_t)l) {
				fail("read %" PRIu64, p);
				break;
			}
			for (size_t i = 0; i < l; i++)
				if (b[i]) {
					fail("SEEK_DATA from %" PRIu64 " skipped data at %" PRIu64, off, p + i);
					break;
				}
			uint64_t next = p + (16u << 20);
			if (next >= (uint64_t)d && p + l < (uint64_t)d)
				next = (uint64_t)d - 65536 > p + l ? (uint64_t)d - 65536 : p + l;
			p = next > p + l ? next : p + l;
		}
		if ((uint64_t)d >= size)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h <= d || (uint64_t)h > size || ((uint64_t)h < size && h % PG)) {
			fail("SEEK_HOLE at %jd = %jd (size %" PRIu64 ")", (intmax_t)d, (intmax_t)h, size);
			break;
		}
		if (lseek(fd, h - 1, SEEK_DATA) != h - 1)
			fail("SEEK_HOLE at %jd = %jd, but %jd is not data", (intmax_t)d, (intmax_t)h,
			     (intmax_t)(h - 1));
		data_bytes += (uint64_t)(h - d);
		off = (uint64_t)h;
	}
	printf("seek: %s: %" PRIu64 " bytes, %" PRIu64 " in data ranges, %u steps\n", file, size, data_bytes, steps);
	const char *want = getenv("FUSEFS_EXPECT_DATA"), *max = getenv("FUSEFS_EXPECT_DATA_MAX");
	if (want && data_bytes != strtoull(want, NULL, 0))
		fail("data ranges cover %" PRIu64 " bytes, not %s", data_bytes, want);
	if (max && data_bytes > strtoull(max, NULL, 0))
		fail("data ranges cover %" PRIu64 " bytes, more than %s", data_bytes, max);
	free(b);
	close(fd);
	return failures != 0;
}

/* ---- xattr ---- */

static int cmd_xattr(const char *dir)
{
	char *f = path(dir, "xa");
	int fd = open(f, O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		fail("create %s", f);
		return 1;
	}
	close(fd);
	char v[4096];
	EXPECT_ERR(setxattr(f, "user.a", "1", 1, XATTR_REPLACE), ENODATA);
	EXPECT_OK(setxattr(f, "user.a", "1", 1, XATTR_CREATE));
	EXPECT_ERR(setxattr(f, "user.a", "2", 1, XATTR_CREATE), EEXIST);
	EXPECT_OK(setxattr(f, "user.a", "22", 2, XATTR_REPLACE));
	EXPECT_OK(setxattr(f, "user.empty", "", 0, 0));
	ssize_t n = getxattr(f, "user.a", v, sizeof(v));
	if (n != 2 || memcmp(v, "22", 2))
		fail("getxattr user.a: %zd", n);
	if (getxattr(f, "user.a", NULL, 0) != 2)
		fail("getxattr size query");
	EXPECT_ERR(getxattr(f, "user.a", v, 1), ERANGE);
	EXPECT_ERR(getxattr(f, "user.none", v, sizeof(v)), ENODATA);
	n = listxattr(f, v, sizeof(v));
	if (n != (ssize_t)sizeof("user.a\0user.empty"))
		fail("listxattr: %zd bytes", n);
	EXPECT_OK(removexattr(f, "user.a"));
	EXPECT_ERR(removexattr(f, "user.a"), ENODATA);
	/* bounded space: one value too big ever, then filling up */
	static char big[65536];
	memset(big, 'b', sizeof(big));
	EXPECT_ERR(setxattr(f, "user.big", big, 4000, 0), E2BIG);
	int i, err = 0;
	for (i = 0; i < 100; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user.fill%d", i);
		if (setxattr(f, name, big, 200, 0) < 0) {
			err = errno;
			break;
		}
	}
	if (err != ENOSPC || i < 10)
		fail("filling xattrs stopped after %d with %s, want ENOSPC after >= 10", i, strerror(err));
	/* directories carry them too; they survive (checked after remount by the shell test) */
	EXPECT_OK(mkdir(path(dir, "xadir"), 0755));
	EXPECT_OK(setxattr(path(dir, "xadir"), "user.dir", "d", 1, 0));
	return failures != 0;
}

/* ---- names ---- */

static size_t rand_comp(uint64_t *s, uint8_t *c)
{
	*s = mix(*s + 1);
	size_t len = 1 + *s % (*s % 5 ? 30 : 200);
	static const char tricky[] = "%./=# \t\n\\AE2e\xc3\xa9\xe2\x80\xae\xff";
	unsigned style = (unsigned)((*s >> 20) % 3);
	for (size_t i = 0; i < len; i++) {
		*s = mix(*s + i);
		c[i] = style == 0   ? (uint8_t)*s
		       : style == 1 ? (uint8_t)(0x20 + *s % 95)
		                    : (uint8_t)tricky[*s % (sizeof(tricky) - 1)];
	}
	return len;
}

static int cmd_names(const char *dir, uint64_t seed, unsigned n)
{
	uint64_t s = seed;
	unsigned made = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t c[255];
		size_t len = rand_comp(&s, c);
		memcpy(c, &i, len < 4 ? len : 4); /* distinct components */
		if (fsname_needs_digest(c, len))
			continue; /* cannot be made through a name: only the library makes those */
		char name[FSNAME_MAX + 1];
		fsname_encode(name, c, len, 0);
		int fd = open(path(dir, name), O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			fail("create \"%s\": %s", name, strerror(errno));
			continue;
		}
		if (write(fd, c, len) != (ssize_t)len)
			fail("write \"%s\"", name);
		close(fd);
		made++;
	}
	/* listing shows exactly those names, each once, each with its bytes */
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned seen = 0;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct fsname_decoded dec;
		if (fsname_decode(&dec, e->d_name) < 0 || dec.kind != FSNAME_PLAIN) {
			fail("listed name \"%s\" is not canonical", e->d_name);
			continue;
		}
		uint8_t b[300];
		int fd = open(path(dir, e->d_name), O_RDONLY);
		ssize_t r = fd < 0 ? -1 : read(fd, b, sizeof(b));
		if (fd >= 0)
			close(fd);
		if (r != (ssize_t)dec.len || memcmp(b, dec.comp, dec.len))
			fail("\"%s\" holds other bytes than its component", e->d_name);
		seen++;
	}
	if (d)
		closedir(d);
	if (seen != made)
		fail("listed %u names, made %u", seen, made);
	printf("names: %u hostile names made and listed\n", made);
	return failures != 0;
}

static int open_store(swapobj_store **st, const char *image)
{
	const char *paths[1] = {image};
	if (swapobj_store_open(st, paths, 1, NULL) < 0) {
		fail("open %s: %s", image, swapobj_errmsg());
		return -1;
	}
	return 0;
}

/* Keys under "lib": one random binary component each (some long: digest names), content = component. */
static void lib_key(swapobj_key *k, uint64_t *s, unsigned i, uint8_t *c, size_t *len)
{
	*len = rand_comp(s, c);
	if (i % 7 == 0) { /* long binary: base64 or digest names */
		*len = 150 + i % 106;
		for (size_t j = 0; j < *len; j++)
			c[j] = (uint8_t)mix(*s + j);
	}
	memcpy(c, &i, *len < 4 ? *len : 4);
	swapobj_key_init(k);
	swapobj_key_push(k, "lib", 3);
	swapobj_key_push(k, c, *len);
}

static int cmd_lib_mkkeys(const char *image, uint64_t seed, unsigned n)
{
	swapobj_store *st;
	if (open_store(&st, image) < 0)
		return 1;
	uint64_t s = seed;
	for (unsigned i = 0; i < n; i++) {
		swapobj_key k;
		uint8_t c[255];
		size_t len;
		lib_key(&k, &s, i, c, &len);
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		oo.flags = SWAPOBJ_O_CREATE;
		swapobj_obj *o;
		if (swapobj_obj_open(&o, st, &k, &oo) < 0 || swapobj_obj_write(o, c, len, 0) != (int64_t)len) {
			fail("library create %u: %s", i, swapobj_errmsg());
			continue;
		}
		swapobj_obj_close(o);
	}
	/* a deep implicit prefix too: anon/1/2 made by a "VM monitor" */
	swapobj_key k;
	swapobj_key_anon(&k, 1, 2);
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	oo.flags = SWAPOBJ_O_CREATE;
	swapobj_obj *o;
	if (swapobj_obj_open(&o, st, &k, &oo) == 0) {
		uint8_t page[PG];
		pattern(page, PG, 42, 0);
		swapobj_obj_write(o, page, PG, 0);
		swapobj_obj_close(o);
	}
	if (swapobj_store_close(st) < 0)
		fail("close: %s", swapobj_errmsg());
	return failures != 0;
}

static int cmd_mnt_checkkeys(const char *dir, uint64_t seed, unsigned n)
{
	/* every key: its escaped name exists (found by listing) and holds its component */
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned seen = 0, digests = 0, b64 = 0;
	uint8_t *found = calloc(n, 1);
	uint64_t s = seed;
	struct {
		uint8_t c[255];
		size_t len;
	} *keys = calloc(n, sizeof(*keys));
	for (unsigned i = 0; i < n; i++) {
		swapobj_key k;
		lib_key(&k, &s, i, keys[i].c, &keys[i].len);
	}
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		uint8_t b[300];
		int fd = open(path(dir, e->d_name), O_RDONLY);
		ssize_t r = fd < 0 ? -1 : read(fd, b, sizeof(b));
		if (fd >= 0)
			close(fd);
		if (r <= 0) {
			fail("cannot read \"%s\" (%s)", e->d_name, strerror(errno));
			continue;
		}
		if (!strncmp(e->d_name, "%#", 2))
			digests++;
		if (!strncmp(e->d_name, "%=", 2))
			b64++;
		unsigned i;
		for (i = 0; i < n; i++)
			if (keys[i].len == (size_t)r && !memcmp(keys[i].c, b, (size_t)r))
				break;
		if (i == n) {
			fail("\"%s\" holds no key's component", e->d_name);
			continue;
		}
		if (found[i]++)
			fail("key %u listed twice", i);
		/* its name is the canonical encoding (digest names carry the cookie: check the hash) */
		struct fsname_decoded dec;
		if (fsname_decode(&dec, e->d_name) < 0)
			fail("\"%s\" does not decode", e->d_name);
		else if (dec.kind == FSNAME_PLAIN && (dec.len != keys[i].len || memcmp(dec.comp, keys[i].c, dec.len)))
			fail("\"%s\" decodes to another component", e->d_name);
		else if (dec.kind == FSNAME_DIGEST && dec.hash != fsname_digest_hash(keys[i].c, keys[i].len))
			fail("digest name \"%s\" has the wrong hash", e->d_name);
		seen++;
	}
	if (d)
		closedir(d);
	if (seen != n)
		fail("listed %u of %u library keys", seen, n);
	if (!digests || !b64)
		fail("expected some digest (%u) and base64 (%u) names", digests, b64);
	printf("mnt-checkkeys: %u library keys seen (%u base64, %u digest names)\n", seen, b64, digests);
	free(found);
	free(keys);
	return failures != 0;
}

static int cmd_lib_checknames(const char *image, uint64_t seed, unsigned n, const char *sub)
{
	swapobj_store *st;
	if (open_store(&st, image) < 0)
		return 1;
	uint64_t s = seed;
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t c[255];
		size_t len = rand_comp(&s, c);
		memcpy(c, &i, len < 4 ? len : 4);
		if (fsname_needs_digest(c, len))
			continue;
		swapobj_key k;
		swapobj_key_init(&k);
		swapobj_key_push(&k, sub, strlen(sub));
		swapobj_key_push(&k, c, len);
		swapobj_obj *o;
		uint8_t b[300];
		if (swapobj_obj_open(&o, st, &k, NULL) < 0) {
			fail("component %u is not a key: %s", i, swapobj_errmsg());
			continue;
		}
		if (swapobj_obj_read(o, b, sizeof(b), 0, 0) != (int64_t)len || memcmp(b, c, len))
			fail("component %u holds other bytes", i);
		else
			ok++;
		swapobj_obj_close(o);
	}
	swapobj_store_close(st);
	printf("lib-checknames: %u keys made through the mount are exactly their components\n", ok);
	return failures != 0;
}

/* ---- readdir under churn ---- */

static int cmd_readdir_stable(const char *dir)
{
	const unsigned nstable = 3000;
	for (unsigned i = 0; i < nstable; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "s%05u", i);
		int fd = open(path(dir, nm), O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			fail("create %s: %s", nm, strerror(errno));
			return 1;
		}
		close(fd);
	}
	pid_t pid = fork();
	if (pid == 0) {
		for (unsigned r = 0; r < 4000; r++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "c%05u", r % 700);
			if (r % 1400 < 700) {
				int fd = open(path(dir, nm), O_CREAT | O_WRONLY, 0644);
				if (fd >= 0)
					close(fd);
			} else {
				unlink(path(dir, nm));
			}
		}
		_exit(0);
	}
	unsigned rounds = 0;
	uint8_t *seen = malloc(nstable);
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0 || rounds < 3) {
		memset(seen, 0, nstable);
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] == 's')
				seen[atoi(e->d_name + 1)]++;
		if (d)
			closedir(d);
		for (unsigned i = 0; i < nstable; i++)
			if (seen[i] != 1) {
				fail("listing %u saw s%05u %u times", rounds, i, seen[i]);
				break;
			}
		rounds++;
		if (failures)
			break;
	}
	waitpid(pid, &status, 0);
	printf("readdir-stable: %u listings of %u stable entries under churn\n", rounds, nstable);
	free(seen);
	return failures != 0;
}

/* ---- concurrency ---- */

static int cmd_concurrent(const char *dir, unsigned nproc)
{
	const size_t region = 2u << 20;
	char *shared = path(dir, "shared");
	int fd = open(shared, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0) {
		fail("create shared");
		return 1;
	}
	close(fd);
	for (unsigned p = 0; p < nproc; p++) {
		if (fork() == 0) {
			uint8_t *b = malloc(region);
			char own[64];
			snprintf(own, sizeof(own), "own%u", p);
			int sfd = open(shared, O_RDWR), ofd = open(path(dir, own), O_CREAT | O_TRUNC | O_RDWR, 0644);
			for (int round = 0; round < 4; round++) {
				pattern(b, region, 100 + p + round, 0);
				/* interleaved 64 KiB stripes of one shared file, and a file of its own */
				for (size_t o = 0; o < region; o += 65536)
					if (pwrite(sfd, b + o, 65536, (off_t)((o / 65536) * nproc + p) * 65536) !=
					    65536)
						_exit(2);
				if (pwrite(ofd, b, region, 0) != (ssize_t)region)
					_exit(3);
				if (round == 2 && fsync(sfd) < 0)
					_exit(4);
			}
			_exit(0);
		}
	}
	int status, bad = 0;
	for (unsigned p = 0; p < nproc; p++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	if (bad)
		fail("%d writers failed", bad);
	uint8_t *b = malloc(region), *got = malloc(65536);
	int sfd = open(shared, O_RDONLY);
	for (unsigned p = 0; p < nproc; p++) {
		pattern(b, region, 100 + p + 3, 0);
		char own[64];
		snprintf(own, sizeof(own), "own%u", p);
		int ofd = open(path(dir, own), O_RDONLY);
		uint8_t *ob = malloc(region);
		if (ofd < 0 || pread(ofd, ob, region, 0) != (ssize_t)region || memcmp(ob, b, region))
			fail("own%u has wrong content", p);
		if (ofd >= 0)
			close(ofd);
		free(ob);
		for (size_t o = 0; o < region; o += 65536) {
			if (pread(sfd, got, 65536, (off_t)((o / 65536) * nproc + p) * 65536) != 65536 ||
			    memcmp(got, b + o, 65536)) {
				fail("shared stripe of writer %u at %zu is wrong", p, o);
				break;
			}
		}
	}
	close(sfd);
	free(b);
	free(got);
	printf("concurrent: %u processes, shared and own files verified\n", nproc);
	return failures != 0;
}

/* ---- durability ---- */

static int cmd_pattern(const char *file, uint64_t seed, unsigned mib, int write_it)
{
	size_t len = (size_t)mib << 20;
	uint8_t *b = malloc(len), *got = malloc(len);
	pattern(b, len, seed, 0);
	int fd = open(file, write_it ? O_CREAT | O_TRUNC | O_RDWR : O_RDONLY, 0644);
	if (fd < 0) {
		fail("open %s: %s", file, strerror(errno));
		return 1;
	}
	if (write_it) {
		if (pwrite(fd, b, len, 0) != (ssize_t)len || fsync(fd) < 0)
			fail("write+fsync %s: %s", file, strerror(errno));
	} else if (pread(fd, got, len, 0) != (ssize_t)len || memcmp(got, b, len)) {
		fail("%s does not hold its pattern", file);
	}
	close(fd);
	free(b);
	free(got);
	return failures != 0;
}

/* ---- files unlinked or replaced while open ---- */

/* The store's object count, from swapobj.store on the mount's root (-1 if unreadable). */
static long store_objects(const char *root)
{
	char v[4096];
	ssize_t n = getxattr(root, "swapobj.store", v, sizeof(v) - 1);
	if (n < 0)
		return -1;
	v[n] = 0;
	const char *o = strstr(v, " objects=");
	return o ? strtol(o + 9, NULL, 10) : -1;
}

/* Wait (up to 5 s: release reaches the daemon after close returns) for the object count. */
static void expect_objects(const char *root, long want, const char *what)
{
	long got = -1;
	for (int i = 0; i < 500 && (got = store_objects(root)) != want; i++)
		usleep(10000);
	if (got != want)
		fail("%s: the store holds %ld objects, want %ld", what, got, want);
}

static int file_is(const char *p, const uint8_t *want, size_t len)
{
	uint8_t got[PG];
	int fd = open(p, O_RDONLY);
	ssize_t r = fd < 0 ? -1 : read(fd, got, sizeof(got));
	if (fd >= 0)
		close(fd);
	return r == (ssize_t)len && !memcmp(got, want, len);
}

static int dir_has(const char *dir, const char *prefix)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

/*
 * unlinked DIR ROOT: a file unlinked while open keeps working through its
 * descriptor (read, write, fstat, ftruncate, fchmod, fsync), is invisible,
 * does not block a new file of its name, and is deleted at the last close;
 * the same for a file replaced by rename while open. ROOT is the mount's
 * root (object counts).
 */
static int cmd_unlinked(const char *dir, const char *root)
{
	enum { LEN = 3 * 65536 };
	static uint8_t a[LEN], b[LEN], got[LEN];
	struct stat st;
	pattern(a, LEN, 11, 0);
	pattern(b, LEN, 12, 0);
	long base = store_objects(root);
	if (base < 0)
		fail("no object count on %s", root);
	char f[8192], g[8192], h[8192];
	snprintf(f, sizeof(f), "%s/u_file", dir);
	snprintf(g, sizeof(g), "%s/u_target", dir);
	snprintf(h, sizeof(h), "%s/u_source", dir);
	int fd = open(f, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd < 0) {
		fail("create %s: %s", f, strerror(errno));
		return 1;
	}
	if (pwrite(fd, a, LEN, 0) != LEN)
		fail("write before unlink: %s", strerror(errno));
	EXPECT_OK(unlink(f));
	EXPECT_ERR(stat(f, &st), ENOENT);
	if (dir_has(dir, "u_file"))
		fail("an unlinked file is listed");
	/* everything through the descriptor */
	if (fstat(fd, &st) < 0 || st.st_nlink != 0 || st.st_size != LEN)
		fail("fstat after unlink: %s, nlink %lu size %ld", strerror(errno), (unsigned long)st.st_nlink,
		     (long)st.st_size);
	if (pwrite(fd, b, LEN, LEN) != LEN)
		fail("write after unlink: %s", strerror(errno));
	if (pread(fd, got, LEN, 0) != LEN || memcmp(got, a, LEN))
		fail("read after unlink: %s", strerror(errno));
	if (pread(fd, got, LEN, LEN) != LEN || memcmp(got, b, LEN))
		fail("read of what was written after unlink: %s", strerror(errno));
	EXPECT_OK(ftruncate(fd, 1000));
	if (fstat(fd, &st) < 0 || st.st_size != 1000)
		fail("ftruncate after unlink: size %ld", (long)st.st_size);
	if (pread(fd, got, LEN, 0) != 1000 || memcmp(got, a, 1000))
		fail("read after ftruncate");
	EXPECT_OK(fchmod(fd, 0600));
	if (fstat(fd, &st) < 0 || (st.st_mode & 07777) != 0600)
		fail("fchmod after unlink");
	EXPECT_OK(fsync(fd));
	/* a new file of the same name is another file */
	int fd2 = open(f, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd2 < 0 || pwrite(fd2, b, 100, 0) != 100)
		fail("new file of the unlinked name: %s", strerror(errno));
	if (pread(fd, got, 100, 0) != 100 || memcmp(got, a, 100))
		fail("the unlinked file changed with the new one");
	if (fd2 >= 0)
		close(fd2);
	if (store_objects(root) != base + 2)
		fail("%ld objects with the new file and the orphan, want %ld", store_objects(root), base + 2);
	/* the root never shows the orphans */
	if (dir_has(root, "%00"))
		fail("the root lists the orphans");
	EXPECT_ERR(stat(path(root, "%00swapobjfs.orphans"), &st), ENOENT);
	EXPECT_ERR(mkdir(path(root, "%00swapobjfs.orphans"), 0755), EINVAL);
	if (close(fd) < 0)
		fail("close of the unlinked file: %s", strerror(errno));
	expect_objects(root, base + 1, "unlinked file closed");

	/* rename over an open file: its descriptor keeps the old content */
	fd = open(g, O_CREAT | O_EXCL | O_RDWR, 0644);
	fd2 = open(h, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (fd < 0 || fd2 < 0 || pwrite(fd, a, 4000, 0) != 4000 || pwrite(fd2, b, 3000, 0) != 3000)
		fail("rename setup: %s", strerror(errno));
	close(fd2);
	EXPECT_OK(rename(h, g));
	if (pread(fd, got, LEN, 0) != 4000 || memcmp(got, a, 4000))
		fail("the replaced file's descriptor lost its content");
	if (pwrite(fd, b, 10, 0) != 10)
		fail("write to the replaced file: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_nlink != 0)
		fail("the replaced file: nlink %lu", (unsigned long)st.st_nlink);
	if (!file_is(g, b, 3000))
		fail("the target name does not hold the source");
	expect_objects(root, base + 3, "replaced file open");
	if (close(fd) < 0)
		fail("close of the replaced file: %s", strerror(errno));
	expect_objects(root, base + 2, "replaced file closed");
	/* unlinked while not open: gone at once */
	EXPECT_OK(unlink(f));
	EXPECT_OK(unlink(g));
	expect_objects(root, base, "all removed");
	return failures != 0;
}

/*
 * holdopen FILE: create FILE, write, unlink it, fsync (the orphan is
 * durable), print "ready", then wait to be killed with the file open.
 */
static int cmd_holdopen(const char *file)
{
	uint8_t b[PG];
	pattern(b, PG, 5, 0);
	int fd = open(file, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || write(fd, b, PG) != PG || unlink(file) < 0 || fsync(fd) < 0) {
		fail("holdopen %s: %s", file, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* lib-orphans IMAGE: print how many orphans the store holds (store not mounted). */
static int cmd_lib_orphans(const char *image)
{
	swapobj_store *st;
	swapobj_key k;
	struct swapobj_cursor c = SWAPOBJ_CURSOR_INIT;
	struct swapobj_dirent d;
	unsigned n = 0;
	if (open_store(&st, image) < 0)
		return 1;
	swapobj_key_init(&k);
	swapobj_key_push(&k, "\0swapobjfs.orphans", 18);
	int rc;
	while ((rc = swapobj_list_next(&d, st, &k, &c)) > 0)
		n++;
	if (rc < 0 && rc != SWAPOBJ_ENOENT)
		fail("listing the orphans: %s", swapobj_errmsg());
	swapobj_store_close(st);
	printf("%u\n", n);
	return failures != 0;
}

/* ---- names past the limits ---- */

/*
 * Every operation on bad (a path whose last component, or whose key, is
 * too long) fails with ENAMETOOLONG. ok is an existing file in the same
 * directory, for the two-name operations.
 */
static void expect_too_long(const char *bad, const char *ok, const char *what)
{
	struct stat st;
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	char buf[64];
	int before = failures;
	EXPECT_ERR(stat(bad, &st), ENAMETOOLONG);
	EXPECT_ERR(lstat(bad, &st), ENAMETOOLONG);
	EXPECT_ERR(access(bad, F_OK), ENAMETOOLONG);
	EXPECT_ERR(open(bad, O_RDONLY), ENAMETOOLONG);
	EXPECT_ERR(open(bad, O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	EXPECT_ERR(mkdir(bad, 0755), ENAMETOOLONG);
	EXPECT_ERR(mknod(bad, S_IFIFO | 0644, 0), ENAMETOOLONG);
	EXPECT_ERR(symlink("target", bad), ENAMETOOLONG);
	EXPECT_ERR(link(ok, bad), ENAMETOOLONG);
	EXPECT_ERR(chmod(bad, 0600), ENAMETOOLONG);
	EXPECT_ERR(chown(bad, 1, 1), ENAMETOOLONG);
	EXPECT_ERR(lchown(bad, 1, 1), ENAMETOOLONG);
	EXPECT_ERR(truncate(bad, 0), ENAMETOOLONG);
	EXPECT_ERR(utimensat(AT_FDCWD, bad, ts, 0), ENAMETOOLONG);
	EXPECT_ERR(rename(bad, ok), ENAMETOOLONG);
	EXPECT_ERR(rename(ok, bad), ENAMETOOLONG);
	EXPECT_ERR(rmdir(bad), ENAMETOOLONG);
	EXPECT_ERR(unlink(bad), ENAMETOOLONG);
	EXPECT_ERR(readlink(bad, buf, sizeof(buf)), ENAMETOOLONG);
	EXPECT_ERR(setxattr(bad, "user.x", "1", 1, 0), ENAMETOOLONG);
	EXPECT_ERR(getxattr(bad, "user.x", buf, sizeof(buf)), ENAMETOOLONG);
	EXPECT_ERR(listxattr(bad, buf, sizeof(buf)), ENAMETOOLONG);
	if (failures != before)
		fail("(%s)", what);
}

/*
 * namelen DIR: a 256-byte component, a 17th component and a key of more
 * than 1024 bytes give ENAMETOOLONG from every operation; the longest
 * allowed of each works. FUSEFS_DIR_DEPTH: components of DIR below the
 * mount's root.
 */
static int cmd_namelen(const char *dir)
{
	char name[300], p[8192], q[8192 + 512], ok[8192 + 512]; /* room for p plus one component */
	const char *lvl = getenv("FUSEFS_DIR_DEPTH");
	int base = lvl ? atoi(lvl) : 0;
	/* a component of 256 bytes; 255 is fine */
	snprintf(ok, sizeof(ok), "%s/n_ok", dir);
	int fd = open(ok, O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		fail("create %s: %s", ok, strerror(errno));
		return 1;
	}
	close(fd);
	memset(name, 'n', 256);
	name[256] = 0;
	expect_too_long(path(dir, name), ok, "a 256-byte name");
	name[255] = 0;
	EXPECT_OK(mkdir(path(dir, name), 0755));
	EXPECT_OK(rmdir(path(dir, name)));

	/* a 17th component */
	snprintf(p, sizeof(p), "%s/n_deep", dir);
	for (int i = base + 1; i <= 16; i++) {
		if (mkdir(p, 0755) < 0) {
			fail("mkdir at depth %d: %s", i, strerror(errno));
			return 1;
		}
		if (i < 16)
			strcat(p, "/d");
	}
	snprintf(q, sizeof(q), "%s/f", p);
	snprintf(ok, sizeof(ok), "%s/../n_ok16", p);
	if ((fd = open(ok, O_CREAT | O_RDWR, 0644)) < 0)
		fail("a file at depth 16: %s", strerror(errno));
	else
		close(fd);
	expect_too_long(q, ok, "a 17th component");

	/* more than 1024 key bytes: 255-byte components as deep as they go, then
	 * the longest name that still fits and one byte more */
	memset(name, 'L', 255);
	name[255] = 0;
	snprintf(p, sizeof(p), "%s/n_bytes", dir);
	EXPECT_OK(mkdir(p, 0755));
	for (;;) {
		snprintf(q, sizeof(q), "%s/%s", p, name);
		if (mkdir(q, 0755) < 0) {
			if (errno != ENAMETOOLONG)
				fail("mkdir of long components: %s", strerror(errno));
			break;
		}
		strcpy(p, q);
	}
	size_t fit = 0;
	for (size_t l = 1; l <= 255; l++) {
		memset(name, 'b', l);
		name[l] = 0;
		snprintf(q, sizeof(q), "%s/%s", p, name);
		if (mkdir(q, 0755) < 0)
			break;
		EXPECT_OK(rmdir(q));
		fit = l;
	}
	if (fit == 0 || fit == 255) {
		fail("no key-length limit found below %s (fit %zu)", p, fit);
		return 1;
	}
	snprintf(ok, sizeof(ok), "%s/%.*s", p, (int)fit, name);
	if ((fd = open(ok, O_CREAT | O_RDWR, 0644)) < 0)
		fail("the longest key that fits: %s", strerror(errno));
	else
		close(fd);
	memset(name, 'b', fit + 1);
	name[fit + 1] = 0;
	snprintf(q, sizeof(q), "%s/%s", p, name);
	expect_too_long(q, ok, "a key of 1025 bytes");
	return failures != 0;
}

/* ---- FIFOs, sockets, devices ---- */

/* special DIR: make a FIFO, a socket (bind), a character and a block device; check their types. */
static int cmd_special(const char *dir)
{
	struct stat st;
	EXPECT_OK(mkfifo(path(dir, "fifo"), 0640));
	EXPECT_OK(mknod(path(dir, "chr"), S_IFCHR | 0600, makedev(1, 3)));
	EXPECT_OK(mknod(path(dir, "blk"), S_IFBLK | 0600, makedev(259, 70000)));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path(dir, "sock"));
	if (strlen(path(dir, "sock")) >= sizeof(sa.sun_path))
		fail("socket path too long for the test");
	EXPECT_OK(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_OK(listen(s, 1));
	/* the bound socket answers through its node on the mount */
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_OK(connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	close(c);
	close(s);
	static const struct {
		const char *name;
		mode_t type;
		dev_t rdev;
	} want[] = {{"fifo", S_IFIFO, 0}, {"chr", S_IFCHR, 0}, {"blk", S_IFBLK, 0}, {"sock", S_IFSOCK, 0}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (lstat(path(dir, want[i].name), &st) < 0 || (st.st_mode & S_IFMT) != want[i].type)
			fail("%s: %s, mode %o", want[i].name, strerror(errno), st.st_mode);
	}
	if (stat(path(dir, "chr"), &st) < 0 || st.st_rdev != makedev(1, 3))
		fail("chr: rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (stat(path(dir, "blk"), &st) < 0 || st.st_rdev != makedev(259, 70000))
		fail("blk: rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
	/* no data: the FIFO is a kernel pipe, the device is not opened (nodev) */
	EXPECT_ERR(truncate(path(dir, "fifo"), 10), EINVAL);
	EXPECT_ERR(link(path(dir, "fifo"), path(dir, "fifo2")), EPERM);
	return failures != 0;
}

/* memhog MIB: fill MIB of anonymous memory with a pattern, then read it back twice (swap-in under a memory limit). */
static int cmd_memhog(unsigned mib)
{
	size_t len = (size_t)mib << 20;
	uint8_t *m = malloc(len);
	if (!m) {
		fail("malloc %u MiB", mib);
		return 1;
	}
	for (size_t off = 0; off < len; off += PG)
		pattern(m + off, PG, 77, off);
	for (int pass = 0; pass < 2; pass++)
		for (size_t off = 0; off < len; off += PG) {
			uint8_t want[PG];
			pattern(want, PG, 77, off);
			if (memcmp(m + off, want, PG)) {
				fail("page at %zu lost its content (pass %d)", off, pass);
				return 1;
			}
		}
	printf("memhog: %u MiB written and read back twice\n", mib);
	free(m);
	return 0;
}

/* getx FILE NAME: print the value; setx FILE NAME VALUE. Errors print strerror and exit 1. */
static int cmd_getx(const char *file, const char *name)
{
	char v[65536];
	ssize_t n = getxattr(file, name, v, sizeof(v));
	if (n < 0) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	fwrite(v, 1, (size_t)n, stdout);
	putchar('\n');
	return 0;
}

static int cmd_setx(const char *file, const char *name, const char *value)
{
	if (setxattr(file, name, value, strlen(value), 0) < 0) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fusefs_ops CMD ARGS (see the source)\n");
		return 2;
	}
	const char *cmd = argv[1];
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	unsigned n = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 0;
	if (!strcmp(cmd, "memhog"))
		return cmd_memhog((unsigned)strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "getx") && argc == 4)
		return cmd_getx(argv[2], argv[3]);
	if (!strcmp(cmd, "setx") && argc == 5)
		return cmd_setx(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "errnos"))
		return cmd_errnos(argv[2]);
	if (!strcmp(cmd, "falloc"))
		return cmd_falloc(argv[2]);
	if (!strcmp(cmd, "seek"))
		return cmd_seek(argv[2]);
	if (!strcmp(cmd, "xattr"))
		return cmd_xattr(argv[2]);
	if (!strcmp(cmd, "names") && argc == 5)
		return cmd_names(argv[2], seed, n);
	if (!strcmp(cmd, "lib-mkkeys") && argc == 5)
		return cmd_lib_mkkeys(argv[2], seed, n);
	if (!strcmp(cmd, "mnt-checkkeys") && argc == 5)
		return cmd_mnt_checkkeys(argv[2], seed, n);
	if (!strcmp(cmd, "lib-checknames") && argc == 6)
		return cmd_lib_checknames(argv[2], seed, n, argv[5]);
	if (!strcmp(cmd, "unlinked") && argc == 4)
		return cmd_unlinked(argv[2], argv[3]);
	if (!strcmp(cmd, "holdopen"))
		return cmd_holdopen(argv[2]);
	if (!strcmp(cmd, "lib-orphans"))
		return cmd_lib_orphans(argv[2]);
	if (!strcmp(cmd, "namelen"))
		return cmd_namelen(argv[2]);
	if (!strcmp(cmd, "special"))
		return cmd_special(argv[2]);
	if (!strcmp(cmd, "readdir-stable"))
		return cmd_readdir_stable(argv[2]);
	if (!strcmp(cmd, "concurrent") && argc == 4)
		return cmd_concurrent(argv[2], (unsigned)seed);
	if (!strcmp(cmd, "writesync") && argc == 5)
		return cmd_pattern(argv[2], seed, n, 1);
	if (!strcmp(cmd, "verify") && argc == 5)
		return cmd_pattern(argv[2], seed, n, 0);
	fprintf(stderr, "fusefs_ops: unknown command or arguments: %s\n", cmd);
	return 2;
}
