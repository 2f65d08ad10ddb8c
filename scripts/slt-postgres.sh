#!/usr/bin/env bash
# Runs the PostgreSQL-compatible sqllogictest files (first line `# postgres-compatible`)
# against a throwaway local PostgreSQL, proving their expected output is PostgreSQL's.
#   scripts/slt-postgres.sh            check every compatible file
#   scripts/slt-postgres.sh complete   rewrite their expected results from PostgreSQL
set -eu
cd "$(dirname "$0")/.."
. scripts/pg-local.sh
trap pg_local_stop EXIT
pg_local_start "${PG_PORT:-5498}"
if [ "${1:-}" = complete ]; then
  OXIBASE_SLT_COMPLETE="$PG_LOCAL_URL" cargo test -q -p oxibase-sql --test slt
else
  OXIBASE_SLT_POSTGRES="$PG_LOCAL_URL" cargo test -q -p oxibase-sql --test slt
fi
