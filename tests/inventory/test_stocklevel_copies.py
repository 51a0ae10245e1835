"""StockLevel's copies of its part's low-stock threshold and generic flag, and the stored balance built on them.

The copies are kept by database triggers (migration 0007), so every write path is covered without the
path knowing: these tests go through each one and compare every StockLevel with its part.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from imports.services import apply_import, preview_import
from inventory.bulk import apply_stock_targets
from inventory.models import Part, StockLevel, StockType
from inventory.selectors import PartCopyMismatch, check_ledger, part_copy_mismatches
from inventory.services import default_location
from tests.imports.conftest import csv_upload
from tests.inventory.conftest import make_part, put


@pytest.fixture
def stocked(client_a, main_wh, east_wh):
    part = make_part(client_a, "COPY-1", low_stock_threshold=4)
    put(part, main_wh, StockType.AVAILABLE, 10)
    put(part, east_wh, StockType.PLANNED, 3)
    return part


def levels_of(part):
    return {
        level.warehouse_id: (level.low_stock_threshold, level.is_generic, level.balance)
        for level in StockLevel.objects.filter(part=part)
    }


def test_stocklevel_insert_by_the_ledger_copies_the_parts_threshold(stocked, main_wh, east_wh):
    # then: each level (inserted by the ledger with the column's default) carries the part's threshold,
    # and its balance is Stock − Allocated − threshold (the threshold once in the totals too)
    assert levels_of(stocked) == {None: (4, False, 13 - 4), main_wh.id: (4, False, 10 - 4), east_wh.id: (4, False, -1)}


def test_stocklevel_insert_by_bulk_targets_copies_the_parts_threshold(client_a, main_wh):
    # given a part without any row at MAIN
    part = make_part(client_a, "BULK-1", low_stock_threshold=7)

    # when the bulk writer creates its MAIN level
    apply_stock_targets(
        targets=[(part.id, main_wh.id, default_location(main_wh).id, StockType.AVAILABLE.value, 5)], reason="count"
    )

    # then
    assert levels_of(part) == {None: (7, False, -2), main_wh.id: (7, False, -2)}


def test_stocklevel_insert_ignores_a_threshold_given_with_it(client_a, east_wh):
    part = Part.objects.create(client=client_a, sku="RAW-1", low_stock_threshold=9, kind=Part.Kind.GENERIC)

    StockLevel.objects.create(part=part, warehouse=east_wh, planned=2, low_stock_threshold=1, is_generic=False)

    assert levels_of(part) == {east_wh.id: (9, True, 2 - 9)}


def test_part_save_updates_its_stocklevels(stocked, main_wh, east_wh):
    # when the threshold changes through the model (services, admin, API all save the part)
    stocked.low_stock_threshold = 1
    stocked.save()

    # then
    assert levels_of(stocked) == {None: (1, False, 12), main_wh.id: (1, False, 9), east_wh.id: (1, False, 2)}


def test_part_queryset_update_updates_its_stocklevels(stocked, main_wh, east_wh):
    Part.objects.filter(pk=stocked.pk).update(low_stock_threshold=0, kind=Part.Kind.GENERIC)

    # then: generic now, so its own balance is Planned − Allocated − threshold
    assert levels_of(stocked) == {None: (0, True, 3), main_wh.id: (0, True, 0), east_wh.id: (0, True, 3)}


@pytest.mark.postgresql
def test_part_save_without_a_change_leaves_stocklevels_alone(stocked):
    def row_versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text FROM inventory_stocklevel WHERE part_id = %s ORDER BY id", [stocked.id])
            return cursor.fetchall()

    before = row_versions()

    stocked.description = "renamed"
    stocked.save()

    assert row_versions() == before  # not rewritten: no new row version


def test_stale_stocklevel_save_keeps_the_parts_threshold(stocked, main_wh):
    level = StockLevel.objects.get(part=stocked, warehouse=main_wh)
    Part.objects.filter(pk=stocked.pk).update(low_stock_threshold=6)

    level.save()  # writes the threshold it read before the change

    assert levels_of(stocked)[main_wh.id] == (6, False, 4)


def test_admin_part_change_updates_its_stocklevels(stocked, main_wh, superuser, login):
    response = login(superuser).post(
        f"/admin/inventory/part/{stocked.pk}/change/",
        {
            "client": stocked.client_id,
            "sku": stocked.sku,
            "description": stocked.description,
            "kind": Part.Kind.OUTSOURCED,
            "low_stock_threshold": 12,
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert {threshold for threshold, _g, _b in levels_of(stocked).values()} == {12}


def test_parts_csv_import_updates_stocklevels(stocked, main_wh, east_wh, client_a, manager):
    batch = preview_import(
        kind="parts",
        client=client_a,
        user=manager,
        uploaded_file=csv_upload("sku,description,kind,low_stock_threshold\nCOPY-1,Copy part,outsourced,2\n"),
    )
    assert batch.errors == []

    apply_import(batch.pk, manager)

    assert levels_of(stocked) == {None: (2, False, 11), main_wh.id: (2, False, 8), east_wh.id: (2, False, 1)}


@pytest.mark.postgresql
def test_check_ledger_reports_stocklevel_copies_that_differ(stocked, main_wh, capsys):
    # given a StockLevel changed behind the triggers' back
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers
        cursor.execute(
            "UPDATE inventory_stocklevel SET low_stock_threshold = 99, is_generic = true "
            "WHERE part_id = %s AND warehouse_id = %s",
            [stocked.id, main_wh.id],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")

    # then
    assert part_copy_mismatches() == [
        PartCopyMismatch(stocked.id, main_wh.id, "low_stock_threshold", 99, 4),
        PartCopyMismatch(stocked.id, main_wh.id, "is_generic", True, False),
    ]
    assert not check_ledger().is_ok
    with pytest.raises(CommandError):
        call_command("check_ledger")
    err = capsys.readouterr().err
    assert f"part {stocked.id} warehouse {main_wh.id} low_stock_threshold: StockLevel 99, part 4" in err


def test_check_ledger_clean_copies(stocked):
    assert part_copy_mismatches() == []
    assert check_ledger().is_ok
