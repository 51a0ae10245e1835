"""BOM fixtures: a warehouse pair, parts of every kind, stock through the real ledger."""

from __future__ import annotations

import pytest

from inventory.models import Part
from inventory.services import create_part, create_stock, create_warehouse, default_location


@pytest.fixture
def main(db):
    return create_warehouse(code="MAIN", name="Main store")


@pytest.fixture
def east(db):
    return create_warehouse(code="EAST", name="East store")


def part(client, sku, kind=Part.Kind.OUTSOURCED, **kwargs):
    return create_part(client=client, sku=sku, description=f"{sku} part", kind=kind, **kwargs)


def in_house(client, sku):
    return part(client, sku, Part.Kind.IN_HOUSE)


def stock(part, warehouse, quantity):
    create_stock(part=part, location=default_location(warehouse), quantity=quantity, reason="count")
