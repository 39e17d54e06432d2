/*
 * fusefs_model.c - randomized file operations on a mounted swapobjfs,
 * checked against an in-memory model of every file.
 *
 *   fusefs_model DIR [NOPS]
 *
 * Operations: pread, pwrite, truncate (up and down), fallocate punch-hole
 * and zero-range (with and without KEEP_SIZE), reads and writes through a
 * shared mmap, O_DIRECT reads and writes, fsync, close and reopen (through
 * a fresh descriptor, so the kernel's caches are crossed), SEEK_DATA and
 * SEEK_HOLE (checked as properties: what they skip must read as zeros),
 * unlink of the open file or rename of a copy over it (every operation then
 * goes on through the descriptor of the unlinked file, until a reopen
 * writes the model to a new file of that name and closes the old one).
 * After every operation that returns data the bytes are compared with the
 * model; every 64 operations each file is read back whole.
 *
 * SWAPOBJ_SEED=N picks the seed (default fixed), SWAPOBJ_LONG=1 runs 20x
 * more operations. A failure prints the seed and the operation number.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 4
#define MAXSIZE (6u << 20)
#define PG 4096u

static uint64_t seed, opno;

static uint64_t rng_s[4];
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}
static uint64_t rnd(void)
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fusefs_model: FAIL at op %" PRIu64 " (SWAPOBJ_SEED=%" PRIu64 "): ", opno, seed);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

struct file {
	char path[4096];
	int fd;
	uint8_t *data; /* model, MAXSIZE bytes */
	uint64_t size;
	int unlinked; /* fd is a file without a name (or another file has the name) */
};

static struct file files[NFILES];
static uint8_t *buf, *dbuf; /* dbuf: aligned for O_DIRECT */

/* Write the model of f into a new file at p (which must not exist); returns its descriptor. */
static int write_copy(struct file *f, const char *p)
{
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || (f->size && pwrite(fd, f->data, f->size, 0) != (ssize_t)f->size))
		die("copy of %s to %s: %s", f->path, p, strerror(errno));
	return fd;
}

static void reopen(struct file *f)
{
	int nfd = -1;
	if (f->unlinked) { /* give the name a file with the model's content */
		if (unlink(f->path) < 0 && errno != ENOENT)
			die("unlink %s: %s", f->path, strerror(errno));
		nfd = write_copy(f, f->path);
		f->unlinked = 0;
	}
	if (f->fd >= 0 && close(f->fd) < 0)
		die("close %s: %s", f->path, strerror(errno));
	f->fd = nfd >= 0 ? nfd : open(f->path, O_RDWR);
	if (f->fd < 0)
		die("open %s: %s", f->path, strerror(errno));
}

/* Take the name from the open file: unlink it, or rename a copy over it. */
static void op_unlink_open(struct file *f)
{
	if (f->unlinked)
		return;
	if (below(2)) {
		if (unlink(f->path) < 0)
			die("unlink open %s: %s", f->path, strerror(errno));
	} else {
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s.new", f->path);
		close(write_copy(f, tmp));
		if (rename(tmp, f->path) < 0)
			die("rename over open %s: %s", f->path, strerror(errno));
	}
	struct stat st;
	if (fstat(f->fd, &st) < 0 || st.st_nlink != 0)
		die("fstat of unlinked %s: %s, nlink %ju", f->path, strerror(errno), (uintmax_t)st.st_nlink);
	f->unlinked = 1;
}

static void fill(uint8_t *p, size_t len)
{
	/* mix of random bytes, zero pages and repeated words, to reach every page kind of the store */
	unsigned kind = (unsigned)below(4);
	if (kind == 0) {
		memset(p, 0, len);
	} else if (kind == 1) {
		uint64_t w = rnd();
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)(w >> (8 * (i % 8)));
	} else {
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
	}
}

static void check_range(struct file *f, const uint8_t *got, uint64_t off, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t want = off + i < f->size ? f->data[off + i] : 0;
		if (got[i] != want)
			die("%s %s: byte %" PRIu64 " is 0x%02x, model says 0x%02x", what, f->path, off + i, got[i],
			    want);
	}
}

static void model_write(struct file *f, const uint8_t *p, uint64_t off, size_t len)
{
	if (off > f->size)
		memset(f->data + f->size, 0, off - f->size);
	memcpy(f->data + off, p, len);
	if (off + len > f->size)
		f->size = off + len;
}

static void model_truncate(struct file *f, uint64_t size)
{
	if (size > f->size)
		memset(f->data + f->size, 0, size - f->size);
	f->size = size;
}

static void op_pread(struct file *f)
{
	uint64_t off = below(f->size + PG * 2), len = 1 + below(below(2) ? PG * 4 : 1 << 20);
	ssize_t r = pread(f->fd, buf, len, (off_t)off);
	uint64_t want = off >= f->size ? 0 : (f->size - off < len ? f->size - off : len);
	if (r < 0 || (uint64_t)r != want)
		die("pread %s [%" PRIu64 ", +%" PRIu64 "): %zd (%s), want %" PRIu64, f->path, off, len, r,
		    r < 0 ? strerror(errno) : "short", want);
	check_range(f, buf, off, (size_t)r, "pread");
}

