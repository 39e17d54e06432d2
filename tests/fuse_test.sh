#!/usr/bin/env bash
# swapobjfs mounted for real: every file operation, names, permissions as
# another user, concurrency, persistence across remounts, kill -9 of the
# daemon, clean shutdown on SIGTERM, mount -t fuse.swapobjfs, and the
# randomized model test (fusefs_model).
#
# Usage: fuse_test.sh BUILD_DIR
# Needs root and /dev/fuse; exits 77 (skipped) without them.
# SWAPOBJ_SEED / SWAPOBJ_LONG are passed to the randomized parts.
# Every mount made here is unmounted on exit, failure included.
set -u
build=$(cd "$1" && pwd)
fs=$build/fusefs/swapobjfs
ops=$build/tests/fusefs_ops
model=$build/tests/fusefs_model
# In a sanitizer build: leak reports matter for the daemon, not for the test
# helpers (which exit on the first failed check without freeing).
daemon_asan=${ASAN_OPTIONS:-}
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
mkfs=$build/tools/swapobj-mkfs
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || [ ! -x "$fs" ] || ! command -v fusermount3 >/dev/null; then
	echo "fuse_test: skipped (needs root, /dev/fuse, fusermount3 and a built swapobjfs)"
	exit 77
fi
tmp=$(mktemp -d /tmp/swapobjfs-test.XXXXXX)
chmod 755 "$tmp"
img=$tmp/store.img
mnt=$tmp/mnt
mkdir -p "$mnt"
daemon_pid=
pass=0
fail=0
seed=${SWAPOBJ_SEED:-1234}

unmount_all() {
	local m
	for m in $(awk -v t="$tmp" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r); do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}
cleanup() {
	unmount_all
	if [ -n "$daemon_pid" ]; then kill -9 "$daemon_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check NAME CMD... : the command must succeed
	local name=$1 t0=$SECONDS
	shift
	if "$@" >"$tmp/out" 2>&1; then ok; else bad "$name"; sed 's/^/  | /' "$tmp/out" | head -20; fi
	if [ $((SECONDS - t0)) -ge 5 ]; then echo "fuse_test: '$name' took $((SECONDS - t0)) s"; fi
}
check_fails() { # check_fails NAME CMD... : the command must fail
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then bad "$name (succeeded)"; else ok; fi
}
eq() { # eq NAME GOT WANT
	if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}
