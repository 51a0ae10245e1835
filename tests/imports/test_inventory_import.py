"""Inventory quantities: every bad file rejected with its reason and nothing applied; good files set quantities."""

from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from imports import inventory_importers, services
from imports.inventory_importers import InventoryImporter
from imports.models import ImportBatch
from imports.services import apply_import
from inventory.errors import NegativeStock
from inventory.models import InventoryRow, Location, Movement, StockLevel, StockType, Warehouse
from inventory.services import StockChange, apply_stock_changes, default_location
from tests.imports.conftest import ledger_snapshot

HEADER = "sku,warehouse,location,type,quantity,reason\n"
MANAGED_BY_ALLOCADENCE = "Warehouse {} is managed by Allocadence: its stock comes from the Allocadence pull."


def errors_of(batch) -> list[tuple]:
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in batch.errors]


def assert_rejected_and_nothing_applied(batch, manager, expected_errors):
    before = ledger_snapshot()
    assert errors_of(batch) == expected_errors
    assert batch.can_apply is False

    again = apply_import(batch.pk, manager)

    assert again.status == ImportBatch.Status.PREVIEWED
    assert ledger_snapshot() == before
    assert Movement.objects.count() == 0


@pytest.fixture
def stocked(main_wh, parts):
    """SHEET-A4: 10 available at MAIN's default location."""
    apply_stock_changes(
        changes=[StockChange(parts["SHEET-A4"].id, main_wh.id, default_location(main_wh).id, "available", 10)],
        reason="opening count",
    )
    return main_wh


def quantity(part, location, type_="available"):
    row = InventoryRow.objects.filter(part=part, location=location, type=type_).first()
    return row.quantity if row else 0


def test_preview_import_wrong_header(preview, main_wh, parts, manager):
    batch = preview("sku,warehouse,qty\nSHEET-A4,MAIN,5\n")

    assert_rejected_and_nothing_applied(
        batch,
        manager,
        [
            (1, "qty", "", "Unknown column(s). Allowed: sku, warehouse, type, quantity, location, reason."),
            (1, "type, quantity", "", "Missing required column(s). Expected: sku, warehouse, type, quantity."),
        ],
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("5.5", "Not a whole number."),
        ("ten", "Not a whole number."),
        ("", "A whole number is required."),
        ("-3", "Must not be negative."),
        ("1" * 25, "Too large."),
    ],
)
def test_preview_import_bad_quantity(preview, main_wh, parts, manager, value, reason):
    batch = preview(HEADER + f"SHEET-A4,MAIN,,available,{value},\nSHEET-A3,MAIN,,available,4,\n")

    assert_rejected_and_nothing_applied(batch, manager, [(2, "quantity", value, reason)])


def test_preview_import_unknown_sku_warehouse_location_and_type(preview, main_wh, parts, client_b, manager):
    batch = preview(
        HEADER + "NOPE,MAIN,,available,1,\n"
        "SHEET-A4,NOWHERE,,available,1,\n"
        "SHEET-A4,MAIN,Z9,available,1,\n"
        "SHEET-A4,MAIN,A1,reserved,1,\n"
    )

    assert_rejected_and_nothing_applied(
        batch,
        manager,
        [
            (2, "sku", "NOPE", "Unknown SKU for this client."),
            (3, "warehouse", "NOWHERE", "Unknown warehouse."),
            (4, "location", "Z9", "Unknown location in warehouse MAIN."),
            (5, "type", "reserved", "Only available and obsolete quantities can be imported."),
        ],
    )


