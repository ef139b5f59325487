#!/usr/bin/env bash
# The whole test suite: install what is missing, build Release, run every test with ctest.
# --sanitize (on by default when CI=true, so .ci/run gets it; --no-sanitize turns it off)
# then ALSO builds build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer
# (UNROLL_SANITIZE=address,undefined, -O1 -g, no benchmarks) and runs every ctest test there
# again; any report aborts that test and fails the run (docs/reliability.md, "Sanitizers").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=0
[[ ${CI:-} == true ]] && sanitize=1
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=1 ;;
    --no-sanitize) sanitize=0 ;;
    *) echo "usage: bash scripts/test.sh [--sanitize | --no-sanitize]" >&2; exit 2 ;;
  esac
done
jobs=$(nproc 2>/dev/null || echo 2)
bash "$root/scripts/bootstrap.sh"
ctest --test-dir "${UNROLL_BUILD_DIR:-$root/build}" --output-on-failure -j"$jobs"

if ((sanitize)); then
  asan=${UNROLL_ASAN_BUILD_DIR:-$root/build-asan}
  echo "unroll: sanitizer build (ASan + UBSan) in $asan"
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
        -DUNROLL_SANITIZE=address,undefined -DUNROLL_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$asan" -j"$jobs"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # Leaks count; scripts/lsan.supp names only third-party libraries (Open MPI's).
  export LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0
  ctest --test-dir "$asan" --output-on-failure -j"$jobs" -E '^mpi\.'
  # Open MPI's libraries have no frame pointers: the slow unwinder gives the full stacks
  # that the suppressions match (too slow for the rest of the suite).
  ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
    ctest --test-dir "$asan" --output-on-failure -j"$jobs" -R '^mpi\.' --no-tests=ignore
fi
