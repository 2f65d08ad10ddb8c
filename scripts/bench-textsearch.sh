#!/usr/bin/env bash
# Full text search against the local PostgreSQL in one run, same data, same queries:
#   1. loading DOCS documents into a table whose tsvector column is generated
#      (to_tsvector('english', body)): the parse-and-stem cost per document;
#   2. searching them with @@ (and ranking the matches) without an index on either side;
#   3. building a GIN index on the tsvector column on both, and the same searches (and a
#      selective one) through it.
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
Q4="select count(*) from docs where tsv @@ to_tsquery('english', 'sublicensing')"
ox4=$(best_ms oxsql "$Q4"); pg4=$(best_ms pgsql "$Q4")
index_ms() { # psql function -> ms for CREATE INDEX ... USING gin
  $1 -c '\timing on' -c "create index docs_tsv on docs using gin (tsv)" | grep -oE 'Time: [0-9.]+' | grep -oE '[0-9.]+'
}
ox_index=$(index_ms oxsql)
pg_index=$(index_ms pgsql)
pgsql -c "analyze docs"
for q in "$Q1" "$Q2" "$Q3" "$Q4"; do
  [ "$(oxsql -At -c "$q")" = "$(pgsql -At -c "$q")" ] || same=no
  oxsql -At -c "explain $q" | grep -q "Bitmap Index Scan on docs_tsv" || { echo "Oxibase did not use the index: $q" >&2; exit 1; }
done
gox1=$(best_ms oxsql "$Q1"); gin1=$(best_ms pgsql "$Q1")
gox2=$(best_ms oxsql "$Q2"); gin2=$(best_ms pgsql "$Q2")
gox3=$(best_ms oxsql "$Q3"); gin3=$(best_ms pgsql "$Q3")
gox4=$(best_ms oxsql "$Q4"); gin4=$(best_ms pgsql "$Q4")
matches() { oxsql -At -c "$1" | head -1; }

ratio() { echo "$(echo "$1 / $2" | bc -l | xargs printf '%.2f')×"; }
echo "Full text search: $DOCS documents of 40 words, $(nproc) cores; ms, best of 5 (load: one COPY)"
echo
echo "| step | Oxibase | PostgreSQL | Oxibase time / PostgreSQL's |"
echo "|---|---|---|---|"
echo "| COPY with generated to_tsvector | $ox_load | $pg_load | $(ratio "$ox_load" "$pg_load") |"
echo "| no index: count @@ to_tsquery (a & b), $(matches "$Q1") rows | $ox1 | $pg1 | $(ratio "$ox1" "$pg1") |"
echo "| no index: count @@ websearch_to_tsquery, $(matches "$Q2") rows | $ox2 | $pg2 | $(ratio "$ox2" "$pg2") |"
echo "| no index: top 10 by ts_rank | $ox3 | $pg3 | $(ratio "$ox3" "$pg3") |"
echo "| no index: count @@ one rare word, $(matches "$Q4") rows | $ox4 | $pg4 | $(ratio "$ox4" "$pg4") |"
echo "| CREATE INDEX ... USING gin (tsv) | $ox_index | $pg_index | $(ratio "$ox_index" "$pg_index") |"
echo "| GIN: count @@ to_tsquery (a & b) | $gox1 | $gin1 | $(ratio "$gox1" "$gin1") |"
echo "| GIN: count @@ websearch_to_tsquery | $gox2 | $gin2 | $(ratio "$gox2" "$gin2") |"
echo "| GIN: top 10 by ts_rank | $gox3 | $gin3 | $(ratio "$gox3" "$gin3") |"
echo "| GIN: count @@ one rare word | $gox4 | $gin4 | $(ratio "$gox4" "$gin4") |"
echo
echo "Same results on both: $same"
