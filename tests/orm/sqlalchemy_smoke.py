"""SQLAlchemy 2 (ORM and Core) against a running server through psycopg2, psycopg 3 and asyncpg:
create_all with an enum type, JSONB, arrays, UUID, intervals; queries with joins, aggregates,
window functions, CTEs; upserts, executemany, RETURNING; savepoints and row locks; reflection;
streamed results; the drivers' binary COPY. Each step asserts what PostgreSQL 15 returns for it.
    python3 sqlalchemy_smoke.py PORT USER DATABASE psycopg2|psycopg|asyncpg"""
import os, sys, uuid, datetime, decimal, enum, asyncio, traceback
from sqlalchemy import *
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, Session, selectinload, joinedload
from sqlalchemy.dialects.postgresql import JSONB, ARRAY, UUID as PGUUID, insert as pg_insert, INTERVAL, TSRANGE
from sqlalchemy.ext.asyncio import create_async_engine, AsyncSession

port, user, db, driver = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
fails = []
def step(name, f):
    try:
        f(); print("ok  ", name)
    except Exception as e:
        fails.append(name); print("FAIL", name, type(e).__name__, (str(e).splitlines() or [""])[0][:300])
        if os.environ.get("TB"): traceback.print_exc()

class Base(DeclarativeBase): pass
class Color(enum.Enum):
    red = "red"; green = "green"
class Author(Base):
    __tablename__ = "sa_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    books: Mapped[list["Book"]] = relationship(back_populates="author", cascade="all, delete-orphan")
class Book(Base):
    __tablename__ = "sa_book"
    id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(Text, index=True)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(8, 2))
    author_id: Mapped[int] = mapped_column(ForeignKey("sa_author.id", ondelete="CASCADE"))
    author: Mapped[Author] = relationship(back_populates="books")
    meta: Mapped[dict] = mapped_column(JSONB, default=dict)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    color: Mapped[Color] = mapped_column(Enum(Color, name="sa_color"), default=Color.red)
    published: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    pages: Mapped[int | None] = mapped_column(SmallInteger)
    ratio: Mapped[float | None] = mapped_column(Float)
    span: Mapped[datetime.timedelta | None] = mapped_column(INTERVAL)
    day: Mapped[datetime.date | None] = mapped_column(Date)
    at: Mapped[datetime.time | None] = mapped_column(Time)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    ok: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    __table_args__ = (CheckConstraint("price >= 0", name="sa_price_ck"), UniqueConstraint("author_id", "title"))

url = {"psycopg2": f"postgresql+psycopg2://{user}@127.0.0.1:{port}/{db}",
       "psycopg": f"postgresql+psycopg://{user}@127.0.0.1:{port}/{db}",
       "asyncpg": f"postgresql+asyncpg://{user}@127.0.0.1:{port}/{db}"}[driver]

