#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: Debian's `postgresql` package
# (installed with apt-get when initdb is missing), a cluster made by initdb in a
# temporary directory, started by pg_ctl on a free port of 127.0.0.1 with
# trust authentication, run as the `postgres` user when we are root.
#
#   eval "$(bash scripts/pg-test-server.sh start)"   # exports DORA_TEST_POSTGRES_URL, DORA_PG_TEST_DIR
#   bash scripts/pg-test-server.sh stop "$DORA_PG_TEST_DIR"
#
# `start` prints shell `export` lines on stdout; everything else goes to stderr.
# When DORA_TEST_POSTGRES_URL is already set, `start` prints nothing and starts
# nothing (the tests use that server).
set -euo pipefail

log() { echo "pg-test-server: $*" >&2; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
    fi
  done | sort -V | tail -n 1
}

install_postgres() {
  command -v apt-get >/dev/null 2>&1 || {
    log "no PostgreSQL (initdb) and no apt-get: install PostgreSQL 13+ or set DORA_TEST_POSTGRES_URL"
    return 1
  }
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing postgresql with apt-get (about 30 s)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  if [ -n "${DORA_TEST_POSTGRES_URL:-}" ]; then
    log "using DORA_TEST_POSTGRES_URL from the environment"
    return 0
  fi
  local bin
  bin="$(find_bin)"
  if [ -z "$bin" ]; then
    install_postgres
    bin="$(find_bin)"
  fi
  [ -n "$bin" ] || { log "initdb not found after installing postgresql"; return 1; }
  local dir port run=()
  dir="$(mktemp -d /tmp/dora-pg.XXXXXX)"
  if [ "$(id -u)" = 0 ]; then
    # The server refuses to run as root.
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
    chown postgres "$dir"
    chmod 700 "$dir"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  local tries
  for tries in 1 2 3; do
    port="$(free_port)"
    if "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >&2; then
      log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
      echo "export DORA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
      echo "export DORA_PG_TEST_DIR=$dir"
      return 0
    fi
    log "start on port $port failed (attempt $tries)"
  done
  cat "$dir/server.log" >&2 || true
  return 1
}

stop() {
  local dir="${1:-${DORA_PG_TEST_DIR:-}}"
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  local bin run=()
  bin="$(find_bin)"
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
