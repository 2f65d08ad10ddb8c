#!/usr/bin/env bash
# Sourced by the side-by-side benchmarks: builds the release binary and starts, for this
# script's lifetime, `oxibase serve` (trust, fsync on) and a throwaway local PostgreSQL.
# Sets BIN, WORK (a scratch directory, removed at exit), OX_PORT, OX_PID and PG_PORT, and
# the Unix-socket directories both also listen in: OX_SOCKET_DIR and PG_SOCKET_DIR.
#   . scripts/bench-servers.sh
. scripts/pg-local.sh

cargo build --release --quiet --bin oxibase
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/oxibase
WORK=$(mktemp -d /tmp/oxibase-bench.XXXXXX)
chmod 755 "$WORK"
best_ms() { # psql function, query -> the best of 5 runs in ms, by psql's own timer
  local f=$1 q=$2 best= t
  for _ in 1 2 3 4 5; do
    t=$($f -c '\timing on' -c "$q" | grep -oE 'Time: [0-9.]+' | grep -oE '[0-9.]+')
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
OX_PORT=$(free_port)
OX_PID=
bench_cleanup() { [ -n "$OX_PID" ] && kill "$OX_PID" 2>/dev/null; pg_local_stop; rm -rf "$WORK"; }
trap bench_cleanup EXIT

pg_local_start "$(free_port)"
PG_SOCKET_DIR=$PG_LOCAL_DIR
OX_SOCKET_DIR=$WORK/sockets
mkdir -p "$OX_SOCKET_DIR"
"$BIN" serve --data-dir "$WORK/oxibase" --listen "127.0.0.1:$OX_PORT" --http off --auth trust \
  --socket-dir "$OX_SOCKET_DIR" >"$WORK/oxibase.log" 2>&1 &
OX_PID=$!
for _ in $(seq 1 100); do psql -X -q -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase -c 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
PG_PORT=${PG_LOCAL_URL##*:}; PG_PORT=${PG_PORT%%/*}
