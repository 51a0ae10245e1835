"""The sandbox itself: shapes, HTTP control endpoints, ticker and persistence."""

from __future__ import annotations

import re
import time

import pytest
import requests

from allocadence_client import AllocadenceClient, TransientError, derive_order_status
from allocadence_client.sandbox import AllocadenceSandbox

from .conftest import KEY, SECRET, WAREHOUSES

pytestmark: list = []

OFFSET_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def test_sandbox_order_shape_uses_empty_strings_nulls_and_offsets(client):
    order = client.create_customer_order("JOB-S", 1, [("SHEET-A", 1)])

    assert (order["completedDate"], order["cancelledDate"], order["onHoldUntil"], order["internalNote"]) == (
        "",
        "",
        "",
        "",
    )
    assert (order["client"], order["cancelledBy"], order["customer"]) == (None, None, None)
    for field in ("orderedDate", "createdDate", "modifiedDate"):
        assert OFFSET_TIMESTAMP.match(order[field]), order[field]


def test_sandbox_item_shape_has_documented_fields(client):
    item = next(iter(client.list_items()))

    assert set(item) == {
        "id", "sku", "upc", "description", "category", "client", "baseUom", "unitCost", "price",
        "active", "kit", "assembly", "safetyStock", "createdDate", "modifiedDate",
    }  # fmt: skip
    assert client.get_item(item["id"]) == item
    assert (item["upc"], item["client"]) == ("", None)


def test_sandbox_http_faults_endpoint_injects_and_clears(sandbox, client, sleeps):
    root = sandbox.root_url
    response = requests.post(
        root + "/_sandbox/faults", json={"kind": "http_503", "count": 2, "path_prefix": "/items"}, timeout=5
    )
    assert response.json()["faults"][0]["kind"] == "http_503"

    client.get_json("/items")
    assert len(sleeps.calls) == 2

    requests.post(root + "/_sandbox/faults", json=[{"kind": "html_404"}], timeout=5)
    assert requests.delete(root + "/_sandbox/faults", timeout=5).json() == {"faults": []}
    assert len(client.get_json("/items")["items"]) == 2


def test_sandbox_http_advance_and_state(sandbox, client):
    client.create_customer_order("JOB-A", 1, [("SHEET-A", 2)])

    advanced = requests.post(sandbox.root_url + "/_sandbox/advance", json={"steps": 1}, timeout=5).json()
    state = requests.get(sandbox.root_url + "/_sandbox/state", timeout=5).json()

    assert advanced == {"advanced": 1}
    assert state["customerOrders"] == 1
    assert state["customerOrderStatuses"] == {"allocated": 1}
    assert state["inventoryRows"] == 3


def test_sandbox_ticker_advances_orders_over_time(tmp_path):
    box = AllocadenceSandbox(api_key=KEY, api_secret=SECRET, tick_seconds=0.05)
    box.load_state(warehouses=WAREHOUSES, inventory=[("SHEET-A", 1, 10, 0)])
    with box, AllocadenceClient(box.base_url, KEY, SECRET) as client:
        order = client.create_customer_order("JOB-T", 1, [("SHEET-A", 3)])
        deadline = time.monotonic() + 5
        while derive_order_status(client.get_customer_order(order["id"])) != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)

        assert box.quantities("SHEET-A", 1)["sellable"] == 7


def test_sandbox_state_path_keeps_orders_across_restart(tmp_path):
    path = str(tmp_path / "allocadence.json")
    first = AllocadenceSandbox(api_key=KEY, api_secret=SECRET, state_path=path)
    first.load_state(warehouses=WAREHOUSES, inventory=[("SHEET-A", 1, 10, 0)])
    with first, AllocadenceClient(first.base_url, KEY, SECRET) as client:
        client.create_customer_order("JOB-P", 1, [("SHEET-A", 3)])
        first.advance_orders()

    second = AllocadenceSandbox(api_key=KEY, api_secret=SECRET, state_path=path)
    with second, AllocadenceClient(second.base_url, KEY, SECRET, sleep=lambda _: None) as client:
        found = client.find_customer_order("JOB-P")
        assert derive_order_status(found) == "allocated"
        assert second.quantities("SHEET-A", 1) == {"sellable": 7, "inbound": 0}
        created = client.create_customer_order("JOB-Q", 1, [("SHEET-A", 1)])
        assert created["id"] > found["id"]


def test_sandbox_unknown_fault_kind_rejected(sandbox):
    with pytest.raises(ValueError):
        sandbox.inject("gremlins")


def test_sandbox_fault_clears_after_count(sandbox, client):
    sandbox.inject("drop_after_create", path_prefix="/customer-orders")

    with pytest.raises(TransientError):
        client.create_customer_order("JOB-X", 1, [("SHEET-A", 1)])
    again = client.create_customer_order("JOB-Y", 1, [("SHEET-A", 1)])

    assert again["orderNumber"] == "JOB-Y"
    assert sandbox.faults.pending() == []
