#!/usr/bin/env bash
# pgbench against Oxibase and the local PostgreSQL in one run, fsync on for both, same
# machine, same client: TPC-B (-c 8 -j 2) and select-only (-S), TPS and latency side by side
# with ratios, and Oxibase's resident memory during the TPC-B run. Over loopback TCP, then
# select-only again over each server's Unix-domain socket (psql's and pgbench's default
# transport without -h), where the TCP stack's share of each query is gone.
#
#   scripts/bench-pgbench.sh [SCALE] [SECONDS]      defaults: 10 60
set -eu
cd "$(dirname "$0")/.."
SCALE=${1:-10}
SECONDS_PER_RUN=${2:-60}
. scripts/bench-servers.sh
psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'create database bench'
OX_HOST=127.0.0.1
PG_HOST=127.0.0.1
ox() { pgbench -h "$OX_HOST" -p "$OX_PORT" -U oxibase "$@" oxibase; }
pg() { pgbench -h "$PG_HOST" -p "$PG_PORT" -U postgres "$@" bench; }

echo "pgbench scale $SCALE, $SECONDS_PER_RUN s per run, $(nproc) cores; fsync on for both"
start=$(date +%s.%N); ox -i -q -s "$SCALE" >/dev/null 2>&1; ox_init=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N); pg -i -q -s "$SCALE" >/dev/null 2>&1; pg_init=$(echo "$(date +%s.%N) - $start" | bc)

run() { # name, pgbench args...
  local name=$1; shift
  local rss_log="$WORK/rss-$name"
  ( while kill -0 "$OX_PID" 2>/dev/null; do ps -o rss= -p "$OX_PID" >>"$rss_log"; sleep 10; done ) &
  local sampler=$!
  ox "$@" -T "$SECONDS_PER_RUN" >"$WORK/ox-$name" 2>&1
  kill "$sampler" 2>/dev/null || true
  pg "$@" -T "$SECONDS_PER_RUN" >"$WORK/pg-$name" 2>&1
  local ox_tps pg_tps ox_lat pg_lat ox_failed pg_failed
  ox_tps=$(grep -oE 'tps = [0-9.]+' "$WORK/ox-$name" | grep -oE '[0-9.]+')
  pg_tps=$(grep -oE 'tps = [0-9.]+' "$WORK/pg-$name" | grep -oE '[0-9.]+')
  ox_lat=$(grep -oE 'latency average = [0-9.]+' "$WORK/ox-$name" | grep -oE '[0-9.]+$')
  pg_lat=$(grep -oE 'latency average = [0-9.]+' "$WORK/pg-$name" | grep -oE '[0-9.]+$')
  ox_failed=$(grep -oE 'failed transactions: [0-9]+' "$WORK/ox-$name" | grep -oE '[0-9]+$')
  printf "| %-28s | %10.0f | %10.0f | %5.2f× | %7.3f | %7.3f | %s |\n" "$name" "$ox_tps" "$pg_tps" \
    "$(echo "$ox_tps / $pg_tps" | bc -l)" "$ox_lat" "$pg_lat" "${ox_failed:-?}"
  if [ -s "$rss_log" ]; then
    echo "$name: Oxibase RSS samples (MiB): $(awk '{printf "%d ", $1/1024}' "$rss_log")" >>"$WORK/rss-summary"
  fi
}

# Select-only runs are read-only, so each server runs twice for half the time in the order
# Oxibase, PostgreSQL, PostgreSQL, Oxibase, and the means are reported: this VM's speed
# drifts by 10-20% over minutes, and one run each after the other puts that drift into the
# ratio. (TPC-B runs once each: every run truncates pgbench_history, and its balances are
# checked against the history afterwards.)
abba() { # name, pgbench args...
  local name=$1; shift
  local half=$(( (SECONDS_PER_RUN + 1) / 2 ))
  ox "$@" -T "$half" >"$WORK/ox1-$name" 2>&1
  pg "$@" -T "$half" >"$WORK/pg1-$name" 2>&1
  pg "$@" -T "$half" >"$WORK/pg2-$name" 2>&1
  ox "$@" -T "$half" >"$WORK/ox2-$name" 2>&1
  field() { grep -ohE "$1 = [0-9.]+" "$WORK/$2-$name" | grep -oE '[0-9.]+$'; }
  local ox_tps pg_tps ox_lat pg_lat ox_failed
  ox_tps=$(echo "($(field tps ox1) + $(field tps ox2)) / 2" | bc -l)
  pg_tps=$(echo "($(field tps pg1) + $(field tps pg2)) / 2" | bc -l)
  ox_lat=$(echo "($(field 'latency average' ox1) + $(field 'latency average' ox2)) / 2" | bc -l)
  pg_lat=$(echo "($(field 'latency average' pg1) + $(field 'latency average' pg2)) / 2" | bc -l)
  ox_failed=$(cat "$WORK/ox1-$name" "$WORK/ox2-$name" | grep -oE 'failed transactions: [0-9]+' | grep -oE '[0-9]+$' | paste -sd+ | bc)
  printf "| %-28s | %10.0f | %10.0f | %5.2f× | %7.3f | %7.3f | %s |\n" "$name" "$ox_tps" "$pg_tps" \
    "$(echo "$ox_tps / $pg_tps" | bc -l)" "$ox_lat" "$pg_lat" "${ox_failed:-?}"
  echo "$name: Oxibase TPS $(field tps ox1) then $(field tps ox2), PostgreSQL $(field tps pg1) then $(field tps pg2)" >>"$WORK/abba-summary"
}

echo
echo "| workload | Oxibase TPS | PostgreSQL TPS | ratio | Oxibase ms | PostgreSQL ms | Oxibase failed |"
echo "|---|---|---|---|---|---|---|"
run "TPC-B (-c 8 -j 2)" -c 8 -j 2
# Checked before the next run: pgbench truncates pgbench_history when a run starts.
consistent=$(psql -X -A -t -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase -c "select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta),0) from pgbench_history) and (select sum(bbalance) from pgbench_branches) = (select coalesce(sum(delta),0) from pgbench_history) and (select sum(tbalance) from pgbench_tellers) = (select coalesce(sum(delta),0) from pgbench_history)")
abba "select-only (-S -c 8 -j 2)" -S -c 8 -j 2
OX_HOST=$OX_SOCKET_DIR
PG_HOST=$PG_SOCKET_DIR
abba "select-only, Unix sockets" -S -c 8 -j 2
echo
printf "init (-i -s %s): Oxibase %.1f s, PostgreSQL %.1f s\n" "$SCALE" "$ox_init" "$pg_init"
cat "$WORK/rss-summary" 2>/dev/null || true
cat "$WORK/abba-summary" 2>/dev/null || true
echo "Oxibase balances consistent with history after TPC-B: $consistent"
