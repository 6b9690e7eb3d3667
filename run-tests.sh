#!/usr/bin/env bash
# run-tests.sh - set up whatever is missing, then run the whole test suite: pure tests,
# golden files, snapshots, and the real-kernel tests (own namespaces, BPF_PROG_TEST_RUN).
# Needs root, like the lab.   sudo ./run-tests.sh
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --deps
if ! command -v cargo >/dev/null 2>&1 && [ -n "${SUDO_USER:-}" ]; then
  export PATH="$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin:$PATH"
fi
# kernel tests create namespaces and load programs: run them one binary at a time but let
# each binary's tests run in parallel (they use unique names)
cargo test --workspace --locked --no-fail-fast

# The book: a pinned mdBook (installed once with cargo), built with the commands page generated
# from the binary just tested, then checked: every lesson has its chapter, every include and
# link resolves, every compiler diagnostic is documented with a working example.
MDBOOK_VERSION=0.4.52
MDBOOK=$(command -v mdbook || echo "${CARGO_HOME:-$HOME/.cargo}/bin/mdbook")
if [ "$("$MDBOOK" --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features --features search
  MDBOOK="${CARGO_HOME:-$HOME/.cargo}/bin/mdbook"
fi
cargo build --locked -p eclat-lab
ECLAT_LAB_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/eclat-lab" "$MDBOOK" build book
python3 book/tools/check-book.py
