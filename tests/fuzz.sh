#!/bin/sh
# tests/fuzz.sh - fuzzing of the pure crates, reproducible (seeds printed and replayable,
# failures persisted in lab/pure/eclat/tests/regressions/, corpora in the repository).
#
#   tests/fuzz.sh [N] [SEED]
#       the property fuzzers of the compiler (lab/pure/eclat/tests/fuzz.rs: random fragments,
#       mutated scripts, arbitrary text; after the corpus) and its differential tests, N inputs
#       per strategy (default 20000) from SEED (default: the tests' fixed seed), release build.
#       Prints the counts.
#   tests/fuzz.sh coverage TARGET [SECONDS]
#       a coverage-guided run (cargo-fuzz, libFuzzer, stable Rust: --sanitizer none) of TARGET
#       (eclat_source, packetspec, topology, btf_meta) for SECONDS (default 60). New inputs
#       go into lab/pure/fuzz/corpus/TARGET (inputs up to 512 bytes; keep the corpus small with
#       `cargo fuzz cmin --fuzz-dir lab/pure/fuzz --sanitizer none TARGET`), a crash into
#       lab/pure/fuzz/artifacts/TARGET with the command that replays it. Needs
#       `cargo install cargo-fuzz --locked` and a C++ compiler.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = coverage ]; then
	target=${2:?"tests/fuzz.sh coverage TARGET [SECONDS]"}
	secs=${3:-60}
	exec cargo fuzz run --fuzz-dir lab/pure/fuzz --sanitizer none "$target" \
		"lab/pure/fuzz/corpus/$target" -- -max_total_time="$secs" -max_len=512 \
		-print_final_stats=1
fi
n=${1:-20000}
seed=${2:-}
export ECLAT_FUZZ_CASES="$n" ECLAT_DIFF_CASES="$n"
[ -n "$seed" ] && export ECLAT_SEED="$seed"
cargo test --release -p eclat --test fuzz --test differential -- --nocapture 2>&1 |
	grep -E 'seed|inputs|compared|test result|panicked|FAILED'
