#!/usr/bin/env bash
# ORM smoke test: Django's migrations and ORM, SQLAlchemy through psycopg2, psycopg 3 and
# asyncpg, Rails' ActiveRecord, Java's pgjdbc and Go's pgx (Debian's), and Node.js's
# node-postgres, Knex, Sequelize and TypeORM, against `oxibase serve`
# (tests/orm/). Each step asserts what PostgreSQL 15 returns, so the same scripts pass against
# PostgreSQL (PGPORT/PGUSER/PGDATABASE of a running server:
# `scripts/orm-smoke.sh --against-running`). The drivers and ORMs are pinned and installed
# into target/orm-venv from PyPI and target/orm-node from npm on first use. .ci/run runs this
# after the test suite.
#   scripts/orm-smoke.sh [BINARY]     default: target/debug/oxibase (built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/orm-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check \
  "django==5.2.*" "psycopg[binary]==3.3.*" "psycopg2-binary==2.9.*" "sqlalchemy==2.1.*" \
  "asyncpg==0.32.*" "greenlet>=3"
PY=$PWD/$VENV/bin/python
NODE_DIR=target/orm-node
if ! command -v npm >/dev/null; then
  echo "orm-smoke: npm is not installed (Debian: apt-get install nodejs npm); .ci/run installs it" >&2
  exit 1
fi
if ! ruby -e 'require "active_record"; require "pg"' 2>/dev/null; then
  echo "orm-smoke: Ruby's ActiveRecord is not installed (Debian: apt-get install ruby-activerecord ruby-pg); .ci/run installs it" >&2
  exit 1
fi
PGJDBC=/usr/share/java/postgresql.jar
if ! command -v java >/dev/null || [ ! -f "$PGJDBC" ]; then
  echo "orm-smoke: Java or pgjdbc is not installed (Debian: apt-get install default-jdk-headless libpostgresql-jdbc-java); .ci/run installs them" >&2
  exit 1
fi
GOPKGS=/usr/share/gocode
if ! command -v go >/dev/null || [ ! -d "$GOPKGS/src/github.com/jackc/pgx/v4" ]; then
  echo "orm-smoke: Go or pgx is not installed (Debian: apt-get install golang-go golang-github-jackc-pgx-v4-dev); .ci/run installs them" >&2
  exit 1
fi
if ! cmp -s tests/orm/node/package-lock.json "$NODE_DIR/package-lock.json"; then
  mkdir -p "$NODE_DIR"
  cp tests/orm/node/package.json tests/orm/node/package-lock.json "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --silent --no-audit --no-fund >/dev/null)
fi

if [ "${1:-}" = --against-running ]; then
  port=${PGPORT:?} user=${PGUSER:?} db=${PGDATABASE:?}
else
  BIN=${1:-target/debug/oxibase}
  [ -x "$BIN" ] || cargo build --quiet --bin oxibase
  WORK=$(mktemp -d /tmp/oxibase-orm.XXXXXX)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  user=oxibase db=oxibase
  "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$port" --http off --auth trust \
    >"$WORK/server.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 200); do
    psql -X -q -h 127.0.0.1 -p "$port" -U oxibase -d oxibase -c 'select 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

status=0
echo "== Django: migrate (contrib apps and tests/orm/django/shop)"
(cd tests/orm/django && PGPORT=$port PGUSER=$user PGDATABASE=$db "$PY" manage.py migrate -v 0) || status=1
echo "== Django: ORM"
(cd tests/orm/django && PGPORT=$port PGUSER=$user PGDATABASE=$db "$PY" orm_smoke.py) || status=1
for driver in psycopg2 psycopg asyncpg; do
  echo "== SQLAlchemy over $driver"
  "$PY" tests/orm/sqlalchemy_smoke.py "$port" "$user" "$db" "$driver" || status=1
done
echo "== Rails: ActiveRecord"
PGPORT=$port PGUSER=$user PGDATABASE=$db ruby tests/orm/rails/smoke.rb || status=1
echo "== JDBC: pgjdbc's DatabaseMetaData, prepared statements, batches, types"
PGPORT=$port PGUSER=$user PGDATABASE=$db java -cp "$PGJDBC" tests/orm/jdbc/Smoke.java || status=1
echo "== Go: pgx (binary values, batches, binary COPY, pool, LISTEN)"
GO111MODULE=off GOPATH=$GOPKGS GOCACHE=$PWD/target/orm-go-cache go build -o target/orm-go-smoke tests/orm/go/main.go \
  && PGPORT=$port PGUSER=$user PGDATABASE=$db target/orm-go-smoke || status=1
echo "== Node.js: node-postgres, Knex, Sequelize, TypeORM"
PGPORT=$port PGUSER=$user PGDATABASE=$db NODE_PATH=$PWD/$NODE_DIR/node_modules \
  node tests/orm/node/smoke.js || status=1
exit $status
