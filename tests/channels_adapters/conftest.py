"""A live marketplace sandbox on loopback per test, and adapters that never really sleep."""

from __future__ import annotations

import random

import pytest

from channels.adapters import AmazonSPAdapter, PushItem, RetryPolicy, ShopifyAdapter
from channels.sandbox import MarketplaceSandbox

SHOPIFY_TOKEN = "shpat_test_token"
LOCATION_ID = "4455"
LWA_CLIENT_ID = "amzn1.application-oa2-client.test"
LWA_CLIENT_SECRET = "lwa-secret"
LWA_REFRESH_TOKEN = "Atzr|refresh-test"
SELLER_ID = "A2SELLER"
MARKETPLACE_IDS = ["A1PA6795UKMFR9"]
NO_JITTER = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=30.0, jitter=0.0)


class FakeSleep:
    """Records the waits instead of waiting, so backoff is asserted exactly and tests stay fast."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_items(count: int, *, start: int = 1, previous: int | None = None) -> list[PushItem]:
    return [
        PushItem(
            record_id=n,
            channel_sku=f"SKU-{n}",
            product_id=str(900_000 + n),
            quantity=n % 97,
            previous_quantity=previous,
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def sandbox():
    server = MarketplaceSandbox(
        feed_delay=0,
        shopify_access_token=SHOPIFY_TOKEN,
        amazon_client_id=LWA_CLIENT_ID,
        amazon_client_secret=LWA_CLIENT_SECRET,
        amazon_refresh_token=LWA_REFRESH_TOKEN,
    ).start()
    yield server
    server.stop()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shopify(sandbox, fake_sleep):
    adapter = ShopifyAdapter(
        sandbox.base_url, SHOPIFY_TOKEN, LOCATION_ID, timeout=5, sleep=fake_sleep, retry=NO_JITTER, rng=random.Random(7)
    )
    yield adapter
    adapter.close()


@pytest.fixture
def amazon(sandbox, fake_sleep, fake_clock):
    adapter = AmazonSPAdapter(
        sandbox.base_url,
        f"{sandbox.base_url}/auth/o2/token",
        LWA_CLIENT_ID,
        LWA_CLIENT_SECRET,
        LWA_REFRESH_TOKEN,
        SELLER_ID,
        MARKETPLACE_IDS,
        timeout=5,
        sleep=fake_sleep,
        retry=NO_JITTER,
        rng=random.Random(7),
        clock=fake_clock,
    )
    yield adapter
    adapter.close()
