"""ShopifyAdapter against the sandbox over real HTTP: every fault the marketplace can throw at a push."""

from __future__ import annotations

import pytest
import requests

from channels.adapters import (
    AdapterError,
    ConfigurationError,
    PushItem,
    PushResult,
    ShopifyAdapter,
    TransientAdapterError,
)
from channels.adapters.shopify import MUTATION_TEMPLATE, field_index, idempotency_key
from tests.channels_adapters.conftest import LOCATION_ID, NO_JITTER, SHOPIFY_TOKEN, make_items


def test_push_sets_available_and_reports_success(sandbox, shopify):
    # given three records, one of them compare-and-set against the quantity Shopify holds
    sandbox.set_shopify_quantity("900003", LOCATION_ID, 40)
    items = [*make_items(2), PushItem(3, "SKU-3", "900003", 12, previous_quantity=40)]

    # when
    results = shopify.push(items)

    # then
    assert results == [PushResult(1, "success"), PushResult(2, "success"), PushResult(3, "success")]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) == 1
    assert sandbox.shopify_quantity("900002", LOCATION_ID) == 2
    assert sandbox.shopify_quantity("900003", LOCATION_ID) == 12
    assert sandbox.stats()["shopify_requests"] == 1


def test_push_returns_results_in_caller_order(sandbox, shopify):
    items = list(reversed(make_items(5)))

    results = shopify.push(items)

    assert [result.record_id for result in results] == [5, 4, 3, 2, 1]
    assert {result.status for result in results} == {"success"}


def test_push_batches_250_quantities_per_mutation(sandbox, shopify):
    results = shopify.push(make_items(600))

    assert len(results) == 600
    assert sum(result.status == "success" for result in results) == 600
    stats = sandbox.stats()
    assert stats["shopify_requests"] == 3
    assert stats["shopify_applied_mutations"] == 3
    assert stats["shopify_applied_quantities"] == 600


def test_push_user_error_marks_only_that_record_error(sandbox, shopify):
    # given Shopify rejects one inventory item of the batch
    sandbox.inject("reject_sku", inventory_item_id="900002")

    # when
    results = shopify.push(make_items(3))

    # then the rejected record is a final Error, the others were re-sent without it and applied
    assert results == [
        PushResult(1, "success"),
        PushResult(2, "error", "INVALID_INVENTORY_ITEM: The specified inventory item could not be found."),
        PushResult(3, "success"),
    ]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) == 1
    assert sandbox.shopify_quantity("900002", LOCATION_ID) is None
    assert sandbox.shopify_quantity("900003", LOCATION_ID) == 3
    assert sandbox.stats()["shopify_rejected_mutations"] == 1
    assert sandbox.stats()["shopify_applied_mutations"] == 1


def test_push_stale_change_from_quantity_is_error_and_not_applied(sandbox, shopify):
    # given someone else moved the quantity from the 5 we last pushed to 9
    sandbox.set_shopify_quantity("900001", LOCATION_ID, 9)
    items = [PushItem(1, "SKU-1", "900001", 3, previous_quantity=5), PushItem(2, "SKU-2", "900002", 4, None)]

    # when
    results = shopify.push(items)

    # then
    assert results == [
        PushResult(
            1, "error", "CHANGE_FROM_QUANTITY_STALE: The changeFromQuantity value does not match persisted value."
        ),
        PushResult(2, "success"),
    ]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) == 9
    assert sandbox.shopify_quantity("900002", LOCATION_ID) == 4


def test_push_same_records_twice_applies_once(sandbox, shopify):
    # given a push that went through, after which the shop's quantity changed by hand
    items = make_items(2)
    first = shopify.push(items)
    sandbox.set_shopify_quantity("900001", LOCATION_ID, 70)

    # when the same records are pushed again (a retry), with the same idempotency key
    second = shopify.push(items)

    # then Shopify answers the first result and does not apply it again
    assert first == second == [PushResult(1, "success"), PushResult(2, "success")]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) == 70
    stats = sandbox.stats()
    assert stats["shopify_applied_mutations"] == 1
    assert stats["shopify_idempotent_replays"] == 1


def test_push_timeout_retry_reuses_idempotency_key(sandbox, fake_sleep):
    # given the first response is lost after Shopify applied it (stalls past the client timeout)
    adapter = ShopifyAdapter(
        sandbox.base_url, SHOPIFY_TOKEN, LOCATION_ID, timeout=0.2, sleep=fake_sleep, retry=NO_JITTER
    )
    sandbox.inject("latency", seconds=0.6)

    # when
    results = adapter.push(make_items(2))

    # then the retry is answered from the idempotency key: one application, success
    assert results == [PushResult(1, "success"), PushResult(2, "success")]
    assert fake_sleep.calls == [0.5]
    stats = sandbox.stats()
    assert stats["shopify_requests"] == 2
    assert stats["shopify_applied_mutations"] == 1
    assert stats["shopify_idempotent_replays"] == 1
    adapter.close()


def test_push_throttled_backs_off_by_restore_rate_then_succeeds(sandbox, shopify, fake_sleep):
    sandbox.inject("throttled")

    results = shopify.push(make_items(2))

    assert results == [PushResult(1, "success"), PushResult(2, "success")]
    # requestedQueryCost 10, currentlyAvailable 0, restoreRate 100/s
    assert fake_sleep.calls == [0.1]
    assert sandbox.stats()["fault_throttled"] == 1
    assert sandbox.shopify_quantity("900002", LOCATION_ID) == 2


def test_push_throttled_forever_raises_transient(sandbox, shopify, fake_sleep):
    sandbox.inject("throttled", count=None)

    with pytest.raises(TransientAdapterError, match="THROTTLED"):
        shopify.push(make_items(2))

    assert fake_sleep.calls == [0.1, 0.1, 0.1]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) is None


