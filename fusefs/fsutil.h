/*
 * fsutil.h - the bottom of swapobjfs: logging, errno mapping, replies with
 * an error, the clock. Every other fusefs file may use these; this file
 * uses nothing of theirs.
 */
#ifndef SWAPOBJFS_FSUTIL_H
#define SWAPOBJFS_FSUTIL_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <time.h>

/* Log a message (stderr until fs_log_to_syslog, then syslog). */
void fs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* From now on log to syslog (once daemonized, stderr is /dev/null). */
void fs_log_to_syslog(void);
/* A library code as a negative errno value (I/O and corruption errors are logged). */
int fs_errno(int swapobj_err);
/* Reply to req with err (negative or positive errno; 0 is success). */
void fs_reply_err(fuse_req_t req, int err);
struct timespec fs_now(void);

#endif