static void op_pwrite(struct file *f)
{
	uint64_t off = below(MAXSIZE - 1), len = 1 + below(below(2) ? PG * 3 : 1 << 20);
	if (off + len > MAXSIZE)
		len = MAXSIZE - off;
	if (below(3) == 0) { /* page aligned, the kernel-swap pattern */
		off &= ~(uint64_t)(PG - 1);
		len = (len + PG - 1) & ~(uint64_t)(PG - 1);
		if (off + len > MAXSIZE)
			len = MAXSIZE - off;
	}
	fill(buf, len);
	ssize_t w = pwrite(f->fd, buf, len, (off_t)off);
	if (w < 0 || (uint64_t)w != len)
		die("pwrite %s [%" PRIu64 ", +%" PRIu64 "): %zd (%s)", f->path, off, len, w,
		    w < 0 ? strerror(errno) : "short");
	model_write(f, buf, off, len);
}

static void op_truncate(struct file *f)
{
	uint64_t size = below(3) ? below(MAXSIZE) : below(f->size + 1);
	if (ftruncate(f->fd, (off_t)size) < 0)
		die("ftruncate %s %" PRIu64 ": %s", f->path, size, strerror(errno));
	model_truncate(f, size);
}

static void op_fallocate(struct file *f)
{
	uint64_t off = below(f->size + PG * 4), len = 1 + below(1 << 20);
	if (off + len > MAXSIZE)
		return;
	int mode = below(2) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
	                    : FALLOC_FL_ZERO_RANGE | (below(2) ? FALLOC_FL_KEEP_SIZE : 0);
	if (fallocate(f->fd, mode, (off_t)off, (off_t)len) < 0)
		die("fallocate %s mode 0x%x [%" PRIu64 ", +%" PRIu64 "): %s", f->path, mode, off, len, strerror(errno));
	uint64_t end = off + len;
	if (off < f->size)
		memset(f->data + off, 0, (end < f->size ? end : f->size) - off);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > f->size)
		model_truncate(f, end);
}

static void op_mmap(struct file *f)
{
	if (f->size < PG)
		return;
	uint64_t npg = f->size / PG, first = below(npg), n = 1 + below(npg - first < 64 ? npg - first : 64);
	uint8_t *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)(first * PG));
	if (m == MAP_FAILED)
		die("mmap %s: %s", f->path, strerror(errno));
	check_range(f, m, first * PG, n * PG, "mmap read");
	if (below(2)) {
		uint64_t off = below(n * PG), len = 1 + below(n * PG - off);
		fill(buf, len);
		memcpy(m + off, buf, len);
		model_write(f, buf, first * PG + off, len);
		if (msync(m, n * PG, MS_SYNC) < 0)
			die("msync %s: %s", f->path, strerror(errno));
	}
	munmap(m, n * PG);
}

static void op_direct(struct file *f)
{
	char p[64];
	/* an unlinked file is opened again through /proc: a second handle of an orphan */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", f->fd);
	int fd = open(f->unlinked ? p : f->path, O_RDWR | O_DIRECT);
	if (fd < 0)
		die("open O_DIRECT %s: %s", f->path, strerror(errno));
	uint64_t off = below(MAXSIZE / PG) * PG, len = (1 + below(64)) * PG;
	if (off + len > MAXSIZE)
		len = MAXSIZE - off;
	if (below(2)) {
		fill(dbuf, len);
		ssize_t w = pwrite(fd, dbuf, len, (off_t)off);
		if (w < 0 || (uint64_t)w != len)
			die("O_DIRECT pwrite %s: %zd (%s)", f->path, w, w < 0 ? strerror(errno) : "short");
		model_write(f, dbuf, off, len);
	} else {
		ssize_t r = pread(fd, dbuf, len, (off_t)off);
		uint64_t want = off >= f->size ? 0 : (f->size - off < len ? f->size - off : len);
		if (r < 0 || (uint64_t)r != want)
			die("O_DIRECT pread %s: %zd (%s), want %" PRIu64, f->path, r, r < 0 ? strerror(errno) : "short",
			    want);
		check_range(f, dbuf, off, (size_t)r, "O_DIRECT pread");
	}
	close(fd);
}

static int range_zero(struct file *f, uint64_t a, uint64_t b)
{
	for (uint64_t i = a; i < b && i < f->size; i++)
		if (f->data[i])
			return 0;
	return 1;
}

