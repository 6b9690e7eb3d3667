#!/bin/sh
# tests/stress.sh [cargo test arguments...]
# Runs tests while other processes keep every CPU busy: the suite must pass on a loaded
# machine (a learner's laptop compiling, a CI runner shared with other jobs). The tests are
# built first, without the load; then one CPU hog per CPU (stress-ng --cpu when it is
# installed, else a shell busy loop each) runs at normal priority for as long as the tests
# do, and is stopped on exit, whatever happens.
#
#   tests/stress.sh                         the whole suite (as root: the kernel tests too)
#   tests/stress.sh -p eclat-lab --test scripts_differential ddos
#   STRESS_HOGS=4 tests/stress.sh ...       more hogs than CPUs
#   STRESS_REPEAT=5 tests/stress.sh ...     the same tests 5 times (a flaky test shows up)
#
# Prints each run's result and a summary line; exits non-zero when any run failed.
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 0 ] && set -- --workspace
hogs=${STRESS_HOGS:-$(nproc)}
repeat=${STRESS_REPEAT:-1}

echo "stress: building the tests (cargo test --no-run $*)"
cargo test --no-run "$@" >/dev/null 2>&1 || cargo test --no-run "$@"

pids=""
stop() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	pids=""
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

if command -v stress-ng >/dev/null 2>&1; then
	stress-ng --cpu "$hogs" --cpu-method matrixprod --quiet &
	pids=$!
	what="stress-ng --cpu $hogs"
else
	i=0
	while [ "$i" -lt "$hogs" ]; do
		sh -c 'while :; do :; done' &
		pids="$pids $!"
		i=$((i + 1))
	done
	what="$hogs shell busy loops"
fi
echo "stress: $what keeping $(nproc) CPUs busy"

failed=0
run=1
while [ "$run" -le "$repeat" ]; do
	start=$(date +%s)
	if cargo test "$@"; then
		status=passed
	else
		status=FAILED
		failed=$((failed + 1))
	fi
	echo "stress: run $run/$repeat $status in $(($(date +%s) - start)) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	run=$((run + 1))
done
stop
echo "stress: $((repeat - failed)) of $repeat runs passed under $what"
[ "$failed" -eq 0 ]
