"""One StockLevel per part and scope (a warehouse, or all warehouses: NULL), on PostgreSQL from one
NULLS NOT DISTINCT unique index, on SQLite from the two partial unique indexes it keeps (migration 0010)."""

import pytest
from django.db import IntegrityError, connection, transaction

from inventory.models import StockLevel, StockType
from inventory.services import ensure_stock_levels
from tests.inventory.conftest import make_part, put


@pytest.mark.parametrize("scope", ["warehouse", "total"])
def test_a_second_stocklevel_of_one_part_and_scope_is_refused(client_a, main_wh, scope):
    part = make_part(client_a, "U-1")
    put(part, main_wh, StockType.AVAILABLE, 4)
    warehouse = main_wh if scope == "warehouse" else None

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(part=part, warehouse=warehouse)

    assert StockLevel.objects.filter(part=part, warehouse=warehouse).count() == 1


def test_levels_created_again_are_left_as_they_are(client_a, main_wh):
    # given a part with stock: its level at MAIN and its total exist
    part = make_part(client_a, "U-2")
    put(part, main_wh, StockType.AVAILABLE, 4)

    # when its total is ensured again and more stock arrives (the ledger's insert-if-missing of both levels)
    assert ensure_stock_levels(part_ids=[part.id]) == 0
    put(part, main_wh, StockType.AVAILABLE, 3)

    # then: still one level per scope, each with the sum
    levels = list(StockLevel.objects.filter(part=part).values_list("warehouse_id", "available"))
    assert len(levels) == 2 and dict(levels) == {main_wh.id: 7, None: 7}


@pytest.mark.postgresql
def test_stocklevel_indexes_on_postgresql(db):
    # a level's update is never HOT, so every index here costs every stock write an entry: this is the list
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inventory_stocklevel' ORDER BY indexname"
        )
        indexes = {name: definition.split(" USING ")[1] for name, definition in cursor.fetchall()}

    assert indexes == {
        "inventory_stocklevel_pkey": "btree (id)",
        "stocklevel_total_balance_idx": "btree (balance) WHERE (warehouse_id IS NULL)",
        "stocklevel_unique_part_warehouse": "btree (part_id, warehouse_id) NULLS NOT DISTINCT",
        "stocklevel_wh_available_idx": "btree (warehouse_id, available)",
        "stocklevel_wh_balance_idx": "btree (warehouse_id, balance)",
        "stocklevel_wh_generic_idx": "btree (warehouse_id, part_id) WHERE is_generic",
        "stocklevel_wh_part_idx": "btree (warehouse_id, part_id)",
    }
