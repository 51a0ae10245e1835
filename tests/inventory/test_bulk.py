"""The set-based ledger path (`inventory.bulk.apply_stock_targets`): exact rows, movements and StockLevels."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from inventory import bulk
from inventory.bulk import TargetScope, apply_stock_targets
from inventory.locks import lock_parts
from inventory.models import InventoryRow, Location, Movement, StockLevel, StockType
from inventory.selectors import check_ledger
from inventory.services import Reference, default_location

from .conftest import make_part, put

pytestmark = pytest.mark.django_db

AVAILABLE, ORDERED = StockType.AVAILABLE.value, StockType.ORDERED.value
# Tuple versions (xmin) and SET CONSTRAINTS are PostgreSQL's; `make run` on SQLite takes the `_apply_python` path,
# which the last test holds to the PostgreSQL statement's results.
REFERENCE = Reference(kind=Movement.ReferenceKind.SYNC_RUN, id=7, label="Allocadence pull #7")


def rows(part) -> dict[tuple[int, str], int]:
    return {
        (location_id, type_): quantity
        for location_id, type_, quantity in InventoryRow.objects.filter(part=part).values_list(
            "location_id", "type", "quantity"
        )
    }


def level(part, warehouse) -> tuple[int, int]:
    scope = StockLevel.objects.filter(part=part)
    scope = scope.filter(warehouse__isnull=True) if warehouse is None else scope.filter(warehouse=warehouse)
    return scope.values_list("available", "ordered").get()


def level_versions(part) -> dict[int | None, str]:
    """Each StockLevel's tuple version (xmin): unchanged only if the row was not rewritten."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT warehouse_id, xmin::text FROM {StockLevel._meta.db_table} WHERE part_id = %s", [part.id]
        )
        return dict(cursor.fetchall())


def test_apply_stock_targets_sets_rows_levels_and_one_movement_per_changed_row(client_a, alloc_wh, main_wh):
    part = make_part(client_a, "SKU-1")
    here, there = default_location(alloc_wh), default_location(main_wh)
    put(part, alloc_wh, AVAILABLE, 10)
    put(part, main_wh, AVAILABLE, 4)

    result = apply_stock_targets(
        targets=[
            (part.id, alloc_wh.id, here.id, AVAILABLE, 12),
            (part.id, alloc_wh.id, here.id, ORDERED, 5),
            (part.id, main_wh.id, there.id, AVAILABLE, 4),
        ],
        reason="sync",
        reference=REFERENCE,
    )

    assert (result.rows_changed, result.rows_created, result.parts_touched) == (2, 1, 1)
    assert rows(part) == {(here.id, AVAILABLE): 12, (here.id, ORDERED): 5, (there.id, AVAILABLE): 4}
    movements = Movement.objects.filter(reference_kind=Movement.ReferenceKind.SYNC_RUN, reference_id=7)
    assert sorted(movements.values_list("location_id", "type", "delta", "reason", "reference")) == [
        (here.id, AVAILABLE, 2, "sync", "Allocadence pull #7"),
        (here.id, ORDERED, 5, "sync", "Allocadence pull #7"),
    ]
    assert level(part, alloc_wh) == (12, 5)
    assert level(part, main_wh) == (4, 0)
    assert level(part, None) == (16, 5)
    assert check_ledger().is_ok


def test_apply_stock_targets_scope_sets_untargeted_rows_to_zero(client_a, alloc_wh, main_wh):
    kept, dropped = make_part(client_a, "SKU-KEPT"), make_part(client_a, "SKU-GONE")
    here = default_location(alloc_wh)
    put(kept, alloc_wh, AVAILABLE, 3)
    put(dropped, alloc_wh, AVAILABLE, 8)
    put(dropped, alloc_wh, ORDERED, 2)
    put(dropped, main_wh, AVAILABLE, 6)  # outside the scope's warehouses: untouched

    result = apply_stock_targets(
        targets=[(kept.id, alloc_wh.id, here.id, AVAILABLE, 3)],
        scope=TargetScope(warehouse_ids=(alloc_wh.id,), types=(AVAILABLE, ORDERED)),
        reason="sync",
        reference=REFERENCE,
    )

    assert (result.rows_changed, result.rows_created, result.parts_touched) == (2, 0, 1)
    assert rows(dropped)[(here.id, AVAILABLE)] == 0
    assert rows(dropped)[(here.id, ORDERED)] == 0
    assert level(dropped, alloc_wh) == (0, 0)
    assert level(dropped, None) == (6, 0)
    assert level(kept, alloc_wh) == (3, 0)
    assert check_ledger().is_ok


