/*
 * fsnotify.c - kernel dentry invalidations, sent from a thread of their own.
 *
 * After a prefix invalidation the kernel may still cache dentries for names
 * that are gone. Telling it (fuse_lowlevel_notify_inval_entry) from inside
 * the request that caused it could deadlock: the kernel holds the
 * directory's lock for that request, and the invalidation takes it too. So
 * the handler queues (parent, name) and this thread sends them.
 *
 * Locking: nt->lock guards the queue and the stop flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "fsnotify.h"
#include "fsmem.h"
#include "fsutil.h"

struct fs_notify_item {
	struct fs_notify_item *next;
	fuse_ino_t parent;
	size_t len;
	char name[];
};

struct fs_notify {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct fs_notify_item *head, *tail;
};

/*
 * The kernel caps a FUSE mount's readahead at its default (128 KiB) whatever
 * max_readahead says; sequential reads then reach the store 128 KiB at a
 * time. Raise the mount's read_ahead_kb to FS_IO_MAX (root only, best
 * effort). Done here, once the session serves requests: stat of the mount
 * point is itself a request.
 */
static void raise_readahead(struct fs *fs)
{
	struct stat st;
	char path[128], val[32];
	if (geteuid() != 0 || stat(fs->o.mountpoint, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	int n = snprintf(val, sizeof(val), "%u", FS_IO_MAX / 1024);
	if (write(fd, val, (size_t)n) != n)
		fs_log(LOG_INFO, "could not raise readahead (%s): %s", path, strerror(errno));
	close(fd);
}

static void *notify_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_notify *nt = fs->notify;
	raise_readahead(fs);
	pthread_mutex_lock(&nt->lock);
	for (;;) {
		while (!nt->head && !nt->stop)
			pthread_cond_wait(&nt->cond, &nt->lock);
		struct fs_notify_item *it = nt->head;
		if (!it)
			break; /* stopping, queue drained */
		nt->head = it->next;
		if (!nt->head)
			nt->tail = NULL;
		pthread_mutex_unlock(&nt->lock);
		/* ENOENT: the kernel already forgot it, which is what we wanted */
		fuse_lowlevel_notify_inval_entry(fs->se, it->parent, it->name, it->len);
		free(it);
		pthread_mutex_lock(&nt->lock);
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

int fs_notify_start(struct fs *fs)
{
	struct fs_notify *nt = calloc(1, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->cond, NULL);
	fs->notify = nt;
	pthread_attr_t attr;
	int rc = -fs_thread_attr(&attr);
	if (rc == 0) {
		rc = pthread_create(&nt->thread, &attr, notify_main, fs);
		pthread_attr_destroy(&attr);
	}
	if (rc) {
		fs->notify = NULL;
		free(nt);
		return -rc;
	}
	return 0;
}

void fs_notify_stop(struct fs *fs)
{
	struct fs_notify *nt = fs->notify;
	if (!nt)
		return;
	pthread_mutex_lock(&nt->lock);
	nt->stop = true;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
	pthread_join(nt->thread, NULL);
	pthread_mutex_destroy(&nt->lock);
	pthread_cond_destroy(&nt->cond);
	free(nt);
	fs->notify = NULL;
}

void fs_notify_entry(struct fs *fs, fuse_ino_t parent, const char *name)
{
	struct fs_notify *nt = fs->notify;
	size_t len = strlen(name);
	struct fs_notify_item *it = nt ? malloc(sizeof(*it) + len + 1) : NULL;
	if (!it)
		return; /* the entry times out by itself (entry_timeout) */
	it->next = NULL;
	it->parent = parent;
	it->len = len;
	memcpy(it->name, name, len + 1);
	pthread_mutex_lock(&nt->lock);
	if (nt->tail)
		nt->tail->next = it;
	else
		nt->head = it;
	nt->tail = it;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
}
