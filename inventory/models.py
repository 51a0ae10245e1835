import functools

from django.conf import settings
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest

from core.models import Client
from inventory import figures


class StockType(models.TextChoices):
    """The typed quantities of SPEC §2. Physical: available, reserved, obsolete; the rest is demand or incoming."""

    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    OBSOLETE = "obsolete", "Obsolete"
    ALLOCATED = "allocated", "Allocated"
    PLANNED = "planned", "Planned"
    ORDERED = "ordered", "Ordered"
    IN_PRODUCTION = "in_production", "In-production"


STOCK_TYPES = [choice.value for choice in StockType]


class WarehouseQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def local(self):
        return self.filter(source=Warehouse.Source.LOCAL)

    def allocadence(self):
        return self.filter(source=Warehouse.Source.ALLOCADENCE)


class Warehouse(models.Model):
    class Source(models.TextChoices):
        ALLOCADENCE = "allocadence", "Allocadence (mirrored)"
        LOCAL = "local", "Local (managed here)"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.LOCAL)
    allocadence_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    is_active = models.BooleanField(default=True)
    needs_review = models.BooleanField(
        default=False, help_text="Created automatically by an Allocadence pull; an admin should review it."
    )

    objects = WarehouseQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"

    @property
    def is_allocadence(self) -> bool:
        return self.source == self.Source.ALLOCADENCE


