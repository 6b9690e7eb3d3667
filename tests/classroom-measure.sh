#!/bin/bash
# What a classroom of N learners costs on this server: a thin wrapper over the bench's
# classroom section, `eclat-lab bench --only classroom --classroom N[,N...]` (one
# implementation: lab/faces/src/bench/classroom.rs). For each N, smallest first, the bench runs
# `eclat-lab classroom up N --load ddos.eclat --lesson 8` (lesson 8's solution; users of a
# prefix of its own), reads learner 1's BPF objects, has every learner flood their own lab from
# their own account at once (each lab must count exactly its own 100 packets: the bench exits
# 1 otherwise), logs K learners in (`su - LEARNER`: their login opens the tutorial) and measures
# their idle tutorials, then `classroom down`; per-lab figures against the smallest N's.
#
#   sudo tests/classroom-measure.sh [N[,N...]] [--tui K] [--tui-seconds S] [--bin PATH]
#
# --tui K: K learners log in (default: all N; 0: none); --tui-seconds: how long their idle
# tutorials are measured (default 30).
set -u
N=10; BIN=""; extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--tui) extra+=(--classroom-tui "$2"); shift 2 ;;
	--tui-seconds) extra+=(--tui-seconds "$2"); shift 2 ;;
	--bin) BIN=$2; shift 2 ;;
	*) N=$1; shift ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$here/target/release/eclat-lab}
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)"; exit 2; }
exec "$BIN" bench --only classroom --classroom "$N" "${extra[@]}"
