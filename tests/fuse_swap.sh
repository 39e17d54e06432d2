#!/usr/bin/env bash
# Kernel swap through a swapobjfs mount: a loop device (direct I/O) over a
# file in the mount, mkswap, swapon --discard, then a process in a memory
# cgroup (v1 or v2) limited to 32 MiB that writes and re-reads 160 MiB, so
# that the kernel swaps out to the store and back in. Reports what flowed
# into the store and tears everything down in order:
#   swapoff -> losetup -d -> unmount.
# This changes machine-wide state (a swap device) for a few seconds, so it
# is not part of the default test run: SWAPOBJ_SWAP_TEST=1 enables it.
# Usage: fuse_swap.sh BUILD_DIR
set -u
build=$(cd "$1" && pwd)
fs=$build/fusefs/swapobjfs
ops=$build/tests/fusefs_ops
if [ "${SWAPOBJ_SWAP_TEST:-0}" != 1 ]; then
	echo "fuse_swap: skipped (set SWAPOBJ_SWAP_TEST=1: it adds a swap device to this machine)"
	exit 77
fi
[ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] || { echo "fuse_swap: skipped (needs root and /dev/fuse)"; exit 77; }
tmp=$(mktemp -d /tmp/swapobjfs-swap.XXXXXX)
img=$tmp/store.img
mnt=$tmp/mnt
mkdir -p "$mnt"
loop= pid= cg=
step() { printf 'fuse_swap: %s\n' "$*"; }
teardown() {
	if [ -n "$loop" ]; then swapoff "$loop" 2>/dev/null; losetup -d "$loop" 2>/dev/null; fi
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap teardown EXIT
"$build/tools/swapobj-mkfs" -q -s 1G -S 1M "$img" || exit 1
"$fs" "$img" "$mnt" -f -o mlock >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q " $mnt fuse" /proc/mounts && break; sleep 0.1; done
grep -q " $mnt fuse" /proc/mounts || { cat "$tmp/daemon.log"; exit 1; }
step "mounted; daemon VmLck: $(grep VmLck /proc/$pid/status | awk '{print $2, $3}')"
touch "$mnt/swapfile"
"$ops" setx "$mnt/swapfile" swapobj.ephemeral 1 # plain swap need not survive a restart
truncate -s 256M "$mnt/swapfile"
loop=$(losetup --direct-io=on -f --show "$mnt/swapfile") || { step "losetup failed"; exit 1; }
step "loop device $loop (direct I/O: $(cat /sys/block/${loop#/dev/}/loop/dio 2>/dev/null))"
mkswap "$loop" >/dev/null || { step "mkswap failed"; exit 1; }
if ! swapon --discard -p 0 "$loop" 2>"$tmp/swapon.err"; then
	step "swapon refused: $(cat "$tmp/swapon.err")"
	exit 1
fi
step "swapon ok: $(grep "$loop" /proc/swaps)"
step "store before: $("$ops" getx "$mnt/swapfile" swapobj.stat)"
# a memory cgroup of 32 MiB for one process of 160 MiB
if [ -d /sys/fs/cgroup/memory ]; then
	cg=/sys/fs/cgroup/memory/swapobjfs-test.$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.limit_in_bytes"
else
	cg=/sys/fs/cgroup/swapobjfs-test.$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.max"
fi
before=$(awk -v d="$loop" '$1 == d {print $4}' /proc/swaps)
sh -c "echo \$\$ > $cg/cgroup.procs && exec $ops memhog 160"
rc=$?
swapped=$(grep -E '^(pswpout|pswpin)' /proc/vmstat | tr '\n' ' ')
step "memhog exit $rc; /proc/vmstat: $swapped"
step "swap used during the run was above $before KiB; now: $(grep "$loop" /proc/swaps | awk '{print $4}') KiB"
step "store after: $("$ops" getx "$mnt/swapfile" swapobj.stat)"
swapoff "$loop" && step "swapoff ok"
losetup -d "$loop" && step "loop detached"
loop=
step "store after swapoff: $("$ops" getx "$mnt/swapfile" swapobj.stat)"
fusermount3 -u "$mnt" && wait "$pid" && step "unmounted, daemon exit $?"
pid=
exit $rc
