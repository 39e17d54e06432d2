/*
 * fsutil.c - logging, the one place library codes become errno values,
 * and the clock (fsutil.h). No state but the log destination, which is
 * set once at start-up before any worker thread runs.
 */
#include "fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "swapobj.h"

static int log_to_syslog;

void fs_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "swapobjfs: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void fs_log_to_syslog(void)
{
	log_to_syslog = 1;
	openlog("swapobjfs", LOG_PID, LOG_DAEMON);
}

int fs_errno(int err)
{
	switch (err) {
	case 0:
		return 0;
	case SWAPOBJ_EIO:
	case SWAPOBJ_ECORRUPT:
	case SWAPOBJ_EFORMAT:
		fs_log(LOG_ERR, "%s", swapobj_errmsg());
		return -EIO;
	case SWAPOBJ_ENOTSUP:
		return -EOPNOTSUPP;
	default: {
		int e = swapobj_errno(err);
		return e ? -e : -EIO;
	}
	}
}

void fs_reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err < 0 ? -err : err);
}

struct timespec fs_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}