static void op_seek(struct file *f)
{
	uint64_t off = below(f->size + PG);
	off_t d = lseek(f->fd, (off_t)off, SEEK_DATA), h = lseek(f->fd, (off_t)off, SEEK_HOLE);
	if (off >= f->size) {
		if (d != -1 || errno != ENXIO || h != -1)
			die("SEEK_DATA/HOLE at %" PRIu64 " past EOF %" PRIu64 ": %jd %jd", off, f->size, (intmax_t)d,
			    (intmax_t)h);
		return;
	}
	if (d == -1) {
		if (errno != ENXIO || !range_zero(f, off, f->size))
			die("SEEK_DATA %s at %" PRIu64 ": -1 (%s) but data follows", f->path, off, strerror(errno));
	} else if ((uint64_t)d < off || (uint64_t)d > f->size || !range_zero(f, off, (uint64_t)d)) {
		die("SEEK_DATA %s at %" PRIu64 " = %jd skips data", f->path, off, (intmax_t)d);
	}
	if (h == -1 || (uint64_t)h < off || (uint64_t)h > f->size)
		die("SEEK_HOLE %s at %" PRIu64 " = %jd (size %" PRIu64 ")", f->path, off, (intmax_t)h, f->size);
	/* a reported hole must read as zeros up to the next page boundary or EOF */
	uint64_t hend = ((uint64_t)h + PG) & ~(uint64_t)(PG - 1);
	if ((uint64_t)h < f->size && !range_zero(f, (uint64_t)h, hend))
		die("SEEK_HOLE %s at %" PRIu64 " = %jd but data is there", f->path, off, (intmax_t)h);
}

static void check_whole(struct file *f)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0 || (uint64_t)st.st_size != f->size)
		die("stat %s: size %jd, model %" PRIu64, f->path, (intmax_t)st.st_size, f->size);
	for (uint64_t off = 0; off < f->size; off += 1 << 20) {
		size_t len = f->size - off < (1u << 20) ? (size_t)(f->size - off) : 1u << 20;
		ssize_t r = pread(f->fd, buf, len, (off_t)off);
		if (r != (ssize_t)len)
			die("read back %s at %" PRIu64 ": %zd", f->path, off, r);
		check_range(f, buf, off, len, "read back");
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fusefs_model DIR [NOPS]\n");
		return 2;
	}
	const char *e = getenv("SWAPOBJ_SEED");
	seed = e ? strtoull(e, NULL, 0) : 0x5eed0f5;
	uint64_t nops = argc > 2 ? strtoull(argv[2], NULL, 0) : 3000;
	e = getenv("SWAPOBJ_LONG");
	if (e && atoi(e))
		nops *= 20;
	rng_s[0] = seed ^ 0x9e3779b97f4a7c15ull;
	rng_s[1] = seed * 0xbf58476d1ce4e5b9ull + 1;
	rng_s[2] = 0x94d049bb133111ebull;
	rng_s[3] = seed + 7;
	for (int i = 0; i < 16; i++)
		rnd();
	void *p;
	if (posix_memalign(&p, PG, 1 << 20) || !(buf = p) || posix_memalign(&p, PG, 64 * PG) || !(dbuf = p))
		die("out of memory");
	for (int i = 0; i < NFILES; i++) {
		struct file *f = &files[i];
		snprintf(f->path, sizeof(f->path), "%s/model%d", argv[1], i);
		f->data = calloc(1, MAXSIZE);
		if (!f->data)
			die("out of memory");
		f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (f->fd < 0)
			die("create %s: %s", f->path, strerror(errno));
	}
	unsigned counts[11] = {0};
	for (opno = 0; opno < nops; opno++) {
		struct file *f = &files[below(NFILES)];
		unsigned op = (unsigned)below(100);
		unsigned k = op < 22   ? 0
		             : op < 44 ? 1
		             : op < 52 ? 2
		             : op < 62 ? 3
		             : op < 70 ? 4
		             : op < 78 ? 5
		             : op < 86 ? 6
		             : op < 90 ? 7
		             : op < 96 ? 8
		             : op < 98 ? 9
		                       : 10;
		counts[k]++;
		switch (k) {
		case 0:
			op_pread(f);
			break;
		case 1:
			op_pwrite(f);
			break;
		case 2:
			op_truncate(f);
			break;
		case 3:
			op_fallocate(f);
			break;
		case 4:
			op_mmap(f);
			break;
		case 5:
			op_direct(f);
			break;
		case 6:
			op_seek(f);
			break;
		case 7:
			if (fsync(f->fd) < 0)
				die("fsync %s: %s", f->path, strerror(errno));
			break;
		case 10:
			op_unlink_open(f);
			break;
		default:
			reopen(f);
			break;
		}
		if (opno % 64 == 63)
			for (int i = 0; i < NFILES; i++)
				check_whole(&files[i]);
	}
	for (int i = 0; i < NFILES; i++) {
		reopen(&files[i]);
		check_whole(&files[i]);
		close(files[i].fd);
	}
	printf("fusefs_model: %" PRIu64 " operations passed (seed %" PRIu64 "): read %u write %u truncate %u "
	       "fallocate %u mmap %u direct %u seek %u fsync %u reopen %u unlink-open %u\n",
	       nops, seed, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7],
	       counts[8] + counts[9], counts[10]);
	return 0;
}
