"""Small factories for job tests: warehouses with locations, parts, and stock put in through the ledger."""

import itertools

import pytest
from django.db.models import Sum

from inventory.models import InventoryRow, Location, Movement, Part, StockLevel, StockType, Warehouse
from inventory.services import Reference, StockChange, apply_stock_changes, create_warehouse, default_location
from jobs.services import LineSpec, OutputSpec, save_job

_seq = itertools.count(1)


def make_warehouse(code: str, *, source: str = Warehouse.Source.LOCAL, extra_locations=()) -> Warehouse:
    warehouse = create_warehouse(code=code, name=f"Warehouse {code}", source=source)
    for loc_code in extra_locations:
        Location.objects.create(warehouse=warehouse, code=loc_code, parent=default_location(warehouse))
    return warehouse


def make_part(client, sku: str | None = None, *, kind: str = Part.Kind.OUTSOURCED) -> Part:
    return Part.objects.create(client=client, sku=sku or f"P-{next(_seq):04d}", description="Test part", kind=kind)


def put_stock(part: Part, warehouse: Warehouse, quantity: int, *, location: Location | None = None) -> None:
    location = location or default_location(warehouse)
    apply_stock_changes(
        changes=[StockChange(part.id, warehouse.id, location.id, StockType.AVAILABLE, quantity)],
        reason="test stock",
        reference=Reference(kind=Movement.ReferenceKind.SEED),
    )


def level(part: Part, warehouse: Warehouse | None):
    """The figures the inventory page shows for part × warehouse (or over all warehouses)."""
    row = StockLevel.objects.for_warehouse(warehouse).with_figures().filter(part=part).first()
    return row


def figures(part: Part, warehouse: Warehouse) -> dict:
    row = level(part, warehouse)
    if row is None:
        return dict.fromkeys(["in_stock", "available", "reserved", "allocated", "in_production"], 0)
    return {
        "in_stock": row.in_stock,
        "available": row.available,
        "reserved": row.reserved,
        "allocated": row.allocated,
        "in_production": row.in_production,
    }


def assert_ledger_balanced() -> None:
    """Rows equal the sum of their movements, and StockLevel equals the sum of rows (SPEC §8.3)."""
    rows = {
        (r["part_id"], r["location_id"], r["type"]): r["quantity"]
        for r in InventoryRow.objects.values("part_id", "location_id", "type", "quantity")
    }
    ledger = {
        (m["part_id"], m["location_id"], m["type"]): m["total"]
        for m in Movement.objects.values("part_id", "location_id", "type").annotate(total=Sum("delta"))
    }
    assert {k: v for k, v in rows.items() if v} == {k: v for k, v in ledger.items() if v}
    per_level: dict = {}
    for r in InventoryRow.objects.values("part_id", "warehouse_id", "type", "quantity"):
        for key in ((r["part_id"], r["warehouse_id"]), (r["part_id"], None)):
            per_level.setdefault(key, {}).setdefault(r["type"], 0)
            per_level[key][r["type"]] += r["quantity"]
    for lvl in StockLevel.objects.all():
        expected = per_level.get((lvl.part_id, lvl.warehouse_id), {})
        for type_ in StockType.values:
            assert getattr(lvl, type_) == expected.get(type_, 0), (lvl.part_id, lvl.warehouse_id, type_)
    assert all(q >= 0 for q in rows.values())


@pytest.fixture
def local_wh(db):
    return make_warehouse("MAIN", extra_locations=["A1", "B1"])


@pytest.fixture
def alloc_wh(db):
    return make_warehouse("ALC", source=Warehouse.Source.ALLOCADENCE)


@pytest.fixture
def make_job():
    def _make(client, user, lines, *, title="Test job", output=None, allow_shortfall=False):
        specs = [LineSpec(part=p, warehouse=w, quantity=q) for p, w, q in lines]
        out = OutputSpec(part=output[0], warehouse=output[1], batch_size=output[2]) if output else None
        return save_job(client=client, user=user, title=title, lines=specs, output=out, allow_shortfall=allow_shortfall)

    return _make
