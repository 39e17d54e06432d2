/*
 * fsmem.h - the daemon's memory: thread stacks, allocator arenas, locking
 * (-o mlock) and the figures swapobj.memory reports (fsmem.c).
 */
#ifndef SWAPOBJFS_FSMEM_H
#define SWAPOBJFS_FSMEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Before the store is opened: thread stack sizes, and with mlock the malloc arenas and thresholds. */
void fs_mem_prepare(bool mlock);
/* Lock the daemon's memory (-o mlock; after daemonizing) and ask to be an I/O flusher; failures are logged. */
void fs_mem_lock(void);
/* Attributes for a thread of the daemon's own (a deliberate stack size); 0 or -errno. */
int fs_thread_attr(pthread_attr_t *attr);
/* The daemon's memory figures on one line (VmLck, VmRSS, stacks, buffers); length or -ERANGE. */
int fs_mem_stat(char *out, size_t cap);

/* The calling worker thread's FS_IO_MAX buffer, page aligned, allocated once per thread (NULL without memory). */
uint8_t *fs_iobuf(void);
/* How many of those buffers exist (one per worker thread that has read). */
unsigned fs_iobuf_count(void);

#endif