def test_apply_stock_targets_pairs_scope_leaves_the_part_s_other_warehouses_as_they_are(client_a, alloc_wh, main_wh):
    """With `pairs`, only those (part, warehouse) rows are in scope: the same part's rows at another warehouse
    of the scope keep their figures though they have no target, and a target outside the pairs is refused."""
    part, other = make_part(client_a, "PAIR-1"), make_part(client_a, "PAIR-2")
    here, there = default_location(alloc_wh), default_location(main_wh)
    put(part, alloc_wh, AVAILABLE, 8)
    put(part, alloc_wh, ORDERED, 2)
    put(part, main_wh, AVAILABLE, 6)  # in the scope's warehouses, not in its pairs
    put(other, alloc_wh, AVAILABLE, 4)
    scope = TargetScope(
        warehouse_ids=(alloc_wh.id, main_wh.id), types=(AVAILABLE, ORDERED), pairs=frozenset({(part.id, alloc_wh.id)})
    )

    with pytest.raises(ValueError, match="outside the scope"):
        apply_stock_targets(targets=[(part.id, main_wh.id, there.id, AVAILABLE, 1)], scope=scope, reason="sync")
    result = apply_stock_targets(targets=[(part.id, alloc_wh.id, here.id, AVAILABLE, 5)], scope=scope, reason="sync")

    assert (result.rows_changed, result.rows_created, result.parts_touched) == (2, 0, 1)
    assert rows(part) == {(here.id, AVAILABLE): 5, (here.id, ORDERED): 0, (there.id, AVAILABLE): 6}
    assert rows(other) == {(here.id, AVAILABLE): 4}
    assert level(part, alloc_wh) == (5, 0)
    assert level(part, None) == (11, 0)
    assert check_ledger().is_ok


@pytest.mark.postgresql
def test_apply_stock_targets_unchanged_targets_write_nothing(client_a, alloc_wh):
    part = make_part(client_a, "SKU-1")
    here = default_location(alloc_wh)
    put(part, alloc_wh, AVAILABLE, 10)
    put(part, alloc_wh, ORDERED, 1)
    movements = Movement.objects.count()
    stamps = list(InventoryRow.objects.order_by("id").values_list("updated_at", flat=True))
    versions = level_versions(part)

    result = apply_stock_targets(
        targets=[(part.id, alloc_wh.id, here.id, AVAILABLE, 10), (part.id, alloc_wh.id, here.id, ORDERED, 1)],
        scope=TargetScope(warehouse_ids=(alloc_wh.id,), types=(AVAILABLE, ORDERED)),
        reason="sync",
    )

    assert (result.rows_changed, result.rows_created, result.parts_touched) == (0, 0, 0)
    assert Movement.objects.count() == movements
    assert list(InventoryRow.objects.order_by("id").values_list("updated_at", flat=True)) == stamps
    assert level_versions(part) == versions


@pytest.mark.postgresql
def test_apply_stock_targets_move_within_a_warehouse_leaves_its_levels_unwritten(client_a, main_wh, bin_a1):
    part = make_part(client_a, "SKU-1")
    root = default_location(main_wh)
    put(part, main_wh, AVAILABLE, 10)
    versions = level_versions(part)

    result = apply_stock_targets(
        targets=[(part.id, main_wh.id, root.id, AVAILABLE, 4), (part.id, main_wh.id, bin_a1.id, AVAILABLE, 6)],
        reason="recount",
    )

    assert (result.rows_changed, result.rows_created, result.parts_touched) == (2, 1, 1)
    assert rows(part) == {(root.id, AVAILABLE): 4, (bin_a1.id, AVAILABLE): 6}
    assert level(part, main_wh) == (10, 0)
    assert level_versions(part) == versions
    assert check_ledger().is_ok


