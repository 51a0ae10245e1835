"""Fixtures for the Allocadence client: a real sandbox on loopback and clients whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from allocadence_client import AllocadenceClient
from allocadence_client.sandbox import AllocadenceSandbox

KEY, SECRET = "test-key", "test-secret"
WAREHOUSES = [{"id": 1, "name": "Main DC"}, {"id": 2, "name": "West Annex"}]


class RecordingSleep:
    """Stands in for time.sleep so retry tests assert the exact waits and stay fast."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sandbox() -> Iterator[AllocadenceSandbox]:
    box = AllocadenceSandbox(api_key=KEY, api_secret=SECRET)
    box.load_state(
        warehouses=WAREHOUSES,
        items=[
            {"sku": "SHEET-A", "description": "A4 sheet", "price": 1.5},
            {"sku": "SHEET-B", "description": "A3 sheet", "price": 2.5},
        ],
        inventory=[("SHEET-A", 1, 10, 0), ("SHEET-B", 1, 3, 0), ("SHEET-A", 2, 7, 5)],
    )
    box.start()
    yield box
    box.stop()


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(sandbox: AllocadenceSandbox, sleeps: RecordingSleep) -> Iterator[Callable[..., AllocadenceClient]]:
    clients: list[AllocadenceClient] = []

    def factory(**overrides: Any) -> AllocadenceClient:
        options: dict[str, Any] = {"timeout": 5, "sleep": sleeps}
        options.update(overrides)
        base_url = options.pop("base_url", sandbox.base_url)
        key = options.pop("api_key", KEY)
        secret = options.pop("api_secret", SECRET)
        client = AllocadenceClient(base_url, key, secret, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., AllocadenceClient]) -> AllocadenceClient:
    return make_client()
