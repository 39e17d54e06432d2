#!/usr/bin/env bash
# fuzz.sh BUILD_DIR [SECONDS]
# Run every libFuzzer target of BUILD_DIR (configured with -DSWAPOBJ_FUZZ=ON,
# built with --target fuzz_all) for SECONDS each (default 6; SWAPOBJ_LONG=1:
# 600), fuzz_image and fuzz_log 4x as long (they run 10-20 inputs/s: each
# opens, checks and repairs a store). The corpus starts from fresh seeds
# (fuzz-mkseeds); SWAPOBJ_LONG=1 or SWAPOBJ_FUZZ_KEEP=1 keep and reuse it in
# BUILD_DIR/fuzz-corpus instead (a grown corpus takes longer to reload). Limits: 2 GiB RSS, 512 MiB per allocation, 10 s per
# input. A crash, leak, hang or limit leaves its input as
# BUILD_DIR/fuzz-artifacts/<target>-crash-* and fails the script.
set -euo pipefail
build=$(cd "$1" && pwd)
secs=${2:-6}
if [ -n "${SWAPOBJ_LONG:-}" ] && [ "${SWAPOBJ_LONG}" != 0 ]; then
	secs=${2:-600}
fi
fz="$build/tests/fuzz"
regress="$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz/regress"
art="$build/fuzz-artifacts"
seeds=$(mktemp -d /tmp/swapobj-fuzz-seeds.XXXXXX)
corpus="$seeds/corpus"
keep=${SWAPOBJ_FUZZ_KEEP:-}
if [ -n "${SWAPOBJ_LONG:-}" ] && [ "${SWAPOBJ_LONG}" != 0 ]; then
	keep=1
fi
[ -n "$keep" ] && corpus="$build/fuzz-corpus"
mkdir -p "$corpus" "$art"
trap 'rm -rf "$seeds"' EXIT INT TERM
"$fz/fuzz-mkseeds" "$seeds"
failed=0
for t in "$fz"/fuzz_*; do
	name=$(basename "$t")
	mkdir -p "$corpus/$name"
	[ -d "$seeds/$name" ] && cp -n "$seeds/$name"/* "$corpus/$name/" 2>/dev/null || true
	# Inputs that once failed (tests/fuzz/regress) are run first, every time.
	[ -d "$regress/$name" ] && cp -n "$regress/$name"/* "$corpus/$name/" 2>/dev/null || true
	log="$art/$name.log"
	t_secs=$secs
	case "$name" in fuzz_image | fuzz_log) t_secs=$((secs * 4)) ;; esac
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$t" -max_total_time="$t_secs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
		-artifact_prefix="$art/$name-" -print_final_stats=1 "$corpus/$name" >"$log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
		echo "fuzz: $name: ok, $runs inputs in ${t_secs}s, corpus $(ls "$corpus/$name" | wc -l)"
	else
		failed=1
		echo "fuzz: $name: FAILED (log: $log)"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|abort|after repair|Test unit written' "$log" | head -20 || true
	fi
done
[ "$failed" -eq 0 ]