mounted() { grep -q " $mnt fuse" /proc/mounts; }
# The daemon runs in the foreground (-f) as a child of this script, so that
# its exit status and its stderr (sanitizer reports in the ASan build) are
# checked at every unmount.
do_mount() { # do_mount [ARGS...]: returns once mounted
	ASAN_OPTIONS=$daemon_asan "$fs" "$img" "$mnt" -f -o allow_other "$@" >>"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 200); do
		mounted && return 0
		kill -0 "$daemon_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
daemon_exit_ok() { # wait for the daemon; it must exit 0 and report nothing
	local rc=0
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	if [ "$rc" -ne 0 ] || grep -q "Sanitizer\|runtime error" "$tmp/daemon.log"; then
		echo "daemon exit status $rc"
		tail -40 "$tmp/daemon.log"
		return 1
	fi
}
do_umount() {
	fusermount3 -u "$mnt" || return 1
	daemon_exit_ok
}
wait_gone() { # the daemonized swapobjfs of $img has exited
	for _ in $(seq 100); do
		pgrep -f "swapobjfs $img" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}

"$mkfs" -q -s 2G -S 1M "$img" || { echo "mkfs failed"; exit 1; }

# ---- library-made keys are visible (binary names escaped), before any mount ----
check "library creates binary keys" "$ops" lib-mkkeys "$img" "$seed" 300

# ---- mount, basics ----
check "mount" do_mount
check "mount is listed as fuse.swapobjfs" grep -q " $mnt fuse.swapobjfs " /proc/mounts
eq "implicit directories from the library" "$(ls "$mnt" | sort | tr '\n' ' ')" "anon lib "
check "library keys: one path each, with content" "$ops" mnt-checkkeys "$mnt/lib" "$seed" 300
eq "implicit dir mode" "$(stat -c %A "$mnt/anon")" "drwxr-xr-x"
eq "big-endian numbers escaped" "$(ls "$mnt/anon")" "%00%00%00%00%00%00%00%01"
eq "anon page readable" "$(wc -c <"$mnt/anon/%00%00%00%00%00%00%00%01/%00%00%00%00%00%00%00%02")" "4096"
eq "implicit directory nlink: 2 + its subdirectories" "$(stat -c %h "$mnt/anon")" "3"

t=$mnt/basic
check "mkdir" mkdir "$t"
eq "mkdir mode" "$(stat -c %a "$t")" "755"
check "write a file" bash -c "head -c 3000000 /dev/urandom > $tmp/ref && cp $tmp/ref $t/f"
check "read it back" cmp "$tmp/ref" "$t/f"
eq "size" "$(stat -c %s "$t/f")" "3000000"
check "append" bash -c "echo tail >> $t/f && tail -c 5 $t/f | grep -q tail"
check "truncate down" truncate -s 1000 "$t/f"
check "truncate keeps the head" cmp -n 1000 "$tmp/ref" "$t/f"
check "truncate up reads zeros" bash -c "truncate -s 9000 $t/f && tail -c 8000 $t/f | cmp -s - <(head -c 8000 /dev/zero)"
check "O_TRUNC" bash -c "echo new > $t/f && [ \$(cat $t/f) = new ]"
check "rm" rm "$t/f"
check_fails "rm again" rm "$t/f"
check "nested mkdir -p" mkdir -p "$t/a/b/c"
check "touch" touch "$t/a/b/c/x"
check_fails "rmdir non-empty" rmdir "$t/a/b/c"
check "rm -r" rm -r "$t/a"
eq "empty after rm -r" "$(ls -A "$t")" ""
check "symlink" ln -s "../basic/target with spaces" "$t/ln"
eq "readlink" "$(readlink "$t/ln")" "../basic/target with spaces"
eq "symlink type" "$(stat -c %F "$t/ln")" "symbolic link"
check "rename file" bash -c "echo r > $t/r1 && mv $t/r1 $t/r2 && [ \$(cat $t/r2) = r ] && [ ! -e $t/r1 ]"
check "rename over a file" bash -c "echo o > $t/o && mv -f $t/r2 $t/o && [ \$(cat $t/o) = r ]"
check "rename empty dir" bash -c "mkdir $t/d1 && mv $t/d1 $t/d2 && [ -d $t/d2 ] && [ ! -e $t/d1 ]"
check "mv of a full directory (EXDEV, copied)" bash -c \
	"mkdir -p $t/full/sub && echo 1 > $t/full/sub/x && mv $t/full $t/moved && [ \$(cat $t/moved/sub/x) = 1 ] && [ ! -e $t/full ]"
mkdir -p "$mnt/errnos"
check "errno of unsupported operations" env FUSEFS_DIR_DEPTH=1 "$ops" errnos "$mnt/errnos"
mkdir -p "$mnt/namelen"
check "ENAMETOOLONG from every operation (name, depth, key bytes)" env FUSEFS_DIR_DEPTH=1 "$ops" namelen "$mnt/namelen"
mkdir -p "$mnt/ul"
check "unlinked or replaced while open (default cache)" "$ops" unlinked "$mnt/ul" "$mnt"
check "fallocate: punch, zero range, keep size" "$ops" falloc "$t"
check "user xattrs" "$ops" xattr "$t"
check "hostile names through the mount" bash -c "mkdir $mnt/names && $ops names $mnt/names $seed 500"
check "store figures on the root" bash -c "$ops getx $mnt swapobj.store | grep -q 'capacity_bytes=.*buffer_bytes='"
check "statfs" bash -c "df -B1 $mnt | tail -1 | awk '{exit !(\$2 > 1900000000 && \$2 <= 2147483648)}'"

# ---- directory link counts: 2 + subdirectories (find's leaf optimisation) ----
# every directory under $1 has st_nlink 2 + its subdirectories
nlink_all_ok() {
	find "$1" -type d -print0 | while IFS= read -r -d '' d; do
		want=$((2 + $(find "$d" -mindepth 1 -maxdepth 1 -type d -printf x | wc -c)))
		got=$(stat -c %h "$d")
		[ "$got" = "$want" ] || { echo "$d: nlink $got, want $want"; exit 1; }
	done
}
nl=$mnt/nlink
mkdir -p "$nl/a" "$nl/b"
eq "nlink after mkdir" "$(stat -c %h "$nl")" "4"
touch "$nl/f"
eq "files do not count" "$(stat -c %h "$nl")" "4"
rmdir "$nl/a"
eq "nlink after rmdir" "$(stat -c %h "$nl")" "3"
mv "$nl/b" "$nl/c"
eq "nlink after a rename in place" "$(stat -c %h "$nl")" "3"
mkdir "$nl/e" && mv "$nl/c" "$nl/e/"
eq "nlink of the old parent after a move" "$(stat -c %h "$nl")" "3"
eq "nlink of the new parent after a move" "$(stat -c %h "$nl/e")" "3"
mkdir "$nl/x" "$nl/y" && mv -T "$nl/x" "$nl/y"
eq "nlink after a directory replaced an empty one" "$(stat -c %h "$nl")" "4"
check "every directory, the root and implicit ones included" nlink_all_ok "$mnt"

# ---- FIFOs, sockets, device nodes ----
sp=$mnt/special
mkdir "$sp"
check "FIFO, socket, character and block device nodes" "$ops" special "$sp"
check "a FIFO carries data" timeout 10 bash -c "echo through > $sp/fifo & read -r l < $sp/fifo; [ \"\$l\" = through ]"
eq "find sees their types" "$(cd "$sp" && find . -type p -o -type s -o -type c -o -type b | sort | tr '\n' ' ')" "./blk ./chr ./fifo ./sock "

# ---- data path: a 4 KiB page is one page in the store, holes are holes ----
check "one page written" bash -c "dd if=/dev/urandom of=$t/page bs=4096 seek=2 count=1 conv=notrunc status=none"
eq "it is one page in the store" "$("$ops" getx "$t/page" swapobj.pages)" "1"
eq "zero pages take no space" "$(dd if=/dev/zero of="$t/zeros" bs=1M count=4 status=none && "$ops" getx "$t/zeros" swapobj.stored_bytes | awk '{print ($1 < 65536)}')" "1"
# SEEK_DATA/SEEK_HOLE are exact: written pages are data, zeros included; never-written and punched pages are holes
check "seek: a page after a hole" env FUSEFS_EXPECT_DATA=4096 "$ops" seek "$t/page"
check "seek: written zeros are data" env FUSEFS_EXPECT_DATA=$((4 << 20)) "$ops" seek "$t/zeros"
check "seek: a punched page is a hole" bash -c "fallocate -p -o 8192 -l 4096 $t/zeros && env FUSEFS_EXPECT_DATA=$(((4 << 20) - 4096)) $ops seek $t/zeros"

# ---- sparse files, big ones included ----
b=$mnt/big
mkdir "$b"
check "4 GiB sparse file" truncate -s 4G "$b/sparse"
check "data at 0, 1 GiB + 5, 3.5 GiB" bash -c "
	head -c 65536 /dev/urandom > $tmp/chunk &&
	dd if=$tmp/chunk of=$b/sparse bs=64K seek=0 conv=notrunc status=none &&
	dd if=$tmp/chunk of=$b/sparse bs=64K seek=\$((1024*1024*1024+5)) oflag=seek_bytes conv=notrunc status=none &&
	dd if=$tmp/chunk of=$b/sparse bs=64K seek=\$((3584*16)) conv=notrunc status=none"
eq "size stays 4 GiB" "$(stat -c %s "$b/sparse")" "4294967296"
check "data reads back" bash -c "dd if=$b/sparse bs=64K skip=\$((1024*1024*1024+5)) iflag=skip_bytes count=1 status=none | cmp -s - $tmp/chunk"
check "holes read as zeros" bash -c "dd if=$b/sparse bs=1M skip=2048 count=4 status=none | cmp -s - <(head -c 4194304 /dev/zero)"
eq "blocks used are few" "$(stat -c %b "$b/sparse" | awk '{print ($1 < 4096)}')" "1"
# 16 pages at 0, 17 at 1 GiB + 5 (not page aligned), 16 at 3.5 GiB
check "SEEK_DATA/SEEK_HOLE walk" env FUSEFS_EXPECT_DATA=$((49 * 4096)) "$ops" seek "$b/sparse"
check "punch in a big file" fallocate -p -o $((3584 << 20)) -l 65536 "$b/sparse"
check "SEEK_DATA/SEEK_HOLE after the punch" env FUSEFS_EXPECT_DATA=$((33 * 4096)) "$ops" seek "$b/sparse"
check "punched range reads as zeros" bash -c "dd if=$b/sparse bs=64K skip=\$((3584*16)) count=1 status=none | cmp -s - <(head -c 65536 /dev/zero)"
check "cp --sparse of the big file" cp --sparse=always "$b/sparse" "$b/copy"
eq "copy size" "$(stat -c %s "$b/copy")" "4294967296"
check "copy is sparse too" env FUSEFS_EXPECT_DATA_MAX=$((1 << 20)) "$ops" seek "$b/copy"
check "copy data" bash -c "dd if=$b/copy bs=64K skip=\$((1024*1024*1024+5)) iflag=skip_bytes count=1 status=none | cmp -s - $tmp/chunk"
check "rm big files" rm "$b/sparse" "$b/copy"

# ---- times ----
check "mtime moves on write" bash -c "echo a > $t/tm && touch -d '2001-01-01 00:00:00' $t/tm && echo b >> $t/tm && [ \$(stat -c %Y $t/tm) -gt 978307200 ]"
check "touch -d sets mtime" bash -c "touch -d '2001-02-03 04:05:06 UTC' $t/tm && [ \$(stat -c %Y $t/tm) = 981173106 ]"
check "chmod, ctime" bash -c "chmod 600 $t/tm && [ \$(stat -c %a $t/tm) = 600 ]"

# ---- swapobj attributes ----
x=$mnt/sx
mkdir "$x"
check "write for attributes" bash -c "head -c 1048576 /dev/urandom > $x/obj"
eq "class" "$("$ops" getx "$x/obj" swapobj.class)" "swap"
eq "version" "$("$ops" getx "$x/obj" swapobj.version)" "0"
eq "pages" "$("$ops" getx "$x/obj" swapobj.pages)" "256"
check "stat attribute" bash -c "$ops getx $x/obj swapobj.stat | grep -q 'size=1048576 '"
check "pin" "$ops" setx "$x/obj" swapobj.pin 1
eq "pinned" "$("$ops" getx "$x/obj" swapobj.pin)" "1"
check "new version" "$ops" setx "$x/obj" swapobj.version 7
eq "version set" "$("$ops" getx "$x/obj" swapobj.version)" "7"
eq "a new version drops the data" "$(stat -c %s "$x/obj")" "0"
eq "pin kept" "$("$ops" getx "$x/obj" swapobj.pin)" "1"
eq "old version refused" "$("$ops" setx "$x/obj" swapobj.version 3)" "Invalid argument"
check "ephemeral on an empty file" "$ops" setx "$x/obj" swapobj.ephemeral 1
eq "ephemeral" "$("$ops" getx "$x/obj" swapobj.ephemeral)" "1"
check "and back" "$ops" setx "$x/obj" swapobj.ephemeral 0
check "ephemeral file with data" bash -c "touch $x/eph && $ops setx $x/eph swapobj.ephemeral 1 && echo gone > $x/eph"
check "class on an empty file" "$ops" setx "$x/obj" swapobj.class cache
eq "class set" "$("$ops" getx "$x/obj" swapobj.class)" "cache"
check "data after the new version" bash -c "echo fresh > $x/obj && [ \$(cat $x/obj) = fresh ]"
eq "class on a non-empty file" "$("$ops" setx "$x/obj" swapobj.class swap)" "Device or resource busy"
eq "read-only figure" "$("$ops" setx "$x/obj" swapobj.pages 1)" "Operation not permitted"
check "prefix to invalidate" bash -c "mkdir -p $x/vm/a/b && for i in 1 2 3; do echo \$i > $x/vm/a/b/f\$i; echo \$i > $x/vm/g\$i; done && chmod 750 $x/vm && cat $x/vm/a/b/f1 >/dev/null"
check "invalidate a directory" "$ops" setx "$x/vm" swapobj.invalidate 1
eq "it empties at once" "$(ls -A "$x/vm")" ""
check_fails "old paths are gone" cat "$x/vm/a/b/f1"
eq "the directory keeps its mode" "$(stat -c %a "$x/vm")" "750"
check "and is usable" bash -c "echo again > $x/vm/g1 && [ \$(cat $x/vm/g1) = again ]"
check "invalidate an implicit directory" "$ops" setx "$mnt/anon" swapobj.invalidate 1
eq "implicit one kept, empty" "$(ls -A "$mnt/anon")" ""

# ---- permissions as another user (default_permissions, allow_other) ----
p=$mnt/perm
mkdir "$p" && chown nobody:nogroup "$p" && chmod 755 "$p"
echo secret >"$mnt/perm/rootfile" && chmod 600 "$mnt/perm/rootfile"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "nobody creates" as_nobody bash -c "umask 027 && echo n > $p/mine"
eq "owner from the caller" "$(stat -c %u:%g "$p/mine")" "65534:65534"
eq "umask applied" "$(stat -c %a "$p/mine")" "640"
check_fails "nobody cannot read a 600 root file" as_nobody cat "$p/rootfile"
check_fails "nobody cannot write the root directory" as_nobody touch "$mnt/nope"
check_fails "nobody cannot chmod a root file" as_nobody chmod 666 "$p/rootfile"
check_fails "nobody cannot chown" as_nobody chown root "$p/mine"
check "nobody chmods own file" as_nobody chmod 600 "$p/mine"
check_fails "nobody cannot invalidate a root directory" as_nobody "$ops" setx "$x/vm" swapobj.invalidate 1
check "setgid directory" bash -c "mkdir $p/sg && chgrp 100 $p/sg && chmod 2777 $p/sg"
check "nobody creates in it" as_nobody touch "$p/sg/f"
eq "setgid directory gives its group" "$(stat -c %g "$p/sg/f")" "100"

# ---- concurrency ----
mkdir "$mnt/conc" "$mnt/churn"
check "4 processes, shared and own files" "$ops" concurrent "$mnt/conc" 4
check "readdir stable under churn" "$ops" readdir-stable "$mnt/churn"

# ---- randomized model ----
mkdir "$mnt/model"
check "model test (seed $seed)" env SWAPOBJ_SEED="$seed" "$model" "$mnt/model"

# ---- persistence across unmount/remount ----
check "sync data for remount" "$ops" writesync "$mnt/basic/persist" 5 3
setfacl_free_mode=$(stat -c %a "$x/vm")
check "unmount" do_umount
check_fails "not mounted any more" mounted
check "library sees names made through the mount" "$ops" lib-checknames "$img" "$seed" 500 names
check "remount" do_mount
check "data persists" "$ops" verify "$mnt/basic/persist" 5 3
eq "mode persists" "$(stat -c %a "$x/vm")" "$setfacl_free_mode"
eq "mtime persists" "$(stat -c %Y "$t/tm")" "981173106"
eq "owner persists" "$(stat -c %u "$p/mine")" "65534"
eq "symlink persists" "$(readlink "$t/ln")" "../basic/target with spaces"
eq "xattr persists" "$("$ops" getx "$t/xa" user.empty)" ""
eq "dir xattr persists" "$("$ops" getx "$t/xadir" user.dir)" "d"
eq "version persists" "$("$ops" getx "$x/obj" swapobj.version)" "10"
check_fails "ephemeral file does not survive a remount" test -e "$x/eph"
check "model files still readable" bash -c "cat $mnt/model/* > /dev/null"
eq "special files persist" "$(cd "$sp" && find . -type p -o -type s -o -type c -o -type b | sort | tr '\n' ' ')" "./blk ./chr ./fifo ./sock "
eq "device numbers persist" "$(stat -c '%t:%T' "$sp/chr" "$sp/blk" | tr '\n' ' ')" "1:3 103:11170 "
eq "modes persist" "$(stat -c %a "$sp/fifo")" "640"
check "directory link counts after a remount (counted from the store)" nlink_all_ok "$mnt"

# ---- clean shutdown on SIGTERM ----
check "SIGTERM" kill -TERM "$daemon_pid"
check "daemon exits 0 after SIGTERM" daemon_exit_ok
check_fails "unmounted by SIGTERM" mounted

# ---- kill -9: fsync'd data survives ----
check "mount" do_mount
check "write and fsync" "$ops" writesync "$mnt/basic/durable" 9 8
check "write without fsync" bash -c "head -c 1M /dev/urandom > $mnt/basic/maybe"
{
	kill -9 "$daemon_pid"
	wait "$daemon_pid"
} 2>/dev/null
daemon_pid=
check "dead mount unmounts" bash -c "fusermount3 -u $mnt || umount -l $mnt"
check "remount after kill -9" do_mount
check "fsync'd data intact" "$ops" verify "$mnt/basic/durable" 9 8
check "earlier data intact" "$ops" verify "$mnt/basic/persist" 5 3
check "unmount" do_umount

# ---- writeback cache: unlinked while open; kill -9 with an unlinked file open ----
check "mount -o writeback" do_mount -o writeback
mkdir -p "$mnt/ulwb"
check "unlinked or replaced while open (writeback cache)" "$ops" unlinked "$mnt/ulwb" "$mnt"
"$ops" holdopen "$mnt/ulwb/held" >"$tmp/held.out" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q ready "$tmp/held.out" && break; sleep 0.05; done
check "a file unlinked while open, synced" grep -q ready "$tmp/held.out"
{
	kill -9 "$daemon_pid"
	wait "$daemon_pid"
	kill -9 "$holder"
	wait "$holder"
} 2>/dev/null
daemon_pid=
check "dead mount unmounts" bash -c "fusermount3 -u $mnt || umount -l $mnt"
eq "the orphan survived the crash" "$("$ops" lib-orphans "$img")" "1"
check "remount" do_mount
# The mount is listed before the daemon has answered the kernel's INIT, where it reaps orphans: wait for it.
check "orphans deleted at mount" bash -c "for i in \$(seq 200); do grep -q 'deleted 1 files unlinked while open before a crash' $tmp/daemon.log && exit 0; sleep 0.05; done; exit 1"
eq "nothing of it in the namespace" "$(ls -A "$mnt/ulwb")" ""
check "unmount" do_umount
eq "no orphan left in the store" "$("$ops" lib-orphans "$img")" "0"

# ---- mount -t fuse.swapobjfs: mount(8) -> mount.fuse3 -> swapobjfs from the default PATH ----
# mount(8) drops PATH, so the shell mount.fuse3 runs finds swapobjfs only where it is
# installed (/usr/local/sbin, /usr/sbin, ...). Inside a private mount namespace the
# build tree's binary is bind-mounted over /usr/local/sbin: nothing on the system changes.
mkdir -p "$tmp/sbin" && ln -sf "$fs" "$tmp/sbin/swapobjfs"
cat >"$tmp/mount_t.sh" <<EOF
set -e
mount --make-rprivate /
mount --bind "$tmp/sbin" /usr/local/sbin
mount -t fuse.swapobjfs "$img" "$mnt" -o allow_other,writeback,nosuid,nodev
grep -q " $mnt fuse.swapobjfs " /proc/mounts
"$ops" verify "$mnt/basic/durable" 9 8
mkdir -p "$mnt/model_wb"
SWAPOBJ_SEED=$((seed + 1)) "$model" "$mnt/model_wb" 1500
umount "$mnt"
for i in \$(seq 100); do pgrep -f "swapobjfs $img" >/dev/null || exit 0; sleep 0.1; done
exit 1
EOF
if [ -d /usr/local/sbin ] && command -v unshare >/dev/null; then
	check "mount -t fuse.swapobjfs, writeback model, umount" unshare -m bash "$tmp/mount_t.sh"
	# on failure the namespace's mount died with it; its daemon must not keep the store
	wait_gone || for p in $(pgrep -f "swapobjfs $img"); do kill -9 "$p"; done
else
	echo "fuse_test: mount -t fuse.swapobjfs not tried (no /usr/local/sbin or unshare)"
fi

# ---- daemon mode (no -f): returns once mounted; read-only ----
check "daemon mode, -o ro" "$fs" "$img" "$mnt" -o ro,allow_other
check "mounted read-only" grep -q " $mnt fuse.swapobjfs ro," /proc/mounts
check "ro data" "$ops" verify "$mnt/basic/durable" 9 8
check_fails "ro refuses writes" touch "$mnt/basic/new"
check "unmount ro" fusermount3 -u "$mnt"
check "daemon gone" wait_gone

# ---- a full store: ENOSPC, and the mount stays usable ----
small=$tmp/small.img
check "small store" "$mkfs" -q -s 16M -S 1M "$small"
mkdir -p "$tmp/smnt"
check "mount small" "$fs" "$small" "$tmp/smnt"
echo keep >"$tmp/smnt/keep"
if dd if=/dev/urandom of="$tmp/smnt/fill" bs=1M count=64 conv=fsync status=none 2>"$tmp/dd.err"; then
	bad "filling a 16 MiB store succeeded"
else
	check "ENOSPC when full" grep -q "No space left on device" "$tmp/dd.err"
fi
eq "still readable when full" "$(cat "$tmp/smnt/keep")" "keep"
check "unmount small" fusermount3 -u "$tmp/smnt"

# ---- cache files: evicted under pressure, swap files never fail ----
# A 64 MiB store with levels that cull early. Cache files (swapobj.class set
# while empty) are written, twice the store's usable space of them: the
# oldest are evicted whole as it goes (a write may also be refused, ENOBUFS,
# when it outruns the eviction below the stop level). Then swap files worth
# 70% of the usable space: every one must be written, pushing cache files
# out; what is left of either reads back exactly.
cimg=$tmp/cache.img
cmnt=$tmp/cmnt
check "cache store" "$mkfs" -q -s 64M -S 1M "$cimg"
mkdir -p "$cmnt"
check "mount with cache levels" "$fs" "$cimg" "$cmnt" -o cache_run=12,cache_cull=8,cache_stop=4
store_attr() { getfattr -n swapobj.store --only-values "$cmnt" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }
usable_mib=$(($(store_attr usable_bytes) / 1048576))
[ "$usable_mib" -ge 16 ] && ok || bad "usable space of the 64 MiB store: $usable_mib MiB"
head -c 1048576 /dev/urandom >"$tmp/c.ref"
ncache=$((2 * usable_mib))
refused=0
for i in $(seq "$ncache"); do
	touch "$cmnt/c$i" && setfattr -n swapobj.class -v cache "$cmnt/c$i" || { bad "make c$i a cache file"; break; }
	if ! dd if="$tmp/c.ref" of="$cmnt/c$i" bs=1M conv=fsync status=none 2>"$tmp/dd.err"; then
		grep -q "No buffer space available" "$tmp/dd.err" || bad "cache file c$i: $(cat "$tmp/dd.err")"
		refused=$((refused + 1))
		rm -f "$cmnt/c$i"
	fi
done
check "store attribute shows cache levels" bash -c "[ $(store_attr cache_cull_bytes) -gt 0 ]"
check "cache files evicted while they were written" bash -c "[ $(store_attr evicted_objects) -gt 0 ]"
head -c 1048576 /dev/urandom >"$tmp/s.ref"
nswap=$((usable_mib * 7 / 10))
for i in $(seq "$nswap"); do
	if ! dd if="$tmp/s.ref" of="$cmnt/s$i" bs=1M conv=fsync status=none 2>"$tmp/dd.err"; then
		bad "swap file s$i of $nswap failed: $(cat "$tmp/dd.err")"
		break
	fi
done
left=0
for i in $(seq "$ncache"); do
	if [ -e "$cmnt/c$i" ]; then
		left=$((left + 1))
		cmp -s "$tmp/c.ref" "$cmnt/c$i" || bad "cache file c$i survived with other content"
	fi
done
echo "fuse_test: $ncache cache files written ($refused refused), then $nswap swap files; $left cache files left," \
	"$(store_attr evicted_for_swap) evicted by swap writes"
for i in $(seq "$nswap"); do cmp -s "$tmp/s.ref" "$cmnt/s$i" || bad "swap file s$i differs"; done
check "unmount cache store" fusermount3 -u "$cmnt"
check_fails "bad cache levels" "$fs" "$cimg" "$cmnt" -o cache_run=5,cache_cull=8

# ---- bad input ----
check_fails "missing store" "$fs" "$tmp/none.img" "$mnt"
check_fails "not a store" bash -c "head -c 1M /dev/zero > $tmp/zero.img && $fs $tmp/zero.img $mnt"
check_fails "bad option" "$fs" "$img" "$mnt" -o threads=0
check_fails "no mount point" "$fs" "$img"
check "help" "$fs" --help
check "version" "$fs" -V
check_fails "nothing left mounted" mounted

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
