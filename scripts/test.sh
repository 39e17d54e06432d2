#!/usr/bin/env bash
# The whole test suite: set up, then
#   0. static checks: formatting, nothing outside the repository named (scripts/check-tree.sh)
#   1. release build with -Werror, all Check suites (ctest)
#   2. the public header alone as C99 -pedantic and as C++
#   3. ASan+UBSan build with the debug invariants (index and usage-table
#      checks at every point they must hold), all suites again
#   4. TSan build, the concurrency suite
#   5. swapobj-bench smoke run of every workload (if the bench is built)
#   6. clang + libFuzzer build, every fuzz target briefly (scripts/fuzz.sh)
# SWAPOBJ_LONG=1 makes the randomized suites run ~20x longer and the fuzzers
# 10 minutes each.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
cd "$top"
step() { printf '\n=== %s\n' "$*"; }

step "static checks"
bash scripts/check-tree.sh

step "release build (-Werror) and tests"
bash scripts/build.sh build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The power-cut sweep runs its full 1,000 cut points (100,000 with SWAPOBJ_LONG)
# in the ASan stage below; here 250 unless told otherwise.
crash_points=${SWAPOBJ_CRASH_POINTS:-}
[ -z "$crash_points" ] && [ -z "${SWAPOBJ_LONG:-}" ] && crash_points=250
(cd build-ci && SWAPOBJ_CRASH_POINTS=$crash_points ctest --output-on-failure)

step "public header: C99 -pedantic and C++"
gcc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c include/swapobj.h
g++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c++ include/swapobj.h
echo "header ok"

step "ASan + UBSan build with debug invariants, and tests"
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DSWAPOBJ_SANITIZE=address -DSWAPOBJ_DEBUG_INVARIANTS=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --output-on-failure)

step "TSan build, concurrency suite"
bash scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DSWAPOBJ_SANITIZE=thread
(cd build-tsan && for t in test_model test_batch; do
	CK_INCLUDE_TAGS=threads TSAN_OPTIONS=halt_on_error=1 ./tests/$t || exit 1
done)

if [ -x build-ci/tools/swapobj-bench ] && [ -f tests/bench_smoke.sh ]; then
	step "swapobj-bench smoke run"
	sh tests/bench_smoke.sh build-ci
fi
if command -v clang >/dev/null 2>&1; then
	step "fuzzing: clang + libFuzzer build, every target briefly"
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSWAPOBJ_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSWAPOBJ_FUZZ=ON -DSWAPOBJ_BUILD_TESTS=OFF >/dev/null
	cmake --build build-fuzz --target fuzz_all -j"$(nproc)"
	bash scripts/fuzz.sh build-fuzz
fi
step "all test stages passed"
