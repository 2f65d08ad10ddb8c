#!/usr/bin/env bash
# Stored procedures against the local PostgreSQL in one run, fsync on for both, same client
# (pgbench, extended protocol with prepared statements):
#   1. a money transfer as a Wasm procedure in Oxibase (the oxibase-guest `transfer` example),
#      as the same statements sent by the client (Oxibase and PostgreSQL), and as a PL/pgSQL
#      procedure (PostgreSQL, and the same one in Oxibase): TPS and latency;
#   2. the per-row cost of a trivial scalar Wasm function over 1M rows, against built-ins.
#
#   scripts/bench-procedures.sh [SECONDS] [CLIENTS]      defaults: 30 8
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-30}
CLIENTS=${2:-8}
ACCOUNTS=100000
. scripts/bench-servers.sh
scripts/build-guest-modules.sh >/dev/null 2>&1 || echo "(using the committed guest modules)"
oxsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$OX_PORT" -U oxibase -d oxibase "$@"; }
pgsql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }

SCHEMA="create table accounts (id bigint primary key, balance bigint not null);
insert into accounts select i, 1000000 from generate_series(1, $ACCOUNTS) i;"
oxsql -c "$SCHEMA"
pgsql -c "$SCHEMA"
echo "create procedure transfer(src bigint, dst bigint, amount bigint) language wasm as '\\x$(xxd -p crates/guest/modules/transfer.wasm | tr -d '\n')';" >"$WORK/transfer.sql"
oxsql -f "$WORK/transfer.sql"
# The same logic in PL/pgSQL: lock both rows in id order, debit with a balance check, credit.
# PostgreSQL calls it `transfer`; Oxibase runs the same text as `transfer_pl`.
PLPGSQL=$(cat <<'SQL'
create procedure transfer(src bigint, dst bigint, amount bigint) language plpgsql as $$
declare debited int; credited int;
begin
  if amount <= 0 then raise exception 'amount must be positive, got %', amount; end if;
  if src = dst then raise exception 'source and destination are the same account'; end if;
  perform id from accounts where id in (src, dst) order by id for update;
  update accounts set balance = balance - amount where id = src and balance >= amount;
  get diagnostics debited = row_count;
  if debited = 0 then raise exception 'insufficient funds or no account %', src; end if;
  update accounts set balance = balance + amount where id = dst;
  get diagnostics credited = row_count;
  if credited = 0 then raise exception 'account % does not exist', dst; end if;
end $$;
SQL
)
pgsql -c "$PLPGSQL"
oxsql -c "${PLPGSQL/procedure transfer(/procedure transfer_pl(}"

cat >"$WORK/call.pgb" <<EOF2
\set src random(1, $ACCOUNTS)
\set dst random(1, $ACCOUNTS)
CALL transfer(:src, :dst + (:src = :dst)::int * (CASE WHEN :dst < $ACCOUNTS THEN 1 ELSE -1 END), 1);
EOF2
sed 's/CALL transfer(/CALL transfer_pl(/' "$WORK/call.pgb" >"$WORK/call_pl.pgb"
# The client-side version sends the procedure's statements itself.
cat >"$WORK/client.pgb" <<EOF2
\set src random(1, $ACCOUNTS)
\set dst random(1, $ACCOUNTS)
BEGIN;
SELECT id FROM accounts WHERE id IN (:src, :dst) ORDER BY id FOR UPDATE;
UPDATE accounts SET balance = balance - 1 WHERE id = :src AND balance >= 1;
UPDATE accounts SET balance = balance + 1 WHERE id = :dst;
COMMIT;
EOF2

bench() { # port user db script -> "tps latency"
  pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -h 127.0.0.1 -p "$1" -U "$2" -f "$4" "$3" >"$WORK/out" 2>&1 || { cat "$WORK/out"; return 1; }
  echo "$(grep -oE 'tps = [0-9.]+' "$WORK/out" | grep -oE '[0-9.]+') $(grep -oE 'latency average = [0-9.]+' "$WORK/out" | grep -oE '[0-9.]+$') $(grep -oE 'failed transactions: [0-9]+' "$WORK/out" | grep -oE '[0-9]+$')"
}
read -r ox_call_tps ox_call_ms ox_call_failed <<<"$(bench "$OX_PORT" oxibase oxibase "$WORK/call.pgb")"
read -r ox_client_tps ox_client_ms ox_client_failed <<<"$(bench "$OX_PORT" oxibase oxibase "$WORK/client.pgb")"
read -r ox_pl_tps ox_pl_ms ox_pl_failed <<<"$(bench "$OX_PORT" oxibase oxibase "$WORK/call_pl.pgb")"
read -r pg_call_tps pg_call_ms pg_call_failed <<<"$(bench "$PG_PORT" postgres postgres "$WORK/call.pgb")"
read -r pg_client_tps pg_client_ms pg_client_failed <<<"$(bench "$PG_PORT" postgres postgres "$WORK/client.pgb")"
total_ox=$(oxsql -At -c "select sum(balance) from accounts")
total_pg=$(pgsql -At -c "select sum(balance) from accounts")

