#!/usr/bin/env bash
# The whole test suite: set up, then
#   1. release build with -Werror, all Check suites (ctest)
#   2. the public header alone as C99 -pedantic and as C++
#   3. ASan+UBSan build, all suites again
#   4. TSan build, the concurrency suite
#   5. swapobj-bench smoke run of every workload (if the bench is built)
# SWAPOBJ_LONG=1 makes the randomized suites run ~20x longer.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"
cd "$top"
step() { printf '\n=== %s\n' "$*"; }

step "release build (-Werror) and tests"
bash scripts/build.sh build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-ci && ctest --output-on-failure)

step "public header: C99 -pedantic and C++"
gcc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c include/swapobj.h
g++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c++ include/swapobj.h
echo "header ok"

step "ASan + UBSan build and tests"
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DSWAPOBJ_SANITIZE=address
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --output-on-failure)

step "TSan build, concurrency suite"
bash scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DSWAPOBJ_SANITIZE=thread
(cd build-tsan && CK_RUN_CASE=threads TSAN_OPTIONS=halt_on_error=1 ./tests/test_model)

if [ -x build-ci/tools/swapobj-bench ] && [ -f tests/bench_smoke.sh ]; then
	step "swapobj-bench smoke run"
	sh tests/bench_smoke.sh build-ci
fi
step "all test stages passed"
