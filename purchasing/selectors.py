"""Reads across purchasing, inventory and Allocadence: what the pull must add, and what to reorder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Subquery, Sum

from core.scoping import scope_to_user
from inventory.models import Part, StockLevel, Warehouse
from jobs.models import Job, JobLine
from purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderPush, Supplier


def portal_ordered_not_in_allocadence(
    *, warehouse_ids: Iterable[int], snapshot_started_at: datetime
) -> dict[tuple[int, int], int]:
    """On-Order the portal holds that an Allocadence snapshot started at `snapshot_started_at` cannot contain.

    {(part_id, warehouse_id): units} over the ordered, not yet received lines of open purchase orders
    (Ordered or Partially received) at those warehouses whose push was NOT acknowledged by Allocadence before
    `snapshot_started_at` — pending, sending, failed, or acknowledged only after the snapshot began. The pull
    sets Ordered = Allocadence's `inbound` + this, so a purchase order is counted once: by the portal until
    Allocadence has it, then by `inbound` alone. Parts with nothing outstanding are left out.
    """
    acknowledged = PurchaseOrderPush.objects.filter(po=OuterRef("po"), acknowledged_at__lt=snapshot_started_at)
    rows = (
        PurchaseOrderLine.objects.filter(
            po__warehouse_id__in=list(warehouse_ids),
            po__state__in=PurchaseOrder.RECEIVING_STATES,
            received_quantity__lt=F("quantity"),
        )
        .filter(~Exists(acknowledged))
        .order_by()
        .values("part_id", "po__warehouse_id")
        .annotate(total=Sum(F("quantity") - F("received_quantity")))
        .values_list("part_id", "po__warehouse_id", "total")
    )
    return {(part_id, warehouse_id): int(total) for part_id, warehouse_id, total in rows if total}


# --- reorder ----------------------------------------------------------------------------------------------------


@dataclass
class ReorderCandidate:
    level: StockLevel  # the part's figures over all warehouses
    quantity: int  # what brings the Stock Balance back to zero
    supplier_id: int | None  # of the part's latest purchase order line
    warehouse_id: int | None  # where that purchase order went


def _reorderable(levels, user, *ordering):
    """The levels of active parts, each with the supplier and warehouse of the part's latest purchase order line,
    scoped to the user's clients: still one query."""
    latest = PurchaseOrderLine.objects.filter(part=OuterRef("part")).order_by("-po__created_at", "-id")
    levels = (
        levels.filter(part__is_active=True)
        .annotate(
            last_supplier_id=Subquery(latest.values("po__supplier_id")[:1]),
            last_warehouse_id=Subquery(latest.values("po__warehouse_id")[:1]),
        )
        .select_related("part", "part__client")
        .order_by(*ordering, "part__sku", "part_id")
    )
    return scope_to_user(levels, user, client_field="part__client")


def reorder_levels(user):
    """Per part over all warehouses, those with a negative Stock Balance (generic parts by their rule)."""
    # read from the (warehouse, balance) index: only rows that can be short are computed
    return _reorderable(StockLevel.objects.for_warehouse(None).shortage(), user, "stock_balance")


def planned_build_levels(user):
    """Per part over all warehouses, the components planned builds need beyond Available and incoming (Ordered):
    `build_demand` (Σ the lines of Planned jobs that build an output) and `build_shortfall` (what to buy)."""
    build_lines = JobLine.objects.filter(job__state=Job.State.PLANNED, job__output_part__isnull=False)
    demand = build_lines.filter(part=OuterRef("part")).order_by().values("part").annotate(total=Sum("quantity"))
    levels = (
        StockLevel.objects.for_warehouse(None)
        .filter(part__in=build_lines.values("part"))
        .annotate(build_demand=Subquery(demand.values("total")[:1]))
        .annotate(build_shortfall=F("build_demand") - F("available") - F("ordered"))
        .filter(build_shortfall__gt=0)
    )
    return _reorderable(levels, user, "-build_shortfall")


def reorder_candidates(levels, *, for_planned_builds: bool = False) -> list[ReorderCandidate]:
    return [
        ReorderCandidate(
            level=level,
            quantity=level.build_shortfall if for_planned_builds else -level.stock_balance,
            supplier_id=level.last_supplier_id,
            warehouse_id=level.last_warehouse_id,
        )
        for level in levels
    ]


def default_reorder_warehouse() -> Warehouse | None:
    """Where a part without a purchase order yet is reordered to: the first local warehouse."""
    return Warehouse.objects.active().local().order_by("code", "id").first()


def suppliers_for(user, *, client_ids: Iterable[int] | None = None):
    suppliers = scope_to_user(Supplier.objects.active(), user).select_related("client").order_by("name", "id")
    return suppliers.filter(client_id__in=list(client_ids)) if client_ids is not None else suppliers


def parts_for(user, part_ids: Iterable[int]):
    return scope_to_user(Part.objects.filter(id__in=list(part_ids)), user).select_related("client")
