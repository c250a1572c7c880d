#!/usr/bin/env bash
# Every test of the project: Rust (unit, integration, property, doc tests) and
# Python (pytest against the built extension). This is the README's test command;
# it does its own set-up on a fresh machine (headless Chromium for the HTML
# dashboard test, a throwaway PostgreSQL server for the store's PostgreSQL
# backend, a Python venv with maturin and pytest for the bindings).
# Lints are .ci/run's job (cargo fmt, cargo clippy --workspace, which covers dora-py).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== set-up: headless Chromium for the HTML dashboard test =="
have_chromium() {
  [ -n "${DORA_CHROMIUM:-}" ] && [ -x "${DORA_CHROMIUM}" ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1
}
if have_chromium; then
  echo "found"
elif [ "${DORA_SKIP_BROWSER:-0}" = 1 ]; then
  echo "DORA_SKIP_BROWSER=1: the browser test will be skipped"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing chromium with apt-get (about 30 s)"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the HTML rendering test will fail (set DORA_SKIP_BROWSER=1 to skip it)" >&2
else
  echo "warning: no chromium and no apt-get: install Chromium, point DORA_CHROMIUM at it, or set DORA_SKIP_BROWSER=1" >&2
fi

echo "== set-up: promtool (checks the Prometheus output) =="
if command -v promtool >/dev/null 2>&1; then
  echo "found"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing Debian's prometheus package (for promtool) with apt-get"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
    || echo "warning: could not install prometheus; the promtool check will be skipped" >&2
fi
# The promtool check fails (not skips) whenever promtool is installed.
if command -v promtool >/dev/null 2>&1; then export DORA_REQUIRE_PROMTOOL=1; fi

echo "== set-up: a throwaway PostgreSQL server for the store tests =="
# Debian's postgresql (apt-get installs it when initdb is missing), a cluster in
# a temporary directory on a free port, run as the postgres user; stopped and
# removed on exit. An existing server is used instead when
# DORA_TEST_POSTGRES_URL is set. PostgreSQL tests FAIL (not skip) without a
# server here: DORA_REQUIRE_POSTGRES=1.
export DORA_REQUIRE_POSTGRES=1
if [ -z "${DORA_TEST_POSTGRES_URL:-}" ]; then
  pg_env="$(bash scripts/pg-test-server.sh start)" || {
    echo "error: could not start PostgreSQL for the tests (see above); set DORA_TEST_POSTGRES_URL to use a running server" >&2
    exit 1
  }
  eval "$pg_env"
  trap 'bash scripts/pg-test-server.sh stop "$DORA_PG_TEST_DIR"' EXIT
fi
echo "PostgreSQL for the tests: ${DORA_TEST_POSTGRES_URL}"

# Both suites run even when the first fails, so one failure does not hide another.
status=0
echo "== Rust tests (workspace) =="
cargo test --workspace --all-features --no-fail-fast || status=$?

echo "== Python tests (dora_metrics) =="
# maturin gets its own target directory: sharing one with cargo makes each
# rebuild the other's crates.
DORA_PY_QUICK="${DORA_PY_QUICK:-1}" \
  CARGO_TARGET_DIR="${DORA_PY_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}-py}" bash dora-py/ci.sh || status=$?

if [ "$status" != 0 ]; then
  echo "FAILED: see the failing suite above (exit $status)" >&2
fi
exit "$status"
