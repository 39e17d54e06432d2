#!/usr/bin/env bash
# Kernel swap through a swapobjfs mount, timed against the same swap file on
# the local disk.
#
# Each run: a loop device (direct I/O) over a 256 MiB swap file, mkswap,
# swapon --discard, then a process in a memory cgroup (v1 or v2) limited to
# 32 MiB that writes and re-reads 160 MiB, so that the kernel swaps out and
# back in; then swapoff and losetup -d. The "fuse" runs put the swap file in
# a swapobjfs mount (swapobj.ephemeral=1, daemon with -o mlock,rtprio=10, a fresh
# 1 GiB store each time), the "local" runs put it in a temporary directory on
# the local disk; the two alternate (local, fuse, local, fuse, ...) because a
# disk's speed drifts over minutes. Reports each run's time, the medians,
# their ratio (local / fuse: 1.0 means swap through the store is as fast as
# swap on the disk), what flowed into the store, the daemon's CPU time and
# time spent waiting for a CPU (on a busy machine the daemon's wake-ups, not
# its work, set the pace), and its locked memory.
#
# Fails if memhog finds a page with the wrong content, if a run swapped out
# fewer than 8192 pages (the comparison would mean nothing), if the daemon's
# VmLck is above SWAPOBJ_SWAP_MAX_VMLCK_KB (default 98304: 96 MiB), or if the
# ratio is below SWAPOBJ_SWAP_MIN_RATIO (default: not checked, timings on a
# shared machine vary too much for a default gate).
#
# This changes machine-wide state (a swap device) for a while, so it is not
# part of the default test run: SWAPOBJ_SWAP_TEST=1 enables it.
#   SWAPOBJ_SWAP_RUNS=N   pairs of runs (default 1; use 3 or more to compare)
#   SWAPOBJ_SWAP_OPTS=O   -o options for the daemon beside mlock (default
#                         rtprio=10, as the README's recipe; empty: none)
# Usage: fuse_swap.sh BUILD_DIR
set -u
build=$(cd "$1" && pwd)
fs=$build/fusefs/swapobjfs
ops=$build/tests/fusefs_ops
runs=${SWAPOBJ_SWAP_RUNS:-1}
opts=${SWAPOBJ_SWAP_OPTS-rtprio=10}
max_vmlck=${SWAPOBJ_SWAP_MAX_VMLCK_KB:-98304}
min_ratio=${SWAPOBJ_SWAP_MIN_RATIO:-}
if [ "${SWAPOBJ_SWAP_TEST:-0}" != 1 ]; then
	echo "fuse_swap: skipped (set SWAPOBJ_SWAP_TEST=1: it adds a swap device to this machine)"
	exit 77