def test_preview_import_sku_of_another_client_is_unknown(preview, main_wh, parts, client_b, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,1,\n", client=client_b)

    assert errors_of(batch) == [(2, "sku", "SHEET-A4", "Unknown SKU for this client.")]


def test_preview_import_allocadence_warehouse(preview, main_wh, alloc_wh, parts, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,1,\nSHEET-A4,ALLO,,available,1,\n")

    assert_rejected_and_nothing_applied(
        batch,
        manager,
        [
            (
                3,
                "warehouse",
                "ALLO",
                "Warehouse ALLO is managed by Allocadence: its stock comes from the Allocadence pull.",
            )
        ],
    )


def test_preview_import_duplicate_row_including_default_location_spelled_out(preview, main_wh, parts, manager):
    batch = preview(
        HEADER + "SHEET-A4,MAIN,,available,1,\n"
        "SHEET-A4,MAIN,A1,available,1,\n"
        "SHEET-A4,MAIN,MAIN,available,2,\n"
        "SHEET-A4,MAIN,A1,obsolete,1,\n"
    )

    assert_rejected_and_nothing_applied(
        batch,
        manager,
        [(4, "sku", "SHEET-A4", "Duplicate of row 2 (same SKU, warehouse, location and type).")],
    )


def test_preview_import_too_many_rows(preview, main_wh, parts, manager, monkeypatch):
    monkeypatch.setattr(InventoryImporter, "max_rows", 2)

    batch = preview(HEADER + "SHEET-A4,MAIN,,available,1,\nSHEET-A3,MAIN,,available,1,\nINK-K,MAIN,,available,1,\n")

    assert_rejected_and_nothing_applied(
        batch, manager, [(4, "", "", "The file has more than 2 rows, the limit. Split it into smaller files.")]
    )


def test_preview_import_too_big(preview, main_wh, parts, manager, monkeypatch):
    monkeypatch.setattr(InventoryImporter, "max_bytes", 64)

    batch = preview(HEADER + "SHEET-A4,MAIN,,available,1,\nSHEET-A3,MAIN,,available,1,\n")

    assert_rejected_and_nothing_applied(
        batch, manager, [(0, "", "", "The file is 100 bytes; the limit is 64 bytes. Split it into smaller files.")]
    )
    assert not batch.file


def test_preview_import_wrong_encoding(preview, main_wh, parts, manager):
    batch = preview((HEADER + "SHEET-A4,MAIN,,available,1,café\n").encode("latin-1"))

    (error,) = batch.errors
    assert error["row"] == 2
    assert error["reason"].startswith("The file is not UTF-8: byte 0xE9 at byte offset 74 (line 2)")
    assert_rejected_and_nothing_applied(batch, manager, errors_of(batch))


def test_import_with_bom_and_crlf_applies(preview, main_wh, parts, manager):
    batch = preview(("\ufeff" + HEADER + "SHEET-A4,MAIN,,available,7,\r\n").encode("utf-8"))

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert quantity(parts["SHEET-A4"], default_location(main_wh)) == 7


def test_apply_import_sets_quantities_exactly_with_one_movement_per_changed_row(preview, stocked, parts, manager):
    main = stocked
    a1 = Location.objects.get(warehouse=main, code="A1")
    batch = preview(
        HEADER + "SHEET-A4,MAIN,,available,4,recount\n"  # 10 -> 4
        "SHEET-A4,MAIN,A1,obsolete,3,\n"  # 0 -> 3
        "SHEET-A3,MAIN,A1,available,25,\n"  # 0 -> 25
        "INK-K,MAIN,,available,0,\n"  # 0 -> 0, unchanged
    )
    assert batch.summary == {"rows": 4, "rows that change": 3, "rows unchanged": 1}
    movements_before = Movement.objects.count()

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert batch.summary == {
        "rows": 4,
        "changed": 3,
        "unchanged": 1,
        "units added": 28,
        "units removed": 6,
        "movements": 3,
    }
    assert quantity(parts["SHEET-A4"], default_location(main)) == 4
    assert quantity(parts["SHEET-A4"], a1, StockType.OBSOLETE) == 3
    assert quantity(parts["SHEET-A3"], a1) == 25
    assert not InventoryRow.objects.filter(part=parts["INK-K"]).exists()
    movements = Movement.objects.filter(reference_kind=Movement.ReferenceKind.IMPORT, reference_id=batch.pk)
    assert Movement.objects.count() == movements_before + 3
    assert sorted(movements.values_list("part__sku", "location__code", "type", "delta", "reason", "reference")) == [
        ("SHEET-A3", "A1", "available", 25, f"CSV import #{batch.pk}", f"import #{batch.pk}"),
        ("SHEET-A4", "A1", "obsolete", 3, f"CSV import #{batch.pk}", f"import #{batch.pk}"),
        ("SHEET-A4", "MAIN", "available", -6, "recount", f"import #{batch.pk}"),
    ]
    assert set(movements.values_list("user_id", flat=True)) == {manager.pk}
    level = StockLevel.objects.get(part=parts["SHEET-A4"], warehouse=None)
    assert (level.available, level.obsolete) == (4, 3)


def test_apply_import_same_file_again_writes_nothing(preview, stocked, parts, manager):
    content = HEADER + "SHEET-A4,MAIN,,available,4,\nSHEET-A3,MAIN,A1,available,25,\n"
    apply_import(preview(content).pk, manager)
    before = ledger_snapshot()

    second = apply_import(preview(content).pk, manager)

    assert second.status == ImportBatch.Status.APPLIED
    assert second.summary["changed"] == 0
    assert second.summary["movements"] == 0
    assert ledger_snapshot() == before


def test_apply_import_twice_applies_once(preview, stocked, parts, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,12,\n")

    apply_import(batch.pk, manager)
    again = apply_import(batch.pk, manager)

    assert again.status == ImportBatch.Status.APPLIED
    assert Movement.objects.filter(reference_kind="import", reference_id=batch.pk).count() == 1
    assert quantity(parts["SHEET-A4"], default_location(stocked)) == 12


def test_apply_import_rolls_back_everything_when_a_write_fails_mid_way(preview, stocked, parts, manager, monkeypatch):
    """Two reasons = two ledger calls; the second fails after the first wrote: nothing may remain."""
    batch = preview(HEADER + "SHEET-A3,MAIN,,available,5,first\nINK-K,MAIN,,available,6,second\n")
    before = ledger_snapshot()
    real = inventory_importers.apply_stock_changes
    calls = []

    def failing_second_call(**kwargs):
        calls.append(kwargs["reason"])
        if len(calls) == 2:
            raise NegativeStock("A stock change would make a quantity negative (concurrent change).")
        return real(**kwargs)

    monkeypatch.setattr(inventory_importers, "apply_stock_changes", failing_second_call)

    batch = apply_import(batch.pk, manager)

    assert calls == ["first", "second"]
    assert batch.status == ImportBatch.Status.FAILED
    assert [e["reason"] for e in batch.errors] == [
        "The import failed and nothing was applied: A stock change would make a quantity negative (concurrent change)."
    ]
    assert ledger_snapshot() == before


def test_apply_import_rejects_warehouse_that_became_allocadence_since_preview(preview, stocked, parts, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,1,\n")
    Warehouse.objects.filter(pk=stocked.pk).update(source=Warehouse.Source.ALLOCADENCE)
    before = ledger_snapshot()

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.FAILED
    assert errors_of(batch) == [(2, "warehouse", "MAIN", MANAGED_BY_ALLOCADENCE.format("MAIN"))]
    assert ledger_snapshot() == before


def test_apply_import_recomputes_deltas_from_quantities_at_apply_time(preview, stocked, parts, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,4,\n")
    main_loc = default_location(stocked)
    apply_stock_changes(
        changes=[StockChange(parts["SHEET-A4"].id, stocked.id, main_loc.id, "available", -8)], reason="picked"
    )

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert quantity(parts["SHEET-A4"], main_loc) == 4
    assert Movement.objects.get(reference_kind="import", reference_id=batch.pk).delta == 2


@pytest.mark.postgresql
def test_apply_import_reclaims_a_stale_applying_batch(preview, stocked, parts, manager):
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,12,\n")
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.APPLYING, applying_started_at=timezone.now() - timedelta(minutes=11)
    )

    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert quantity(parts["SHEET-A4"], default_location(stocked)) == 12


@pytest.mark.postgresql
def test_apply_import_leaves_a_batch_whose_apply_lock_is_held_elsewhere(preview, stocked, parts, manager):
    """A stale-looking batch still being applied by another process (holding its lock) is not applied again."""
    batch = preview(HEADER + "SHEET-A4,MAIN,,available,12,\n")
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.APPLYING, applying_started_at=timezone.now() - timedelta(minutes=11)
    )
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [services._APPLY_LOCK_NAMESPACE, batch.pk])
        before = ledger_snapshot()

        batch = apply_import(batch.pk, manager)
    finally:
        other.rollback()
        other.close()

    assert batch.status == ImportBatch.Status.APPLYING
    assert batch.errors == []
    assert ledger_snapshot() == before
