#!/bin/sh
# regen.sh [BUILD_DIR] - regenerate the golden store image and its manifest
# (tests/golden/store.img.zst, tests/golden/store.manifest) with the
# generator of this source tree. Run it after a change of the on-disk
# format, check the result with test_golden, commit both files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build-golden}
if [ ! -x "$build/tests/swapobj-golden-gen" ]; then
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" --target swapobj-golden-gen -j2 >/dev/null
fi
tmp=$(mktemp -d /tmp/swapobj-golden.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$build/tests/swapobj-golden-gen" "$tmp/store.img" "$tmp/store.manifest"
zstd -q -19 -f "$tmp/store.img" -o "$here/store.img.zst"
cp "$tmp/store.manifest" "$here/store.manifest"
echo "regen: $(wc -c <"$here/store.img.zst") bytes compressed, $(($(wc -l <"$here/store.manifest") - 1)) objects"
