from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Count, Q
from django.utils import timezone

from core.models import Client
from core.scoping import scope_to_user
from inventory.models import Part, Warehouse

SECRET_MASK = "••••"


def mask_secret(value) -> str:
    """Enough of a secret to tell two apart (its last four characters), never enough to use it."""
    text = "" if value is None else str(value)
    if not text:
        return ""
    return SECRET_MASK + text[-4:] if len(text) >= 12 else SECRET_MASK


class ChannelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_user(self, user):
        return scope_to_user(self, user)


class Channel(models.Model):
    """A marketplace account the portal keeps supplied with sellable quantities (SPEC §5)."""

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        AMAZON_SP = "amazon_sp", "Amazon SP-API"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="channels")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    endpoint = models.URLField(
        max_length=300, help_text="Shopify: the shop's base URL. Amazon: the regional SP-API endpoint."
    )
    token_url = models.URLField(max_length=300, blank=True, help_text="Amazon only: the LWA token endpoint.")
    credentials = models.JSONField(
        default=dict,
        blank=True,
        help_text="Shopify: access_token. Amazon: client_id, client_secret, refresh_token. Never shown in full.",
    )
    location_id = models.CharField(max_length=100, blank=True, help_text="Shopify only: the location to set.")
    seller_id = models.CharField(max_length=100, blank=True, help_text="Amazon only.")
    marketplace_ids = models.JSONField(default=list, blank=True, help_text="Amazon only: a list of marketplace ids.")
    warehouses = models.ManyToManyField(Warehouse, related_name="channels", blank=True)
    buffer_stock = models.PositiveIntegerField(default=0)
    percentage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Push only this percentage of the sellable quantity (rounded down)."
    )
    maximum = models.PositiveIntegerField(null=True, blank=True, help_text="Never push more than this.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "code"], name="channel_unique_code_per_client"),
            models.CheckConstraint(
                condition=Q(percentage__isnull=True) | Q(percentage__gte=0, percentage__lte=100),
                name="channel_percentage_0_100",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def masked_credentials(self) -> dict[str, str]:
        return {key: mask_secret(value) for key, value in sorted((self.credentials or {}).items())}


class SkuMappingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, channel__is_active=True)

    def for_user(self, user):
        return scope_to_user(self, user)


class SkuMapping(models.Model):
    """One part listed on one channel. `client` repeats the channel's client so scoping needs no join."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="mappings")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="channel_mappings")
    channel_sku = models.CharField(max_length=100)
    channel_product_id = models.CharField(
        max_length=100, blank=True, help_text="Listing id, FSN, ASIN or Shopify inventory item id."
    )
    is_active = models.BooleanField(default=True)
    buffer_override = models.PositiveIntegerField(
        null=True, blank=True, help_text="Replaces the channel's buffer stock for this part."
    )
    back_order_quantity = models.PositiveIntegerField(default=0)
    last_pushed_quantity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_pushed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The sync record whose quantity the channel last accepted (no foreign key: the log's retention may delete
    # it). An answer about an older record never overwrites a newer one: one comparison on this row, where a
    # search of the mapping's records for a newer success went quadratic on stale statistics.
    last_pushed_record_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SkuMappingQuerySet.as_manager()

    class Meta:
        ordering = ["channel_id", "channel_sku"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "channel_sku"], name="skumapping_unique_channel_sku"),
            models.UniqueConstraint(fields=["channel", "part"], name="skumapping_unique_channel_part"),
        ]
        indexes = [models.Index(fields=["part"], name="skumapping_part_idx")]

    def __str__(self):
        return f"{self.channel_sku} → part {self.part_id}"


class OpenOrder(models.Model):
    """Units ordered on the marketplace and not yet shipped: they are no longer sellable there."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="open_orders")
    channel_sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "channel_sku"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "channel_sku"], name="openorder_unique_channel_sku"),
        ]
        permissions = [("set_open_orders", "Can set open marketplace orders (API or CSV)")]

    def __str__(self):
        return f"{self.channel_sku}: {self.quantity} open"


