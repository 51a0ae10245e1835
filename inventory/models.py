from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When

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


def _balance_expr():
    """A StockLevel's Stock Balance (SPEC §2), from its own columns: stored as `StockLevel.balance`.

    For a generic part Planned − Allocated − threshold + its alternates' sum (`alternates_balance`, kept by
    database triggers from the alternates' rows of the same scope).
    """
    return Case(
        When(is_generic=True, then=figures.generic_own_balance() + F("alternates_balance")),
        default=figures.non_generic_balance(),
        output_field=models.BigIntegerField(),
    )


class StockLevelQuerySet(models.QuerySet):
    def all_warehouses(self):
        return self.filter(warehouse__isnull=True)

    def for_warehouse(self, warehouse):
        """Figures at one warehouse, or over all warehouses when `warehouse` is None."""
        if warehouse is None:
            return self.all_warehouses()
        return self.filter(warehouse=warehouse)

    def with_figures(self):
        """Every figure of the registry (inventory.figures), computed in the database from the row's columns
        (Stock Balance is the stored `balance`, a generic part's alternates included)."""
        computed = figures.computed()
        if all(figure.key in self.query.annotations for figure in computed):
            return self
        return self.annotate(**{figure.key: figure.expression(self) for figure in computed})

    def shortage(self):
        """Rows with a negative Stock Balance (SPEC §2: the shortage badge), from the (warehouse, balance) index."""
        return self.with_figures().filter(balance__lt=0)


class StockLevel(models.Model):
    """Per part × warehouse (and per part over all warehouses: warehouse NULL) sums of the typed rows.

    Derived data kept in the same transaction as every row change by
    `inventory.services.apply_stock_changes`, so the inventory page reads one row per
    part instead of aggregating a million. `check_ledger` proves it equals the rows.
    """

    # Served by the unique (part, warehouse) index; no second index to maintain on every write.
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="stock_levels", db_index=False)
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
    # Σ max(0, alternate's Stock − Allocated − threshold) over the part's alternates' rows of this scope, for
    # any part with alternates (only a generic part's balance adds it). Kept by database triggers (migration
    # 0009, inventory.db_triggers) on every path: a delta when an alternate's row changes, from scratch when
    # a row is inserted or an alternate added or removed. `check_ledger` compares it with the rows.
    alternates_balance = models.BigIntegerField(default=0, db_default=0, editable=False)
    balance = models.GeneratedField(expression=_balance_expr(), output_field=models.BigIntegerField(), db_persist=True)

    objects = StockLevelQuerySet.as_manager()

    class Meta:
        # `warehouse` NULL rows are the per-part totals over all warehouses: one row per part and scope, NULL
        # included, in one index that also serves every lookup by part. A level's update is never HOT (the
        # figures are indexed), so each index of this table costs every stock write an entry. SQLite has no
        # NULLS NOT DISTINCT: there migration 0010 keeps the two partial unique indexes and the part index
        # this replaced (the portable path's `ON CONFLICT DO NOTHING` names no index).
        constraints = [
            models.UniqueConstraint(
                fields=["part", "warehouse"], nulls_distinct=False, name="stocklevel_unique_part_warehouse"
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "part"], name="stocklevel_wh_part_idx"),
            models.Index(fields=["warehouse", "balance"], name="stocklevel_wh_balance_idx"),
            # Ordered by balance alone for the totals: `warehouse IS NULL` does not fix the leading column
            # for the planner as `warehouse = w` does, so the index above cannot return them in balance order.
            models.Index(fields=["balance"], condition=Q(warehouse__isnull=True), name="stocklevel_total_balance_idx"),
            models.Index(fields=["warehouse", "part"], condition=Q(is_generic=True), name="stocklevel_wh_generic_idx"),
            # The list sorted by Available at one warehouse, read in index order (with a shortage filter too).
            models.Index(fields=["warehouse", "available"], name="stocklevel_wh_available_idx"),
        ]

    def __str__(self):
        return f"{self.part_id}@{self.warehouse_id or 'all'}"
