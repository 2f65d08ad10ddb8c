#!/usr/bin/env bash
# The cost of a PL/pgSQL row trigger against the local PostgreSQL in one run, fsync on for
# both: 100,000 rows inserted by one INSERT ... SELECT into a table without triggers and
# into one whose BEFORE INSERT trigger sets two columns (best of 5, ms, psql's timer).
#
#   scripts/bench-triggers.sh [ROWS]      default: 100000
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
. scripts/bench-servers.sh
oxsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase "$@"; }
pgsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }
SCHEMA='create table plain_t (id int primary key, v int, note text);
create table trig_t (id int primary key, v int, note text);
create function trig_fn() returns trigger language plpgsql as $$
begin
  new.v := new.v + 1;
  new.note := $q$row $q$ || new.id;
  return new;
end $$;
create trigger t before insert on trig_t for each row execute function trig_fn();'
oxsql -c "$SCHEMA"
pgsql -c "$SCHEMA"
run() { # psql function, table, insert -> best of 5 ms (the table emptied before each run)
  local f=$1 best= t
  for _ in 1 2 3 4 5; do
    $f -c "truncate $2"
    t=$($f -c '\timing on' -c "$3" | grep -oE 'Time: [0-9.]+' | grep -oE '[0-9.]+')
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}
PLAIN="insert into plain_t select i, i + 1, 'row ' || i from generate_series(1, $ROWS) i"
TRIG="insert into trig_t (id, v) select i, i from generate_series(1, $ROWS) i"
ox_plain=$(run oxsql plain_t "$PLAIN"); ox_trig=$(run oxsql trig_t "$TRIG")
pg_plain=$(run pgsql plain_t "$PLAIN"); pg_trig=$(run pgsql trig_t "$TRIG")
check=$(oxsql -At -c "select count(*) from trig_t where v = id + 1 and note = 'row ' || id")
per_row() { echo "($2 - $1) * 1000000 / $ROWS" | bc -l | xargs printf '%.0f'; }
echo "INSERT ... SELECT of $ROWS rows, best of 5, $(nproc) cores, fsync on"
echo
echo "| insert | Oxibase ms | PostgreSQL ms |"
echo "|---|---|---|"
printf "| no trigger | %.0f | %.0f |\n" "$ox_plain" "$pg_plain"
printf "| BEFORE ROW trigger (PL/pgSQL, two assignments) | %.0f | %.0f |\n" "$ox_trig" "$pg_trig"
echo
echo "The trigger adds $(per_row "$ox_plain" "$ox_trig") ns per row in Oxibase, $(per_row "$pg_plain" "$pg_trig") ns in PostgreSQL ($check of $ROWS rows set by it in Oxibase)."
