/*
 * bench_store_zram.c - the kernel's compressed RAM block device as a
 * swapobj-bench store, used like the slot file (bench_store_slot.c); root
 * only, the parent prepares the device.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_store.h"

int bench_zram_add(void)
{
	char buf[32];
	if (!bench_is_root())
		return bench_err("not root");
	if (access("/sys/class/zram-control/hot_add", F_OK) != 0)
		return bench_err("no /sys/class/zram-control (zram module not loaded)");
	if (sysfs_read("/sys/class/zram-control/hot_add", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

void bench_zram_remove(int id)
{
	char p[96], v[16];
	if (id < 0)
		return;
	snprintf(p, sizeof(p), "/sys/block/zram%d/reset", id);
	sysfs_write(p, "1");
	snprintf(v, sizeof(v), "%d", id);
	sysfs_write("/sys/class/zram-control/hot_remove", v);
}

const char *bench_zram_algo(int id)
{
	static char algo[64];
	char p[96], buf[256];
	snprintf(p, sizeof(p), "/sys/block/zram%d/comp_algorithm", id);
	snprintf(algo, sizeof(algo), "?");
	if (sysfs_read(p, buf, sizeof(buf)) == 0) {
		char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
		if (a && b)
			snprintf(algo, sizeof(algo), "%.*s", (int)(b - a - 1), a + 1);
	}
	return algo;
}

static int zram_create(struct store **out, const struct store_params *p)
{
	return slot_create_common(out, p, true);
}

const struct store_ops bench_store_zram = {
    .sys = SYS_ZRAM,
    .create = zram_create,
    .write = slot_write,
    .read = slot_read,
    .sync = slot_sync,
    .reopen = slot_reopen,
    .stats = slot_stats,
    .close = slot_close,
    .config = "a hot-added /dev/zramN (kernel compressed RAM block device, its default algorithm) used like "
              "the slot file: next-fit slots, 4 KiB O_DIRECT pwrite/pread per page; stored bytes = mm_stat "
              "mem_used_total (RAM)",
};
