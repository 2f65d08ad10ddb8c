"""Django's ORM against a running server: what an application's first day does (contrib apps'
migrations run before this by scripts/orm-smoke.sh, then models with JSON, arrays, enums-as-text,
constraints, aggregates, window functions, subqueries, transactions with savepoints, row locks,
server-side cursors and introspection). Each step asserts what PostgreSQL 15 returns for it."""
import os, sys, datetime, decimal, traceback
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django; django.setup()
from django.db import transaction, connection, IntegrityError
from django.db.models import *
from django.db.models.functions import *
from django.contrib.auth.models import User, Group, Permission
from shop.models import *
fails = []
def step(name):
    def deco(f):
        try:
            f(); print("ok  ", name)
        except Exception as e:
            fails.append(name); print("FAIL", name, type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            if os.environ.get("TB"): traceback.print_exc()
        return f
    return deco
D = decimal.Decimal
@step("user create/auth")
def _():
    u = User.objects.create_user("alice", "a@x.io", "pw"); assert u.check_password("pw")
    g = Group.objects.create(name="staff"); u.groups.add(g)
    u.user_permissions.add(*Permission.objects.filter(codename__startswith="add_")[:3])
    assert User.objects.get(username="alice").has_perm("auth.add_user") in (True, False)
    assert User.objects.filter(groups__name="staff").count() == 1
@step("categories tree")
def _():
    root = Category.objects.create(name="root")
    for i in range(3): Category.objects.create(name=f"c{i}", parent=root)
    assert root.children.count() == 3
    assert Category.objects.filter(parent__name="root").order_by("-name").first().name == "c2"
@step("products create")
def _():
    cat = Category.objects.get(name="c0")
    tags = [Tag.objects.create(label=f"t{i}") for i in range(3)]
    for i in range(10):
        p = Product.objects.create(name=f"p{i}", price=D("9.99") * i, stock=i, category=cat,
            attrs={"color": "red" if i % 2 else "blue", "n": i, "nested": {"k": [1, 2]}}, sizes=[i, i + 1],
            available_on=datetime.date(2024, 1, 1 + i), weight=i * 0.5, blob=b"\x00\x01",
            duration=datetime.timedelta(hours=i, seconds=3))
        p.tags.set(tags[: i % 4])
@step("bulk_create + update_conflicts")
def _():
    cat = Category.objects.get(name="c1")
    Product.objects.bulk_create([Product(name=f"b{i}", price=1, category=cat) for i in range(5)])
    Product.objects.bulk_create([Product(name="b1", price=5, category=cat)], update_conflicts=True,
        unique_fields=["category", "name"], update_fields=["price"])
    assert Product.objects.get(name="b1").price == 5
@step("bulk_update")
def _():
    ps = list(Product.objects.filter(name__startswith="b"))
    for p in ps: p.stock = 7
    Product.objects.bulk_update(ps, ["stock"])
    assert Product.objects.filter(stock=7).count() >= 5
@step("filters")
def _():
    assert Product.objects.filter(name__icontains="P1").count() == 1
    assert Product.objects.filter(name__regex=r"^p[0-3]$").count() == 4
    assert Product.objects.filter(price__range=(10, 30)).count() == 2
    assert Product.objects.filter(available_on__year=2024, available_on__month=1).count() == 10
    assert Product.objects.filter(created__date=datetime.date.today()).count() >= 0
    assert Product.objects.exclude(weight__isnull=True).filter(weight__gt=2).count() == 5
    assert Product.objects.filter(Q(stock__lt=2) | Q(stock__gt=8)).count() >= 3
    assert Product.objects.filter(name__in=["p1", "p2"]).count() == 2
    assert Product.objects.filter(duration__gt=datetime.timedelta(hours=5)).count() == 5
    assert Product.objects.filter(name__iexact="P3").exists()
    assert Product.objects.filter(name__endswith="9").get().stock == 9
@step("json lookups")
def _():
    assert Product.objects.filter(attrs__color="red").count() == 5
    assert Product.objects.filter(attrs__n__gte=5).count() == 5
    assert Product.objects.filter(attrs__has_key="nested").count() == 10
    assert Product.objects.filter(attrs__contains={"color": "blue"}).count() == 5
    assert Product.objects.filter(attrs__nested__k__1=2).count() == 10
    assert Product.objects.filter(attrs__has_keys=["color", "n"]).count() == 10
    assert Product.objects.filter(attrs__color__in=["red"]).count() == 5
    from django.db.models.fields.json import KeyTextTransform
    Product.objects.values_list(KeyTextTransform("color", "attrs"), flat=True).first()
@step("array lookups")
def _():
    assert Product.objects.filter(sizes__contains=[3]).count() == 2
    assert Product.objects.filter(sizes__len=2).count() == 10
    assert Product.objects.filter(sizes__0=4).count() == 1
    assert Product.objects.filter(sizes__overlap=[1, 100]).count() == 2
    assert Product.objects.filter(sizes__contained_by=[0, 1, 2]).count() == 7
@step("m2m")
def _():
    assert Product.objects.filter(tags__label="t1").distinct().count() == 4
    assert Tag.objects.annotate(n=Count("product")).order_by("label")[0].n == 7
    p = Product.objects.prefetch_related("tags").get(name="p3"); assert len(p.tags.all()) == 3
@step("aggregates/annotate")
def _():
    r = Product.objects.filter(name__startswith="p").aggregate(s=Sum("stock"), a=Avg("price"), m=Max("weight"), c=Count("id"), sd=StdDev("stock"))
    assert r["s"] == 45 and r["c"] == 10
    q = Category.objects.annotate(n=Count("products"), total=Sum(F("products__price") * F("products__stock"))).filter(n__gt=0).order_by("name")
    assert [c.name for c in q] == ["c0", "c1"]
    Product.objects.values("status").annotate(c=Count("*")).order_by()
    Product.objects.annotate(cnt=Count("tags", filter=Q(tags__label="t0"))).values_list("cnt", flat=True)
    from django.contrib.postgres.aggregates import ArrayAgg, StringAgg
    Product.objects.aggregate(arr=ArrayAgg("name", ordering="name"), st=StringAgg("name", ", "))
@step("expressions/functions")
def _():
    list(Product.objects.annotate(u=Upper("name"), l=Length("name"), c=Concat("name", Value("-"), "status"), cs=Coalesce("weight", Value(0.0)), r=Round("price", 1), tr=TruncMonth("created"), ex=ExtractWeekDay("available_on"), now=Now(), cast=Cast("stock", CharField()), sub=Substr("name", 1, 1), lp=LPad("name", 5, Value("*")), md5=MD5("name")).values())
    list(Product.objects.annotate(k=Case(When(stock__gt=5, then=Value("hi")), default=Value("lo"))).values("k"))
    list(Product.objects.annotate(g=Greatest("stock", Value(3)), pw=Power("stock", 2), mod=Mod("stock", 3)).values())
@step("subqueries")
def _():
    newest = Product.objects.filter(category=OuterRef("pk")).order_by("-created")
    list(Category.objects.annotate(newest=Subquery(newest.values("name")[:1]), has=Exists(newest)))
    list(Product.objects.filter(category__in=Category.objects.filter(name__startswith="c")))
@step("window functions")
def _():
    list(Product.objects.annotate(rn=Window(RowNumber(), partition_by=[F("category")], order_by=F("price").desc()), rk=Window(Rank(), order_by="stock"), run=Window(Sum("stock"), order_by="id")).values("rn", "rk", "run"))
@step("select_related/only/defer/values")
def _():
    list(Product.objects.select_related("category").only("name", "category__name"))
    list(Product.objects.defer("attrs").values_list("name", "category__name"))
    list(Product.objects.order_by("category__name", "-price").distinct("category__name"))
@step("update F / delete cascade / protect")
def _():
    Product.objects.filter(name="p1").update(stock=F("stock") + 10)
    assert Product.objects.get(name="p1").stock == 11
    try:
        Category.objects.filter(name="c0").delete(); assert False, "protect"
    except Exception as e:
        assert "protected" in str(e).lower(), e
    o = Order.objects.create(placed=datetime.datetime.now(datetime.timezone.utc))
    OrderLine.objects.create(order=o, product=Product.objects.first(), qty=2, unit_price=1)
    o.delete(); assert OrderLine.objects.count() == 0
@step("transactions/savepoints/integrity")
def _():
    with transaction.atomic():
        Tag.objects.create(label="tx1")
        try:
            with transaction.atomic():
                Tag.objects.create(label="tx1")
        except IntegrityError: pass
        Tag.objects.create(label="tx2")
    assert Tag.objects.filter(label__startswith="tx").count() == 2
    try:
        Product.objects.create(name="neg", price=-1, category=Category.objects.first())
        assert False
    except IntegrityError: pass
@step("select_for_update skip_locked / nowait / of")
def _():
    with transaction.atomic():
        list(Product.objects.select_for_update(skip_locked=True).filter(stock__gt=0)[:2])
        list(Product.objects.select_related("category").select_for_update(of=("self",), nowait=True)[:1])
@step("get_or_create/update_or_create")
def _():
    t, c = Tag.objects.get_or_create(label="goc"); assert c
    t, c = Tag.objects.get_or_create(label="goc"); assert not c
    Tag.objects.update_or_create(label="goc", defaults={"label": "goc2"})
@step("dates/datetimes/tz")
def _():
    list(Product.objects.dates("available_on", "month"))
    list(Product.objects.datetimes("created", "hour"))
    list(Product.objects.annotate(d=TruncDate("created"), h=ExtractHour("created"), iso=ExtractIsoYear("available_on"), q=ExtractQuarter("available_on")).values("d", "h", "iso", "q"))
@step("raw/cursor")
def _():
    list(Product.objects.raw("select * from shop_product where stock > %s", [3]))
    with connection.cursor() as c:
        c.execute("select count(*) from shop_product where name = any(%s)", [["p1", "p2"]]); assert c.fetchone()[0] == 2
@step("iterator server-side cursor")
def _():
    assert sum(1 for _ in Product.objects.iterator(chunk_size=3)) >= 10
@step("introspection inspectdb")
def _():
    from django.core.management import call_command
    import io
    out = io.StringIO(); call_command("inspectdb", stdout=out); assert "class ShopProduct" in out.getvalue()
@step("session store")
def _():
    from django.contrib.sessions.backends.db import SessionStore
    s = SessionStore(); s["a"] = 1; s.create(); assert SessionStore(session_key=s.session_key)["a"] == 1
@step("union/intersection")
def _():
    a = Product.objects.filter(stock__lt=2).values_list("name"); b = Product.objects.filter(stock__gt=8).values_list("name")
    assert len(list(a.union(b))) >= 2
    list(a.intersection(b)); list(a.difference(b))
@step("in_bulk / exists / count with slicing")
def _():
    Product.objects.in_bulk([1, 2, 3]); Product.objects.all()[2:5].count()
@step("full text search")
def _():
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
    cat = Category.objects.get(name="c2")
    for name in ["Red running shoes", "Blue shoe laces", "Running jacket"]:
        Product.objects.create(name=name, price=1, category=cat)
    names = lambda qs: sorted(qs.values_list("name", flat=True))
    assert names(Product.objects.filter(name__search="shoes")) == ["Blue shoe laces", "Red running shoes"]
    v = SearchVector("name", config="english")
    searched = Product.objects.annotate(s=v)
    assert names(searched.filter(s=SearchQuery("running shoe", config="english"))) == ["Red running shoes"]
    assert names(searched.filter(s=SearchQuery('"running shoes" or laces', search_type="websearch"))) == ["Blue shoe laces", "Red running shoes"]
    assert names(searched.filter(s=SearchQuery("shoe laces", search_type="phrase"))) == ["Blue shoe laces"]
    assert names(searched.filter(s=SearchQuery("run:*", search_type="raw") & ~SearchQuery("jacket"))) == ["Red running shoes"]
    weighted = SearchVector("name", weight="A", config="english") + SearchVector("status", weight="D")
    ranked = Product.objects.annotate(rank=SearchRank(weighted, SearchQuery("run"))).filter(rank__gt=0).order_by("-rank", "name")
    assert [(p.name, round(p.rank, 4)) for p in ranked] == [("Red running shoes", 0.6079), ("Running jacket", 0.6079)]
    from django.contrib.postgres.search import SearchHeadline
    h = Product.objects.annotate(h=SearchHeadline("name", SearchQuery("shoes"), start_sel="[", stop_sel="]")).get(name="Red running shoes").h
    assert h == "Red running [shoes]", h
@step("GIN indexes (migration 0002): jsonb, array and search lookups through them")
def _():
    from django.contrib.postgres.search import SearchQuery, SearchVector
    with connection.cursor() as c:
        c.execute("select indexname, indexdef from pg_indexes where indexname like 'product_%_gin' order by 1")
        defs = c.fetchall()
        c.execute("select version()")
        oxibase = "Oxibase" in c.fetchone()[0]
    assert [d[0] for d in defs] == ["product_attrs_gin", "product_search_gin", "product_sizes_gin"], defs
    assert all("USING gin" in d[1] for d in defs), defs
    lookups = [
        (Product.objects.filter(attrs__contains={"color": "blue"}), 5, "product_attrs_gin"),
        (Product.objects.filter(attrs__has_key="nested"), 10, "product_attrs_gin"),
        (Product.objects.filter(attrs__has_any_keys=["n", "zzz"]), 10, "product_attrs_gin"),
        (Product.objects.filter(sizes__contains=[3]), 2, "product_sizes_gin"),
        (Product.objects.filter(sizes__overlap=[1, 10]), 3, "product_sizes_gin"),
        (Product.objects.annotate(s=SearchVector("name", config="english"))
         .filter(s=SearchQuery("shoe", config="english")), 2, "product_search_gin"),
    ]
    for qs, n, index in lookups:
        assert qs.count() == n, (str(qs.query), qs.count(), n)
        # PostgreSQL chooses by cost (these tables are small); Oxibase whenever one applies.
        if oxibase:
            assert f"Bitmap Index Scan on {index}" in qs.explain(), qs.explain()
@step("GenericIPAddressField (migration 0003): inet values, lookups, ordering, containment")
def _():
    from django.db import DataError
    for ip, proxy in [("10.0.0.20", "192.0.2.1"), ("10.0.0.1", None), ("2001:db8::1", None),
                      ("192.168.1.7", "192.0.2.1"), ("::1", None)]:
        Visit.objects.create(ip=ip, proxy=proxy)
    assert Visit.objects.filter(ip="10.0.0.1").count() == 1
    assert Visit.objects.filter(ip__startswith="10.0.").count() == 2
    assert Visit.objects.filter(ip__gt="10.0.0.9").count() == 4
    ordered = list(Visit.objects.order_by("ip").values_list("ip", flat=True))
    assert ordered == ["10.0.0.1", "10.0.0.20", "192.168.1.7", "::1", "2001:db8::1"], ordered
    assert Visit.objects.aggregate(m=Max("ip"))["m"] == "2001:db8::1"
    assert Visit.objects.extra(where=["ip << %s"], params=["10.0.0.0/8"]).count() == 2
    assert Visit.objects.filter(proxy__isnull=False).values("proxy").distinct().count() == 1
    with connection.cursor() as c:
        c.execute("select family(ip), masklen(ip), host(ip), ip::text from shop_visit order by ip")
        rows = c.fetchall()
    assert rows[0] == (4, 32, "10.0.0.1", "10.0.0.1/32") and rows[-1][:2] == (6, 128), rows
    try:
        # Django checks addresses itself; the server must refuse one that gets past it.
        with transaction.atomic(), connection.cursor() as c:
            c.execute("insert into shop_visit (ip, network) values (%s, '')", ["not an address"])
        raise AssertionError("an invalid address was stored")
    except DataError:
        pass
print("FAILED:", fails)
sys.exit(1 if fails else 0)