def test_apply_stock_targets_last_target_for_a_row_wins_and_changed_pairs_agrees(client_a, alloc_wh, main_wh):
    part, other = make_part(client_a, "SKU-1"), make_part(client_a, "SKU-2")
    here = default_location(alloc_wh)
    put(part, alloc_wh, AVAILABLE, 10)
    put(other, alloc_wh, AVAILABLE, 3)
    targets = [
        (part.id, alloc_wh.id, here.id, AVAILABLE, 4),
        (other.id, alloc_wh.id, here.id, AVAILABLE, 9),
        (part.id, alloc_wh.id, here.id, AVAILABLE, 10),  # the last for its row: unchanged after all
        (other.id, alloc_wh.id, here.id, AVAILABLE, 3),
        (other.id, alloc_wh.id, here.id, AVAILABLE, 6),
    ]
    scope = TargetScope(warehouse_ids=(alloc_wh.id,), types=(AVAILABLE,))

    pairs = bulk.changed_pairs(targets=iter(targets), scope=scope)
    result = apply_stock_targets(targets=iter(targets), scope=scope, reason="sync")

    assert pairs == {(other.id, alloc_wh.id)}
    assert (result.rows_changed, result.rows_created, result.parts_touched) == (1, 0, 1)
    assert rows(part) == {(here.id, AVAILABLE): 10}
    assert rows(other) == {(here.id, AVAILABLE): 6}
    assert list(Movement.objects.filter(reason="sync").values_list("part_id", "delta")) == [(other.id, 3)]
    assert check_ledger().is_ok


def test_apply_stock_targets_refused_target_after_valid_ones_writes_nothing(client_a, alloc_wh):
    """Targets are validated as they stream into the staging table: a bad one late in the stream still
    leaves every row as it was, with the reason in the error."""
    part = make_part(client_a, "SKU-1")
    here = default_location(alloc_wh)
    put(part, alloc_wh, AVAILABLE, 10)
    movements = Movement.objects.count()

    with pytest.raises(ValueError, match=r"must not be negative \(part \d+, ordered: -2\)"):
        apply_stock_targets(
            targets=iter([(part.id, alloc_wh.id, here.id, AVAILABLE, 1), (part.id, alloc_wh.id, here.id, ORDERED, -2)]),
            reason="sync",
        )

    assert Movement.objects.count() == movements
    assert rows(part) == {(here.id, AVAILABLE): 10}
    assert level(part, alloc_wh) == (10, 0)


def test_apply_stock_targets_target_outside_scope_changes_nothing(client_a, alloc_wh, main_wh):
    part = make_part(client_a, "SKU-1")
    put(part, alloc_wh, AVAILABLE, 10)
    movements = Movement.objects.count()

    with pytest.raises(ValueError, match="outside the scope"):
        apply_stock_targets(
            targets=[
                (part.id, alloc_wh.id, default_location(alloc_wh).id, AVAILABLE, 1),
                (part.id, main_wh.id, default_location(main_wh).id, AVAILABLE, 5),
            ],
            scope=TargetScope(warehouse_ids=(alloc_wh.id,), types=(AVAILABLE,)),
            reason="sync",
        )

    assert Movement.objects.count() == movements
    assert rows(part) == {(default_location(alloc_wh).id, AVAILABLE): 10}


@pytest.mark.postgresql
def test_apply_stock_targets_failing_statement_rolls_back_every_write(client_a, alloc_wh):
    part = make_part(client_a, "SKU-1")
    here = default_location(alloc_wh)
    put(part, alloc_wh, AVAILABLE, 10)
    movements = Movement.objects.count()
    missing_location = Location.objects.order_by("-id").values_list("id", flat=True).first() + 1000

    with pytest.raises(IntegrityError), transaction.atomic():
        apply_stock_targets(
            targets=[
                (part.id, alloc_wh.id, here.id, AVAILABLE, 3),
                (part.id, alloc_wh.id, missing_location, ORDERED, 2),
            ],
            reason="sync",
        )
        with connection.cursor() as cursor:  # the deferred foreign-key checks a COMMIT would run
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert Movement.objects.count() == movements
    assert rows(part) == {(here.id, AVAILABLE): 10}
    assert level(part, alloc_wh) == (10, 0)


