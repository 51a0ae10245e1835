"""A real Allocadence sandbox on loopback with the portal's settings pointed at it, and small factories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.models import Sum

from allocadence.client import reset_client
from allocadence_client.sandbox import AllocadenceSandbox
from inventory.models import InventoryRow, Movement, Part, StockLevel, StockType, Warehouse
from inventory.services import create_warehouse, ensure_stock_levels
from jobs.services import LineSpec, save_job

KEY, SECRET = "portal-key", "portal-secret"
SANDBOX_WAREHOUSES = [{"id": 1, "name": "Main DC"}, {"id": 2, "name": "West Annex"}]


@pytest.fixture
def sandbox(settings) -> Iterator[AllocadenceSandbox]:
    box = AllocadenceSandbox(api_key=KEY, api_secret=SECRET)
    box.load_state(
        warehouses=SANDBOX_WAREHOUSES,
        items=[
            {"sku": "SHEET-A", "description": "A4 sheet"},
            {"sku": "SHEET-B", "description": "A3 sheet"},
        ],
        inventory=[("SHEET-A", 1, 10, 0), ("SHEET-B", 1, 3, 0), ("SHEET-A", 2, 7, 5)],
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


@pytest.fixture
def alc1(db) -> Warehouse:
    return create_warehouse(code="ALC1", name="Main DC", source=Warehouse.Source.ALLOCADENCE, allocadence_id=1)


@pytest.fixture
def alc2(db) -> Warehouse:
    return create_warehouse(code="ALC2", name="West Annex", source=Warehouse.Source.ALLOCADENCE, allocadence_id=2)


@pytest.fixture
def part_a(client_a) -> Part:
    part = Part.objects.create(client=client_a, sku="SHEET-A", description="A4 sheet")
    ensure_stock_levels(part_ids=[part.id])
    return part


def make_job(client, user, lines, *, title="Job", allow_shortfall=False):
    specs = [LineSpec(part=part, warehouse=warehouse, quantity=quantity) for part, warehouse, quantity in lines]
    return save_job(client=client, user=user, title=title, lines=specs, allow_shortfall=allow_shortfall)


def figures(part: Part, warehouse: Warehouse | None) -> dict[str, int]:
    """What the inventory page shows for part × warehouse (or all warehouses)."""
    level = StockLevel.objects.for_warehouse(warehouse).with_figures().filter(part=part).first()
    names = ["in_stock", "available", "reserved", "allocated", "ordered"]
    if level is None:
        return dict.fromkeys(names, 0)
    return {name: getattr(level, name) for name in names}


def stock_state() -> dict:
    """Everything a pull may write, to compare before and after."""
    return {
        "rows": sorted(InventoryRow.objects.values_list("part_id", "location_id", "type", "quantity", "updated_at")),
        "movements": Movement.objects.count(),
        "levels": sorted(
            StockLevel.objects.values_list("part_id", "warehouse_id", *list(StockType.values)),
            key=str,
        ),
        "parts": Part.objects.count(),
        "warehouses": Warehouse.objects.count(),
    }


def row_quantity(part: Part, warehouse: Warehouse, type_: str) -> int:
    return (
        InventoryRow.objects.filter(part=part, warehouse=warehouse, type=type_).aggregate(total=Sum("quantity"))[
            "total"
        ]
        or 0
    )


@pytest.fixture
def eager_celery():
    """Run .delay() inline, for tests of what a task does rather than of the broker."""
    from inventory_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def stocked(sandbox, alc1, alc2, part_a):
    """The portal after one pull: SHEET-A 10 at ALC1, 7 (+5 On-Order) at ALC2; SHEET-B 3 at ALC1."""
    from allocadence.services import pull_stock

    run = pull_stock()
    assert run.status == "success", run.error
    return part_a


def release(client, user, lines, *, title="Job"):
    """A saved and released job, and its outbox row."""
    from jobs.models import OrderPush
    from jobs.production import release_job

    job = make_job(client, user, lines, title=title)
    release_job(job=job, user=user)
    return job, OrderPush.objects.get(job=job)


def orders_numbered(sandbox, number: str) -> list[dict]:
    return [order for order in sandbox.customer_orders() if order["orderNumber"] == number]
