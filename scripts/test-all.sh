#!/usr/bin/env bash
# Every test of the project: Rust (unit, integration, property, doc tests) and
# Python (pytest against the built extension). This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust tests (workspace) =="
cargo test --workspace --all-features --no-fail-fast

echo "== Python tests (dora_metrics) =="
bash dora-py/ci.sh
