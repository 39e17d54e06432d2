#!/usr/bin/env bash
# Static checks of the tree, run by scripts/test.sh before building:
#   1. every C file is formatted with the repository's .clang-format;
#   2. README.md, docs/ and scripts/ name nothing outside the repository
#      (no ../ paths out of it, no absolute paths of a development machine).
# The layer order of libswapobj/ is enforced by the build itself: each
# layer's target sees only the include folders below it (libswapobj/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

if command -v clang-format >/dev/null 2>&1; then
	bad=$(git ls-files '*.c' '*.h' | while read -r f; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
	done)
	if [ -n "$bad" ]; then
		echo "check-tree: not formatted with .clang-format (run clang-format -i):" >&2
		echo "$bad" | sed 's/^/  /' >&2
		fail=1
	fi
else
	echo "check-tree: clang-format not installed (scripts/setup.sh installs it)" >&2
	fail=1
fi

outside=$(git grep -nE '\.\./shared|/work/|/home/[a-z]' -- README.md docs scripts ':!scripts/check-tree.sh' || true)
if [ -n "$outside" ]; then
	echo "check-tree: README.md, docs/ or scripts/ name something outside the repository:" >&2
	echo "$outside" | sed 's/^/  /' >&2
	fail=1
fi
[ "$fail" -eq 0 ] && echo "check-tree: formatting and self-containment ok"
exit "$fail"
