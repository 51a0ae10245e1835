import pytest

from inventory.models import Location, Part, Warehouse
from inventory.services import StockChange, apply_stock_changes, create_warehouse, default_location, ensure_stock_levels


@pytest.fixture
def main_wh(db):
    return create_warehouse(code="MAIN", name="Main")


@pytest.fixture
def east_wh(db):
    return create_warehouse(code="EAST", name="East")


@pytest.fixture
def alloc_wh(db):
    return create_warehouse(code="ALLOC", name="Allocadence", source=Warehouse.Source.ALLOCADENCE, allocadence_id=1)


@pytest.fixture
def bin_a1(main_wh):
    return Location.objects.create(warehouse=main_wh, parent=default_location(main_wh), code="A1", name="Aisle A bin 1")


def make_part(client, sku, **fields) -> Part:
    part = Part.objects.create(client=client, sku=sku, description=fields.pop("description", f"{sku} part"), **fields)
    ensure_stock_levels(part_ids=[part.id])
    return part


def put(part, location_or_warehouse, type_, quantity, reason="test stock"):
    """Write stock through the ledger, at a location or at a warehouse's default location."""
    location = (
        default_location(location_or_warehouse)
        if isinstance(location_or_warehouse, Warehouse)
        else location_or_warehouse
    )
    apply_stock_changes(
        changes=[StockChange(part.id, location.warehouse_id, location.id, type_, quantity)], reason=reason
    )
