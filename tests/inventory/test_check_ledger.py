import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from inventory.models import InventoryRow, Movement, StockLevel, StockType
from inventory.selectors import check_ledger
from tests.inventory.conftest import make_part, put


@pytest.fixture
def stocked(client_a, main_wh, east_wh):
    part = make_part(client_a, "LED-1")
    put(part, main_wh, StockType.AVAILABLE, 10)
    put(part, east_wh, StockType.RESERVED, 4)
    return part


def test_check_ledger_clean_prints_ok(stocked, capsys):
    call_command("check_ledger")

    assert capsys.readouterr().out.strip() == "Ledger OK: 2 rows"


def test_check_ledger_detects_tampered_row(stocked, main_wh, capsys):
    # given a row changed behind the ledger's back
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_inventoryrow SET quantity = 99 WHERE part_id = %s AND warehouse_id = %s",
            [stocked.id, main_wh.id],
        )

    # when / then: non-zero exit, and the row and the StockLevels that no longer match are listed
    with pytest.raises(CommandError) as excinfo:
        call_command("check_ledger")

    err = capsys.readouterr().err
    row = InventoryRow.objects.get(part=stocked, warehouse=main_wh)
    assert f"part {stocked.id} location {row.location_id} available: row 99, ledger 10" in err
    assert f"part {stocked.id} warehouse {main_wh.id} available: StockLevel 10, rows 99" in err
    assert "1 row(s)" in str(excinfo.value)


def test_check_ledger_detects_movement_without_row(stocked, east_wh):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM inventory_inventoryrow WHERE warehouse_id = %s", [east_wh.id])

    report = check_ledger()

    assert [(m.type, m.quantity, m.ledger) for m in report.row_mismatches] == [(StockType.RESERVED, None, 4)]
    assert {(m.warehouse_id, m.column, m.level, m.rows) for m in report.level_mismatches} == {
        (east_wh.id, "reserved", 4, 0),
        (None, "reserved", 4, 0),
    }


def test_check_ledger_detects_tampered_stock_level(stocked):
    StockLevel.objects.filter(part=stocked, warehouse=None).update(available=1)

    report = check_ledger()

    assert report.row_mismatches == []
    assert [(m.warehouse_id, m.column, m.level, m.rows) for m in report.level_mismatches] == [
        (None, "available", 1, 10)
    ]
    assert Movement.objects.count() == 2
