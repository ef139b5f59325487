#!/usr/bin/env bash
# Makes a Release build in build/ from a fresh Debian 12 machine: installs the Debian
# packages that are missing (as root; otherwise names them and stops), configures, builds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${UNROLL_BUILD_DIR:-$root/build}

# ocl-icd-opencl-dev: libdnnl-dev only Recommends it, but oneDNN's CMake config calls
# find_package(OpenCL) and fails without it (and we install with --no-install-recommends).
packages=(cmake make g++ ccache libxtensor-dev libxtensor-blas-dev xtl-dev libxsimd-dev
          libopenblas-dev catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev libfmt-dev
          gnuplot-nox libopenmpi-dev openmpi-bin libdnnl-dev ocl-icd-opencl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "unroll: installing missing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "unroll: missing Debian packages: ${missing[*]}" >&2
    echo "unroll: install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$jobs"
