#!/usr/bin/env bash
# API reference: Doxygen (from Debian) over the public headers' `///` comments, into
# build/docs/html/index.html. Installs doxygen when missing (as root; otherwise names it).
#   bash scripts/docs.sh                  the reference
#   bash scripts/docs.sh --undocumented   also list public declarations without a comment
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v doxygen >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends doxygen
  else
    echo "unroll: doxygen is missing; install it as root: apt-get install -y doxygen" >&2
    exit 1
  fi
fi
export UNROLL_DOCS_OUT="${UNROLL_DOCS_OUT:-$root/build/docs}"
mkdir -p "$UNROLL_DOCS_OUT"
cd "$root"
doxygen docs/Doxyfile
if [[ ${1:-} == --undocumented ]]; then
  check="$UNROLL_DOCS_OUT/undocumented"
  mkdir -p "$check"
  sed -e 's/^EXTRACT_ALL .*/EXTRACT_ALL = NO/' -e 's/^WARN_IF_UNDOCUMENTED .*/WARN_IF_UNDOCUMENTED = YES/' \
      -e 's/^GENERATE_HTML .*/GENERATE_HTML = NO/' docs/Doxyfile |
    UNROLL_DOCS_OUT="$check" doxygen - >/dev/null
  grep "not documented" "$check/warnings.log" | sed "s|$root/||" || true
  echo "undocumented public declarations: $(grep -c "not documented" "$check/warnings.log" || true)"
fi
echo "API reference: $UNROLL_DOCS_OUT/html/index.html ($(wc -l < "$UNROLL_DOCS_OUT/warnings.log") warnings in $UNROLL_DOCS_OUT/warnings.log)"
