#!/usr/bin/env bash
# Every test of the project: Rust (unit, integration, property, doc tests) and
# Python (pytest against the built extension). This is the README's test command.
# Lints are .ci/run's job (cargo fmt, cargo clippy --workspace, which covers dora-py).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust tests (workspace) =="
cargo test --workspace --all-features --no-fail-fast

echo "== Python tests (dora_metrics) =="
# maturin gets its own target directory: sharing one with cargo makes each
# rebuild the other's crates.
DORA_PY_QUICK="${DORA_PY_QUICK:-1}" \
  CARGO_TARGET_DIR="${DORA_PY_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}-py}" bash dora-py/ci.sh