def sync_tests(conn_engine):
    e = conn_engine
    step("drop/create_all", lambda: (Base.metadata.drop_all(e), Base.metadata.create_all(e)))
    def orm():
        with Session(e) as s:
            a = Author(name="ann"); s.add(a)
            for i in range(5):
                a.books.append(Book(title=f"b{i}", price=decimal.Decimal("1.50") * i, meta={"k": i, "tags": ["x"]}, tags=["t", str(i)],
                   color=Color.green if i % 2 else Color.red, pages=i * 10, ratio=i / 3, span=datetime.timedelta(days=i, seconds=5),
                   day=datetime.date(2024, 2, i + 1), at=datetime.time(12, i), raw=b"\x00\xff"))
            s.commit()
            b = s.scalars(select(Book).where(Book.title == "b3")).one()
            assert b.meta == {"k": 3, "tags": ["x"]} and b.tags == ["t", "3"] and b.color == Color.green, (b.meta, b.tags, b.color)
            assert b.span == datetime.timedelta(days=3, seconds=5) and b.raw == b"\x00\xff" and b.ok is True
            assert b.published.tzinfo is not None
    step("orm insert/select", orm)
    def queries():
        with Session(e) as s:
            q = select(Author.name, func.count(Book.id), func.sum(Book.price)).join(Author.books).group_by(Author.id)
            assert s.execute(q).all() == [("ann", 5, decimal.Decimal("15.00"))]
            assert s.scalars(select(Book.title).where(Book.meta["k"].as_integer() > 2).order_by(Book.title)).all() == ["b3", "b4"]
            assert s.scalars(select(func.count()).select_from(Book).where(Book.tags.contains(["1"]))).one() == 1
            assert s.scalars(select(func.count()).select_from(Book).where(Book.tags.any("4"))).one() == 1
            assert s.scalars(select(Book.title).where(Book.meta.has_key("tags")).limit(1)).first() is not None
            assert s.scalars(select(Book.title).where(Book.meta.contains({"k": 1}))).all() == ["b1"]
            authors = s.scalars(select(Author).options(selectinload(Author.books))).all()
            assert len(authors[0].books) == 5
            authors = s.scalars(select(Author).options(joinedload(Author.books))).unique().all()
            assert len(authors[0].books) == 5
            sub = select(Book.author_id, func.max(Book.price).label("mx")).group_by(Book.author_id).subquery()
            assert s.execute(select(Author.name, sub.c.mx).join(sub, sub.c.author_id == Author.id)).all() == [("ann", decimal.Decimal("6.00"))]
            w = select(Book.title, func.row_number().over(order_by=Book.price.desc()).label("rn"))
            assert s.execute(w).all()[0] == ("b4", 1)
            cte = select(Book.id, Book.price).where(Book.price > 2).cte("pricey")
            assert s.scalar(select(func.count()).select_from(cte)) == 3
            assert s.scalar(select(exists().where(Book.title.ilike("B%")))) is True
            assert s.scalar(select(func.string_agg(Book.title, aggregate_order_by(Book.title, Book.title.desc()) if False else literal(",")))) is not None
    from sqlalchemy.dialects.postgresql import aggregate_order_by
    step("queries", queries)
    def dml():
        with Session(e) as s:
            s.execute(update(Book).where(Book.pages > 20).values(price=Book.price + 1))
            r = s.execute(delete(Book).where(Book.title == "b0").returning(Book.title)).all()
            assert r == [("b0",)]
            st = pg_insert(Author).values([{"name": "ann"}, {"name": "bob"}])
            st = st.on_conflict_do_update(index_elements=["name"], set_={"name": st.excluded.name + "!"}).returning(Author.name)
            assert sorted(x[0] for x in s.execute(st)) == ["ann!", "bob"]
            s.execute(pg_insert(Author).values(name="bob").on_conflict_do_nothing())
            s.execute(insert(Author), [{"name": f"bulk{i}"} for i in range(50)])
            ids = s.scalars(insert(Author).returning(Author.id), [{"name": f"ret{i}"} for i in range(10)]).all()
            assert len(ids) == 10
            s.commit()
    step("dml/upsert/executemany", dml)
    def tx():
        with Session(e) as s:
            with s.begin():
                s.add(Author(name="tx1"))
                sp = s.begin_nested()
                s.add(Author(name="tx1")); 
                try:
                    s.flush()
                except exc.IntegrityError:
                    sp.rollback()
            assert s.scalar(select(func.count()).where(Author.name == "tx1")) == 1
        with Session(e) as s:
            s.scalars(select(Author).with_for_update(skip_locked=True).limit(2)).all()
            s.scalars(select(Author).with_for_update(nowait=True, of=Author).limit(2)).all()
            s.rollback()
    step("transactions/savepoints/locks", tx)
    def reflect():
        insp = inspect(e)
        assert "sa_book" in insp.get_table_names()
        cols = {c["name"]: c for c in insp.get_columns("sa_book")}
        assert "meta" in cols and "tags" in cols
        assert insp.get_pk_constraint("sa_book")["constrained_columns"] == ["id"]
        fks = insp.get_foreign_keys("sa_book"); assert fks[0]["referred_table"] == "sa_author", fks
        ix = insp.get_indexes("sa_book"); assert any(i["column_names"] == ["title"] for i in ix), ix
        uq = insp.get_unique_constraints("sa_book"); assert uq, uq
        ck = insp.get_check_constraints("sa_book"); assert ck, ck
        assert [x["name"] for x in insp.get_enums()] == ["sa_color"], insp.get_enums()
        md = MetaData(); t = Table("sa_book", md, autoload_with=e); assert len(t.c) == 15, len(t.c)
    step("reflection", reflect)
    def stream():
        with e.connect() as c:
            r = c.execution_options(stream_results=True, max_row_buffer=10).execute(select(Author.name))
            n = sum(1 for _ in r); assert n >= 60, n
    step("stream_results", stream)
    def types():
        with e.connect() as c:
            row = c.execute(text("select 1::int2, 2::int8, 1.5::float4, 'x'::varchar, now(), current_date, '1 day'::interval, '{1,2}'::int[], '{\"a\": 1}'::json, gen_random_uuid(), 12.34::numeric, 'a'::bytea, '12:00'::time, true")).one()
            assert row[7] == [1, 2] and row[8] == {"a": 1}
            p = c.execute(text("select cast(:a as int) + 1, cast(:b as text) || 'x', cast(:c as numeric) * 2, cast(:d as timestamptz), cast(:e as jsonb)"), {"a": 1, "b": "y", "c": decimal.Decimal("1.5"), "d": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), "e": '{"z": 1}'}).one()
            assert p[0] == 2 and p[1] == "yx" and p[2] == 3
    step("types/params", types)
    def drop():
        Base.metadata.drop_all(e)
    step("drop_all", drop)

