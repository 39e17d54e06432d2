#!/bin/sh
# bench_smoke.sh BUILD_DIR - run every swapobj-bench workload tiny, with
# verification, and check its outputs. Exit 0 if everything passed, 1 if
# the bench (or the library under it) failed, 2 on usage.
#
# Takes about a minute. Extra bench arguments can be added through
# SWAPOBJ_BENCH_SMOKE_ARGS (for instance "--peers slot-file,disk").
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
bench="$1/tools/swapobj-bench"
if [ ! -x "$bench" ]; then
	echo "bench_smoke: $bench is not built" >&2
	exit 1
fi

out=$(mktemp -d /var/tmp/swapobj-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM

fail() {
	echo "bench_smoke: FAILED: $*" >&2
	exit 1
}

# The documented command-line contract: -V, -h, and exit 2 on usage errors.
"$bench" -V | grep -q '^swapobj-bench (libswapobj) ' || fail "-V"
"$bench" -h | grep -q -- '--workloads' || fail "-h"
for bad in "--workloads nope" "--size 0" "--runs 0" "--peers nope" "--segment 3M" "extra-arg"; do
	rc=0
	# shellcheck disable=SC2086 # word splitting intended
	"$bench" $bad >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "'$bad' exited $rc, want 2"
done

# Every workload, every available peer, one measured run, tiny sizes.
rc=0
# shellcheck disable=SC2086 # word splitting intended
"$bench" --size 16M --runs 1 --warmup 0 --objects 16 \
	--churn-size 64M --churn-factor 1 --churn-warmup 0.5 --inval-objects 20000 --timeout 120 \
	--dir "$out/work" --json "$out/bench.json" --plot "$out/plots" -q \
	${SWAPOBJ_BENCH_SMOKE_ARGS:-} >"$out/table.txt" 2>"$out/stderr.txt" || rc=$?
cat "$out/table.txt"
if [ "$rc" -ne 0 ]; then
	cat "$out/stderr.txt" >&2
	fail "swapobj-bench exited $rc"
fi

# Every workload appears, every page read back was compared, nothing failed.
for w in swapout swapin seq churn restart invalidate fuse threads swapin-batch cache; do
	grep -q "($w)\$" "$out/table.txt" || fail "workload $w missing from the table"
done
grep -q 'VERIFICATION FAILED' "$out/table.txt" "$out/stderr.txt" && fail "verification"
grep -q 'all runs passed' "$out/table.txt" || fail "the table does not say all runs passed"
grep -Eq '^corpus: +[^ ].* \([0-9]+ pages' "$out/table.txt" || fail "the table does not say which corpus it used"
[ -d "$out/work" ] && [ -z "$(ls -A "$out/work")" ] || fail "the bench left files in --dir"

# The JSON parses and says the same; the plots exist and are SVG.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$out/bench.json" <<'EOF' || fail "JSON output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed"] is False, "failed"
assert "pages" in d["corpus"], d["corpus"]
names = {w["name"] for w in d["workloads"]}
assert names >= {"swapout", "swapin", "seq", "churn", "restart", "invalidate", "fuse", "threads", "swapin-batch", "cache"}, names
lib = next(w for w in d["workloads"] if w["name"] == "swapout")["systems"]["libswapobj"]
assert lib["status"] == "ok" and lib["median"]["out_pps"] > 0, lib
assert all(r["verified_pages"] > 0 for r in lib["runs"]), "no verification"
rs = next(w for w in d["workloads"] if w["name"] == "restart")["systems"]["libswapobj"]["median"]
assert rs["rs_churn_ms"] > 0 and rs["rs_churn_ckpt_fail"] == 0, rs  # after churn: reopened, no checkpoint failed
# Batched swap-in: libswapobj read every page back in calls of 64, verified; the disk limit ran at QD32 unless skipped.
bt = next(w for w in d["workloads"] if w["name"] == "swapin-batch")["systems"]
lib = bt["libswapobj"]
assert lib["status"] == "ok" and lib["median"]["inb_pps"] > 0 and lib["median"]["inb_call_p50_us"] > 0, lib
assert all(r["verified_pages"] > 0 for r in lib["runs"]), "batch: no verification"
for name in ("slot-file", "disk"):
    s = bt.get(name)
    assert s is None or s["status"] == "skipped" or s["median"]["inb_pps"] > 0, (name, s)
# Cache class: libswapobj's hits verified, the exact-LRU peer ran the same trace, and no SWAP write failed
# while unpinned CACHE data could be evicted for it.
ca = next(w for w in d["workloads"] if w["name"] == "cache")["systems"]
lib, lru = ca["libswapobj"], ca["exact-LRU"]
assert lib["status"] == "ok" and lru["status"] == "ok", (lib["message"], lru["message"])
assert 0 < lib["median"]["ca_hit"] < 1 and 0 < lru["median"]["ca_hit"] < 1, (lib["median"], lru["median"])
assert lib["median"]["ca_accesses"] == lru["median"]["ca_accesses"], "not the same trace length"
assert lib["median"]["mx_swap_fail"] == 0 and lib["median"]["mt_swap_fail"] == 0, lib["median"]
assert lib["median"]["mt_evict_swap"] > 0, "tight levels: no SWAP write had to evict"
assert all(r["verified_pages"] > 0 for r in lib["runs"]), "cache: no verification"
# Device bytes read per page: about 4 KiB, not absurdly more (0 where the file system served it from memory:
# no O_DIRECT there and caches not dropped); less than 4 KiB on average where zero and repeated-word pages,
# which libswapobj stores without data, are read without any I/O.
sw = next(w for w in d["workloads"] if w["name"] == "swapin")["systems"]
for wl, key in ((sw, "in_cold_dev_bpp"), (bt, "inb_dev_bpp")):
    for name in ("libswapobj", "slot-file", "disk"):
        v = wl.get(name, {}).get("median", {}).get(key)
        assert v is None or v == 0 or 2048 <= v <= 65536, (name, key, v)
EOF
fi
n=$(ls "$out"/plots/*.svg 2>/dev/null | wc -l)
[ "$n" -ge 5 ] || fail "only $n SVG charts written"
for f in "$out"/plots/*.svg; do
	head -c 200 "$f" | grep -q '<svg ' || fail "$f is not SVG"
done
echo "bench_smoke: passed ($n charts)"
