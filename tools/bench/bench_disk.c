/*
 * bench_disk.c - the disk's own limits: the same file system and device read and
 * written with O_DIRECT, the bound every store is held against: sequential
 * 1 MiB writes and reads and 4 KiB random reads at queue depth 1, and 4 KiB
 * random reads kept 32 in flight with io_uring (the bound for batched reads).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_run.h"

#define DISK_IO (1u << 20)

int disk_open(struct disk_file *d, const struct run_ctx *x, uint64_t bytes)
{
	size_t l = strlen(x->dir) + 16;
	d->path = malloc(l);
	d->bytes = (bytes + DISK_IO - 1) / DISK_IO * DISK_IO;
	if (!d->path)
		return bench_err("out of memory");
	snprintf(d->path, l, "%s/disk.bin", x->dir);
	d->fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (d->fd < 0)
		return bench_err("open %s with O_DIRECT: %s", d->path, strerror(errno));
	int e = posix_fallocate(d->fd, 0, (off_t)d->bytes);
	if (e)
		return bench_err("fallocate %s: %s", d->path, strerror(e));
	return 0;
}

void disk_close(struct disk_file *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
}

/* File page k holds the page of the swap workload's index k. */
static void disk_stage(uint8_t *buf, uint64_t first_page, unsigned npages)
{
	for (unsigned i = 0; i < npages; i++) {
		uint64_t k = first_page + i;
		memcpy(buf + (size_t)i * BPG, page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), BPG);
	}
}

/* Sequential O_DIRECT 1 MiB writes at queue depth 1, then fdatasync: seconds spent in the calls. */
int disk_seq_write(struct disk_file *d, uint64_t npages, double *secs)
{
	uint8_t *buf = bench_alloc_aligned(DISK_IO);
	uint64_t spent = 0;
	if (!buf)
		return bench_err("out of memory");
	for (uint64_t pg = 0; pg < npages; pg += DISK_IO / BPG) {
		unsigned n = (unsigned)(npages - pg < DISK_IO / BPG ? npages - pg : DISK_IO / BPG);
		disk_stage(buf, pg, n);
		uint64_t a = bench_now_ns();
		ssize_t w = pwrite(d->fd, buf, DISK_IO, (off_t)(pg * BPG));
		spent += bench_now_ns() - a;
		if (w != (ssize_t)DISK_IO) {
			free(buf);
			return bench_err("pwrite %s: %s", d->path, w < 0 ? strerror(errno) : "short");
		}
	}
	uint64_t a = bench_now_ns();
	int rc = fdatasync(d->fd);
	spent += bench_now_ns() - a;
	free(buf);
	if (rc < 0)
		return bench_err("fdatasync %s: %s", d->path, strerror(errno));
	*secs = (double)spent / 1e9;
	return 0;
}

int disk_seq_read(struct run_result *r, struct disk_file *d, uint64_t npages, double *secs)
{
	uint8_t *buf = bench_alloc_aligned(DISK_IO);
	uint64_t spent = 0;
	if (!buf)
		return bench_err("out of memory");
	for (uint64_t pg = 0; pg < npages; pg += DISK_IO / BPG) {
		uint64_t a = bench_now_ns();
		ssize_t n = pread(d->fd, buf, DISK_IO, (off_t)(pg * BPG));
		spent += bench_now_ns() - a;
		if (n != (ssize_t)DISK_IO) {
			free(buf);
			return bench_err("pread %s: %s", d->path, n < 0 ? strerror(errno) : "short");
		}
		for (uint64_t i = 0; i < DISK_IO / BPG && pg + i < npages; i++) {
			uint64_t k = pg + i;
			if (verify_page(r, "disk", buf + i * BPG, (uint32_t)(k % cfg.nobj), k / cfg.nobj,
			                page_at((uint32_t)(k % cfg.nobj), k / cfg.nobj, 0), NULL) < 0) {
				free(buf);
				return -1;
			}
		}
	}
	free(buf);
	*secs = (double)spent / 1e9;
	return 0;
}

/* The disk file's page k, as disk_stage wrote it. */
static int disk_verify(struct run_result *r, const uint8_t *got, uint64_t k)
{
	uint32_t obj = (uint32_t)(k % cfg.nobj);
	return verify_page(r, "disk", got, obj, k / cfg.nobj, page_at(obj, k / cfg.nobj, 0), NULL);
}

/*
 * 4 KiB O_DIRECT reads of the file pages ord[0..n) kept qd in flight with
 * io_uring: as each completes it is verified and its buffer carries the next
 * read. Seconds from the first submission to the last completion (the
 * verification overlaps the reads still in flight). Returns 0; -1 on an I/O
 * error or wrong data; DISK_NO_URING when io_uring cannot be set up here.
 */
