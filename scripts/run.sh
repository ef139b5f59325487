#!/usr/bin/env bash
# The main job: install what is missing, build Release, run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh"
build=${UNROLL_BUILD_DIR:-$root/build}
if [[ -x "$build/unroll" ]]; then
  exec "$build/unroll" compare "$@"
fi
exec "$build/examples/custom_op" "$@"
