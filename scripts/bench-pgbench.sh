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

field() { # label, output file -> the number pgbench printed after "label = "
  grep -ohE "$1 = [0-9.]+" "$2" | grep -oE '[0-9.]+$'
}
failed() { # output files... -> failed transactions, summed
  cat "$@" | grep -oE 'failed transactions: [0-9]+' | grep -oE '[0-9]+$' | paste -sd+ | bc
}
row() { # name ox_tps pg_tps ox_latency pg_latency ox_failed
  printf "| %-28s | %10.0f | %10.0f | %5.2f× | %7.3f | %7.3f | %s |\n" "$1" "$2" "$3" \
    "$(echo "$2 / $3" | bc -l)" "$4" "$5" "${6:-?}"
}

run() { # name, pgbench args...
  local name=$1; shift
  local rss_log="$WORK/rss-$name"
  ( while kill -0 "$OX_PID" 2>/dev/null; do ps -o rss= -p "$OX_PID" >>"$rss_log"; sleep 10; done ) &
  local sampler=$!
  ox "$@" -T "$SECONDS_PER_RUN" >"$WORK/ox-$name" 2>&1
  kill "$sampler" 2>/dev/null || true
  pg "$@" -T "$SECONDS_PER_RUN" >"$WORK/pg-$name" 2>&1
  local ox="$WORK/ox-$name" pg="$WORK/pg-$name"
  row "$name" "$(field tps "$ox")" "$(field tps "$pg")" "$(field 'latency average' "$ox")" \
    "$(field 'latency average' "$pg")" "$(failed "$ox")"
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
  local ox1="$WORK/ox1-$name" pg1="$WORK/pg1-$name" pg2="$WORK/pg2-$name" ox2="$WORK/ox2-$name"
  ox "$@" -T "$half" >"$ox1" 2>&1
  pg "$@" -T "$half" >"$pg1" 2>&1
  pg "$@" -T "$half" >"$pg2" 2>&1
  ox "$@" -T "$half" >"$ox2" 2>&1
  mean() { echo "($(field "$1" "$2") + $(field "$1" "$3")) / 2" | bc -l; }
  row "$name" "$(mean tps "$ox1" "$ox2")" "$(mean tps "$pg1" "$pg2")" \
    "$(mean 'latency average' "$ox1" "$ox2")" "$(mean 'latency average' "$pg1" "$pg2")" \
    "$(failed "$ox1" "$ox2")"
  echo "$name: Oxibase TPS $(field tps "$ox1") then $(field tps "$ox2"), PostgreSQL $(field tps "$pg1") then $(field tps "$pg2")" >>"$WORK/abba-summary"
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
