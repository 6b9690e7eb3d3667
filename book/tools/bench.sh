#!/usr/bin/env bash
# bench.sh - refresh book/src/reference/bench.txt, the table on the performance page: a release
# build of eclat-lab, then `eclat-lab bench` on this machine, with what the machine is.
#   sudo book/tools/bench.sh [--runs N]     (ECLAT_LAB_BIN=path: that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run as root: the bench loads programs and builds namespaces" >&2; exit 1; }
BIN=${ECLAT_LAB_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release --locked -p eclat-lab >/dev/null
  BIN=target/release/eclat-lab
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
out=$("$BIN" bench "$@")
{
  echo '```text'
  echo "\$ sudo target/release/eclat-lab bench $*"
  echo "$out"
  echo
  echo "# $(date -u +%Y-%m-%d), Linux $(uname -r), $(nproc) CPU(s): $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load average before the run: $load"
  echo '```'
} > book/src/reference/bench.txt
echo "wrote book/src/reference/bench.txt"
