import pytest
from django.core.exceptions import ValidationError

from inventory.errors import InsufficientStock, ManualEditRefused
from inventory.models import InventoryRow, Movement, StockLevel, StockType
from inventory.services import (
    adjust_stock,
    create_stock,
    default_location,
    mark_obsolete,
    move_stock,
    remove_stock,
)
from tests.inventory.conftest import make_part, put


def qty(part, location, type_=StockType.AVAILABLE) -> int:
    row = InventoryRow.objects.filter(part=part, location=location, type=type_).first()
    return row.quantity if row else 0


@pytest.fixture
def part(client_a):
    return make_part(client_a, "SHEET-A4")


def test_create_stock_adds_units_with_one_movement(part, bin_a1, manager):
    movements = create_stock(part=part, location=bin_a1, quantity=12, reason="delivery 881", user=manager)

    assert qty(part, bin_a1) == 12
    assert [(m.type, m.delta, m.reason, m.user_id) for m in movements] == [
        (StockType.AVAILABLE, 12, "delivery 881", manager.id)
    ]
    assert Movement.objects.count() == 1
    assert StockLevel.objects.get(part=part, warehouse=None).available == 12


def test_adjust_stock_down_and_up(part, bin_a1):
    put(part, bin_a1, StockType.AVAILABLE, 10)

    adjust_stock(part=part, location=bin_a1, delta=-4, reason="count")
    adjust_stock(part=part, location=bin_a1, delta=1, type=StockType.AVAILABLE, reason="found one")

    assert qty(part, bin_a1) == 7
    assert list(Movement.objects.order_by("id").values_list("delta", flat=True)) == [10, -4, 1]


def test_adjust_stock_reason_required_and_nothing_written(part, bin_a1):
    with pytest.raises(ValidationError) as excinfo:
        adjust_stock(part=part, location=bin_a1, delta=5, reason="  ")

    assert excinfo.value.message_dict == {"reason": ["A reason is required."]}
    assert Movement.objects.count() == 0


def test_adjust_stock_below_zero_refused_with_shortage(part, bin_a1):
    put(part, bin_a1, StockType.AVAILABLE, 3)

    with pytest.raises(InsufficientStock) as excinfo:
        adjust_stock(part=part, location=bin_a1, delta=-5, reason="count")

    (shortage,) = excinfo.value.shortages
    assert (shortage.sku, shortage.warehouse_code, shortage.requested, shortage.available) == ("SHEET-A4", "MAIN", 5, 3)
    assert str(excinfo.value) == "Not enough stock — Available at A1: SHEET-A4 at MAIN needs 5, 3 available."
    assert qty(part, bin_a1) == 3
    assert Movement.objects.count() == 1


def test_adjust_stock_reserved_type_refused(part, bin_a1):
    with pytest.raises(ValidationError):
        adjust_stock(part=part, location=bin_a1, delta=5, type=StockType.RESERVED, reason="no")

    assert Movement.objects.count() == 0


def test_move_stock_between_local_warehouses(part, bin_a1, east_wh):
    put(part, bin_a1, StockType.AVAILABLE, 10)
    east = default_location(east_wh)

    movements = move_stock(part=part, from_location=bin_a1, to_location=east, quantity=4, reason="rebalance")

    assert (qty(part, bin_a1), qty(part, east)) == (6, 4)
    assert sorted((m.location_id, m.delta) for m in movements) == sorted([(bin_a1.id, -4), (east.id, 4)])
    levels = {lvl.warehouse_id: lvl.available for lvl in StockLevel.objects.filter(part=part)}
    assert levels == {bin_a1.warehouse_id: 6, east_wh.id: 4, None: 10}


def test_move_stock_more_than_available_refused_and_nothing_moved(part, bin_a1, main_wh):
    put(part, bin_a1, StockType.AVAILABLE, 2)

    with pytest.raises(InsufficientStock):
        move_stock(part=part, from_location=bin_a1, to_location=default_location(main_wh), quantity=3, reason="x")

    assert (qty(part, bin_a1), qty(part, default_location(main_wh))) == (2, 0)
    assert Movement.objects.count() == 1


def test_mark_obsolete_turns_available_into_obsolete(part, bin_a1):
    put(part, bin_a1, StockType.AVAILABLE, 9)

    mark_obsolete(part=part, location=bin_a1, quantity=4, reason="water damage")

    assert (qty(part, bin_a1), qty(part, bin_a1, StockType.OBSOLETE)) == (5, 4)
    level = StockLevel.objects.with_figures().get(part=part, warehouse=None)
    assert (level.available, level.obsolete, level.in_stock, level.on_hand) == (5, 4, 5, 9)


def test_remove_stock_obsolete(part, bin_a1):
    put(part, bin_a1, StockType.OBSOLETE, 4)

    remove_stock(part=part, location=bin_a1, type=StockType.OBSOLETE, quantity=4, reason="scrapped")

    assert qty(part, bin_a1, StockType.OBSOLETE) == 0


@pytest.mark.parametrize(
    "operation",
    [
        lambda part, loc: create_stock(part=part, location=loc, quantity=1, reason="r"),
        lambda part, loc: adjust_stock(part=part, location=loc, delta=-1, reason="r"),
        lambda part, loc: mark_obsolete(part=part, location=loc, quantity=1, reason="r"),
        lambda part, loc: remove_stock(part=part, location=loc, quantity=1, reason="r"),
    ],
)
def test_manual_operations_refused_on_allocadence_warehouse(part, alloc_wh, operation):
    location = default_location(alloc_wh)
    put(part, alloc_wh, StockType.AVAILABLE, 5, reason="allocadence pull")

    with pytest.raises(ManualEditRefused) as excinfo:
        operation(part, location)

    assert str(excinfo.value) == (
        "Warehouse ALLOC is managed by Allocadence: its stock comes from the Allocadence pull "
        "and cannot be edited here."
    )
    assert qty(part, location) == 5
    assert Movement.objects.count() == 1


def test_move_stock_into_allocadence_warehouse_refused(part, bin_a1, alloc_wh):
    put(part, bin_a1, StockType.AVAILABLE, 5)

    with pytest.raises(ManualEditRefused):
        move_stock(part=part, from_location=bin_a1, to_location=default_location(alloc_wh), quantity=1, reason="r")

    assert qty(part, bin_a1) == 5
    assert Movement.objects.count() == 1
