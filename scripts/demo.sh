#!/usr/bin/env bash
# The main job: set up, build, format a default store image and exercise it
# end to end with swapobj-demo, then show it with swapobj-stat.
# SWAPOBJ_CORPUS=FILE: pages from a corpus file (raw or zstd-compressed 4 KiB
# pages, e.g. written by swapobj-corpus) instead of generated ones.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
bash "$top/scripts/build.sh" "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
img=${SWAPOBJ_IMAGE:-$top/swapobj.img}
corpus=()
if [ -n "${SWAPOBJ_CORPUS:-}" ]; then
	if [ ! -f "$SWAPOBJ_CORPUS" ] || [ ! -r "$SWAPOBJ_CORPUS" ]; then
		echo "demo.sh: SWAPOBJ_CORPUS=$SWAPOBJ_CORPUS is not a readable file" >&2
		exit 2
	fi
	corpus=(--corpus "$SWAPOBJ_CORPUS")
fi
"$top/build/tools/swapobj-demo" --size "${SWAPOBJ_SIZE:-1G}" --mib "${SWAPOBJ_MIB:-128}" "${corpus[@]}" "$img"
echo
"$top/build/tools/swapobj-stat" "$img"