class SyncRecordQuerySet(models.QuerySet):
    def normal(self):
        """The Normal view: records still on their way (In Process, Submitted)."""
        return self.filter(status__in=SyncRecord.NORMAL_STATUSES)

    def archival(self):
        """The Archival view: records that reached an end (Success, Error)."""
        return self.filter(status__in=SyncRecord.ARCHIVAL_STATUSES)

    def for_view(self, view: str):
        return self.archival() if view == "archival" else self.normal()

    def for_user(self, user):
        return scope_to_user(self, user)

    def errors(self):
        return self.filter(status=SyncRecord.Status.ERROR)

    def counts_by_status(self, *, at_most: int | None = None) -> dict[str, int]:
        """Every status with its count (zero included), in one query.

        With `at_most`, each status stops counting at `at_most` + 1 records, so a count above `at_most`
        means "more than `at_most`": an exact count reads every record (180-360 ms at 1,000,000). The
        query first reads at most `at_most` + 1 matching records whatever their status; when that is all
        of them (a SKU search, a narrow filter) the counts come from those, so the filter is evaluated
        once (one trigram index scan, not one per status). Otherwise each status is a LIMITed subquery
        that stops after `at_most` + 1 index entries; PostgreSQL runs only the branch it takes.
        """
        if at_most is None:
            counts = dict.fromkeys(SyncRecord.Status.values, 0)
            for row in self.order_by().values("status").annotate(n=Count("id")):
                counts[row["status"]] = row["n"]
            return counts
        compiled = []
        try:
            for records in (self, *(self.filter(status=value) for value in SyncRecord.Status.values)):
                limited = records.order_by().values("status")[: at_most + 1]
                compiled.append(limited.query.get_compiler(using=self.db).as_sql())
        except EmptyResultSet:  # filters that match nothing (a user of no client): no query at all
            return dict.fromkeys(SyncRecord.Status.values, 0)
        (head_sql, params), per_status = compiled[0], compiled[1:]
        params, columns = list(params), []
        for value, (sql, sql_params) in zip(SyncRecord.Status.values, per_status, strict=True):
            columns.append(
                "CASE WHEN (SELECT n FROM head_size) <= %s THEN (SELECT COUNT(*) FROM head WHERE status = %s)"
                f" ELSE (SELECT COUNT(*) FROM ({sql}) AS capped) END"
            )
            params.extend([at_most, value, *sql_params])
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"WITH head AS ({head_sql}), head_size AS (SELECT COUNT(*) AS n FROM head) SELECT "
                + ", ".join(columns),
                params,
            )
            return dict(zip(SyncRecord.Status.values, cursor.fetchone(), strict=True))


class SyncRecord(models.Model):
    """One push of one mapping's quantity to its channel.

    Statuses only move forward (In Process → Submitted → Success | Error); every write is a
    conditional UPDATE in `channels.services`. The one way back is Force Push (Error → In Process).
    Client, channel and SKU fields are copied in so the log reads the same after a mapping changes.
    """

    class Status(models.TextChoices):
        IN_PROCESS = "in_process", "In Process"
        SUBMITTED = "submitted", "Submitted"
        SUCCESS = "success", "Success"
        ERROR = "error", "Error"

    NORMAL_STATUSES = (Status.IN_PROCESS, Status.SUBMITTED)
    ARCHIVAL_STATUSES = (Status.SUCCESS, Status.ERROR)

    # client and channel lead composite indexes below; their own FK indexes would only slow inserts.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="sync_records", db_index=False)
    channel_name = models.CharField(max_length=200)
    channel_code = models.CharField(max_length=32)
    mapping = models.ForeignKey(SkuMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=100)
    channel_sku = models.CharField(max_length=100)
    channel_product_id = models.CharField(max_length=100, blank=True)
    quantity = models.BigIntegerField(help_text="The inventory pushed.")
    previous_quantity = models.BigIntegerField(null=True, blank=True, help_text="Last quantity pushed before this.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROCESS)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="In Process: not pushed before this (backoff, or a worker's claim)."
    )
    reference = models.CharField(max_length=100, blank=True, help_text="Amazon feed id.")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    force_pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    force_pushed_at = models.DateTimeField(null=True, blank=True)
    # db_default: the set-based planner inserts records in raw SQL without naming this column.
    previous_error = models.TextField(
        blank=True, default="", db_default="", help_text="The error a Force Push cleared, kept for the log."
    )

    objects = SyncRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="syncrecord_quantity_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="syncrecord_status_time_idx"),
            models.Index(fields=["client", "status", "created_at"], name="syncrecord_client_status_idx"),
            models.Index(fields=["channel", "status"], name="syncrecord_channel_status_idx"),
            models.Index(
                fields=["mapping", "-id"],
                condition=Q(status__in=["in_process", "submitted"]),
                name="syncrecord_pending_mapping_idx",
            ),
            # The log's pages, newest first, one index per view: on 1,000,000 records the Archival page's rows
            # read 50 index entries (2 ms) instead of sorting every Success and Error (~600 ms).
            models.Index(
                fields=["client", "-created_at", "-id"],
                condition=Q(status__in=["success", "error"]),
                name="syncrecord_archival_time_idx",
            ),
            models.Index(
                fields=["client", "-created_at", "-id"],
                condition=Q(status__in=["in_process", "submitted"]),
                name="syncrecord_normal_time_idx",
            ),
            # Only Amazon records carry a reference; Shopify ones and fresh plans skip this index.
            models.Index(
                fields=["channel", "reference"], condition=~Q(reference=""), name="syncrecord_channel_feed_idx"
            ),
        ]
        permissions = [
            ("force_push_syncrecord", "Can Force Push errored sync records"),
            ("export_syncrecord", "Can export sync records to Excel"),
        ]

    def __str__(self):
        return f"{self.channel_code}:{self.channel_sku} → {self.quantity} ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in self.ARCHIVAL_STATUSES
