"""Customer and purchase orders: exactly-once creation, duplicates, validation and stock effects."""

from __future__ import annotations

import pytest

from allocadence_client import (
    DuplicateOrderNumberError,
    NotFoundError,
    TransientError,
    ValidationError,
    derive_order_status,
)

pytestmark: list = []


def _orders_numbered(sandbox, number):
    return [order for order in sandbox.customer_orders() if order["orderNumber"] == number]


def test_create_customer_order_returns_created_order(sandbox, client):
    order = client.create_customer_order("JOB-1", 1, [("SHEET-A", 4)], order_reference="Job 1")

    assert order["orderNumber"] == "JOB-1"
    assert order["orderReference"] == "Job 1"
    assert order["shipFromWarehouse"] == {"id": 1, "name": "Main DC"}
    assert [(line["sku"], line["quantity"], line["allocatedQuantity"]) for line in order["items"]] == [
        ("SHEET-A", 4, 0)
    ]
    assert derive_order_status(order) == "open"
    assert client.get_customer_order(order["id"]) == order


def test_create_customer_order_after_dropped_response_raises_transient_and_find_returns_one(sandbox, client, sleeps):
    sandbox.inject("drop_after_create", path_prefix="/customer-orders")

    with pytest.raises(TransientError):
        client.create_customer_order("JOB-7", 1, [("SHEET-A", 2)])

    assert sandbox.request_count("POST", "/customer-orders") == 1
    assert sleeps.calls == []
    found = client.find_customer_order("JOB-7")
    assert found is not None
    assert found["orderNumber"] == "JOB-7"
    assert len(_orders_numbered(sandbox, "JOB-7")) == 1


def test_create_customer_order_500_is_not_resent(sandbox, client):
    sandbox.inject("http_500", method="POST", path_prefix="/customer-orders")

    with pytest.raises(TransientError) as caught:
        client.create_customer_order("JOB-8", 1, [("SHEET-A", 2)])

    assert caught.value.status == 500
    assert sandbox.request_count("POST", "/customer-orders") == 1
    assert client.find_customer_order("JOB-8") is None


def test_create_customer_order_timeout_is_not_resent_and_order_exists(sandbox, make_client):
    client = make_client(timeout=0.2)
    sandbox.inject("latency", method="POST", path_prefix="/customer-orders", seconds=0.5)

    with pytest.raises(TransientError):
        client.create_customer_order("JOB-9", 1, [("SHEET-A", 1)])

    assert sandbox.request_count("POST", "/customer-orders") == 1
    assert client.find_customer_order("JOB-9")["orderNumber"] == "JOB-9"
    assert len(_orders_numbered(sandbox, "JOB-9")) == 1


def test_create_customer_order_malformed_response_is_not_resent(sandbox, client):
    sandbox.inject("malformed_json", method="POST", path_prefix="/customer-orders")

    with pytest.raises(TransientError):
        client.create_customer_order("JOB-10", 1, [("SHEET-A", 1)])

    assert sandbox.request_count("POST", "/customer-orders") == 1
    assert len(_orders_numbered(sandbox, "JOB-10")) == 1


def test_create_customer_order_429_is_resent_because_it_was_refused(sandbox, client, sleeps):
    sandbox.inject("http_429", method="POST", path_prefix="/customer-orders", retry_after=2)

    order = client.create_customer_order("JOB-11", 1, [("SHEET-A", 1)])

    assert order["orderNumber"] == "JOB-11"
    assert sleeps.calls == [2.0]
    assert sandbox.request_count("POST", "/customer-orders") == 2
    assert len(_orders_numbered(sandbox, "JOB-11")) == 1


def test_create_customer_order_duplicate_number_raises_duplicate_error(sandbox, client):
    client.create_customer_order("JOB-2", 1, [("SHEET-A", 1)])

    with pytest.raises(DuplicateOrderNumberError) as caught:
        client.create_customer_order("JOB-2", 1, [("SHEET-B", 1)])

    error = caught.value
    assert (error.status, error.code, error.message, error.parameter) == (
        400,
        "invalid_parameter",
        "Invalid value for parameter.",
        "orderNumber",
    )
    assert isinstance(error, ValidationError)
    assert sandbox.request_count("POST", "/customer-orders") == 2
    assert len(_orders_numbered(sandbox, "JOB-2")) == 1


def test_create_customer_order_unknown_sku_raises_validation_error(sandbox, client, sleeps):
    with pytest.raises(ValidationError) as caught:
        client.create_customer_order("JOB-3", 1, [("SHEET-A", 1), ("NOPE", 2)])

    assert (caught.value.status, caught.value.parameter, caught.value.message) == (
        400,
        "items",
        "Unknown SKU 'NOPE' on line 2.",
    )
    assert sandbox.request_count("POST", "/customer-orders") == 1
    assert sleeps.calls == []
    assert sandbox.customer_orders() == []


def test_create_customer_order_unknown_warehouse_raises_validation_error(sandbox, client):
    with pytest.raises(ValidationError) as caught:
        client.create_customer_order("JOB-4", 99, [("SHEET-A", 1)])

    assert (caught.value.parameter, caught.value.message) == ("shipFromWarehouseId", "Unknown warehouse id 99.")
    assert sandbox.customer_orders() == []


def test_create_customer_order_blank_number_refused_locally(sandbox, client):
    with pytest.raises(ValueError):
        client.create_customer_order("", 1, [("SHEET-A", 1)])

    assert sandbox.request_count() == 0


