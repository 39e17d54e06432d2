#!/usr/bin/env bash
# The main job, end to end:
#   1. install what is missing (scripts/setup.sh) and build (./build);
#   2. format a store image and exercise it with swapobj-demo (swap-out,
#      swap-in with verification, punch, prefix invalidation, restart with
#      replay, cleaning), then show it with swapobj-stat;
#   3. mount the image with swapobjfs as a swap directory, show it as a
#      person would (ls, the swapobj.* attributes of one file, df), and
#      unmount it cleanly. Skipped, with a message, without root, /dev/fuse
#      or a swapobjfs build.
#
# Environment:
#   SWAPOBJ_IMAGE   image path (default ./swapobj.img in the checkout)
#   SWAPOBJ_SIZE    image size (default 1G)
#   SWAPOBJ_MIB     MiB of pages swapped out (default 128)
#   SWAPOBJ_CORPUS  a file of 4 KiB pages (raw or .zst; swapobj-corpus makes
#                   one from running processes); default: generated pages
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build

corpus=()
if [ -n "${SWAPOBJ_CORPUS:-}" ]; then
	if [ ! -f "$SWAPOBJ_CORPUS" ] || [ ! -r "$SWAPOBJ_CORPUS" ]; then
		echo "demo: SWAPOBJ_CORPUS=$SWAPOBJ_CORPUS is not a readable file" >&2
		exit 2
	fi
	corpus=(--corpus "$SWAPOBJ_CORPUS")
fi

bash "$top/scripts/setup.sh"
bash "$top/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
img=${SWAPOBJ_IMAGE:-$top/swapobj.img}
"$build/tools/swapobj-demo" --size "${SWAPOBJ_SIZE:-1G}" --mib "${SWAPOBJ_MIB:-128}" "${corpus[@]}" "$img"
echo
"$build/tools/swapobj-stat" "$img"

# ---- the same store, mounted as a swap directory ------------------------
echo
echo "== the store as a swap directory (swapobjfs)"
fs=$build/fusefs/swapobjfs
skip=
if [ "$(id -u)" -ne 0 ]; then
	skip="not root (mounting needs root here)"
elif [ ! -c /dev/fuse ]; then
	skip="/dev/fuse is missing (no FUSE in this kernel or container)"
elif [ ! -x "$fs" ]; then
	skip="swapobjfs was not built (libfuse3-dev >= 3.12 missing)"
elif ! command -v fusermount3 >/dev/null 2>&1; then
	skip="fusermount3 is missing (package fuse3)"
fi
if [ -n "$skip" ]; then
	echo "demo: skipping the mount: $skip"
	exit 0
fi

mnt=$(mktemp -d "${TMPDIR:-/tmp}/swapobj-demo-mnt.XXXXXX")
pid=
cleanup() {
	cd / # not inside the mount, or the unmount finds it busy
	if mountpoint -q "$mnt" 2>/dev/null; then
		echo "demo: unmounting $mnt" >&2
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	if [ -n "$pid" ]; then
		# Unmounted, the daemon closes the store and exits by itself.
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Foreground (-f) in the background of this shell, so that its exit status
# after the unmount says whether it closed the store cleanly.
echo "\$ swapobjfs $img $mnt -f &"
"$fs" "$img" "$mnt" -f &
pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || true
		pid=
		echo "demo: swapobjfs exited before the mount appeared" >&2
		exit 1
	fi
	sleep 0.1
done
if ! mountpoint -q "$mnt"; then
	echo "demo: $mnt is not mounted after 10 s" >&2
	exit 1
fi

# Directories are key prefixes, files are objects; key bytes that are not
# printable (the demo's numeric components) show as %XX.
cd "$mnt"
echo
echo "\$ cd $mnt; ls -lR | head -40"
listing=$(ls -lR) # not piped into head: with pipefail, ls killed by SIGPIPE would fail the demo
head -40 <<<"$listing"
echo "($(find . -type f | wc -l) files, $(find . -mindepth 1 -type d | wc -l) directories)"

# The swapobj.* attributes are virtual and deliberately not listed by
# listxattr (so that cp -a and rsync -X do not copy them), so getfattr -d
# shows only stored attributes; the virtual ones are read by name.
files=$(find . -type f -size +0 | sort)
file=${files%%$'\n'*}
if [ -z "$file" ]; then
	echo "demo: the mounted store shows no non-empty file" >&2
	exit 1
fi
echo
echo "\$ getfattr -d -m - '$file'   # stored attributes (user.*, trusted.*)"
getfattr -d -m - -- "$file" || true
echo "\$ getfattr -n swapobj.<name> '$file'   # the virtual ones"
for a in class version pin ephemeral stored_bytes pages extents; do
	v=$(getfattr --only-values -n "swapobj.$a" -- "$file")
	printf '%-22s %s\n' "swapobj.$a" "$v"
done

echo
echo "\$ df -h ."
df -h .
cd "$top"

echo
echo "\$ fusermount3 -u $mnt"
fusermount3 -u "$mnt"
rc=0
wait "$pid" || rc=$?
pid=
if [ "$rc" -ne 0 ]; then
	echo "demo: swapobjfs exited with status $rc after the unmount" >&2
	exit 1
fi
echo "unmounted; swapobjfs closed the store (exit 0)"
if ! "$build/tools/swapobj-fsck" -n "$img" >/dev/null; then
	echo "demo: swapobj-fsck -n $img reports errors after the mount" >&2
	exit 1
fi
echo "swapobj-fsck -n: the store checks clean after the mount"