def test_push_http_500_then_succeeds(sandbox, shopify, fake_sleep):
    sandbox.inject("http_500", count=2)

    results = shopify.push(make_items(2))

    assert results == [PushResult(1, "success"), PushResult(2, "success")]
    assert fake_sleep.calls == [0.5, 1.0]
    assert sandbox.stats()["shopify_applied_mutations"] == 1


def test_push_http_500_forever_raises_transient(sandbox, shopify, fake_sleep):
    sandbox.inject("http_500", count=None)

    with pytest.raises(TransientAdapterError, match=r"HTTP 500.*gave up after 4 attempts"):
        shopify.push(make_items(2))

    assert fake_sleep.calls == [0.5, 1.0, 2.0]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) is None


def test_push_latency_beyond_timeout_raises_transient(sandbox, fake_sleep):
    adapter = ShopifyAdapter(
        sandbox.base_url, SHOPIFY_TOKEN, LOCATION_ID, timeout=0.1, sleep=fake_sleep, retry=NO_JITTER
    )
    sandbox.inject("latency", count=None, seconds=0.4)

    with pytest.raises(TransientAdapterError, match="timed out after 0.1s"):
        adapter.push(make_items(1))

    assert fake_sleep.calls == [0.5, 1.0, 2.0]
    adapter.close()


def test_push_transient_failure_after_first_batch_returns_retry(sandbox, fake_sleep):
    # given the first mutation goes through and every later one fails with 500
    adapter = ShopifyAdapter(
        sandbox.base_url, SHOPIFY_TOKEN, LOCATION_ID, sleep=fake_sleep, retry=NO_JITTER, batch_size=2
    )
    sandbox.inject("http_500", count=None, skip=1)

    # when
    results = adapter.push(make_items(5))

    # then the applied batch is Success and the rest stay retryable instead of being lost in an exception
    assert [result.status for result in results] == ["success", "success", "retry", "retry", "retry"]
    assert results[2].error.startswith("Shopify inventorySetQuantities: HTTP 500")
    assert sandbox.shopify_quantity("900002", LOCATION_ID) == 2
    assert sandbox.shopify_quantity("900003", LOCATION_ID) is None
    adapter.close()


def test_push_wrong_token_raises_configuration_error(sandbox, fake_sleep):
    adapter = ShopifyAdapter(sandbox.base_url, "shpat_wrong", LOCATION_ID, sleep=fake_sleep)

    with pytest.raises(ConfigurationError, match="HTTP 401"):
        adapter.push(make_items(1))

    assert sandbox.shopify_quantity("900001", LOCATION_ID) is None
    assert fake_sleep.calls == []
    adapter.close()


def test_push_invalid_product_id_is_error_without_sending_it(sandbox, shopify):
    items = [PushItem(1, "SKU-1", "not-a-number", 5, None), PushItem(2, "SKU-2", "900002", 6, None)]

    results = shopify.push(items)

    assert results == [PushResult(1, "error", "invalid inventory item id 'not-a-number'"), PushResult(2, "success")]
    assert sandbox.stats()["shopify_applied_quantities"] == 1


def test_push_5000_records_completes(sandbox, shopify):
    results = shopify.push(make_items(5000))

    assert len(results) == 5000
    assert sum(result.status == "success" for result in results) == 5000
    stats = sandbox.stats()
    assert stats["shopify_requests"] == 20
    assert stats["shopify_applied_quantities"] == 5000
    assert sandbox.shopify_quantity("905000", LOCATION_ID) == 5000 % 97


def test_push_duplicate_record_ids_raises_value_error(shopify):
    with pytest.raises(ValueError, match="record 1 appears twice"):
        shopify.push([*make_items(1), *make_items(1)])


def test_poll_raises_because_shopify_is_synchronous(shopify):
    with pytest.raises(AdapterError, match="synchronously"):
        shopify.poll("anything", make_items(1))


def test_field_index_reads_quantities_position():
    assert field_index(["input", "quantities", "3", "changeFromQuantity"]) == 3
    assert field_index(["input", "name"]) is None
    assert field_index(None) is None


def test_idempotency_key_is_deterministic_and_content_bound():
    items = make_items(3)

    assert idempotency_key("gid://shopify/Location/1", items) == idempotency_key("gid://shopify/Location/1", items)
    assert idempotency_key("gid://shopify/Location/1", items) != idempotency_key("gid://shopify/Location/1", items[:2])
    assert idempotency_key("gid://shopify/Location/1", items) != idempotency_key("gid://shopify/Location/2", items)


def test_push_user_error_without_index_fails_whole_batch(sandbox, shopify):
    # given the batch's idempotency key was already used by a different request
    items = make_items(2)
    key = idempotency_key(f"gid://shopify/Location/{LOCATION_ID}", items)
    other = {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/1",
                "locationId": f"gid://shopify/Location/{LOCATION_ID}",
                "quantity": 1,
                "changeFromQuantity": None,
            }
        ],
    }
    requests.post(
        f"{sandbox.base_url}/admin/api/2026-04/graphql.json",
        json={
            "query": MUTATION_TEMPLATE % key,
            "variables": {"input": other},
        },
        headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN},
        timeout=5,
    )

    # when
    results = shopify.push(items)

    # then an error that names no quantity fails every record of the batch
    message = (
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH: "
        "The same idempotency key cannot be used with different operation parameters."
    )
    assert results == [PushResult(1, "error", message), PushResult(2, "error", message)]
    assert sandbox.shopify_quantity("900001", LOCATION_ID) is None
