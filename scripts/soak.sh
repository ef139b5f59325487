#!/usr/bin/env bash
# Long runs in bounded memory (docs/reliability.md, "Long runs"): 10,000 training steps of
# the LSTM H=256 reference workload, one 100,000-step stream through truncated BPTT and one
# graph of 20,000 unrolled LSTM steps. Builds only `unroll_soak` (Release, in build/ or
# $UNROLL_BUILD_DIR), prints the table, exits non-zero if a check failed. Arguments go to
# unroll_soak (`--help` lists them). About 15 minutes on a quiet 2-core machine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${UNROLL_BUILD_DIR:-$root/build}
[[ -f $build/CMakeCache.txt ]] || bash "$root/scripts/bootstrap.sh"
cmake --build "$build" --target unroll_soak -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec "$build/benchmarks/unroll_soak" "$@"
