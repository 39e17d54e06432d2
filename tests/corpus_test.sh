#!/usr/bin/env bash
# swapobj-corpus end to end: a helper process fills memory with a known
# pattern, the tool captures it, the corpus decompresses (zstd -dc) to
# exactly those pages; bad input gives the documented exit codes; then the
# bench smoke run uses the captured corpus.
# Usage: corpus_test.sh BUILD_DIR
set -u
build=$1
tool=$build/tools/swapobj-corpus
fill=$build/tests/corpus_fill
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/swapobj-corpus-XXXXXX)
helper=
cleanup() {
	[ -n "$helper" ] && kill "$helper" 2>/dev/null && wait "$helper" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	echo "FAIL: $*"
}
check() { # check NAME EXPECTED_STATUS CMD...
	local name=$1 want=$2
	shift 2
	"$@" >"$dir/out" 2>"$dir/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		bad "$name: exit $got, expected $want"
		sed 's/^/  | /' "$dir/out" "$dir/err" | head -10
	fi
}
contains() { # contains NAME FILE PATTERN
	if grep -q -- "$3" "$2"; then ok; else bad "$1: no '$3' in $(basename "$2"): $(head -c 300 "$2")"; fi
}
if ! command -v zstd >/dev/null 2>&1; then
	echo "corpus_test: zstd (the command) not installed: skipped"
	exit 77
fi

# The command line.
check "-V" 0 "$tool" -V
contains "-V prints version" "$dir/out" "^swapobj-corpus (libswapobj) "
check "--help" 0 "$tool" --help
contains "--help lists --zero-pages" "$dir/out" "--zero-pages"
check "no PID" 2 "$tool"
check "PID not a number" 2 "$tool" 12ab
check "bad --zero-pages" 2 "$tool" --zero-pages maybe 1
check "bad --max-mib" 2 "$tool" -m 0 1
check "unknown option" 2 "$tool" --nope 1
nopid=$(($(cat /proc/sys/kernel/pid_max) + 1))
check "a PID with no process" 1 "$tool" -o "$dir/none.zst" "$nopid"
contains "bad PID message" "$dir/err" "process $nopid: no such process"
[ ! -e "$dir/none.zst" ] && ok || bad "a failed capture left its output file"

# 8 MiB of pattern pages, 1 MiB written with zeros, 1 MiB never touched.
mkfifo "$dir/ready"
"$fill" fill 8 >"$dir/ready" &
helper=$!
read -r line <"$dir/ready"
[ "$line" = ready ] || bad "helper did not start: '$line'"

check "capture" 0 "$tool" -o "$dir/c.zst" "$helper"
contains "summary: pages" "$dir/out" "pages (.*) from [0-9]* mappings of 1 process;"
contains "summary: zero pages kept" "$dir/out" "zero pages kept"
zstd -q -t "$dir/c.zst" && ok || bad "the corpus is not a valid zstd stream"
zstd -dc "$dir/c.zst" | "$fill" check 8 >"$dir/check"
read -r _ pattern _ zero _ other _ total <"$dir/check"
[ "$pattern" -eq 2048 ] && ok || bad "keep: $pattern of 2048 pattern pages in the corpus ($(cat "$dir/check"))"
[ "$zero" -ge 256 ] && ok || bad "keep: $zero zero pages, want the 256 written ones at least"
captured=$(sed -n 's/^swapobj-corpus: \([0-9]*\) pages .*/\1/p' "$dir/out")
[ "$captured" = "$total" ] && ok || bad "summary says $captured pages, the corpus holds $total"
reported_zero=$(sed -n 's/.*; \([0-9]*\) zero pages kept.*/\1/p' "$dir/out")
[ "$reported_zero" = "$zero" ] && ok || bad "summary says $reported_zero zero pages, the corpus holds $zero"
absent=$(sed -n 's/.* \([0-9]*\) pages not in memory .*/\1/p' "$dir/out")
[ "${absent:-0}" -ge 256 ] && ok || bad "summary says ${absent:-no} pages not in memory, want the 256 untouched ones at least"

check "capture, zero pages dropped" 0 "$tool" --zero-pages drop -o "$dir/d.zst" "$helper"
contains "summary: dropped" "$dir/out" "zero pages dropped"
zstd -dc "$dir/d.zst" | "$fill" check 8 >"$dir/check"
read -r _ pattern _ zero _ other _ total <"$dir/check"
[ "$pattern" -eq 2048 ] && ok || bad "drop: $pattern of 2048 pattern pages ($(cat "$dir/check"))"
[ "$zero" -eq 0 ] && ok || bad "drop: $zero zero pages left in the corpus"

check "capture, -m 1" 0 "$tool" -m 1 -o "$dir/m.zst" "$helper"
[ "$(zstd -dc "$dir/m.zst" | wc -c)" -eq $((1 << 20)) ] && ok || bad "-m 1 did not give exactly 1 MiB of pages"
check "capture to stdout" 0 sh -c "'$tool' -m 1 -o - $helper | zstd -dc | wc -c"
contains "stdout corpus is 1 MiB" "$dir/out" "^$((1 << 20))\$"
check "two processes, one gone" 1 "$tool" -o "$dir/two.zst" "$helper" "$nopid"
[ ! -e "$dir/two.zst" ] && ok || bad "a failed capture left its output file"

# The bench on the captured corpus (every workload, tiny).
if [ -x "$build/tools/swapobj-bench" ]; then
	SWAPOBJ_BENCH_SMOKE_ARGS="--corpus $dir/c.zst" sh "$here/bench_smoke.sh" "$build" >"$dir/smoke" 2>&1 &&
		ok || { bad "bench smoke with --corpus"; tail -20 "$dir/smoke"; }
	contains "the bench names the corpus" "$dir/smoke" "^corpus: *$dir/c.zst ([0-9]* pages, zstd)"
fi

echo "corpus_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
