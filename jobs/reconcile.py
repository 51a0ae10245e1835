"""Reconciling jobs with stock that changed outside the portal (the Allocadence pull's "external drops").

The pull calls these inside its apply transaction, after it locked every part it changes; nothing here locks
a job row, so the lock order (parts, in id order, once) stays the pull's own.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from inventory.services import Reference
from jobs.models import Job, JobLine
from jobs.production import move_reserved_to_allocated


def reserved_by_unreleased_jobs(*, warehouse_ids, part_ids=None) -> dict[tuple[int, int], int]:
    """Reserved units held by jobs not yet released, per (part, warehouse) (of these parts only, if given)."""
    lines = JobLine.objects.filter(warehouse_id__in=list(warehouse_ids), reserved__gt=0, job__state=Job.State.RESERVED)
    if part_ids is not None:
        lines = lines.filter(part_id__in=sorted(part_ids))
    rows = (
        lines.order_by()
        .values("part_id", "warehouse_id")
        .annotate(total=Sum("reserved"))
        .values_list("part_id", "warehouse_id", "total")
    )
    return {(part_id, warehouse_id): total for part_id, warehouse_id, total in rows}


def external_drop_excess(*, in_stock: int, reserved_unreleased: int) -> int:
    """How many Reserved units certainly left the building.

    Only unreleased jobs' reservations are compared with Allocadence's figure: a released job's order may
    already be allocated in Allocadence (its units gone from `sellable`) before the portal has seen the
    confirmation, and treating that as stock used elsewhere would wrongly short the newest jobs. Available is
    still never over-reported: the pull sets it to max(0, In-Stock − every Reserved unit).
    """
    return max(0, reserved_unreleased - max(0, in_stock))


def apply_external_drops(
    *, drops: dict[tuple[int, int], int], reference: Reference, user=None
) -> dict[tuple[int, int], int]:
    """Move each (part, warehouse)'s excess from Reserved to Allocated, newest unreleased jobs first.

    Returns the units moved per pair (pairs where nothing moved are left out). Every change is a ledger
    movement referencing `reference` (the sync run); the jobs record an event and show a shortfall.
    """
    moved: dict[tuple[int, int], int] = defaultdict(int)
    for (part_id, warehouse_id), quantity in sorted(drops.items()):
        if quantity <= 0:
            continue
        units = move_reserved_to_allocated(
            part_id=part_id, warehouse_id=warehouse_id, quantity=quantity, reference=reference, user=user
        )
        if units:
            moved[(part_id, warehouse_id)] += units
    return dict(moved)
