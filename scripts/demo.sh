#!/usr/bin/env bash
# The main job: set up, build, format a default store image and exercise it
# end to end with swapobj-demo, then show it with swapobj-stat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
bash "$top/scripts/build.sh" "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
img=${SWAPOBJ_IMAGE:-$top/swapobj.img}
corpus=()
[ -f "$top/../shared/data/pages-64m.bin.zst" ] && corpus=(--corpus "$top/../shared/data/pages-64m.bin.zst")
"$top/build/tools/swapobj-demo" --size "${SWAPOBJ_SIZE:-1G}" --mib "${SWAPOBJ_MIB:-128}" "${corpus[@]}" "$img"
echo
"$top/build/tools/swapobj-stat" "$img"