echo "Transfers: $ACCOUNTS accounts, pgbench -M prepared -c $CLIENTS -j 2, $SECONDS_PER_RUN s per run, $(nproc) cores, fsync on"
echo
echo "| transfer as | TPS | latency ms | failed | Oxibase procedure is |"
echo "|---|---|---|---|---|"
ratio() { echo "$(echo "$ox_call_tps / $1" | bc -l | xargs printf '%.2f')×"; }
printf "| Oxibase Wasm procedure (CALL) | %.0f | %.3f | %s | |\n" "$ox_call_tps" "$ox_call_ms" "$ox_call_failed"
printf "| Oxibase client-side SQL | %.0f | %.3f | %s | %s |\n" "$ox_client_tps" "$ox_client_ms" "$ox_client_failed" "$(ratio "$ox_client_tps")"
printf "| Oxibase PL/pgSQL procedure (CALL) | %.0f | %.3f | %s | %s |\n" "$ox_pl_tps" "$ox_pl_ms" "$ox_pl_failed" "$(ratio "$ox_pl_tps")"
printf "| PostgreSQL PL/pgSQL procedure (CALL) | %.0f | %.3f | %s | %s |\n" "$pg_call_tps" "$pg_call_ms" "$pg_call_failed" "$(ratio "$pg_call_tps")"
printf "| PostgreSQL client-side SQL | %.0f | %.3f | %s | %s |\n" "$pg_client_tps" "$pg_client_ms" "$pg_client_failed" "$(ratio "$pg_client_tps")"
echo
echo "Money is conserved: Oxibase total $total_ox, PostgreSQL total $total_pg (expected $((ACCOUNTS * 1000000)))"

# Per-row cost of a trivial scalar function.
SCALAR="create table m (v bigint); insert into m select * from generate_series(1, 1000000);"
oxsql -c "$SCALAR" -c 'create function add1(x bigint) returns bigint language wat as $$ (module (func (export "add1") (param i64) (result i64) local.get 0 i64.const 1 i64.add)) $$' \
  -c 'create function add1_plpgsql(x bigint) returns bigint language plpgsql as $$ begin return x + 1; end $$'
pgsql -c "$SCALAR" -c 'create function add1(x bigint) returns bigint language sql immutable as $$ select x + 1 $$' \
  -c 'create function add1_plpgsql(x bigint) returns bigint language plpgsql as $$ begin return x + 1; end $$'
ox_plain=$(best_ms oxsql "select sum(v + 1) from m")
ox_builtin=$(best_ms oxsql "select sum(abs(v)) from m")
ox_wasm=$(best_ms oxsql "select sum(add1(v)) from m")
ox_plpgsql=$(best_ms oxsql "select sum(add1_plpgsql(v)) from m")
pg_plain=$(best_ms pgsql "select sum(v + 1) from m")
pg_builtin=$(best_ms pgsql "select sum(abs(v)) from m")
pg_sql=$(best_ms pgsql "select sum(add1(v)) from m")
pg_plpgsql=$(best_ms pgsql "select sum(add1_plpgsql(v)) from m")
per_row() { echo "($1 - $2) * 1000000 / 1000000" | bc -l | xargs printf '%.0f'; }
echo
echo "Scalar function over 1M rows (best of 5, ms; ns per row added over the built-in abs())"
echo
echo "| query | Oxibase ms | PostgreSQL ms |"
echo "|---|---|---|"
printf "| sum(v + 1) | %.0f | %.0f |\n" "$ox_plain" "$pg_plain"
printf "| sum(abs(v)) (built-in function) | %.0f | %.0f |\n" "$ox_builtin" "$pg_builtin"
printf "| sum(add1(v)): Wasm (Oxibase), SQL function (PostgreSQL) | %.0f | %.0f |\n" "$ox_wasm" "$pg_sql"
printf "| sum(add1_plpgsql(v)) (PL/pgSQL) | %.0f | %.0f |\n" "$ox_plpgsql" "$pg_plpgsql"
echo
echo "Oxibase: a Wasm call adds $(per_row "$ox_wasm" "$ox_builtin") ns per row over abs(), $(per_row "$ox_wasm" "$ox_plain") ns over v + 1."
echo "PostgreSQL: a PL/pgSQL call adds $(per_row "$pg_plpgsql" "$pg_builtin") ns per row over abs()."
echo "Oxibase: a PL/pgSQL call adds $(per_row "$ox_plpgsql" "$ox_builtin") ns per row over abs()."
