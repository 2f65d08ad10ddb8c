#!/usr/bin/env bash
# Replication, Oxibase against PostgreSQL streaming replication in one run, same machine:
# - replay lag (p50, p99, max) sampled from pg_stat_replication every 100 ms while pgbench
#   TPC-B (-c 8 -j 2) runs on the leader, asynchronous commits;
# - TPC-B throughput on the leader with one synchronous follower (Oxibase
#   --synchronous-replicas 1, PostgreSQL synchronous_standby_names = '*'), against the same
#   run asynchronous;
# - read throughput of pgbench -S (-c 4) served by one follower, then by two at once
#   (Oxibase; PostgreSQL with one standby for reference).
#
#   scripts/bench-replication.sh [SCALE] [SECONDS]      defaults: 10 30
set -eu
cd "$(dirname "$0")/.."
SCALE=${1:-10}
SECS=${2:-30}
. scripts/bench-servers.sh
F1=$(free_port); F2=$(free_port); PGS_PORT=$(free_port)
F_PIDS=()
stop_followers() { for p in "${F_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'stop_followers; as_postgres "$PG_BIN/pg_ctl" -D "$PG_LOCAL_DIR/standby" -m immediate stop >/dev/null 2>&1; bench_cleanup' EXIT

oxq() { psql -X -A -t -q -h 127.0.0.1 -p "$1" -U oxibase -d oxibase -c "$2"; }
pgq() { psql -X -A -t -q -h 127.0.0.1 -p "$1" -U postgres -d "${3:-bench}" -c "$2"; }
wait_port() { for _ in $(seq 1 300); do psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c 'select 1' >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

echo "replication benchmark: pgbench scale $SCALE, $SECS s per run, $(nproc) cores, fsync on everywhere"
pgq "$PG_PORT" 'create database bench' postgres
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$OX_PORT" -U oxibase oxibase >/dev/null 2>&1
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench >/dev/null 2>&1

for port in "$F1" "$F2"; do
  "$BIN" serve --data-dir "$WORK/follower-$port" --listen "127.0.0.1:$port" --http off --auth trust \
    --replica-of "127.0.0.1:$OX_PORT" >"$WORK/follower-$port.log" 2>&1 &
  F_PIDS+=($!)
  wait_port "$port" oxibase oxibase
done
as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$PG_LOCAL_DIR/standby" -R -X stream -c fast >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$PG_LOCAL_DIR/standby" -o "-p $PGS_PORT -k $PG_LOCAL_DIR -c listen_addresses=127.0.0.1" \
  -l "$PG_LOCAL_DIR/standby.log" -w start >/dev/null
wait_port "$PGS_PORT" postgres bench

caught_up() { # $1 = query runner, $2 = port
  for _ in $(seq 1 600); do
    [ "$($1 "$2" "select count(*) = count(*) filter (where replay_lsn = sent_lsn) and count(*) > 0 from pg_stat_replication" postgres 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  return 1
}
caught_up oxq "$OX_PORT"; caught_up pgq "$PG_PORT"

percentiles() { # stdin: one number per line
  sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "n/a"; exit}; p50=v[int(NR*0.5)+1>NR?NR:int(NR*0.5)+1]; p99=v[int(NR*0.99)+1>NR?NR:int(NR*0.99)+1]; printf "%.2f %.2f %.2f %d", p50, p99, v[NR], NR}'
}
sample_lag() { # $1 runner, $2 port, $3 output; until the file $WORK/stop exists
  while [ ! -e "$WORK/stop" ]; do
    $1 "$2" "select round((extract(epoch from replay_lag) * 1000)::numeric, 3) from pg_stat_replication where replay_lag is not null" postgres >>"$3" 2>/dev/null || true
    sleep 0.1
  done
}
tpcb() { # $1 = ox|pg; prints tps
  if [ "$1" = ox ]; then
    pgbench -c 8 -j 2 -T "$SECS" -h 127.0.0.1 -p "$OX_PORT" -U oxibase oxibase 2>&1 | grep -oE 'tps = [0-9.]+' | grep -oE '[0-9.]+'
  else
    pgbench -c 8 -j 2 -T "$SECS" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench 2>&1 | grep -oE 'tps = [0-9.]+' | grep -oE '[0-9.]+'
  fi
}

# 1. Replay lag under load, asynchronous.
rm -f "$WORK/stop"; sample_lag oxq "$OX_PORT" "$WORK/ox-lag" & S=$!
ox_async=$(tpcb ox); touch "$WORK/stop"; wait "$S"
rm -f "$WORK/stop"; sample_lag pgq "$PG_PORT" "$WORK/pg-lag" & S=$!
pg_async=$(tpcb pg); touch "$WORK/stop"; wait "$S"
read -r ox_p50 ox_p99 ox_max ox_n <<<"$(percentiles <"$WORK/ox-lag")"
read -r pg_p50 pg_p99 pg_max pg_n <<<"$(percentiles <"$WORK/pg-lag")"

# 2. Synchronous: the leader restarted with one synchronous follower; PostgreSQL reloaded.
kill "$OX_PID"; wait "$OX_PID" 2>/dev/null || true
"$BIN" serve --data-dir "$WORK/oxibase" --listen "127.0.0.1:$OX_PORT" --http off --auth trust \
  --synchronous-replicas 1 >>"$WORK/oxibase.log" 2>&1 &
OX_PID=$!
wait_port "$OX_PORT" oxibase oxibase; caught_up oxq "$OX_PORT"
pgq "$PG_PORT" "alter system set synchronous_standby_names = '*'" postgres
pgq "$PG_PORT" "select pg_reload_conf()" postgres >/dev/null
sleep 1
ox_sync=$(tpcb ox)
pg_sync=$(tpcb pg)

# 3. Reads served by followers.
reads() { # port user db -> tps
  pgbench -S -c 4 -j 2 -T "$SECS" -h 127.0.0.1 -p "$1" -U "$2" "$3" 2>&1 | grep -oE 'tps = [0-9.]+' | grep -oE '[0-9.]+'
}
ox_one=$(reads "$F1" oxibase oxibase)
reads "$F1" oxibase oxibase >"$WORK/r1" & A=$!
reads "$F2" oxibase oxibase >"$WORK/r2" & B=$!
wait "$A" "$B"
ox_two=$(echo "$(cat "$WORK/r1") + $(cat "$WORK/r2")" | bc)
pg_one=$(reads "$PGS_PORT" postgres bench)

# Followers hold what the leader holds.
ox_sum=$(oxq "$OX_PORT" 'select sum(abalance) from pgbench_accounts')
f1_sum=$(oxq "$F1" 'select sum(abalance) from pgbench_accounts')
f2_sum=$(oxq "$F2" 'select sum(abalance) from pgbench_accounts')

echo
echo "| measure | Oxibase | PostgreSQL | ratio (Oxibase / PostgreSQL) |"
echo "|---|---|---|---|"
printf "| replay lag p50 (ms), async, under TPC-B | %s | %s | %.2f× |\n" "$ox_p50" "$pg_p50" "$(echo "$ox_p50 / $pg_p50" | bc -l)"
printf "| replay lag p99 (ms) | %s | %s | %.2f× |\n" "$ox_p99" "$pg_p99" "$(echo "$ox_p99 / $pg_p99" | bc -l)"
printf "| replay lag max (ms) (samples: %s / %s) | %s | %s | |\n" "$ox_n" "$pg_n" "$ox_max" "$pg_max"
printf "| TPC-B TPS, async, 2 followers (PG: 1 standby) | %.0f | %.0f | %.2f× |\n" "$ox_async" "$pg_async" "$(echo "$ox_async / $pg_async" | bc -l)"
printf "| TPC-B TPS, 1 synchronous follower | %.0f | %.0f | %.2f× |\n" "$ox_sync" "$pg_sync" "$(echo "$ox_sync / $pg_sync" | bc -l)"
printf "| sync / async TPS | %.2f | %.2f | |\n" "$(echo "$ox_sync / $ox_async" | bc -l)" "$(echo "$pg_sync / $pg_async" | bc -l)"
printf "| pgbench -S TPS, 1 follower | %.0f | %.0f | %.2f× |\n" "$ox_one" "$pg_one" "$(echo "$ox_one / $pg_one" | bc -l)"
printf "| pgbench -S TPS, 2 followers at once (sum) | %.0f | | |\n" "$ox_two"
echo
echo "balances: leader $ox_sum, follower 1 $f1_sum, follower 2 $f2_sum (equal once caught up; sampled while idle)"
