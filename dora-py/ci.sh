#!/usr/bin/env bash
# Build and test the Python package `dora_metrics` from a clean state.
#
#   bash dora-py/ci.sh            # from the repository root (or anywhere)
#
# Creates a venv (dora-py/.venv, or $VENV), installs maturin, pytest, pandas,
# polars, pyarrow, mypy and matplotlib from PyPI, builds the extension in
# release mode with its own CARGO_TARGET_DIR (target-py: maturin and the
# workspace's cargo builds would otherwise rebuild each other's crates), runs
# clippy on dora-py, builds the Rust reference example the tests compare
# against, then runs pytest (which includes mypy.stubtest on the stubs).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$HERE/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-py}"

echo "== venv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade \
    "maturin>=1.9.4,<2" pytest pandas polars pyarrow numpy mypy matplotlib

# DORA_PY_QUICK=1 (set by scripts/test-all.sh, whose caller already ran the
# workspace clippy): skip clippy here and build the extension in the dev
# profile, which compiles about twice as fast and shares its dependencies with
# the Rust reference example below.
if [ "${DORA_PY_QUICK:-0}" != 1 ]; then
  echo "== clippy (dora-py)"
  (cd "$ROOT" && cargo clippy -p dora-py --all-targets -- -D warnings)
  PROFILE_FLAG=--release
else
  PROFILE_FLAG=
fi

echo "== build the extension (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$HERE" && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop $PROFILE_FLAG --quiet)

echo "== Rust reference for the equality test"
(cd "$ROOT" && cargo build --quiet -p dora-py --example report_json)

echo "== pytest"
cd "$HERE"
MPLBACKEND=Agg "$VENV/bin/python" -m pytest -q tests
