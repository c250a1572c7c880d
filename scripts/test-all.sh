#!/usr/bin/env bash
# Every test of the project: Rust (unit, integration, property, doc tests) and
# Python (pytest against the built extension). This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust tests (workspace) =="
cargo test --workspace --all-features --no-fail-fast

echo "== Python tests (dora_metrics) =="
# maturin gets its own target directory: sharing one with cargo makes each
# rebuild the other's crates.
CARGO_TARGET_DIR="${DORA_PY_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}-py}" bash dora-py/ci.sh
