#!/bin/sh
# Rebuilds every object into obj/ (what `make` does); `./build.sh check` compares instead.
set -eu
cd "$(dirname "$0")"
if [ "${1:-}" = check ]; then exec ./check.sh; fi
exec make -s "$@"
