#!/usr/bin/env bash
# The whole test suite: install what is missing, build Release, run every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh"
ctest --test-dir "${UNROLL_BUILD_DIR:-$root/build}" --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
