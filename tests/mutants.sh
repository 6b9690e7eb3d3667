#!/bin/sh
# tests/mutants.sh CRATE [cargo-mutants arguments...]
# Mutation testing of a pure crate (hike or eclat) with cargo-mutants
# (`cargo install cargo-mutants --locked`): every mutant of the crate's code (.cargo/mutants.toml
# says what is left out, and why) is built and tested with the crate's own tests, one at a
# time (-j 1: it is CPU-heavy; hike takes hours on 2 shared vCPUs). Prints the counts and the
# score, caught / viable (viable = built: caught + missed + timeouts). The property tests run
# fewer cases than in `cargo test` (HIKE_PROPTEST_CASES, ECLAT_DIFF_CASES, ECLAT_FUZZ_CASES
# below; override them in the environment). Results: target/mutants/CRATE/mutants.out/
# (missed.txt lists the survivors), or MUTANTS_OUT (one folder per sample, to keep several).
set -eu
crate=${1:?"tests/mutants.sh CRATE (hike or eclat) [cargo-mutants arguments]"}
shift
cd "$(dirname "$0")/.."
# every mutant is a build and a test run: no debug info, and the mold linker when there is one
export CARGO_PROFILE_DEV_DEBUG=0
if command -v mold >/dev/null 2>&1; then
	export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi
export HIKE_PROPTEST_CASES="${HIKE_PROPTEST_CASES:-100}"
export ECLAT_DIFF_CASES="${ECLAT_DIFF_CASES:-300}"
export ECLAT_FUZZ_CASES="${ECLAT_FUZZ_CASES:-150}"
out="${MUTANTS_OUT:-target/mutants/$crate}"
mkdir -p "$out"
start=$(date +%s)
# the library's unit tests and the integration tests; not the doctests and examples (whose
# build would double the time of each mutant for a few usage examples)
cargo mutants -p "$crate" -j 1 --output "$out" --cargo-test-arg=--lib --cargo-test-arg=--tests \
	"$@" || true
end=$(date +%s)
python3 - "$out/mutants.out/outcomes.json" "$crate" "$((end - start))" <<'PY'
import json, sys
path, crate, secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
outcomes = json.load(open(path))["outcomes"]
count = {}
for o in outcomes:
    if o["scenario"] == "Baseline":
        continue
    s = o["summary"]
    count[s] = count.get(s, 0) + 1
caught, missed = count.get("CaughtMutant", 0), count.get("MissedMutant", 0)
timeout, unviable = count.get("Timeout", 0), count.get("Unviable", 0)
viable = caught + missed + timeout
print(f"{crate}: {caught} caught, {missed} missed, {timeout} timeouts, {unviable} unviable "
      f"in {secs // 3600}h{secs % 3600 // 60:02d}m")
if viable:
    print(f"{crate}: mutation score {100 * caught / viable:.1f}% of {viable} viable mutants "
          f"caught ({100 * (caught + timeout) / viable:.1f}% counting timeouts as caught)")
PY
