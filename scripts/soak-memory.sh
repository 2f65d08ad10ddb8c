#!/usr/bin/env bash
# Memory over a long pgbench TPC-B run against `oxibase serve` (issue 4: resident memory
# flat within 10% over 10 minutes). Samples the server's RSS every 30 s and reports the
# spread after the first minute and after the row cache has filled (warm-up), with what the
# server says it holds (/metrics: block cache, row cache, memtables, tables, journals, GC
# queue, and the allocator's allocated and resident bytes).
#
#   scripts/soak-memory.sh [SECONDS] [SCALE]      defaults: 600 10
set -eu
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-600}
SCALE=${2:-10}
cargo build --release --quiet --bin oxibase
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/oxibase
WORK=$(mktemp -d /tmp/oxibase-soak.XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(free_port)
HTTP=$(free_port)
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" --auth trust >"$WORK/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do psql -X -q -h 127.0.0.1 -p "$PORT" -U oxibase -d oxibase -c 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U oxibase oxibase >/dev/null 2>&1
gauges='^oxibase_(cache_bytes|row_cache_bytes|lsm_write_buffer_bytes|lsm_tables|lsm_journals|gc_queue_versions|heap_allocated_bytes|heap_resident_bytes) '
( while kill -0 "$PID" 2>/dev/null; do
    ps -o rss= -p "$PID" >>"$WORK/rss"
    curl -s "127.0.0.1:$HTTP/metrics" | grep -E "$gauges" | sed 's/^oxibase_//' \
      | awk -v t="$(date +%T)" 'BEGIN { printf "%s", t } { printf " %s=%s", $1, $2 } END { print "" }' >>"$WORK/gauges"
    sleep 30
  done ) &
SAMPLER=$!
pgbench -c 8 -j 2 -T "$SECONDS_TOTAL" -h 127.0.0.1 -p "$PORT" -U oxibase oxibase >"$WORK/pgbench" 2>&1
kill "$SAMPLER" 2>/dev/null || true
echo "pgbench TPC-B scale $SCALE, -c 8 -j 2, $SECONDS_TOTAL s, $(nproc) cores"
grep -E 'tps =|failed transactions' "$WORK/pgbench" | sed 's/^/  /'
echo "RSS every 30 s (MiB): $(awk '{printf "%d ", $1/1024}' "$WORK/rss")"
awk 'NR > 2 { v = $1 / 1024; if (min == "" || v < min) min = v; if (v > max) max = v }
     END { printf "after the first minute: min %d MiB, max %d MiB, spread %.1f%% of min\n", min, max, (max - min) * 100 / min }' "$WORK/rss"
# The row cache fills as random accounts are read (a few minutes at 64 MB): warm-up lasts
# until it holds 95% of the most it held in the run; the spread from there is the one to
# judge "flat after warm-up" by.
full=$(grep -o 'row_cache_bytes=[0-9]*' "$WORK/gauges" | cut -d= -f2 \
  | awk '{ v[NR] = $1; if ($1 > m) m = $1 } END { for (i = 1; i <= NR; i++) if (v[i] >= 0.95 * m) { print i; exit } }')
awk -v from="${full:-1}" 'NR > 2 && NR >= from { v = $1 / 1024; if (min == "" || v < min) min = v; if (v > max) max = v }
     END { printf "once the row cache had filled (sample %d on): min %d MiB, max %d MiB, spread %.1f%% of min\n", from, min, max, (max - min) * 100 / min }' "$WORK/rss"
echo "engine gauges every 30 s (bytes, counts):"
sed 's/^/  /' "$WORK/gauges"
