#!/usr/bin/env bash
# Configure and build into a build directory: build.sh DIR [cmake args...]
set -euo pipefail
dir=$1
shift
cmake -S "$(dirname "$0")/.." -B "$dir" -DSWAPOBJ_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
