"""derive_order_status: the documented precedence, one case per rule and per tie."""

from __future__ import annotations

import pytest

from allocadence_client import derive_order_status

pytestmark: list = []


def _order(*, lines=((5, 0, 0),), **flags):
    base = {"cancelled": False, "completed": False, "onHold": False, "orderPlaced": True}
    base.update(flags)
    base["items"] = [{"quantity": q, "allocatedQuantity": a, "pickedQuantity": p} for q, a, p in lines]
    return base


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (_order(cancelled=True, completed=True, onHold=True, orderPlaced=False, lines=((5, 5, 5),)), "cancelled"),
        (_order(completed=True, onHold=True, orderPlaced=False, lines=((5, 5, 5),)), "completed"),
        (_order(onHold=True, orderPlaced=False, lines=((5, 5, 5),)), "on_hold"),
        (_order(orderPlaced=False, lines=((5, 5, 5),)), "draft"),
        (_order(lines=((5, 5, 1), (3, 0, 0))), "picking"),
        (_order(lines=((5, 5, 0), (3, 4, 0))), "allocated"),
        (_order(lines=((5, 5, 0), (3, 2, 0))), "open"),
        (_order(lines=((5, 0, 0),)), "open"),
        (_order(lines=()), "open"),
    ],
    ids=["cancelled", "completed", "on_hold", "draft", "picking", "allocated", "partly_allocated", "open", "no_lines"],
)
def test_derive_order_status_precedence(order, expected):
    assert derive_order_status(order) == expected


def test_derive_order_status_missing_order_placed_is_draft():
    assert derive_order_status({"items": [{"quantity": 1, "allocatedQuantity": 1, "pickedQuantity": 0}]}) == "draft"
