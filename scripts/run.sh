#!/usr/bin/env bash
# The main job: install what is missing, build Release, run `unroll compare` (extra
# arguments are passed on, e.g. --tasks copy --steps 500).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh"
cd "$root"
exec "${UNROLL_BUILD_DIR:-$root/build}/unroll" compare "$@"