# The drivers' own bulk loads: binary COPY (asyncpg's copy_records_to_table, psycopg 3's
# copy with set_types).
def binary_copy():
    rows = [(i, f"n{i}", datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
             decimal.Decimal("1.25"), uuid.UUID(int=i), datetime.date(2020, 1, 2), ["a", None])
            for i in range(1000)]
    ddl = ("drop table if exists sa_copy; create table sa_copy (id int primary key, name text, "
           "at timestamptz, price numeric(8,2), u uuid, d date, tags text[])")
    check = "select count(*), sum(price), max(u::text), min(at), max(tags) from sa_copy"
    expected = (1000, decimal.Decimal("1250.00"), "00000000-0000-0000-0000-0000000003e7",
                datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), ["a", None])
    if driver == "asyncpg":
        import asyncpg
        async def run():
            c = await asyncpg.connect(host="127.0.0.1", port=int(port), user=user, database=db)
            await c.execute(ddl)
            assert await c.copy_records_to_table("sa_copy", records=rows) == "COPY 1000"
            got = tuple(await c.fetchrow(check))
            await c.execute("drop table sa_copy")
            await c.close()
            return got
        got = asyncio.run(run())
    elif driver == "psycopg":
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=db) as conn:
            conn.execute(ddl)
            with conn.cursor().copy("copy sa_copy from stdin (format binary)") as cp:
                cp.set_types(["int4", "text", "timestamptz", "numeric", "uuid", "date", "text[]"])
                for row in rows:
                    cp.write_row(row)
            got = conn.execute(check).fetchone()
            conn.execute("drop table sa_copy")
    else:
        return
    assert got == expected, got

step("binary copy", binary_copy)

if driver == "asyncpg":
    async def main():
        ae = create_async_engine(url)
        async with ae.begin() as c:
            await c.run_sync(Base.metadata.drop_all); await c.run_sync(Base.metadata.create_all)
        async with AsyncSession(ae) as s:
            s.add(Author(name="x", books=[Book(title="t", price=1, meta={"a": 1}, tags=["q"], span=datetime.timedelta(hours=1), raw=b"1")]))
            await s.commit()
            b = (await s.scalars(select(Book).options(selectinload(Book.author)))).one()
            assert b.author.name == "x" and b.meta == {"a": 1} and b.tags == ["q"]
            rows = (await s.execute(text("select $1::int + 1" if False else "select 1 + :v"), {"v": 4})).all()
            r = await s.execute(select(Author.name, func.count(Book.id)).join(Author.books).group_by(Author.id)); assert r.all() == [("x", 1)]
        async with ae.connect() as c:
            res = await c.stream(select(Book.title)); assert [r async for r in res]
            def r(conn):
                return inspect(conn).get_columns("sa_book")
            assert len(await c.run_sync(r)) == 15
        async with ae.begin() as c:
            await c.run_sync(Base.metadata.drop_all)
        await ae.dispose()
    step("asyncpg orm", lambda: asyncio.run(main()))
else:
    sync_tests(create_engine(url))
print("FAILED:", fails)
sys.exit(1 if fails else 0)
