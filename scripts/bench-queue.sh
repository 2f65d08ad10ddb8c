#!/usr/bin/env bash
# A table as a job queue, Oxibase against the local PostgreSQL in one run, fsync on for both,
# the same client (pgbench, prepared statements): consumers each take the next job with
#   DELETE FROM jobs WHERE id = (SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
#   RETURNING id, payload
# with 1, 4 and 16 consumers, without and with another session holding an old snapshot
# open (REPEATABLE READ) for the whole run (each twice, in the order without, with, with,
# without; the table shows the means and the two runs). Jobs per second (jobs actually taken: the rows
# gone from the table, not pgbench's transaction count, which would also count empty polls)
# and ratios. A run that empties the queue is marked: its rate is only a lower bound, so JOBS
# must exceed what the fastest run takes in SECONDS.
#
# With QUEUE=update the jobs stay and a status flips instead, through an index on
# (status, id):
#   UPDATE jobs SET status = 'done' WHERE id = (SELECT id FROM jobs WHERE status = 'pending'
#   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, payload
#
# With BATCH=n (n > 1) each transaction takes n jobs at once, through the idiom
#   DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT n FOR UPDATE SKIP
#   LOCKED) RETURNING id, payload
# (or the UPDATE of the same shape), so one durable commit covers n jobs.
#
#   [QUEUE=delete|update] [BATCH=n] scripts/bench-queue.sh [SECONDS] [JOBS]   defaults: 15 600000
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-15}
JOBS=${2:-600000}
QUEUE=${QUEUE:-delete}
BATCH=${BATCH:-1}
if [ "$BATCH" -gt 1 ]; then PICK="id IN"; else PICK="id ="; fi
. scripts/bench-servers.sh

if [ "$QUEUE" = update ]; then
  TABLE="CREATE TABLE jobs (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'pending', payload text NOT NULL); CREATE INDEX jobs_status ON jobs (status, id)"
  LEFT="SELECT count(*) FROM jobs WHERE status = 'pending'"
  cat >"$WORK/take.pgb" <<EOF2
UPDATE jobs SET status = 'done' WHERE $PICK (SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT $BATCH FOR UPDATE SKIP LOCKED) RETURNING id, payload;
EOF2
else
  TABLE="CREATE TABLE jobs (id bigint PRIMARY KEY, payload text NOT NULL)"
  LEFT="SELECT count(*) FROM jobs"
  cat >"$WORK/take.pgb" <<EOF2
DELETE FROM jobs WHERE $PICK (SELECT id FROM jobs ORDER BY id LIMIT $BATCH FOR UPDATE SKIP LOCKED) RETURNING id, payload;
EOF2
fi

sql() { # port user db sql
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "$4" >/dev/null
}
count() { # port user db -> rows left in jobs
  psql -X -qtA -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "$LEFT"
}
run() { # port user db consumers old_snapshot -> jobs/s, with "!" appended if the queue ran dry
  local port=$1 user=$2 db=$3 clients=$4 old=$5 holder=
  sql "$port" "$user" "$db" "DROP TABLE IF EXISTS jobs"
  sql "$port" "$user" "$db" "$TABLE"
  sql "$port" "$user" "$db" "INSERT INTO jobs (id, payload) SELECT i, 'job ' || i FROM generate_series(1, $JOBS) i"
  if [ "$old" = yes ]; then
    psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" \
      -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM jobs" \
      -c "SELECT pg_sleep($SECONDS_PER_RUN + 5)" -c "COMMIT" >/dev/null 2>&1 &
    holder=$!
    sleep 1
  fi
  pgbench -n -M prepared -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$SECONDS_PER_RUN" \
    -h 127.0.0.1 -p "$port" -U "$user" -f "$WORK/take.pgb" "$db" >"$WORK/out" 2>&1
  [ -n "$holder" ] && { kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; }
  grep -q 'tps = ' "$WORK/out" || { cat "$WORK/out" >&2; exit 1; }
  local left
  left=$(count "$port" "$user" "$db")
  echo "$(( (JOBS - left) / SECONDS_PER_RUN ))$([ "$left" = 0 ] && echo '!')"
}

echo "Queue ($QUEUE, $BATCH per transaction): $JOBS jobs, $SECONDS_PER_RUN s per run, $(nproc) cores, fsync on for both"
echo
echo "| consumers | old snapshot held | Oxibase jobs/s | PostgreSQL jobs/s | ratio |"
echo "|---|---|---|---|---|"
echo "(a rate marked ! emptied the queue: a lower bound)" >&2
# Each run starts from a freshly loaded table, but what earlier runs left behind (dropped
# tables' rows, compaction) weighs on later ones; so each consumer count runs without, with,
# with and without the old snapshot (ABBA) and each row is the mean of its two runs.
mean() { echo "(${1%!} + ${2%!}) / 2" | bc; }
for c in 1 4 16; do
  declare -A ox pg
  for old in no yes yes no; do
    o=$(run "$OX_PORT" oxibase oxibase "$c" "$old")
    p=$(run "$PG_PORT" postgres postgres "$c" "$old")
    ox[$old]="${ox[$old]:-} $o"
    pg[$old]="${pg[$old]:-} $p"
  done
  for old in no yes; do
    read -r o1 o2 <<<"${ox[$old]}"
    read -r p1 p2 <<<"${pg[$old]}"
    o=$(mean "$o1" "$o2")
    p=$(mean "$p1" "$p2")
    printf "| %d | %s | %s (%s, %s) | %s (%s, %s) | %.2f× |\n" "$c" "$old" "$o" "$o1" "$o2" \
      "$p" "$p1" "$p2" "$(echo "$o / $p" | bc -l)"
  done
  unset ox pg
done
