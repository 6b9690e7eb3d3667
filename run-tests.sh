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
