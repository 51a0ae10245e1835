"""The sandbox's fault switches over HTTP, as the management command and browser tests drive them."""

from __future__ import annotations

import pytest
import requests

from channels.adapters import PushResult, TransientAdapterError
from tests.channels_adapters.conftest import LOCATION_ID, SELLER_ID, make_items


def test_post_faults_arms_a_fault_the_adapter_then_meets(sandbox, shopify, fake_sleep):
    response = requests.post(
        f"{sandbox.base_url}/_sandbox/faults",
        json={"kind": "http_500", "count": None, "protocol": "shopify"},
        timeout=5,
    )

    assert response.status_code == 201
    with pytest.raises(TransientAdapterError):
        shopify.push(make_items(1))
    assert sandbox.stats()["fault_http_500"] == 4


def test_delete_faults_disarms_every_fault(sandbox, shopify):
    sandbox.inject("http_500", count=None)
    sandbox.inject("reject_sku", count=None, sku="SKU-1")

    response = requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5)

    assert response.json() == {"faults": []}
    assert shopify.push(make_items(1)) == [PushResult(1, "success")]


def test_get_state_shows_applied_quantities(sandbox, shopify, amazon):
    shopify.push(make_items(2))
    amazon.push(make_items(1, start=7))
    sandbox.inject("latency", seconds=0.5, operation="get_feed")

    state = requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).json()

    location = f"gid://shopify/Location/{LOCATION_ID}"
    assert state["shopify"] == {
        "sandbox": {location: {"gid://shopify/InventoryItem/900001": 1, "gid://shopify/InventoryItem/900002": 2}}
    }
    assert state["amazon"] == {}  # the feed is applied when it is processed, on the first poll
    assert list(state["feeds"].values()) == [{"status": "PENDING", "messages": 1}]
    assert [(fault["kind"], fault["operation"], fault["seconds"]) for fault in state["faults"]] == [
        ("latency", "get_feed", 0.5)
    ]


def test_post_faults_rejects_unknown_kind(sandbox):
    response = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"kind": "meteor"}, timeout=5)

    assert response.status_code == 400
    assert sandbox.state()["faults"] == []


def test_post_config_sets_feed_delay(sandbox, amazon):
    response = requests.post(f"{sandbox.base_url}/_sandbox/config", json={"feed_delay": 120}, timeout=5)
    items = make_items(1)
    feed_id = amazon.push(items)[0].reference

    assert response.json() == {"feed_delay": 120.0}
    assert amazon.poll(feed_id, items) is None
    assert sandbox.amazon_quantity("SKU-1", seller_id=SELLER_ID) is None


def test_inject_reject_sku_without_target_raises(sandbox):
    with pytest.raises(ValueError, match="reject_sku needs sku= or inventory_item_id="):
        sandbox.inject("reject_sku")
