import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.errors import NegativeStock
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Movement, Part, StockLevel, StockType
from inventory.services import Reference, StockChange, apply_stock_changes, create_warehouse, default_location


@pytest.fixture
def stock_setup(client_a):
    main = create_warehouse(code="MAIN", name="Main")
    east = create_warehouse(code="EAST", name="East")
    part = Part.objects.create(client=client_a, sku="SHEET-A4", description="A4 sheet", low_stock_threshold=10)
    return main, east, part


def change(part, warehouse, type_, delta):
    return StockChange(part.id, warehouse.id, default_location(warehouse).id, type_, delta)


def test_apply_stock_changes_writes_rows_movements_and_levels(stock_setup, manager):
    main, east, part = stock_setup

    movements = apply_stock_changes(
        changes=[
            change(part, main, StockType.AVAILABLE, 50),
            change(part, east, StockType.AVAILABLE, 20),
            change(part, main, StockType.ORDERED, 5),
        ],
        reason="initial count",
        user=manager,
    )
    apply_stock_changes(
        changes=[change(part, main, StockType.AVAILABLE, -8), change(part, main, StockType.RESERVED, 8)],
        reason="reserve",
        reference=Reference(kind=Movement.ReferenceKind.JOB, id=7, label="J-7"),
    )

    assert len(movements) == 3
    assert Movement.objects.count() == 5
    assert InventoryRow.objects.get(part=part, warehouse=main, type=StockType.AVAILABLE).quantity == 42
    levels = {lvl.warehouse_id: lvl for lvl in StockLevel.objects.with_figures()}
    assert (levels[main.id].available, levels[main.id].reserved, levels[main.id].in_stock) == (42, 8, 50)
    assert (levels[None].available, levels[None].in_stock, levels[None].on_order) == (62, 70, 5)
    assert levels[None].stock_balance == 62 + 5 - 10
    assert levels[east.id].stock_balance == 20 - 10


def test_apply_stock_changes_negative_refused_and_nothing_written(stock_setup):
    main, _east, part = stock_setup
    apply_stock_changes(changes=[change(part, main, StockType.AVAILABLE, 3)], reason="count")

    with pytest.raises(NegativeStock):
        apply_stock_changes(
            changes=[change(part, main, StockType.AVAILABLE, -4), change(part, main, StockType.OBSOLETE, 4)],
            reason="too much",
        )

    assert Movement.objects.count() == 1
    assert list(InventoryRow.objects.values_list("type", "quantity")) == [(StockType.AVAILABLE, 3)]
    assert StockLevel.objects.get(part=part, warehouse=None).available == 3


def test_with_figures_generic_part_adds_positive_alternate_balances(stock_setup, client_a):
    main, _east, _part = stock_setup
    generic = Part.objects.create(client=client_a, sku="GEN", kind=Part.Kind.GENERIC, low_stock_threshold=5)
    alt_rich = Part.objects.create(client=client_a, sku="ALT-1", low_stock_threshold=10)
    alt_poor = Part.objects.create(client=client_a, sku="ALT-2", low_stock_threshold=10)
    generic.alternates.set([alt_rich, alt_poor])
    apply_stock_changes(
        changes=[
            change(alt_rich, main, StockType.AVAILABLE, 40),
            change(alt_poor, main, StockType.AVAILABLE, 2),
            change(generic, main, StockType.PLANNED, 3),
            change(generic, main, StockType.ALLOCATED, 7),
        ],
        reason="count",
    )

    total = StockLevel.objects.with_figures().get(part=generic, warehouse=None)
    at_main = StockLevel.objects.with_figures().get(part=generic, warehouse=main)

    # 3 planned − 7 allocated − 5 threshold + max(0, 40 − 10) + max(0, 2 − 10)
    assert total.stock_balance == 21
    assert at_main.stock_balance == 21


@pytest.mark.postgresql
def test_apply_stock_changes_is_one_statement_when_the_caller_holds_the_locks(stock_setup):
    main, east, part = stock_setup
    apply_stock_changes(changes=[change(part, main, StockType.AVAILABLE, 10)], reason="count")

    changes = [
        change(part, main, StockType.AVAILABLE, -4),
        change(part, main, StockType.RESERVED, 4),
        change(part, east, StockType.ORDERED, 6),
    ]

    with transaction.atomic():
        locked = lock_parts([part.id])
        with CaptureQueriesContext(connection) as context:
            movements = apply_stock_changes(changes=changes, reason="reserve", locked_part_ids=locked)

    # no lock, no savepoint: rows, movements and both StockLevel summaries in one statement
    assert len(context.captured_queries) == 1
    assert [m.delta for m in movements] == [-4, 4, 6]
    assert sorted(m.id for m in movements) == sorted(
        Movement.objects.filter(reason="reserve").values_list("id", flat=True)
    )
    levels = {lvl.warehouse_id: lvl for lvl in StockLevel.objects.with_figures()}
    assert (levels[main.id].available, levels[main.id].reserved) == (6, 4)
    assert (levels[east.id].ordered, levels[None].available, levels[None].on_order) == (6, 6, 6)


@pytest.mark.postgresql
def test_apply_stock_changes_refuses_parts_the_caller_did_not_lock(stock_setup, client_a):
    main, _east, part = stock_setup
    other = Part.objects.create(client=client_a, sku="OTHER")

    with transaction.atomic():
        locked = lock_parts([part.id])
        with pytest.raises(RuntimeError, match="not locked"):
            apply_stock_changes(
                changes=[change(part, main, StockType.AVAILABLE, 1), change(other, main, StockType.AVAILABLE, 1)],
                reason="count",
                locked_part_ids=locked,
            )

    assert Movement.objects.count() == 0
    assert InventoryRow.objects.count() == 0


def test_apply_stock_changes_refusal_keeps_the_callers_transaction_usable(stock_setup):
    main, _east, part = stock_setup
    apply_stock_changes(changes=[change(part, main, StockType.AVAILABLE, 3)], reason="count")

    with transaction.atomic():
        # a decrease with no row at all, and one below zero: both refused, nothing written
        for refused in (change(part, main, StockType.OBSOLETE, -1), change(part, main, StockType.AVAILABLE, -4)):
            with pytest.raises(NegativeStock):
                apply_stock_changes(changes=[refused, change(part, main, StockType.PLANNED, 1)], reason="refused")
        # the transaction goes on
        apply_stock_changes(changes=[change(part, main, StockType.AVAILABLE, -3)], reason="fits")

    assert list(Movement.objects.order_by("id").values_list("reason", "delta")) == [("count", 3), ("fits", -3)]
    assert list(InventoryRow.objects.values_list("type", "quantity")) == [(StockType.AVAILABLE, 0)]
    level = StockLevel.objects.get(part=part, warehouse=None)
    assert (level.available, level.planned) == (0, 0)
