#!/usr/bin/env bash
# Full text search against the local PostgreSQL in one run, same data, same queries:
#   1. loading DOCS documents into a table whose tsvector column is generated
#      (to_tsvector('english', body)): the parse-and-stem cost per document;
#   2. searching them with @@ (and ranking the matches) without an index on either side,
#      then PostgreSQL with a GIN index for reference (Oxibase has no inverted index yet).
# Documents are 40 words drawn from the text of the GPL (deterministic).
#
#   scripts/bench-textsearch.sh [DOCS]      default: 50000
set -eu
cd "$(dirname "$0")/.."
DOCS=${1:-50000}
. scripts/bench-servers.sh
oxsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase "$@"; }
pgsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }

python3 - "$DOCS" >"$WORK/docs.tsv" <<'PY'
import random, re, sys
words = re.findall(r"[A-Za-z]+", open("/usr/share/common-licenses/GPL-3").read()) \
    if __import__("os").path.exists("/usr/share/common-licenses/GPL-3") else \
    "the program is free software you can redistribute it and or modify it under the terms".split()
rng = random.Random(42)
for i in range(int(sys.argv[1])):
    print(f"{i}\t{' '.join(rng.choice(words) for _ in range(40))}")
PY
SCHEMA="create table docs (id int primary key, body text not null,
  tsv tsvector generated always as (to_tsvector('english', body)) stored);"
oxsql -c "$SCHEMA"
pgsql -c "$SCHEMA"
load_ms() { # psql function -> ms for COPY of the documents
  $1 -c '\timing on' -c "\\copy docs (id, body) from '$WORK/docs.tsv'" | grep -oE 'Time: [0-9.]+' | grep -oE '[0-9.]+'
}
ox_load=$(load_ms oxsql)
pg_load=$(load_ms pgsql)
pgsql -c "vacuum analyze docs"
Q1="select count(*) from docs where tsv @@ to_tsquery('english', 'software & license')"
Q2="select count(*) from docs where tsv @@ websearch_to_tsquery('english', '\"free software\" or warranty -patent')"
Q3="select id, ts_rank(tsv, q) r from docs, to_tsquery('english', 'copyright & (work | program)') q where tsv @@ q order by r desc, id limit 10"
same=yes
for q in "$Q1" "$Q2" "$Q3"; do
  [ "$(oxsql -At -c "$q")" = "$(pgsql -At -c "$q")" ] || same=no
done
ox1=$(best_ms oxsql "$Q1"); pg1=$(best_ms pgsql "$Q1")
ox2=$(best_ms oxsql "$Q2"); pg2=$(best_ms pgsql "$Q2")
ox3=$(best_ms oxsql "$Q3"); pg3=$(best_ms pgsql "$Q3")
pgsql -c "create index on docs using gin (tsv)" -c "analyze docs"
gin1=$(best_ms pgsql "$Q1"); gin2=$(best_ms pgsql "$Q2"); gin3=$(best_ms pgsql "$Q3")

ratio() { echo "$(echo "$1 / $2" | bc -l | xargs printf '%.2f')×"; }
echo "Full text search: $DOCS documents of 40 words, $(nproc) cores; ms, best of 5 (load: one COPY)"
echo
echo "| step | Oxibase | PostgreSQL (no index) | Oxibase time / PostgreSQL's | PostgreSQL with GIN |"
echo "|---|---|---|---|---|"
echo "| COPY with generated to_tsvector | $ox_load | $pg_load | $(ratio "$ox_load" "$pg_load") | |"
echo "| count @@ to_tsquery (a & b) | $ox1 | $pg1 | $(ratio "$ox1" "$pg1") | $gin1 |"
echo "| count @@ websearch_to_tsquery | $ox2 | $pg2 | $(ratio "$ox2" "$pg2") | $gin2 |"
echo "| top 10 by ts_rank | $ox3 | $pg3 | $(ratio "$ox3" "$pg3") | $gin3 |"
echo
echo "Same results on both: $same"