def test_apply_stock_targets_python_path_writes_what_postgresql_writes(client_a, alloc_wh, main_wh, bin_a1):
    """The SQLite path (`_apply_python`) and the PostgreSQL statement give the same rows, levels and deltas."""
    outcomes = []
    for sku, apply in (("SQL", "postgresql"), ("PY", "python")):
        a, b = make_part(client_a, f"{sku}-A"), make_part(client_a, f"{sku}-B")
        scope = TargetScope(
            warehouse_ids=(alloc_wh.id, main_wh.id),
            types=(AVAILABLE, ORDERED),
            pairs=frozenset({(a.id, alloc_wh.id), (a.id, main_wh.id), (b.id, alloc_wh.id), (b.id, main_wh.id)}),
        )
        put(a, alloc_wh, AVAILABLE, 10)
        put(b, main_wh, ORDERED, 4)
        put(b, bin_a1, AVAILABLE, 2)
        targets = [
            (a.id, alloc_wh.id, default_location(alloc_wh).id, AVAILABLE, 7),
            (a.id, main_wh.id, bin_a1.id, AVAILABLE, 5),
            (b.id, alloc_wh.id, default_location(alloc_wh).id, ORDERED, 9),
        ]
        with transaction.atomic():
            if apply == "postgresql":
                result = apply_stock_targets(targets=targets, scope=scope, reason="sync")
            else:
                wanted = bulk._normalise(targets, scope)
                lock_parts([a.id, b.id])
                result = bulk._apply_python(wanted, scope, "sync", Reference(), None)
        deltas = sorted(
            Movement.objects.filter(part__in=[a, b], reason="sync").values_list(
                "part__sku", "location_id", "type", "delta"
            )
        )
        figures = {
            (StockLevel.objects.get(pk=pk).part.sku, warehouse_id): values
            for pk, warehouse_id, *values in StockLevel.objects.filter(part__in=[a, b]).values_list(
                "pk", "warehouse_id", "available", "ordered"
            )
        }
        outcomes.append(
            (
                (result.rows_changed, result.rows_created, result.parts_touched),
                [(s[-1], *rest) for s, *rest in deltas],
                {(s[-1], w): v for (s, w), v in figures.items()},
            )
        )

    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == (5, 2, 2)
    assert check_ledger().is_ok


def test_apply_stock_targets_net_of_reserved_subtracts_reserved_and_changed_pairs_agrees(client_a, alloc_wh):
    """In-Stock targets with `available_net_of_reserved`: Available = target − Reserved, never below zero; the
    unlocked `changed_pairs` names exactly the (part, warehouse) pairs the apply then changes."""
    here = default_location(alloc_wh)
    kept, moved, short = make_part(client_a, "NET-1"), make_part(client_a, "NET-2"), make_part(client_a, "NET-3")
    for part, available, reserved in ((kept, 7, 3), (moved, 7, 3), (short, 2, 5)):
        put(part, alloc_wh, AVAILABLE, available)
        put(part, alloc_wh, StockType.RESERVED.value, reserved)
    scope = TargetScope(warehouse_ids=(alloc_wh.id,), types=(AVAILABLE, ORDERED), available_net_of_reserved=True)
    targets = [
        (kept.id, alloc_wh.id, here.id, AVAILABLE, 10),  # 10 − 3 = 7: unchanged
        (moved.id, alloc_wh.id, here.id, AVAILABLE, 12),  # 12 − 3 = 9
        (short.id, alloc_wh.id, here.id, AVAILABLE, 4),  # 4 − 5 → 0
    ]

    assert bulk.changed_pairs(targets=targets, scope=scope) == {(moved.id, alloc_wh.id), (short.id, alloc_wh.id)}
    result = apply_stock_targets(targets=targets, scope=scope, reason="sync")

    assert result.rows_changed == 2
    assert [rows(p)[(here.id, AVAILABLE)] for p in (kept, moved, short)] == [7, 9, 0]
    assert bulk.changed_pairs(targets=targets, scope=scope) == set()
    assert check_ledger().is_ok
