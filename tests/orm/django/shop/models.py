import uuid
from django.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db.models import Q, F

class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

class Tag(models.Model):
    label = models.SlugField(unique=True)

class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"; LIVE = "live"
    uid = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    tags = models.ManyToManyField(Tag, blank=True)
    attrs = models.JSONField(default=dict)
    sizes = ArrayField(models.IntegerField(), default=list)
    created = models.DateTimeField(auto_now_add=True)
    available_on = models.DateField(null=True)
    weight = models.FloatField(null=True)
    active = models.BooleanField(default=True)
    blob = models.BinaryField(null=True)
    duration = models.DurationField(null=True)
    class Meta:
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="price_nonneg"),
                       models.UniqueConstraint(fields=["category", "name"], name="uniq_cat_name"),
                       models.UniqueConstraint(fields=["name"], condition=Q(active=True), name="uniq_active_name")]
        indexes = [models.Index(fields=["-created", "status"]), models.Index(F("attrs__color"), name="attr_color"),
                   GinIndex(fields=["attrs"], name="product_attrs_gin"),
                   GinIndex(fields=["sizes"], name="product_sizes_gin"),
                   GinIndex(SearchVector("name", config="english"), name="product_search_gin")]

class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    placed = models.DateTimeField()
    note = models.TextField(blank=True)

class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True)
    qty = models.IntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

class Visit(models.Model):
    ip = models.GenericIPAddressField(db_index=True)
    proxy = models.GenericIPAddressField(protocol="IPv4", null=True, blank=True)
    network = models.CharField(max_length=50, blank=True)
