#!/usr/bin/env bash
# A/B of two Oxibase binaries on the transfer benchmark's CALL (the oxibase-guest `transfer`
# as a Wasm procedure, pgbench -M prepared, 8 clients): ROUNDS alternating 15 s runs of
# each, a fresh data directory per run, TPS per run. For telling a change to the CALL path
# from this VM's run-to-run spread (BENCHMARKS.md, "A prepared CALL with transaction
# control").
#
#   scripts/ab-call.sh BINARY_A BINARY_B [ROUNDS]      default: 2 rounds
set -eu
cd "$(dirname "$0")/.."
A=$1; B=$2; ROUNDS=${3:-2}
PORT=${OX_AB_PORT:-5497}
WORK=$(mktemp -d); trap 'pkill -f "serve --data-dir $WORK" || true; rm -rf "$WORK"' EXIT
echo "create procedure transfer(src bigint, dst bigint, amount bigint) language wasm as '\\x$(xxd -p crates/guest/modules/transfer.wasm | tr -d '\n')';" >"$WORK/transfer.sql"
cat >"$WORK/call.pgb" <<'PGB'
\set src random(1, 100000)
\set dst random(1, 100000)
CALL transfer(:src, :dst + (:src = :dst)::int * (CASE WHEN :dst < 100000 THEN 1 ELSE -1 END), 1);
PGB
run() { # binary label
  local dir=$WORK/data-$2
  rm -rf "$dir"
  "$1" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --http off --auth trust >"$WORK/$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.2; done
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U oxibase -d oxibase \
    -c "create table accounts (id bigint primary key, balance bigint not null)" \
    -c "insert into accounts select i, 1000000 from generate_series(1, 100000) i" \
    -f "$WORK/transfer.sql"
  local tps
  tps=$(pgbench -n -M prepared -c 8 -j 2 -T 15 -h 127.0.0.1 -p "$PORT" -U oxibase -f "$WORK/call.pgb" oxibase 2>&1 \
    | grep -oE 'tps = [0-9.]+' | grep -oE '[0-9.]+')
  echo "$2 $tps"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for _ in $(seq "$ROUNDS"); do run "$A" A; run "$B" B; done
