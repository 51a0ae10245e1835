"""Purchasing fixtures: warehouses, a supplier, parts, an Allocadence sandbox on loopback, and the figures."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from allocadence.client import reset_client
from allocadence_client.sandbox import AllocadenceSandbox
from inventory.models import Location, Part, StockLevel, Warehouse
from inventory.services import create_warehouse, ensure_stock_levels
from purchasing.models import Supplier
from purchasing.services import LineSpec, save_purchase_order

KEY, SECRET = "portal-key", "portal-secret"
FIGURES = ["available", "planned", "ordered", "on_order", "allocated", "in_stock", "stock", "stock_balance"]


@pytest.fixture
def main(db) -> Warehouse:
    return create_warehouse(code="MAIN", name="Main store")


@pytest.fixture
def shelf(main) -> Location:
    return Location.objects.create(warehouse=main, code="SHELF-1", name="Shelf 1")


@pytest.fixture
def alc(db) -> Warehouse:
    return create_warehouse(code="ALC1", name="Main DC", source=Warehouse.Source.ALLOCADENCE, allocadence_id=1)


def make_part(client, sku: str, **fields) -> Part:
    part = Part.objects.create(client=client, sku=sku, description=f"{sku} sheet", **fields)
    ensure_stock_levels(part_ids=[part.id])
    return part


@pytest.fixture
def part(client_a) -> Part:
    return make_part(client_a, "SHEET-A")


@pytest.fixture
def part_b(client_a) -> Part:
    return make_part(client_a, "SHEET-B")


@pytest.fixture
def supplier(client_a) -> Supplier:
    return Supplier.objects.create(client=client_a, name="Paper Mill", code="MILL", lead_time_days=5)


def draft(client, user, supplier, warehouse, lines, **kwargs):
    specs = [LineSpec(part=p, quantity=q, unit_cost=Decimal("1.50")) for p, q in lines]
    return save_purchase_order(client=client, user=user, supplier=supplier, warehouse=warehouse, lines=specs, **kwargs)


def figures(part: Part, warehouse: Warehouse | None = None) -> dict[str, int]:
    """What the inventory page shows for part × warehouse (or over all warehouses)."""
    level = StockLevel.objects.for_warehouse(warehouse).with_figures().filter(part=part).first()
    return {name: getattr(level, name) if level else 0 for name in FIGURES}


def fig(**values) -> dict[str, int]:
    """Expected figures: every one zero unless given; On-Order follows Ordered, Stock and Balance are derived."""
    result = dict.fromkeys(FIGURES, 0)
    result.update(values)
    result["on_order"] = result["ordered"]
    result["in_stock"] = values.get("in_stock", result["available"])
    result["stock"] = result["available"] + result["planned"] + result["ordered"]
    result["stock_balance"] = values.get("stock_balance", result["stock"] - result["allocated"])
    return result


@pytest.fixture
def sandbox(settings) -> Iterator[AllocadenceSandbox]:
    """A real Allocadence sandbox on a free loopback port; the portal's client points at it."""
    box = AllocadenceSandbox(api_key=KEY, api_secret=SECRET)
    box.load_state(
        warehouses=[{"id": 1, "name": "Main DC"}],
        items=[{"sku": "SHEET-A", "description": "A4 sheet"}, {"sku": "SHEET-B", "description": "A3 sheet"}],
        inventory=[("SHEET-A", 1, 10, 0), ("SHEET-B", 1, 3, 0)],
    )
    box.start()
    settings.ALLOCADENCE_BASE_URL = box.base_url
    settings.ALLOCADENCE_API_KEY = KEY
    settings.ALLOCADENCE_API_SECRET = SECRET
    settings.ALLOCADENCE_TIMEOUT_SECONDS = 2
    settings.ALLOCADENCE_MAX_RETRIES = 2
    settings.ALLOCADENCE_BACKOFF_CAP_SECONDS = 0.01
    reset_client()
    try:
        yield box
    finally:
        reset_client()
        box.stop()


def orders_numbered(sandbox, number: str) -> list[dict]:
    return [order for order in sandbox.purchase_orders() if order["orderNumber"] == number]