class Location(models.Model):
    """A storage place inside a warehouse; each warehouse has one default root location."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="locations")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["warehouse__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "code"], name="location_unique_code_per_warehouse"),
            models.UniqueConstraint(
                fields=["warehouse"], condition=Q(is_default=True), name="location_one_default_per_warehouse"
            ),
        ]

    def __str__(self):
        return f"{self.warehouse.code}/{self.code}"

    @property
    def label(self) -> str:
        """The code with the warehouse, for forms and tables (needs `warehouse` loaded)."""
        suffix = f" — {self.name}" if self.name and self.name != self.code else ""
        return f"{self.warehouse.code} / {self.code}{suffix}"


class PartQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def search(self, q: str):
        q = (q or "").strip()
        return self.filter(Q(sku__icontains=q) | Q(description__icontains=q)) if q else self


class Part(models.Model):
    class Kind(models.TextChoices):
        OUTSOURCED = "outsourced", "Outsourced"
        IN_HOUSE = "in_house", "In-house"
        GENERIC = "generic", "Generic"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="parts")
    sku = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OUTSOURCED)
    alternates = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="generic_parts", help_text="Only for generic parts."
    )
    low_stock_threshold = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    image = models.ImageField(upload_to="parts/", blank=True)
    thumbnail = models.ImageField(upload_to="parts/thumbs/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PartQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [models.UniqueConstraint(fields=["client", "sku"], name="part_unique_sku_per_client")]
        indexes = [models.Index(fields=["sku"], name="part_sku_idx")]

    def __str__(self):
        return self.sku


class InventoryRow(models.Model):
    """A quantity of one part at one location of one type. Changed only through the ledger."""

    # No single-column indexes on part and warehouse: the unique (part, location, type) key and the
    # (warehouse, part) index lead with them, and every extra index is paid on each ledger write.
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="inventory_rows", db_index=False)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="inventory_rows", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="inventory_rows")
    type = models.CharField(max_length=16, choices=StockType.choices)
    quantity = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["part", "location", "type"], name="inventoryrow_unique_part_location_type"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="inventoryrow_quantity_not_negative"),
            models.CheckConstraint(condition=Q(type__in=STOCK_TYPES), name="inventoryrow_type_valid"),
        ]
        indexes = [models.Index(fields=["warehouse", "part"], name="inventoryrow_wh_part_idx")]
        permissions = [
            ("adjust_stock", "Can create, adjust, move, mark obsolete and remove local stock"),
            ("import_inventory", "Can import parts and inventory from CSV"),
            ("export_inventory", "Can export the inventory list"),
        ]

    def __str__(self):
        return f"{self.part_id}@{self.location_id} {self.type}={self.quantity}"


class Movement(models.Model):
    """Append-only ledger: the rows always equal the sum of their movements."""

    class ReferenceKind(models.TextChoices):
        MANUAL = "manual", "Manual"
        JOB = "job", "Job"
        PURCHASE_ORDER = "purchase_order", "Purchase order"
        IMPORT = "import", "Import"
        SYNC_RUN = "sync_run", "Sync run"
        SEED = "seed", "Demo data"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The ledger is written in batches of up to 100,000 rows (Allocadence pull, imports). Its references are
    # checked where they matter: every movement's part and location belong to the InventoryRow it changed,
    # and that row keeps its foreign keys. Without per-row FK triggers and four FK indexes a batch inserts
    # 2–4× faster (bench/allocadence_pull.py); (part, created_at) still serves every lookup by part.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
    )
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, related_name="movements", db_constraint=False, db_index=False
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    type = models.CharField(max_length=16, choices=StockType.choices)
    delta = models.BigIntegerField()
    reason = models.CharField(max_length=300)
    reference_kind = models.CharField(max_length=16, choices=ReferenceKind.choices, default=ReferenceKind.MANUAL)
    reference_id = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="Human label: job number, PO number, run id.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="movement_delta_not_zero"),
            models.CheckConstraint(condition=Q(type__in=STOCK_TYPES), name="movement_type_valid"),
        ]
        indexes = [
            models.Index(fields=["part", "created_at"], name="movement_part_time_idx"),
            models.Index(fields=["reference_kind", "reference_id"], name="movement_reference_idx"),
        ]

    def __str__(self):
        return f"{self.part_id} {self.type} {self.delta:+d} ({self.reason})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Movements are append-only.")
        super().save(*args, **kwargs)


# The typed quantities StockLevel stores (inventory.figures.STORED): what the ledger sums per part × warehouse.
FIGURE_COLUMNS = list(figures.STORED)


def _own_balance_expr():
    """A StockLevel's own Stock Balance (SPEC §2), from its own columns: stored as `StockLevel.balance`.

    For a generic part Planned − Allocated − threshold, to which its alternates' balances are added at
    read time (they live in other rows). So `balance` is a generic row's Stock Balance without a sum of
    non-negative terms: never above it.
    """
    return Case(
        When(is_generic=True, then=figures.generic_own_balance()),
        default=figures.non_generic_balance(),
        output_field=models.BigIntegerField(),
    )


_ANY_SCOPE = object()  # rows of several scopes may be mixed (e.g. one part at every warehouse and over all)


@functools.cache
def _correlated_alternates_balance(scope: str):
    """Σ max(0, alternate's Stock Balance) of a generic row's part in the row's scope: "total" (all warehouses),
    "warehouse" (the row's), or "any" (either, by the row). Built once per scope: constructing these
    subqueries costs more than the SQL they run for a page; one scope compiles half the SQL of "any".
    """
    # By the M2M table straight to the alternates' levels (`part__generic_parts` would join Part in between).
    alternate_ids = Part.alternates.through.objects.filter(from_part_id=OuterRef(OuterRef("part_id")))
    alternate_levels = StockLevel.objects.filter(part_id__in=alternate_ids.values("to_part_id"))

    def alternates_sum(levels):
        return Coalesce(
            Subquery(
                levels.annotate(_one=Value(1))
                .values("_one")
                .annotate(total=Cast(Sum(Greatest(figures.non_generic_balance(), Value(0))), models.BigIntegerField()))
                .values("total")[:1],
                output_field=models.BigIntegerField(),
            ),
            Value(0),
            output_field=models.BigIntegerField(),
        )

    over_all = alternates_sum(alternate_levels.filter(warehouse__isnull=True))
    at_warehouse = alternates_sum(alternate_levels.filter(warehouse=OuterRef("warehouse")))
    if scope == "total":
        return over_all
    if scope == "warehouse":
        return at_warehouse
    return Case(
        When(warehouse__isnull=True, then=over_all), default=at_warehouse, output_field=models.BigIntegerField()
    )


class StockLevelQuerySet(models.QuerySet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._scope = _ANY_SCOPE
        self._balance_ranking = None  # (the ordering set by `order_by_stock_balance`, descending)

    def _clone(self):
        clone = super()._clone()
        clone._scope, clone._balance_ranking = self._scope, self._balance_ranking
        return clone

    def __getitem__(self, k):
        if isinstance(k, slice) and k.stop is not None and self._result_cache is None and self._is_balance_ranked():
            return super(StockLevelQuerySet, self._within_balance_bound(k.stop)).__getitem__(k)
        return super().__getitem__(k)

    def all_warehouses(self):
        clone = self.filter(warehouse__isnull=True)
        clone._scope = None
        return clone

    def for_warehouse(self, warehouse):
        """Figures at one warehouse, or over all warehouses when `warehouse` is None."""
        if warehouse is None:
            return self.all_warehouses()
        clone = self.filter(warehouse=warehouse)
        clone._scope = warehouse.pk
        return clone

    def with_figures(self):
        """Every figure of the registry (inventory.figures), computed in the database.

        Stock Balance is the stored `balance` column, plus, for a generic part, its alternates'
        balances: a correlated subquery evaluated only for the generic rows actually read (a
        page, one part; with a Stock Balance filter or rank, the candidates the (warehouse,
        balance) index gives — see `shortage` and `order_by_stock_balance`).
        """
        computed = figures.computed()
        if all(figure.key in self.query.annotations for figure in computed):
            return self
        return self.annotate(**{figure.key: figure.expression(self) for figure in computed})

    def alternates_balance(self):
        """Σ max(0, alternate's Stock Balance) of a generic row's part, in this queryset's scope."""
        if self._scope is None:
            return _correlated_alternates_balance("total")
        return _correlated_alternates_balance("any" if self._scope is _ANY_SCOPE else "warehouse")

    def shortage(self):
        """Rows with a negative Stock Balance (SPEC §2: the shortage badge).

        `balance < 0` is implied (a generic row's stored balance is its Stock Balance without its
        alternates' non-negative terms) and answered from the (warehouse, balance) index; the Stock
        Balance test then only computes the generic rows it finds.
        """
        return self.with_figures().filter(balance__lt=0, stock_balance__lt=0)

    def order_by_stock_balance(self, *tie_breakers, descending: bool = False):
        """Rank by Stock Balance; a slice (a page) then reads only the rows of the (warehouse, balance) index
        that can be on it, instead of computing and sorting every row of the scope (see `_within_balance_bound`).
        """
        ranking = F("stock_balance").desc() if descending else F("stock_balance").asc()
        clone = self.with_figures().order_by(ranking, *tie_breakers)
        clone._balance_ranking = (clone.query.order_by, descending)
        return clone

    def _is_balance_ranked(self) -> bool:
        return self._balance_ranking is not None and self._balance_ranking[0] == self.query.order_by

    def _within_balance_bound(self, stop: int):
        """The rows that can be among the first `stop` by Stock Balance: a filter the index answers.

        Stored `balance` ≤ Stock Balance for every row, equal for the non-generic ones. Ascending, the
        `stop`-th lowest balance b of the non-generic rows bounds the page: `stop` rows have Stock
        Balance ≤ b, so every row shown has balance ≤ Stock Balance ≤ b. Descending, the `stop`-th
        highest balance b of all rows: `stop` rows have Stock Balance ≥ b, so a row shown is generic
        (its alternates may lift it) or has balance ≥ b. Fewer rows than `stop`: no bound.
        """
        descending = self._balance_ranking[1]
        candidates = self.order_by(F("balance").desc() if descending else F("balance").asc())
        if not descending:
            candidates = candidates.filter(is_generic=False)
        # Read first, as its own query: given as a subquery, the planner cannot know how few rows pass the
        # bound, guesses a third of the scope, and on 500,000 parts joins every part (seq scan + hash join):
        # 80–120 ms instead of a few (docs/benchmarks.md).
        found = list(candidates.values_list("balance", flat=True)[stop - 1 : stop])
        if not found:
            return self
        if descending:
            return self.filter(Q(balance__gte=found[0]) | Q(is_generic=True))
        return self.filter(balance__lte=found[0])


class StockLevel(models.Model):
    """Per part × warehouse (and per part over all warehouses: warehouse NULL) sums of the typed rows.

    Derived data kept in the same transaction as every row change by
    `inventory.services.apply_stock_changes`, so the inventory page reads one row per
    part instead of aggregating a million. `check_ledger` proves it equals the rows.
    """

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="stock_levels")
    # Served by the (warehouse, part) index; no second index to maintain on every write.
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    available = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    obsolete = models.BigIntegerField(default=0)
    allocated = models.BigIntegerField(default=0)
    planned = models.BigIntegerField(default=0)
    ordered = models.BigIntegerField(default=0)
    in_production = models.BigIntegerField(default=0)
    # Copies of the part's, so that Stock Balance is a column of this row and PostgreSQL ranks and filters
    # by it from the (warehouse, balance) index instead of joining and computing every row of the scope.
    # Kept by database triggers (migration 0007) on every path: an INSERT here takes the part's values
    # whatever it says, and an UPDATE of either on the part rewrites its rows. `check_ledger` compares them.
    # (Database defaults too: raw INSERTs that name only the figures pass SQLite's NOT NULL check before its
    # AFTER INSERT trigger sets them.)
    low_stock_threshold = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    is_generic = models.BooleanField(default=False, db_default=False, editable=False)
    balance = models.GeneratedField(
        expression=_own_balance_expr(), output_field=models.BigIntegerField(), db_persist=True
    )

    objects = StockLevelQuerySet.as_manager()

    class Meta:
        # `warehouse` NULL rows are the per-part totals over all warehouses.
        constraints = [
            models.UniqueConstraint(
                fields=["part", "warehouse"], condition=Q(warehouse__isnull=False), name="stocklevel_unique_part_wh"
            ),
            models.UniqueConstraint(
                fields=["part"], condition=Q(warehouse__isnull=True), name="stocklevel_unique_part_total"
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "part"], name="stocklevel_wh_part_idx"),
            models.Index(fields=["warehouse", "balance"], name="stocklevel_wh_balance_idx"),
            # Ordered by balance alone for the totals: `warehouse IS NULL` does not fix the leading column
            # for the planner as `warehouse = w` does, so the index above cannot return them in balance order.
            models.Index(fields=["balance"], condition=Q(warehouse__isnull=True), name="stocklevel_total_balance_idx"),
            models.Index(fields=["warehouse", "part"], condition=Q(is_generic=True), name="stocklevel_wh_generic_idx"),
        ]

    def __str__(self):
        return f"{self.part_id}@{self.warehouse_id or 'all'}"
