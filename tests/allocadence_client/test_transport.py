"""Transport behaviour over real HTTP: auth, error typing, pagination, retries and their waits."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import requests

from allocadence_client import (
    AllocadenceClient,
    ApiNotEnabledError,
    AuthenticationError,
    TransientError,
    ValidationError,
)

pytestmark: list = []

UNAUTHORIZED = {"code": "unauthorized", "message": "Invalid API key and/or secret."}


def test_request_wrong_secret_raises_authentication_error_with_exact_body(sandbox, make_client, sleeps):
    client = make_client(api_secret="wrong")

    with pytest.raises(AuthenticationError) as caught:
        client.get_json("/items")

    assert (caught.value.status, caught.value.code, caught.value.message) == (401, *UNAUTHORIZED.values())
    assert sandbox.request_count("GET", "/items") == 1
    assert sleeps.calls == []


def test_sandbox_missing_credentials_answers_exact_401_body(sandbox):
    response = requests.get(sandbox.base_url + "/items", timeout=5)

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_request_html_404_raises_api_not_enabled_and_is_not_retried(sandbox, client, sleeps):
    sandbox.inject("html_404", path_prefix="/items")

    with pytest.raises(ApiNotEnabledError) as caught:
        client.get_json("/items")

    assert caught.value.message == "API not enabled or wrong base URL"
    assert caught.value.status == 404
    assert sandbox.request_count("GET", "/items") == 1
    assert sleeps.calls == []


def test_request_wrong_base_url_raises_api_not_enabled(sandbox, make_client):
    client = make_client(base_url=sandbox.root_url + "/api")

    with pytest.raises(ApiNotEnabledError):
        client.get_json("/items")


def test_get_json_per_page_over_100_is_rejected_by_the_api(sandbox, client):
    with pytest.raises(ValidationError) as caught:
        client.get_json("/items", {"perPage": 101})

    assert (caught.value.status, caught.value.code, caught.value.parameter) == (400, "invalid_parameter", "perPage")
    assert sandbox.request_count("GET", "/items") == 1


def test_iter_pages_per_page_over_100_refused_before_sending(sandbox, client):
    with pytest.raises(ValueError):
        list(client.iter_pages("/items", "items", per_page=101))

    assert sandbox.request_count() == 0


def test_iter_pages_walks_every_page(sandbox, client):
    sandbox.bulk_set_inventory((f"P-{n:03d}", 1, n, 0) for n in range(250))

    skus = [item["sku"] for item in client.iter_pages("/items", "items", per_page=100)]

    assert len(skus) == 252
    assert len(set(skus)) == 252
    assert sandbox.request_count("GET", "/items") == 3


def test_get_page_last_page_meta_is_exact(sandbox, client):
    sandbox.bulk_set_inventory((f"P-{n:03d}", 1, n, 0) for n in range(248))

    rows, meta = client.get_page("/items", "items", 3, per_page=100)

    assert len(rows) == 50
    assert meta == {"count": 250, "page": 3, "perPage": 100, "totalPages": 3}


def test_get_json_unknown_params_are_ignored(client):
    body = client.get_json("/items", {"skuu": "NO-SUCH", "page": 1, "perPage": 100})

    assert [item["sku"] for item in body["items"]] == ["SHEET-A", "SHEET-B"]


def test_list_inventory_filters_by_warehouse(client):
    rows = list(client.list_inventory(warehouse_id=2))

    assert [(r["item"]["sku"], r["warehouse"], r["sellable"], r["inbound"]) for r in rows] == [
        ("SHEET-A", {"id": 2, "name": "West Annex"}, 7, 5)
    ]


def test_list_items_modified_since_uses_on_or_after(sandbox, client):
    sandbox.update_item("SHEET-A", modifiedDate="2024-01-01T00:00:00-07:00")
    sandbox.update_item("SHEET-B", modifiedDate="2024-06-01T10:00:00-07:00")

    items = list(client.list_items(modified_since=datetime(2024, 6, 1, 17, 0, tzinfo=UTC)))

    assert [item["sku"] for item in items] == ["SHEET-B"]


def test_list_items_naive_datetime_refused(client):
    with pytest.raises(ValueError):
        list(client.list_items(modified_since=datetime(2024, 6, 1)))


def test_request_get_retried_after_500_then_succeeds(sandbox, client, sleeps):
    sandbox.inject("http_500", path_prefix="/items")

    body = client.get_json("/items")

    assert len(body["items"]) == 2
    assert sandbox.request_count("GET", "/items") == 2
    assert len(sleeps.calls) == 1
    assert 0 <= sleeps.calls[0] <= 0.5


def test_request_429_honours_retry_after(sandbox, client, sleeps):
    sandbox.inject("http_429", count=2, path_prefix="/items", retry_after=3)

    body = client.get_json("/items")

    assert len(body["items"]) == 2
    assert sleeps.calls == [3.0, 3.0]
    assert sandbox.request_count("GET", "/items") == 3


def test_request_429_retry_after_is_capped(sandbox, client, sleeps):
    sandbox.inject("http_429", path_prefix="/items", retry_after=120)

    client.get_json("/items")

    assert sleeps.calls == [8.0]


def test_request_503_exhausts_retries_then_raises_transient(sandbox, make_client, sleeps):
    client = make_client(max_retries=2)
    sandbox.inject("http_503", count=10, path_prefix="/items")

    with pytest.raises(TransientError) as caught:
        client.get_json("/items")

    assert (caught.value.status, caught.value.attempts) == (503, 3)
    assert sandbox.request_count("GET", "/items") == 3
    assert len(sleeps.calls) == 2


def test_request_timeout_raises_transient_after_retries(sandbox, make_client, sleeps):
    client = make_client(timeout=0.2, max_retries=2)
    sandbox.inject("latency", count=3, path_prefix="/items", seconds=0.6)

    with pytest.raises(TransientError) as caught:
        client.get_json("/items")

    assert caught.value.attempts == 3
    assert "Timeout" in caught.value.message
    assert sandbox.request_count("GET", "/items") == 3
    assert len(sleeps.calls) == 2


def test_request_malformed_json_raises_transient_after_retries(sandbox, make_client, sleeps):
    client = make_client(max_retries=4)
    sandbox.inject("malformed_json", count=5, path_prefix="/items")

    with pytest.raises(TransientError) as caught:
        client.get_json("/items")

    assert (caught.value.status, caught.value.attempts) == (200, 5)
    assert sandbox.request_count("GET", "/items") == 5
    assert len(sleeps.calls) == 4


def test_request_malformed_json_once_then_succeeds(sandbox, client):
    sandbox.inject("malformed_json", path_prefix="/items")

    body = client.get_json("/items")

    assert len(body["items"]) == 2
    assert sandbox.request_count("GET", "/items") == 2


def test_backoff_delay_is_full_jitter_under_the_cap():
    client = AllocadenceClient("http://127.0.0.1:9/rest", "k", "s", rng=random.Random(7))

    delays = [client.backoff_delay(attempt) for attempt in range(8) for _ in range(50)]

    for index, delay in enumerate(delays):
        assert 0 <= delay <= min(8.0, 0.5 * 2 ** (index // 50))
    assert max(delays) > 4.0
    assert client.backoff_delay(3, retry_after=2.5) == 2.5
    client.close()
