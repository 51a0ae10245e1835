"""Every write to suppliers and purchase orders. Stock moves only through the ledger, referencing the PO.

Figures: a draft's lines are Planned, an ordered line's outstanding quantity is Ordered (On-Order), both at the
warehouse's default location; a receipt moves units from Ordered to Available at a location (local warehouses).
Locks: the purchase order row first (FOR NO KEY UPDATE), then every part in ONE `lock_parts` call, then the
lines are re-read — the order the job services use (job row, then parts), so no two writers wait on each other
in opposite orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.enqueue import enqueue_on_commit
from core.numbers import next_number
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Location, Movement, Part, StockType, Warehouse
from inventory.services import Reference, StockChange, apply_stock_changes, default_location
from purchasing.errors import IllegalTransition, OverReceipt, ReceivingRefused
from purchasing.locks import lock_purchase_order
from purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderPush, Supplier

PLANNED = StockType.PLANNED
ORDERED = StockType.ORDERED
AVAILABLE = StockType.AVAILABLE
PUSH_TASK_NAME = "allocadence.tasks.push_purchase_order_task"  # sent by name: allocadence is the layer above


@dataclass(frozen=True)
class LineSpec:
    """One requested purchase order line."""

    part: Part
    quantity: int
    unit_cost: Decimal = Decimal("0")
    expected_date: date | None = None


@dataclass(frozen=True)
class Receipt:
    """`quantity` units of one line received into `location`."""

    line_id: int
    quantity: int
    location: Location


# --- suppliers ------------------------------------------------------------------------------------------------


def save_supplier(
    *,
    client,
    name: str,
    code: str,
    email: str = "",
    lead_time_days: int = 0,
    is_active: bool = True,
    supplier: Supplier | None = None,
) -> Supplier:
    """Create a supplier, or edit one (its client never changes)."""
    if supplier is not None and supplier.client_id != client.id:
        raise ValidationError({"client": "A supplier's client cannot change."})
    supplier = supplier or Supplier(client=client)
    supplier.name, supplier.code, supplier.email = (name or "").strip(), (code or "").strip(), (email or "").strip()
    supplier.lead_time_days, supplier.is_active = lead_time_days or 0, is_active
    if Supplier.objects.filter(client=client, code=supplier.code).exclude(pk=supplier.pk).exists():
        raise ValidationError({"code": f"{client} already has a supplier with code {supplier.code}."})
    supplier.full_clean()
    supplier.save()
    return supplier


# --- helpers --------------------------------------------------------------------------------------------------


def next_po_number() -> str:
    return next_number("PO", "purchasing_po_number_seq", PurchaseOrder)


def _reference(po: PurchaseOrder) -> Reference:
    return Reference(kind=Movement.ReferenceKind.PURCHASE_ORDER, id=po.id, label=po.number)


def _illegal(po: PurchaseOrder, verb: str, allowed: str) -> IllegalTransition:
    return IllegalTransition(f"{po.number} is {po.get_state_display()}; {verb} needs {allowed}.", state=po.state)


def _validate(*, client, supplier: Supplier, warehouse: Warehouse, lines: list[LineSpec]) -> None:
    errors: dict[str, list[str]] = defaultdict(list)
    if supplier.client_id != client.id:
        errors["supplier"].append(f"Supplier {supplier.code} does not belong to {client}.")
    elif not supplier.is_active:
        errors["supplier"].append(f"Supplier {supplier.code} is not active.")
    if not warehouse.is_active:
        errors["warehouse"].append(f"Warehouse {warehouse.code} is not active.")
    if not lines:
        errors["lines"].append("A purchase order needs at least one line.")
    seen = set()
    for index, spec in enumerate(lines, start=1):
        if spec.quantity is None or spec.quantity <= 0:
            errors["lines"].append(f"Line {index}: the quantity must be at least 1.")
        if spec.unit_cost is None or spec.unit_cost < 0:
            errors["lines"].append(f"Line {index}: the unit cost must not be negative.")
        if spec.part.client_id != client.id:
            errors["lines"].append(f"Line {index}: part {spec.part.sku} does not belong to {client}.")
        if spec.part.id in seen:
            errors["lines"].append(f"Line {index}: {spec.part.sku} appears twice; use one line.")
        seen.add(spec.part.id)
    if errors:
        raise ValidationError(dict(errors))


def _change(part_id: int, location: Location, type_: str, delta: int) -> StockChange:
    return StockChange(part_id, location.warehouse_id, location.id, type_, delta)


# --- draft: create and edit -----------------------------------------------------------------------------------


def save_purchase_order(
    *,
    client,
    user,
    supplier: Supplier,
    warehouse: Warehouse,
    lines: Iterable[LineSpec],
    expected_date: date | None = None,
    notes: str = "",
    po: PurchaseOrder | None = None,
) -> PurchaseOrder:
    """Create a draft purchase order, or edit a draft: its lines are Planned at the warehouse's default location.

    An edit moves Planned by the difference (also between warehouses when the warehouse changes).
    """
    lines = list(lines)
    _validate(client=client, supplier=supplier, warehouse=warehouse, lines=lines)
    with transaction.atomic():
        if po is not None:
            po = lock_purchase_order(po)
            if po.state != PurchaseOrder.State.DRAFT:
                raise _illegal(po, "editing", "a Draft")
            if po.client_id != client.id:
                raise ValidationError({"client": "A purchase order's client cannot change."})
            old_part_ids = set(po.lines.values_list("part_id", flat=True))
        else:
            old_part_ids = set()
        lock_parts(old_part_ids | {spec.part.id for spec in lines})
        existing = {line.part_id: line for line in po.lines.all()} if po is not None else {}
        old_location = default_location(po.warehouse) if po is not None else None
        new_location = default_location(warehouse)

        is_new = po is None
        if is_new:
            po = PurchaseOrder(number=next_po_number(), client=client, created_by=_user(user))
        po.supplier, po.warehouse, po.expected_date, po.notes = supplier, warehouse, expected_date, notes or ""
        po.save()

        changes = [_change(line.part_id, old_location, PLANNED, -line.quantity) for line in existing.values()]
        changes += [_change(spec.part.id, new_location, PLANNED, spec.quantity) for spec in lines]
        wanted = {spec.part.id: spec for spec in lines}
        PurchaseOrderLine.objects.filter(po=po).exclude(part_id__in=list(wanted)).delete()
        new_lines = []
        for spec in lines:
            line = existing.get(spec.part.id) or PurchaseOrderLine(po=po, part=spec.part)
            line.quantity, line.unit_cost, line.expected_date = spec.quantity, spec.unit_cost, spec.expected_date
            if line.pk is None:
                new_lines.append(line)
            else:
                line.save(update_fields=["quantity", "unit_cost", "expected_date"])
        PurchaseOrderLine.objects.bulk_create(new_lines)
        apply_stock_changes(
            changes=changes,
            reason="purchase order drafted" if is_new else "purchase order edited",
            reference=_reference(po),
            user=user,
        )
    return po


def _user(user):
    return user if user is not None and user.is_authenticated else None


# --- order ----------------------------------------------------------------------------------------------------


def order_purchase_order(*, po: PurchaseOrder, user) -> PurchaseOrder:
    """Draft → Ordered: Planned becomes Ordered (On-Order rises at once).

    At an Allocadence warehouse the push outbox row is written in this transaction and its task is sent after
    commit; once Allocadence acknowledges it, the pull's `inbound` carries this On-Order instead.
    """
    with transaction.atomic():
        po = lock_purchase_order(po)
        if po.state != PurchaseOrder.State.DRAFT:
            raise _illegal(po, "ordering", "a Draft")
        part_ids = list(po.lines.values_list("part_id", flat=True))
        if not part_ids:
            raise ValidationError({"lines": "A purchase order needs at least one line."})
        lock_parts(part_ids)
        lines = list(po.lines.all())
        location = default_location(po.warehouse)
        changes = []
        for line in lines:
            changes.append(_change(line.part_id, location, PLANNED, -line.quantity))
            changes.append(_change(line.part_id, location, ORDERED, line.quantity))
        apply_stock_changes(changes=changes, reason="purchase order ordered", reference=_reference(po), user=user)
        po.state, po.ordered_at = PurchaseOrder.State.ORDERED, timezone.now()
        po.save(update_fields=["state", "ordered_at", "updated_at"])
        if po.warehouse.is_allocadence:
            push, created = PurchaseOrderPush.objects.get_or_create(po=po, defaults={"order_number": po.number})
            if created:
                enqueue_on_commit(PUSH_TASK_NAME, push.id)
    return po


def retry_push(*, push: PurchaseOrderPush) -> bool:
    """The Retry button of a failed push: back to pending and sent again; False if it was not failed any more."""
    if not PurchaseOrderPush.objects.filter(pk=push.pk).retry():
        return False
    enqueue_on_commit(PUSH_TASK_NAME, push.id)
    return True


# --- receive --------------------------------------------------------------------------------------------------


def receive_purchase_order(*, po: PurchaseOrder, receipts: Iterable[Receipt], user) -> PurchaseOrder:
    """Receive part or all of one or more lines: each quantity moves from Ordered to Available at its location.

    Concurrent receipts of one line are serialised by the PO row lock and re-checked against the line as it
    is after the lock, so a line is never received beyond its quantity (the CHECK constraint is the backstop).
    """
    receipts = [r for r in receipts if r.quantity]
    errors: dict[str, list[str]] = defaultdict(list)
    for receipt in receipts:
        if receipt.quantity < 0:
            errors["quantity"].append("The quantity received must be a positive whole number.")
        if receipt.location.warehouse_id != po.warehouse_id:
            errors["location"].append(f"Location {receipt.location} is not in {po.warehouse.code}.")
    if not receipts:
        errors["quantity"].append("Enter the quantity received on at least one line.")
    if len({r.line_id for r in receipts}) != len(receipts):
        errors["line"].append("Each line can be received once per receipt.")
    with transaction.atomic():
        po = lock_purchase_order(po)
        if po.warehouse.is_allocadence:
            raise ReceivingRefused(number=po.number, warehouse_code=po.warehouse.code)
        if po.state not in PurchaseOrder.RECEIVING_STATES:
            raise _illegal(po, "receiving", "an Ordered or Partially received order")
        if errors:
            raise ValidationError(dict(errors))
        part_ids = list(po.lines.values_list("part_id", flat=True))
        lock_parts(part_ids)
        lines = {line.id: line for line in po.lines.select_related("part")}
        location = default_location(po.warehouse)
        changes = []
        for receipt in receipts:
            line = lines.get(receipt.line_id)
            if line is None:
                raise ValidationError({"line": f"Line {receipt.line_id} is not on {po.number}."})
            if receipt.quantity > line.outstanding:
                raise OverReceipt(
                    number=po.number, sku=line.part.sku, requested=receipt.quantity, outstanding=line.outstanding
                )
            line.received_quantity += receipt.quantity
            changes.append(_change(line.part_id, location, ORDERED, -receipt.quantity))
            changes.append(_change(line.part_id, receipt.location, AVAILABLE, receipt.quantity))
        PurchaseOrderLine.objects.bulk_update(list(lines.values()), ["received_quantity"])
        apply_stock_changes(changes=changes, reason="purchase order received", reference=_reference(po), user=user)
        if all(line.outstanding == 0 for line in lines.values()):
            po.state, po.received_at = PurchaseOrder.State.RECEIVED, timezone.now()
        else:
            po.state = PurchaseOrder.State.PARTIALLY_RECEIVED
        po.save(update_fields=["state", "received_at", "updated_at"])
    return po


# --- cancel ---------------------------------------------------------------------------------------------------


def cancel_purchase_order(*, po: PurchaseOrder, user) -> PurchaseOrder:
    """Cancel an open purchase order: whatever Planned or Ordered it still holds is removed.

    At an Allocadence warehouse only while Allocadence cannot have the order yet (never attempted, or refused);
    once it may exist there, it is cancelled in Allocadence and the pull's `inbound` follows.
    """
    with transaction.atomic():
        po = lock_purchase_order(po)
        if po.state not in PurchaseOrder.OPEN_STATES:
            raise _illegal(po, "cancelling", "a Draft, Ordered or Partially received order")
        if po.state != PurchaseOrder.State.DRAFT and po.warehouse.is_allocadence:
            stopped = PurchaseOrderPush.objects.filter(po=po).filter(
                Q(status=PurchaseOrderPush.Status.PENDING, attempts=0) | Q(status=PurchaseOrderPush.Status.FAILED)
            )
            if not stopped.update(status=PurchaseOrderPush.Status.CANCELLED, updated_at=timezone.now()):
                raise IllegalTransition(
                    f"{po.number} may already exist in Allocadence; cancel it there (the pull then updates On-Order).",
                    state=po.state,
                )
        part_ids = list(po.lines.values_list("part_id", flat=True))
        lock_parts(part_ids)
        lines = list(po.lines.all())
        location = default_location(po.warehouse)
        if po.state == PurchaseOrder.State.DRAFT:
            changes = [_change(line.part_id, location, PLANNED, -line.quantity) for line in lines]
        else:
            held = _held(part_ids, location, ORDERED) if po.warehouse.is_allocadence else None
            changes = []
            for line in lines:
                amount = line.outstanding
                if held is not None:  # the pull may have set Ordered here to Allocadence's inbound already
                    amount = min(amount, held[line.part_id])
                    held[line.part_id] -= amount
                changes.append(_change(line.part_id, location, ORDERED, -amount))
        apply_stock_changes(changes=changes, reason="purchase order cancelled", reference=_reference(po), user=user)
        po.state, po.cancelled_at = PurchaseOrder.State.CANCELLED, timezone.now()
        po.save(update_fields=["state", "cancelled_at", "updated_at"])
    return po


def _held(part_ids: list[int], location: Location, type_: str) -> dict[int, int]:
    rows = (
        InventoryRow.objects.filter(part_id__in=part_ids, location=location, type=type_)
        .values("part_id")
        .annotate(total=Sum("quantity"))
        .values_list("part_id", "total")
    )
    found = dict(rows)
    return {part_id: found.get(part_id, 0) for part_id in part_ids}


# --- reorder --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReorderLine:
    part: Part
    supplier: Supplier
    warehouse: Warehouse
    quantity: int


def create_reorder_purchase_orders(*, user, lines: Iterable[ReorderLine]) -> list[PurchaseOrder]:
    """Draft purchase orders from the reorder view: one per client × supplier × warehouse, in one transaction."""
    groups: dict[tuple[int, int, int], list[ReorderLine]] = defaultdict(list)
    for line in lines:
        groups[(line.part.client_id, line.supplier.id, line.warehouse.id)].append(line)
    if not groups:
        raise ValidationError({"lines": "Choose at least one part to reorder."})
    created = []
    with transaction.atomic():
        lock_parts(line.part.id for group in groups.values() for line in group)
        for key in sorted(groups):
            group = groups[key]
            first = group[0]
            created.append(
                save_purchase_order(
                    client=first.part.client,
                    user=user,
                    supplier=first.supplier,
                    warehouse=first.warehouse,
                    lines=[LineSpec(part=line.part, quantity=line.quantity) for line in group],
                    notes="Created from the reorder view.",
                )
            )
    return created
