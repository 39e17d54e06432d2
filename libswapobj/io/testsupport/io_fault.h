/*
 * io_fault.h - a fault-injecting, power-cut-simulating device backend for
 * tests (the io layer's test support; never part of libswapobj.so).
 *
 * iofault_install() interposes it under every device opened afterwards
 * (io_set_hook). Every call still reaches the image file, and the backend
 * can, independently:
 *
 *  - fail one call: the N-th write (EIO, ENOSPC, or a short write that puts
 *    the first half of its whole 512-byte sectors on the device and then
 *    fails), the N-th sync (EIO), the N-th read (EIO) or the N-th discard
 *    (EIO). N counts the calls of that class since iofault_arm().
 *
 *  - cut the power at the N-th modifying call (write, sync or discard). The
 *    backend keeps the image as of the last completed sync (the durable
 *    image) and the writes and discards issued since (pending). From the
 *    cut on, every call fails with EIO. iofault_power_restore() then
 *    writes over the file the durable image plus each pending operation, in
 *    issue order, as a cut-power device may have left it: lost, applied
 *    whole, or torn (a random subset of its 512-byte sectors). A discard is
 *    pending like a write of zeros: one that was not made durable by a sync
 *    may or may not have happened, sector by sector. While the power is
 *    tracked, a discard writes zeros to the file (so every file system
 *    behaves alike) and a sync does not call fdatasync: durability is the
 *    model's, not the file's.
 *
 *  - issue a batch (io_batch) as a device with several requests in flight
 *    may complete it: one request at a time, in a random order (a fresh
 *    permutation of each IO_BATCH_DEPTH requests, as many as a ring keeps
 *    in flight), each counted and faulted like a single call. So a cut at
 *    the N-th modifying call can land inside a batch, with a random subset
 *    of its writes issued (pending) and the rest failed; a fault hits a
 *    random request of it. The order comes from a generator seeded by
 *    iofault_order_seed() and restarted at each iofault_power_start(), so
 *    a run is repeated by its seed and cut point (as far as the store's
 *    threads' timing allows).
 *
 * Power cuts model one device: the image given to iofault_power_start().
 * The state is process-wide; the calls are thread-safe (the store's
 * background threads do I/O), and I/O is serialised under one lock so the
 * pending list is in the order the device saw.
 */
#ifndef SO_IO_FAULT_H
#define SO_IO_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interpose on every device opened from now on / stop doing so (opened devices keep the backend). */
void iofault_install(void);
void iofault_uninstall(void);

/* ---- injected faults ---- */

enum iofault_kind {
	IOFAULT_NONE,
	IOFAULT_WRITE_EIO,
	IOFAULT_WRITE_ENOSPC,
	IOFAULT_WRITE_SHORT,
	IOFAULT_SYNC_EIO,
	IOFAULT_READ_EIO,
	IOFAULT_DISCARD_EIO,
	IOFAULT_NKINDS
};

/* "write EIO", "fsync EIO", ...: for messages. */
const char *iofault_kind_name(enum iofault_kind kind);

/*
 * Fail the at-th call (1-based) of kind's class: writes for the three
 * write kinds, syncs, reads or discards. Resets the call counts and the
 * fired flag; IOFAULT_NONE disarms. Power-cut state is left alone.
 */
void iofault_arm(enum iofault_kind kind, uint64_t at);
/* True once the armed fault has been met. */
bool iofault_fired(void);

/*
 * Calls that reached the device (or met the fault; not those refused after a
 * cut) since the last iofault_arm() or iofault_power_start().
 */
struct iofault_counts {
	uint64_t reads, writes, syncs, discards;
	uint64_t ops;        /* modifying calls (writes, syncs, discards) up to and including the cut */
	uint64_t batches;    /* io_batch calls (each of their requests counts as a call above too) */
	uint64_t batch_cuts; /* batches the cut fell inside: some requests done, the rest refused */
};
void iofault_get_counts(struct iofault_counts *out);

/* ---- power cuts ---- */

/* What a cut leaves of each pending write or discard. */
enum iofault_cut_mode {
	IOFAULT_CUT_LOSE_ALL,     /* nothing since the last sync reaches the device */
	IOFAULT_CUT_WHOLE_OR_NOT, /* each one lost or applied whole, at random */
	IOFAULT_CUT_TORN,         /* each one lost, applied whole, or torn at 512-byte sectors */
};

/*
 * Start a run: write image (len bytes) over the file at path, take it as
 * the durable image, forget what was pending, disarm any fault, zero the
 * counts and cut the power at the cut_at-th modifying call (1-based; 0:
 * never). Aborts the process if the file cannot be written.
 */
void iofault_power_start(const char *path, const void *image, size_t len, uint64_t cut_at);
/* Seed of the batches' issue order (default 1), used from the next iofault_power_start() on. */
void iofault_order_seed(uint64_t seed);
/* True once the power is cut (cheap; safe from any thread). */
bool iofault_power_is_cut(void);

/* Uniform random number in [0, n), from the caller's seeded generator. */
typedef uint64_t (*iofault_rand_fn)(void *ctx, uint64_t n);

/*
 * End a run (cut or not): write over the file at path the durable image
 * plus each pending operation as mode says, drawing with rnd(ctx, ...) (3
 * draws choose a fate for TORN, 2 for WHOLE_OR_NOT, then 2 per sector of a
 * torn one). Returns the number of pending operations decided. The backend
 * then passes I/O through untracked until the next iofault_power_start().
 */
size_t iofault_power_restore(const char *path, enum iofault_cut_mode mode, iofault_rand_fn rnd, void *ctx);

/* Release the images and the pending list, disarm, stop tracking. */
void iofault_free(void);

#endif
