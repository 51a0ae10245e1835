"""The pushed quantity of SPEC §5, for every mapping at once, in the database.

    pushed = max(0, Available over the channel's warehouses − open orders − buffer)
             → percentage (rounded down) → maximum → + back-order quantity

One SELECT with correlated subqueries (each an index lookup), portable to SQLite for
`make run`. No per-mapping queries: `plan_sync` wraps this query in an INSERT … SELECT.
"""

from django.db import connection, models
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Greatest, Least

from channels.models import Channel, OpenOrder, SkuMapping, SyncRecord
from inventory.models import StockLevel

BIG = models.BigIntegerField()


def _int_subquery(queryset) -> Coalesce:
    return Coalesce(Subquery(queryset, output_field=BIG), Value(0), output_field=BIG)


def available_over_channel_warehouses():
    """Σ Available of the mapping's part over the warehouses its channel sells from."""
    levels = (
        StockLevel.objects.filter(
            part_id=OuterRef("part_id"),
            warehouse__isnull=False,
            warehouse_id__in=Channel.warehouses.through.objects.filter(
                channel_id=OuterRef(OuterRef("channel_id"))
            ).values("warehouse_id"),
        )
        .order_by()
        .values("part_id")
        .annotate(total=Cast(Sum("available"), BIG))
        .values("total")[:1]
    )
    return _int_subquery(levels)


def open_orders_for_mapping():
    orders = OpenOrder.objects.filter(channel_id=OuterRef("channel_id"), channel_sku=OuterRef("channel_sku")).values(
        "quantity"
    )[:1]
    return _int_subquery(orders)


def pending_quantity():
    """The quantity of the mapping's newest record still on its way, if any: what the channel will soon hold."""
    pending = (
        SyncRecord.objects.filter(mapping_id=OuterRef("pk"), status__in=SyncRecord.NORMAL_STATUSES)
        .order_by("-id")
        .values("quantity")[:1]
    )
    return Subquery(pending, output_field=BIG)


# Stands in for "no maximum": LEAST ignores NULL on PostgreSQL but not on SQLite.
NO_MAXIMUM = 2**62


def with_pushed_quantity(mappings: models.QuerySet) -> models.QuerySet:
    """Annotate `pushed_quantity` (and the terms it is made of) on a SkuMapping queryset.

    Written so each subquery appears once in the SQL: no CASE that would repeat them per branch.
    Integer division of a non-negative bigint rounds the percentage down on PostgreSQL and SQLite.
    """
    buffer = Coalesce(F("buffer_override"), F("channel__buffer_stock"), output_field=BIG)
    sellable = Greatest(F("stock_available") - F("stock_open_orders") - F("stock_buffer"), Value(0), output_field=BIG)
    after_percentage = sellable * Coalesce(F("channel__percentage"), Value(100), output_field=BIG) / Value(100)
    after_maximum = Least(
        after_percentage, Coalesce(F("channel__maximum"), Value(NO_MAXIMUM), output_field=BIG), output_field=BIG
    )
    return mappings.annotate(
        stock_available=available_over_channel_warehouses(),
        stock_open_orders=open_orders_for_mapping(),
        stock_buffer=buffer,
    ).annotate(pushed_quantity=after_maximum + F("back_order_quantity"))


def mappings_to_push(*, channel=None):
    """Active mappings of active channels (optionally one channel) with their pushed quantity."""
    mappings = SkuMapping.objects.active()
    if channel is not None:
        mappings = mappings.filter(channel=channel)
    return with_pushed_quantity(mappings)


def pushed_quantities(*, channel=None) -> dict[int, int]:
    """{mapping id: pushed quantity} — for tests, the admin and debugging; the sync never loads this."""
    return dict(mappings_to_push(channel=channel).values_list("id", "pushed_quantity"))


PLANNED_COLUMNS = (
    # (SyncRecord column, expression on the mapping)
    ("client_id", F("client_id")),
    ("channel_id", F("channel_id")),
    ("channel_name", F("channel__name")),
    ("channel_code", F("channel__code")),
    ("mapping_id", F("id")),
    ("part_id", F("part_id")),
    ("sku", F("part__sku")),
    ("channel_sku", F("channel_sku")),
    ("channel_product_id", F("channel_product_id")),
    ("quantity", F("pushed_quantity")),
    ("previous_quantity", F("last_pushed_quantity")),
)


def planned_records_sql(*, channel=None, full: bool = False) -> tuple[str, list, list[str]]:
    """SELECT of the SyncRecord rows to create: (sql, params, SyncRecord columns in select order).

    A row is planned when the quantity differs from what the channel will soon hold (the newest
    record still on its way) or else from what it last accepted. `full` plans every mapping
    again, except one whose identical quantity is already on its way.
    """
    planned = (
        mappings_to_push(channel=channel)
        .annotate(pending_quantity=pending_quantity())
        .annotate(**{f"plan_{column}": expression for column, expression in PLANNED_COLUMNS})
        .values("pending_quantity", *(f"plan_{column}" for column, _ in PLANNED_COLUMNS))
        .order_by()
    )
    inner_sql, inner_params = planned.query.sql_with_params()
    if connection.vendor == "postgresql":
        # An optimisation fence: without it PostgreSQL inlines the quantity expression (and its
        # subqueries) into the WHERE below a second time.
        inner_sql += " OFFSET 0"
    not_already_pending = "(p.pending_quantity IS NULL OR p.pending_quantity <> p.plan_quantity)"
    if full:
        condition = not_already_pending
    else:
        condition = (
            "((p.pending_quantity IS NOT NULL AND p.pending_quantity <> p.plan_quantity)"
            " OR (p.pending_quantity IS NULL AND (p.plan_previous_quantity IS NULL"
            " OR p.plan_previous_quantity <> p.plan_quantity)))"
        )
    columns = [column for column, _ in PLANNED_COLUMNS]
    select_list = ", ".join(f"p.plan_{column}" for column in columns)
    sql = f"SELECT {select_list} FROM ({inner_sql}) p WHERE {condition} ORDER BY p.plan_mapping_id"
    return sql, list(inner_params), columns