fi
[ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] || { echo "fuse_swap: skipped (needs root and /dev/fuse)"; exit 77; }
case $runs in '' | *[!0-9]* | 0) echo "fuse_swap: SWAPOBJ_SWAP_RUNS must be a positive integer"; exit 2 ;; esac
tmp=$(mktemp -d /tmp/swapobjfs-swap.XXXXXX)
img=$tmp/store.img
mnt=$tmp/mnt
mkdir -p "$mnt" "$tmp/local"
loop= pid= cg=
step() { printf 'fuse_swap: %s\n' "$*"; }
die() { step "$*"; exit 1; }
teardown() {
	if [ -n "$loop" ]; then swapoff "$loop" 2>/dev/null; losetup -d "$loop" 2>/dev/null; fi
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap teardown EXIT
status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
vmstat() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }
# the daemon's threads: ms on a CPU and ms waiting for one (a starved daemon slows swap)
schedstat() { cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{c += $1; w += $2} END {printf "%d %d", c / 1e6, w / 1e6}'; }

# a memory cgroup of 32 MiB for one process of 160 MiB
if [ -d /sys/fs/cgroup/memory ]; then
	cg=/sys/fs/cgroup/memory/swapobjfs-test.$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.limit_in_bytes" || die "cannot make a memory cgroup"
else
	cg=/sys/fs/cgroup/swapobjfs-test.$$
	mkdir "$cg" && echo $((32 << 20)) >"$cg/memory.max" || die "cannot make a memory cgroup"
fi

# mount a fresh store (each fuse run starts from an empty store, as each
# local run starts from a new file: no cleaning left over from the last run)
mount_store() {
	rm -f "$img"
	"$build/tools/swapobj-mkfs" -q -s 1G -S 1M "$img" || exit 1
	"$fs" "$img" "$mnt" -f -o mlock${opts:+,$opts} >>"$tmp/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q " $mnt fuse" /proc/mounts && break; sleep 0.1; done
	grep -q " $mnt fuse" /proc/mounts || { cat "$tmp/daemon.log"; exit 1; }
}
unmount_store() {
	fusermount3 -u "$mnt" || die "unmount failed"
	wait "$pid" || die "daemon exit $?"
	pid=
}

# run KIND I FILE: swap onto a loop device over FILE; the time goes to $tmp/KIND.times
run() {
	local kind=$1 i=$2 file=$3 out0 in0 t0 t1 rc
	truncate -s 256M "$file"
	loop=$(losetup --direct-io=on -f --show "$file") || die "losetup failed"
	[ "$(cat /sys/block/${loop#/dev/}/loop/dio 2>/dev/null)" = 1 ] || die "$kind: $loop has no direct I/O"
	mkswap "$loop" >/dev/null || die "mkswap failed"
	swapon --discard -p 0 "$loop" 2>"$tmp/swapon.err" || die "swapon refused: $(cat "$tmp/swapon.err")"
	out0=$(vmstat pswpout) in0=$(vmstat pswpin)
	local s0=($(schedstat))
	t0=$(date +%s.%N)
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $ops memhog 160" >/dev/null
	rc=$?
	t1=$(date +%s.%N)
	local out=$(($(vmstat pswpout) - out0)) in=$(($(vmstat pswpin) - in0))
	local secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	step "$kind run $i: $secs s, $out pages swapped out, $in in, memhog exit $rc"
	if [ "$kind" = fuse ]; then
		local s1=($(schedstat))
		step "  daemon: $((s1[0] - s0[0])) ms on CPU, $((s1[1] - s0[1])) ms waiting for a CPU"
		step "  store: $("$ops" getx "$file" swapobj.stat)"
	fi
	swapoff "$loop" || die "swapoff failed"
	losetup -d "$loop" || die "losetup -d failed"
	loop=
	rm -f "$file"
	[ $rc -eq 0 ] || die "$kind run $i: memhog failed"
	[ $out -ge 8192 ] || die "$kind run $i: only $out pages swapped out: not a swap workload"
	echo "$secs" >>"$tmp/$kind.times"
}

fail=0
vmlck_max=0
for i in $(seq "$runs"); do
	run local "$i" "$tmp/local/swapfile"
	mount_store
	[ "$i" = 1 ] && step "mounted; daemon VmLck $(status $pid VmLck) KiB, VmRSS $(status $pid VmRSS) KiB"
	touch "$mnt/swapfile"
	"$ops" setx "$mnt/swapfile" swapobj.ephemeral 1 # plain swap need not survive a restart
	run fuse "$i" "$mnt/swapfile"
	vmlck=$(status $pid VmLck)
	step "  daemon VmLck $vmlck KiB, VmRSS $(status $pid VmRSS) KiB, VmHWM $(status $pid VmHWM) KiB, threads $(status $pid Threads)"
	[ "$i" = "$runs" ] && step "  swapobj.memory: $("$ops" getx "$mnt" swapobj.memory)"
	if [ "$vmlck" -gt "$max_vmlck" ]; then
		step "FAIL: VmLck $vmlck KiB > $max_vmlck KiB; the largest mappings (KiB: size, resident, locked):"
		awk '/^[0-9a-f]+-[0-9a-f]+ / {m = $1 " " $2 " " $6} $1 == "Size:" {sz = $2} $1 == "Rss:" {rss = $2}
		     $1 == "Locked:" {printf "%9d %9d %9d  %s\n", sz, rss, $2, m}' "/proc/$pid/smaps" | sort -rn | head -12
		fail=1
	fi
	[ "$vmlck" -le "$vmlck_max" ] || vmlck_max=$vmlck
	unmount_store
done

median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
lm=$(median "$tmp/local.times") fm=$(median "$tmp/fuse.times")
ratio=$(awk -v l="$lm" -v f="$fm" 'BEGIN {printf "%.2f", l / f}')
step "median of $runs: local $lm s, fuse $fm s, ratio local/fuse $ratio; daemon VmLck at most $vmlck_max KiB"
if [ -n "$min_ratio" ] && awk -v r="$ratio" -v m="$min_ratio" 'BEGIN {exit !(r < m)}'; then
	step "FAIL: ratio $ratio < $min_ratio"
	fail=1
fi
exit $fail
