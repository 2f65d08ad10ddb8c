#!/usr/bin/env bash
# Full-table scans, Oxibase against the local PostgreSQL and SQLite in one run: the same 1M
# rows in a narrow table (id, v, w) and a wide one (the same plus a 200-byte text column),
# each query timed best of 5 (psql's and sqlite3's own timers, so client start-up is not
# counted), ratios Oxibase / PostgreSQL and Oxibase / SQLite. PostgreSQL runs with its
# defaults (parallel workers included); SQLite is a file database with default settings.
#
#   scripts/bench-scan.sh [ROWS]      default: 1000000
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
command -v sqlite3 >/dev/null || { echo "bench-scan.sh needs sqlite3" >&2; exit 1; }
. scripts/bench-servers.sh

oxsql() { psql -X -q -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase "$@"; }
pgsql() { psql -X -q "$PG_LOCAL_URL" "$@"; }
DB=$WORK/scan.sqlite
litesql() { sqlite3 "$DB" "$@"; }

LOAD_NARROW="CREATE TABLE narrow (id bigint PRIMARY KEY, v bigint, w double precision)"
LOAD_WIDE="CREATE TABLE wide (id bigint PRIMARY KEY, v bigint, w double precision, t text)"
for f in oxsql pgsql; do
  $f -c "$LOAD_NARROW" -c "$LOAD_WIDE" \
    -c "INSERT INTO narrow SELECT g, g % 1000, g * 0.5 FROM generate_series(1, $ROWS) g" \
    -c "INSERT INTO wide SELECT g, g % 1000, g * 0.5, repeat('x', 200) || g FROM generate_series(1, $ROWS) g" \
    -c "CHECKPOINT" >/dev/null
done
pgsql -c "VACUUM ANALYZE" >/dev/null
litesql "$LOAD_NARROW; $LOAD_WIDE;
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $ROWS)
  INSERT INTO narrow SELECT i, i % 1000, i * 0.5 FROM g;
  INSERT INTO wide SELECT id, v, w, printf('%.200c', 'x') || id FROM narrow;"

best_sqlite() { # query -> best of 5 in ms (sqlite3's wall-clock "real" time)
  local q=$1 best=
  for _ in 1 2 3 4 5; do
    t=$(printf '.timer on\n%s;\n' "$q" | litesql | grep -oE 'real [0-9.]+' | grep -oE '[0-9.]+')
    t=$(echo "$t * 1000" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

echo "Full scans over $ROWS rows, $(nproc) cores (best of 5, ms)"
echo
echo "| query | Oxibase | PostgreSQL | SQLite | Oxibase / PostgreSQL | Oxibase / SQLite |"
echo "|---|---|---|---|---|---|"
while IFS= read -r q; do
  ox=$(best_ms oxsql "$q")
  pg=$(best_ms pgsql "$q")
  lite=$(best_sqlite "$q")
  printf "| %s | %.0f | %.0f | %.0f | %.1f× | %.1f× |\n" "$q" "$ox" "$pg" "$lite" \
    "$(echo "$ox / $pg" | bc -l)" "$(echo "$ox / $lite" | bc -l)"
done <<'EOF'
SELECT count(*) FROM narrow
SELECT sum(v) FROM narrow
SELECT sum(v) FROM narrow WHERE v > 500
SELECT v, count(*) FROM narrow GROUP BY v ORDER BY v LIMIT 1
SELECT sum(v) FROM wide
SELECT max(t) FROM wide
EOF
