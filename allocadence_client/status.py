"""Order status derived from flags, because Allocadence has no status field."""

from __future__ import annotations

from typing import Any

CANCELLED = "cancelled"
COMPLETED = "completed"
ON_HOLD = "on_hold"
DRAFT = "draft"
PICKING = "picking"
ALLOCATED = "allocated"
OPEN = "open"

ORDER_STATUSES = (CANCELLED, COMPLETED, ON_HOLD, DRAFT, PICKING, ALLOCATED, OPEN)


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def derive_order_status(order: dict[str, Any]) -> str:
    """Apply the documented precedence; the first rule that holds wins, so the order of checks is the contract."""
    if order.get("cancelled"):
        return CANCELLED
    if order.get("completed"):
        return COMPLETED
    if order.get("onHold"):
        return ON_HOLD
    if not order.get("orderPlaced"):
        return DRAFT
    lines = order.get("items") or []
    if any(_number(line.get("pickedQuantity")) > 0 for line in lines):
        return PICKING
    # An order without lines has nothing allocated; calling it allocated would claim stock that was never held.
    if lines and all(_number(line.get("allocatedQuantity")) >= _number(line.get("quantity")) for line in lines):
        return ALLOCATED
    return OPEN
