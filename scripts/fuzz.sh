#!/usr/bin/env bash
# Fuzzes the two loaders of untrusted files with libFuzzer (clang, ASan + UBSan):
#   bash scripts/fuzz.sh [seconds]   # build in build-fuzz/, run both targets at once (default 60 s each)
#   bash scripts/fuzz.sh --merge     # minimise what the runs found into fuzz/corpus/<target>
# Each run starts from fuzz/corpus/<target> (kept in the repo and replayed by the [fuzz]
# test), valid seeds that fuzz_make_seeds writes, and for safetensors the PyTorch-written
# parity fixtures. New inputs go to build-fuzz/work/<target>, never into the repo;
# crash/leak/timeout reproducers go to build-fuzz/artifacts/ and the run fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${UNROLL_FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=(safetensors checkpoint)

if [[ ${1:-} == --merge ]]; then
  for t in "${targets[@]}"; do
    # Keeps fuzz/corpus/<t> and adds the fewest other inputs that reach new edges (edges
    # only, not hit counts, so the corpus stays small).
    "$build/fuzz/fuzz_$t" -set_cover_merge=1 -use_counters=0 \
        "$root/fuzz/corpus/$t" "$build/work/$t" "$build/seeds/$t"
  done
  exit 0
fi
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: bash scripts/fuzz.sh [seconds] | --merge" >&2; exit 2; }

command -v clang++ >/dev/null || { echo "scripts/fuzz.sh: needs clang++ (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DUNROLL_BUILD_FUZZERS=ON -DUNROLL_SANITIZE=address,undefined \
      -DUNROLL_BUILD_TESTS=OFF -DUNROLL_BUILD_BENCHMARKS=OFF -DUNROLL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target fuzz_safetensors fuzz_checkpoint fuzz_make_seeds -j2
"$build/fuzz/fuzz_make_seeds" "$build/seeds/safetensors" "$build/seeds/checkpoint"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p "$build/artifacts"
pids=()
for t in "${targets[@]}"; do
  mkdir -p "$build/work/$t" "$root/fuzz/corpus/$t"
  extra=()
  [[ $t == safetensors ]] && extra=("$root/tests/data/parity")
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -dict="$root/fuzz/$t.dict" -artifact_prefix="$build/artifacts/$t-" \
      "$build/work/$t" "$root/fuzz/corpus/$t" "$build/seeds/$t" "${extra[@]}" \
      >"$build/$t.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  if wait "${pids[$i]}"; then
    echo "fuzz_${targets[$i]}: no crash in ${seconds}s ($(grep -E '^stat::number_of_executed_units' "$build/${targets[$i]}.log" | awk '{print $2}') executions); log: $build/${targets[$i]}.log"
  else
    echo "fuzz_${targets[$i]}: FAILED; reproducer in $build/artifacts/, log: $build/${targets[$i]}.log" >&2
    status=1
  fi
done
exit $status
