"""fetch_inventory_snapshot: all pages or an exception, never a partial snapshot."""

from __future__ import annotations

import pytest

from allocadence_client import TransientError

pytestmark: list = []


@pytest.fixture
def three_thousand_rows(sandbox):
    sandbox.load_state(
        warehouses=[{"id": w, "name": f"Warehouse {w}"} for w in (1, 2, 3)],
        inventory=[(f"SKU-{n:04d}", w, n, w) for n in range(1000) for w in (1, 2, 3)],
    )
    return sandbox


def test_fetch_inventory_snapshot_returns_every_row_of_every_page(three_thousand_rows, make_client):
    client = make_client(snapshot_workers=4)

    rows = client.fetch_inventory_snapshot()

    assert len(rows) == 3000
    assert len({(r["item"]["sku"], r["warehouse"]["id"]) for r in rows}) == 3000
    assert sum(r["sellable"] for r in rows) == 3 * sum(range(1000))
    assert three_thousand_rows.request_count("GET", "/inventory") == 30


def test_fetch_inventory_snapshot_keeps_page_order(three_thousand_rows, client):
    rows = client.fetch_inventory_snapshot()

    assert [(r["item"]["sku"], r["warehouse"]["id"]) for r in rows[:4]] == [
        ("SKU-0000", 1),
        ("SKU-0000", 2),
        ("SKU-0000", 3),
        ("SKU-0001", 1),
    ]
    assert rows == list(client.list_inventory())


def test_fetch_inventory_snapshot_one_failing_page_raises(three_thousand_rows, make_client, sleeps):
    client = make_client(max_retries=2)
    three_thousand_rows.inject("http_500", count=3, path_prefix="/inventory", params={"page": 17})

    result = None
    with pytest.raises(TransientError) as caught:
        result = client.fetch_inventory_snapshot()

    assert result is None
    assert caught.value.status == 500
    assert three_thousand_rows.faults.pending() == []


def test_fetch_inventory_snapshot_malformed_page_raises(three_thousand_rows, make_client):
    client = make_client(max_retries=0)
    three_thousand_rows.inject("malformed_json", path_prefix="/inventory", params={"page": 30})

    with pytest.raises(TransientError):
        client.fetch_inventory_snapshot()


def test_fetch_inventory_snapshot_page_failing_once_is_retried(three_thousand_rows, client, sleeps):
    three_thousand_rows.inject("http_503", path_prefix="/inventory", params={"page": 5})

    rows = client.fetch_inventory_snapshot()

    assert len(rows) == 3000
    assert len(sleeps.calls) == 1


def test_fetch_inventory_snapshot_by_warehouse(three_thousand_rows, client):
    rows = client.fetch_inventory_snapshot(warehouse_id=2)

    assert len(rows) == 1000
    assert {r["warehouse"]["id"] for r in rows} == {2}


def test_fetch_inventory_snapshot_empty_account(sandbox, client):
    sandbox.load_state(warehouses=[{"id": 1, "name": "Main DC"}])

    assert client.fetch_inventory_snapshot() == []


def test_fold_inventory_snapshot_hands_pages_in_order_without_holding_them_all(three_thousand_rows, make_client):
    """The pull folds pages as they arrive: every page once, in page order, at most 2 pages per worker ahead."""
    client = make_client(snapshot_workers=2)
    pages: list[tuple[str, int]] = []
    ahead: list[int] = []

    def fold(rows):
        pages.append((rows[0]["item"]["sku"], rows[0]["warehouse"]["id"]))
        ahead.append(three_thousand_rows.request_count("GET", "/inventory") - len(pages))

    count = client.fold_inventory_snapshot(fold)

    assert count == 3000
    assert len(pages) == 30
    assert pages[:2] == [("SKU-0000", 1), ("SKU-0033", 2)]
    assert max(ahead) <= 4


def test_fold_inventory_snapshot_failing_page_raises_after_earlier_pages(three_thousand_rows, make_client, sleeps):
    client = make_client(max_retries=0, snapshot_workers=2)
    three_thousand_rows.inject("http_500", path_prefix="/inventory", params={"page": 5})
    folded = []

    with pytest.raises(TransientError):
        client.fold_inventory_snapshot(folded.append)

    assert len(folded) == 4  # pages 1–4; the caller treats them as lost
