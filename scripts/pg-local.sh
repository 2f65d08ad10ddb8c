#!/usr/bin/env bash
# Starts a throwaway local PostgreSQL for comparisons and prints its URL.
# PostgreSQL refuses to run as root, so it runs as the `postgres` user (setpriv) in a
# directory that user owns, on a loopback port; it stops when the calling script exits
# if that script traps `pg_local_stop`.
#   source scripts/pg-local.sh; pg_local_start 5499; ...; pg_local_stop
set -u
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}
pg_local_start() {
  local port=${1:-5499}
  PG_LOCAL_DIR=$(mktemp -d /tmp/oxibase-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_LOCAL_DIR"
  as_postgres "$PG_BIN/initdb" -D "$PG_LOCAL_DIR/data" -U postgres -A trust >/dev/null || return 1
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_LOCAL_DIR/data" -o "-p $port -k $PG_LOCAL_DIR -c listen_addresses=127.0.0.1" \
    -l "$PG_LOCAL_DIR/log" -w start >/dev/null || { cat "$PG_LOCAL_DIR/log"; return 1; }
  PG_LOCAL_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export PG_LOCAL_URL PG_LOCAL_DIR
}
pg_local_stop() {
  [ -n "${PG_LOCAL_DIR:-}" ] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_LOCAL_DIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$PG_LOCAL_DIR"
}
