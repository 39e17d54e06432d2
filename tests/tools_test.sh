#!/usr/bin/env bash
# CLI behaviour of swapobj-mkfs, swapobj-stat, swapobj-demo, swapobj-dump and
# swapobj-fsck: options,
# output, documented exit codes, clear errors on bad input.
# Usage: tools_test.sh TOOLS_DIR
set -u
tools=$1
dir=$(mktemp -d /tmp/swapobj-tools-XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0
check() { # check NAME EXPECTED_STATUS CMD...
	local name=$1 want=$2
	shift 2
	"$@" >"$dir/out" 2>"$dir/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name: exit $got, expected $want"
		sed 's/^/  | /' "$dir/out" "$dir/err" | head -10
	fi
}
contains() { # contains NAME FILE PATTERN
	if grep -q -- "$3" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: no '$3' in output"; fi
}

check "mkfs -V" 0 "$tools/swapobj-mkfs" -V
contains "mkfs -V prints version" "$dir/out" "libswapobj"
check "mkfs --help" 0 "$tools/swapobj-mkfs" --help
check "mkfs without device" 2 "$tools/swapobj-mkfs"
check "mkfs bad size" 2 "$tools/swapobj-mkfs" -s 12Q "$dir/a.img"
check "mkfs bad segment size" 1 "$tools/swapobj-mkfs" -s 64M -S 3M "$dir/a.img"
contains "bad segment size message" "$dir/err" "power of two"
check "mkfs too small" 1 "$tools/swapobj-mkfs" -s 2M "$dir/a.img"
check "mkfs two devices" 0 "$tools/swapobj-mkfs" -s 32M -S 1M "$dir/a.img" "$dir/b.img"
contains "mkfs reports capacity" "$dir/out" "formatted 2 devices"
check "stat json" 0 "$tools/swapobj-stat" --json "$dir/b.img" "$dir/a.img"
contains "stat json devices" "$dir/out" '"devices":2'
contains "stat json segments" "$dir/out" '"segments":62'
contains "stat json usable" "$dir/out" '"usable_bytes":'
contains "stat json histogram" "$dir/out" '"util_histogram":\[0,0,0,0,0,0,0,0,0,0\]'
contains "stat json classes" "$dir/out" '"live_swap_bytes":0,"live_cache_bytes":0'
check "stat text" 0 "$tools/swapobj-stat" "$dir/b.img" "$dir/a.img"
contains "stat text usable" "$dir/out" "^usable "
contains "stat text dead" "$dir/out" "^dead "
contains "stat text histogram" "$dir/out" "^utilization .*90-100%:0"
contains "stat text no checkpoint yet" "$dir/out" "^checkpoint    none; none failed since open"
check "stat one device of two" 1 "$tools/swapobj-stat" "$dir/a.img"
contains "stat missing device message" "$dir/err" "store of 2 devices"
head -c 4194304 /dev/urandom >"$dir/junk.img"
check "stat on junk" 1 "$tools/swapobj-stat" "$dir/junk.img"
contains "stat junk message" "$dir/err" "no swapobj superblock"
check "stat missing file" 1 "$tools/swapobj-stat" "$dir/nope.img"
check "demo small" 0 "$tools/swapobj-demo" -s 128M -m 4 -r "$dir/demo.img"
contains "demo passes" "$dir/out" "all checks passed"
check "demo bad mib" 2 "$tools/swapobj-demo" -m 0 "$dir/demo.img"
check "demo keep image" 0 "$tools/swapobj-demo" -s 128M -m 2 "$dir/kept.img"
check "stat after demo" 0 "$tools/swapobj-stat" --json "$dir/kept.img"
contains "stat json checkpoint time" "$dir/out" '"checkpoint_time_ns":[1-9][0-9]*,"checkpoint_age_s":[0-9]'
contains "stat json checkpoint failures" "$dir/out" '"checkpoint_failures":0,"checkpoint_last_error":0'
# live = swap + cache, the used segments are all in the histogram, live fits in usable
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$dir/out"; }
hist=$(sed -n 's/.*"util_histogram":\[\([0-9,]*\)\].*/\1/p' "$dir/out" | tr ',' '+')
if [ "$(field live_bytes)" -gt 0 ] &&
	[ "$(field live_bytes)" -eq $(($(field live_swap_bytes) + $(field live_cache_bytes))) ] &&
	[ $((hist)) -eq "$(field segments_used)" ] &&
	[ "$(field segments_used)" -eq $(($(field segments) - $(field segments_free))) ] &&
	[ "$(field live_bytes)" -le "$(field usable_bytes)" ] &&
	[ "$(field usable_bytes)" -lt "$(field capacity_bytes)" ]; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "FAIL: stat json figures inconsistent"
	sed 's/^/  | /' "$dir/out"
fi
check "dump segments" 0 "$tools/swapobj-dump" "$dir/kept.img"
contains "dump shows segments" "$dir/out" "segment "
contains "dump shows the layout" "$dir/out" "^segment .* split .*stream [0-9]* bytes, data area to +[0-9]"
check "dump records" 0 "$tools/swapobj-dump" -r "$dir/kept.img"
contains "dump shows stream offsets and copies" "$dir/out" "^  seg  *[0-9]* s+[0-9]*  *A "
contains "dump shows out-of-line payloads" "$dir/out" "DATA .* data +[0-9]* len 4096"
check "dump records json" 0 "$tools/swapobj-dump" -r -j "$dir/kept.img"
contains "dump shows records" "$dir/out" '"type":"CREATE"'
contains "dump json split records" "$dir/out" '"stream_offset":[0-9]*,"copy":"A","other_copy_differs":false'
contains "dump json out-of-line payloads" "$dir/out" '"data_offset":[0-9]*,"data_len":4096'
check "dump objects" 0 "$tools/swapobj-dump" -o "$dir/kept.img"
contains "dump shows keys" "$dir/out" "/shmem/"
check "dump junk" 1 "$tools/swapobj-dump" "$dir/junk.img"
# swapobj-fsck: e2fsck's exit codes (test_fsck covers damage and repair).
check "fsck -V" 0 "$tools/swapobj-fsck" -V
contains "fsck -V prints version" "$dir/out" "libswapobj"
check "fsck --help" 0 "$tools/swapobj-fsck" --help
contains "fsck help lists exit codes" "$dir/out" "16 usage error"
check "fsck without device" 16 "$tools/swapobj-fsck"
check "fsck -n and -y" 16 "$tools/swapobj-fsck" -n -y "$dir/kept.img"
check "fsck clean store" 0 "$tools/swapobj-fsck" "$dir/kept.img"
contains "fsck says clean" "$dir/out" "^clean"
check "fsck json" 0 "$tools/swapobj-fsck" --json "$dir/kept.img"
contains "fsck json exit" "$dir/out" '"exit":0'
check "fsck two-device store" 0 "$tools/swapobj-fsck" -n "$dir/b.img" "$dir/a.img"
check "fsck one device of two" 8 "$tools/swapobj-fsck" "$dir/a.img"
check "fsck junk" 8 "$tools/swapobj-fsck" "$dir/junk.img"
check "fsck missing file" 8 "$tools/swapobj-fsck" "$dir/nope.img"
check "fsck repair clean store" 0 "$tools/swapobj-fsck" -y "$dir/kept.img"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
