// pgx (v4) against a server at 127.0.0.1:PGPORT (PGUSER, PGDATABASE): the extended protocol
// with binary parameters and results for every common type, batches, COPY FROM, the pool,
// transactions with savepoints, errors with SQLSTATEs, LISTEN/NOTIFY. Every check asserts what
// PostgreSQL 15 returns, so it passes against PostgreSQL too.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run main.go     (Debian's golang-go and
//	golang-github-jackc-pgx-v4-dev; run by scripts/orm-smoke.sh)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgtype"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

var failed []string

func check(ok bool, format string, args ...interface{}) {
	if !ok {
		panic(fmt.Sprintf(format, args...))
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func group(name string, body func()) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Printf("FAIL %s: %v\n", name, r)
			failed = append(failed, name)
		}
	}()
	body()
	fmt.Printf("ok   %s\n", name)
}

func main() {
	ctx := context.Background()
	user := os.Getenv("PGUSER")
	if user == "" {
		user = "oxibase"
	}
	db := os.Getenv("PGDATABASE")
	if db == "" {
		db = "oxibase"
	}
	url := fmt.Sprintf("postgres://%s@127.0.0.1:%s/%s?sslmode=disable", user, os.Getenv("PGPORT"), db)
	conn, err := pgx.Connect(ctx, url)
	must(err)
	defer conn.Close(ctx)

	group("types", func() {
		_, err := conn.Exec(ctx, "drop table if exists g_item")
		must(err)
		_, err = conn.Exec(ctx, `create table g_item (id bigserial primary key, name text not null,
			qty int, price numeric(10,2), ratio float8, small smallint, ok bool, born date,
			at timestamptz, naive timestamp, span interval, tags text[], ids int8[], meta jsonb,
			raw bytea, uid uuid)`)
		must(err)
		at := time.Date(2021, 3, 4, 5, 6, 7, 123456000, time.UTC)
		var id int64
		err = conn.QueryRow(ctx, `insert into g_item (name, qty, price, ratio, small, ok, born, at,
			naive, span, tags, ids, meta, raw, uid) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15) returning id`,
			"widget", int32(3), "12.50", 0.25, int16(-2), true, time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC),
			at, time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC), 90*time.Minute, []string{"a", "b"},
			[]int64{1, 2, 3}, map[string]interface{}{"k": []int{1, 2}}, []byte{0, 1, 255},
			"6f1c2b1e-8a4e-4f6e-9a1e-1b2c3d4e5f60").Scan(&id)
		must(err)
		check(id == 1, "id %d", id)
		var (
			name  string
			qty   int32
			price pgtype.Numeric
			ratio float64
			small int16
			ok    bool
			born  time.Time
			got   time.Time
			naive time.Time
			span  time.Duration
			tags  []string
			ids   []int64
			meta  map[string]interface{}
			raw   []byte
			uid   pgtype.UUID
		)
		err = conn.QueryRow(ctx, "select name, qty, price, ratio, small, ok, born, at, naive, span, tags, ids, meta, raw, uid from g_item where id = $1", id).
			Scan(&name, &qty, &price, &ratio, &small, &ok, &born, &got, &naive, &span, &tags, &ids, &meta, &raw, &uid)
		must(err)
		priceText := fmt.Sprintf("%ve%d", price.Int, price.Exp)
		check(name == "widget" && qty == 3 && priceText == "1250e-2" && ratio == 0.25 && small == -2 && ok, "scalars %v %v %v %v %v %v", name, qty, priceText, ratio, small, ok)
		check(born.Equal(time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC)), "date %v", born)
		check(got.Equal(at), "timestamptz %v", got)
		check(naive.Equal(time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)), "timestamp %v", naive)
		check(span == 90*time.Minute, "interval %v", span)
		check(reflect.DeepEqual(tags, []string{"a", "b"}) && reflect.DeepEqual(ids, []int64{1, 2, 3}), "arrays %v %v", tags, ids)
		check(fmt.Sprint(meta) == "map[k:[1 2]]", "jsonb %v", meta)
		check(reflect.DeepEqual(raw, []byte{0, 1, 255}), "bytea %v", raw)
		check(fmt.Sprintf("%x", uid.Bytes) == "6f1c2b1e8a4e4f6e9a1e1b2c3d4e5f60", "uuid %x", uid.Bytes)
		var null *string
		must(conn.QueryRow(ctx, "select note from (select null::text as note) n").Scan(&null))
		check(null == nil, "null")
	})

	group("batch and copy", func() {
		b := &pgx.Batch{}
		for i := 0; i < 50; i++ {
			b.Queue("insert into g_item (name, qty) values ($1, $2)", fmt.Sprintf("b%d", i), int32(i))
		}
		b.Queue("select count(*) from g_item")
		br := conn.SendBatch(ctx, b)
		for i := 0; i < 50; i++ {
			_, err := br.Exec()
			must(err)
		}
		var n int64
		must(br.QueryRow().Scan(&n))
		must(br.Close())
		check(n == 51, "count after batch %d", n)
		rows := [][]interface{}{}
		for i := 0; i < 1000; i++ {
			rows = append(rows, []interface{}{fmt.Sprintf("c%d", i), int32(i), 0.5})
		}
		copied, err := conn.CopyFrom(ctx, pgx.Identifier{"g_item"}, []string{"name", "qty", "ratio"}, pgx.CopyFromRows(rows))
		must(err)
		check(copied == 1000, "copied %d", copied)
		var sum int64
		must(conn.QueryRow(ctx, "select sum(qty) from g_item where name like 'c%'").Scan(&sum))
		check(sum == 499500, "sum %d", sum)
	})

	group("transactions and errors", func() {
		tx, err := conn.Begin(ctx)
		must(err)
		_, err = tx.Exec(ctx, "update g_item set qty = 100 where id = 1")
		must(err)
		sp, err := tx.Begin(ctx) // a savepoint
		must(err)
		_, err = sp.Exec(ctx, "insert into g_item (id, name) values (1, 'dup')")
		var pgErr *pgconn.PgError
		check(errors.As(err, &pgErr) && pgErr.Code == "23505", "unique violation %v", err)
		must(sp.Rollback(ctx))
		must(tx.Commit(ctx))
		var qty int32
		must(conn.QueryRow(ctx, "select qty from g_item where id = 1").Scan(&qty))
		check(qty == 100, "qty %d", qty)
		_, err = conn.Exec(ctx, "select 1/0")
		check(errors.As(err, &pgErr) && pgErr.Code == "22012", "division by zero %v", err)
		_, err = conn.Exec(ctx, "select * from g_nonesuch")
		check(errors.As(err, &pgErr) && pgErr.Code == "42P01", "undefined table %v", err)
	})

	group("pool and notify", func() {
		pool, err := pgxpool.Connect(ctx, url)
		must(err)
		defer pool.Close()
		listener, err := pool.Acquire(ctx)
		must(err)
		defer listener.Release()
		_, err = listener.Exec(ctx, "listen g_jobs")
		must(err)
		done := make(chan int, 8)
		for i := 0; i < 8; i++ {
			go func(i int) {
				var n int64
				if err := pool.QueryRow(ctx, "select count(*) from g_item where qty >= $1", int32(i)).Scan(&n); err != nil {
					done <- -1
					return
				}
				done <- int(n)
			}(i)
		}
		for i := 0; i < 8; i++ {
			check(<-done > 0, "pooled query")
		}
		_, err = pool.Exec(ctx, "select pg_notify('g_jobs', 'job 7')")
		must(err)
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		note, err := listener.Conn().WaitForNotification(wait)
		must(err)
		check(note.Channel == "g_jobs" && note.Payload == "job 7", "notification %v", note)
	})

	fmt.Printf("FAILED: %v\n", failed)
	if len(failed) > 0 {
		os.Exit(1)
	}
}