def test_find_customer_order_returns_only_the_exact_number(client):
    client.create_customer_order("JOB-10", 1, [("SHEET-A", 1)])
    client.create_customer_order("JOB-1", 1, [("SHEET-A", 1)])

    assert client.find_customer_order("JOB-1")["orderNumber"] == "JOB-1"
    assert client.find_customer_order("JOB-10")["orderNumber"] == "JOB-10"
    assert client.find_customer_order("JOB-100") is None


def test_get_customer_order_unknown_id_raises_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.get_customer_order(424242)

    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_advance_orders_allocates_then_picks_then_completes(sandbox, client):
    order = client.create_customer_order("JOB-5", 1, [("SHEET-A", 4)])
    assert sandbox.quantities("SHEET-A", 1) == {"sellable": 10, "inbound": 0}

    assert sandbox.advance_orders() == 1
    allocated = client.get_customer_order(order["id"])
    assert derive_order_status(allocated) == "allocated"
    assert allocated["items"][0]["allocatedQuantity"] == 4
    assert sandbox.quantities("SHEET-A", 1) == {"sellable": 6, "inbound": 0}
    assert [r["sellable"] for r in client.list_inventory(1) if r["item"]["sku"] == "SHEET-A"] == [6]

    sandbox.advance_orders()
    assert derive_order_status(client.get_customer_order(order["id"])) == "picking"

    sandbox.advance_orders()
    completed = client.get_customer_order(order["id"])
    assert derive_order_status(completed) == "completed"
    assert completed["completedDate"] != ""
    assert sandbox.advance_orders() == 0
    assert sandbox.quantities("SHEET-A", 1) == {"sellable": 6, "inbound": 0}


def test_advance_orders_short_stock_stays_open_until_stock_arrives(sandbox, client):
    order = client.create_customer_order("JOB-6", 1, [("SHEET-B", 5)])

    sandbox.advance_orders()
    partial = client.get_customer_order(order["id"])
    assert partial["items"][0]["allocatedQuantity"] == 3
    assert derive_order_status(partial) == "open"
    assert sandbox.quantities("SHEET-B", 1)["sellable"] == 0

    sandbox.bulk_set_inventory([("SHEET-B", 1, 4, 0)])
    sandbox.advance_orders()
    assert derive_order_status(client.get_customer_order(order["id"])) == "allocated"
    assert sandbox.quantities("SHEET-B", 1)["sellable"] == 2


def test_advance_orders_skips_drafts_and_holds(sandbox, client):
    draft = client.create_customer_order("JOB-D", 1, [("SHEET-A", 1)], save_as_draft=True)
    held = client.create_customer_order("JOB-H", 1, [("SHEET-A", 1)])
    sandbox.set_customer_order_flags(held["id"], onHold=True)

    assert sandbox.advance_orders() == 0
    assert derive_order_status(client.get_customer_order(draft["id"])) == "draft"
    assert derive_order_status(client.get_customer_order(held["id"])) == "on_hold"
    assert sandbox.quantities("SHEET-A", 1)["sellable"] == 10


def test_cancel_allocated_order_returns_stock(sandbox, client):
    order = client.create_customer_order("JOB-C", 1, [("SHEET-A", 4)])
    sandbox.advance_orders()

    sandbox.set_customer_order_flags(order["id"], cancelled=True)

    cancelled = client.get_customer_order(order["id"])
    assert derive_order_status(cancelled) == "cancelled"
    assert cancelled["cancelledDate"] != ""
    assert sandbox.quantities("SHEET-A", 1)["sellable"] == 10


def test_create_purchase_order_adds_inbound_until_completed(sandbox, client):
    po = client.create_purchase_order("PO-1", 1, "Paper Co", [("SHEET-B", 20)], required_by_date="2030-01-31")

    assert po["supplier"]["name"] == "Paper Co"
    assert po["warehouse"] == {"id": 1, "name": "Main DC"}
    assert po["requiredByDate"] == "2030-01-31"
    assert (po["draft"], po["completed"], po["deleted"]) == (False, False, False)
    assert sandbox.quantities("SHEET-B", 1) == {"sellable": 3, "inbound": 20}
    assert client.find_purchase_order("PO-1")["id"] == po["id"]

    client.update_purchase_order(po["id"], {"completed": True})

    assert sandbox.quantities("SHEET-B", 1) == {"sellable": 23, "inbound": 0}
    assert client.get_purchase_order(po["id"])["completed"] is True


def test_create_purchase_order_draft_adds_no_inbound(sandbox, client):
    client.create_purchase_order("PO-2", 2, "Paper Co", [("SHEET-A", 9)], draft=True)

    assert sandbox.quantities("SHEET-A", 2) == {"sellable": 7, "inbound": 5}


def test_create_purchase_order_duplicate_number_raises_duplicate_error(sandbox, client):
    client.create_purchase_order("PO-3", 1, "Paper Co", [("SHEET-A", 1)])

    with pytest.raises(DuplicateOrderNumberError):
        client.create_purchase_order("PO-3", 1, "Paper Co", [("SHEET-A", 1)])

    assert len(sandbox.purchase_orders()) == 1


def test_create_purchase_order_after_dropped_response_find_returns_it(sandbox, client):
    sandbox.inject("drop_after_create", path_prefix="/purchase-orders")

    with pytest.raises(TransientError):
        client.create_purchase_order("PO-4", 1, "Paper Co", [("SHEET-A", 1)])

    assert sandbox.request_count("POST", "/purchase-orders") == 1
    assert client.find_purchase_order("PO-4")["orderNumber"] == "PO-4"