int disk_rand_read_qd(struct run_result *r, struct disk_file *d, const uint32_t *ord, uint64_t n, unsigned qd,
                      double *secs)
{
	struct io_uring ring;
	uint8_t *bufs = bench_alloc_aligned((size_t)qd * BPG);
	uint64_t *slot_page = malloc(qd * sizeof(*slot_page));
	uint64_t next = 0, done = 0;
	int rc = -1;
	if (!bufs || !slot_page) {
		free(bufs);
		free(slot_page);
		return bench_err("out of memory");
	}
	int e = io_uring_queue_init(qd, &ring, 0);
	if (e < 0) {
		free(bufs);
		free(slot_page);
		bench_err("io_uring_queue_init: %s", strerror(-e));
		return DISK_NO_URING;
	}
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < qd && next < n; i++, next++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		slot_page[i] = ord[next];
		io_uring_prep_read(sqe, d->fd, bufs + (size_t)i * BPG, BPG, (uint64_t)ord[next] * BPG);
		io_uring_sqe_set_data64(sqe, i);
	}
	while (done < n) {
		struct io_uring_cqe *cqe;
		if ((e = io_uring_submit_and_wait(&ring, 1)) < 0) {
			bench_err("io_uring_submit_and_wait: %s", strerror(-e));
			goto done;
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
			seen++;
			if (cqe->res != BPG) {
				bench_err("read %s page %llu: %s", d->path, (unsigned long long)slot_page[i],
				          cqe->res < 0 ? strerror(-cqe->res) : "short");
				goto done;
			}
			if (disk_verify(r, bufs + (size_t)i * BPG, slot_page[i]) < 0)
				goto done;
			done++;
			if (next < n) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
				slot_page[i] = ord[next];
				io_uring_prep_read(sqe, d->fd, bufs + (size_t)i * BPG, BPG, (uint64_t)ord[next] * BPG);
				io_uring_sqe_set_data64(sqe, i);
				next++;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	rc = 0;
done:
	io_uring_queue_exit(&ring);
	free(bufs);
	free(slot_page);
	return rc;
}

int run_disk_swap(struct run_ctx *x, struct run_result *r, uint64_t n)
{
	struct disk_file d = {-1, NULL, 0};
	uint32_t *ord = NULL, *lat = NULL;
	uint8_t *buf = bench_alloc_aligned(BPG);
	double secs;
	int rc = -1;
	if (!buf || disk_open(&d, x, n * BPG) < 0)
		goto done;
	int64_t blk0 = bench_blk_sectors_written(x->dir);
	if (disk_seq_write(&d, n, &secs) < 0)
		goto done;
	int64_t blk1 = bench_blk_sectors_written(x->dir);
	rr_set(r, "out_mbps", (double)n * BPG / 1e6 / secs);
	rr_set(r, "out_pps", (double)n / secs);
	if (blk0 >= 0 && blk1 >= blk0)
		rr_set(r, "out_wa_blk", (double)(blk1 - blk0) * 512 / ((double)n * BPG));
	rr_set(r, "disk_bpp", (double)bench_du(d.path) / (double)n);
	if (x->swapin) {
		ord = bench_perm(n, 0xc01d + (uint64_t)x->round);
		lat = malloc(n * sizeof(*lat));
		if (!ord || !lat) {
			bench_err("out of memory");
			goto done;
		}
		bench_drop_caches();
		int64_t io0 = bench_io_read_bytes();
		uint64_t t0 = bench_now_ns();
		for (uint64_t i = 0; i < n; i++) {
			uint64_t k = ord[i];
			uint64_t a = bench_now_ns();
			ssize_t got = pread(d.fd, buf, BPG, (off_t)(k * BPG));
			lat[i] = (uint32_t)(bench_now_ns() - a);
			if (got != BPG) {
				bench_err("pread %s: %s", d.path, got < 0 ? strerror(errno) : "short");
				goto done;
			}
			if (disk_verify(r, buf, k) < 0)
				goto done;
		}
		secs = (double)(bench_now_ns() - t0) / 1e9;
		int64_t io1 = bench_io_read_bytes();
		rr_set(r, "in_cold_pps", (double)n / secs);
		rr_latency(r, "in_cold", lat, n);
		if (io0 >= 0 && io1 >= io0)
			rr_set(r, "in_cold_dev_bpp", (double)(io1 - io0) / (double)n);
		/* The same reads kept 32 in flight: the bound for a batched swap-in (workload swapin-batch). */
		int e = disk_rand_read_qd(r, &d, ord, n, DISK_QD, &secs);
		if (e == -1)
			goto done;
		if (e == 0)
			rr_set(r, "in_qd32_pps", (double)n / secs);
	} else {
		if (disk_seq_read(r, &d, n, &secs) < 0)
			goto done;
	}
	rc = 0;
done:
	free(buf);
	free(ord);
	free(lat);
	disk_close(&d);
	return rc;
}
